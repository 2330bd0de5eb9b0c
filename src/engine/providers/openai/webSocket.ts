/**
 * The OpenAI WebSocket transports' usage readers: the Responses API's WebSocket mode (the same events
 * as its HTTP stream, so the HTTP stream's reader is reused) and the Realtime API (`response.done`
 * with text, audio and cached token details). Each reads one response's server events into its report.
 */
import type { TokenUsage, UsageReport } from '../usage';
import { asObject, asString, count, errorMessageOf, JsonObject, makeUsage, parseJson } from '../common';
import { stringCharCounter } from '../jsonScan';
import { RESPONSES_TERMINAL_EVENTS, RESPONSES_TEXT_DELTAS, responsesStreamHandler } from './responses';

/** Reads one server event of a response; returns true at the event that ends the response. */
export type ResponseEventReader = (type: string, text: string, report: UsageReport) => boolean;

/** One wire protocol over a WebSocket: which events start, carry and end a response. */
export interface SocketProtocol {
  /** Endpoint name recorded with each response. */
  endpoint: string;
  /** True for server events the reader needs; the rest are relayed unread. */
  reads(type: string): boolean;
  newReader(): ResponseEventReader;
  /** The model a client `response.create` event asks for, if it names one. */
  requestedModel(event: JsonObject): string | undefined;
  /** True for a response.create that only prepares state and generates nothing (not a turn of its own). */
  isWarmup(event: JsonObject): boolean;
  /** True when an `error` event that names no client event answers the oldest response.create. */
  errorsAnswerCreate: boolean;
}

const EMPTY = Buffer.alloc(0);

export const responsesSocketProtocol: SocketProtocol = {
  endpoint: 'responses',
  reads: (type) => (type.endsWith('.delta') ? RESPONSES_TEXT_DELTAS.has(type) : type === 'response.created' || RESPONSES_TERMINAL_EVENTS.has(type)),
  newReader() {
    const handler = responsesStreamHandler();
    return (type, text, report) => {
      handler({ event: type, data: text, hasData: true, raw: EMPTY }, report);
      return RESPONSES_TERMINAL_EVENTS.has(type);
    };
  },
  // WebSocket mode sends the create body's fields beside `type`; older clients nest them under `response`.
  requestedModel: (event) => asString(event.model) ?? asString(asObject(event.response)?.model),
  // `generate: false` warms the connection up for the next turn (Codex sends one per session).
  isWarmup: (event) => event.generate === false,
  // The mode runs one response at a time: an error answers the response.create in flight.
  errorsAnswerCreate: true,
};

/** Realtime text deltas (GA and beta names), transcripts of audio output included. */
const REALTIME_TEXT_DELTAS: ReadonlySet<string> = new Set([
  'response.output_text.delta',
  'response.text.delta',
  'response.output_audio_transcript.delta',
  'response.audio_transcript.delta',
  'response.function_call_arguments.delta',
]);

export const realtimeSocketProtocol: SocketProtocol = {
  endpoint: 'realtime',
  reads: (type) => type === 'response.done' || REALTIME_TEXT_DELTAS.has(type),
  newReader() {
    const countDelta = stringCharCounter(['delta']);
    return (type, text, report) => {
      if (type !== 'response.done') {
        report.outputChars += countDelta(text);
        return false;
      }
      const response = asObject(asObject(parseJson(text))?.response);
      if (response) applyRealtimeResponse(response, report);
      report.completed = true;
      return true;
    };
  },
  // The Realtime API takes its model from the URL or the session, not from response.create.
  requestedModel: () => undefined,
  isWarmup: () => false,
  errorsAnswerCreate: false,
};

/** The model a Realtime `session.created` / `session.updated` event names. */
export function realtimeSessionModel(text: string): string | undefined {
  return asString(asObject(asObject(parseJson(text))?.session)?.model);
}

function applyRealtimeResponse(response: JsonObject, report: UsageReport): void {
  const model = asString(response.model);
  if (model !== undefined) report.model = model;
  const usage = asObject(response.usage);
  if (usage) report.usage = realtimeUsageFrom(usage);
  const status = asString(response.status);
  const details = asObject(response.status_details);
  if (status === 'failed') report.error = errorMessageOf(details) ?? 'response failed';
  else if (status === 'incomplete') report.error = `incomplete: ${asString(details?.reason) ?? 'unknown reason'}`;
  else if (status === 'cancelled') report.error = `response cancelled${details?.reason ? ` (${String(details.reason)})` : ''}`;
}

/** Realtime `response.usage`: totals with text/audio (and cached) splits; audio is priced apart. */
export function realtimeUsageFrom(usage: JsonObject): TokenUsage {
  const input = asObject(usage.input_token_details);
  const cached = asObject(input?.cached_tokens_details);
  const output = asObject(usage.output_token_details);
  const tokens = makeUsage({ inputTokens: count(usage.input_tokens), cacheReadTokens: count(input?.cached_tokens), outputTokens: count(usage.output_tokens) });
  // Clamped like makeUsage's subsets, so the ⊆ relations hold whatever the numbers say.
  const audioIn = Math.min(count(input?.audio_tokens), tokens.inputTokens);
  const audioCached = Math.min(count(cached?.audio_tokens), audioIn, tokens.cacheReadTokens);
  const audioOut = Math.min(count(output?.audio_tokens), tokens.outputTokens);
  if (audioIn) tokens.audioInputTokens = audioIn;
  if (audioCached) tokens.audioCacheReadTokens = audioCached;
  if (audioOut) tokens.audioOutputTokens = audioOut;
  return tokens;
}
