/**
 * Every figure the dashboard shows, for one filter, computed from the daily_rollup table (see
 * rollup.ts) and, for single requests, from indexed look-ups into `requests`. Pure: a sql.js
 * Database in, plain JSON-able data out; no other state, so it can run wherever the database lives.
 */
import type { Database } from 'sql.js';
import cheaperModelsFile from '../../../pricing/cheaper-models.json';
import type { Budget, DashboardData, DashboardFilter, DashboardTiles, LeakHint, RequestRow, SessionRow } from '../../shared/dashboardTypes';
import { baseRates, nanosToUsd, tokensToNanos, type CostStatus, type PriceRow } from '../pricing/pricing';
import { addLocalDays, localDay, localDayStart, localMonthStart } from '../../shared/calendar';
import { formatUsd } from '../../shared/format';
import { UNTAGGED } from './queries';
import { DEFAULT_ROUTES } from '../providers/routes';

export type * from '../../shared/dashboardTypes';

export const ANOMALY_FACTOR = 3;
export const TOP_SESSIONS = 5;
export const TOP_REQUESTS = 10;
export const RECENT_REQUESTS = 20;
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

const cheaperModels = cheaperModelsFile.providers as Record<string, Record<string, string>>;
const pricesProviderOf = new Map(DEFAULT_ROUTES.map((r) => [r.id, r.pricesProvider]));

/** The local days from `since` to `until` (exclusive), in order. */
export function daysOf(since: number, until: number): string[] {
  const days: string[] = [];
  for (let t = localDayStart(since); t < until; t = addLocalDays(t, 1)) days.push(localDay(t));
  return days;
}

interface Group {
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

const key = (v: unknown) => (v === null || v === '' ? UNTAGGED : String(v));

export class DashboardQuery {
  constructor(private readonly db: Database) {}

  /** Everything the dashboard shows for `filter`, as of `now`. */
  data(filter: DashboardFilter, budget: Budget = { dailyUsd: 0, monthlyUsd: 0 }, now = Date.now()): DashboardData {
    const days = daysOf(filter.since, filter.until);
    const firstDay = days[0] ?? localDay(filter.since);
    const lastDay = days[days.length - 1] ?? firstDay;
    const ws = filter.workspace !== undefined && filter.workspace !== null;
    const wsClause = ws ? ' AND workspace = ?' : '';
    const wsParam = ws ? [filter.workspace === UNTAGGED ? '' : filter.workspace!] : [];
    const range = () => ({ where: `WHERE day >= ? AND day <= ?${wsClause}`, params: [firstDay, lastDay, ...wsParam] });

    // One pass over the range's rollup rows, in primary-key order (no sort), feeds most figures:
    // provider × model × feature groups, daily stacks by provider, and per-day prompt sizes.
    const r = range();
    const dayIndex = new Map(days.map((d, i) => [d, i]));
    const byGroup = new Map<string, Group>();
    const stacks = new Map<string, number[]>();
    const perDay = new Map<string, Array<{ day: string; requests: number; input: number }>>();
    for (const v of this.rows(
      `SELECT day, provider, model, feature, SUM(requests), SUM(cost_nanos), SUM(input_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
        SUM(output_tokens), SUM(unpriced_requests), SUM(failed_requests), SUM(failed_cost_nanos), SUM(long_uncached_requests), MIN(long_uncached_min_input)
       FROM daily_rollup ${r.where} GROUP BY day, provider, model, feature`,
      r.params,
    )) {
      const [day, provider, model, feature] = [String(v[0]), String(v[1]), String(v[2]), String(v[3])];
      const k = `${provider}\u0000${model}\u0000${feature}`;
      let g = byGroup.get(k);
      if (!g) byGroup.set(k, (g = { provider, model, feature, requests: 0, nanos: 0, input: 0, cacheRead: 0, cacheWrite: 0, output: 0, unpriced: 0, failed: 0, failedNanos: 0, longUncached: 0, longUncachedMin: null }));
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
    const groups = [...byGroup.values()];
    const totalNanos = sum(groups, (g) => g.nanos);
    const totalRequests = sum(groups, (g) => g.requests);

    const sessionTotals = this.rows(`SELECT COUNT(DISTINCT session), COALESCE(SUM(cost_nanos), 0) FROM session_rollup ${r.where}`, r.params)[0] ?? [0, 0];
    const sessions = n(sessionTotals[0]);
    const today = localDay(now);
    const nowDate = new Date(now);
    const weekStart = localDay(addLocalDays(now, -((nowDate.getDay() + 6) % 7)));
    const monthStart = localDay(localMonthStart(now));
    const trailingStart = localDay(addLocalDays(now, -7));
    const yesterday = localDay(addLocalDays(now, -1));
    // Spend per day from the earliest period start shown (month, week or the trailing 7 days) to today.
    const earliest = [monthStart, weekStart, trailingStart].sort()[0];
    const spendByDay = (withWorkspace: boolean) => {
      const m = new Map<string, number>();
      for (const [day, nanos] of this.rows(`SELECT day, SUM(cost_nanos) FROM daily_rollup WHERE day >= ? AND day <= ?${withWorkspace ? wsClause : ''} GROUP BY day`, [earliest, today, ...(withWorkspace ? wsParam : [])])) m.set(String(day), n(nanos));
      return (from: string, to: string) => [...m.entries()].reduce((acc, [d, x]) => (d >= from && d <= to ? acc + x : acc), 0);
    };
    const spent = spendByDay(true);
    const spentAll = ws ? spendByDay(false) : spent;
    const dayTotal = (fromDay: string, toDay: string, withWorkspace: boolean) => (withWorkspace ? spent : spentAll)(fromDay, toDay);

    const tiles: DashboardTiles = {
      todayUsd: nanosToUsd(dayTotal(today, today, true)),
      weekUsd: nanosToUsd(dayTotal(weekStart, today, true)),
      monthUsd: nanosToUsd(dayTotal(monthStart, today, true)),
      costUsd: nanosToUsd(totalNanos),
      requests: totalRequests,
      avgCostPerRequestUsd: totalRequests ? nanosToUsd(totalNanos / totalRequests) : 0,
      sessions,
      costPerSessionUsd: sessions ? nanosToUsd(n(sessionTotals[1]) / sessions) : 0,
      cacheSavingsUsd: nanosToUsd(sum(groups, (g) => cacheSavingsNanos(g))),
      inputTokens: sum(groups, (g) => g.input),
      outputTokens: sum(groups, (g) => g.output),
      unpricedRequests: sum(groups, (g) => g.unpriced),
    };

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
    const byModel = rollUp((g) => `${g.provider}\u0000${g.model}`).map(([k, a]) => ({ key: key(k.split('\u0000')[1]), provider: a.provider, costUsd: nanosToUsd(a.nanos), requests: a.requests, share: share(a.nanos), unpricedRequests: a.unpriced }));
    const byProvider = rollUp((g) => g.provider).map(([k, a]) => ({ key: k, costUsd: nanosToUsd(a.nanos), requests: a.requests, share: share(a.nanos) }));
    const byClient = this.rows(`SELECT client, SUM(cost_nanos) AS c, SUM(requests) AS q FROM daily_rollup ${r.where} GROUP BY client ORDER BY c DESC, q DESC, client`, r.params)
      .map((v) => ({ key: key(v[0]), costUsd: nanosToUsd(n(v[1])), requests: n(v[2]), share: share(n(v[1])) }));
    const byFeature = rollUp((g) => g.feature).map(([k, a]) => ({
      key: key(k), costUsd: nanosToUsd(a.nanos), requests: a.requests, share: share(a.nanos),
      costPerRequestUsd: a.requests ? nanosToUsd(a.nanos / a.requests) : 0, inputTokens: a.input, outputTokens: a.output,
    }));

    // Daily spend stacked by provider, every day of the range present (zero when idle).
    const daily = {
      days,
      providers: [...stacks.entries()]
        .sort(([a, x], [b, y]) => sum(y, (v) => v) - sum(x, (v) => v) || a.localeCompare(b))
        .map(([provider, nanos]) => ({ provider, costUsd: nanos.map(nanosToUsd) })),
    };

    const topSessions: SessionRow[] = this.rows(
      `SELECT session, MIN(first_at), MAX(last_at), SUM(requests), SUM(tokens), SUM(cost_nanos) AS c
       FROM session_rollup ${r.where} GROUP BY session ORDER BY c DESC, SUM(requests) DESC, session LIMIT ${TOP_SESSIONS}`,
      r.params,
    ).map((v) => ({ session: String(v[0]), firstAt: n(v[1]), lastAt: n(v[2]), durationMs: n(v[2]) - n(v[1]), requests: n(v[3]), tokens: n(v[4]), costUsd: nanosToUsd(n(v[5])) }));

    const rangeStart = localDayStart(filter.since);
    const rangeEnd = days.length ? addLocalDays(filter.until - 1, 1) : rangeStart;
    const reqWhere = `WHERE started_at >= ? AND started_at < ?${wsClause}`;
    const reqParams = [rangeStart, rangeEnd, ...wsParam];
    // The rollup says how many records the range holds: few are read and sorted via the time index;
    // many are best found by walking the cost index from the top (a walk that could otherwise read
    // the whole table for a range with no records).
    const viaIndex = totalRequests >= 50_000 ? 'requests_cost' : ws ? 'requests_workspace' : 'requests_started_at';
    const topRequests = totalRequests ? this.requestRows(`INDEXED BY ${viaIndex} ${reqWhere} ORDER BY cost_nanos DESC, started_at DESC LIMIT ${TOP_REQUESTS}`, reqParams) : [];
    const recent = this.requestRows(`${reqWhere} ORDER BY started_at DESC, id DESC LIMIT ${RECENT_REQUESTS}`, reqParams);

    // Budgets are the engine's, across workspaces.
    const budgetToday = dayTotal(today, today, false);
    const budgetMonth = dayTotal(monthStart, today, false);

    const trailing = dayTotal(trailingStart, yesterday, true);
    const todayNanos = dayTotal(today, today, true);
    const trailingAverage = trailing / 7;
    const anomaly = trailingAverage > 0 && todayNanos > ANOMALY_FACTOR * trailingAverage
      ? { todayUsd: nanosToUsd(todayNanos), trailingAverageUsd: nanosToUsd(trailingAverage), ratio: todayNanos / trailingAverage }
      : null;

    return {
      filter: { since: filter.since, until: filter.until, workspace: ws ? filter.workspace! : null, firstDay, lastDay },
      generatedAt: now,
      workspaces: this.rows('SELECT DISTINCT workspace FROM daily_rollup ORDER BY workspace', []).map((v) => key(v[0])),
      tiles,
      daily,
      byModel,
      byProvider,
      byClient,
      byFeature,
      topSessions,
      topRequests,
      recent,
      budget: { ...budget, todayUsd: nanosToUsd(budgetToday), monthUsd: nanosToUsd(budgetMonth) },
      anomaly,
      leaks: topHints([...this.leakHints(groups, totalRequests, perDay)]),
    };
  }

  private *leakHints(groups: Group[], totalRequests: number, perDay: Map<string, Array<{ day: string; requests: number; input: number }>>): Generator<LeakHint> {
    const usd = (nanos: number) => nanosToUsd(Math.round(nanos));
    // Written as the dashboard writes money, so a hint's title and figure agree.
    const money = (nanos: number) => formatUsd(usd(nanos), 'detail');

    for (const g of groups) {
      const rates = ratesOf(g.provider, g.model);
      if (!rates) continue;
      // Repeated long prompts with no cache reads: the shortest of them is a lower bound of what
      // each repeat could have read from the cache instead.
      if (g.longUncached >= LEAK_RULES.uncachedMinRepeats && g.longUncachedMin && rates.cachedInputPerMTok !== undefined && rates.inputPerMTok) {
        const prefix = g.longUncachedMin;
        const saved = (g.longUncached - 1) * tokensToNanos(prefix, rates.inputPerMTok - rates.cachedInputPerMTok);
        const writeSurcharge = rates.cacheWritePerMTok && rates.cacheWritePerMTok > rates.inputPerMTok ? tokensToNanos(prefix, rates.cacheWritePerMTok - rates.inputPerMTok) : 0;
        const nanos = saved - writeSurcharge;
        if (nanos > 0) {
          yield {
            kind: 'uncached-prompts', feature: key(g.feature), model: g.model,
            title: `Caching would save ${money(nanos)} on ${key(g.feature)}`,
            detail: `${g.longUncached} prompts of ${prefix.toLocaleString('en-US')}+ tokens to ${g.model} read nothing from the cache; caching a ${prefix.toLocaleString('en-US')}-token prefix would bill the repeats at $${rates.cachedInputPerMTok}/M instead of $${rates.inputPerMTok}/M.`,
            usd: usd(nanos),
          };
        }
      }
      // A cheaper model of the same family, for short answers.
      const cheaper = cheaperModels[pricesProviderOf.get(g.provider) ?? '']?.[rates.model];
      if (cheaper && g.requests >= LEAK_RULES.minRequests && g.output / g.requests < LEAK_RULES.shortOutputTokens && g.unpriced === 0) {
        const alt = ratesOf(g.provider, cheaper);
        if (alt?.inputPerMTok !== undefined && alt.outputPerMTok !== undefined) {
          const altNanos = tokensToNanos(g.input - g.cacheRead, alt.inputPerMTok) + tokensToNanos(g.cacheRead, alt.cachedInputPerMTok ?? alt.inputPerMTok) + tokensToNanos(g.output, alt.outputPerMTok);
          const nanos = g.nanos - altNanos;
          if (nanos > 0) {
            yield {
              kind: 'cheaper-model', feature: key(g.feature), model: g.model,
              title: `${cheaper} would save ${money(nanos)} on ${key(g.feature)}`,
              detail: `${g.requests} requests to ${g.model} averaged ${Math.round(g.output / g.requests)} output tokens and cost ${money(g.nanos)}; the same tokens on ${cheaper} cost ${money(altNanos)} at list price.`,
              usd: usd(nanos),
            };
          }
        }
      }
    }

    // Output-heavy features: output tokens are most of the feature's cost.
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
        kind: 'output-heavy', feature: key(feature),
        title: `Output costs ${money(f.outputNanos)} of ${money(f.nanos)} on ${key(feature)}`,
        detail: `${Math.round((100 * f.outputNanos) / f.nanos)}% of this feature's spend is output (${Math.round(f.output / f.requests)} tokens per request); a lower max_tokens or a request for terser answers cuts it.`,
        usd: usd(f.outputNanos),
      };
    }

    // Context growth: the average prompt of a feature on the last day vs the first day of the range.
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
        kind: 'context-growth', feature: key(feature), model,
        title: `Prompts on ${key(feature)} grew ${(lastAvg / firstAvg).toFixed(1)}x: ${money(nanos)} extra on ${last.day}`,
        detail: `Average prompt to ${model} went from ${Math.round(firstAvg).toLocaleString('en-US')} tokens (${first.day}) to ${Math.round(lastAvg).toLocaleString('en-US')} (${last.day}); at the first day's size the ${last.requests} requests of ${last.day} would have cost ${money(nanos)} less.`,
        usd: usd(nanos),
      };
    }

    // Errors and retries: what failed requests cost, and how many there were.
    const failed = sum(groups, (g) => g.failed);
    const failedNanos = sum(groups, (g) => g.failedNanos);
    if (failed >= LEAK_RULES.minFailures && totalRequests && failed / totalRequests >= LEAK_RULES.failureRate) {
      yield {
        kind: 'failures',
        title: `${Math.round((100 * failed) / totalRequests)}% of requests failed: ${money(failedNanos)} spent on them`,
        detail: `${failed} of ${totalRequests} requests got an error or no answer (each retry resends the whole prompt); failed requests that were billed cost ${money(failedNanos)}.`,
        usd: usd(failedNanos),
      };
    }
  }

  private requestRows(tail: string, params: unknown[]): RequestRow[] {
    return this.rows(
      `SELECT id, started_at, provider, model, feature, session, workspace, status, input_tokens, output_tokens, cost_nanos, cost_status, latency_ms, client FROM requests ${tail}`,
      params,
    ).map((v) => ({
      id: String(v[0]), startedAt: n(v[1]), provider: String(v[2]), model: str(v[3]), feature: str(v[4]), session: str(v[5]), workspace: str(v[6]),
      status: n(v[7]), inputTokens: n(v[8]), outputTokens: n(v[9]), costUsd: nanosToUsd(n(v[10])), costStatus: v[11] as CostStatus, latencyMs: n(v[12]), client: str(v[13]),
    }));
  }

  private rows(sql: string, params: unknown[]): unknown[][] {
    return this.db.exec(sql, params as Array<string | number>)[0]?.values ?? [];
  }
}

/** The biggest hints first, a few of each kind, so one noisy kind cannot crowd out the others. */
function topHints(hints: LeakHint[]): LeakHint[] {
  hints.sort((a, b) => b.usd - a.usd || a.title.localeCompare(b.title));
  const perKind = new Map<string, number>();
  return hints.filter((h) => {
    const n = (perKind.get(h.kind) ?? 0) + 1;
    perKind.set(h.kind, n);
    return n <= LEAK_RULES.perKind;
  }).slice(0, LEAK_RULES.shown);
}

/** Cache-read tokens priced at the model's normal input rate, minus at its cached rate. */
function cacheSavingsNanos(g: Group): number {
  if (!g.cacheRead) return 0;
  const rates = ratesOf(g.provider, g.model);
  if (!rates?.inputPerMTok || rates.cachedInputPerMTok === undefined) return 0;
  return tokensToNanos(g.cacheRead, rates.inputPerMTok) - tokensToNanos(g.cacheRead, rates.cachedInputPerMTok);
}

function ratesOf(provider: string, model: string): PriceRow | undefined {
  const pricesProvider = pricesProviderOf.get(provider);
  if (!pricesProvider || !model) return undefined;
  return baseRates(pricesProvider, model);
}

function n(v: unknown): number {
  return Number(v ?? 0);
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function sum<T>(items: T[], f: (t: T) => number): number {
  let s = 0;
  for (const i of items) s += f(i);
  return s;
}
