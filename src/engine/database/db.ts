import * as path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { BulkInsert, type BulkHost } from './bulk/bulkInsert';
import { finishInterruptedMigration, migrateSingleFile, upgradeSingleFile } from './migration';
import type { RequestRecord } from './record';
import { RollupBatch } from './rollups/rollup';
import type { ExportHold, RetentionOutcome } from './retentionHold';
import { createRollupTables } from './rollups/rollupSchema';
import { SESSION_ARCHIVE_SCHEMA, SessionArchive, type IndexChange } from './rollups/sessionArchive';
import { CATALOGUE_SCHEMA, INDEX_SCHEMA_VERSION, readCatalogue, readCounter, writeCatalogue, writeCounter } from './catalogue';
import { FIELDS, removeFiles, segmentFileName, type Segment, type SegmentHandle, type SegmentInfo, type SpendData, type TimeRange } from './segments';
import { SegmentSet } from './segmentSet';
import { DatabaseUnreadableError, layoutOf, loadSqlJs, openBytes, readIfExists, userVersion, writeFileAtomic } from './sqlFiles';

const SCHEMA_VERSION = INDEX_SCHEMA_VERSION;

export interface SpendDatabaseOptions {
  create: boolean;
  /** A reader beside the database's owner: never writes, migrates or tidies (a single-file database is read as it is). */
  readOnly?: boolean;
  /** Told how a migration from a single-file database goes. */
  progress?: (message: string) => void;
  /**
   * A single-file database is used as it is (in memory, never saved) until `migrate`: a server
   * starts serving at once and migrates at its first save, records waiting in its journal meanwhile.
   */
  deferMigration?: boolean;
}

/**
 * The spend database: an index (rollups, the segment catalogue, counters) and the records in time
 * segments (segments.ts, segmentSet.ts), all in sql.js. Only the segments a question touches are in
 * memory. A save writes the segments changed since the last one; the index, which every face reads
 * and which grows with the history, is written when it changed other than by inserts, or once the
 * segments written since it add up to its own size: a later open takes in the newer segment
 * versions (their records past what the index counted), so no record is lost either way.
 */
export class SpendDatabase implements SpendData {
  private readonly set: SegmentSet;
  private readonly archive: SessionArchive;
  private nextSeq = 1;
  private generation = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private rollup: RollupBatch | undefined;
  private inBulk = false;
  /** The index changed other than by inserts (retention, repricing, compaction, taking in newer segments). */
  private indexDirty = false;
  private indexBytes = 0;
  private segmentBytesSinceIndex = 0;
  /** The index is made compact at the next save (after a bulk insert). */
  private vacuumDue = false;

  private constructor(
    private readonly SQL: SqlJsStatic,
    readonly index: Database,
    readonly file: string | undefined,
    private readonly readOnly: boolean,
    /** A single-file database read as it is: the index holds the records too. */
    private readonly single = false,
    private readonly opts?: SpendDatabaseOptions,
  ) {
    this.set = new SegmentSet(this.SQL, file && !single ? `${file}.segments` : undefined, readOnly);
    this.archive = new SessionArchive(this.SQL, this.set.dir);
    if (!single) this.loadCatalogue();
    else {
      // One segment: the file itself, records and rollups together.
      const [records, maxSeq] = index.exec('SELECT count(*), COALESCE(MAX(rowid), 0) FROM requests')[0].values[0].map(Number);
      this.set.add({ key: 'all', start: -Infinity, end: Infinity, file: '', records, minSeq: 1, maxSeq }).db = index;
      this.nextSeq = maxSeq + 1;
    }
  }

  get dir(): string | undefined {
    return this.set.dir;
  }

  /**
   * Opens the database at `file` (undefined: in memory only). A missing file gives an empty database
   * (when `create`); a single-file database (schema 4 and before) is migrated into segments first;
   * a file that is not a readable Burn Rate database throws DatabaseUnreadableError and is left
   * untouched; one from a newer Burn Rate throws DatabaseFromNewerVersionError.
   */
  static async open(file: string | undefined, opts: SpendDatabaseOptions): Promise<SpendDatabase> {
    const SQL = await loadSqlJs();
    if (file && !opts.readOnly) finishInterruptedMigration(file);
    const bytes = file ? readIfExists(file) : undefined;
    if (file && !bytes && !opts.create)
      throw new DatabaseUnreadableError(`no database at ${file} (start the proxy with \`burnrate serve --db ${file}\` first)`);
    const db = openBytes(SQL, bytes, file ?? 'the database');
    if (layoutOf(db, file, SCHEMA_VERSION) === 'single-file') {
      upgradeSingleFile(db, userVersion(db));
      if (opts.readOnly || opts.deferMigration) return new SpendDatabase(SQL, db, file, opts.readOnly ?? false, true, opts);
      await migrateSingleFile(SQL, db, file!, opts.progress ?? (() => undefined));
      db.close();
      return SpendDatabase.open(file, opts);
    }
    const rollupsAdded = createRollupTables(db);
    db.exec(CATALOGUE_SCHEMA + SESSION_ARCHIVE_SCHEMA);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    // Saved whole; SQLite's rollback journal only needs to live in memory.
    db.exec('PRAGMA journal_mode = MEMORY');
    const database = new SpendDatabase(SQL, db, file, opts.readOnly ?? false);
    database.indexBytes = bytes?.length ?? 0;
    database.indexDirty = rollupsAdded;
    database.takeInNewerSegments();
    if (database.dir && !database.readOnly) database.set.removeStrayFiles(database.archive.named());
    return database;
  }

  /** Inserts records (one transaction, or the bulk one: see `bulk`); records already present (same id) are skipped. Returns how many were added. */
  insert(records: readonly RequestRecord[]): number {
    if (!records.length) return 0;
    const rollup = (this.rollup ??= new RollupBatch(this.index));
    const now = Date.now();
    const before = new Map<Segment, SegmentInfo>();
    const firstSeq = this.nextSeq;
    const values: Array<string | number | null> = new Array(FIELDS.length + 1);
    this.set.pinned = before;
    if (!this.inBulk) this.index.exec('BEGIN');
    try {
      let segment: Segment | undefined;
      for (const r of records) {
        if (!segment || r.startedAt < segment.info.start || r.startedAt >= segment.info.end)
          segment = this.single ? this.set.at(0)! : this.set.forInsert(r.startedAt, now);
        if (!before.has(segment)) {
          before.set(segment, { ...segment.info });
          if (segment.db !== this.index) segment.db!.exec('BEGIN');
        }
        // Only records really inserted take a sequence number and count in the rollups.
        if (segment.insert(values, this.nextSeq, r)) {
          this.nextSeq++;
          rollup.add(r);
        }
      }
      rollup.write();
      for (const [s, info] of before) {
        if (s.db !== this.index) s.db!.exec('COMMIT');
        if (s.info.records !== info.records) s.version++;
      }
      if (!this.inBulk) this.index.exec('COMMIT');
      return this.nextSeq - firstSeq;
    } catch (e) {
      for (const s of before.keys()) if (s.db !== this.index) s.db!.exec('ROLLBACK');
      if (!this.inBulk) this.index.exec('ROLLBACK');
      for (const [s, info] of before) Object.assign(s.info, info);
      this.nextSeq = firstSeq;
      throw e;
    } finally {
      this.set.pinned = undefined;
    }
  }

  /**
   * Holds the inserts that follow in one index transaction until `commit` (see BulkInsert);
   * `builders`: threads that build the segments new to it (0: all on this thread).
   */
  bulk(opts: { builders?: number } = {}): BulkInsert {
    // A rollback returns to what the files hold: nothing may be waiting for a save.
    if ([...this.set.all()].some((s) => s.dirty) || this.indexDirty) throw new Error('a bulk insert needs every change saved first');
    this.index.exec('BEGIN');
    this.inBulk = true;
    this.set.deferIndexes = true;
    const end = () => {
      const wasOpen = this.inBulk;
      this.inBulk = false;
      this.set.deferIndexes = false;
      return wasOpen;
    };
    const host: BulkHost = {
      set: this.set,
      dir: this.dir,
      insertHere: (records) => this.insert(records),
      takeSeq: () => this.nextSeq++,
      newGeneration: () => ++this.generation,
      rollup: () => (this.rollup ??= new RollupBatch(this.index)),
      // One that added nothing writes nothing.
      commit: async (added) => {
        if (!end()) return;
        this.index.exec('COMMIT');
        if (!added) return;
        // Rollup rows upserted all over the tables leave their pages half full: the index, which
        // every later save may write, is made compact again (about half the size after a big import).
        this.vacuumDue = true;
        await this.save();
      },
      rollback: () => {
        if (!end()) return;
        this.index.exec('ROLLBACK');
        this.set.forgetRemovals();
        this.loadCatalogue();
        if (this.dir) this.set.removeStrayFiles(this.archive.named());
      },
    };
    return new BulkInsert(host, opts.builders ?? 0);
  }

  count(): number {
    return this.set.count();
  }

  /** Whether the index on disk names everything saved: a later open has nothing to take in. */
  get indexCommitted(): boolean {
    return !this.file || this.readOnly || this.single || (!this.indexDirty && this.segmentBytesSinceIndex === 0);
  }

  /** A single-file database opened with `deferMigration`, not yet split into segments (see `migrate`). */
  get migrationPending(): boolean {
    return this.single && !this.readOnly;
  }

  /** Splits a single-file database opened with `deferMigration` into segments (records inserted since included); returns the database to use from now on, this one being closed. */
  async migrate(): Promise<SpendDatabase> {
    if (!this.migrationPending) return this;
    await migrateSingleFile(this.SQL, this.index, this.file!, this.opts?.progress ?? (() => undefined));
    this.close();
    return SpendDatabase.open(this.file, { create: false, progress: this.opts?.progress });
  }

  /**
   * Writes what changed since the last save: the changed segments under new names, then (when it
   * is due, see the class) the index naming them, whose rename commits the save, then removes the
   * files it no longer names (`commit`: the index whether due or not). The snapshot is taken before
   * this returns; the writing runs after the saves before it. Resolves with the bytes written.
   */
  save(opts: { commit?: boolean } = {}): Promise<number> {
    // A single-file database is never written again (see `migrate`).
    if (!this.file || this.readOnly || this.single) return Promise.resolve(0);
    const now = Date.now();
    if (this.set.compactEndedDays(now)) this.indexDirty = true;
    const generation = ++this.generation;
    this.archiveEndedMonths(now, generation);
    const writes = [...this.set.all()]
      .filter((segment) => segment.dirty && segment.db)
      .map((segment) => ({ segment, name: '', bytes: segment.export(), version: segment.version }));
    const segmentBytes = writes.reduce((sum, w) => sum + w.bytes.length, 0);
    this.segmentBytesSinceIndex += segmentBytes;
    const withIndex = opts.commit || this.indexDirty || this.segmentBytesSinceIndex >= this.indexBytes;
    for (const w of writes) {
      w.name = segmentFileName(w.segment.info.key, generation, withIndex);
      this.set.retire(w.segment.info.file);
      w.segment.info.file = w.name;
    }
    const indexBytes = withIndex ? this.exportIndex() : undefined;
    const removals = indexBytes ? this.set.takeRemovals() : [];
    const { file, dir } = this;
    const done = this.writes.then(async () => {
      for (const w of writes) await writeFileAtomic(path.join(dir!, w.name), w.bytes);
      if (indexBytes) await writeFileAtomic(file, indexBytes);
      for (const w of writes) w.segment.savedVersion = Math.max(w.segment.savedVersion, w.version);
      removeFiles(dir!, removals);
      return segmentBytes + (indexBytes?.length ?? 0);
    });
    this.writes = done.catch(() => undefined);
    return done;
  }

  /** Deletes records that started before `before` (epoch ms), but those `hold` spares (retentionHold.ts): whole segments where it can. */
  deleteBefore(before: number, hold?: ExportHold): RetentionOutcome {
    const outcome = this.set.deleteBefore(before, !this.single, hold);
    if (outcome.deleted) this.indexDirty = true;
    return outcome;
  }

  *segments(range: TimeRange = {}, order: 'asc' | 'desc' = 'asc'): Generator<Database> {
    const list = this.set.inRange(range.since, range.until);
    if (order === 'desc') list.reverse();
    for (const segment of list) yield this.set.open(segment);
  }

  *segmentsAfterSeq(seq: number): Generator<Database> {
    for (const segment of this.set.afterSeq(seq)) yield this.set.open(segment);
  }

  segmentHandles(range: TimeRange = {}): SegmentHandle[] {
    return this.set.inRange(range.since, range.until).map((s) => ({
      id: `${s.serial}.${s.version}`,
      start: s.info.start,
      end: s.info.end,
      open: () => this.set.open(s),
    }));
  }

  *sessionRollups(firstDay?: string, lastDay?: string): Generator<Database> {
    yield this.index;
    yield* this.archive.months(firstDay, lastDay);
  }

  /** Makes the rollups of records started at `times` changeable in the index: see SessionArchive.restore. */
  rollupsToChange(times: Iterable<number>): void {
    this.index.exec('BEGIN');
    const restored = this.archive.restore(this.index, times);
    this.index.exec('COMMIT');
    this.retire(restored);
  }

  /** The open segment holding records started at `at`, if any (to change a record in place). */
  segmentAt(at: number): Database | undefined {
    const segment = this.set.at(at);
    return segment && this.set.open(segment);
  }

  /** Marks the segment of `db` changed (after a record in it was updated in place, and its rollups moved). */
  changed(db: Database): void {
    const segment = this.single ? this.set.at(0) : this.set.ofDatabase(db);
    if (segment) segment.version++;
    this.indexDirty = true;
  }

  close(): void {
    this.rollup?.free();
    this.rollup = undefined;
    if (!this.single) this.set.closeAll();
    this.index.close();
  }

  /** The index's bytes with the catalogue and counters as they are now. */
  private exportIndex(): Uint8Array {
    const own = !this.inBulk;
    if (own) this.index.exec('BEGIN');
    const catalogue = [...this.set.all()].map((s) => s.info);
    writeCatalogue(this.index, catalogue);
    writeCounter(this.index, 'next_seq', this.nextSeq);
    writeCounter(this.index, 'generation', this.generation);
    if (own) this.index.exec('COMMIT');
    const bytes = this.index.export();
    this.indexDirty = false;
    this.indexBytes = bytes.length;
    this.segmentBytesSinceIndex = 0;
    return bytes;
  }

  /** Moves the session rollups of ended months out of the index (sessionArchive.ts). */
  private archiveEndedMonths(now: number, generation: number): void {
    if (!this.inBulk) this.index.exec('BEGIN');
    const moved = this.archive.moveEndedMonths(this.index, now, generation);
    if (!this.inBulk) this.index.exec('COMMIT');
    this.retire(moved);
    // Rows moved leave free pages behind: the index, read whole at every start, is made compact.
    if ((moved.changed || this.vacuumDue) && !this.inBulk) {
      this.index.exec('VACUUM');
      this.vacuumDue = false;
      this.indexDirty = true;
    }
  }

  private retire(change: IndexChange): void {
    for (const file of change.unnamed) this.set.retire(file);
    if (change.changed) this.indexDirty = true;
  }

  private loadCatalogue(): void {
    this.set.load(readCatalogue(this.index));
    this.archive.load(this.index);
    this.nextSeq = Math.max(1, readCounter(this.index, 'next_seq'));
    this.generation = Math.max(this.generation, readCounter(this.index, 'generation'));
  }

  /** Segment versions saved after the index: their newer records go into the rollups (in memory; the owner's next save writes them). */
  private takeInNewerSegments(): void {
    if (!this.dir) return;
    let taken = 0;
    const rollup = (this.rollup ??= new RollupBatch(this.index));
    this.index.exec('BEGIN');
    const committed = readCounter(this.index, 'generation');
    const generation = this.set.adoptNewer(committed, (records) => {
      for (const r of records) rollup.add(r);
      taken += records.length;
    });
    rollup.write();
    this.index.exec('COMMIT');
    this.generation = Math.max(this.generation, generation);
    for (const s of this.set.all()) this.nextSeq = Math.max(this.nextSeq, s.info.maxSeq + 1);
    if (taken || generation > committed) this.indexDirty = true;
  }
}
