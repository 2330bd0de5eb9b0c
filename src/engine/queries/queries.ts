import { recordReader, type RequestRecord, type SpendData } from '../database';
import { addLocalDays, localDay, localDayStart, type MonthForecastView } from '../../shared';
import { nanosToUsd, type UsageTotals } from '../pricing';
import { firstRecordDay, monthToDateSpend, trailingDaySpend } from './dailySpend';
import { forecastView, monthForecast } from './forecast';

/** A report's figures: the usage (pricing's UsageTotals, which what-if prices again) with its cost. */
export interface Totals extends UsageTotals {
  costUsd: number;
  unpricedRequests: number;
}

export interface SpendReport {
  total: Totals;
  groups: Array<{ key: string } & Totals>;
}

export const GROUP_BY = ['provider', 'model', 'feature', 'session', 'user', 'branch', 'workspace', 'client', 'day'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** The tags grouped from a rollup of their own rather than daily_rollup. */
const TAG_ROLLUPS = { session: 'session_rollup', user: 'user_rollup', branch: 'branch_rollup' } as const;

/** Key shown for records without the grouped-by tag. */
export const UNTAGGED = '(none)';

/** The columns of Totals, summed in SQL (cost in nano-dollars first; see toTotals). */
export const TOTALS_SQL = `
  COALESCE(SUM(cost_nanos), 0), COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(cache_read_tokens), 0),
  COALESCE(SUM(cache_write_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(reasoning_tokens), 0),
  COALESCE(SUM(cost_status = 'unpriced'), 0)`;

/** TOTALS_SQL's figures, in its order, summed from daily_rollup rows instead of records. */
export const ROLLUP_TOTALS_SQL = `
  COALESCE(SUM(cost_nanos), 0), COALESCE(SUM(requests), 0), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(cache_read_tokens), 0),
  COALESCE(SUM(cache_write_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(reasoning_tokens), 0), COALESCE(SUM(unpriced_requests), 0)`;

/** Read-only queries over the records: what `burnrate report`, the status bar and the dashboard show. */
export class SpendQuery {
  constructor(private readonly data: SpendData) {}

  /**
   * Spend over [since, until), grouped. Whole local days come from the rollups (database/rollups/rollupSchema.ts):
   * a few thousand rows instead of every record, and they keep the days whose records retention
   * deleted; only the partial days at the range's ends (`--since 24h`) are scanned from the records.
   */
  report(opts: { since?: number; until?: number; by?: GroupBy }): SpendReport {
    const sums = new Sums();
    const firstMidnight = opts.since === undefined || opts.since === 0 ? opts.since : nextMidnight(opts.since);
    const lastMidnight = opts.until === undefined ? undefined : localDayStart(opts.until);
    if (firstMidnight !== undefined && lastMidnight !== undefined && firstMidnight >= lastMidnight) {
      this.scan(sums, opts.since, opts.until, opts.by);
    } else {
      if (opts.since !== firstMidnight) this.scan(sums, opts.since, firstMidnight, opts.by);
      this.fromRollups(sums, firstMidnight, lastMidnight, opts.by);
      if (opts.until !== lastMidnight) this.scan(sums, lastMidnight, opts.until, opts.by);
    }
    if (!opts.by) return { total: toTotals(sums.total), groups: [] };
    const groups = [...sums.groups].map(([key, raw]) => ({ key, ...toTotals(raw) }));
    sortGroups(groups, opts.by);
    return { total: toTotals(sums.total), groups };
  }

  /**
   * Adds the records started in [since, until) to `sums`: one scan of each segment the range
   * touches. Days are folded from 15-minute buckets here (every time zone's midnight falls on one),
   * far cheaper than converting each row to local time in SQLite.
   */
  private scan(sums: Sums, since: number | undefined, until: number | undefined, by: GroupBy | undefined): void {
    const { where, params } = timeRange(since, until);
    const key = !by ? "''" : by === 'day' ? `started_at / ${QUARTER_HOUR_MS}` : `"${by}"`;
    for (const db of this.data.segments({ since, until })) {
      for (const [k, ...rest] of db.exec(`SELECT ${key} AS k, ${TOTALS_SQL} FROM requests ${where} GROUP BY k`, params)[0]?.values ?? []) {
        sums.add(by === 'day' ? localDay(Number(k) * QUARTER_HOUR_MS) : k === null || k === '' ? UNTAGGED : String(k), rest);
      }
    }
  }

  /**
   * Adds the whole local days from `since` (a midnight) to `until` (one, or open) to `sums`: the whole
   * months among them from month_rollup, the days around those from daily_rollup or daily_totals (all
   * of them by day: see database/rollups/coarseRollups.ts); by a tag, from its own rollup.
   */
  private fromRollups(sums: Sums, since: number | undefined, until: number | undefined, by: GroupBy | undefined): void {
    const [firstDay, endDay] = [since, until].map((at) => (at === undefined ? undefined : localDay(at)));
    // By day, or in all: days add up in daily_totals; by a column of daily_rollup, days are its rows.
    const perDay = !by || by === 'day' || by in TAG_ROLLUPS ? 'daily_totals' : 'daily_rollup';
    const parts = by === 'day' ? [daysPart(firstDay, endDay, perDay)] : rollupParts(firstDay, endDay, perDay);
    const tagTable = TAG_ROLLUPS[by as keyof typeof TAG_ROLLUPS];
    if (!tagTable) {
      // By a column of daily_rollup (or none): the groups add up to the total.
      const key = by ? `"${by}"` : "''";
      for (const { table, where, params } of parts) {
        for (const [k, ...rest] of this.data.index.exec(`SELECT ${key} AS k, ${ROLLUP_TOTALS_SQL} FROM ${table} ${where} GROUP BY k`, params)[0]?.values ?? [])
          sums.add(by ? groupKey(k) : '', rest);
      }
      return;
    }
    // Sessions, users and branches have their own rollups (daily_rollup would multiply its rows by them); what none covers is untagged.
    let untagged = new Array<number>(8).fill(0);
    for (const { table, where, params } of parts) {
      const part = this.data.index.exec(`SELECT ${ROLLUP_TOTALS_SQL} FROM ${table} ${where}`, params)[0].values[0];
      untagged = untagged.map((v, i) => v + Number(part[i]));
    }
    const { where, params } = daysPart(firstDay, endDay, tagTable);
    const sources = by === 'session' ? this.data.sessionRollups(firstDay, endDay) : [this.data.index];
    for (const db of sources) {
      for (const [k, ...rest] of db.exec(`SELECT "${by}" AS k, ${ROLLUP_TOTALS_SQL} FROM ${tagTable} ${where} GROUP BY k`, params)[0]?.values ?? []) {
        sums.add(groupKey(k), rest);
        untagged = untagged.map((v, i) => v - Number(rest[i]));
      }
    }
    if (untagged[1] > 0) sums.add(UNTAGGED, untagged);
  }

  /** The month-end forecast of all spend as of `now` (forecast.ts), from the daily rollup. */
  forecast(now = Date.now()): MonthForecastView {
    const db = this.data.index;
    const trailingDays = trailingDaySpend(db, localDayStart(now));
    return forecastView(monthForecast({ now, monthToDateNanos: monthToDateSpend(db, now), trailingDays, firstRecordDay: firstRecordDay(db) }));
  }

  /** Records in time order, in pages, so exports of big databases never hold everything at once. */
  *records(opts: { since?: number; until?: number; workspace?: string; pageSize?: number }): Generator<RequestRecord> {
    let after: RecordCursor | undefined;
    for (;;) {
      const page = this.page({ ...opts, after });
      yield* page;
      if (page.length < (opts.pageSize ?? DEFAULT_PAGE_SIZE)) return;
      after = { startedAt: page[page.length - 1].startedAt, id: page[page.length - 1].id };
    }
  }

  /** One page of records in time order, after `after` (the last record of the previous page). */
  page(opts: { since?: number; until?: number; workspace?: string; pageSize?: number; after?: RecordCursor }): RequestRecord[] {
    const { where, params } = timeRange(opts.since, opts.until, opts.workspace);
    const pageSize = Math.max(1, Math.floor(opts.pageSize ?? DEFAULT_PAGE_SIZE));
    // `started_at >= ?` on its own lets SQLite seek the time index to the page's start; with only the
    // OR it walked the index from the first record on every page (an export of everything was quadratic).
    const cursor = `started_at >= ? AND (started_at > ? OR id > ?)`;
    const afterStarted = opts.after?.startedAt ?? -1;
    const page: RequestRecord[] = [];
    // Segments hold disjoint time ranges, oldest first: a page is the next records of the first
    // segments after the cursor.
    for (const db of this.data.segments({ since: Math.max(afterStarted, opts.since ?? -Infinity), until: opts.until })) {
      const sql = `SELECT * FROM requests ${where ? `${where} AND ${cursor}` : `WHERE ${cursor}`} ORDER BY started_at, id LIMIT ${pageSize - page.length}`;
      const rows = db.exec(sql, [...params, afterStarted, afterStarted, opts.after?.id ?? ''])[0];
      if (rows) page.push(...rows.values.map(recordReader(rows.columns)));
      if (page.length >= pageSize) break;
    }
    return page;
  }
}

/** Where a page of records ends: the next page starts after this record. */
export interface RecordCursor {
  startedAt: number;
  id: string;
}

/**
 * Records per page. Measured on an export of 2M records: 1,000 took 27 s at a 191 MB peak, against
 * 32 s and 228 MB at 2,000 and 35 s and 284 MB at 5,000 (a bigger page's rows outlive the young
 * generation and pile up until a full GC), and 30 s and 185 MB at 500.
 */
const DEFAULT_PAGE_SIZE = 1_000;

const QUARTER_HOUR_MS = 900_000;

/** Days in date order; anything else most expensive first. */
function sortGroups(groups: Array<{ key: string } & Totals>, by: GroupBy): void {
  if (by === 'day') groups.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  else groups.sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests || a.key.localeCompare(b.key));
}

/** The first local midnight at or after `at`. */
function nextMidnight(at: number): number {
  const start = localDayStart(at);
  return start === at ? at : addLocalDays(at, 1);
}

/** Totals (TOTALS_SQL's order, cost in nano-dollars) added up by group and in all: exact integers until shown. */
class Sums {
  readonly total = new Array<number>(8).fill(0);
  readonly groups = new Map<string, number[]>();

  add(key: string, values: readonly unknown[]): void {
    let acc = this.groups.get(key);
    if (!acc) this.groups.set(key, (acc = new Array<number>(8).fill(0)));
    for (let i = 0; i < 8; i++) {
      const v = Number(values[i] ?? 0);
      acc[i] += v;
      this.total[i] += v;
    }
  }
}

const groupKey = (k: unknown) => (k === null || k === '' ? UNTAGGED : String(k));

/** Rows of a rollup table over a range: its table, WHERE clause and parameters. */
interface RollupPart {
  table: string;
  where: string;
  params: string[];
}

/** A rollup's rows of the local days [firstDay, endDay) ('YYYY-MM-DD'; undefined: open), or of months by `column`. */
function daysPart(firstDay: string | undefined, endDay: string | undefined, table: RollupPart['table'], column = 'day'): RollupPart {
  const clauses = [firstDay !== undefined && `${column} >= ?`, endDay !== undefined && `${column} < ?`].filter(Boolean);
  return { table, where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params: [firstDay, endDay].filter((d) => d !== undefined) };
}

/** The month after 'YYYY-MM'. */
function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** The days [firstDay, endDay) as the whole local months among them (month_rollup) and the days before and after those (from `perDay`). */
function rollupParts(firstDay: string | undefined, endDay: string | undefined, perDay: RollupPart['table']): RollupPart[] {
  const firstMonth = firstDay === undefined ? undefined : firstDay.endsWith('-01') ? firstDay.slice(0, 7) : nextMonth(firstDay.slice(0, 7));
  const endMonth = endDay?.slice(0, 7);
  if (firstMonth !== undefined && endMonth !== undefined && firstMonth >= endMonth) return [daysPart(firstDay, endDay, perDay)];
  const parts = [daysPart(firstMonth, endMonth, 'month_rollup', 'month')];
  if (firstMonth !== undefined && firstDay !== `${firstMonth}-01`) parts.push(daysPart(firstDay, `${firstMonth}-01`, perDay));
  if (endMonth !== undefined && endDay !== `${endMonth}-01`) parts.push(daysPart(`${endMonth}-01`, endDay, perDay));
  return parts;
}

function timeRange(since?: number, until?: number, workspace?: string): { where: string; params: Array<number | string> } {
  const clauses: string[] = [];
  const params: Array<number | string> = [];
  if (workspace !== undefined) {
    // The dashboard lists untagged records under UNTAGGED.
    clauses.push(workspace === UNTAGGED ? "(workspace IS NULL OR workspace = '')" : 'workspace = ?');
    if (workspace !== UNTAGGED) params.push(workspace);
  }
  if (since !== undefined) {
    clauses.push('started_at >= ?');
    params.push(since);
  }
  if (until !== undefined) {
    clauses.push('started_at < ?');
    params.push(until);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Totals as added up, cost in nano-dollars (exact integers until shown). */
export type Acc = Omit<Totals, 'costUsd'> & { nanos: number };

/** A row of TOTALS_SQL's (or ROLLUP_TOTALS_SQL's) columns, in their order. */
export function accFrom(values: readonly unknown[]): Acc {
  const n = values.map((v) => Number(v ?? 0));
  return {
    nanos: n[0],
    requests: n[1],
    inputTokens: n[2],
    cacheReadTokens: n[3],
    cacheWriteTokens: n[4],
    outputTokens: n[5],
    reasoningTokens: n[6],
    unpricedRequests: n[7],
  };
}

/** Totals as shown: the cost in dollars. */
export function totalsOf({ nanos, ...counts }: Acc): Totals {
  return { costUsd: nanosToUsd(nanos), ...counts };
}

function toTotals(v: readonly unknown[]): Totals {
  return totalsOf(accFrom(v));
}

export class SinceError extends Error {}

/**
 * Parses --since: "24h", "7d", "30m", "today", "week" (since Monday), "month", or an ISO date/time.
 * Returns epoch milliseconds.
 */
export function parseSince(value: string, now = new Date()): number {
  const v = value.trim().toLowerCase();
  const rel = /^(\d+)\s*(m|h|d|w)$/.exec(v);
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2] as 'm' | 'h' | 'd' | 'w'];
    return now.getTime() - Number(rel[1]) * unit;
  }
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  if (v === 'today') return midnight.getTime();
  if (v === 'week') return midnight.getTime() - ((midnight.getDay() + 6) % 7) * 86_400_000;
  if (v === 'month') return new Date(now.getFullYear(), now.getMonth(), 1).getTime();
  if (v === 'all') return 0;
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00` : value);
    if (Number.isFinite(t)) return t;
  }
  throw new SinceError(`--since expects 24h, 7d, today, week, month, all or an ISO date; got "${value}"`);
}
