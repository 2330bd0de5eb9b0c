/**
 * Ollama: its native /api endpoints (NDJSON streams) and its OpenAI-compatible /v1 endpoints, which
 * are the OpenAI protocol's business. Local models have no price; the pricing layer records them
 * as free, so this adapter only reports usage.
 */
import type { EndpointCall, ProtocolAdapter, ProxiedRequest, ResponseParser, UsageReport } from './usage';
import {
  JsonResponseParser,
  JsonTextSplitter,
  JsonTextStreamParser,
  asObject,
  asString,
  count,
  errorMessageOf,
  isCount,
  makeUsage,
  newReport,
  normalisePath,
  parseJson,
} from './common';
import { readStringMember, stringCharCounter } from './jsonScan';
import { openaiAdapter } from './openai';

export type OllamaEndpoint = 'ollama.chat' | 'ollama.generate' | 'ollama.embed';

const NATIVE_ENDPOINTS: Readonly<Record<string, OllamaEndpoint>> = {
  '/api/chat': 'ollama.chat',
  '/api/generate': 'ollama.generate',
  '/api/embed': 'ollama.embed',
  '/api/embeddings': 'ollama.embed', // the older single-prompt endpoint
};

/** Generated text in stream lines: chat `message.content`/`message.thinking`, generate `response`/`thinking`. */
const TEXT_KEYS = ['content', 'thinking', 'response'] as const;
const DONE_TRUE = /"done"\s*:\s*true/;
const countText = stringCharCounter(TEXT_KEYS);

export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;

/** Splits NDJSON into lines (LF or CRLF), skipping blank ones; a line longer than the cap is skipped. */
export class NdjsonSplitter implements JsonTextSplitter {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private skipping = false;
  private oversizedCount = 0;

  constructor(private readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {}

  get oversizedLines(): number {
    return this.oversizedCount;
  }

  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let pos = 0;
    for (;;) {
      const lf = chunk.indexOf(0x0a, pos);
      if (lf === -1) break;
      this.emit(out, chunk, pos, lf);
      pos = lf + 1;
    }
    if (pos < chunk.length) {
      this.heldBytes += chunk.length - pos;
      if (!this.skipping && this.heldBytes > this.maxLineBytes) this.startSkipping();
      if (!this.skipping) this.held.push(chunk.subarray(pos));
    }
    return out;
  }

  end(): string[] {
    const out: string[] = [];
    if (this.heldBytes > 0) this.emit(out, Buffer.alloc(0), 0, 0);
    return out;
  }

  private startSkipping(): void {
    this.skipping = true;
    this.oversizedCount++;
    this.held = [];
  }

  private emit(out: string[], chunk: Buffer, start: number, end: number): void {
    if (!this.skipping && this.heldBytes + (end - start) > this.maxLineBytes) this.startSkipping();
    if (!this.skipping) {
      let line: string;
      if (this.held.length === 0) line = chunk.toString('utf8', start, end);
      else {
        this.held.push(chunk.subarray(start, end));
        line = Buffer.concat(this.held).toString('utf8');
      }
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (trimmed.trim().length > 0) out.push(trimmed);
    }
    this.held = [];
    this.heldBytes = 0;
    this.skipping = false;
  }
}

/** One native response object: a whole body, or the final (`done: true`) or an error line of a stream. */
function applyResponse(json: unknown, report: UsageReport): void {
  const body = asObject(json);
  if (!body) return;
  const model = asString(body.model);
  if (model !== undefined) report.model = model;
  const error = errorMessageOf(body);
  if (error !== undefined) report.error = error;
  if (body.done === true) report.completed = true;
  // prompt_eval_count is left out when the whole prompt came from Ollama's cache.
  if (isCount(body.prompt_eval_count) || isCount(body.eval_count)) {
    report.usage = makeUsage({ inputTokens: count(body.prompt_eval_count), outputTokens: count(body.eval_count) });
  }
}

function onBody(json: unknown, report: UsageReport): void {
  applyResponse(json, report);
  const body = asObject(json);
  if (!body) return;
  const message = asObject(body.message);
  for (const text of [body.response, body.thinking, message?.content, message?.thinking]) {
    if (typeof text === 'string') report.outputChars += text.length;
  }
}

function onEmbedBody(json: unknown, report: UsageReport): void {
  applyResponse(json, report);
  // Embedding answers have no `done`: a whole body is the end.
  report.completed = report.error === undefined;
}

function onStreamLine(line: string, report: UsageReport): void {
  report.outputChars += countText(line);
  if (DONE_TRUE.test(line) || line.includes('"error"')) {
    applyResponse(parseJson(line), report);
  } else if (report.model === undefined) {
    const model = readStringMember(line, 'model');
    if (model !== undefined) report.model = model;
  }
}

function recogniseNative(req: ProxiedRequest): EndpointCall | undefined {
  if (req.method.toUpperCase() !== 'POST') return undefined;
  const path = normalisePath(req.path);
  const endpoint = Object.prototype.hasOwnProperty.call(NATIVE_ENDPOINTS, path) ? NATIVE_ENDPOINTS[path] : undefined;
  if (endpoint === undefined) return undefined;
  const body = asObject(req.body);
  const requestModel = asString(body?.model);
  // Ollama streams unless told not to.
  const stream = endpoint !== 'ollama.embed' && body?.stream !== false;

  const createResponseParser = (status: number, contentType: string): ResponseParser => {
    const report = newReport(requestModel);
    if (endpoint === 'ollama.embed') return new JsonResponseParser(status, report, onEmbedBody);
    const type = contentType.toLowerCase();
    const ndjson = status < 400 && (type.includes('ndjson') || (stream && !type.includes('json')));
    return ndjson ? new JsonTextStreamParser(report, new NdjsonSplitter(), onStreamLine) : new JsonResponseParser(status, report, onBody);
  };

  const call: EndpointCall = { endpoint, stream, free: false, createResponseParser };
  if (requestModel !== undefined) call.requestModel = requestModel;
  return call;
}

function recognise(req: ProxiedRequest): EndpointCall | undefined {
  if (normalisePath(req.path).startsWith('/v1/')) return openaiAdapter.recognise(req);
  return recogniseNative(req);
}

export const ollamaAdapter: ProtocolAdapter = { protocol: 'ollama', recognise };
