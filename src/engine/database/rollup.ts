import type { Database, Statement } from 'sql.js';
import { daysBefore, localDay, localDayStart } from '../../shared';
import type { RequestRecord } from './record';

/**
 * The dashboard's pre-aggregated tables, kept up to date with every insert into `requests`
 * (RollupBatch: added up per batch of records, then one upsert per row touched), so the dashboard reads a few thousand rollup rows instead of scanning a million
 * records per render:
 *  - daily_rollup: one row per local day × provider × model × feature × workspace × client;
 *  - session_rollup: one row per local day × session × workspace (sessions are many; kept apart so
 *    they do not multiply the rows of the first).
 * Untagged values are stored as '' (SQLite treats NULLs as distinct in a UNIQUE key).
 */

/** Prompts at least this long are worth caching (the providers' minimum cacheable prefix is 1,024 tokens). */
export const LONG_PROMPT_TOKENS = 1024;

/** Local calendar day of an epoch-ms column, as SpendQuery's `by day` groups it. */
export const LOCAL_DAY_SQL = (column: string) => `strftime('%Y-%m-%d', ${column} / 1000, 'unixepoch', 'localtime')`;

/** A request that failed: refused, reset, or answered with an HTTP error. */
const FAILED_SQL = (r: string) => `(${r}.status = 0 OR ${r}.status >= 400)`;
const LONG_UNCACHED_SQL = (r: string) => `(${r}.input_tokens >= ${LONG_PROMPT_TOKENS} AND ${r}.cache_read_tokens = 0)`;

/**
 * What session_rollup sums besides requests, cost and tokens (schema 4): enough for `report --by
 * session` over whole days to read the rollup instead of the records.
 */
const SESSION_TOTALS_COLUMNS = ['input_tokens', 'cache_read_tokens', 'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'unpriced_requests'] as const;
const SESSION_TOTALS_SQL = (r: string) =>
  `SUM(${r}input_tokens), SUM(${r}cache_read_tokens), SUM(${r}cache_write_tokens), SUM(${r}output_tokens), SUM(${r}reasoning_tokens), SUM(${r}cost_status = 'unpriced')`;

const DAILY_ROLLUP_TABLE = `
CREATE TABLE IF NOT EXISTS daily_rollup (
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  feature TEXT NOT NULL,
  workspace TEXT NOT NULL,
  client TEXT NOT NULL,
  requests INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  unpriced_requests INTEGER NOT NULL,
  failed_requests INTEGER NOT NULL,
  failed_cost_nanos INTEGER NOT NULL,
  long_uncached_requests INTEGER NOT NULL,
  long_uncached_input_tokens INTEGER NOT NULL,
  long_uncached_min_input INTEGER,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (day, provider, model, feature, workspace, client)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS daily_rollup_workspace ON daily_rollup(workspace, day);
`;

export const ROLLUP_SCHEMA = `
${DAILY_ROLLUP_TABLE}CREATE TABLE IF NOT EXISTS session_rollup (
  day TEXT NOT NULL,
  session TEXT NOT NULL,
  workspace TEXT NOT NULL,
  requests INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  ${SESSION_TOTALS_COLUMNS.map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(', ')},
  PRIMARY KEY (day, session, workspace)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS requests_cost ON requests(cost_nanos);
-- A record re-priced (burnrate reprice --apply) moves its rollup rows by the difference.
CREATE TRIGGER IF NOT EXISTS requests_rollup_repriced AFTER UPDATE OF cost_nanos, cost_status ON requests BEGIN
  UPDATE daily_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced'),
    failed_cost_nanos = failed_cost_nanos + CASE WHEN ${FAILED_SQL('NEW')} THEN NEW.cost_nanos - OLD.cost_nanos ELSE 0 END
  WHERE day = ${LOCAL_DAY_SQL('NEW.started_at')} AND provider = NEW.provider AND model = COALESCE(NEW.model, '')
    AND feature = COALESCE(NEW.feature, '') AND workspace = COALESCE(NEW.workspace, '') AND client = COALESCE(NEW.client, '');
  UPDATE session_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced')
  WHERE NEW.session IS NOT NULL AND NEW.session != '' AND day = ${LOCAL_DAY_SQL('NEW.started_at')}
    AND session = NEW.session AND workspace = COALESCE(NEW.workspace, '');
END;
-- Inserts are added up by RollupBatch (below), a batch at a time; triggers per row cost more than the row itself.
DROP TRIGGER IF EXISTS requests_rollup;
DROP TRIGGER IF EXISTS requests_session_rollup;
`;

/**
 * Schema 2 → 3: client joins daily_rollup's key. The rows are copied (client '': no record had one
 * yet), not rebuilt from the records, so days whose records retention has deleted keep their totals.
 * The reprice trigger is dropped here and created again by ROLLUP_SCHEMA with the new key.
 */
export const ROLLUP_CLIENT_MIGRATION = `
DROP TRIGGER IF EXISTS requests_rollup_repriced;
ALTER TABLE daily_rollup RENAME TO daily_rollup_v2;
DROP INDEX IF EXISTS daily_rollup_workspace;
${DAILY_ROLLUP_TABLE}
INSERT INTO daily_rollup SELECT day, provider, model, feature, workspace, '', requests, cost_nanos, input_tokens,
  cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, unpriced_requests, failed_requests,
  failed_cost_nanos, long_uncached_requests, long_uncached_input_tokens, long_uncached_min_input, first_at, last_at
FROM daily_rollup_v2;
DROP TABLE daily_rollup_v2;
`;

/** Fills the rollups from records written before they existed (run once, by the schema migration). */
export const ROLLUP_BACKFILL = `
DELETE FROM daily_rollup;
DELETE FROM session_rollup;
INSERT INTO daily_rollup
SELECT ${LOCAL_DAY_SQL('r.started_at')} AS d, r.provider, COALESCE(r.model, '') AS m, COALESCE(r.feature, '') AS f,
  COALESCE(r.workspace, '') AS w, COALESCE(r.client, '') AS c,
  COUNT(*), SUM(r.cost_nanos), SUM(r.input_tokens), SUM(r.cache_read_tokens), SUM(r.cache_write_tokens),
  SUM(r.output_tokens), SUM(r.reasoning_tokens), SUM(r.cost_status = 'unpriced'), SUM(${FAILED_SQL('r')}),
  SUM(CASE WHEN ${FAILED_SQL('r')} THEN r.cost_nanos ELSE 0 END), SUM(${LONG_UNCACHED_SQL('r')}),
  SUM(CASE WHEN ${LONG_UNCACHED_SQL('r')} THEN r.input_tokens ELSE 0 END),
  MIN(CASE WHEN ${LONG_UNCACHED_SQL('r')} THEN r.input_tokens END),
  MIN(r.started_at), MAX(r.started_at)
FROM requests r GROUP BY d, r.provider, m, f, w, c;
INSERT INTO session_rollup (day, session, workspace, requests, cost_nanos, tokens, first_at, last_at, ${SESSION_TOTALS_COLUMNS.join(', ')})
SELECT ${LOCAL_DAY_SQL('started_at')} AS d, session, COALESCE(workspace, '') AS w, COUNT(*), SUM(cost_nanos),
  SUM(input_tokens + output_tokens), MIN(started_at), MAX(started_at), ${SESSION_TOTALS_SQL('')}
FROM requests WHERE session IS NOT NULL AND session != '' GROUP BY d, session, w;
`;

/**
 * Schema 3 → 4: session_rollup gains the token and unpriced columns, filled from the records still
 * kept (a day whose records retention deleted keeps its requests, cost and tokens, with zeros for
 * the new columns). The reprice trigger is created again by ROLLUP_SCHEMA, now moving them too.
 */
export function sessionTotalsMigration(existingColumns: readonly string[]): string {
  const add = SESSION_TOTALS_COLUMNS.filter((c) => !existingColumns.includes(c));
  return `
DROP TRIGGER IF EXISTS requests_rollup_repriced;
${add.map((c) => `ALTER TABLE session_rollup ADD COLUMN ${c} INTEGER NOT NULL DEFAULT 0;`).join('\n')}
CREATE TEMP TABLE session_sums AS
SELECT ${LOCAL_DAY_SQL('started_at')} AS d, session AS s, COALESCE(workspace, '') AS w, ${SESSION_TOTALS_SQL('')
    .split(', ')
    .map((sum, i) => `${sum} AS ${SESSION_TOTALS_COLUMNS[i]}`)
    .join(', ')}
FROM requests WHERE session IS NOT NULL AND session != '' GROUP BY d, s, w;
UPDATE session_rollup SET ${SESSION_TOTALS_COLUMNS.map((c) => `${c} = t.${c}`).join(', ')}
FROM session_sums t WHERE session_rollup.day = t.d AND session_rollup.session = t.s AND session_rollup.workspace = t.w;
DROP TABLE session_sums;
`;
}

const DAILY_UPSERT = `INSERT INTO daily_rollup VALUES (${new Array(21).fill('?').join(', ')})
  ON CONFLICT DO UPDATE SET
    requests = requests + excluded.requests,
    cost_nanos = cost_nanos + excluded.cost_nanos,
    input_tokens = input_tokens + excluded.input_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
    unpriced_requests = unpriced_requests + excluded.unpriced_requests,
    failed_requests = failed_requests + excluded.failed_requests,
    failed_cost_nanos = failed_cost_nanos + excluded.failed_cost_nanos,
    long_uncached_requests = long_uncached_requests + excluded.long_uncached_requests,
    long_uncached_input_tokens = long_uncached_input_tokens + excluded.long_uncached_input_tokens,
    long_uncached_min_input = CASE
      WHEN excluded.long_uncached_min_input IS NULL THEN long_uncached_min_input
      WHEN long_uncached_min_input IS NULL THEN excluded.long_uncached_min_input
      ELSE MIN(long_uncached_min_input, excluded.long_uncached_min_input) END,
    first_at = MIN(first_at, excluded.first_at),
    last_at = MAX(last_at, excluded.last_at)`;

const SESSION_UPSERT = `INSERT INTO session_rollup (day, session, workspace, requests, cost_nanos, tokens, first_at, last_at, ${SESSION_TOTALS_COLUMNS.join(', ')})
  VALUES (${new Array(8 + SESSION_TOTALS_COLUMNS.length).fill('?').join(', ')})
  ON CONFLICT DO UPDATE SET
    requests = requests + excluded.requests,
    cost_nanos = cost_nanos + excluded.cost_nanos,
    tokens = tokens + excluded.tokens,
    first_at = MIN(first_at, excluded.first_at),
    last_at = MAX(last_at, excluded.last_at),
    ${SESSION_TOTALS_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`;

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

interface SessionSums {
  key: [string, string, string];
  requests: number;
  costNanos: number;
  tokens: number;
  firstAt: number;
  lastAt: number;
  /** In SESSION_TOTALS_COLUMNS' order. */
  totals: [number, number, number, number, number, number];
}

/**
 * Adds up newly inserted records by rollup row, then writes each row once: a batch of a thousand
 * records from one script touches one or two rows, not two thousand. Sums what the backfill's SQL
 * sums (ROLLUP_BACKFILL), the day being the local day of `started_at / 1000` as SQLite computes it.
 */
export class RollupBatch {
  private readonly daily = new Map<string, DailySums>();
  private readonly sessions = new Map<string, SessionSums>();
  private dayCache = { start: 0, end: -1, day: '' };
  private dailyUpsert: Statement | undefined;
  private sessionUpsert: Statement | undefined;

  constructor(private readonly db: Database) {}

  add(r: RequestRecord): void {
    const day = this.localDay(r.startedAt);
    this.addToDay(r, day);
    if (r.session) this.addToSession(r, day, r.session);
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
    const t = s.totals;
    t[0] += r.inputTokens;
    t[1] += r.cacheReadTokens;
    t[2] += r.cacheWriteTokens;
    t[3] += r.outputTokens;
    t[4] += r.reasoningTokens;
    if (r.costStatus === 'unpriced') t[5]++;
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
    } finally {
      this.daily.clear();
      this.sessions.clear();
    }
  }

  /** Frees the prepared statements (before the database closes). */
  free(): void {
    this.dailyUpsert?.free();
    this.sessionUpsert?.free();
    this.dailyUpsert = this.sessionUpsert = undefined;
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
