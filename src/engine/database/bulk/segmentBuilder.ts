import type { SqlJsStatic } from 'sql.js';
import type { RequestRecord } from '../record';
import { RollupSums, type PlainRollupSums } from '../rollups/rollupSums';
import { FIELDS, type Segment, type SegmentInfo } from '../segments';
import { SegmentSet } from '../segmentSet';
import { unpackRecords, type PackedRecords } from './packedRecords';

/** Records for one segment, and the segment (its catalogue entry's key and time span). */
export interface BuilderPart {
  segment: { key: string; start: number; end: number };
  packed: PackedRecords;
}

/** What an insert added: how many records, and their rollup sums (for the index, on the thread that writes it). */
export interface InsertedRecords {
  added: number;
  sums: PlainRollupSums;
}

/**
 * Builds the segments new to a bulk insert on a thread of its own: inserts their records (an
 * import parses them on the main thread), adds up the rollups of those really added (handed back
 * with each answer, so neither thread holds a bulk's sums), builds the indexes and writes the
 * files. Each segment is built by one builder; two build two at once.
 * Files are named as a spill names them (marked committed), so only an index naming them, the
 * bulk's commit, makes them part of the database; a rollback removes them as strays.
 */
export class SegmentBuilder {
  private readonly set: SegmentSet;
  private readonly values: Array<string | number | null> = new Array(FIELDS.length + 1);

  constructor(
    SQL: SqlJsStatic,
    dir: string,
    /** The save generation its files are named by (given by the database it builds for). */
    private readonly generation: number,
    /** Its segments are written out and closed once they hold this much (memory stays bounded). */
    private readonly spillBytes: number,
  ) {
    this.set = new SegmentSet(SQL, dir, false);
    this.set.deferIndexes = true;
  }

  /** Inserts each part's records into its segment (one transaction each); what was new. */
  insert(parts: readonly BuilderPart[]): InsertedRecords {
    const sums = new RollupSums();
    let added = 0;
    for (const part of parts) {
      const segment = this.set.get(part.segment.key) ?? this.set.add({ ...part.segment, file: '', records: 0, minSeq: 0, maxSeq: 0 });
      const { records, seqs } = unpackRecords(part.packed);
      added += this.insertInto(segment, records, seqs, sums);
    }
    if (this.set.bytesInMemory() > this.spillBytes) this.set.spill(this.generation, this.spillBytes);
    return { added, sums: sums.plain() };
  }

  /** Writes every segment not yet written; their catalogue entries. */
  finish(): SegmentInfo[] {
    this.set.spill(this.generation);
    return [...this.set.all()].map((s) => ({ ...s.info }));
  }

  close(): void {
    this.set.closeAll();
  }

  private insertInto(segment: Segment, records: readonly RequestRecord[], seqs: Float64Array, sums: RollupSums): number {
    const db = this.set.open(segment);
    const before = { ...segment.info };
    let added = 0;
    db.exec('BEGIN');
    try {
      for (let i = 0; i < records.length; i++) {
        if (!segment.insert(this.values, seqs[i], records[i])) continue;
        sums.add(records[i]);
        added++;
      }
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      Object.assign(segment.info, before);
      throw e;
    }
    if (added) segment.version++;
    return added;
  }
}
