/** The OpenAI adapter: which endpoint a request calls, and the parser that reads its response. */
import type { EndpointCall, ProtocolAdapter, ProxiedRequest, ResponseParser, UsageReport } from '../usage';
import { asObject, asString, JsonResponseParser, newReport, normalisePath, readAsEventStream, SseResponseParser } from '../common';
import { CHAT_TEXT_KEYS, chatStreamHandler, COMPLETION_TEXT_KEYS, onChatBody } from './chatCompletions';
import { onCountBody, onResponsesBody, responsesStreamHandler } from './responses';
import { withStreamUsage } from './streamUsage';

export type OpenAiEndpoint = 'chat.completions' | 'completions' | 'responses' | 'responses.input_tokens' | 'embeddings';

export interface OpenAiAdapterOptions {
  /**
   * Ask for usage (`stream_options.include_usage`) on chat completion streams whose client did not,
   * and hide it from the client. Default true; turn off for providers that reject the field
   * (Mistral, Cerebras answer 422) — they send usage in their last chunk anyway.
   */
  injectStreamUsage?: boolean;
}

export function openAiEndpointOf(path: string): OpenAiEndpoint | undefined {
  const p = normalisePath(path);
  if (p.endsWith('/chat/completions')) return 'chat.completions';
  if (p.endsWith('/completions')) return 'completions';
  if (p.endsWith('/responses/input_tokens')) return 'responses.input_tokens';
  if (p.endsWith('/responses')) return 'responses';
  if (p.endsWith('/embeddings')) return 'embeddings';
  return undefined;
}

export function createOpenAiAdapter(options: OpenAiAdapterOptions = {}): ProtocolAdapter {
  const injectStreamUsage = options.injectStreamUsage ?? true;

  function recognise(req: ProxiedRequest): EndpointCall | undefined {
    if (req.method.toUpperCase() !== 'POST') return undefined;
    const endpoint = openAiEndpointOf(req.path);
    if (endpoint === undefined) return undefined;
    const body = asObject(req.body);
    const requestModel = asString(body?.model);
    const stream = body?.stream === true && endpoint !== 'embeddings' && endpoint !== 'responses.input_tokens';
    const upstreamBody = endpoint === 'chat.completions' && stream && injectStreamUsage && body ? withStreamUsage(body) : undefined;
    // Usage the proxy asked for is usage the client did not: hidden from it again.
    const hideUsage = upstreamBody !== undefined;
    const call: EndpointCall = {
      endpoint,
      stream,
      free: endpoint === 'responses.input_tokens',
      createResponseParser: (status, contentType) =>
        responseParser(endpoint, newReport(requestModel), readAsEventStream(status, contentType, stream), status, hideUsage),
    };
    if (requestModel !== undefined) call.requestModel = requestModel;
    if (upstreamBody !== undefined) call.upstreamBody = upstreamBody;
    return call;
  }

  return { protocol: 'openai', recognise };
}

function responseParser(endpoint: OpenAiEndpoint, report: UsageReport, sse: boolean, status: number, hideUsage: boolean): ResponseParser {
  switch (endpoint) {
    case 'chat.completions':
    case 'completions': {
      if (!sse) return new JsonResponseParser(status, report, onChatBody);
      const keys = endpoint === 'completions' ? COMPLETION_TEXT_KEYS : CHAT_TEXT_KEYS;
      return new SseResponseParser(report, chatStreamHandler(keys, hideUsage), hideUsage);
    }
    case 'responses':
      if (!sse) return new JsonResponseParser(status, report, onResponsesBody);
      return new SseResponseParser(report, responsesStreamHandler());
    case 'embeddings':
      // Embeddings report usage the Chat Completions way (prompt_tokens).
      return new JsonResponseParser(status, report, onChatBody);
    case 'responses.input_tokens':
      return new JsonResponseParser(status, report, onCountBody);
  }
}

export const openaiAdapter: ProtocolAdapter = createOpenAiAdapter();
