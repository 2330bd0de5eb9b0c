/**
 * The dashboard's rollup groups (provider × model × feature over a range) and what both the figures
 * and the leak hints read off them: the model's rates, the cache savings, the key shown for an
 * untagged value.
 */
import { baseRates, nanosToUsd, tokensToNanos, type PriceRow, type UsageTotals } from '../pricing';
import { DEFAULT_ROUTES } from '../providers';
import { UNTAGGED } from './queries';

export const pricesProviderOf = new Map(DEFAULT_ROUTES.map((r) => [r.id, r.pricesProvider]));

export interface Group {
  provider: string;
  model: string;
  feature: string;
  requests: number;
  nanos: number;
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  unpriced: number;
  failed: number;
  failedNanos: number;
  longUncached: number;
  longUncachedMin: number | null;
}

export const key = (v: unknown) => (v === null || v === '' ? UNTAGGED : String(v));

/** Cache-read tokens priced at the model's normal input rate, minus at its cached rate. */
export function cacheSavingsNanos(g: Group): number {
  if (!g.cacheRead) return 0;
  const rates = ratesOf(g.provider, g.model);
  if (!rates?.inputPerMTok || rates.cachedInputPerMTok === undefined) return 0;
  return tokensToNanos(g.cacheRead, rates.inputPerMTok) - tokensToNanos(g.cacheRead, rates.cachedInputPerMTok);
}

/** A group's usage as what-if pricing reads it. */
export function usageOf(g: Group): UsageTotals {
  return {
    requests: g.requests,
    inputTokens: g.input,
    cacheReadTokens: g.cacheRead,
    cacheWriteTokens: g.cacheWrite,
    outputTokens: g.output,
    reasoningTokens: g.reasoning,
  };
}

export function ratesOf(provider: string, model: string): PriceRow | undefined {
  const pricesProvider = pricesProviderOf.get(provider);
  if (!pricesProvider || !model) return undefined;
  return baseRates(pricesProvider, model);
}

export function sum<T>(items: T[], f: (t: T) => number): number {
  let s = 0;
  for (const i of items) s += f(i);
  return s;
}

/** Per feature key: each day's requests and input tokens (for the context-growth hint). */
export type PromptSizesByDay = Map<string, Array<{ day: string; requests: number; input: number }>>;

/**
 * One pass over the range's rollup rows (day, provider, model, feature, then the sums, reasoning last), in
 * primary-key order (no sort), feeds most figures: provider × model × feature groups, daily stacks
 * by provider (one value per day of `days`), and per-day prompt sizes.
 */
export function groupRollupRows(rows: unknown[][], days: string[]): { groups: Group[]; stacks: Map<string, number[]>; perDay: PromptSizesByDay } {
  const dayIndex = new Map(days.map((d, i) => [d, i]));
  const byGroup = new Map<string, Group>();
  const stacks = new Map<string, number[]>();
  const perDay: PromptSizesByDay = new Map();
  for (const v of rows) {
    const [day, provider, model, feature] = [String(v[0]), String(v[1]), String(v[2]), String(v[3])];
    const k = `${provider}\u0000${model}\u0000${feature}`;
    let g = byGroup.get(k);
    if (!g)
      byGroup.set(
        k,
        (g = {
          provider,
          model,
          feature,
          requests: 0,
          nanos: 0,
          input: 0,
          cacheRead: 0,
          cacheWrite: 0,
          output: 0,
          reasoning: 0,
          unpriced: 0,
          failed: 0,
          failedNanos: 0,
          longUncached: 0,
          longUncachedMin: null,
        }),
      );
    g.requests += n(v[4]);
    g.nanos += n(v[5]);
    g.input += n(v[6]);
    g.cacheRead += n(v[7]);
    g.cacheWrite += n(v[8]);
    g.output += n(v[9]);
    g.unpriced += n(v[10]);
    g.failed += n(v[11]);
    g.failedNanos += n(v[12]);
    g.longUncached += n(v[13]);
    g.reasoning += n(v[15]);
    if (v[14] !== null) g.longUncachedMin = g.longUncachedMin === null ? n(v[14]) : Math.min(g.longUncachedMin, n(v[14]));
    const i = dayIndex.get(day);
    if (i !== undefined) {
      let row = stacks.get(provider);
      if (!row) stacks.set(provider, (row = days.map(() => 0)));
      row[i] += n(v[5]);
    }
    const list = perDay.get(k) ?? [];
    list.push({ day, requests: n(v[4]), input: n(v[6]) });
    perDay.set(k, list);
  }
  return { groups: [...byGroup.values()], stacks, perDay };
}

/** Spend by model, by provider and by feature, most first, with their shares of `totalNanos`. */
export function breakdowns(groups: Group[], totalNanos: number) {
  const share = (nanos: number) => (totalNanos ? nanos / totalNanos : 0);
  const rollUp = <K extends string>(keyOf: (g: Group) => K) => {
    const m = new Map<K, { nanos: number; requests: number; unpriced: number; input: number; output: number; provider: string }>();
    for (const g of groups) {
      const k = keyOf(g);
      const acc = m.get(k) ?? { nanos: 0, requests: 0, unpriced: 0, input: 0, output: 0, provider: g.provider };
      acc.nanos += g.nanos;
      acc.requests += g.requests;
      acc.unpriced += g.unpriced;
      acc.input += g.input;
      acc.output += g.output;
      m.set(k, acc);
    }
    return [...m.entries()].sort(([ka, a], [kb, b]) => b.nanos - a.nanos || b.requests - a.requests || ka.localeCompare(kb));
  };
  return {
    byModel: rollUp((g) => `${g.provider}\u0000${g.model}`).map(([k, a]) => ({
      key: key(k.split('\u0000')[1]),
      provider: a.provider,
      costUsd: nanosToUsd(a.nanos),
      requests: a.requests,
      share: share(a.nanos),
      unpricedRequests: a.unpriced,
    })),
    byProvider: rollUp((g) => g.provider).map(([k, a]) => ({ key: k, costUsd: nanosToUsd(a.nanos), requests: a.requests, share: share(a.nanos) })),
    byFeature: rollUp((g) => g.feature).map(([k, a]) => ({
      key: key(k),
      costUsd: nanosToUsd(a.nanos),
      requests: a.requests,
      share: share(a.nanos),
      costPerRequestUsd: a.requests ? nanosToUsd(a.nanos / a.requests) : 0,
      inputTokens: a.input,
      outputTokens: a.output,
    })),
  };
}

function n(v: unknown): number {
  return Number(v ?? 0);
}
