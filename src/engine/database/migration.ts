/**
 * From a single-file database (schema 4 and before: records and rollups in one file, loaded and
 * rewritten whole) to the index and segments layout (schema 5). The segments are written first,
 * each checked against the original (records and cost), then the new index beside the original;
 * only then is the original renamed aside (kept as a backup, never overwritten) and the new index
 * put in its place. Killed mid-way, the next start resumes: segments already written and checked
 * are kept.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { DAY_MS } from '../../shared';
import { copyRecords, openSegmentDatabase, REQUESTS_TABLE, SELECT_RECORDS } from './segments';
import { createRollupTables, ROLLUP_BACKFILL, ROLLUP_CLIENT_MIGRATION, ROLLUP_TABLES, schema4Migration } from './rollups/rollupSchema';
import { CATALOGUE_SCHEMA, INDEX_SCHEMA_VERSION, writeCatalogue, writeCounter } from './catalogue';
import { SLICE_MS, segmentFileName, segmentOf, type SegmentInfo } from './segments';
import { DatabaseUnreadableError, columnsOf, writeFileAtomic } from './sqlFiles';

/** Where the new index is written before it replaces the original. */
const stagingOf = (file: string) => `${file}.migrating`;

/** Puts a migration's new index in place if it was killed between its two renames; drops a half-made one. */
export function finishInterruptedMigration(file: string): void {
  const staging = stagingOf(file);
  if (!fs.existsSync(staging)) return;
  if (fs.existsSync(file)) fs.rmSync(staging, { force: true });
  else fs.renameSync(staging, file);
}

/** Brings a single-file database of an older schema up to schema 4, in memory (the file is not touched). */
export function upgradeSingleFile(db: Database, version: number): void {
  db.exec(REQUESTS_TABLE);
  if (!columnsOf(db, 'requests').includes('client')) db.exec('ALTER TABLE requests ADD COLUMN client TEXT');
  // Branches came after the last single-file schema: its records have none, its rollup (createRollupTables) starts empty.
  if (!columnsOf(db, 'requests').includes('branch')) db.exec('ALTER TABLE requests ADD COLUMN branch TEXT');
  db.exec('DROP TRIGGER IF EXISTS requests_rollup_repriced');
  db.exec('BEGIN');
  if (version === 2) db.exec(ROLLUP_CLIENT_MIGRATION);
  if (version === 2 || version === 3) db.exec(schema4Migration(columnsOf(db, 'session_rollup')));
  if (version < 2) db.exec(ROLLUP_TABLES + ROLLUP_BACKFILL);
  createRollupTables(db);
  db.exec('COMMIT');
}

interface Planned extends SegmentInfo {
  costNanos: number;
  /** A hash of its records, every column (see recordsDigest). */
  digest: string;
}

/** Splits the single-file database `legacy` (read from `file`) into the index and segments layout at `file`. */
export async function migrateSingleFile(SQL: SqlJsStatic, legacy: Database, file: string, progress: (message: string) => void): Promise<void> {
  const dir = `${file}.segments`;
  fs.mkdirSync(dir, { recursive: true });
  const plan = planSegments(legacy, Date.now());
  const total = plan.reduce((n, s) => n + s.records, 0);
  progress(`splitting ${file} (${total} records) into ${plan.length} time segment(s); the proxy serves meanwhile`);
  let done = 0;
  let told = Date.now();
  for (const segment of plan) {
    segment.file = segmentFileName(segment.key, 0, true);
    const target = path.join(dir, segment.file);
    segment.digest = recordsDigest(legacy, segment);
    if (!matches(SQL, target, segment)) {
      await writeFileAtomic(target, buildSegment(SQL, legacy, segment));
      if (!matches(SQL, target, segment))
        throw new DatabaseUnreadableError(`migrating ${file}: segment ${segment.key} did not read back as written; the original was left untouched`);
    }
    done += segment.records;
    if (Date.now() - told >= 1_000) {
      told = Date.now();
      progress(`migrating ${file}: ${done} of ${total} records (${Math.floor((done / Math.max(1, total)) * 100)} %)`);
    }
  }
  const index = buildIndex(SQL, legacy, plan);
  await writeFileAtomic(stagingOf(file), index.export());
  index.close();
  const backup = backupName(file);
  fs.renameSync(file, backup);
  fs.renameSync(stagingOf(file), file);
  progress(`migrated ${file}: ${total} records in ${plan.length} segment(s), totals checked; the single file was kept as ${path.basename(backup)}`);
}

/** The segments the records go to: a UTC day each, the current day's records by quarter of an hour (as inserts route them). */
function planSegments(legacy: Database, now: number): Planned[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const rows =
    legacy.exec(
      `SELECT CASE WHEN started_at < ? THEN (started_at / ${DAY_MS}) * ${DAY_MS} ELSE (started_at / ${SLICE_MS}) * ${SLICE_MS} END AS s,
        started_at < ?, COUNT(*), SUM(cost_nanos), MIN(rowid), MAX(rowid) FROM requests GROUP BY s ORDER BY s`,
      [today, today],
    )[0]?.values ?? [];
  return rows.map(([start, closed, records, cost, minSeq, maxSeq]) => ({
    ...segmentOf(Number(start), closed ? 'day' : 'slice'),
    file: '',
    records: Number(records),
    costNanos: Number(cost),
    digest: '',
    minSeq: Number(minSeq),
    maxSeq: Number(maxSeq),
  }));
}

/** A segment's file, made from the original's records in its range (each keeping its rowid: the export feed's place). */
function buildSegment(SQL: SqlJsStatic, legacy: Database, segment: Planned): Uint8Array {
  const db = openSegmentDatabase(SQL, '', '');
  try {
    db.exec('BEGIN');
    copyRecords(legacy, db, segment.start, segment.end);
    db.exec('COMMIT');
    return db.export();
  } finally {
    db.close();
  }
}

/** A hash of the records of `db` in the segment's range, every column and the rowid: a damaged copy does not match. */
function recordsDigest(db: Database, segment: SegmentInfo): string {
  const hash = createHash('sha256');
  const select = db.prepare(SELECT_RECORDS);
  try {
    select.bind([segment.start, segment.end]);
    while (select.step()) hash.update(JSON.stringify(select.get()));
  } finally {
    select.free();
  }
  return hash.digest('hex');
}

/** Whether a segment file exists with the records planned for it (their count, cost, and every column of each). */
function matches(SQL: SqlJsStatic, file: string, segment: Planned): boolean {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return false;
  }
  try {
    const db = new SQL.Database(bytes);
    try {
      const [records, cost] = db.exec('SELECT count(*), COALESCE(SUM(cost_nanos), 0) FROM requests')[0].values[0].map(Number);
      return records === segment.records && cost === segment.costNanos && recordsDigest(db, segment) === segment.digest;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

/** The new index: the original's rollup rows as they are (days whose records retention deleted included), and the catalogue. */
function buildIndex(SQL: SqlJsStatic, legacy: Database, plan: readonly Planned[]): Database {
  const index = new SQL.Database();
  index.exec(ROLLUP_TABLES + CATALOGUE_SCHEMA);
  index.exec('BEGIN');
  // branch_rollup: upgradeSingleFile made it; records on a branch served from the file before the split are in it.
  for (const table of ['daily_rollup', 'session_rollup', 'user_rollup', 'branch_rollup']) {
    const columns = columnsOf(index, table);
    const rows = legacy.exec(`SELECT ${columns.join(', ')} FROM ${table}`)[0]?.values ?? [];
    const insert = index.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    for (const row of rows) insert.run(row as Array<string | number | null>);
    insert.free();
  }
  writeCatalogue(
    index,
    plan.map(({ costNanos: _cost, digest: _digest, ...info }) => info),
  );
  const maxSeq = plan.reduce((m, s) => Math.max(m, s.maxSeq), 0);
  writeCounter(index, 'next_seq', maxSeq + 1);
  writeCounter(index, 'generation', 0);
  index.exec('COMMIT');
  index.exec(`PRAGMA user_version = ${INDEX_SCHEMA_VERSION}`);
  return index;
}

/** A name for the original beside it that no earlier migration's backup has taken. */
function backupName(file: string): string {
  let name = `${file}.single-file`;
  for (let n = 2; fs.existsSync(name); n++) name = `${file}.single-file-${n}`;
  return name;
}
