/**
 * Leak hints: where the money in a range could have been saved (uncached repeated prompts, a
 * cheaper model for short answers, output-heavy features, growing context, failing calls), each
 * with the dollar figure it names, computed from the same rollup groups as the dashboard's figures.
 */
import { type LeakHint, formatUsd } from '../../shared';
import { nanosToUsd, resolveWhatIfModel, tokensToNanos, whatIfNanos, type PriceRow } from '../pricing';
import { key, pricesProviderOf, ratesOf, sum, usageOf, type Group, type PromptSizesByDay } from './rollupGroups';
import { cheaperModels } from './whatIfQueries';

/** Thresholds of the leak hints. */
export const LEAK_RULES = {
  /** Repeated long prompts: at least this many uncached long prompts in a feature. */
  uncachedMinRepeats: 3,
  /** Output-heavy: output tokens are at least this share of the feature's cost. */
  outputHeavyShare: 0.6,
  /** Cheaper model: average output per request below this many tokens. */
  shortOutputTokens: 500,
  /** Context growth: the last day's average prompt at least this multiple of the first day's. */
  contextGrowthFactor: 1.5,
  /** Failures: at least this share of requests failed (and at least minFailures of them). */
  failureRate: 0.05,
  minFailures: 3,
  minRequests: 3,
  /** Shown: the biggest few of each kind, and no more than `shown` in all. */
  perKind: 3,
  shown: 10,
};

/** The hints of a range, the biggest few of each kind. */
export function leakHintsOf(groups: Group[], totalRequests: number, perDay: PromptSizesByDay): LeakHint[] {
  return topHints([...leakHints(groups, totalRequests, perDay)]);
}

function* leakHints(groups: Group[], totalRequests: number, perDay: PromptSizesByDay): Generator<LeakHint> {
  for (const g of groups) {
    const rates = ratesOf(g.provider, g.model);
    if (!rates) continue;
    const uncached = uncachedPromptsHint(g, rates);
    if (uncached) yield uncached;
    const cheaper = cheaperModelHint(g, rates);
    if (cheaper) yield cheaper;
  }
  yield* outputHeavyHints(groups);
  yield* contextGrowthHints(perDay);
  const failures = failuresHint(groups, totalRequests);
  if (failures) yield failures;
}

const usd = (nanos: number) => nanosToUsd(Math.round(nanos));
// Written as the dashboard writes money, so a hint's title and figure agree.
const money = (nanos: number) => formatUsd(usd(nanos), 'detail');

/**
 * Repeated long prompts with no cache reads: the shortest of them is a lower bound of what
 * each repeat could have read from the cache instead.
 */
function uncachedPromptsHint(g: Group, rates: PriceRow): LeakHint | undefined {
  if (g.longUncached < LEAK_RULES.uncachedMinRepeats || !g.longUncachedMin || rates.cachedInputPerMTok === undefined || !rates.inputPerMTok) return undefined;
  const prefix = g.longUncachedMin;
  const saved = (g.longUncached - 1) * tokensToNanos(prefix, rates.inputPerMTok - rates.cachedInputPerMTok);
  const writeSurcharge =
    rates.cacheWritePerMTok && rates.cacheWritePerMTok > rates.inputPerMTok ? tokensToNanos(prefix, rates.cacheWritePerMTok - rates.inputPerMTok) : 0;
  const nanos = saved - writeSurcharge;
  if (!(nanos > 0)) return undefined;
  return {
    kind: 'uncached-prompts',
    feature: key(g.feature),
    model: g.model,
    title: `Caching would save ${money(nanos)} on ${key(g.feature)}`,
    detail: `${g.longUncached} prompts of ${prefix.toLocaleString('en-US')}+ tokens to ${g.model} read nothing from the cache; caching a ${prefix.toLocaleString('en-US')}-token prefix would bill the repeats at $${rates.cachedInputPerMTok}/M instead of $${rates.inputPerMTok}/M.`,
    usd: usd(nanos),
  };
}

/** A cheaper model of the same family, for short answers: the same tokens priced by what-if pricing. */
function cheaperModelHint(g: Group, rates: PriceRow): LeakHint | undefined {
  const pricesProvider = pricesProviderOf.get(g.provider);
  const cheaper = pricesProvider ? cheaperModels[pricesProvider]?.[rates.model] : undefined;
  if (!pricesProvider || !cheaper || g.requests < LEAK_RULES.minRequests || g.output / g.requests >= LEAK_RULES.shortOutputTokens || g.unpriced !== 0)
    return undefined;
  const alt = resolveWhatIfModel(cheaper, [pricesProvider]);
  const at = alt && whatIfNanos(usageOf(g), alt);
  if (!at || !('nanos' in at)) return undefined;
  const altNanos = at.nanos;
  const nanos = g.nanos - altNanos;
  if (!(nanos > 0)) return undefined;
  return {
    kind: 'cheaper-model',
    feature: key(g.feature),
    model: g.model,
    title: `${cheaper} would save ${money(nanos)} on ${key(g.feature)}`,
    detail: `${g.requests} requests to ${g.model} averaged ${Math.round(g.output / g.requests)} output tokens and cost ${money(g.nanos)}; the same tokens on ${cheaper} cost ${money(altNanos)} at list price.`,
    usd: usd(nanos),
  };
}

/** Output-heavy features: output tokens are most of the feature's cost. */
function* outputHeavyHints(groups: Group[]): Generator<LeakHint> {
  const features = new Map<string, { nanos: number; outputNanos: number; requests: number; output: number }>();
  for (const g of groups) {
    const f = features.get(g.feature) ?? { nanos: 0, outputNanos: 0, requests: 0, output: 0 };
    f.nanos += g.nanos;
    f.requests += g.requests;
    f.output += g.output;
    f.outputNanos += tokensToNanos(g.output, ratesOf(g.provider, g.model)?.outputPerMTok);
    features.set(g.feature, f);
  }
  for (const [feature, f] of features) {
    if (f.requests < LEAK_RULES.minRequests || f.nanos <= 0 || f.outputNanos < LEAK_RULES.outputHeavyShare * f.nanos) continue;
    yield {
      kind: 'output-heavy',
      feature: key(feature),
      title: `Output costs ${money(f.outputNanos)} of ${money(f.nanos)} on ${key(feature)}`,
      detail: `${Math.round((100 * f.outputNanos) / f.nanos)}% of this feature's spend is output (${Math.round(f.output / f.requests)} tokens per request); a lower max_tokens or a request for terser answers cuts it.`,
      usd: usd(f.outputNanos),
    };
  }
}

/** Context growth: the average prompt of a feature on the last day vs the first day of the range. */
function* contextGrowthHints(perDay: PromptSizesByDay): Generator<LeakHint> {
  for (const [k, list] of perDay) {
    if (list.length < 2) continue;
    const [provider, model, feature] = k.split('\u0000');
    const first = list[0];
    const last = list[list.length - 1];
    if (!first.requests || !last.requests || !first.input) continue;
    const firstAvg = first.input / first.requests;
    const lastAvg = last.input / last.requests;
    if (lastAvg < LEAK_RULES.contextGrowthFactor * firstAvg) continue;
    const extraTokens = Math.round(last.input - firstAvg * last.requests);
    const nanos = tokensToNanos(extraTokens, ratesOf(provider, model)?.inputPerMTok);
    if (nanos <= 0) continue;
    yield {
      kind: 'context-growth',
      feature: key(feature),
      model,
      title: `Prompts on ${key(feature)} grew ${(lastAvg / firstAvg).toFixed(1)}x: ${money(nanos)} extra on ${last.day}`,
      detail: `Average prompt to ${model} went from ${Math.round(firstAvg).toLocaleString('en-US')} tokens (${first.day}) to ${Math.round(lastAvg).toLocaleString('en-US')} (${last.day}); at the first day's size the ${last.requests} requests of ${last.day} would have cost ${money(nanos)} less.`,
      usd: usd(nanos),
    };
  }
}

/** Errors and retries: what failed requests cost, and how many there were. */
function failuresHint(groups: Group[], totalRequests: number): LeakHint | undefined {
  const failed = sum(groups, (g) => g.failed);
  const failedNanos = sum(groups, (g) => g.failedNanos);
  if (failed < LEAK_RULES.minFailures || !totalRequests || failed / totalRequests < LEAK_RULES.failureRate) return undefined;
  return {
    kind: 'failures',
    title: `${Math.round((100 * failed) / totalRequests)}% of requests failed: ${money(failedNanos)} spent on them`,
    detail: `${failed} of ${totalRequests} requests got an error or no answer (each retry resends the whole prompt); failed requests that were billed cost ${money(failedNanos)}.`,
    usd: usd(failedNanos),
  };
}

/** The biggest hints first, a few of each kind, so one noisy kind cannot crowd out the others. */
function topHints(hints: LeakHint[]): LeakHint[] {
  hints.sort((a, b) => b.usd - a.usd || a.title.localeCompare(b.title));
  const perKind = new Map<string, number>();
  return hints
    .filter((h) => {
      const n = (perKind.get(h.kind) ?? 0) + 1;
      perKind.set(h.kind, n);
      return n <= LEAK_RULES.perKind;
    })
    .slice(0, LEAK_RULES.shown);
}
