/** The Responses API: bodies, HTTP streams (also read by WebSocket mode) and the free input-token count. */
import type { SseEvent } from '../../streams';
import type { TokenUsage, UsageReport } from '../usage';
import { asObject, asString, count, errorBodyMessage, errorMessageOf, isCount, makeUsage, parseJson, type JsonObject, type SseEventHandler } from '../common';
import { readStringMember, stringCharCounter } from '../jsonScan';
import { applyModelAndTier, applyUsage, stringLength } from './usageReport';

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

/** Responses API `usage`. */
export function responsesUsageFrom(usage: JsonObject): TokenUsage {
  const inputDetails = asObject(usage.input_tokens_details);
  const outputDetails = asObject(usage.output_tokens_details);
  return makeUsage({
    inputTokens: count(usage.input_tokens),
    // Perplexity's Responses API names the cache fields the Anthropic way.
    cacheReadTokens: isCount(inputDetails?.cached_tokens) ? inputDetails.cached_tokens : count(inputDetails?.cache_read_input_tokens),
    cacheWriteTokens: count(inputDetails?.cache_creation_input_tokens),
    outputTokens: count(usage.output_tokens),
    reasoningTokens: count(outputDetails?.reasoning_tokens),
  });
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

export function onResponsesBody(body: unknown, report: UsageReport): void {
  const obj = asObject(body);
  if (!obj) return;
  applyResponseObject(obj, report);
  report.outputChars += responsesOutputChars(obj);
}

export function onCountBody(_body: unknown, report: UsageReport): void {
  // A token count is not billed usage: nothing to record but that the answer came.
  report.completed = true;
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
