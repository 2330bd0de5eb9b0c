/**
 * A fake AI provider for integration tests and benchmarks: one loopback HTTP server that speaks the
 * wire formats of OpenAI (chat completions, responses, embeddings), Anthropic (messages,
 * count_tokens), Gemini (generateContent, streamGenerateContent in SSE and JSON-array form,
 * countTokens) and Ollama (/api/chat, /api/generate), shaped closely enough that the official SDKs
 * accept its responses unmodified (see test/unit/fakeProvider.test.ts).
 *
 * Routes match on path SUFFIX so a test can mount a provider under any prefix (url + '/openai/v1').
 * Faults (failNext) let tests exercise error, reset, truncation, compression and timing paths.
 *
 * Usage numbers follow the engine's normalised contract (src/engine/providers/usage.ts): `input` includes
 * cached and cache-written tokens, `cacheWrite` covers all TTLs and `cacheWrite1h` ⊆ `cacheWrite`,
 * `output` includes `reasoning`. Each protocol then re-expresses them the way that provider does.
 *
 * node: built-ins only, on purpose: the fake must not depend on what it is testing.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { createFakeSockets, type FakeSockets } from './fakeWebSocket';
import { servedByMountedProvider } from './providerPaths';

export interface FakeProviderOptions {
  port?: number /* 0 = random */;
}

export type Fault =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'resetBeforeHeaders' }
  | { kind: 'resetMidStream'; afterEvents?: number }
  | { kind: 'cutBeforeUsage' }
  | { kind: 'slowFirstByte'; ms: number }
  | { kind: 'gzip' }
  | { kind: 'stall'; ms: number };

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: any /* parsed JSON or raw string */;
}

export interface FakeUsage {
  input: number;
  cachedRead: number;
  cacheWrite: number;
  cacheWrite1h: number;
  output: number;
  reasoning: number;
  model?: string;
  serviceTier?: string;
  openrouterCost?: number;
  /**
   * Anthropic message_delta usage: false (default) sends only {output_tokens}, as the documented
   * example does; true also repeats the cumulative input/cache counters, as the live API now does.
   */
  anthropicDeltaFullUsage?: boolean;
}

export interface FakeProvider {
  url: string;
  calls: RecordedCall[];
  /** The WebSocket transports (Responses WebSocket mode, Realtime); their upgrades are counted in `calls`. */
  sockets: FakeSockets;
  /** Queue faults: the next N requests get these faults in order (each consumed once). */
  failNext(...faults: Fault[]): void;
  /** Override usage numbers for the following responses (merged, kept until reset()). */
  setUsage(u: Partial<FakeUsage>): void;
  reset(): void;
  close(): Promise<void>;
}

export type FakeProtocol = 'openai' | 'anthropic' | 'gemini' | 'ollama';

export const DEFAULT_FAKE_USAGE: Readonly<FakeUsage> = Object.freeze({
  input: 1200,
  cachedRead: 200,
  cacheWrite: 0,
  cacheWrite1h: 0,
  output: 300,
  reasoning: 50,
});

/** The deterministic assistant text per protocol; streams send it word by word. */
export const FAKE_REPLY_TEXT: Readonly<Record<FakeProtocol, string>> = Object.freeze({
  openai: 'Hello from fake openai.',
  anthropic: 'Hello from fake anthropic.',
  gemini: 'Hello from fake gemini.',
  ollama: 'Hello from fake ollama.',
});

/** Splits text into word deltas ("Hello", " from", …) so every stream has several content events. */
function words(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [text];
}

// ---------------------------------------------------------------------------------------------
// Replies: every response is a list of pieces, each written with its own res.write().

interface Reply {
  status: number;
  headers: Record<string, string>;
  pieces: string[];
  /** cutBeforeUsage sends pieces[0 .. usageAt) and then ends cleanly. */
  usageAt: number;
  /** A single JSON document (content-length is set unless the body gets cut). */
  json: boolean;
}

/** JSON body split in two pieces just before its usage key, so cut/reset/stall have a boundary. */
function jsonReply(
  status: number,
  obj: unknown,
  opts: { pretty?: boolean; cutKey?: string; contentType?: string; headers?: Record<string, string> } = {},
): Reply {
  const text = JSON.stringify(obj, null, opts.pretty ? 2 : undefined);
  let at = opts.cutKey ? text.indexOf(`"${opts.cutKey}"`) : -1;
  if (at <= 0) at = text.length >> 1;
  return {
    status,
    headers: { 'content-type': opts.contentType ?? 'application/json', ...opts.headers },
    pieces: [text.slice(0, at), text.slice(at)],
    usageAt: 1,
    json: true,
  };
}

interface SseEvent {
  event?: string;
  data: unknown;
}

function ssePieces(events: SseEvent[], eol = '\n'): string[] {
  return events.map((e) => {
    const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
    return (e.event ? `event: ${e.event}${eol}` : '') + `data: ${data}${eol}${eol}`;
  });
}

// ---------------------------------------------------------------------------------------------
// Error bodies, shaped like each provider's.

export function openaiError(status: number, message?: string): unknown {
  const [type, code] =
    status === 401
      ? ['invalid_request_error', 'invalid_api_key']
      : status === 404
        ? ['invalid_request_error', 'model_not_found']
        : status === 429
          ? ['requests', 'rate_limit_exceeded']
          : status >= 500
            ? ['server_error', null]
            : ['invalid_request_error', null];
  return {
    error: {
      message: message ?? (status >= 500 ? 'The server had an error while processing your request. Sorry about that!' : `Fake OpenAI error ${status}`),
      type,
      param: null,
      code,
    },
  };
}

function anthropicError(status: number, message?: string): unknown {
  const type =
    status === 400
      ? 'invalid_request_error'
      : status === 401
        ? 'authentication_error'
        : status === 402
          ? 'billing_error'
          : status === 403
            ? 'permission_error'
            : status === 404
              ? 'not_found_error'
              : status === 413
                ? 'request_too_large'
                : status === 429
                  ? 'rate_limit_error'
                  : status === 504
                    ? 'timeout_error'
                    : status === 529
                      ? 'overloaded_error'
                      : status >= 500
                        ? 'api_error'
                        : 'invalid_request_error';
  return {
    type: 'error',
    error: { type, message: message ?? (status === 529 ? 'Overloaded' : status >= 500 ? 'Internal server error' : `Fake Anthropic error ${status}`) },
    request_id: `req_fake${status}`,
  };
}

function geminiError(status: number, message?: string): unknown {
  const statusName =
    status === 400
      ? 'INVALID_ARGUMENT'
      : status === 401
        ? 'UNAUTHENTICATED'
        : status === 403
          ? 'PERMISSION_DENIED'
          : status === 404
            ? 'NOT_FOUND'
            : status === 429
              ? 'RESOURCE_EXHAUSTED'
              : status === 503
                ? 'UNAVAILABLE'
                : status === 504
                  ? 'DEADLINE_EXCEEDED'
                  : status >= 500
                    ? 'INTERNAL'
                    : 'FAILED_PRECONDITION';
  return { error: { code: status, message: message ?? `Fake Gemini error ${status}`, status: statusName } };
}

function errorBody(protocol: FakeProtocol, status: number, message?: string): unknown {
  switch (protocol) {
    case 'openai':
      return openaiError(status, message);
    case 'anthropic':
      return anthropicError(status, message);
    case 'gemini':
      return geminiError(status, message);
    case 'ollama':
      return { error: message ?? `fake ollama error ${status}` };
  }
}

function errorContentType(protocol: FakeProtocol): string {
  return protocol === 'gemini' ? 'application/json; charset=UTF-8' : 'application/json';
}

/** Which protocol a path belongs to (for error shapes); unknown paths are treated as OpenAI-like. */
function protocolOf(path: string): FakeProtocol {
  if (/:(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/.test(path) || /\/v1(beta|alpha)\/models\//.test(path))
    return 'gemini';
  if (path.endsWith('/messages') || path.endsWith('/messages/count_tokens')) return 'anthropic';
  if (path.endsWith('/api/chat') || path.endsWith('/api/generate')) return 'ollama';
  return 'openai';
}

// ---------------------------------------------------------------------------------------------
// Protocol handlers.

export interface Ctx {
  path: string;
  query: Record<string, string>;
  body: any;
  usage: FakeUsage;
  id: number;
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

function requestModel(body: any, fallback: string): string {
  return body && typeof body.model === 'string' && body.model ? body.model : fallback;
}

// OpenAI ----------------------------------------------------------------------------------------

function openaiHeaders(id: number): Record<string, string> {
  return { 'x-request-id': `req_fake${id}`, 'openai-processing-ms': '5', 'openai-version': '2020-10-01' };
}

function openaiChatUsage(u: FakeUsage): Record<string, unknown> {
  const usage: Record<string, unknown> = {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cachedRead, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  // OpenRouter reports its own USD price inside usage.
  if (u.openrouterCost !== undefined) usage.cost = u.openrouterCost;
  return usage;
}

function openaiChat(c: Ctx): Reply {
  const model = c.usage.model ?? requestModel(c.body, 'gpt-4o-mini');
  const id = `chatcmpl-fake${c.id}`;
  const created = nowSec();
  const text = FAKE_REPLY_TEXT.openai;
  const tier = c.usage.serviceTier ?? 'default';
  const fingerprint = 'fp_fake0001';
  if (!c.body?.stream) {
    return jsonReply(
      200,
      {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
        usage: openaiChatUsage(c.usage),
        service_tier: tier,
        system_fingerprint: fingerprint,
      },
      { pretty: true, cutKey: 'usage', headers: openaiHeaders(c.id) },
    );
  }
  // OpenAI only streams usage when asked; then every chunk carries "usage": null and one extra
  // chunk with empty choices carries the numbers.
  const includeUsage = c.body?.stream_options?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finish: string | null): Record<string, unknown> => {
    const ch: Record<string, unknown> = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: tier,
      system_fingerprint: fingerprint,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    if (includeUsage) ch.usage = null;
    return ch;
  };
  const events: SseEvent[] = [{ data: chunk({ role: 'assistant', content: '', refusal: null }, null) }];
  for (const w of words(text)) events.push({ data: chunk({ content: w }, null) });
  events.push({ data: chunk({}, 'stop') });
  if (includeUsage) {
    events.push({
      data: {
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        service_tier: tier,
        system_fingerprint: fingerprint,
        choices: [],
        usage: openaiChatUsage(c.usage),
      },
    });
  }
  const usageAt = includeUsage ? events.length - 1 : events.length;
  events.push({ data: '[DONE]' });
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', ...openaiHeaders(c.id) },
    pieces: ssePieces(events),
    usageAt,
    json: false,
  };
}

/** A Responses API response: its JSON when not streamed, else its stream events (also WebSocket mode's). */
export function openaiResponseEvents(c: Ctx, text = FAKE_REPLY_TEXT.openai): { response: unknown; events: Array<Record<string, unknown>> } {
  const model = c.usage.model ?? requestModel(c.body, 'gpt-4.1-mini');
  const respId = `resp_fake${c.id}`;
  const msgId = `msg_fake${c.id}`;
  const u = c.usage;
  const usage = {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cachedRead },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
  const part = (t: string) => ({ type: 'output_text', annotations: [], logprobs: [], text: t });
  const message = (status: string, content: unknown[]) => ({ id: msgId, type: 'message', status, content, role: 'assistant' });
  const response = (status: string, output: unknown[], withUsage: boolean) => ({
    id: respId,
    object: 'response',
    created_at: nowSec(),
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: c.body?.instructions ?? null,
    max_output_tokens: c.body?.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: c.body?.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: u.serviceTier ?? 'default',
    store: c.body?.store ?? true,
    temperature: 1.0,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1.0,
    truncation: 'disabled',
    usage: withUsage ? usage : null,
    user: null,
    metadata: {},
  });
  // The SDK's accumulator needs the item and content part announced before any text delta.
  const evs: Array<Record<string, unknown>> = [
    { type: 'response.created', response: response('in_progress', [], false) },
    { type: 'response.in_progress', response: response('in_progress', [], false) },
    { type: 'response.output_item.added', output_index: 0, item: message('in_progress', []) },
    { type: 'response.content_part.added', item_id: msgId, output_index: 0, content_index: 0, part: part('') },
    ...words(text).map((w) => ({ type: 'response.output_text.delta', item_id: msgId, output_index: 0, content_index: 0, delta: w, logprobs: [] })),
    { type: 'response.output_text.done', item_id: msgId, output_index: 0, content_index: 0, text, logprobs: [] },
    { type: 'response.content_part.done', item_id: msgId, output_index: 0, content_index: 0, part: part(text) },
    { type: 'response.output_item.done', output_index: 0, item: message('completed', [part(text)]) },
    { type: 'response.completed', response: response('completed', [message('completed', [part(text)])], true) },
  ];
  return { response: response('completed', [message('completed', [part(text)])], true), events: evs.map((e, i) => ({ ...e, sequence_number: i })) };
}

function openaiResponses(c: Ctx): Reply {
  const { response, events } = openaiResponseEvents(c);
  if (!c.body?.stream) return jsonReply(200, response, { pretty: true, cutKey: 'usage', headers: openaiHeaders(c.id) });
  const sse: SseEvent[] = events.map((e) => ({ event: e.type as string, data: e }));
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', ...openaiHeaders(c.id) },
    pieces: ssePieces(sse),
    usageAt: sse.length - 1,
    json: false,
  };
}

/** Deterministic vector; base64 form is little-endian float32, which is what the SDK decodes. */
function embeddingValues(i: number, dims: number): number[] {
  const v: number[] = [];
  for (let j = 0; j < dims; j++) v.push(Math.fround(Math.sin(i * 31 + j + 1) / 2));
  return v;
}

function openaiEmbeddings(c: Ctx): Reply {
  const input = c.body?.input;
  // A string, a token array (number[]) or a batch (string[] / number[][]).
  const count = Array.isArray(input) ? (input.length > 0 && typeof input[0] === 'number' ? 1 : input.length) : 1;
  const dims = typeof c.body?.dimensions === 'number' ? c.body.dimensions : 8;
  const base64 = c.body?.encoding_format === 'base64';
  const data = [];
  for (let i = 0; i < count; i++) {
    const values = embeddingValues(i, dims);
    let embedding: number[] | string = values;
    if (base64) {
      const buf = Buffer.alloc(dims * 4);
      values.forEach((x, j) => buf.writeFloatLE(x, j * 4));
      embedding = buf.toString('base64');
    }
    data.push({ object: 'embedding', index: i, embedding });
  }
  return jsonReply(
    200,
    {
      object: 'list',
      data,
      model: c.usage.model ?? requestModel(c.body, 'text-embedding-3-small'),
      usage: { prompt_tokens: c.usage.input, total_tokens: c.usage.input },
    },
    { pretty: true, cutKey: 'usage', headers: openaiHeaders(c.id) },
  );
}

function openaiModels(c: Ctx): Reply {
  return jsonReply(
    200,
    { object: 'list', data: [{ id: c.usage.model ?? 'gpt-4o-mini', object: 'model', created: 1700000000, owned_by: 'system' }] },
    { pretty: true },
  );
}

// Anthropic ------------------------------------------------------------------------------------

/** Recent API versions break out thinking tokens, but only when the request enabled thinking. */
function anthropicThinking(body: any, u: FakeUsage): Record<string, unknown> | undefined {
  const t = body?.thinking?.type;
  return t === 'enabled' || t === 'adaptive' ? { thinking_tokens: u.reasoning } : undefined;
}

function anthropicUsage(u: FakeUsage, output: number, thinking?: Record<string, unknown>): Record<string, unknown> {
  // Anthropic's input_tokens excludes cache reads and writes; they are reported beside it.
  const usage: Record<string, unknown> = {
    input_tokens: Math.max(0, u.input - u.cachedRead - u.cacheWrite),
    cache_creation_input_tokens: u.cacheWrite,
    cache_read_input_tokens: u.cachedRead,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite - u.cacheWrite1h, ephemeral_1h_input_tokens: u.cacheWrite1h },
    output_tokens: output,
    service_tier: u.serviceTier ?? 'standard',
  };
  if (thinking) usage.output_tokens_details = thinking;
  return usage;
}

function anthropicMessages(c: Ctx): Reply {
  const model = c.usage.model ?? requestModel(c.body, 'claude-sonnet-4-5');
  const id = `msg_fake${c.id}`;
  const text = FAKE_REPLY_TEXT.anthropic;
  const headers = { 'request-id': `req_fake${c.id}`, 'anthropic-organization-id': 'fake-org' };
  const thinking = anthropicThinking(c.body, c.usage);
  if (!c.body?.stream) {
    return jsonReply(
      200,
      {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: anthropicUsage(c.usage, c.usage.output, thinking),
      },
      { cutKey: 'usage', headers },
    );
  }
  const full = anthropicUsage(c.usage, c.usage.output);
  const deltaUsage: Record<string, unknown> = c.usage.anthropicDeltaFullUsage
    ? {
        input_tokens: full.input_tokens,
        cache_creation_input_tokens: full.cache_creation_input_tokens,
        cache_read_input_tokens: full.cache_read_input_tokens,
        output_tokens: c.usage.output,
      }
    : { output_tokens: c.usage.output };
  if (thinking) deltaUsage.output_tokens_details = thinking;
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: anthropicUsage(c.usage, 1) },
      },
    },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
    { event: 'ping', data: { type: 'ping' } },
    ...words(text).map((w) => ({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } } })),
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
  ];
  const usageAt = events.length;
  events.push(
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: deltaUsage } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
    pieces: ssePieces(events),
    usageAt,
    json: false,
  };
}

function anthropicCountTokens(c: Ctx): Reply {
  return jsonReply(200, { input_tokens: c.usage.input }, { headers: { 'request-id': `req_fake${c.id}` } });
}

// Gemini ---------------------------------------------------------------------------------------

/**
 * Gemini's promptTokenCount includes the cached tokens, candidatesTokenCount excludes thoughts;
 * zero cached/thought counts are omitted, as the live API does.
 */
function geminiUsage(u: FakeUsage, candidates: number): Record<string, unknown> {
  const m: Record<string, unknown> = { promptTokenCount: u.input, candidatesTokenCount: candidates, totalTokenCount: u.input + candidates + u.reasoning };
  if (u.cachedRead > 0) m.cachedContentTokenCount = u.cachedRead;
  m.promptTokensDetails = [{ modality: 'TEXT', tokenCount: u.input }];
  if (u.cachedRead > 0) m.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: u.cachedRead }];
  if (u.reasoning > 0) m.thoughtsTokenCount = u.reasoning;
  return m;
}

function geminiGenerate(c: Ctx, model: string, method: string): Reply {
  const modelVersion = c.usage.model ?? model;
  const responseId = `fakeResp${c.id}`;
  const text = FAKE_REPLY_TEXT.gemini;
  const visible = Math.max(0, c.usage.output - c.usage.reasoning);
  const chunkOf = (t: string, candidates: number, last: boolean): Record<string, unknown> => ({
    candidates: [{ content: { parts: [{ text: t }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }],
    usageMetadata: geminiUsage(c.usage, candidates),
    modelVersion,
    responseId,
  });
  if (method === 'generateContent') {
    return jsonReply(200, chunkOf(text, visible, true), { pretty: true, cutKey: 'usageMetadata', contentType: 'application/json; charset=UTF-8' });
  }
  // Each streamed chunk carries cumulative usage; the last one has the full numbers and finishReason.
  const ws = words(text);
  const chunks = ws.map((w, i) => chunkOf(w, i === ws.length - 1 ? visible : Math.floor((visible * (i + 1)) / ws.length), i === ws.length - 1));
  if (c.query.alt === 'sse') {
    // Google terminates SSE events with CRLF CRLF.
    return {
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      pieces: ssePieces(
        chunks.map((d) => ({ data: d })),
        '\r\n',
      ),
      usageAt: chunks.length - 1,
      json: false,
    };
  }
  // Without alt=sse Google streams one JSON array, written element by element.
  const pieces = chunks.map((d, i) => (i === 0 ? '[' : '\r\n,\r\n') + JSON.stringify(d, null, 2));
  pieces.push('\r\n]');
  return { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, pieces, usageAt: chunks.length - 1, json: false };
}

function geminiCountTokens(c: Ctx): Reply {
  return jsonReply(
    200,
    { totalTokens: c.usage.input, promptTokensDetails: [{ modality: 'TEXT', tokenCount: c.usage.input }] },
    { pretty: true, contentType: 'application/json; charset=UTF-8' },
  );
}

// Ollama ---------------------------------------------------------------------------------------

function ollama(c: Ctx, kind: 'chat' | 'generate'): Reply {
  const model = c.usage.model ?? requestModel(c.body, 'llama3.2');
  const text = FAKE_REPLY_TEXT.ollama;
  const createdAt = new Date().toISOString();
  const content = (t: string) => (kind === 'chat' ? { message: { role: 'assistant', content: t } } : { response: t });
  const final = (t: string) => ({
    model,
    created_at: createdAt,
    ...content(t),
    done_reason: 'stop',
    done: true,
    total_duration: 123456789,
    load_duration: 1234567,
    prompt_eval_count: c.usage.input,
    prompt_eval_duration: 2345678,
    eval_count: c.usage.output,
    eval_duration: 3456789,
  });
  // Ollama streams by default; only an explicit stream:false gets one JSON object.
  if (c.body?.stream === false) {
    return jsonReply(200, final(text), { cutKey: 'done_reason', contentType: 'application/json; charset=utf-8' });
  }
  const lines = words(text).map((w) => JSON.stringify({ model, created_at: createdAt, ...content(w), done: false }) + '\n');
  const usageAt = lines.length;
  lines.push(JSON.stringify(final('')) + '\n');
  return { status: 200, headers: { 'content-type': 'application/x-ndjson' }, pieces: lines, usageAt, json: false };
}

// ---------------------------------------------------------------------------------------------

const GEMINI_RE = /\/((?:models|tunedModels)\/[^/:]+|[^/:]+):(generateContent|streamGenerateContent|countTokens)$/;

function route(method: string, c: Ctx): Reply {
  const p = c.path.replace(/\/+$/, '');
  const g = GEMINI_RE.exec(p);
  if (servedByMountedProvider(p) === false) {
    const protocol = protocolOf(p);
    return jsonReply(404, errorBody(protocol, 404, `Unknown fake route: ${method} ${c.path}`), { contentType: errorContentType(protocol) });
  }
  if (method === 'POST') {
    if (g) {
      const model = g[1].replace(/^(models|tunedModels)\//, '');
      return g[2] === 'countTokens' ? geminiCountTokens(c) : geminiGenerate(c, model, g[2]);
    }
    if (p.endsWith('/chat/completions')) return openaiChat(c);
    if (p.endsWith('/responses')) return openaiResponses(c);
    if (p.endsWith('/embeddings')) return openaiEmbeddings(c);
    if (p.endsWith('/messages/count_tokens')) return anthropicCountTokens(c);
    if (p.endsWith('/messages')) return anthropicMessages(c);
    if (p.endsWith('/api/chat')) return ollama(c, 'chat');
    if (p.endsWith('/api/generate')) return ollama(c, 'generate');
  }
  if (method === 'GET' && p.endsWith('/models')) return openaiModels(c);
  const protocol = protocolOf(p);
  return jsonReply(404, errorBody(protocol, 404, `Unknown fake route: ${method} ${c.path}`), { contentType: errorContentType(protocol) });
}

// ---------------------------------------------------------------------------------------------
// Server.

export async function startFakeProvider(opts: FakeProviderOptions = {}): Promise<FakeProvider> {
  const calls: RecordedCall[] = [];
  let faults: Fault[] = [];
  let usageOverride: Partial<FakeUsage> = {};
  let nextId = 1;
  let closed = false;
  const timers = new Set<NodeJS.Timeout>();

  // Timers are tracked so close() can drop pending slow/stalled responses instead of waiting.
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

  async function send(req: http.IncomingMessage, res: http.ServerResponse, reply: Reply, fault: Fault | undefined): Promise<void> {
    // Not `res.socket === null`: a pipelined keep-alive response has no socket until the previous one ends.
    const gone = () => closed || res.destroyed;
    if (fault?.kind === 'slowFirstByte') await sleep(fault.ms);
    if (gone()) return;

    let pieces: Buffer[] = reply.pieces.map((p) => Buffer.from(p, 'utf8'));
    const cut = fault?.kind === 'cutBeforeUsage';
    if (cut) pieces = pieces.slice(0, reply.usageAt);
    const headers: Record<string, string> = { ...reply.headers };

    const gzip = fault?.kind === 'gzip';
    let gz: zlib.Gzip | undefined;
    if (gzip) {
      headers['content-encoding'] = 'gzip';
      if (reply.json) {
        const z = zlib.gzipSync(Buffer.concat(pieces));
        pieces = [z.subarray(0, z.length >> 1), z.subarray(z.length >> 1)];
      } else {
        // Streams are compressed incrementally, flushing after every event so they stay live.
        gz = zlib.createGzip();
        gz.pipe(res);
      }
    }
    if (reply.json && !cut) headers['content-length'] = String(pieces.reduce((n, b) => n + b.length, 0));

    res.writeHead(reply.status, headers);
    res.flushHeaders();

    let stopAfter = pieces.length;
    if (fault?.kind === 'resetMidStream') stopAfter = Math.max(0, Math.min(fault.afterEvents ?? 2, pieces.length - 1));

    for (let i = 0; i < pieces.length; i++) {
      if (gone()) return;
      if (i === stopAfter) {
        // Let the partial body reach the client before the connection drops.
        await sleep(20);
        req.socket.destroy();
        return;
      }
      if (gz) {
        gz.write(pieces[i]);
        await new Promise<void>((r) => gz!.flush(() => r()));
      } else {
        res.write(pieces[i]);
      }
      if (fault?.kind === 'stall' && i === 0) await sleep(fault.ms);
      else await tick();
    }
    if (gone()) return;
    if (gz) gz.end();
    else res.end();
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let raw = Buffer.concat(chunks);
    const enc = String(req.headers['content-encoding'] ?? '').toLowerCase();
    try {
      if (enc === 'gzip') raw = zlib.gunzipSync(raw);
      else if (enc === 'br') raw = zlib.brotliDecompressSync(raw);
      else if (enc === 'deflate') raw = zlib.inflateSync(raw);
    } catch {
      // Keep the raw bytes: recording must never fail.
    }
    const text = raw.toString('utf8');
    let body: any = text;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const u = new URL(req.url ?? '/', 'http://fake.local');
    const query: Record<string, string> = {};
    for (const [k, v] of u.searchParams) query[k] = v;
    const path = decodeURIComponent(u.pathname);
    const method = req.method ?? 'GET';

    // Record before applying a fault: tests count upstream attempts, failed ones included.
    calls.push({ method, path, query, headers: { ...req.headers }, body });
    const fault = faults.shift();
    const id = nextId++;

    if (fault?.kind === 'resetBeforeHeaders') {
      // An RST rather than a FIN, like a dropped upstream connection.
      const s = req.socket as typeof req.socket & { resetAndDestroy?: () => void };
      if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
      else s.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const protocol = protocolOf(path.replace(/\/+$/, ''));
      const b = fault.body ?? errorBody(protocol, fault.status);
      const payload = typeof b === 'string' ? b : JSON.stringify(b);
      res.writeHead(fault.status, { 'content-type': errorContentType(protocol), 'content-length': String(Buffer.byteLength(payload)), ...fault.headers });
      res.end(payload);
      return;
    }

    const usage: FakeUsage = { ...DEFAULT_FAKE_USAGE, ...usageOverride };
    const reply = route(method, { path, query, body, usage, id });
    await send(req, res, reply, fault);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      // A bug in the fake should fail loudly in the test, not hang it.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake provider error: ${String(err?.stack ?? err)}`);
      } else {
        res.destroy();
      }
    });
  });
  const sockets = createFakeSockets({ calls, usage: () => ({ ...DEFAULT_FAKE_USAGE, ...usageOverride }), nextId: () => nextId++ });
  server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head));
  // Sockets destroyed by faults surface here; they are expected.
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    sockets,
    failNext(...f: Fault[]) {
      faults.push(...f);
    },
    setUsage(u: Partial<FakeUsage>) {
      usageOverride = { ...usageOverride, ...u };
    },
    reset() {
      calls.length = 0;
      sockets.reset();
      faults = [];
      usageOverride = {};
    },
    close() {
      closed = true;
      sockets.close();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
