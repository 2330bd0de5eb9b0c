/**
 * The records, partitioned by time into segment files, each a small SQLite database with only the
 * `requests` table: one per UTC day once the day is over, one per quarter of an hour of the current
 * day (the live slice takes the inserts, so a snapshot rewrites a slice's records, not the day's).
 * Ended days are merged into one file each, written once. The index database (db.ts) catalogues them.
 *
 * A segment's file name carries the generation of the save that wrote it: a save writes new files
 * beside the old ones, and the versions the index names are replaced only once a newer index is in
 * place. Files no index names are either newer versions of new records alone (taken in at open) or
 * left-overs (marked `.c`, or older than the version named), removed by the owner.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import { DAY_MS } from '../../shared';
import type { RequestRecord } from './record';

/** The requests table's secondary indexes (besides the primary key's). */
export const REQUEST_INDEXES = `
CREATE INDEX IF NOT EXISTS requests_started_at ON requests(started_at);
CREATE INDEX IF NOT EXISTS requests_session ON requests(session, started_at);
CREATE INDEX IF NOT EXISTS requests_workspace ON requests(workspace, started_at);
CREATE INDEX IF NOT EXISTS requests_cost ON requests(cost_nanos);
`;

/**
 * The records' table, as every segment file holds it (and single-file databases before schema 5).
 * Its rowid is the record's place in insertion order across all segments (the export feed's `seq`).
 */
export const REQUESTS_TABLE = `
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model TEXT,
  endpoint TEXT,
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  cost_status TEXT NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttft_ms INTEGER,
  session TEXT, feature TEXT, user TEXT, trace TEXT, env TEXT, workspace TEXT,
  key_fingerprint TEXT,
  error TEXT,
  service_tier TEXT,
  price_source TEXT,
  client TEXT,
  branch TEXT
);
${REQUEST_INDEXES}`;

/** Column name in the table for each record field. */
export const COLUMN_OF: Record<keyof RequestRecord, string> = {
  id: 'id',
  startedAt: 'started_at',
  provider: 'provider',
  model: 'model',
  endpoint: 'endpoint',
  stream: 'stream',
  status: 'status',
  inputTokens: 'input_tokens',
  cacheReadTokens: 'cache_read_tokens',
  cacheWriteTokens: 'cache_write_tokens',
  outputTokens: 'output_tokens',
  reasoningTokens: 'reasoning_tokens',
  costNanos: 'cost_nanos',
  costStatus: 'cost_status',
  latencyMs: 'latency_ms',
  ttftMs: 'ttft_ms',
  session: 'session',
  feature: 'feature',
  user: 'user',
  trace: 'trace',
  env: 'env',
  workspace: 'workspace',
  branch: 'branch',
  keyFingerprint: 'key_fingerprint',
  error: 'error',
  serviceTier: 'service_tier',
  priceSource: 'price_source',
  client: 'client',
};
export const FIELDS = Object.keys(COLUMN_OF) as Array<keyof RequestRecord>;

/** Inserts a record with its sequence number as rowid; a record already there (same id) is skipped. */
export const INSERT_SQL = `INSERT OR IGNORE INTO requests (rowid, ${FIELDS.map((f) => COLUMN_OF[f]).join(', ')}) VALUES (?, ${FIELDS.map(() => '?').join(', ')})`;

/**
 * Reads rows of a result with these columns as records. The column of each field is found once,
 * not per row: a page of an export is thousands of rows.
 */
export function recordReader(columns: readonly string[]): (values: readonly unknown[]) => RequestRecord {
  const at = FIELDS.map((f) => columns.indexOf(COLUMN_OF[f]));
  return (values) => {
    const rec = {} as Record<string, unknown>;
    for (let i = 0; i < FIELDS.length; i++) rec[FIELDS[i]] = at[i] < 0 ? null : (values[at[i]] ?? null);
    rec.stream = rec.stream === 1;
    return rec as unknown as RequestRecord;
  };
}

export function rowToRecord(columns: readonly string[], values: readonly unknown[]): RequestRecord {
  return recordReader(columns)(values);
}

/** The records (with their rowids) of a requests table started in [start, end), in INSERT_SQL's order, oldest inserted first. */
export const SELECT_RECORDS = `SELECT rowid, ${FIELDS.map((f) => COLUMN_OF[f]).join(', ')} FROM requests WHERE started_at >= ? AND started_at < ? ORDER BY rowid`;

/**
 * Copies the records of `from` started in [start, end) (all by default) into `to`, each keeping its
 * rowid (the export feed's place), one row at a time, inside the caller's transaction if any.
 */
export function copyRecords(from: Database, to: Database, start = -Number.MAX_VALUE, end = Number.MAX_VALUE): void {
  const select = from.prepare(SELECT_RECORDS);
  const insert = to.prepare(INSERT_SQL);
  try {
    select.bind([start, end]);
    while (select.step()) insert.run(select.get() as Array<string | number | null>);
  } finally {
    select.free();
    insert.free();
  }
}

/** Fills `values` (rowid first, then the fields in FIELDS order) for INSERT_SQL. */
export function insertValues(values: Array<string | number | null>, seq: number, r: RequestRecord): void {
  values[0] = seq;
  for (let i = 0; i < FIELDS.length; i++) values[i + 1] = toSql(r[FIELDS[i]]);
}

function toSql(v: unknown): string | number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v as string | number;
}

export const HOUR_MS = 3_600_000;
/** A segment of the current day: a snapshot rewrites the live one whole (15 minutes at 10 calls/s: about 3 MB). */
export const SLICE_MS = 900_000;

/** One segment as the index's catalogue lists it. */
export interface SegmentInfo {
  /** '2026-12-06' (a UTC day), '2026-12-06T13-45' (a quarter of an hour of a day not yet compacted; '…T13': an hour, from older versions). */
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

/** The UTC day or quarter-hour slice segment a time belongs to (an hour: the key a version before slices gave). */
export function segmentOf(at: number, unit: 'day' | 'slice' | 'hour'): { key: string; start: number; end: number } {
  const span = unit === 'day' ? DAY_MS : unit === 'hour' ? HOUR_MS : SLICE_MS;
  const start = Math.floor(at / span) * span;
  const iso = new Date(start).toISOString();
  const key = unit === 'day' ? iso.slice(0, 10) : unit === 'hour' ? iso.slice(0, 13) : `${iso.slice(0, 13)}-${iso.slice(14, 16)}`;
  return { key, start, end: start + span };
}

let segmentsMade = 0;

/** A segment in memory: its catalogue entry, and its database while open. */
export class Segment {
  db: Database | undefined;
  insertStatement: Statement | undefined;
  /** Mutations made, and how many of them its file holds. */
  version = 0;
  savedVersion = 0;
  lastUsed = 0;
  /** Made by a bulk insert without its secondary indexes: built once, before it is first written. */
  indexesDeferred = false;

  /** Tells this segment apart from every other made in this process (with `version`: what it held when something was read from it). */
  readonly serial = ++segmentsMade;

  constructor(readonly info: SegmentInfo) {}

  /** The database's bytes as its file holds them (the secondary indexes built first if they were deferred). */
  export(): Uint8Array {
    if (this.indexesDeferred) this.db!.exec(REQUEST_INDEXES);
    this.indexesDeferred = false;
    return this.db!.export();
  }

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

/**
 * Opens a segment's file (or a new empty segment when it has none; without its secondary indexes
 * when `deferIndexes`: building an index once is several times faster than updating it row by row).
 */
export function openSegmentDatabase(SQL: SqlJsStatic, dir: string, file: string, deferIndexes = false): Database {
  const db = openFile(SQL, dir, file);
  if (!file) db.exec(deferIndexes ? REQUESTS_TABLE.replace(REQUEST_INDEXES, '') : REQUESTS_TABLE);
  else addLaterColumns(db);
  return db;
}

/** Segment files written before a column was added to the records (branch) get it, empty, in memory. */
function addLaterColumns(db: Database): void {
  const columns = (db.exec('PRAGMA table_info(requests)')[0]?.values ?? []).map((v) => String(v[1]));
  if (!columns.includes('branch')) db.exec('ALTER TABLE requests ADD COLUMN branch TEXT');
}

/**
 * A file of the segments folder in memory (a new empty database for none). When the file is gone
 * (a reader beside an owner that replaced it), `newest` may name the version to read instead.
 */
export function openFile(SQL: SqlJsStatic, dir: string | undefined, file: string | undefined, newest?: () => string | undefined): Database {
  let bytes: Uint8Array | undefined;
  if (dir && file) {
    try {
      bytes = fs.readFileSync(path.join(dir, file));
    } catch (e) {
      const instead = (e as NodeJS.ErrnoException).code === 'ENOENT' ? newest?.() : undefined;
      if (!instead) throw e;
      bytes = fs.readFileSync(path.join(dir, instead));
    }
  }
  const db = new SQL.Database(bytes);
  // The file is saved whole by the store; SQLite's rollback journal only needs to live in memory.
  db.exec('PRAGMA journal_mode = MEMORY');
  return db;
}

/**
 * A segment file's name for a save generation. A save that writes the index too marks its files
 * `.c` (committed by that index, or by none if it was interrupted): only unmarked files, written by
 * saves of new records alone, are taken in when found newer than the index names (see db.ts).
 */
export function segmentFileName(key: string, generation: number, withIndex: boolean): string {
  return `${key}.${generation}${withIndex ? '.c' : ''}.sqlite`;
}

const SEGMENT_FILE = /^(\d{4}-\d{2}-\d{2}(?:T\d{2}(?:-\d{2})?)?)\.(\d+)(\.c)?\.sqlite$/;

export interface SegmentFile {
  file: string;
  key: string;
  generation: number;
  /** Written by a save that wrote the index too. */
  withIndex: boolean;
  start: number;
  end: number;
}

/** The segment and save generation a file name says, or undefined for any other file. */
export function parseSegmentFileName(file: string): SegmentFile | undefined {
  const m = SEGMENT_FILE.exec(file);
  if (!m) return undefined;
  const key = m[1];
  const at = Date.parse(`${key.slice(0, 10)}T${key.slice(11, 13) || '00'}:${key.slice(14, 16) || '00'}:00.000Z`);
  if (!Number.isFinite(at)) return undefined;
  const { start, end, key: expected } = segmentOf(at, key.length === 10 ? 'day' : key.length === 13 ? 'hour' : 'slice');
  return expected === key ? { file, key, generation: Number(m[2]), withIndex: m[3] !== undefined, start, end } : undefined;
}

/** The names of the files in a folder; none when it does not exist yet. */
export function filesIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The newest version of each segment in the folder (saves write new versions beside the old), of those `which` accepts. */
export function newestSegmentFiles(dir: string, which: (f: SegmentFile) => boolean = () => true): Map<string, SegmentFile> {
  const newest = new Map<string, SegmentFile>();
  for (const name of filesIn(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed && which(parsed) && parsed.generation >= (newest.get(parsed.key)?.generation ?? -1)) newest.set(parsed.key, parsed);
  }
  return newest;
}

/** Files in the segments folder that `keep` does not name (left-overs of an interrupted save, superseded versions). */
export function strayFiles(dir: string, keep: ReadonlySet<string>): string[] {
  return filesIn(dir).filter((name) => !keep.has(name));
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

export interface TimeRange {
  since?: number;
  until?: number;
}

/** What queries read: the index (rollups) and the record segments, opened as they are reached. */
export interface SpendData {
  readonly index: Database;
  /** The segments that may hold records started in [since, until), oldest first (`desc`: newest first). */
  segments(range?: TimeRange, order?: 'asc' | 'desc'): Generator<Database>;
  /** The segments that may hold records inserted after `seq`. */
  segmentsAfterSeq(seq: number): Generator<Database>;
  /** The segments that may hold records started in [since, until), oldest first, each opened only when asked. */
  segmentHandles(range?: TimeRange): SegmentHandle[];
  /**
   * The databases holding session_rollup rows of local days in [firstDay, lastDay] (either open):
   * the index (the recent months), then each older month's archive. A session may have rows in
   * several: add them up.
   */
  sessionRollups(firstDay?: string, lastDay?: string): Generator<Database>;
}

/** A segment not yet opened: `id` changes whenever its records do (to keep what was read from it). */
export interface SegmentHandle {
  id: string;
  start: number;
  end: number;
  open(): Database;
}
