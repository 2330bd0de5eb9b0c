import type { Database, Statement } from 'sql.js';
import { daysBefore, localDay, localDayStart } from '../../../shared';
import type { RequestRecord } from '../record';
import { REPORT_FIGURES } from './coarseRollups';
import { LONG_PROMPT_TOKENS, ROLLUP_REPRICE_SQL, TAG_TOTALS_COLUMNS } from './rollupSchema';

/**
 * Adds newly inserted records to the rollups (rollupSchema.ts) a batch at a time.
 */

/** An upsert's SET clauses that add the incoming row's counts to the stored ones. */
function added(columns: readonly string[]): string {
  return columns.map((c) => `${c} = ${c} + excluded.${c}`).join(',\n    ');
}

/** Keeps the earliest first call and the latest last one. */
const FIRST_AND_LAST = `first_at = MIN(first_at, excluded.first_at),
    last_at = MAX(last_at, excluded.last_at)`;

const DAILY_UPSERT = `INSERT INTO daily_rollup VALUES (${new Array(21).fill('?').join(', ')})
  ON CONFLICT DO UPDATE SET
    ${added([...REPORT_FIGURES, 'failed_requests', 'failed_cost_nanos', 'long_uncached_requests', 'long_uncached_input_tokens'])},
    long_uncached_min_input = CASE
      WHEN excluded.long_uncached_min_input IS NULL THEN long_uncached_min_input
      WHEN long_uncached_min_input IS NULL THEN excluded.long_uncached_min_input
      ELSE MIN(long_uncached_min_input, excluded.long_uncached_min_input) END,
    ${FIRST_AND_LAST}`;

/** session_rollup's columns in the order SESSION_UPSERT takes them. */
export const SESSION_ROLLUP_COLUMNS = `day, session, workspace, requests, cost_nanos, tokens, first_at, last_at, ${TAG_TOTALS_COLUMNS.join(', ')}`;

/** Adds a session row to session_rollup (a batch's sums, or a whole row moved between the index and a month's archive). */
export const SESSION_UPSERT = `INSERT INTO session_rollup (${SESSION_ROLLUP_COLUMNS})
  VALUES (${new Array(8 + TAG_TOTALS_COLUMNS.length).fill('?').join(', ')})
  ON CONFLICT DO UPDATE SET
    ${added(['requests', 'cost_nanos', 'tokens', ...TAG_TOTALS_COLUMNS])},
    ${FIRST_AND_LAST}`;

/** An upsert into a tag rollup (user_rollup, branch_rollup) keyed by day and `keyColumns`. */
function tagUpsert(table: string, keyColumns: readonly string[]): string {
  const columns = ['day', ...keyColumns, 'requests', 'cost_nanos', ...TAG_TOTALS_COLUMNS];
  return `INSERT INTO ${table} (${columns.join(', ')})
  VALUES (${columns.map(() => '?').join(', ')})
  ON CONFLICT DO UPDATE SET
    ${added(['requests', 'cost_nanos', ...TAG_TOTALS_COLUMNS])}`;
}
const USER_UPSERT = tagUpsert('user_rollup', ['user']);
const BRANCH_UPSERT = tagUpsert('branch_rollup', ['branch', 'workspace']);

/** One daily_rollup row's worth of a batch, in the table's column order after the key. */
interface DailySums {
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

type TotalsSums = [number, number, number, number, number, number];

/** Adds a record to sums in TAG_TOTALS_COLUMNS' order. */
function addTotals(t: TotalsSums, r: RequestRecord): void {
  t[0] += r.inputTokens;
  t[1] += r.cacheReadTokens;
  t[2] += r.cacheWriteTokens;
  t[3] += r.outputTokens;
  t[4] += r.reasoningTokens;
  if (r.costStatus === 'unpriced') t[5]++;
}

/** A tag rollup's row (user_rollup, branch_rollup) worth of a batch: its key, from the day on. */
interface TagSums {
  key: string[];
  requests: number;
  costNanos: number;
  totals: TotalsSums;
}

interface SessionSums {
  key: [string, string, string];
  requests: number;
  costNanos: number;
  tokens: number;
  firstAt: number;
  lastAt: number;
  /** In TAG_TOTALS_COLUMNS' order. */
  totals: TotalsSums;
}

/**
 * Adds up newly inserted records by rollup row, then writes each row once: a batch of a thousand
 * records from one script touches one or two rows, not two thousand. Sums what the backfill's SQL
 * sums (ROLLUP_BACKFILL), the day being the local day of `started_at / 1000` as SQLite computes it.
 */
export class RollupBatch {
  private readonly daily = new Map<string, DailySums>();
  private readonly sessions = new Map<string, SessionSums>();
  private readonly users = new Map<string, TagSums>();
  private readonly branches = new Map<string, TagSums>();
  private dayCache = { start: 0, end: -1, day: '' };
  private dailyUpsert: Statement | undefined;
  private sessionUpsert: Statement | undefined;
  private userUpsert: Statement | undefined;
  private branchUpsert: Statement | undefined;

  constructor(private readonly db: Database) {}

  add(r: RequestRecord): void {
    const day = this.localDay(r.startedAt);
    this.addToDay(r, day);
    if (r.session) this.addToSession(r, day, r.session);
    if (r.user) addToTag(this.users, [day, r.user], r);
    if (r.branch) addToTag(this.branches, [day, r.branch, r.workspace ?? ''], r);
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
  /** Writes the sums (inside the caller's transaction) and empties the batch. */
  write(): void {
    try {
      if (this.daily.size) {
        const stmt = (this.dailyUpsert ??= this.db.prepare(DAILY_UPSERT));
        for (const d of this.daily.values()) {
          stmt.run([
            ...d.key,
            d.requests,
            d.costNanos,
            d.inputTokens,
            d.cacheReadTokens,
            d.cacheWriteTokens,
            d.outputTokens,
            d.reasoningTokens,
            d.unpriced,
            d.failed,
            d.failedCostNanos,
            d.longUncached,
            d.longUncachedInput,
            d.longUncachedMin,
            d.firstAt,
            d.lastAt,
          ]);
        }
      }
      if (this.sessions.size) {
        const stmt = (this.sessionUpsert ??= this.db.prepare(SESSION_UPSERT));
        for (const s of this.sessions.values()) stmt.run([...s.key, s.requests, s.costNanos, s.tokens, s.firstAt, s.lastAt, ...s.totals]);
      }
      if (this.users.size) writeTagSums((this.userUpsert ??= this.db.prepare(USER_UPSERT)), this.users);
      if (this.branches.size) writeTagSums((this.branchUpsert ??= this.db.prepare(BRANCH_UPSERT)), this.branches);
    } finally {
      this.daily.clear();
      this.sessions.clear();
      this.users.clear();
      this.branches.clear();
    }
  }

  /** Frees the prepared statements (before the database closes). */
  free(): void {
    this.dailyUpsert?.free();
    this.sessionUpsert?.free();
    this.userUpsert?.free();
    this.branchUpsert?.free();
    this.dailyUpsert = this.sessionUpsert = this.userUpsert = this.branchUpsert = undefined;
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

/** Adds a record to its row of a tag rollup's batch, keyed by `key` (the day first). */
function addToTag(rows: Map<string, TagSums>, key: string[], r: RequestRecord): void {
  const id = key.join('\0');
  let t = rows.get(id);
  if (!t) rows.set(id, (t = { key, requests: 0, costNanos: 0, totals: [0, 0, 0, 0, 0, 0] }));
  t.requests++;
  t.costNanos += r.costNanos;
  addTotals(t.totals, r);
}

function writeTagSums(upsert: Statement, rows: Map<string, TagSums>): void {
  for (const t of rows.values()) upsert.run([...t.key, t.requests, t.costNanos, ...t.totals]);
}

/** A record's cost as it was and as repricing makes it. */
export interface CostChange {
  costNanos: number;
  costStatus: string;
}

/** Moves the rollup rows a re-priced record counts in by the difference (inside the caller's transaction). */
export function repriceRollups(index: Database, r: RequestRecord, before: CostChange, after: CostChange): void {
  const params = {
    ':startedAt': r.startedAt,
    ':provider': r.provider,
    ':model': r.model ?? '',
    ':feature': r.feature ?? '',
    ':workspace': r.workspace ?? '',
    ':client': r.client ?? '',
    ':session': r.session ?? '',
    ':user': r.user ?? '',
    ':branch': r.branch ?? '',
    ':status': r.status,
    ':oldCost': before.costNanos,
    ':newCost': after.costNanos,
    ':oldStatus': before.costStatus,
    ':newStatus': after.costStatus,
  };
  for (const sql of ROLLUP_REPRICE_SQL) {
    const used = Object.fromEntries(Object.entries(params).filter(([name]) => sql.includes(name)));
    index.run(sql, used);
  }
}
