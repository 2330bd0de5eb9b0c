/**
 * Every figure the dashboard shows, for one filter, computed from the daily_rollup table (see
 * database/rollups/rollupSchema.ts; the leak hints in leakHints.ts) and, for single requests, from indexed look-ups into `requests`. Pure: a sql.js
 * Database in, plain JSON-able data out; no other state, so it can run wherever the database lives.
 */
import {
  type Budget,
  type DashboardData,
  type DashboardFilter,
  type DashboardTiles,
  type RequestRow,
  type SessionRow,
  type WhatIfAnswer,
  addLocalDays,
  localDay,
  localDayStart,
  localMonthStart,
  nextLocalMonthStart,
  ANOMALY_TRAILING_DAYS,
  FORECAST_TRAILING_DAYS,
  spendAnomaly,
} from '../../shared';
import type { Database } from 'sql.js';
import type { SpendData } from '../database';
import { nanosToUsd, type CostStatus } from '../pricing';
import { firstRecordDay } from './dailySpend';
import { forecastView, monthForecast, type MonthForecast } from './forecast';
import { leakHintsOf } from './leakHints';
import { accFrom, ROLLUP_TOTALS_SQL, UNTAGGED } from './queries';
import { breakdowns, cacheSavingsNanos, groupRollupRows, key, sum, type Group } from './rollupGroups';
import { whatIfAnswerOf, whatIfModelsOf } from './whatIfQueries';

/** Every workspace there is, one index seek each: a year of rollup rows holds a handful. */
const DISTINCT_WORKSPACES = `WITH RECURSIVE w(workspace) AS (
  SELECT MIN(workspace) FROM daily_rollup
  UNION ALL SELECT (SELECT MIN(workspace) FROM daily_rollup WHERE workspace > w.workspace) FROM w WHERE w.workspace IS NOT NULL
) SELECT workspace FROM w WHERE workspace IS NOT NULL`;

export const TOP_SESSIONS = 5;
export const TOP_REQUESTS = 10;
export const RECENT_REQUESTS = 20;
/** Segment tops kept at most (a year of days, for a few workspaces). */
const MAX_SEGMENT_TOPS = 2_000;

/** The local days from `since` to `until` (exclusive), in order. */
export function daysOf(since: number, until: number): string[] {
  const days: string[] = [];
  for (let t = localDayStart(since); t < until; t = addLocalDays(t, 1)) days.push(localDay(t));
  return days;
}

export class DashboardQuery {
  /** Each whole segment's most expensive requests (by segment version and workspace shown). */
  private readonly segmentTops = new Map<string, RequestRow[]>();

  constructor(private readonly source: SpendData) {}

  /** Everything the dashboard shows for `filter`, as of `now`. */
  data(filter: DashboardFilter, budget: Budget = { dailyUsd: 0, monthlyUsd: 0 }, now = Date.now()): DashboardData {
    const range = rangeOf(filter);
    // One pass over the range's rollup rows feeds most figures (see groupRollupRows).
    const { groups, stacks, perDay } = groupRollupRows(
      this.rows(
        `SELECT day, provider, model, feature, SUM(requests), SUM(cost_nanos), SUM(input_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
        SUM(output_tokens), SUM(unpriced_requests), SUM(failed_requests), SUM(failed_cost_nanos), SUM(long_uncached_requests), MIN(long_uncached_min_input), SUM(reasoning_tokens)
       FROM daily_rollup ${range.where} GROUP BY day, provider, model, feature`,
        range.params,
      ),
      range.days,
    );
    const totalNanos = sum(groups, (g) => g.nanos);
    const totalRequests = sum(groups, (g) => g.requests);
    const periods = this.periodSpend(range, now);
    const { byModel, byProvider, byFeature } = breakdowns(groups, totalNanos);
    const forecast = forecastOf(periods, now, firstRecordDay(this.source.index, range.param[0]));
    return {
      filter: { since: filter.since, until: filter.until, workspace: range.workspace, firstDay: range.firstDay, lastDay: range.lastDay },
      generatedAt: now,
      workspaces: this.rows(DISTINCT_WORKSPACES, []).map((v) => key(v[0])),
      ...this.sessionFigures(range, groups, periods),
      daily: { ...dailyStacks(range.days, stacks), projection: projectionOf(forecast, range, periods.today, now) },
      byModel,
      byProvider,
      byClient: this.byClient(range, totalNanos),
      byFeature,
      byBranch: this.byBranch(range, totalNanos, totalRequests),
      ...this.requestLists(filter, range, totalRequests),
      budget: {
        ...budget,
        todayUsd: nanosToUsd(periods.all(periods.today, periods.today)),
        monthUsd: nanosToUsd(periods.all(periods.monthStart, periods.today)),
      },
      anomaly: anomalyOf(periods),
      leaks: leakHintsOf(groups, totalRequests, perDay),
      forecast: forecastView(forecast),
      whatIfModels: whatIfModelsOf(groups),
    };
  }

  /** The range's usage priced at `model` ("provider/model" or a model id) beside what it cost: the panel's what-if picker. */
  whatIf(filter: DashboardFilter, model: string): WhatIfAnswer {
    const range = rangeOf(filter);
    const usage = accFrom(this.rows(`SELECT ${ROLLUP_TOTALS_SQL} FROM daily_rollup ${range.where}`, range.params)[0] ?? []);
    return whatIfAnswerOf(model, usage, usage.nanos);
  }

  /** The tiles (sessions among them) and the most expensive sessions. */
  private sessionFigures(range: Range, groups: Group[], periods: PeriodSpend): Pick<DashboardData, 'tiles' | 'topSessions'> {
    const sessions = this.sessions(range);
    return { tiles: this.tiles(groups, periods, sessions), topSessions: sessions.top };
  }

  private tiles(groups: Group[], periods: PeriodSpend, { count: sessions, nanos: sessionNanos }: Sessions): DashboardTiles {
    const totalNanos = sum(groups, (g) => g.nanos);
    const totalRequests = sum(groups, (g) => g.requests);
    return {
      todayUsd: nanosToUsd(periods.shown(periods.today, periods.today)),
      weekUsd: nanosToUsd(periods.shown(periods.weekStart, periods.today)),
      monthUsd: nanosToUsd(periods.shown(periods.monthStart, periods.today)),
      costUsd: nanosToUsd(totalNanos),
      requests: totalRequests,
      avgCostPerRequestUsd: totalRequests ? nanosToUsd(totalNanos / totalRequests) : 0,
      sessions,
      costPerSessionUsd: sessions ? nanosToUsd(sessionNanos / sessions) : 0,
      cacheSavingsUsd: nanosToUsd(sum(groups, (g) => cacheSavingsNanos(g))),
      inputTokens: sum(groups, (g) => g.input),
      outputTokens: sum(groups, (g) => g.output),
      unpricedRequests: sum(groups, (g) => g.unpriced),
    };
  }

  /**
   * Spend per day from the earliest period start any figure needs (month, week or the trailing
   * days) to today: in the workspace shown (tiles), and across workspaces (budgets and the anomaly
   * are the engine's, across workspaces).
   */
  private periodSpend(range: Range, now: number): PeriodSpend {
    const today = localDay(now);
    const weekStart = localDay(addLocalDays(now, -((new Date(now).getDay() + 6) % 7)));
    const monthStart = localDay(localMonthStart(now));
    const trailingStart = localDay(addLocalDays(now, -ANOMALY_TRAILING_DAYS));
    const forecastStart = localDay(addLocalDays(now, -FORECAST_TRAILING_DAYS));
    const earliest = [monthStart, weekStart, trailingStart, forecastStart].sort()[0];
    const spendByDay = (withWorkspace: boolean) => {
      const m = new Map<string, number>();
      const sql = `SELECT day, SUM(cost_nanos) FROM daily_rollup WHERE day >= ? AND day <= ?${withWorkspace ? range.clause : ''} GROUP BY day`;
      for (const [day, nanos] of this.rows(sql, [earliest, today, ...(withWorkspace ? range.param : [])])) m.set(String(day), n(nanos));
      return (from: string, to: string) => [...m.entries()].reduce((acc, [d, x]) => (d >= from && d <= to ? acc + x : acc), 0);
    };
    const shown = spendByDay(true);
    return {
      today,
      weekStart,
      monthStart,
      trailingStart,
      yesterday: localDay(addLocalDays(now, -1)),
      shown,
      all: range.workspace === null ? shown : spendByDay(false),
    };
  }

  private byClient(range: Range, totalNanos: number): DashboardData['byClient'] {
    return this.rows(
      `SELECT client, SUM(cost_nanos) AS c, SUM(requests) AS q FROM daily_rollup ${range.where} GROUP BY client ORDER BY c DESC, q DESC, client`,
      range.params,
    ).map((v) => ({ key: key(v[0]), costUsd: nanosToUsd(n(v[1])), requests: n(v[2]), share: totalNanos ? n(v[1]) / totalNanos : 0 }));
  }

  /** Spend by git branch, from branch_rollup; what it does not cover (calls made on no branch) is the '(none)' row. */
  private byBranch(range: Range, totalNanos: number, totalRequests: number): DashboardData['byBranch'] {
    const rows = this.rows(`SELECT branch, SUM(cost_nanos), SUM(requests) FROM branch_rollup ${range.where} GROUP BY branch`, range.params).map((v) => ({
      key: key(v[0]),
      nanos: n(v[1]),
      requests: n(v[2]),
    }));
    const untagged = { key: UNTAGGED, nanos: totalNanos - sum(rows, (r) => r.nanos), requests: totalRequests - sum(rows, (r) => r.requests) };
    if (untagged.requests > 0) rows.push(untagged);
    rows.sort((a, b) => b.nanos - a.nanos || b.requests - a.requests || a.key.localeCompare(b.key));
    return rows.map((r) => ({ key: r.key, costUsd: nanosToUsd(r.nanos), requests: r.requests, share: totalNanos ? r.nanos / totalNanos : 0 }));
  }

  /**
   * The range's sessions: how many, what they cost, the most expensive. One query when the index
   * holds all its days; with archived months (database/rollups/sessionArchive.ts) each session is
   * added up across them first.
   */
  private sessions(range: Range): Sessions {
    const perSession = `SELECT session, MIN(first_at), MAX(last_at), SUM(requests), SUM(tokens), SUM(cost_nanos) AS c
      FROM session_rollup ${range.where} GROUP BY session`;
    const sources = this.source.sessionRollups(range.firstDay, range.lastDay);
    const index = sources.next().value as Database;
    const archived = sources.next();
    if (archived.done) {
      const [count, nanos] = (
        this.rows(`SELECT COUNT(DISTINCT session), COALESCE(SUM(cost_nanos), 0) FROM session_rollup ${range.where}`, range.params)[0] ?? [0, 0]
      ).map(n);
      const top = this.rows(`${perSession} ORDER BY c DESC, SUM(requests) DESC, session LIMIT ${TOP_SESSIONS}`, range.params);
      return { count, nanos, top: top.map(sessionRow) };
    }
    const all = new Map<string, unknown[]>();
    const add = (db: Database) => {
      for (const v of db.exec(perSession, range.params as string[])[0]?.values ?? []) {
        const was = all.get(String(v[0]));
        all.set(String(v[0]), was ? [v[0], Math.min(n(was[1]), n(v[1])), Math.max(n(was[2]), n(v[2])), ...[3, 4, 5].map((i) => n(was[i]) + n(v[i]))] : v);
      }
    };
    add(index);
    add(archived.value);
    for (const db of sources) add(db);
    const rows = [...all.values()].sort((a, b) => n(b[5]) - n(a[5]) || n(b[3]) - n(a[3]) || String(a[0]).localeCompare(String(b[0])));
    return { count: all.size, nanos: sum(rows, (v) => n(v[5])), top: rows.slice(0, TOP_SESSIONS).map(sessionRow) };
  }

  /** The range's most expensive requests and its latest ones, by indexed look-ups into `requests`. */
  private requestLists(filter: DashboardFilter, range: Range, totalRequests: number): Pick<DashboardData, 'topRequests' | 'recent'> {
    const rangeStart = localDayStart(filter.since);
    const rangeEnd = range.days.length ? addLocalDays(filter.until - 1, 1) : rangeStart;
    const reqWhere = `WHERE started_at >= ? AND started_at < ?${range.clause}`;
    const reqParams = [rangeStart, rangeEnd, ...range.param];
    // The rollup says how many records the range holds: few are read and sorted via the time index;
    // many are best found by walking the cost index from the top (a walk that could otherwise read
    // the whole table for a range with no records).
    const viaIndex = totalRequests >= 50_000 ? 'requests_cost' : range.workspace !== null ? 'requests_workspace' : 'requests_started_at';
    const segments = { since: rangeStart, until: rangeEnd };
    const top: RequestRow[] = [];
    if (totalRequests) {
      // The most expensive of each segment the range touches, then of them all. A segment wholly in
      // the range gives its own top, kept until it changes: a month's view reads its ended days once.
      for (const segment of this.source.segmentHandles(segments)) {
        const whole = segment.start >= rangeStart && segment.end <= rangeEnd;
        const key = `${segment.id}|${range.param.join('|')}`;
        let rows = whole ? this.segmentTops.get(key) : undefined;
        if (!rows) {
          const where = whole ? `WHERE 1 = 1${range.clause}` : reqWhere;
          rows = this.requestRows(
            segment.open(),
            `INDEXED BY ${viaIndex} ${where} ORDER BY cost_nanos DESC, started_at DESC LIMIT ${TOP_REQUESTS}`,
            whole ? range.param : reqParams,
          );
          if (whole) this.keepSegmentTop(key, rows);
        }
        top.push(...rows);
      }
      top.sort((a, b) => b.costUsd - a.costUsd || b.startedAt - a.startedAt);
    }
    const recent: RequestRow[] = [];
    for (const db of this.source.segments(segments, 'desc')) {
      recent.push(...this.requestRows(db, `${reqWhere} ORDER BY started_at DESC, id DESC LIMIT ${RECENT_REQUESTS - recent.length}`, reqParams));
      if (recent.length >= RECENT_REQUESTS) break;
    }
    return { topRequests: top.slice(0, TOP_REQUESTS), recent };
  }

  private requestRows(db: Database, tail: string, params: unknown[]): RequestRow[] {
    const sql = `SELECT id, started_at, provider, model, feature, session, workspace, status, input_tokens, output_tokens, cost_nanos, cost_status, latency_ms, client FROM requests ${tail}`;
    return (db.exec(sql, params as Array<string | number>)[0]?.values ?? []).map((v) => ({
      id: String(v[0]),
      startedAt: n(v[1]),
      provider: String(v[2]),
      model: str(v[3]),
      feature: str(v[4]),
      session: str(v[5]),
      workspace: str(v[6]),
      status: n(v[7]),
      inputTokens: n(v[8]),
      outputTokens: n(v[9]),
      costUsd: nanosToUsd(n(v[10])),
      costStatus: v[11] as CostStatus,
      latencyMs: n(v[12]),
      client: str(v[13]),
    }));
  }

  private keepSegmentTop(key: string, rows: RequestRow[]): void {
    if (this.segmentTops.size >= MAX_SEGMENT_TOPS) this.segmentTops.clear();
    this.segmentTops.set(key, rows);
  }

  private rows(sql: string, params: unknown[]): unknown[][] {
    return this.source.index.exec(sql, params as Array<string | number>)[0]?.values ?? [];
  }
}

/** The range's sessions: how many, their cost, the most expensive. */
interface Sessions {
  count: number;
  nanos: number;
  top: SessionRow[];
}

/** A row of (session, first_at, last_at, requests, tokens, cost_nanos). */
function sessionRow(v: unknown[]): SessionRow {
  return {
    session: String(v[0]),
    firstAt: n(v[1]),
    lastAt: n(v[2]),
    durationMs: n(v[2]) - n(v[1]),
    requests: n(v[3]),
    tokens: n(v[4]),
    costUsd: nanosToUsd(n(v[5])),
  };
}

/** The filter's days and its workspace condition, for queries on daily_rollup / session_rollup. */
interface Range {
  days: string[];
  firstDay: string;
  lastDay: string;
  /** The workspace shown, or null for all. */
  workspace: string | null;
  clause: string;
  param: string[];
  where: string;
  params: unknown[];
}

function rangeOf(filter: DashboardFilter): Range {
  const days = daysOf(filter.since, filter.until);
  const firstDay = days[0] ?? localDay(filter.since);
  const lastDay = days[days.length - 1] ?? firstDay;
  const workspace = filter.workspace ?? null;
  const clause = workspace !== null ? ' AND workspace = ?' : '';
  const param = workspace !== null ? [workspace === UNTAGGED ? '' : workspace] : [];
  return { days, firstDay, lastDay, workspace, clause, param, where: `WHERE day >= ? AND day <= ?${clause}`, params: [firstDay, lastDay, ...param] };
}

/** Spend between two local days (inclusive), in the workspace shown or across all. */
interface PeriodSpend {
  today: string;
  weekStart: string;
  monthStart: string;
  trailingStart: string;
  yesterday: string;
  shown: (fromDay: string, toDay: string) => number;
  all: (fromDay: string, toDay: string) => number;
}

/** The forecast of the workspace shown, from the same per-day spend as the tiles. */
function forecastOf(periods: PeriodSpend, now: number, firstDay: string | null): MonthForecast {
  const trailingDays = Array.from({ length: FORECAST_TRAILING_DAYS }, (_, i) => {
    const day = localDay(addLocalDays(now, i - FORECAST_TRAILING_DAYS));
    return periods.shown(day, day);
  });
  return monthForecast({ now, monthToDateNanos: periods.shown(periods.monthStart, periods.today), trailingDays, firstRecordDay: firstDay });
}

/** Today and the rest of the month at the forecast's daily average, when the range ends today (a past range has nothing to project). */
function projectionOf(forecast: MonthForecast, range: Range, today: string, now: number): DashboardData['daily']['projection'] {
  if (forecast.dailyAverageNanos === null || range.lastDay !== today) return null;
  return { days: daysOf(now, nextLocalMonthStart(now)), costUsd: nanosToUsd(forecast.dailyAverageNanos) };
}

/** Daily spend stacked by provider, every day of the range present (zero when idle). */
function dailyStacks(days: string[], stacks: Map<string, number[]>): Omit<DashboardData['daily'], 'projection'> {
  return {
    days,
    providers: [...stacks.entries()]
      .sort(([a, x], [b, y]) => sum(y, (v) => v) - sum(x, (v) => v) || a.localeCompare(b))
      .map(([provider, nanos]) => ({ provider, costUsd: nanos.map(nanosToUsd) })),
  };
}

/** The banner: the same rule as the engine's anomaly alert, over today in the workspace shown. */
function anomalyOf(periods: PeriodSpend): DashboardData['anomaly'] {
  const anomaly = spendAnomaly(periods.shown(periods.today, periods.today), periods.shown(periods.trailingStart, periods.yesterday));
  return anomaly && { todayUsd: nanosToUsd(anomaly.todayNanos), trailingAverageUsd: nanosToUsd(anomaly.averageNanos), ratio: anomaly.ratio };
}

function n(v: unknown): number {
  return Number(v ?? 0);
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
