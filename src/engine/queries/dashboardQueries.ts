/**
 * Every figure the dashboard shows, for one filter, computed from the daily_rollup table (see
 * store/rollup.ts; the leak hints in leakHints.ts) and, for single requests, from indexed look-ups into `requests`. Pure: a sql.js
 * Database in, plain JSON-able data out; no other state, so it can run wherever the database lives.
 */
import type { Database } from 'sql.js';
import type { Budget, DashboardData, DashboardFilter, DashboardTiles, RequestRow, SessionRow } from '../../shared/dashboardTypes';
import { nanosToUsd, type CostStatus } from '../pricing/pricing';
import { addLocalDays, localDay, localDayStart, localMonthStart } from '../../shared/calendar';
import { leakHintsOf } from './leakHints';
import { UNTAGGED } from './queries';
import { breakdowns, cacheSavingsNanos, groupRollupRows, key, sum } from './rollupGroups';

export type * from '../../shared/dashboardTypes';

export const ANOMALY_FACTOR = 3;
export const TOP_SESSIONS = 5;
export const TOP_REQUESTS = 10;
export const RECENT_REQUESTS = 20;


/** The local days from `since` to `until` (exclusive), in order. */
export function daysOf(since: number, until: number): string[] {
  const days: string[] = [];
  for (let t = localDayStart(since); t < until; t = addLocalDays(t, 1)) days.push(localDay(t));
  return days;
}



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

    // One pass over the range's rollup rows feeds most figures (see groupRollupRows).
    const r = range();
    const { groups, stacks, perDay } = groupRollupRows(this.rows(
      `SELECT day, provider, model, feature, SUM(requests), SUM(cost_nanos), SUM(input_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
        SUM(output_tokens), SUM(unpriced_requests), SUM(failed_requests), SUM(failed_cost_nanos), SUM(long_uncached_requests), MIN(long_uncached_min_input)
       FROM daily_rollup ${r.where} GROUP BY day, provider, model, feature`,
      r.params,
    ), days);
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
    const { byModel, byProvider, byFeature } = breakdowns(groups, totalNanos);
    const byClient = this.rows(`SELECT client, SUM(cost_nanos) AS c, SUM(requests) AS q FROM daily_rollup ${r.where} GROUP BY client ORDER BY c DESC, q DESC, client`, r.params)
      .map((v) => ({ key: key(v[0]), costUsd: nanosToUsd(n(v[1])), requests: n(v[2]), share: share(n(v[1])) }));

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
      leaks: leakHintsOf(groups, totalRequests, perDay),
    };
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




function n(v: unknown): number {
  return Number(v ?? 0);
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

