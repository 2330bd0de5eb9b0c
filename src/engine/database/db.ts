import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import type { RequestRecord } from './record';
import { FIELDS, COLUMN_OF, INSERT_SQL, insertValues } from './requestsTable';
import { RollupBatch } from './rollup';
import { ROLLUP_TABLES } from './rollupSchema';
import { CATALOGUE_SCHEMA, DAY_MS, INDEX_SCHEMA_VERSION, Segment, isDayKey, latestVersionOf, openSegmentDatabase, readCatalogue, readCounter, removeFiles, segmentFileName, segmentOf, strayFiles, writeCatalogue, writeCounter, type SegmentInfo } from './segments';
import { DatabaseFromNewerVersionError, DatabaseUnreadableError, hasTable, loadSqlJs, openBytes, readIfExists, userVersion, writeFileAtomic, writeFileAtomicSync } from './sqlFiles';
import { finishInterruptedMigration, migrateSingleFile, upgradeSingleFile } from './migration';

const SCHEMA_VERSION = INDEX_SCHEMA_VERSION;

/** Clean segments kept open besides the dirty ones (each a day's or an hour's records). */
const OPEN_CLEAN_SEGMENTS = 4;
/** A bulk insert writes its segments out once they hold this much, so an import's memory stays bounded. */
const BULK_SPILL_BYTES = 64 << 20;

/** A store's state in memory, unsaved changes included (see `bulk`). */
interface UnsavedState {
  infos: SegmentInfo[];
  changed: Map<string, Uint8Array>;
  nextSeq: number;
  removals: string[];
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
}

export interface SpendDatabaseOptions {
  create: boolean;
  /** A reader beside the database's owner: never writes, migrates or tidies (a single-file database is read as it is). */
  readOnly?: boolean;
  /** Told how a migration from a single-file database goes. */
  progress?: (message: string) => void;
}

/**
 * The spend database: an index (rollups, the segment catalogue, counters) and the records in time
 * segments (segments.ts), all in sql.js. Only the segments a question touches are in memory; a
 * save writes the index and the segments changed since the last one.
 */
export class SpendDatabase implements SpendData {
  private readonly byKey = new Map<string, Segment>();
  private ordered: Segment[] | undefined;
  private readonly hoursOfDay = new Map<string, number>();
  private readonly ofDb = new Map<Database, Segment>();
  private nextSeq = 1;
  private generation = 0;
  /** Files the next committed index no longer names. */
  private removals: string[] = [];
  private writes: Promise<unknown> = Promise.resolve();
  private rollup: RollupBatch | undefined;
  private inBulk = false;
  private tick = 0;
  /** Segments in the middle of a transaction: never closed by the cache. */
  private pinned: ReadonlyMap<Segment, unknown> | undefined;
  readonly dir: string | undefined;

  private constructor(
    private readonly SQL: SqlJsStatic,
    readonly index: Database,
    readonly file: string | undefined,
    private readonly readOnly: boolean,
    /** A single-file database read as it is: the index holds the records too. */
    private readonly single = false,
  ) {
    this.dir = file && !single ? `${file}.segments` : undefined;
    if (!single) this.loadCatalogue();
    else {
      // One segment: the file itself, records and rollups together.
      const [records, maxSeq] = index.exec('SELECT count(*), COALESCE(MAX(rowid), 0) FROM requests')[0].values[0].map(Number);
      this.add({ key: 'all', start: -Infinity, end: Infinity, file: '', records, minSeq: 1, maxSeq }).db = index;
      this.nextSeq = maxSeq + 1;
    }
  }

  /**
   * Opens the database at `file` (undefined: in memory only). A missing file gives an empty database
   * (when `create`); a single-file database (schema 4 and before) is migrated into segments first;
   * a file that is not a readable Burn Rate database throws DatabaseUnreadableError and is left untouched.
   */
  static async open(file: string | undefined, opts: SpendDatabaseOptions): Promise<SpendDatabase> {
    const SQL = await loadSqlJs();
    if (file && !opts.readOnly) finishInterruptedMigration(file);
    const bytes = file ? readIfExists(file) : undefined;
    if (file && !bytes && !opts.create) throw new DatabaseUnreadableError(`no database at ${file} (start the proxy with \`burnrate serve --db ${file}\` first)`);
    const db = openBytes(SQL, bytes, file ?? 'the database');
    const version = userVersion(db);
    if (version > SCHEMA_VERSION) {
      db.close();
      throw new DatabaseFromNewerVersionError(`${file} was written by a newer Burn Rate (schema ${version}, this one reads up to ${SCHEMA_VERSION}); it was left untouched: update Burn Rate, or use another --db`);
    }
    const anyTable = db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table'").length > 0;
    if (bytes?.length && version < SCHEMA_VERSION && anyTable) {
      if (!hasTable(db, 'requests')) {
        db.close();
        throw new DatabaseUnreadableError(`${file} is a SQLite file but not a Burn Rate database; it was left untouched`);
      }
      upgradeSingleFile(db, version);
      if (opts.readOnly) return new SpendDatabase(SQL, db, file, true, true);
      await migrateSingleFile(SQL, db, file!, opts.progress ?? (() => undefined));
      db.close();
      return SpendDatabase.open(file, opts);
    }
    db.exec(ROLLUP_TABLES);
    db.exec(CATALOGUE_SCHEMA);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('PRAGMA journal_mode = MEMORY');
    const database = new SpendDatabase(SQL, db, file, opts.readOnly ?? false);
    if (database.dir && !database.readOnly) database.removeStrayFiles();
    return database;
  }

  /** Inserts records (one transaction, or the bulk one: see `bulk`); records already present (same id) are skipped. Returns how many were added. */
  insert(records: readonly RequestRecord[]): number {
    if (!records.length) return 0;
    const rollup = (this.rollup ??= new RollupBatch(this.index));
    const now = Date.now();
    const touched = new Map<Segment, number>();
    const before = new Map<Segment, SegmentInfo>();
    const firstSeq = this.nextSeq;
    this.pinned = touched;
    const values: Array<string | number | null> = new Array(FIELDS.length + 1);
    if (!this.inBulk) this.index.exec('BEGIN');
    try {
      let segment: Segment | undefined;
      for (const r of records) {
        if (!segment || r.startedAt < segment.info.start || r.startedAt >= segment.info.end) segment = this.segmentForInsert(r.startedAt, now);
        if (!touched.has(segment)) {
          touched.set(segment, 0);
          before.set(segment, { ...segment.info });
          if (segment.db !== this.index) segment.db!.exec('BEGIN');
        }
        insertValues(values, this.nextSeq, r);
        (segment.insertStatement ??= segment.db!.prepare(INSERT_SQL)).run(values);
        // Only rows really inserted count (INSERT OR IGNORE skips a record already there).
        if (segment.db!.getRowsModified() === 1) {
          const info = segment.info;
          info.records++;
          info.minSeq ||= this.nextSeq;
          info.maxSeq = Math.max(info.maxSeq, this.nextSeq++);
          touched.set(segment, touched.get(segment)! + 1);
          rollup.add(r);
        }
      }
      rollup.write();
      for (const [s, added] of touched) {
        if (s.db !== this.index) s.db!.exec('COMMIT');
        if (added) s.version++;
      }
      if (!this.inBulk) this.index.exec('COMMIT');
      return this.nextSeq - firstSeq;
    } catch (e) {
      for (const s of touched.keys()) if (s.db !== this.index) s.db!.exec('ROLLBACK');
      if (!this.inBulk) this.index.exec('ROLLBACK');
      for (const [s, info] of before) Object.assign(s.info, info);
      this.nextSeq = firstSeq;
      throw e;
    } finally {
      this.pinned = undefined;
    }
  }

  /**
   * Holds the inserts that follow in one index transaction until `commit` (an import: a whole file
   * or nothing; `rollback` undoes them all). Segments are written as they fill (under names the
   * committed index does not know until the commit's save), so memory stays bounded. `rollback`
   * returns to the state before `bulk`, changes not yet saved included.
   */
  bulk(): { insert(records: readonly RequestRecord[]): number; commit(): Promise<void>; rollback(): void } {
    const before = this.unsavedState();
    this.index.exec('BEGIN');
    this.inBulk = true;
    const end = () => {
      const wasOpen = this.inBulk;
      this.inBulk = false;
      return wasOpen;
    };
    return {
      insert: (records) => {
        const added = this.insert(records);
        if (this.dir && this.openBytes() > BULK_SPILL_BYTES) this.spillAll();
        return added;
      },
      commit: async () => {
        if (!end()) return;
        this.index.exec('COMMIT');
        await this.save();
      },
      rollback: () => {
        if (!end()) return;
        this.index.exec('ROLLBACK');
        this.restore(before);
      },
    };
  }

  count(): number {
    let n = 0;
    for (const s of this.byKey.values()) n += s.info.records;
    return n;
  }

  /**
   * Writes what changed since the last save: the changed segments under new names, then the index
   * naming them (its rename commits the save), then removes the files it no longer names. The
   * snapshot is taken before this returns; the writing runs after the saves before it.
   */
  save(): Promise<number> {
    if (!this.file || this.readOnly) return Promise.resolve(0);
    this.compactClosedDays(Date.now());
    const generation = ++this.generation;
    const writes: Array<{ segment: Segment; name: string; bytes: Uint8Array; version: number }> = [];
    for (const segment of this.byKey.values()) {
      if (!segment.dirty || !segment.db) continue;
      const name = segmentFileName(segment.info.key, generation);
      writes.push({ segment, name, bytes: segment.db.export(), version: segment.version });
      this.retire(segment.info.file);
      segment.info.file = name;
    }
    this.writeCatalogue();
    const indexBytes = this.index.export();
    const removals = this.removals.splice(0);
    const file = this.file;
    const dir = this.dir!;
    const done = this.writes.then(async () => {
      for (const w of writes) await writeFileAtomic(path.join(dir, w.name), w.bytes);
      await writeFileAtomic(file, indexBytes);
      for (const w of writes) w.segment.savedVersion = Math.max(w.segment.savedVersion, w.version);
      removeFiles(dir, removals);
      return writes.reduce((sum, w) => sum + w.bytes.length, indexBytes.length);
    });
    this.writes = done.catch(() => undefined);
    return done;
  }

  /** Deletes records that started before `before` (epoch ms): whole segments where it can; returns how many. */
  deleteBefore(before: number): number {
    let deleted = 0;
    for (const segment of [...this.byKey.values()]) {
      if (segment.info.end <= before && !this.single) {
        deleted += segment.info.records;
        this.drop(segment);
      } else if (segment.info.start < before && segment.info.records > 0) {
        const db = this.open(segment);
        db.run('DELETE FROM requests WHERE started_at < ?', [before]);
        const n = db.getRowsModified();
        if (n) {
          segment.info.records -= n;
          segment.version++;
          deleted += n;
        }
      }
    }
    return deleted;
  }

  *segments(range: TimeRange = {}, order: 'asc' | 'desc' = 'asc'): Generator<Database> {
    const list = this.inOrder().filter((s) => s.info.records > 0 && (range.since === undefined || s.info.end > range.since) && (range.until === undefined || s.info.start < range.until));
    if (order === 'desc') list.reverse();
    for (const segment of list) yield this.open(segment);
  }

  *segmentsAfterSeq(seq: number): Generator<Database> {
    const list = this.inOrder().filter((s) => s.info.records > 0 && s.info.maxSeq > seq);
    list.sort((a, b) => a.info.minSeq - b.info.minSeq);
    for (const segment of list) yield this.open(segment);
  }

  /** The open segment holding records started at `at`, if any (to change a record in place). */
  segmentAt(at: number): Database | undefined {
    for (const segment of this.byKey.values()) if (at >= segment.info.start && at < segment.info.end) return this.open(segment);
    return undefined;
  }

  /** Marks the segment of `db` changed (after a record in it was updated in place). */
  changed(db: Database): void {
    const segment = this.ofDb.get(db);
    if (segment) segment.version++;
  }

  close(): void {
    this.rollup?.free();
    this.rollup = undefined;
    for (const s of this.byKey.values()) if (s.db !== this.index) this.closeSegment(s);
    this.index.close();
  }

  /** The segment a record started at `at` goes to: its day's once the day is over (unless the day still has hours), else its hour's. */
  private segmentForInsert(at: number, now: number): Segment {
    if (this.single) return this.byKey.get('all')!;
    const day = segmentOf(at, 'day');
    const existing = this.byKey.get(day.key);
    if (existing) {
      this.open(existing);
      return existing;
    }
    const closed = day.end <= Math.floor(now / DAY_MS) * DAY_MS;
    const where = closed && !this.hoursOfDay.has(day.key) ? day : segmentOf(at, 'hour');
    const segment = this.byKey.get(where.key) ?? this.add({ ...where, file: '', records: 0, minSeq: 0, maxSeq: 0 });
    this.open(segment);
    return segment;
  }

  /** Merges each ended day's hour segments into one day segment (written once by the save). */
  private compactClosedDays(now: number): void {
    const today = Math.floor(now / DAY_MS) * DAY_MS;
    for (const dayKey of [...this.hoursOfDay.keys()]) {
      const hours = this.inOrder().filter((s) => !isDayKey(s.info.key) && s.info.key.startsWith(`${dayKey}T`));
      if (!hours.length || hours[0].info.start >= today) continue;
      const day = this.add({ ...segmentOf(hours[0].info.start, 'day'), file: '', records: 0, minSeq: 0, maxSeq: 0 });
      this.pinned = new Map([[day, 0]]);
      const target = this.open(day);
      const insert = (day.insertStatement ??= target.prepare(INSERT_SQL));
      target.exec('BEGIN');
      for (const hour of hours) {
        const rows = this.open(hour).exec(`SELECT rowid, ${FIELDS.map((f) => COLUMN_OF[f]).join(', ')} FROM requests`)[0]?.values ?? [];
        for (const row of rows) insert.run(row as Array<string | number | null>);
        day.info.records += hour.info.records;
        day.info.minSeq = day.info.minSeq ? Math.min(day.info.minSeq, hour.info.minSeq || Infinity) : hour.info.minSeq;
        day.info.maxSeq = Math.max(day.info.maxSeq, hour.info.maxSeq);
        this.drop(hour);
      }
      target.exec('COMMIT');
      day.version++;
      this.pinned = undefined;
    }
  }

  private add(info: SegmentInfo): Segment {
    const segment = new Segment(info);
    this.byKey.set(info.key, segment);
    this.ordered = undefined;
    if (!isDayKey(info.key)) {
      const day = info.key.slice(0, info.key.indexOf('T'));
      this.hoursOfDay.set(day, (this.hoursOfDay.get(day) ?? 0) + 1);
    }
    return segment;
  }

  /** Forgets a segment; its file goes with the next save. */
  private drop(segment: Segment): void {
    this.closeSegment(segment);
    this.byKey.delete(segment.info.key);
    this.ordered = undefined;
    this.retire(segment.info.file);
    if (!isDayKey(segment.info.key)) {
      const day = segment.info.key.slice(0, segment.info.key.indexOf('T'));
      const left = (this.hoursOfDay.get(day) ?? 1) - 1;
      if (left) this.hoursOfDay.set(day, left);
      else this.hoursOfDay.delete(day);
    }
  }

  private retire(file: string): void {
    if (file) this.removals.push(file);
  }

  private inOrder(): Segment[] {
    return (this.ordered ??= [...this.byKey.values()].sort((a, b) => a.info.start - b.info.start));
  }

  /** A segment's database, opened from its file if need be; the least recently used clean ones beyond the bound are closed. */
  private open(segment: Segment): Database {
    segment.lastUsed = ++this.tick;
    if (segment.db) return segment.db;
    try {
      segment.db = openSegmentDatabase(this.SQL, this.dir ?? '', segment.info.file);
    } catch (e) {
      // A reader beside the owner: the owner has saved since the index was read, and removed this version.
      if (!this.readOnly || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const latest = openBytes(this.SQL, readIfExists(this.file!), this.file!);
      const fresh = readCatalogue(latest);
      latest.close();
      segment.db = latestVersionOf(this.SQL, this.dir ?? '', segment.info, fresh);
    }
    this.ofDb.set(segment.db, segment);
    if (this.dir) this.closeLeastRecentlyUsed();
    return segment.db;
  }

  private closeLeastRecentlyUsed(): void {
    const clean = [...this.byKey.values()].filter((s) => s.db && !s.dirty && s.db !== this.index && !this.pinned?.has(s));
    if (clean.length <= OPEN_CLEAN_SEGMENTS) return;
    clean.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const s of clean.slice(0, clean.length - OPEN_CLEAN_SEGMENTS)) this.closeSegment(s);
  }

  private closeSegment(segment: Segment): void {
    if (segment.db) this.ofDb.delete(segment.db);
    segment.close();
  }

  private openBytes(): number {
    let bytes = 0;
    for (const s of this.byKey.values()) if (s.db) bytes += s.bytes;
    return bytes;
  }

  /** Writes every changed segment to a file of its own now (not yet named by the committed index) and closes it. */
  private spillAll(): void {
    const generation = ++this.generation;
    for (const segment of this.byKey.values()) {
      if (!segment.db) continue;
      if (segment.dirty) {
        const name = segmentFileName(segment.info.key, generation);
        writeFileAtomicSync(path.join(this.dir!, name), segment.db.export());
        this.retire(segment.info.file);
        segment.info.file = name;
        segment.savedVersion = segment.version;
      }
      this.closeSegment(segment);
    }
  }

  private writeCatalogue(): void {
    const own = !this.inBulk;
    if (own) this.index.exec('BEGIN');
    writeCatalogue(this.index, [...this.byKey.values()].map((s) => s.info));
    writeCounter(this.index, 'next_seq', this.nextSeq);
    writeCounter(this.index, 'generation', this.generation);
    if (own) this.index.exec('COMMIT');
  }

  private loadCatalogue(): void {
    for (const s of this.byKey.values()) this.closeSegment(s);
    this.byKey.clear();
    this.hoursOfDay.clear();
    this.ordered = undefined;
    for (const info of readCatalogue(this.index)) this.add(info);
    this.nextSeq = Math.max(1, readCounter(this.index, 'next_seq'));
    this.generation = Math.max(this.generation, readCounter(this.index, 'generation'));
  }

  /**
   * What `restore` returns to: the catalogue as it is (saved or not), the records of the segments
   * changed since the last save (the catalogue in the index and the files only have the saved ones),
   * the sequence and the files the next save is to remove.
   */
  private unsavedState(): UnsavedState {
    const segments = [...this.byKey.values()];
    return {
      infos: segments.map((s) => ({ ...s.info })),
      changed: new Map(segments.filter((s) => s.dirty && s.db && s.db !== this.index).map((s) => [s.info.key, s.db!.export()])),
      nextSeq: this.nextSeq,
      removals: [...this.removals],
    };
  }

  /** Back to `state` (a bulk insert rolled back): its segments, the changed ones from their bytes; files written since are deleted. */
  private restore(state: UnsavedState): void {
    this.nextSeq = state.nextSeq;
    if (this.single) {
      // The records are in the index, which the rollback has restored.
      Object.assign(this.byKey.get('all')!.info, state.infos[0]);
      return;
    }
    for (const s of this.byKey.values()) if (s.db !== this.index) this.closeSegment(s);
    this.byKey.clear();
    this.hoursOfDay.clear();
    this.ordered = undefined;
    for (const info of state.infos) {
      const segment = this.add({ ...info });
      const bytes = state.changed.get(info.key);
      if (!bytes) continue;
      segment.db = new this.SQL.Database(bytes);
      segment.db.exec('PRAGMA journal_mode = MEMORY');
      this.ofDb.set(segment.db, segment);
      segment.version = segment.savedVersion + 1;
    }
    this.removals = [...state.removals];
    // The files still to remove are named by the index on disk until the next save.
    if (this.dir) this.removeStrayFiles(this.removals);
  }

  private removeStrayFiles(stillNamed: readonly string[] = []): void {
    const named = new Set([...[...this.byKey.values()].map((s) => s.info.file).filter(Boolean), ...stillNamed]);
    removeFiles(this.dir!, strayFiles(this.dir!, named));
    fs.mkdirSync(this.dir!, { recursive: true });
  }
}
