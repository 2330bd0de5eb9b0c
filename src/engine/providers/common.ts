/**
 * What the protocol adapters share: JSON reading helpers and the three ResponseParser skeletons
 * (whole JSON body, SSE, stream of JSON elements) that the adapters plug their per-protocol handlers
 * into. The cheap text scanners for stream chunks not worth a JSON.parse are in jsonScan.ts.
 */
import { SseEvent, SseParser } from '../streams';
import type { ResponseParser, TokenUsage, UsageReport } from './usage';

/** Non-stream bodies larger than this are forwarded but not parsed for usage. */
export const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;
/** Error messages are cut to this length: they are for display, not for storing whole bodies. */
const MAX_ERROR_CHARS = 500;
const EMPTY: Buffer = Buffer.alloc(0);

export type JsonObject = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Reading parsed JSON
// ---------------------------------------------------------------------------------------------

export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** A token count field: anything but a finite non-negative number reads as 0. */
export function count(value: unknown): number {
  return isCount(value) ? value : 0;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Builds a TokenUsage, clamping the subsets so that the README's ⊆ relations hold even when a provider's numbers do not. */
export function makeUsage(fields: Partial<TokenUsage>): TokenUsage {
  const inputTokens = fields.inputTokens ?? 0;
  const outputTokens = fields.outputTokens ?? 0;
  const cacheReadTokens = Math.min(fields.cacheReadTokens ?? 0, inputTokens);
  const cacheWriteTokens = Math.min(fields.cacheWriteTokens ?? 0, inputTokens - cacheReadTokens);
  return {
    inputTokens,
    cacheReadTokens,
    cacheWriteTokens,
    cacheWrite1hTokens: Math.min(fields.cacheWrite1hTokens ?? 0, cacheWriteTokens),
    outputTokens,
    reasoningTokens: Math.min(fields.reasoningTokens ?? 0, outputTokens),
  };
}

export function newReport(requestModel?: string): UsageReport {
  const report: UsageReport = { outputChars: 0, completed: false };
  if (requestModel !== undefined) report.model = requestModel;
  return report;
}

function clip(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

/**
 * The message of an `error` member: `{"error": {"message": …}}` (OpenAI, Anthropic, Gemini) or
 * `{"error": "…"}` (Ollama). An array body (Gemini stream errors) is read from its first element.
 */
export function errorMessageOf(body: unknown): string | undefined {
  const root = Array.isArray(body) ? asObject(body[0]) : asObject(body);
  if (!root || root.error === undefined || root.error === null) return undefined;
  if (typeof root.error === 'string') return clip(root.error);
  const error = asObject(root.error);
  if (!error) return clip(JSON.stringify(root.error));
  const message = error.message;
  if (typeof message === 'string' && message.length > 0) return clip(message);
  if (message !== undefined && message !== null) return clip(JSON.stringify(message));
  return asString(error.type) ?? asString(error.code) ?? asString(error.status) ?? clip(JSON.stringify(error));
}

/**
 * The message of a 4xx/5xx body. Besides `error`, accepts a top-level `message` (Mistral puts its
 * validation details there, as an object) or `detail` (FastAPI-style servers).
 */
export function errorBodyMessage(body: unknown): string | undefined {
  const fromError = errorMessageOf(body);
  if (fromError !== undefined) return fromError;
  const root = asObject(body);
  if (!root) return undefined;
  for (const key of ['message', 'detail'] as const) {
    const value = root[key];
    if (typeof value === 'string' && value.length > 0) return clip(value);
    if (value !== undefined && value !== null) return clip(JSON.stringify(value));
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Response parser skeletons
// ---------------------------------------------------------------------------------------------

export function isEventStream(contentType: string): boolean {
  return contentType.toLowerCase().includes('text/event-stream');
}

/**
 * Whether a successful response should be read as SSE: its content type says so, or the request
 * asked for a stream and the content type does not claim JSON (some servers send no or odd types).
 */
export function readAsEventStream(status: number, contentType: string, streamRequested: boolean): boolean {
  if (status >= 400) return false;
  return isEventStream(contentType) || (streamRequested && !contentType.toLowerCase().includes('json'));
}

/** Collects a body up to a cap without repeated concatenation; past the cap it keeps nothing. */
export class BoundedBody {
  private parts: Buffer[] = [];
  private size = 0;
  private tooLarge = false;

  constructor(private readonly maxBytes: number = MAX_JSON_BODY_BYTES) {}

  get overflowed(): boolean {
    return this.tooLarge;
  }

  push(chunk: Buffer): void {
    if (this.tooLarge) return;
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.tooLarge = true;
      this.parts = [];
      return;
    }
    this.parts.push(chunk);
  }

  /** The body as text, or undefined when it outgrew the cap. */
  text(): string | undefined {
    if (this.tooLarge) return undefined;
    return this.parts.length === 1 ? this.parts[0].toString('utf8') : Buffer.concat(this.parts).toString('utf8');
  }
}

/** What to do with one SSE block when the parser rewrites the body: undefined keeps its bytes, null drops it, a Buffer replaces it. */
export type SseVerdict = Buffer | null | undefined;
export type SseEventHandler = (event: SseEvent, report: UsageReport) => SseVerdict | void;
/** Reads one complete non-stream JSON body (status < 400). */
export type JsonBodyHandler = (body: unknown, report: UsageReport) => void;
/** Reads one element of a stream of JSON texts (JSON-array elements, NDJSON lines). */
export type JsonTextHandler = (text: string, report: UsageReport) => void;

/** Something that cuts a byte stream into JSON texts: JsonArrayStream, an NDJSON line splitter. */
export interface JsonTextSplitter {
  push(chunk: Buffer): string[];
  end(): string[];
}

/**
 * A whole JSON body, parsed at the end. For status >= 400 it only looks for the error message;
 * otherwise an `error` member is recorded and the body is handed to the protocol's handler.
 */
export class JsonResponseParser implements ResponseParser {
  readonly rewritesBody = false;
  private readonly body = new BoundedBody();

  constructor(
    private readonly status: number,
    private readonly report: UsageReport,
    private readonly onBody: JsonBodyHandler,
  ) {}

  write(chunk: Buffer): Buffer {
    this.body.push(chunk);
    return chunk;
  }

  end(): { report: UsageReport; tail: Buffer } {
    const report = this.report;
    const text = this.body.text();
    if (text !== undefined) {
      const json = parseJson(text);
      if (this.status >= 400) {
        report.error = errorBodyMessage(json) ?? errorText(text, this.status);
      } else if (json !== undefined) {
        const error = errorMessageOf(json);
        if (error !== undefined) report.error = error;
        this.onBody(json, report);
      }
    } else if (this.status >= 400) {
      report.error = `HTTP ${this.status}`;
    }
    return { report, tail: EMPTY };
  }
}

/** A short message for a non-JSON error body (plain text is kept, HTML pages are not). */
function errorText(text: string, status: number): string {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.startsWith('<')) return `HTTP ${status}`;
  return clip(trimmed);
}

/**
 * An SSE body. Without rewriting it only observes: write() returns the chunk it was given and blocks
 * without data are never looked at. With rewriting, each complete block is forwarded, dropped or
 * replaced by the handler's verdict, and bytes of an incomplete block are held until it completes.
 */
export class SseResponseParser implements ResponseParser {
  private readonly sse: SseParser;

  constructor(
    private readonly report: UsageReport,
    private readonly onEvent: SseEventHandler,
    readonly rewritesBody: boolean = false,
  ) {
    this.sse = new SseParser({ keepRaw: rewritesBody });
  }

  write(chunk: Buffer): Buffer {
    const events = this.sse.push(chunk);
    if (!this.rewritesBody) {
      this.observe(events);
      return chunk;
    }
    return this.filter(events);
  }

  end(): { report: UsageReport; tail: Buffer } {
    const events = this.sse.end();
    if (!this.rewritesBody) {
      this.observe(events);
      return { report: this.report, tail: EMPTY };
    }
    return { report: this.report, tail: this.filter(events) };
  }

  private observe(events: SseEvent[]): void {
    for (const event of events) if (event.hasData) this.onEvent(event, this.report);
  }

  private filter(events: SseEvent[]): Buffer {
    if (events.length === 0) return EMPTY;
    const kept: Buffer[] = [];
    for (const event of events) {
      const verdict = event.hasData ? this.onEvent(event, this.report) : undefined;
      if (verdict === null) continue;
      kept.push(verdict ?? event.raw);
    }
    return kept.length === 1 ? kept[0] : kept.length === 0 ? EMPTY : Buffer.concat(kept);
  }
}

/** A stream of JSON texts (Gemini's JSON array, Ollama's NDJSON): observed only, never rewritten. */
export class JsonTextStreamParser implements ResponseParser {
  readonly rewritesBody = false;

  constructor(
    private readonly report: UsageReport,
    private readonly splitter: JsonTextSplitter,
    private readonly onText: JsonTextHandler,
  ) {}

  write(chunk: Buffer): Buffer {
    for (const text of this.splitter.push(chunk)) this.onText(text, this.report);
    return chunk;
  }

  end(): { report: UsageReport; tail: Buffer } {
    for (const text of this.splitter.end()) this.onText(text, this.report);
    return { report: this.report, tail: EMPTY };
  }
}

/** Path without a trailing slash, so `/v1/messages/` and `/v1/messages` match alike. */
export function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
