/** The cost estimate route's answer: what a call of a model costs, per request, day and month. */
import type { CostEstimate } from '../../shared';
import { nanosToUsd, priceUsage, resolveModel } from '../pricing';

/** The estimate for the query's model and token counts, or what is wrong with the query. */
export function estimateCost(q: URLSearchParams, pricesProviders: string[]): CostEstimate | string {
  const model = q.get('model')?.trim();
  if (!model) return 'model is required';
  const whole = (name: string, fallback?: number): number | string => {
    const raw = q.get(name);
    if (raw === null || raw.trim() === '') return fallback ?? `${name} is required`;
    return /^\d+$/.test(raw.trim()) ? Number(raw) : `${name} must be a whole number`;
  };
  const input = whole('inputTokens');
  const output = whole('outputTokens');
  const cached = whole('cachedTokens', 0);
  const perDay = whole('requestsPerDay', 1);
  for (const v of [input, output, cached, perDay]) if (typeof v === 'string') return v;
  if ((cached as number) > (input as number)) return 'cachedTokens cannot exceed inputTokens';
  const resolved = resolveModel(model, pricesProviders);
  if (!resolved) return `no price known for model "${model}"`;
  const quote = priceUsage(resolved.pricesProvider, resolved.model, {
    inputTokens: input as number,
    cacheReadTokens: cached as number,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: output as number,
    reasoningTokens: 0,
  });
  return {
    provider: resolved.pricesProvider,
    model: quote.matchedModel ?? resolved.model,
    perRequestUsd: nanosToUsd(quote.costNanos),
    perDayUsd: nanosToUsd(quote.costNanos * (perDay as number)),
    perMonthUsd: nanosToUsd(quote.costNanos * (perDay as number) * 30),
    source: quote.source,
  };
}
