/** The Gemini API (generativelanguage.googleapis.com) protocol. */
import { JsonArrayStream, type SseEvent } from '../streams';
import type { EndpointCall, ProtocolAdapter, ProxiedRequest, ResponseParser, TokenUsage, UsageReport } from './usage';
import {
  JsonObject,
  JsonResponseParser,
  JsonTextStreamParser,
  SseResponseParser,
  asObject,
  asString,
  count,
  errorMessageOf,
  makeUsage,
  newReport,
  normalisePath,
  parseJson,
  readAsEventStream,
} from './common';

export type GeminiEndpoint = 'generateContent' | 'streamGenerateContent' | 'countTokens' | 'embedContent';

const METHOD_ENDPOINTS: Readonly<Record<string, GeminiEndpoint>> = {
  generateContent: 'generateContent',
  streamGenerateContent: 'streamGenerateContent',
  countTokens: 'countTokens',
  embedContent: 'embedContent',
  batchEmbedContents: 'embedContent',
};

/** `…/models/{model}:{method}` or `…/tunedModels/{model}:{method}`. */
const MODEL_METHOD_PATH = /\/(?:models|tunedModels)\/([^/:]+):([A-Za-z]+)$/;

export function geminiEndpointOf(path: string): { endpoint: GeminiEndpoint; model: string } | undefined {
  const match = MODEL_METHOD_PATH.exec(normalisePath(path));
  if (!match) return undefined;
  const endpoint = Object.prototype.hasOwnProperty.call(METHOD_ENDPOINTS, match[2]) ? METHOD_ENDPOINTS[match[2]] : undefined;
  if (endpoint === undefined) return undefined;
  let model = match[1];
  try {
    model = decodeURIComponent(model);
  } catch {
    // A malformed escape: keep the name as sent.
  }
  return { endpoint, model };
}

/** Gemini counts thoughts BESIDE candidates, and the cache and tool-use prompt inside/beside the prompt. */
export function geminiUsageFrom(metadata: JsonObject): TokenUsage {
  const thoughtsTokens = count(metadata.thoughtsTokenCount);
  return makeUsage({
    inputTokens: count(metadata.promptTokenCount) + count(metadata.toolUsePromptTokenCount),
    cacheReadTokens: count(metadata.cachedContentTokenCount),
    outputTokens: count(metadata.candidatesTokenCount) + thoughtsTokens,
    reasoningTokens: thoughtsTokens,
  });
}

/**
 * One GenerateContentResponse: a whole body or one stream chunk. Chunks carry cumulative
 * usageMetadata, so the last one seen wins.
 */
function applyResponse(json: unknown, report: UsageReport): void {
  const response = asObject(json);
  if (!response) return;
  const error = errorMessageOf(response);
  if (error !== undefined) report.error = error;
  const metadata = asObject(response.usageMetadata);
  if (metadata) report.usage = geminiUsageFrom(metadata);
  const modelVersion = asString(response.modelVersion);
  if (modelVersion !== undefined) report.model = modelVersion;
  if (asString(asObject(response.promptFeedback)?.blockReason) !== undefined) report.completed = true;
  const candidates = Array.isArray(response.candidates) ? response.candidates : [];
  for (const candidate of candidates) {
    const c = asObject(candidate);
    if (!c) continue;
    if (asString(c.finishReason) !== undefined) report.completed = true;
    const parts = asObject(c.content)?.parts;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) {
      const text = asObject(part)?.text;
      if (typeof text === 'string') report.outputChars += text.length;
    }
  }
}

/** A non-stream body. A JSON array is a whole streamGenerateContent answer read at once. */
function onGenerateBody(json: unknown, report: UsageReport): void {
  if (Array.isArray(json)) for (const chunk of json) applyResponse(chunk, report);
  else applyResponse(json, report);
}

function onOtherBody(json: unknown, report: UsageReport): void {
  // countTokens / embedContent answers have no finish marker: a whole body is the end.
  applyResponse(json, report);
  report.completed = report.error === undefined;
}

function onStreamText(text: string, report: UsageReport): void {
  // Every chunk can carry usage and a finish reason, so every chunk is parsed.
  applyResponse(parseJson(text), report);
}

function onSseEvent(event: SseEvent, report: UsageReport): undefined {
  onStreamText(event.data, report);
  return undefined;
}

function recognise(req: ProxiedRequest): EndpointCall | undefined {
  if (req.method.toUpperCase() !== 'POST') return undefined;
  const found = geminiEndpointOf(req.path);
  if (!found) return undefined;
  const { endpoint, model } = found;
  const stream = endpoint === 'streamGenerateContent';
  const sseRequested = req.query.get('alt') === 'sse';

  const createResponseParser = (status: number, contentType: string): ResponseParser => {
    const report = newReport(model);
    if (status >= 400 || !stream) {
      return new JsonResponseParser(status, report, endpoint === 'generateContent' ? onGenerateBody : onOtherBody);
    }
    if (readAsEventStream(status, contentType, sseRequested)) {
      return new SseResponseParser(report, onSseEvent);
    }
    return new JsonTextStreamParser(report, new JsonArrayStream(), onStreamText);
  };

  return { endpoint, requestModel: model, stream, free: endpoint === 'countTokens', createResponseParser };
}

export const geminiAdapter: ProtocolAdapter = { protocol: 'gemini', recognise };
