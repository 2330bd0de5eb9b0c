import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { DAY_MS } from '../../shared';
import type { RequestRecord } from './record';
import { bulkSegmentDatabase } from './bulkSegment';
import {
  copyRecords,
  Segment,
  isDayKey,
  newestSegmentFiles,
  openSegmentDatabase,
  parseSegmentFileName,
  recordReader,
  removeFiles,
  segmentFileName,
  segmentOf,
  strayFiles,
  type SegmentInfo,
} from './segments';
import { holdsNone, noRetentionOutcome, pruneSegment, type ExportHold, type RetentionOutcome } from './retentionHold';
import { writeFileAtomicSync } from './sqlFiles';

/**
 * Clean segments kept open besides the dirty ones (each a day's or a slice's records): at most
 * this many, and beyond the most recently used one only while they hold no more than
 * OPEN_CLEAN_BYTES together (a day of a heavy user's records is about 10 MB in memory).
 */
const OPEN_CLEAN_SEGMENTS = 4;
const OPEN_CLEAN_BYTES = 16 << 20;

/**
 * The segments of one database in memory: the catalogue (what each holds, which file), the ones
 * open (a bounded cache of clean ones, plus every one with unsaved records), and the files they
 * retire. The index (db.ts) decides when to commit.
 */
export class SegmentSet {
  private readonly byKey = new Map<string, Segment>();
  private ordered: Segment[] | undefined;
  private readonly slicesOfDay = new Map<string, number>();
  private readonly ofDb = new Map<Database, Segment>();
  private tick = 0;
  /** Files the next committed index no longer names. */
  private removals: string[] = [];
  /** Segments in the middle of a transaction: never closed by the cache. */
  pinned: { has(segment: Segment): boolean } | undefined;
  /** New segments are made without their secondary indexes (a bulk insert). */
  deferIndexes = false;

  constructor(
    private readonly SQL: SqlJsStatic,
    /** The segments folder; undefined for a database in memory only (nothing is ever closed then). */
    readonly dir: string | undefined,
    private readonly readOnly: boolean,
  ) {}

  /** Replaces the catalogue (at open, and after a bulk insert is rolled back), closing what was open. */
  load(infos: readonly SegmentInfo[]): void {
    this.closeAll();
    this.byKey.clear();
    this.slicesOfDay.clear();
    this.ordered = undefined;
    for (const info of infos) this.add(info);
  }

  all(): IterableIterator<Segment> {
    return this.byKey.values();
  }

  count(): number {
    let n = 0;
    for (const s of this.byKey.values()) n += s.info.records;
    return n;
  }

  /** Segments that may hold records started in [since, until), in time order. */
  inRange(since: number | undefined, until: number | undefined): Segment[] {
    return this.inOrder().filter((s) => s.info.records > 0 && (since === undefined || s.info.end > since) && (until === undefined || s.info.start < until));
  }

  /** Segments that may hold records inserted after `seq`, in insertion order. */
  afterSeq(seq: number): Segment[] {
    return this.inOrder()
      .filter((s) => s.info.records > 0 && s.info.maxSeq > seq)
      .sort((a, b) => a.info.minSeq - b.info.minSeq);
  }

  at(time: number): Segment | undefined {
    for (const s of this.byKey.values()) if (time >= s.info.start && time < s.info.end) return s;
    return undefined;
  }

  ofDatabase(db: Database): Segment | undefined {
    return this.ofDb.get(db);
  }

  /**
   * The segment a record started at `at` goes to: its day's once the day is over (unless the day
   * still has slices), else its quarter-hour slice's (or the hour's an older version made).
   */
  forInsert(at: number, now: number): Segment {
    const segment = this.segmentFor(at, now);
    this.open(segment);
    return segment;
  }

  /** The segment a record started at `at` goes in (see forInsert), in the catalogue but not opened. */
  segmentFor(at: number, now: number): Segment {
    const day = segmentOf(at, 'day');
    return this.byKey.get(day.key) ?? this.sliceFor(at, day, now);
  }

  get(key: string): Segment | undefined {
    return this.byKey.get(key);
  }

  /** A record's segment within a day that has no day segment: its slice, the day itself once it is over and has no slice, or an older version's hour. */
  private sliceFor(at: number, day: ReturnType<typeof segmentOf>, now: number): Segment {
    const slice = segmentOf(at, 'slice');
    const existing = this.byKey.get(slice.key) ?? this.byKey.get(segmentOf(at, 'hour').key);
    if (existing) return existing;
    const where = day.end <= Math.floor(now / DAY_MS) * DAY_MS && !this.slicesOfDay.has(day.key) ? day : slice;
    return this.add({ ...where, file: '', records: 0, minSeq: 0, maxSeq: 0 });
  }

  /** A segment's database, opened from its file if need be; the least recently used clean ones beyond the bound are closed. */
  open(segment: Segment): Database {
    segment.lastUsed = ++this.tick;
    if (segment.db) return segment.db;
    segment.indexesDeferred = this.deferIndexes && !segment.info.file;
    try {
      if (segment.indexesDeferred) ({ db: segment.db, room: segment.room } = bulkSegmentDatabase(this.SQL, segment.info.key));
      else {
        segment.db = openSegmentDatabase(this.SQL, this.dir ?? '', segment.info.file);
        segment.room = 0;
      }
    } catch (e) {
      if (!this.dir || !this.readOnly || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      segment.db = this.latestVersionOf(segment.info);
    }
    this.ofDb.set(segment.db, segment);
    if (this.dir) this.closeLeastRecentlyUsed();
    return segment.db;
  }

  /**
   * For a reader beside the owner, a segment whose file the owner has replaced since the index was
   * read: its newest version; once merged into its day, the day's records in its range; once
   * dropped by retention, none. Looked up again should the owner replace it once more meanwhile.
   */
  private latestVersionOf(info: SegmentInfo, attempts = 3): Database {
    try {
      return this.newestVersionOf(info);
    } catch (e) {
      if (attempts <= 1 || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return this.latestVersionOf(info, attempts - 1);
    }
  }

  private newestVersionOf(info: SegmentInfo): Database {
    const files = newestSegmentFiles(this.dir!);
    const same = files.get(info.key);
    if (same) {
      info.file = same.file;
      return openSegmentDatabase(this.SQL, this.dir!, same.file);
    }
    const db = openSegmentDatabase(this.SQL, this.dir!, '');
    const day = files.get(segmentOf(info.start, 'day').key);
    if (!day || isDayKey(info.key)) return db;
    const source = openSegmentDatabase(this.SQL, this.dir!, day.file);
    try {
      copyRecords(source, db, info.start, info.end);
    } finally {
      source.close();
    }
    return db;
  }

  /**
   * Merges each ended day's slice segments into one day segment (written once by the next save).
   * Returns whether any day was merged.
   */
  compactEndedDays(now: number): boolean {
    const today = Math.floor(now / DAY_MS) * DAY_MS;
    let compacted = false;
    for (const dayKey of [...this.slicesOfDay.keys()]) {
      const slices = this.inOrder().filter((s) => !isDayKey(s.info.key) && s.info.key.startsWith(`${dayKey}T`));
      if (!slices.length || slices[0].info.start >= today) continue;
      const day = this.add({ ...segmentOf(slices[0].info.start, 'day'), file: '', records: 0, minSeq: 0, maxSeq: 0 });
      this.pinned = new Set([day]);
      const target = this.open(day);
      target.exec('BEGIN');
      for (const slice of slices) {
        copyRecords(this.open(slice), target);
        day.info.records += slice.info.records;
        day.info.minSeq = Math.min(day.info.minSeq || Infinity, slice.info.minSeq || Infinity);
        day.info.maxSeq = Math.max(day.info.maxSeq, slice.info.maxSeq);
        this.drop(slice);
      }
      target.exec('COMMIT');
      if (!Number.isFinite(day.info.minSeq)) day.info.minSeq = 0;
      day.version++;
      this.pinned = undefined;
      compacted = true;
    }
    return compacted;
  }

  /**
   * Takes in segment versions newer than the catalogue names (saved after the index last was):
   * their records with sequence numbers past what the catalogue counted are handed to `take` (for
   * the rollups) and counted in. Returns the highest generation seen.
   */
  adoptNewer(committedGeneration: number, take: (records: RequestRecord[]) => void): number {
    let generation = 0;
    if (!this.dir) return generation;
    for (const f of newestSegmentFiles(this.dir).values()) generation = Math.max(generation, f.generation);
    // Only what saves after the index wrote: an older file the index no longer names (a slice since
    // merged into its day, a segment retention dropped) is a left-over whose records are counted.
    for (const [key, found] of newestSegmentFiles(this.dir, (f) => !f.withIndex && f.generation > committedGeneration)) {
      const segment = this.byKey.get(key);
      if (segment && (parseSegmentFileName(segment.info.file)?.generation ?? -1) >= found.generation) continue;
      const info = segment?.info ?? { key, start: found.start, end: found.end, file: '', records: 0, minSeq: 0, maxSeq: 0 };
      const db = openSegmentDatabase(this.SQL, this.dir, found.file);
      try {
        const rows = db.exec('SELECT rowid AS seq, * FROM requests WHERE rowid > ? ORDER BY rowid', [info.maxSeq])[0];
        const records = rows ? rows.values.map(recordReader(rows.columns)) : [];
        const seqs = rows ? rows.values.map((v) => Number(v[0])) : [];
        take(records);
        info.records += records.length;
        if (seqs.length) info.minSeq ||= seqs[0];
        info.maxSeq = Math.max(info.maxSeq, ...seqs.slice(-1));
      } finally {
        db.close();
      }
      if (info.file) this.retire(info.file);
      info.file = found.file;
      if (!segment) this.add(info);
    }
    return generation;
  }

  /**
   * Deletes the records started before `before` that `hold` does not spare (retentionHold.ts):
   * whole segments where it can (`dropWhole`, and none of their records held), else row by row.
   */
  deleteBefore(before: number, dropWhole: boolean, hold?: ExportHold): RetentionOutcome {
    const outcome = noRetentionOutcome();
    for (const segment of [...this.byKey.values()]) {
      if (segment.info.start >= before) continue;
      if (segment.info.end <= before && dropWhole && holdsNone(segment.info.maxSeq, hold)) {
        outcome.deleted += segment.info.records;
        this.drop(segment);
      } else if (segment.info.records > 0) {
        const n = pruneSegment(this.open(segment), before, hold, outcome);
        segment.info.records -= n;
        if (n) segment.version++;
      }
    }
    return outcome;
  }

  add(info: SegmentInfo): Segment {
    const segment = new Segment(info);
    this.byKey.set(info.key, segment);
    this.ordered = undefined;
    if (!isDayKey(info.key)) {
      const day = info.key.slice(0, info.key.indexOf('T'));
      this.slicesOfDay.set(day, (this.slicesOfDay.get(day) ?? 0) + 1);
    }
    return segment;
  }

  /** Forgets a segment; its file goes at the next commit. */
  drop(segment: Segment): void {
    this.close(segment);
    this.byKey.delete(segment.info.key);
    this.ordered = undefined;
    this.retire(segment.info.file);
    if (!isDayKey(segment.info.key)) {
      const day = segment.info.key.slice(0, segment.info.key.indexOf('T'));
      const left = (this.slicesOfDay.get(day) ?? 1) - 1;
      if (left) this.slicesOfDay.set(day, left);
      else this.slicesOfDay.delete(day);
    }
  }

  retire(file: string): void {
    if (file) this.removals.push(file);
  }

  /** The files retired since the last commit (the caller removes them once the index no longer names them). */
  takeRemovals(): string[] {
    return this.removals.splice(0);
  }

  forgetRemovals(): void {
    this.removals = [];
  }

  /**
   * Writes changed segments to files of their own now (named by no committed index yet) and closes
   * them, the least recently used first, until the open ones hold at most `bound` bytes; the one
   * used last stays open (a bulk insert in time order is still filling it) unless it alone holds
   * four times that. No bound: all of them.
   */
  spill(generation: number, bound = -1): void {
    const open = [...this.byKey.values()]
      .filter((s) => s.db)
      .sort((a, b) => a.lastUsed - b.lastUsed)
      .map((segment) => ({ segment, bytes: bound < 0 ? 0 : segment.bytes }));
    let bytes = open.reduce((sum, s) => sum + s.bytes, 0);
    const last = open.at(-1);
    const keepLast = bound >= 0 && last !== undefined && last.bytes <= 4 * bound;
    for (const { segment, bytes: held } of keepLast ? open.slice(0, -1) : open) {
      if (bound >= 0 && bytes <= bound) break;
      bytes -= held;
      if (segment.dirty) {
        const name = segmentFileName(segment.info.key, generation, true);
        writeFileAtomicSync(path.join(this.dir!, name), segment.export());
        if (segment.info.file !== name) this.retire(segment.info.file);
        segment.info.file = name;
        segment.savedVersion = segment.version;
      }
      this.close(segment);
    }
  }

  /** What the open segments hold in memory. */
  bytesInMemory(): number {
    let bytes = 0;
    for (const s of this.byKey.values()) if (s.db) bytes += s.bytes;
    return bytes;
  }

  /** Removes the folder's files neither the catalogue nor `alsoKeep` names (left-overs of an interrupted save, versions superseded). */
  removeStrayFiles(alsoKeep: readonly string[]): void {
    const named = new Set([...[...this.byKey.values()].map((s) => s.info.file), ...alsoKeep].filter(Boolean));
    removeFiles(this.dir!, strayFiles(this.dir!, named));
    fs.mkdirSync(this.dir!, { recursive: true });
  }

  closeAll(): void {
    for (const s of this.byKey.values()) this.close(s);
  }

  private inOrder(): Segment[] {
    return (this.ordered ??= [...this.byKey.values()].sort((a, b) => a.info.start - b.info.start));
  }

  private closeLeastRecentlyUsed(): void {
    const clean = [...this.byKey.values()].filter((s) => s.db && !s.dirty && !this.pinned?.has(s));
    if (clean.length <= 1) return;
    clean.sort((a, b) => b.lastUsed - a.lastUsed);
    let bytes = clean[0].bytes;
    for (const [i, s] of clean.entries()) {
      if (i === 0) continue;
      bytes += s.bytes;
      if (i >= OPEN_CLEAN_SEGMENTS || bytes > OPEN_CLEAN_BYTES) this.close(s);
    }
  }

  private close(segment: Segment): void {
    if (segment.db) this.ofDb.delete(segment.db);
    segment.close();
  }
}
