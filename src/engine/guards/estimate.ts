/**
 * What an admitted call reserves until it settles: its input from the body size and its output from
 * the request's cap or the session's average so far, priced when a cost budget needs it.
 */
import { priceUsage } from '../pricing';
import type { Session } from './sessions';
import type { AdmitRequest } from './types';

const CHARS_PER_TOKEN = 4;

export function estimateCall(req: AdmitRequest, s: Session, withCost: boolean): { tokens: number; nanos: number } {
  const input = Math.ceil(req.body.length / CHARS_PER_TOKEN);
  const output = maxOutputTokens(req.json) ?? (s.requests ? Math.ceil(s.outputTokens / s.requests) : 0);
  let nanos = 0;
  if (withCost && req.pricesProvider && req.model) {
    try {
      nanos = priceUsage(req.pricesProvider, req.model, {
        inputTokens: input,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        cacheWrite1hTokens: 0,
        outputTokens: output,
        reasoningTokens: 0,
      }).costNanos;
    } catch {
      nanos = 0;
    }
  }
  return { tokens: input + output, nanos };
}

/** The output cap a request asks for, in whichever field its protocol uses. */
export function maxOutputTokens(json: unknown): number | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const b = json as Record<string, unknown>;
  const gen = b.generationConfig as Record<string, unknown> | undefined;
  const opts = b.options as Record<string, unknown> | undefined;
  for (const v of [b.max_completion_tokens, b.max_tokens, b.max_output_tokens, gen?.maxOutputTokens, opts?.num_predict]) {
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.min(Math.floor(v), 1_000_000);
  }
  return undefined;
}
