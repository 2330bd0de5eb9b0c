/**
 * Databases as Burn Rate wrote them before the index and segments layout: one sql.js file holding
 * the records and the rollups (schema 4), built from what a SpendDatabase holds (its tables' own
 * definitions, its records with their sequence numbers as rowids, its rollup rows), for the tests
 * that turn them into older schemas by hand and check they are still read, through the migration.
 */
import * as fs from 'node:fs';
import initSqlJs, { type Database } from 'sql.js';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { makeRecord } from './records';

const ROLLUPS = ['daily_rollup', 'session_rollup', 'user_rollup'];
const LOCAL_DAY = "strftime('%Y-%m-%d', NEW.started_at / 1000, 'unixepoch', 'localtime')";

/** Schema 4's reprice trigger, as single-file databases carried it (repricing now moves the rollups itself). */
const SCHEMA_4_REPRICE_TRIGGER = `
CREATE TRIGGER requests_rollup_repriced AFTER UPDATE OF cost_nanos, cost_status ON requests BEGIN
  UPDATE daily_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced'),
    failed_cost_nanos = failed_cost_nanos + CASE WHEN (NEW.status = 0 OR NEW.status >= 400) THEN NEW.cost_nanos - OLD.cost_nanos ELSE 0 END
  WHERE day = ${LOCAL_DAY} AND provider = NEW.provider AND model = COALESCE(NEW.model, '')
    AND feature = COALESCE(NEW.feature, '') AND workspace = COALESCE(NEW.workspace, '') AND client = COALESCE(NEW.client, '');
  UPDATE session_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced')
  WHERE NEW.session IS NOT NULL AND NEW.session != '' AND day = ${LOCAL_DAY}
    AND session = NEW.session AND workspace = COALESCE(NEW.workspace, '');
  UPDATE user_rollup SET
    cost_nanos = cost_nanos - OLD.cost_nanos + NEW.cost_nanos,
    unpriced_requests = unpriced_requests - (OLD.cost_status = 'unpriced') + (NEW.cost_status = 'unpriced')
  WHERE NEW.user IS NOT NULL AND NEW.user != '' AND day = ${LOCAL_DAY} AND user = NEW.user;
END;`;

/** The statements that make `tables` (and their indexes; not today's triggers, which single files never had) in `db`. */
function definitions(db: Database, tables: readonly string[]): string {
  const rows = db.exec(
    `SELECT sql FROM sqlite_master WHERE tbl_name IN (${tables.map(() => '?').join(', ')}) AND type != 'trigger' AND sql IS NOT NULL ORDER BY type DESC`,
    [...tables],
  );
  return (rows[0]?.values ?? []).map(([sql]) => `${String(sql)};`).join('\n');
}

/** Copies every row of `table` from one database to another, its rowid too when it has one. */
function copyRows(from: Database, to: Database, table: string, withRowid: boolean): void {
  const result = from.exec(`SELECT ${withRowid ? 'rowid, ' : ''}* FROM ${table}`)[0];
  if (!result) return;
  const columns = withRowid ? ['rowid', ...result.columns.slice(1)] : result.columns;
  const insert = to.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  for (const row of result.values) insert.run(row);
  insert.free();
}

/** A schema-4 single-file database with `db`'s records (each keeping its sequence number as rowid) and rollups. */
export async function singleFileOf(db: SpendDatabase): Promise<Database> {
  const SQL = await initSqlJs();
  const single = new SQL.Database();
  // The first segment's definition of the requests table, used at once (a file's segments are opened and closed as they are reached).
  const first = db.segments().next();
  if (first.done) throw new Error('singleFileOf: the database has no records');
  single.exec(definitions(first.value, ['requests']) + definitions(db.index, ROLLUPS) + SCHEMA_4_REPRICE_TRIGGER);
  single.exec('BEGIN');
  for (const segment of db.segments()) copyRows(segment, single, 'requests', true);
  for (const table of ROLLUPS) copyRows(db.index, single, table, false);
  single.exec('COMMIT');
  // Single files are from before branches: their records had no such column.
  single.exec('ALTER TABLE requests DROP COLUMN branch');
  single.exec('PRAGMA user_version = 4');
  return single;
}

export const HOUR = 3_600_000;
export const DAY = 86_400_000;
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'gemini-2.5-pro'];

/**
 * `perDay` records on each of `days` days before `now`'s UTC day, and records every 7 minutes of
 * today up to `now`, inserted days interleaved (insertion order is not time order).
 */
export function spendHistory(now: number, days: number, perDay: number): RequestRecord[] {
  const today = Math.floor(now / DAY) * DAY;
  const byDay: RequestRecord[][] = [];
  let i = 0;
  const rec = (at: number) => {
    i++;
    return makeRecord({
      startedAt: at,
      model: MODELS[i % MODELS.length],
      costNanos: 500 + ((i * 104_729) % 90_000),
      inputTokens: 20 + (i % 300),
      outputTokens: i % 40,
      cacheReadTokens: i % 5 ? 0 : 1024,
      costStatus: i % 17 ? 'exact' : 'unpriced',
      feature: i % 3 ? 'chat' : null,
      session: i % 4 ? `s${i % 9}` : null,
      user: i % 5 ? `u${i % 3}` : null,
    });
  };
  for (let d = days; d >= 1; d--) byDay.push(Array.from({ length: perDay }, (_, k) => rec(today - d * DAY + Math.floor((k * DAY) / perDay) + 1_001)));
  byDay.push(Array.from({ length: Math.floor((now - today) / 420_000) + 1 }, (_, k) => rec(today + k * 420_000)));
  // Interleave the days: the store's sequence follows insertion, not time.
  const out: RequestRecord[] = [];
  for (let k = 0; byDay.some((d) => k < d.length); k++) for (const d of byDay) if (k < d.length) out.push(d[k]);
  return out;
}

/**
 * Writes `records` (rowid = place in the array + 1) as a schema-`version` single file with its
 * rollups filled, then deletes the records started before `deletedBefore` as retention did (their
 * days stay in the rollups). Returns the records kept.
 */
export async function writeSingleFile(
  file: string,
  records: readonly RequestRecord[],
  opts: { deletedBefore?: number; version?: number } = {},
): Promise<RequestRecord[]> {
  const store = await SpendDatabase.open(undefined, { create: true });
  store.insert(records);
  const db = await singleFileOf(store);
  store.close();
  if (opts.deletedBefore !== undefined) db.run('DELETE FROM requests WHERE started_at < ?', [opts.deletedBefore]);
  db.exec(`PRAGMA user_version = ${opts.version ?? 4}`);
  fs.writeFileSync(file, db.export());
  db.close();
  return records.filter((r) => opts.deletedBefore === undefined || r.startedAt >= opts.deletedBefore);
}

/** Each rollup table's rows, sorted: what the dashboard and whole-day reports read. */
export function rollupRows(db: { exec(sql: string): Array<{ values: unknown[][] }> }): Record<string, unknown[][]> {
  const out: Record<string, unknown[][]> = {};
  for (const table of ['daily_rollup', 'session_rollup', 'user_rollup']) {
    out[table] = (db.exec(`SELECT * FROM ${table}`)[0]?.values ?? []).map((r) => [...r]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
  return out;
}
