import { daysBefore, localDay, localDayStart } from '../../../shared';
import type { RequestRecord } from '../record';
import { LONG_PROMPT_TOKENS } from './rollupSchema';

/** One daily_rollup row's worth of records, in the table's column order after the key. */
export interface DailySums {
  key: [string, string, string, string, string, string];
  requests: number;
  costNanos: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  unpriced: number;
  failed: number;
  failedCostNanos: number;
  longUncached: number;
  longUncachedInput: number;
  longUncachedMin: number | null;
  firstAt: number;
  lastAt: number;
}

/** In TAG_TOTALS_COLUMNS' order. */
type TotalsSums = [number, number, number, number, number, number];

/** A tag rollup's row (user_rollup, branch_rollup) worth of records: its key, from the day on. */
export interface TagSums {
  key: string[];
  requests: number;
  costNanos: number;
  totals: TotalsSums;
}

export interface SessionSums {
  key: [string, string, string];
  requests: number;
  costNanos: number;
  tokens: number;
  firstAt: number;
  lastAt: number;
  totals: TotalsSums;
}

/** The sums as plain data: what a thread that added records up hands to the one that writes them. */
export interface PlainRollupSums {
  daily: DailySums[];
  sessions: SessionSums[];
  users: TagSums[];
  branches: TagSums[];
}

/**
 * Records added up by rollup row (rollupSchema.ts), in memory: what RollupBatch writes. Sums what
 * the backfill's SQL sums (ROLLUP_BACKFILL), the day being the local day of `started_at / 1000` as
 * SQLite computes it. Sums made elsewhere (a thread building segments) are merged in as they are.
 */
export class RollupSums {
  protected readonly daily = new Map<string, DailySums>();
  protected readonly sessions = new Map<string, SessionSums>();
  protected readonly users = new Map<string, TagSums>();
  protected readonly branches = new Map<string, TagSums>();
  private dayCache = { start: 0, end: -1, day: '' };

  add(r: RequestRecord): void {
    const day = this.localDay(r.startedAt);
    this.addToDay(r, day);
    if (r.session) this.addToSession(r, day, r.session);
    if (r.user) addToTag(this.users, [day, r.user], r);
    if (r.branch) addToTag(this.branches, [day, r.branch, r.workspace ?? ''], r);
  }

  /** The sums so far, as plain data (`merge` takes them). */
  plain(): PlainRollupSums {
    return { daily: [...this.daily.values()], sessions: [...this.sessions.values()], users: [...this.users.values()], branches: [...this.branches.values()] };
  }

  /** Adds sums made elsewhere to these. */
  merge(other: PlainRollupSums): void {
    for (const d of other.daily) {
      const mine = this.daily.get(d.key.join('\0'));
      if (!mine) this.daily.set(d.key.join('\0'), { ...d });
      else mergeDaily(mine, d);
    }
    for (const s of other.sessions) {
      const mine = this.sessions.get(s.key.join('\0'));
      if (!mine) this.sessions.set(s.key.join('\0'), { ...s, totals: [...s.totals] });
      else {
        mine.requests += s.requests;
        mine.costNanos += s.costNanos;
        mine.tokens += s.tokens;
        mine.firstAt = Math.min(mine.firstAt, s.firstAt);
        mine.lastAt = Math.max(mine.lastAt, s.lastAt);
        addUp(mine.totals, s.totals);
      }
    }
    mergeTags(this.users, other.users);
    mergeTags(this.branches, other.branches);
  }

  protected clear(): void {
    this.daily.clear();
    this.sessions.clear();
    this.users.clear();
    this.branches.clear();
  }

  private addToDay(r: RequestRecord, day: string): void {
    const model = r.model ?? '';
    const feature = r.feature ?? '';
    const workspace = r.workspace ?? '';
    const client = r.client ?? '';
    const dailyKey = `${day}\0${r.provider}\0${model}\0${feature}\0${workspace}\0${client}`;
    let d = this.daily.get(dailyKey);
    if (!d) {
      d = {
        key: [day, r.provider, model, feature, workspace, client],
        requests: 0,
        costNanos: 0,
        inputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 0,
        reasoningTokens: 0,
        unpriced: 0,
        failed: 0,
        failedCostNanos: 0,
        longUncached: 0,
        longUncachedInput: 0,
        longUncachedMin: null,
        firstAt: r.startedAt,
        lastAt: r.startedAt,
      };
      this.daily.set(dailyKey, d);
    }
    d.requests++;
    d.costNanos += r.costNanos;
    d.inputTokens += r.inputTokens;
    d.cacheReadTokens += r.cacheReadTokens;
    d.cacheWriteTokens += r.cacheWriteTokens;
    d.outputTokens += r.outputTokens;
    d.reasoningTokens += r.reasoningTokens;
    if (r.costStatus === 'unpriced') d.unpriced++;
    if (r.status === 0 || r.status >= 400) {
      d.failed++;
      d.failedCostNanos += r.costNanos;
    }
    if (r.inputTokens >= LONG_PROMPT_TOKENS && r.cacheReadTokens === 0) {
      d.longUncached++;
      d.longUncachedInput += r.inputTokens;
      d.longUncachedMin = d.longUncachedMin === null ? r.inputTokens : Math.min(d.longUncachedMin, r.inputTokens);
    }
    d.firstAt = Math.min(d.firstAt, r.startedAt);
    d.lastAt = Math.max(d.lastAt, r.startedAt);
  }

  private addToSession(r: RequestRecord, day: string, session: string): void {
    const workspace = r.workspace ?? '';
    const sessionKey = `${day}\0${session}\0${workspace}`;
    let s = this.sessions.get(sessionKey);
    if (!s) {
      s = { key: [day, session, workspace], requests: 0, costNanos: 0, tokens: 0, firstAt: r.startedAt, lastAt: r.startedAt, totals: [0, 0, 0, 0, 0, 0] };
      this.sessions.set(sessionKey, s);
    }
    s.requests++;
    s.costNanos += r.costNanos;
    s.tokens += r.inputTokens + r.outputTokens;
    addTotals(s.totals, r);
    s.firstAt = Math.min(s.firstAt, r.startedAt);
    s.lastAt = Math.max(s.lastAt, r.startedAt);
  }

  /** SQLite's strftime('%Y-%m-%d', started_at / 1000, 'unixepoch', 'localtime'): whole seconds, local time; cached per day. */
  private localDay(startedAt: number): string {
    const at = Math.trunc(startedAt / 1000) * 1000;
    const c = this.dayCache;
    if (at >= c.start && at < c.end) return c.day;
    const start = localDayStart(at);
    this.dayCache = { start, end: daysBefore(start, -1), day: localDay(at) };
    return this.dayCache.day;
  }
}

/** Adds a record to sums in TAG_TOTALS_COLUMNS' order. */
function addTotals(t: TotalsSums, r: RequestRecord): void {
  t[0] += r.inputTokens;
  t[1] += r.cacheReadTokens;
  t[2] += r.cacheWriteTokens;
  t[3] += r.outputTokens;
  t[4] += r.reasoningTokens;
  if (r.costStatus === 'unpriced') t[5]++;
}

function addUp(to: TotalsSums, from: TotalsSums): void {
  for (let i = 0; i < to.length; i++) to[i] += from[i];
}

/** Adds a record to its row of a tag rollup's sums, keyed by `key` (the day first). */
function addToTag(rows: Map<string, TagSums>, key: string[], r: RequestRecord): void {
  const id = key.join('\0');
  let t = rows.get(id);
  if (!t) rows.set(id, (t = { key, requests: 0, costNanos: 0, totals: [0, 0, 0, 0, 0, 0] }));
  t.requests++;
  t.costNanos += r.costNanos;
  addTotals(t.totals, r);
}

function mergeTags(rows: Map<string, TagSums>, other: readonly TagSums[]): void {
  for (const t of other) {
    const mine = rows.get(t.key.join('\0'));
    if (!mine) rows.set(t.key.join('\0'), { ...t, totals: [...t.totals] });
    else {
      mine.requests += t.requests;
      mine.costNanos += t.costNanos;
      addUp(mine.totals, t.totals);
    }
  }
}

/** The DailySums figures that add up as they are. */
const DAILY_ADDED = [
  'requests',
  'costNanos',
  'inputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'outputTokens',
  'reasoningTokens',
  'unpriced',
  'failed',
  'failedCostNanos',
  'longUncached',
  'longUncachedInput',
] as const satisfies ReadonlyArray<keyof DailySums>;

function mergeDaily(mine: DailySums, d: DailySums): void {
  for (const figure of DAILY_ADDED) mine[figure] += d[figure];
  if (d.longUncachedMin !== null) mine.longUncachedMin = mine.longUncachedMin === null ? d.longUncachedMin : Math.min(mine.longUncachedMin, d.longUncachedMin);
  mine.firstAt = Math.min(mine.firstAt, d.firstAt);
  mine.lastAt = Math.max(mine.lastAt, d.lastAt);
}
