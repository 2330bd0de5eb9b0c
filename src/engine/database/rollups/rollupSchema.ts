import type { Database } from 'sql.js';
import { addCoarseRollups } from './coarseRollups';

/**
 * The dashboard's pre-aggregated tables, kept up to date with every insert into `requests`
 * (RollupBatch: added up per batch of records, then one upsert per row touched), so the dashboard reads a few thousand rollup rows instead of scanning a million
 * records per render:
 *  - daily_rollup: one row per local day × provider × model × feature × workspace × client;
 *  - session_rollup: one row per local day × session × workspace (sessions are many; kept apart so
 *    they do not multiply the rows of the first);
 *  - user_rollup: one row per local day × user tag, for the same reason;
 *  - branch_rollup: one row per local day × git branch × workspace (a branch name means something
 *    within its repository, and the dashboard shows one workspace at a time).
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
 * What session_rollup, user_rollup and branch_rollup sum besides requests and cost (schema 4), each column with its
 * sum over records: enough for `report --by session|user` over whole days to read the rollups.
 */
const TAG_TOTALS = {
  input_tokens: 'SUM(input_tokens)',
  cache_read_tokens: 'SUM(cache_read_tokens)',
  cache_write_tokens: 'SUM(cache_write_tokens)',
  output_tokens: 'SUM(output_tokens)',
  reasoning_tokens: 'SUM(reasoning_tokens)',
  unpriced_requests: "SUM(cost_status = 'unpriced')",
} as const;
export const TAG_TOTALS_COLUMNS = Object.keys(TAG_TOTALS) as ReadonlyArray<keyof typeof TAG_TOTALS>;
const TAG_TOTALS_SUMS = Object.values(TAG_TOTALS).join(', ');

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

const USER_ROLLUP_TABLE = `CREATE TABLE IF NOT EXISTS user_rollup (
  day TEXT NOT NULL,
  user TEXT NOT NULL,
  requests INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  ${TAG_TOTALS_COLUMNS.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
  PRIMARY KEY (day, user)
) WITHOUT ROWID;`;

const USER_ROLLUP_FILL = `INSERT INTO user_rollup
SELECT ${LOCAL_DAY_SQL('started_at')} AS d, user, COUNT(*), SUM(cost_nanos), ${TAG_TOTALS_SUMS}
FROM requests WHERE user IS NOT NULL AND user != '' GROUP BY d, user;`;

/** Made IF NOT EXISTS at every open: indexes and single files from before branches get it empty (their records have none). */
const BRANCH_ROLLUP_TABLE = `CREATE TABLE IF NOT EXISTS branch_rollup (
  day TEXT NOT NULL,
  branch TEXT NOT NULL,
  workspace TEXT NOT NULL,
  requests INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  ${TAG_TOTALS_COLUMNS.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
  PRIMARY KEY (day, branch, workspace)
) WITHOUT ROWID;`;

/** Sessions' rollup, as the index holds the recent months' and each month's archive file the older ones' (sessionArchive.ts). */
export const SESSION_ROLLUP_TABLE = `CREATE TABLE IF NOT EXISTS session_rollup (
  day TEXT NOT NULL,
  session TEXT NOT NULL,
  workspace TEXT NOT NULL,
  requests INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  ${TAG_TOTALS_COLUMNS.map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(', ')},
  PRIMARY KEY (day, session, workspace)
) WITHOUT ROWID;
`;

/** The rollup tables, as the index database (schema 5) and single-file databases hold them. */
export const ROLLUP_TABLES = `
${DAILY_ROLLUP_TABLE}${SESSION_ROLLUP_TABLE}${USER_ROLLUP_TABLE}${BRANCH_ROLLUP_TABLE}
`;

/** Creates the rollup tables a database lacks, the coarse ones included (coarseRollups.ts); returns whether that changed what it holds. */
export function createRollupTables(db: Database): boolean {
  db.exec(ROLLUP_TABLES);
  return addCoarseRollups(db);
}

/**
 * A record re-priced moves its rollup rows by the difference. Parameters: the record's started_at,
 * provider, model, feature, workspace, client, session, user, branch and status, then its old and new
 * cost_nanos and cost_status (see repriceRollups in rollup.ts).
 */
const REPRICED = `
  cost_nanos = cost_nanos - :oldCost + :newCost,
  unpriced_requests = unpriced_requests - (:oldStatus = 'unpriced') + (:newStatus = 'unpriced')`;
export const ROLLUP_REPRICE_SQL = [
  `UPDATE daily_rollup SET ${REPRICED},
    failed_cost_nanos = failed_cost_nanos + CASE WHEN (:status = 0 OR :status >= 400) THEN :newCost - :oldCost ELSE 0 END
  WHERE day = ${LOCAL_DAY_SQL(':startedAt')} AND provider = :provider AND model = :model AND feature = :feature
    AND workspace = :workspace AND client = :client`,
  `UPDATE session_rollup SET ${REPRICED}
  WHERE :session != '' AND day = ${LOCAL_DAY_SQL(':startedAt')} AND session = :session AND workspace = :workspace`,
  `UPDATE user_rollup SET ${REPRICED} WHERE :user != '' AND day = ${LOCAL_DAY_SQL(':startedAt')} AND user = :user`,
  `UPDATE branch_rollup SET ${REPRICED}
  WHERE :branch != '' AND day = ${LOCAL_DAY_SQL(':startedAt')} AND branch = :branch AND workspace = :workspace`,
];

/**
 * Single-file schema 2 → 3: client joins daily_rollup's key. The rows are copied (client '': no
 * record had one yet), not rebuilt from the records, so days whose records retention has deleted
 * keep their totals.
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
DELETE FROM user_rollup;
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
INSERT INTO session_rollup (day, session, workspace, requests, cost_nanos, tokens, first_at, last_at, ${TAG_TOTALS_COLUMNS.join(', ')})
SELECT ${LOCAL_DAY_SQL('started_at')} AS d, session, COALESCE(workspace, '') AS w, COUNT(*), SUM(cost_nanos),
  SUM(input_tokens + output_tokens), MIN(started_at), MAX(started_at), ${TAG_TOTALS_SUMS}
FROM requests WHERE session IS NOT NULL AND session != '' GROUP BY d, session, w;
${USER_ROLLUP_FILL}
`;

/**
 * Single-file schema 3 → 4: session_rollup gains the token and unpriced columns, filled from the
 * records still kept (a day whose records retention deleted keeps its requests, cost and tokens,
 * with zeros for the new columns), and user_rollup is made from the records kept.
 */
export function schema4Migration(existingColumns: readonly string[]): string {
  const add = TAG_TOTALS_COLUMNS.filter((c) => !existingColumns.includes(c));
  return `
DROP TRIGGER IF EXISTS requests_rollup_repriced;
${add.map((c) => `ALTER TABLE session_rollup ADD COLUMN ${c} INTEGER NOT NULL DEFAULT 0;`).join('\n')}
CREATE TEMP TABLE session_sums AS
SELECT ${LOCAL_DAY_SQL('started_at')} AS d, session AS s, COALESCE(workspace, '') AS w, ${Object.entries(TAG_TOTALS)
    .map(([column, sum]) => `${sum} AS ${column}`)
    .join(', ')}
FROM requests WHERE session IS NOT NULL AND session != '' GROUP BY d, s, w;
UPDATE session_rollup SET ${TAG_TOTALS_COLUMNS.map((c) => `${c} = t.${c}`).join(', ')}
FROM session_sums t WHERE session_rollup.day = t.d AND session_rollup.session = t.s AND session_rollup.workspace = t.w;
DROP TABLE session_sums;
${USER_ROLLUP_TABLE}
DELETE FROM user_rollup;
${USER_ROLLUP_FILL}
`;
}
