/** The protocol adapters by name (pricing/providers.json's `protocol`), and the WebSocket transports they meter. */
import type { ProtocolAdapter } from './usage';
import { anthropicAdapter } from './anthropic';
import { geminiAdapter } from './gemini';
import { ollamaAdapter } from './ollama';
import { normalisePath } from './common';
import { createOpenAiAdapter, openAiEndpointOf, openaiAdapter, realtimeSocketProtocol, responsesSocketProtocol, type SocketProtocol } from './openai';

/** The adapters by protocol name, as named in pricing/providers.json. */
export const protocolAdapters: Record<string, ProtocolAdapter> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
  gemini: geminiAdapter,
  ollama: ollamaAdapter,
};

const openaiWithoutInjection = createOpenAiAdapter({ injectStreamUsage: false });

/**
 * The adapter for a protocol. `injectStreamUsage: false` (a route table option) gives an OpenAI
 * adapter that leaves request bodies alone, for providers that reject `stream_options` but send
 * usage in their streams' last chunk anyway.
 */
export function adapterFor(protocol: string, options: { injectStreamUsage?: boolean } = {}): ProtocolAdapter | undefined {
  if (!Object.prototype.hasOwnProperty.call(protocolAdapters, protocol)) return undefined;
  if (protocol === 'openai' && options.injectStreamUsage === false) return openaiWithoutInjection;
  return protocolAdapters[protocol];
}

/** The metered WebSocket transport at this path (Responses WebSocket mode, Realtime), if any. */
export function socketProtocolFor(protocol: string, path: string): SocketProtocol | undefined {
  if (protocol !== 'openai') return undefined;
  if (openAiEndpointOf(path) === 'responses') return responsesSocketProtocol;
  if (normalisePath(path).endsWith('/realtime')) return realtimeSocketProtocol;
  return undefined;
}
