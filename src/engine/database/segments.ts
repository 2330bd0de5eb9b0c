/**
 * The records, partitioned by time into segment files, each a small SQLite database with only the
 * `requests` table: one per UTC day once the day is over, one per hour of the current day (the
 * live hour takes the inserts, so a snapshot rewrites an hour's records, not the day's). Closed
 * days are compacted into one file each, written once. The index database (db.ts) catalogues them.
 *
 * A segment's file name carries the generation of the save that wrote it: a save writes new files
 * beside the old ones and the index's rename commits them; files the committed index does not name
 * are left-overs of an interrupted save (or a superseded version) and are deleted by the owner.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import { COLUMN_OF, FIELDS, INSERT_SQL, REQUESTS_TABLE } from './requestsTable';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** One segment as the index's catalogue lists it. */
export interface SegmentInfo {
  /** '2026-12-06' (a UTC day) or '2026-12-06T13' (an hour of a day not yet compacted). */
  key: string;
  /** The times its records may have: [start, end). */
  start: number;
  end: number;
  /** Its file in the segments folder ('' until first written). */
  file: string;
  records: number;
  /** Sequence numbers (insertion order) of its records; 0 for none. */
  minSeq: number;
  maxSeq: number;
}

export function isDayKey(key: string): boolean {
  return !key.includes('T');
}

/** The UTC day or hour segment a time belongs to. */
export function segmentOf(at: number, unit: 'day' | 'hour'): { key: string; start: number; end: number } {
  const span = unit === 'day' ? DAY_MS : HOUR_MS;
  const start = Math.floor(at / span) * span;
  const iso = new Date(start).toISOString();
  return { key: unit === 'day' ? iso.slice(0, iso.indexOf('T')) : iso.slice(0, iso.indexOf(':')), start, end: start + span };
}

/** A segment in memory: its catalogue entry, and its database while open. */
export class Segment {
  db: Database | undefined;
  insertStatement: Statement | undefined;
  /** Mutations made, and how many of them its file holds. */
  version = 0;
  savedVersion = 0;
  lastUsed = 0;

  constructor(readonly info: SegmentInfo) {}

  get dirty(): boolean {
    return this.version !== this.savedVersion;
  }

  /** What the open database holds in memory (its pages), for the cache's bound. */
  get bytes(): number {
    if (!this.db) return 0;
    const pages = Number(this.db.exec('PRAGMA page_count')[0].values[0][0]);
    return pages * 4096;
  }

  close(): void {
    this.insertStatement?.free();
    this.insertStatement = undefined;
    this.db?.close();
    this.db = undefined;
  }
}

/** Opens a segment's file (or a new empty segment when it has none). */
export function openSegmentDatabase(SQL: SqlJsStatic, dir: string, file: string): Database {
  const bytes = file ? fs.readFileSync(path.join(dir, file)) : undefined;
  const db = new SQL.Database(bytes);
  if (!bytes) db.exec(REQUESTS_TABLE);
  // The file is saved whole by the store; SQLite's rollback journal only needs to live in memory.
  db.exec('PRAGMA journal_mode = MEMORY');
  return db;
}

/**
 * A reader's segment whose file the owner has replaced since the reader read the index, as the
 * owner's latest catalogue `fresh` has it: its new version; once compacted into its day, a copy of
 * the day's records in its range; once dropped by retention, no records.
 */
export function latestVersionOf(SQL: SqlJsStatic, dir: string, info: SegmentInfo, fresh: readonly SegmentInfo[]): Database {
  const same = fresh.find((s) => s.key === info.key);
  if (same) {
    info.file = same.file;
    return openSegmentDatabase(SQL, dir, same.file);
  }
  const db = openSegmentDatabase(SQL, dir, '');
  const covering = fresh.find((s) => s.file && s.start <= info.start && s.end >= info.end);
  if (!covering) return db;
  const source = openSegmentDatabase(SQL, dir, covering.file);
  const select = source.prepare(`SELECT rowid, ${FIELDS.map((f) => COLUMN_OF[f]).join(', ')} FROM requests WHERE started_at >= ? AND started_at < ?`);
  const insert = db.prepare(INSERT_SQL);
  try {
    select.bind([info.start, info.end]);
    while (select.step()) insert.run(select.get() as Array<string | number | null>);
  } finally {
    select.free();
    insert.free();
    source.close();
  }
  return db;
}

/** A segment file's name for a save generation. */
export function segmentFileName(key: string, generation: number): string {
  return `${key}.${generation}.sqlite`;
}

/** Files in the segments folder that `keep` does not name (left-overs of an interrupted save, superseded versions). */
export function strayFiles(dir: string, keep: ReadonlySet<string>): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => !keep.has(name));
}

export function removeFiles(dir: string, names: readonly string[]): void {
  for (const name of names) fs.rmSync(path.join(dir, name), { force: true });
}

/**
 * The index database's schema version. 5: the index and segments layout; 2–4 were single files
 * holding the records too (migration.ts splits them).
 */
export const INDEX_SCHEMA_VERSION = 5;

/** The index database's catalogue of segments, and its counters. */
export const CATALOGUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS segments (
  key TEXT PRIMARY KEY,
  start INTEGER NOT NULL,
  end INTEGER NOT NULL,
  file TEXT NOT NULL,
  records INTEGER NOT NULL,
  min_seq INTEGER NOT NULL,
  max_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS store_counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

export function readCatalogue(index: Database): SegmentInfo[] {
  const rows = index.exec('SELECT key, start, end, file, records, min_seq, max_seq FROM segments ORDER BY start')[0]?.values ?? [];
  return rows.map(([key, start, end, file, records, minSeq, maxSeq]) => ({
    key: String(key),
    start: Number(start),
    end: Number(end),
    file: String(file),
    records: Number(records),
    minSeq: Number(minSeq),
    maxSeq: Number(maxSeq),
  }));
}

/** Replaces the catalogue (inside the caller's transaction): a few hundred rows at most. */
export function writeCatalogue(index: Database, infos: Iterable<SegmentInfo>): void {
  index.exec('DELETE FROM segments');
  const insert = index.prepare('INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)');
  try {
    for (const s of infos) insert.run([s.key, s.start, s.end, s.file, s.records, s.minSeq, s.maxSeq]);
  } finally {
    insert.free();
  }
}

export function readCounter(index: Database, name: string): number {
  return Number(index.exec('SELECT value FROM store_counters WHERE name = ?', [name])[0]?.values[0]?.[0] ?? 0);
}

export function writeCounter(index: Database, name: string, value: number): void {
  index.run('INSERT INTO store_counters VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value', [name, value]);
}
