/**
 * The dashboard's pre-aggregated tables, kept up to date by triggers on every insert into
 * `requests`, so the dashboard reads a few thousand rollup rows instead of scanning a million
 * records per render:
 *  - daily_rollup: one row per local day × provider × model × feature × workspace;
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

export const ROLLUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS daily_rollup (
  day TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  feature TEXT NOT NULL,
  workspace TEXT NOT NULL,
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
  PRIMARY KEY (day, provider, model, feature, workspace)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS daily_rollup_workspace ON daily_rollup(workspace, day);
CREATE TABLE IF NOT EXISTS session_rollup (
  day TEXT NOT NULL,
  session TEXT NOT NULL,
  workspace TEXT NOT NULL,
  requests INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (day, session, workspace)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS requests_session_rollup AFTER INSERT ON requests WHEN NEW.session IS NOT NULL AND NEW.session != '' BEGIN
  INSERT INTO session_rollup VALUES (
    ${LOCAL_DAY_SQL('NEW.started_at')}, NEW.session, COALESCE(NEW.workspace, ''), 1, NEW.cost_nanos,
    NEW.input_tokens + NEW.output_tokens, NEW.started_at, NEW.started_at
  ) ON CONFLICT DO UPDATE SET
    requests = requests + 1,
    cost_nanos = cost_nanos + excluded.cost_nanos,
    tokens = tokens + excluded.tokens,
    first_at = MIN(first_at, excluded.first_at),
    last_at = MAX(last_at, excluded.last_at);
END;
CREATE INDEX IF NOT EXISTS requests_cost ON requests(cost_nanos);
-- A record re-priced (burnrate reprice --apply) moves its rollup rows by the difference.
CREATE TRIGGER IF NOT EXISTS requests_rollup_repriced AFTER UPDATE OF cost_nanos, cost_status ON requests BEGIN
  UPDATE daily_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced'),
    failed_cost_nanos = failed_cost_nanos + CASE WHEN ${FAILED_SQL('NEW')} THEN NEW.cost_nanos - OLD.cost_nanos ELSE 0 END
  WHERE day = ${LOCAL_DAY_SQL('NEW.started_at')} AND provider = NEW.provider AND model = COALESCE(NEW.model, '')
    AND feature = COALESCE(NEW.feature, '') AND workspace = COALESCE(NEW.workspace, '');
  UPDATE session_rollup SET cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos
  WHERE NEW.session IS NOT NULL AND NEW.session != '' AND day = ${LOCAL_DAY_SQL('NEW.started_at')}
    AND session = NEW.session AND workspace = COALESCE(NEW.workspace, '');
END;
CREATE TRIGGER IF NOT EXISTS requests_rollup AFTER INSERT ON requests BEGIN
  INSERT INTO daily_rollup VALUES (
    ${LOCAL_DAY_SQL('NEW.started_at')}, NEW.provider, COALESCE(NEW.model, ''), COALESCE(NEW.feature, ''),
    COALESCE(NEW.workspace, ''),
    1, NEW.cost_nanos, NEW.input_tokens, NEW.cache_read_tokens, NEW.cache_write_tokens, NEW.output_tokens,
    NEW.reasoning_tokens, NEW.cost_status = 'unpriced', ${FAILED_SQL('NEW')}, CASE WHEN ${FAILED_SQL('NEW')} THEN NEW.cost_nanos ELSE 0 END,
    ${LONG_UNCACHED_SQL('NEW')}, CASE WHEN ${LONG_UNCACHED_SQL('NEW')} THEN NEW.input_tokens ELSE 0 END,
    CASE WHEN ${LONG_UNCACHED_SQL('NEW')} THEN NEW.input_tokens END,
    NEW.started_at, NEW.started_at
  ) ON CONFLICT DO UPDATE SET
    requests = requests + 1,
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
    last_at = MAX(last_at, excluded.last_at);
END;
`;

/** Fills the rollups from records written before they existed (run once, by the schema migration). */
export const ROLLUP_BACKFILL = `
DELETE FROM daily_rollup;
DELETE FROM session_rollup;
INSERT INTO daily_rollup
SELECT ${LOCAL_DAY_SQL('r.started_at')} AS d, r.provider, COALESCE(r.model, '') AS m, COALESCE(r.feature, '') AS f,
  COALESCE(r.workspace, '') AS w,
  COUNT(*), SUM(r.cost_nanos), SUM(r.input_tokens), SUM(r.cache_read_tokens), SUM(r.cache_write_tokens),
  SUM(r.output_tokens), SUM(r.reasoning_tokens), SUM(r.cost_status = 'unpriced'), SUM(${FAILED_SQL('r')}),
  SUM(CASE WHEN ${FAILED_SQL('r')} THEN r.cost_nanos ELSE 0 END), SUM(${LONG_UNCACHED_SQL('r')}),
  SUM(CASE WHEN ${LONG_UNCACHED_SQL('r')} THEN r.input_tokens ELSE 0 END),
  MIN(CASE WHEN ${LONG_UNCACHED_SQL('r')} THEN r.input_tokens END),
  MIN(r.started_at), MAX(r.started_at)
FROM requests r GROUP BY d, r.provider, m, f, w;
INSERT INTO session_rollup
SELECT ${LOCAL_DAY_SQL('started_at')} AS d, session, COALESCE(workspace, '') AS w, COUNT(*), SUM(cost_nanos),
  SUM(input_tokens + output_tokens), MIN(started_at), MAX(started_at)
FROM requests WHERE session IS NOT NULL AND session != '' GROUP BY d, session, w;
`;
