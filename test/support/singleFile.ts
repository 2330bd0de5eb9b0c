/**
 * Databases as Burn Rate wrote them before the index and segments layout: one sql.js file holding
 * the records and the rollups (schema 4), built from what a SpendDatabase holds, for the tests that
 * turn them into older schemas by hand and check they are still read (through the migration).
 */
import type { Database } from 'sql.js';
import type { SpendDatabase } from '../../src/engine/database';
import { COLUMN_OF, FIELDS, INSERT_SQL, REQUESTS_TABLE } from '../../src/engine/database/requestsTable';
import { LOCAL_DAY_SQL, ROLLUP_TABLES } from '../../src/engine/database/rollupSchema';
import { columnsOf, loadSqlJs } from '../../src/engine/database/sqlFiles';

/** Schema 4's reprice trigger, as single-file databases carried it (repricing now moves the rollups itself). */
const SCHEMA_4_REPRICE_TRIGGER = `
CREATE TRIGGER requests_rollup_repriced AFTER UPDATE OF cost_nanos, cost_status ON requests BEGIN
  UPDATE daily_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced'),
    failed_cost_nanos = failed_cost_nanos + CASE WHEN (NEW.status = 0 OR NEW.status >= 400) THEN NEW.cost_nanos - OLD.cost_nanos ELSE 0 END
  WHERE day = ${LOCAL_DAY_SQL('NEW.started_at')} AND provider = NEW.provider AND model = COALESCE(NEW.model, '')
    AND feature = COALESCE(NEW.feature, '') AND workspace = COALESCE(NEW.workspace, '') AND client = COALESCE(NEW.client, '');
  UPDATE session_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced')
  WHERE NEW.session IS NOT NULL AND NEW.session != '' AND day = ${LOCAL_DAY_SQL('NEW.started_at')}
    AND session = NEW.session AND workspace = COALESCE(NEW.workspace, '');
  UPDATE user_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced')
  WHERE NEW.user IS NOT NULL AND NEW.user != '' AND day = ${LOCAL_DAY_SQL('NEW.started_at')} AND user = NEW.user;
END;`;

/** A schema-4 single-file database with `db`'s records (each keeping its sequence number as rowid) and rollups. */
export async function singleFileOf(db: SpendDatabase): Promise<Database> {
  const SQL = await loadSqlJs();
  const single = new SQL.Database();
  single.exec(REQUESTS_TABLE + ROLLUP_TABLES + SCHEMA_4_REPRICE_TRIGGER);
  single.exec('BEGIN');
  const insert = single.prepare(INSERT_SQL);
  for (const segment of db.segments()) {
    const rows = segment.exec(`SELECT rowid, ${FIELDS.map((f) => COLUMN_OF[f]).join(', ')} FROM requests`)[0]?.values ?? [];
    for (const row of rows) insert.run(row as Array<string | number | null>);
  }
  insert.free();
  for (const table of ['daily_rollup', 'session_rollup', 'user_rollup']) {
    const columns = columnsOf(db.index, table);
    const rows = db.index.exec(`SELECT ${columns.join(', ')} FROM ${table}`)[0]?.values ?? [];
    const copy = single.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    for (const row of rows) copy.run(row as Array<string | number | null>);
    copy.free();
  }
  single.exec('COMMIT');
  single.exec('PRAGMA user_version = 4');
  return single;
}
