/**
 * A single-file spend database as Burn Rate wrote it before segments (schema 4): the `requests`
 * table and the rollups in one SQLite file, records numbered by rowid in insertion order.
 */
import * as fs from 'node:fs';
import initSqlJs from 'sql.js';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { makeRecord } from './records';

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
 * days stay in the rollups). Returns the records kept. The tables are the store's own (its index's
 * rollups, its segments' requests table), put together in one file as before segments.
 */
export async function writeSingleFile(
  file: string,
  records: readonly RequestRecord[],
  opts: { deletedBefore?: number; version?: number } = {},
): Promise<RequestRecord[]> {
  const store = await SpendDatabase.open(undefined, { create: true });
  store.insert(records);
  const SQL = await initSqlJs();
  const db = new SQL.Database(store.index.export());
  db.exec('DROP TABLE segments; DROP TABLE store_counters');
  db.exec('BEGIN');
  for (const segment of store.segments()) {
    const table = segment.exec('SELECT sql FROM sqlite_master WHERE sql IS NOT NULL')[0].values.map((v) => `${String(v[0])};`);
    if (!db.exec("SELECT 1 FROM sqlite_master WHERE name = 'requests'").length) db.exec(table.join('\n'));
    const columns = segment.exec('PRAGMA table_info(requests)')[0].values.map((v) => String(v[1]));
    const rows = segment.exec(`SELECT rowid, ${columns.join(', ')} FROM requests`)[0]?.values ?? [];
    const insert = db.prepare(`INSERT INTO requests (rowid, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`);
    for (const row of rows) insert.run(row);
    insert.free();
  }
  store.close();
  if (opts.deletedBefore !== undefined) db.run('DELETE FROM requests WHERE started_at < ?', [opts.deletedBefore]);
  db.exec('COMMIT');
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
