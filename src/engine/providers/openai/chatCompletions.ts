/**
 * Chat Completions, and the APIs that share its usage shape: legacy Completions and Embeddings.
 */
import type { SseEvent } from '../../streams';
import type { TokenUsage, UsageReport } from '../usage';
import { asObject, count, errorMessageOf, isCount, makeUsage, parseJson, type JsonObject, type SseEventHandler, type SseVerdict } from '../common';
import { hasObjectMember, readStringMember, stringCharCounter } from '../jsonScan';
import { removeNullUsageMember } from './streamUsage';
import { applyModelAndTier, applyUsage, stringLength } from './usageReport';

/** Generated text in chat completion chunks and messages (tool call arguments are generated too). */
export const CHAT_TEXT_KEYS = ['content', 'reasoning_content', 'reasoning', 'refusal', 'arguments'] as const;
export const COMPLETION_TEXT_KEYS = ['text'] as const;

/** Chat Completions / legacy Completions / Embeddings `usage`. */
export function chatUsageFrom(usage: JsonObject): TokenUsage {
  const promptTokens = count(usage.prompt_tokens);
  const completionTokens = count(usage.completion_tokens);
  const promptDetails = asObject(usage.prompt_tokens_details);
  const completionDetails = asObject(usage.completion_tokens_details);
  // DeepSeek reports cache hits beside the details object OpenAI uses.
  const cacheReadTokens = isCount(promptDetails?.cached_tokens) ? promptDetails.cached_tokens : count(usage.prompt_cache_hit_tokens);
  // Perplexity puts reasoning_tokens at the top level.
  const reasoningTokens = isCount(completionDetails?.reasoning_tokens) ? completionDetails.reasoning_tokens : count(usage.reasoning_tokens);
  // OpenAI counts reasoning inside completion_tokens; xAI (and Perplexity) report it beside, which
  // shows in total_tokens. Output must include reasoning either way.
  const reasoningBeside = reasoningTokens > 0 && isCount(usage.total_tokens) && usage.total_tokens === promptTokens + completionTokens + reasoningTokens;
  return makeUsage({
    inputTokens: promptTokens,
    cacheReadTokens,
    outputTokens: reasoningBeside ? completionTokens + reasoningTokens : completionTokens,
    reasoningTokens,
  });
}

/** Usage of a chat chunk or body: `usage`, or Groq's `x_groq.usage`. */
function chatUsageMember(body: JsonObject): JsonObject | undefined {
  return asObject(body.usage) ?? asObject(asObject(body.x_groq)?.usage);
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
    chars += stringLength(message.content) + stringLength(message.reasoning_content) + stringLength(message.reasoning) + stringLength(message.refusal);
    const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
    for (const call of toolCalls) chars += stringLength(asObject(asObject(call)?.function)?.arguments);
  }
  return chars;
}

export function onChatBody(body: unknown, report: UsageReport): void {
  const obj = asObject(body);
  if (!obj) return;
  applyModelAndTier(report, obj);
  const usage = chatUsageMember(obj);
  if (usage) applyUsage(report, usage, chatUsageFrom);
  report.outputChars += chatBodyChars(obj);
  report.completed = report.error === undefined;
}

/**
 * Chat Completions (and legacy Completions) chunks. Usage is taken from the last chunk that carries
 * it, never summed. With `hideUsage` the handler returns verdicts that undo what include_usage added.
 */
export function chatStreamHandler(textKeys: readonly string[], hideUsage: boolean): SseEventHandler {
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
