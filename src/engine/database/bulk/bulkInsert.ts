import * as os from 'node:os';
import type { RequestRecord } from '../record';
import type { RollupBatch } from '../rollups/rollup';
import type { Segment } from '../segments';
import type { SegmentSet } from '../segmentSet';
import { BuilderPool } from './builderPool';
import { packRecords } from './packedRecords';
import type { BuilderPart } from './segmentBuilder';

/** A bulk insert writes its segments out once they hold this much (across its threads), so an import's memory stays bounded. */
const BULK_SPILL_BYTES = 64 << 20;

/** An insert of at least this many records gives the segments new to the bulk to builder threads; smaller ones are not worth a thread. */
const BUILDER_MIN_RECORDS = 5_000;

/**
 * Builder threads worth starting on this machine: one per core, up to three (past that, reading the
 * input is what takes the time); none on one core, where they would only take turns with it.
 */
export const BUILDER_THREADS = os.availableParallelism() < 2 ? 0 : Math.min(3, os.availableParallelism());

/** What a bulk insert needs of the database it inserts into (SpendDatabase, db.ts). */
export interface BulkHost {
  readonly set: SegmentSet;
  readonly dir: string | undefined;
  /** Inserts on this thread, inside the bulk's transaction; how many were new. */
  insertHere(records: readonly RequestRecord[]): number;
  /** The next record's sequence number (its rowid). */
  takeSeq(): number;
  newGeneration(): number;
  rollup(): RollupBatch;
  /** Commits the bulk's transaction and saves (when `added`). */
  commit(added: number): Promise<void>;
  /** Rolls the bulk's transaction back, back to what the files hold. */
  rollback(): void;
}

/**
 * The inserts that follow in one index transaction until `commit` (an import: a whole file or
 * nothing; `rollback` undoes them all). Segments are written as they fill, under names the
 * committed index does not know until the commit's save, so memory stays bounded. Segments new to
 * the bulk are built on builder threads (segmentBuilder.ts) while this one reads on: inserting
 * into sql.js, not parsing, is most of an import's time.
 */
export class BulkInsert {
  private added = 0;
  private open = true;
  private readonly pool: BuilderPool | undefined;

  constructor(
    private readonly host: BulkHost,
    builders: number,
  ) {
    const dir = host.dir;
    if (dir && builders > 0) {
      this.pool = new BuilderPool(
        builders,
        () => ({ dir, generation: host.newGeneration(), spillBytes: Math.floor(BULK_SPILL_BYTES / builders) }),
        ({ added, sums }) => {
          this.added += added;
          const rollup = host.rollup();
          rollup.merge(sums);
          rollup.write();
        },
      );
    }
  }

  /** Builder threads it has started. */
  get threads(): number {
    return this.pool?.threads ?? 0;
  }

  /** Inserts `records` (records already in the database, same id, are skipped); resolves once they are taken. */
  async insert(records: readonly RequestRecord[]): Promise<void> {
    if (!this.open) throw new Error('this bulk insert was committed or rolled back');
    const pool = this.pool;
    if (!pool) return this.insertHere(records);
    const mayAssign = records.length >= BUILDER_MIN_RECORDS;
    const now = Date.now();
    const here: RequestRecord[] = [];
    const sent = new Map<number, Map<Segment, { records: RequestRecord[]; seqs: number[] }>>();
    let segment: Segment | undefined;
    for (const r of records) {
      if (!segment || r.startedAt < segment.info.start || r.startedAt >= segment.info.end) segment = this.host.set.segmentFor(r.startedAt, now);
      // A segment this thread has opened, or the database already had, stays here.
      let n = pool.builderOf(segment.info.key);
      if (n === undefined && (!mayAssign || segment.db || segment.info.file || segment.info.records)) {
        here.push(r);
        continue;
      }
      n ??= pool.assign(segment.info.key);
      const parts = sent.get(n) ?? sent.set(n, new Map()).get(n)!;
      const part = parts.get(segment) ?? parts.set(segment, { records: [], seqs: [] }).get(segment)!;
      part.records.push(r);
      part.seqs.push(this.host.takeSeq());
    }
    this.insertHere(here);
    for (const [n, parts] of sent) {
      const packedParts: BuilderPart[] = [];
      const transfer: ArrayBuffer[] = [];
      for (const [segment, part] of parts) {
        const { packed, transfer: moved } = packRecords(part.records, part.seqs);
        packedParts.push({ segment: { key: segment.info.key, start: segment.info.start, end: segment.info.end }, packed });
        transfer.push(...moved);
      }
      await pool.send(n, packedParts, transfer);
    }
  }

  /** Waits for the builders, commits and saves (when anything was added); how many records the bulk added. */
  async commit(): Promise<number> {
    if (!this.open) return this.added;
    if (this.pool) {
      try {
        for (const info of await this.pool.finish()) Object.assign(this.host.set.get(info.key)!.info, info);
      } catch (e) {
        await this.rollback();
        throw e;
      }
      await this.pool.stop();
    }
    this.open = false;
    await this.host.commit(this.added);
    return this.added;
  }

  /** Undoes the bulk (nothing once committed): the database and its folder as they were saved. */
  async rollback(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    // No builder may write a file after the stray files are removed.
    await this.pool?.stop();
    this.host.rollback();
  }

  private insertHere(records: readonly RequestRecord[]): void {
    if (!records.length) return;
    this.added += this.host.insertHere(records);
    if (this.host.dir && this.host.set.bytesInMemory() > BULK_SPILL_BYTES) this.host.set.spill(this.host.newGeneration(), BULK_SPILL_BYTES);
  }
}
