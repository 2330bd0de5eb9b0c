/**
 * The dashboard's rollup groups (provider × model × feature over a range) and what both the figures
 * and the leak hints read off them: the model's rates, the cache savings, the key shown for an
 * untagged value.
 */
import { baseRates, tokensToNanos, type PriceRow } from '../pricing/pricing';
import { DEFAULT_ROUTES } from '../providers/routes';
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
