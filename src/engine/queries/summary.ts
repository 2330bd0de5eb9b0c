import type { QueryExecResult } from 'sql.js';
import type { SpendData } from '../database';
import { daysBefore, localDay, localDayStart, type BudgetView, type MonthForecastView } from '../../shared';
import { nanosToUsd } from '../pricing';
import { firstRecordDay, rollTrailingDays, trailingDaySpend } from './dailySpend';
import { forecastView, monthForecast } from './forecast';
import { accFrom, parseSince, ROLLUP_TOTALS_SQL, totalsOf, UNTAGGED, type Acc, type Totals } from './queries';
import type { RequestRecord } from '../database';

/** A row of a breakdown: the group's key (model, provider, client or session) and its totals. */
export type SummaryGroup = { key: string } & Totals;

/** What the status bar and the small dashboard show; pushed to every window after each record. */
export interface SpendSummary {
  /** Epoch ms when this summary was taken. */
  at: number;
  today: Totals;
  /** Since Monday 00:00 (local time). */
  week: Totals;
  /** Since the 1st of the month 00:00 (local time). */
  month: Totals;
  /** Today's spend by provider, by model and by client (the tool or SDK), most expensive first (at most SUMMARY_TOP_N each). */
  todayByProvider: SummaryGroup[];
  todayByModel: SummaryGroup[];
  todayByClient: SummaryGroup[];
  /** Sessions with a request in the last ACTIVE_SESSION_MINUTES, with their spend today. */
  activeSessions: SummaryGroup[];
  activeSessionMinutes: number;
  /** The last request recorded, without tags or keys. */
  lastRecord: { at: number; provider: string; model: string | null; costUsd: number; costStatus: RequestRecord['costStatus'] } | null;
  /** True while the engine forwards requests without recording them. */
  recordingPaused: boolean;
  /** The month-end forecast of all spend (forecast.ts); absent from an engine from before it. */
  forecast?: MonthForecastView;
  /** Each budget in force (all traffic, and workspaces with their own) with its use and level; absent from an engine without guards. */
  budgets?: BudgetView[];
  /** Sessions stopped and not yet allowed (kept across restarts), with why; absent from an engine without guards. */
  stoppedSessions?: Array<{ id: string; reason: string | null }>;
}

export const SUMMARY_TOP_N = 10;
export const ACTIVE_SESSION_MINUTES = 15;

const emptyAcc = (): Acc => ({
  nanos: 0,
  requests: 0,
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  unpricedRequests: 0,
});

function addRecord(acc: Acc, r: RequestRecord): void {
  acc.nanos += r.costNanos;
  acc.requests += 1;
  acc.inputTokens += r.inputTokens;
  acc.cacheReadTokens += r.cacheReadTokens;
  acc.cacheWriteTokens += r.cacheWriteTokens;
  acc.outputTokens += r.outputTokens;
  acc.reasoningTokens += r.reasoningTokens;
  if (r.costStatus === 'unpriced') acc.unpricedRequests += 1;
}

/** Rows of (key, last_at, totals…) as breakdown entries; an empty key is untagged. */
function keyed(rows: QueryExecResult | undefined): Array<[string, Acc & { lastAt: number }]> {
  return (rows?.values ?? []).map(([key, lastAt, ...rest]): [string, Acc & { lastAt: number }] => [
    key === null || key === '' ? UNTAGGED : String(key),
    { ...accFrom(rest), lastAt: Number(lastAt) },
  ]);
}

/** The period totals read from the database: what a SummaryTracker starts from. Plain data (crosses threads). */
export interface SummaryBase {
  periodStarts: { day: number; week: number; month: number };
  today: Acc;
  week: Acc;
  month: Acc;
  byProvider: Array<[string, Acc & { lastAt: number }]>;
  byModel: Array<[string, Acc & { lastAt: number }]>;
  byClient: Array<[string, Acc & { lastAt: number }]>;
  bySession: Array<[string, Acc & { lastAt: number }]>;
  last: SpendSummary['lastRecord'];
  /** Spend of each whole day before today, oldest first, and the first record's day: the forecast's history. */
  trailingDays: number[];
  firstRecordDay: string | null;
}

/** Reads a SummaryBase from the database; runs where the database lives (the store's worker). */
export class SummaryQuery {
  constructor(private readonly data: SpendData) {}

  /**
   * The totals of the day, week and month that contain `at` (epoch ms, local calendar), and today's
   * breakdowns, from the rollups (kept current by every insert and reprice): no period is a scan of
   * its records; only the last record is looked up.
   */
  base(at: number = Date.now()): SummaryBase {
    const now = new Date(at);
    const day = parseSince('today', now);
    const periodStarts = { day, week: parseSince('week', now), month: parseSince('month', now) };
    const today = localDay(day);
    const totalsSince = (since: number) =>
      accFrom(this.data.index.exec(`SELECT ${ROLLUP_TOTALS_SQL} FROM daily_rollup WHERE day >= ?`, [localDay(since)])[0].values[0]);
    // Sessions have their own rollup; the other keys are columns of daily_rollup.
    const grouped = (column: string, table = 'daily_rollup') =>
      keyed(this.data.index.exec(`SELECT ${column}, MAX(last_at), ${ROLLUP_TOTALS_SQL} FROM ${table} WHERE day >= ? GROUP BY 1`, [today])[0]);
    let lastRow: unknown[] | undefined;
    for (const db of this.data.segments({}, 'desc')) {
      lastRow = db.exec('SELECT started_at, provider, model, cost_nanos, cost_status FROM requests ORDER BY started_at DESC LIMIT 1')[0]?.values[0];
      if (lastRow) break;
    }
    return {
      periodStarts,
      today: totalsSince(day),
      week: totalsSince(periodStarts.week),
      month: totalsSince(periodStarts.month),
      byProvider: grouped('provider'),
      byModel: grouped('model'),
      byClient: grouped('client'),
      bySession: grouped('session', 'session_rollup'),
      trailingDays: trailingDaySpend(this.data.index, day),
      firstRecordDay: firstRecordDay(this.data.index),
      last: lastRow
        ? {
            at: Number(lastRow[0]),
            provider: String(lastRow[1]),
            model: lastRow[2] === null ? null : String(lastRow[2]),
            costUsd: nanosToUsd(Number(lastRow[3])),
            costStatus: lastRow[4] as RequestRecord['costStatus'],
          }
        : null,
    };
  }
}

/**
 * Keeps today's, this week's and this month's totals in memory so a summary after each record costs
 * nothing: the database is read once at start (SummaryQuery), then every record is added as it is
 * recorded. A period that rolls over starts again from zero: every record counted so far began before it.
 */
export class SummaryTracker {
  private periodStarts = { day: 0, week: 0, month: 0 };
  private today = emptyAcc();
  private week = emptyAcc();
  private month = emptyAcc();
  private byProvider = new Map<string, Acc>();
  private byModel = new Map<string, Acc>();
  private byClient = new Map<string, Acc>();
  private bySession = new Map<string, Acc & { lastAt: number }>();
  private last: SpendSummary['lastRecord'] = null;
  private trailingDays: number[] = [];
  private firstRecordDay: string | null = null;
  /** nextRollOver() of the current day, kept: add() runs once per request and local-time dates cost. */
  private rollOverAt = 0;

  constructor(base: SummaryBase) {
    this.reset(base);
  }

  /** Starts again from totals read from the database. */
  reset(base: SummaryBase): void {
    this.periodStarts = { ...base.periodStarts };
    this.today = { ...base.today };
    this.week = { ...base.week };
    this.month = { ...base.month };
    this.byProvider = new Map(base.byProvider.map(([k, a]) => [k, { ...a }]));
    this.byModel = new Map(base.byModel.map(([k, a]) => [k, { ...a }]));
    this.byClient = new Map(base.byClient.map(([k, a]) => [k, { ...a }]));
    this.bySession = new Map(base.bySession.map(([k, a]) => [k, { ...a }]));
    this.last = base.last && { ...base.last };
    this.trailingDays = [...base.trailingDays];
    this.firstRecordDay = base.firstRecordDay;
    this.rollOverAt = this.nextRollOver(new Date(this.periodStarts.day));
  }

  /** Counts one newly recorded request. */
  add(r: RequestRecord, now?: Date): void {
    this.rollOver(now ? now.getTime() : Date.now());
    if (r.startedAt >= this.periodStarts.month) addRecord(this.month, r);
    if (r.startedAt >= this.periodStarts.week) addRecord(this.week, r);
    if (r.startedAt >= this.periodStarts.day) {
      addRecord(this.today, r);
      addToGroup(this.byProvider, r.provider, r);
      addToGroup(this.byModel, r.model, r);
      addToGroup(this.byClient, r.client, r);
      if (r.session) {
        let s = this.bySession.get(r.session);
        if (!s) this.bySession.set(r.session, (s = { ...emptyAcc(), lastAt: 0 }));
        addRecord(s, r);
        s.lastAt = Math.max(s.lastAt, r.startedAt);
      }
    }
    if (this.firstRecordDay === null) this.firstRecordDay = localDay(r.startedAt);
    if (!this.last || r.startedAt >= this.last.at) {
      this.last = { at: r.startedAt, provider: r.provider, model: r.model, costUsd: nanosToUsd(r.costNanos), costStatus: r.costStatus };
    }
  }

  snapshot(recordingPaused: boolean, now = new Date()): SpendSummary {
    this.rollOver(now.getTime());
    const top = (map: Map<string, Acc>, filter: (a: Acc & { lastAt?: number }) => boolean = () => true): SummaryGroup[] =>
      [...map.entries()]
        .filter(([, a]) => filter(a))
        .sort(([ka, a], [kb, b]) => b.nanos - a.nanos || b.requests - a.requests || ka.localeCompare(kb))
        .slice(0, SUMMARY_TOP_N)
        .map(([key, a]) => ({ key, ...totalsOf(a) }));
    const activeSince = now.getTime() - ACTIVE_SESSION_MINUTES * 60_000;
    return {
      at: now.getTime(),
      today: totalsOf(this.today),
      week: totalsOf(this.week),
      month: totalsOf(this.month),
      todayByProvider: top(this.byProvider),
      todayByModel: top(this.byModel),
      todayByClient: top(this.byClient),
      activeSessions: top(this.bySession, (a) => (a.lastAt ?? 0) >= activeSince),
      activeSessionMinutes: ACTIVE_SESSION_MINUTES,
      lastRecord: this.last,
      recordingPaused,
      forecast: forecastView(
        monthForecast({ now: now.getTime(), monthToDateNanos: this.month.nanos, trailingDays: this.trailingDays, firstRecordDay: this.firstRecordDay }),
      ),
    };
  }

  /** Epoch ms of the next local midnight: when the "today" figures must start again from zero. */
  nextRollOver(now = new Date()): number {
    return daysBefore(localDayStart(now.getTime()), -1);
  }

  private rollOver(nowMs: number): void {
    if (nowMs < this.rollOverAt) return;
    const now = new Date(nowMs);
    const starts = { day: parseSince('today', now), week: parseSince('week', now), month: parseSince('month', now) };
    rollTrailingDays(this.trailingDays, this.periodStarts.day, this.today.nanos, starts.day);
    this.today = emptyAcc();
    this.byProvider.clear();
    this.byModel.clear();
    this.byClient.clear();
    this.bySession.clear();
    if (starts.week !== this.periodStarts.week) this.week = emptyAcc();
    if (starts.month !== this.periodStarts.month) this.month = emptyAcc();
    this.periodStarts = starts;
    this.rollOverAt = this.nextRollOver(new Date(starts.day));
  }
}

function addToGroup(groups: Map<string, Acc>, key: string | null, r: RequestRecord): void {
  const k = key || UNTAGGED;
  let acc = groups.get(k);
  if (!acc) groups.set(k, (acc = emptyAcc()));
  addRecord(acc, r);
}
