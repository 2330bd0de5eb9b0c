/**
 * The OpenAI wire protocol: OpenAI itself and the providers that copy it (Mistral, Groq, DeepSeek,
 * xAI, OpenRouter, Together, Fireworks, Cerebras, Perplexity), and Ollama's /v1 endpoints.
 */
import type { SseEvent } from '../streams/sse';
import type { EndpointCall, ProtocolAdapter, ProxiedRequest, ResponseParser, TokenUsage, UsageReport } from '../usage';
import {
  JsonObject,
  JsonResponseParser,
  SseEventHandler,
  SseResponseParser,
  SseVerdict,
  asObject,
  asString,
  count,
  errorBodyMessage,
  errorMessageOf,
  hasObjectMember,
  isCount,
  makeUsage,
  newReport,
  normalisePath,
  parseJson,
  readAsEventStream,
  readStringMember,
  stringCharCounter,
} from './common';

export type OpenAiEndpoint = 'chat.completions' | 'completions' | 'responses' | 'responses.input_tokens' | 'embeddings';

export interface OpenAiAdapterOptions {
  /**
   * Ask for usage (`stream_options.include_usage`) on chat completion streams whose client did not,
   * and hide it from the client. Default true; turn off for providers that reject the field
   * (Mistral, Cerebras answer 422) — they send usage in their last chunk anyway.
   */
  injectStreamUsage?: boolean;
}

/** Generated text in chat completion chunks and messages (tool call arguments are generated too). */
const CHAT_TEXT_KEYS = ['content', 'reasoning_content', 'reasoning', 'refusal', 'arguments'] as const;
const COMPLETION_TEXT_KEYS = ['text'] as const;

/** Responses API delta events whose `delta` is generated text (not audio, not base64). */
export const RESPONSES_TEXT_DELTAS: ReadonlySet<string> = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.code_interpreter_call_code.delta',
]);
export const RESPONSES_TERMINAL_EVENTS: ReadonlySet<string> = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export function openAiEndpointOf(path: string): OpenAiEndpoint | undefined {
  const p = normalisePath(path);
  if (p.endsWith('/chat/completions')) return 'chat.completions';
  if (p.endsWith('/completions')) return 'completions';
  if (p.endsWith('/responses/input_tokens')) return 'responses.input_tokens';
  if (p.endsWith('/responses')) return 'responses';
  if (p.endsWith('/embeddings')) return 'embeddings';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Usage normalisation
// ---------------------------------------------------------------------------------------------

/** Chat Completions / legacy Completions / Embeddings `usage`. */
export function chatUsageFrom(usage: JsonObject): TokenUsage {
  const promptTokens = count(usage.prompt_tokens);
  const completionTokens = count(usage.completion_tokens);
  const promptDetails = asObject(usage.prompt_tokens_details);
  const completionDetails = asObject(usage.completion_tokens_details);
  // DeepSeek reports cache hits beside the details object OpenAI uses.
  const cacheReadTokens = isCount(promptDetails?.cached_tokens)
    ? promptDetails.cached_tokens
    : count(usage.prompt_cache_hit_tokens);
  // Perplexity puts reasoning_tokens at the top level.
  const reasoningTokens = isCount(completionDetails?.reasoning_tokens)
    ? completionDetails.reasoning_tokens
    : count(usage.reasoning_tokens);
  // OpenAI counts reasoning inside completion_tokens; xAI (and Perplexity) report it beside, which
  // shows in total_tokens. Output must include reasoning either way.
  const reasoningBeside =
    reasoningTokens > 0 &&
    isCount(usage.total_tokens) &&
    usage.total_tokens === promptTokens + completionTokens + reasoningTokens;
  return makeUsage({
    inputTokens: promptTokens,
    cacheReadTokens,
    outputTokens: reasoningBeside ? completionTokens + reasoningTokens : completionTokens,
    reasoningTokens,
  });
}

/** Responses API `usage`. */
export function responsesUsageFrom(usage: JsonObject): TokenUsage {
  const inputDetails = asObject(usage.input_tokens_details);
  const outputDetails = asObject(usage.output_tokens_details);
  return makeUsage({
    inputTokens: count(usage.input_tokens),
    // Perplexity's Responses API names the cache fields the Anthropic way.
    cacheReadTokens: isCount(inputDetails?.cached_tokens)
      ? inputDetails.cached_tokens
      : count(inputDetails?.cache_read_input_tokens),
    cacheWriteTokens: count(inputDetails?.cache_creation_input_tokens),
    outputTokens: count(usage.output_tokens),
    reasoningTokens: count(outputDetails?.reasoning_tokens),
  });
}

/** OpenRouter's `usage.cost` (USD), or Perplexity's `usage.cost.total_cost`. */
function reportedCostOf(usage: JsonObject): number | undefined {
  if (isCount(usage.cost)) return usage.cost;
  const cost = asObject(usage.cost);
  return cost && isCount(cost.total_cost) ? cost.total_cost : undefined;
}

function applyUsage(report: UsageReport, usage: JsonObject, toTokens: (usage: JsonObject) => TokenUsage): void {
  report.usage = toTokens(usage);
  const cost = reportedCostOf(usage);
  if (cost !== undefined) report.reportedCostUsd = cost;
}

/** Usage of a chat chunk or body: `usage`, or Groq's `x_groq.usage`. */
function chatUsageMember(body: JsonObject): JsonObject | undefined {
  return asObject(body.usage) ?? asObject(asObject(body.x_groq)?.usage);
}

function applyModelAndTier(report: UsageReport, body: JsonObject): void {
  const model = asString(body.model);
  if (model !== undefined) report.model = model;
  const tier = asString(body.service_tier);
  if (tier !== undefined) report.serviceTier = tier;
}

// ---------------------------------------------------------------------------------------------
// Non-stream bodies
// ---------------------------------------------------------------------------------------------

function stringLength(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}

function chatBodyChars(body: JsonObject): number {
  let chars = 0;
  const choices = Array.isArray(body.choices) ? body.choices : [];
  for (const choice of choices) {
    const c = asObject(choice);
    if (!c) continue;
    chars += stringLength(c.text);
    const message = asObject(c.message);
    if (!message) continue;
    chars +=
      stringLength(message.content) +
      stringLength(message.reasoning_content) +
      stringLength(message.reasoning) +
      stringLength(message.refusal);
    const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
    for (const call of toolCalls) chars += stringLength(asObject(asObject(call)?.function)?.arguments);
  }
  return chars;
}

function onChatBody(body: unknown, report: UsageReport): void {
  const obj = asObject(body);
  if (!obj) return;
  applyModelAndTier(report, obj);
  const usage = chatUsageMember(obj);
  if (usage) applyUsage(report, usage, chatUsageFrom);
  report.outputChars += chatBodyChars(obj);
  report.completed = report.error === undefined;
}

function responsesOutputChars(response: JsonObject): number {
  let chars = 0;
  const output = Array.isArray(response.output) ? response.output : [];
  for (const item of output) {
    const o = asObject(item);
    if (!o) continue;
    chars += stringLength(o.arguments) + stringLength(o.input);
    for (const listKey of ['content', 'summary'] as const) {
      const parts = Array.isArray(o[listKey]) ? (o[listKey] as unknown[]) : [];
      for (const part of parts) {
        const p = asObject(part);
        if (p) chars += stringLength(p.text) + stringLength(p.refusal);
      }
    }
  }
  return chars;
}

/** A Response object as found in a non-stream body or a terminal stream event. */
function applyResponseObject(response: JsonObject, report: UsageReport): void {
  applyModelAndTier(report, response);
  const usage = asObject(response.usage);
  if (usage) applyUsage(report, usage, responsesUsageFrom);
  const status = asString(response.status);
  if (status === 'completed' || status === 'incomplete' || status === 'failed' || status === 'cancelled') {
    report.completed = true;
  }
  const error = errorMessageOf(response);
  if (error !== undefined) report.error = error;
  else if (status === 'failed' || status === 'cancelled') report.error = `response ${status}`;
  else if (status === 'incomplete') {
    const reason = asString(asObject(response.incomplete_details)?.reason);
    report.error = reason !== undefined ? `incomplete: ${reason}` : 'incomplete';
  }
}

function onResponsesBody(body: unknown, report: UsageReport): void {
  const obj = asObject(body);
  if (!obj) return;
  applyResponseObject(obj, report);
  report.outputChars += responsesOutputChars(obj);
}

function onCountBody(_body: unknown, report: UsageReport): void {
  // A token count is not billed usage: nothing to record but that the answer came.
  report.completed = true;
}

// ---------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------

/**
 * Chat Completions (and legacy Completions) chunks. Usage is taken from the last chunk that carries
 * it, never summed. With `hideUsage` the handler returns verdicts that undo what include_usage added.
 */
function chatStreamHandler(textKeys: readonly string[], hideUsage: boolean): SseEventHandler {
  const countText = stringCharCounter(textKeys);
  let headerRead = false;
  return (event: SseEvent, report: UsageReport): SseVerdict => {
    const data = event.data;
    if (data === '[DONE]' || data.trim() === '[DONE]') {
      report.completed = true;
      return undefined;
    }
    if (!headerRead) {
      // Every chunk repeats model and tier; reading the first keeps cut streams attributed.
      headerRead = true;
      const model = readStringMember(data, 'model');
      if (model !== undefined) report.model = model;
      const tier = readStringMember(data, 'service_tier');
      if (tier !== undefined) report.serviceTier = tier;
    }
    report.outputChars += countText(data);
    let usageOnlyChunk = false;
    if (hasObjectMember(data, 'usage') || data.includes('"error"')) {
      const chunk = asObject(parseJson(data));
      if (chunk) {
        const usage = chatUsageMember(chunk);
        if (usage) {
          applyUsage(report, usage, chatUsageFrom);
          applyModelAndTier(report, chunk);
          usageOnlyChunk = Array.isArray(chunk.choices) && chunk.choices.length === 0 && asObject(chunk.usage) !== undefined;
        }
        const error = errorMessageOf(chunk);
        if (error !== undefined) report.error = error;
      }
    }
    if (!hideUsage) return undefined;
    if (usageOnlyChunk) return null;
    return removeNullUsageMember(event.raw);
  };
}

/** Responses API events (HTTP streams and WebSocket mode): only the terminal ones and errors are parsed. */
export function responsesStreamHandler(): SseEventHandler {
  const countDelta = stringCharCounter(['delta']);
  return (event: SseEvent, report: UsageReport): undefined => {
    const data = event.data;
    const type = event.event ?? readStringMember(data, 'type');
    if (type === undefined) return;
    if (type.endsWith('.delta')) {
      if (RESPONSES_TEXT_DELTAS.has(type)) report.outputChars += countDelta(data);
      return;
    }
    if (type === 'response.created') {
      const model = readStringMember(data, 'model');
      if (model !== undefined) report.model = model;
      return;
    }
    if (RESPONSES_TERMINAL_EVENTS.has(type)) {
      const response = asObject(asObject(parseJson(data))?.response);
      if (response) applyResponseObject(response, report);
      report.completed = true;
      return;
    }
    if (type === 'error' || type === 'response.error') {
      const body = parseJson(data);
      report.error = errorBodyMessage(body) ?? 'stream error';
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Hiding what include_usage added
// ---------------------------------------------------------------------------------------------

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const USAGE_KEY = Buffer.from('usage');
const QUOTED_USAGE = Buffer.from('"usage"');
const NULL = Buffer.from('null');

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === LF || b === CR;
}

/** Byte range [start, end) of the value of the block's single `data:` line; undefined when there is not exactly one. */
function singleDataValue(raw: Buffer): { start: number; end: number } | undefined {
  // Fast path, the usual block: `data: …` then nothing but line endings.
  if (raw.length > 5 && raw[0] === 0x64 && raw[1] === 0x61 && raw[2] === 0x74 && raw[3] === 0x61 && raw[4] === 0x3a) {
    let end = raw.indexOf(LF);
    const cr = raw.indexOf(CR);
    if (end === -1 || (cr !== -1 && cr < end)) end = cr;
    if (end === -1) end = raw.length;
    let rest = end;
    while (rest < raw.length && (raw[rest] === LF || raw[rest] === CR)) rest++;
    if (rest === raw.length) return { start: raw[5] === 0x20 ? 6 : 5, end };
  }
  let found: { start: number; end: number } | undefined;
  let pos = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  while (pos < raw.length) {
    let eol = pos;
    while (eol < raw.length && raw[eol] !== LF && raw[eol] !== CR) eol++;
    const isData =
      eol - pos >= 4 &&
      raw[pos] === 0x64 &&
      raw[pos + 1] === 0x61 &&
      raw[pos + 2] === 0x74 &&
      raw[pos + 3] === 0x61 &&
      (eol - pos === 4 || raw[pos + 4] === 0x3a);
    if (isData) {
      if (found) return undefined;
      let start = Math.min(pos + 5, eol);
      if (start < eol && raw[start] === 0x20) start++;
      found = { start, end: eol };
    }
    pos = eol + 1;
    if (raw[eol] === CR && raw[pos] === LF) pos++;
  }
  return found;
}

function skipSpaceBytes(raw: Buffer, at: number, end: number): number {
  let i = at;
  while (i < end && isSpace(raw[i])) i++;
  return i;
}

/**
 * Removes the top-level `"usage": null` member from the JSON of the block's data line, editing the
 * bytes in place of re-serialising so that everything else stays byte-identical. Returns undefined
 * when there is no such member (forward the block unchanged).
 */
export function removeNullUsageMember(raw: Buffer): Buffer | undefined {
  if (raw.indexOf(QUOTED_USAGE) === -1) return undefined;
  const value = singleDataValue(raw);
  if (!value) return undefined;
  const { start, end } = value;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectKey = false;
  let keyStart = -1;
  for (let i = start; i < end; i++) {
    const b = raw[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (b === 0x5c) escaped = true;
      else if (b === QUOTE) {
        inString = false;
        if (keyStart !== -1) {
          const isUsage = i - keyStart - 1 === USAGE_KEY.length && raw.compare(USAGE_KEY, 0, USAGE_KEY.length, keyStart + 1, i) === 0;
          const range = isUsage ? nullMemberRange(raw, keyStart, i + 1, start, end) : undefined;
          if (range) return Buffer.concat([raw.subarray(0, range.from), raw.subarray(range.to)]);
          keyStart = -1;
        }
      }
      continue;
    }
    switch (b) {
      case QUOTE:
        inString = true;
        keyStart = depth === 1 && expectKey ? i : -1;
        expectKey = false;
        break;
      case 0x7b: // {
        depth++;
        expectKey = depth === 1;
        break;
      case 0x5b: // [
        depth++;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        depth--;
        break;
      case 0x2c: // ,
        if (depth === 1) expectKey = true;
        break;
      default:
        break;
    }
  }
  return undefined;
}

/** For member name `"usage"` at [keyStart, keyEnd): the bytes to cut when its value is null, separators included. */
function nullMemberRange(
  raw: Buffer,
  keyStart: number,
  keyEnd: number,
  valueStart: number,
  valueEnd: number,
): { from: number; to: number } | undefined {
  const colon = skipSpaceBytes(raw, keyEnd, valueEnd);
  if (raw[colon] !== 0x3a) return undefined;
  const nullAt = skipSpaceBytes(raw, colon + 1, valueEnd);
  if (nullAt + 4 > valueEnd || raw.compare(NULL, 0, 4, nullAt, nullAt + 4) !== 0) return undefined;
  const memberEnd = nullAt + 4;
  const after = skipSpaceBytes(raw, memberEnd, valueEnd);
  if (raw[after] !== 0x2c && raw[after] !== 0x7d) return undefined;
  let before = keyStart - 1;
  while (before >= valueStart && isSpace(raw[before])) before--;
  // `…,"usage":null` loses its leading comma; a first member `{"usage":null,…` loses the trailing one.
  if (raw[before] === 0x2c) return { from: before, to: memberEnd };
  if (raw[after] === 0x2c) return { from: keyStart, to: skipSpaceBytes(raw, after + 1, valueEnd) };
  return { from: keyStart, to: memberEnd };
}

// ---------------------------------------------------------------------------------------------
// The adapter
// ---------------------------------------------------------------------------------------------

export function createOpenAiAdapter(options: OpenAiAdapterOptions = {}): ProtocolAdapter {
  const injectStreamUsage = options.injectStreamUsage ?? true;

  function recognise(req: ProxiedRequest): EndpointCall | undefined {
    if (req.method.toUpperCase() !== 'POST') return undefined;
    const endpoint = openAiEndpointOf(req.path);
    if (endpoint === undefined) return undefined;
    const body = asObject(req.body);
    const requestModel = asString(body?.model);
    const stream = body?.stream === true && endpoint !== 'embeddings' && endpoint !== 'responses.input_tokens';

    let upstreamBody: Buffer | undefined;
    if (endpoint === 'chat.completions' && stream && injectStreamUsage && body) {
      const streamOptions = asObject(body.stream_options);
      if (streamOptions?.include_usage !== true) {
        upstreamBody = Buffer.from(
          JSON.stringify({ ...body, stream_options: { ...streamOptions, include_usage: true } }),
          'utf8',
        );
      }
    }
    const hideUsage = upstreamBody !== undefined;

    const createResponseParser = (status: number, contentType: string): ResponseParser => {
      const report = newReport(requestModel);
      const sse = readAsEventStream(status, contentType, stream);
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
          return new JsonResponseParser(status, report, onChatBody);
        case 'responses.input_tokens':
          return new JsonResponseParser(status, report, onCountBody);
      }
    };

    const call: EndpointCall = {
      endpoint,
      stream,
      free: endpoint === 'responses.input_tokens',
      createResponseParser,
    };
    if (requestModel !== undefined) call.requestModel = requestModel;
    if (upstreamBody !== undefined) call.upstreamBody = upstreamBody;
    return call;
  }

  return { protocol: 'openai', recognise };
}

export const openaiAdapter: ProtocolAdapter = createOpenAiAdapter();
