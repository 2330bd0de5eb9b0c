/** The Anthropic Messages protocol. */
import type { SseEvent } from '../streams';
import type { EndpointCall, ProtocolAdapter, ProxiedRequest, ResponseParser, TokenUsage, UsageReport } from './usage';
import {
  JsonObject,
  JsonResponseParser,
  SseEventHandler,
  SseResponseParser,
  asObject,
  asString,
  count,
  errorBodyMessage,
  isCount,
  makeUsage,
  newReport,
  normalisePath,
  parseJson,
  readAsEventStream,
} from './common';
import { readStringMember, stringCharCounter } from './jsonScan';

export type AnthropicEndpoint = 'messages' | 'count_tokens';

/** Generated text in content_block_delta events: text, thinking and tool input JSON. */
const DELTA_TEXT_KEYS = ['text', 'thinking', 'partial_json'] as const;

export function anthropicEndpointOf(path: string): AnthropicEndpoint | undefined {
  const p = normalisePath(path);
  if (p.endsWith('/messages/count_tokens')) return 'count_tokens';
  // Batches (/messages/batches…) are billed when the batch runs, not by these requests.
  if (p.endsWith('/messages')) return 'messages';
  return undefined;
}

/**
 * Anthropic reports input_tokens WITHOUT the cached tokens; the normalised inputTokens include them.
 */
export function anthropicUsageFrom(usage: JsonObject): TokenUsage {
  const cacheCreation = asObject(usage.cache_creation);
  const cacheWrite1hTokens = count(cacheCreation?.ephemeral_1h_input_tokens);
  const cacheWriteTokens = isCount(usage.cache_creation_input_tokens)
    ? usage.cache_creation_input_tokens
    : count(cacheCreation?.ephemeral_5m_input_tokens) + cacheWrite1hTokens;
  const cacheReadTokens = count(usage.cache_read_input_tokens);
  const outputDetails = asObject(usage.output_tokens_details);
  return makeUsage({
    inputTokens: count(usage.input_tokens) + cacheWriteTokens + cacheReadTokens,
    cacheReadTokens,
    cacheWriteTokens,
    cacheWrite1hTokens,
    outputTokens: count(usage.output_tokens),
    reasoningTokens: count(outputDetails?.reasoning_tokens ?? outputDetails?.thinking_tokens),
  });
}

/** A message_delta usage over the message_start one: fields it has win, the others are kept. */
function mergeUsage(start: JsonObject | undefined, delta: JsonObject): JsonObject {
  const merged: JsonObject = { ...start };
  for (const [key, value] of Object.entries(delta)) if (value !== null && value !== undefined) merged[key] = value;
  return merged;
}

function applyServiceTier(report: UsageReport, usage: JsonObject): void {
  const tier = asString(usage.service_tier);
  if (tier !== undefined) report.serviceTier = tier;
}

function contentChars(content: unknown): number {
  let chars = 0;
  if (!Array.isArray(content)) return chars;
  for (const block of content) {
    const b = asObject(block);
    if (!b) continue;
    if (typeof b.text === 'string') chars += b.text.length;
    if (typeof b.thinking === 'string') chars += b.thinking.length;
    if (b.type === 'tool_use' && b.input !== undefined) chars += JSON.stringify(b.input).length;
  }
  return chars;
}

function onMessageBody(body: unknown, report: UsageReport): void {
  const message = asObject(body);
  if (!message) return;
  const model = asString(message.model);
  if (model !== undefined) report.model = model;
  const usage = asObject(message.usage);
  if (usage) {
    report.usage = anthropicUsageFrom(usage);
    applyServiceTier(report, usage);
  }
  report.outputChars += contentChars(message.content);
  if (asString(message.stop_reason) !== undefined) report.completed = true;
}

function onCountBody(_body: unknown, report: UsageReport): void {
  // `{"input_tokens": n}` counts a prompt; nothing was billed, so no usage is reported.
  report.completed = true;
}

/**
 * message_start gives the input side (usage partial); every message_delta gives cumulative output
 * and sometimes the input side again: each replaces the report's usage, nothing is summed.
 */
function streamHandler(): SseEventHandler {
  const countText = stringCharCounter(DELTA_TEXT_KEYS);
  let startUsage: JsonObject | undefined;
  return (event: SseEvent, report: UsageReport): undefined => {
    const data = event.data;
    // Anthropic always names its events; the data's first "type" is the fallback.
    const type = event.event ?? readStringMember(data, 'type');
    switch (type) {
      case 'content_block_delta':
        report.outputChars += countText(data);
        return;
      case 'message_start': {
        const message = asObject(asObject(parseJson(data))?.message);
        if (!message) return;
        const model = asString(message.model);
        if (model !== undefined) report.model = model;
        startUsage = asObject(message.usage);
        if (startUsage) {
          report.usage = anthropicUsageFrom(startUsage);
          report.usagePartial = true;
          applyServiceTier(report, startUsage);
        }
        return;
      }
      case 'message_delta': {
        const delta = asObject(asObject(parseJson(data))?.usage);
        if (!delta) return;
        report.usage = anthropicUsageFrom(mergeUsage(startUsage, delta));
        report.usagePartial = false;
        applyServiceTier(report, delta);
        return;
      }
      case 'message_stop':
        report.completed = true;
        return;
      case 'error':
        report.error = errorBodyMessage(parseJson(data)) ?? 'stream error';
        return;
      default:
        return;
    }
  };
}

function recognise(req: ProxiedRequest): EndpointCall | undefined {
  if (req.method.toUpperCase() !== 'POST') return undefined;
  const endpoint = anthropicEndpointOf(req.path);
  if (endpoint === undefined) return undefined;
  const body = asObject(req.body);
  const requestModel = asString(body?.model);
  const stream = endpoint === 'messages' && body?.stream === true;

  const createResponseParser = (status: number, contentType: string): ResponseParser => {
    const report = newReport(requestModel);
    if (endpoint === 'count_tokens') return new JsonResponseParser(status, report, onCountBody);
    return readAsEventStream(status, contentType, stream)
      ? new SseResponseParser(report, streamHandler())
      : new JsonResponseParser(status, report, onMessageBody);
  };

  const call: EndpointCall = { endpoint, stream, free: endpoint === 'count_tokens', createResponseParser };
  if (requestModel !== undefined) call.requestModel = requestModel;
  return call;
}

export const anthropicAdapter: ProtocolAdapter = { protocol: 'anthropic', recognise };
