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
 * Its ids are unique: by the primary key, or in a segment a bulk insert made, by a unique index.
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

/**
 * The table of a segment a bulk insert makes (bulkSegment.ts): no index while it fills, its ids kept
 * unique by the Segment meanwhile; then BULK_BUILT_INDEXES, the id's unique index standing for the
 * primary key, built before its first write (an index built whole costs a fraction of one kept row by row).
 */
export const BULK_REQUESTS_TABLE = REQUESTS_TABLE.replace(REQUEST_INDEXES, '').replace('id TEXT PRIMARY KEY', 'id TEXT NOT NULL');
export const BULK_BUILT_INDEXES = `CREATE UNIQUE INDEX IF NOT EXISTS requests_id ON requests(id);${REQUEST_INDEXES}`;

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
  /** While its indexes are deferred: the ids it holds (what keeps them unique meanwhile). */
  private bulkIds: Set<string> | undefined;
  /** Bytes its file had room for when made (see bulkSegment.ts): counted as held in memory. */
  room = 0;

  /** Tells this segment apart from every other made in this process (with `version`: what it held when something was read from it). */
  readonly serial = ++segmentsMade;

  constructor(readonly info: SegmentInfo) {}

  /**
   * Inserts a record (inside the caller's transaction) with `seq` as its rowid; whether it was new
   * (a record already there, same id, is skipped). A new one counts in the catalogue entry.
   */
  insert(values: Array<string | number | null>, seq: number, r: RequestRecord): boolean {
    if (this.indexesDeferred) {
      this.bulkIds ??= new Set();
      if (this.bulkIds.has(r.id)) return false;
      this.bulkIds.add(r.id);
    }
    insertValues(values, seq, r);
    (this.insertStatement ??= this.db!.prepare(INSERT_SQL)).run(values);
    if (this.db!.getRowsModified() !== 1) return false;
    this.info.records++;
    this.info.minSeq ||= seq;
    this.info.maxSeq = Math.max(this.info.maxSeq, seq);
    return true;
  }

  /** The database's bytes as its file holds them (the indexes built first if they were deferred). */
  export(): Uint8Array {
    if (this.indexesDeferred) this.db!.exec(BULK_BUILT_INDEXES);
    this.indexesDeferred = false;
    this.bulkIds = undefined;
    return this.db!.export();
  }

  get dirty(): boolean {
    return this.version !== this.savedVersion;
  }

  /** What the open database holds in memory (its pages, or the room made for them), for the cache's bound. */
  get bytes(): number {
    if (!this.db) return 0;
    return Math.max(this.room, Number(this.db.exec('SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()')[0].values[0][0]));
  }

  close(): void {
    this.insertStatement?.free();
    this.insertStatement = undefined;
    this.db?.close();
    this.db = undefined;
  }
}

/** Opens a segment's file, or a new empty segment when it has none (bulkSegment.ts makes one for a bulk insert). */
export function openSegmentDatabase(SQL: SqlJsStatic, dir: string, file: string): Database {
  const db = openFile(SQL, dir, file);
  if (!file) db.exec(REQUESTS_TABLE);
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
