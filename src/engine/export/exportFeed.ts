import { recordReader, type RequestRecord, type SpendData } from '../database';

/**
 * Position in the stream of recorded requests, in insertion order. `seq` is the record's sequence
 * number (its rowid in its segment, given at insertion and never changed): it only grows as records
 * are inserted, unlike `startedAt`, which is not in completion order (a long request that started
 * earlier finishes later). `id` is kept beside it to notice a cursor that no longer points where it
 * did (single-file databases could renumber rowids).
 */
export interface ExportCursor {
  seq: number;
  id: string;
}

export interface SequencedRecord {
  seq: number;
  record: RequestRecord;
}

/**
 * The one narrow way the exporter reads records: what was inserted after `after`, oldest first.
 * Async so the database may live elsewhere (a worker process) without the exporter changing.
 */
export interface RecordFeed {
  after(cursor: ExportCursor | null, limit: number): Promise<SequencedRecord[]>;
  /** The newest record's position, or null for an empty database. */
  latest(): Promise<ExportCursor | null>;
  /** Where a record is now (looked for from `near`, where it was), for checking a saved cursor still points where it did. */
  seqOf(id: string, near: number): Promise<number | undefined>;
}

/** The exporter's reads, pure over the spend data: run in the store's worker (queryModules.ts). */
export class ExportFeedQuery {
  constructor(private readonly data: SpendData) {}

  after(cursor: ExportCursor | null, limit: number): SequencedRecord[] {
    const seq = cursor?.seq ?? 0;
    // Usually only the live segment has records after the cursor; any other is merged in order.
    const found: SequencedRecord[] = [];
    for (const db of this.data.segmentsAfterSeq(seq)) {
      const page = db.exec('SELECT rowid AS seq, * FROM requests WHERE rowid > ? ORDER BY rowid LIMIT ?', [seq, limit])[0];
      if (!page) continue;
      const read = recordReader(page.columns);
      for (const values of page.values) found.push({ seq: Number(values[0]), record: read(values) });
    }
    return found.sort((a, b) => a.seq - b.seq).slice(0, limit);
  }

  latest(): ExportCursor | null {
    let newest: ExportCursor | null = null;
    for (const db of this.data.segmentsAfterSeq(0)) {
      const row = db.exec('SELECT rowid, id FROM requests ORDER BY rowid DESC LIMIT 1')[0]?.values[0];
      if (row && (!newest || Number(row[0]) > newest.seq)) newest = { seq: Number(row[0]), id: String(row[1]) };
    }
    return newest;
  }

  /** Where the record `id` is now, looked for among the segments that may hold records from `near` on. */
  seqOf(id: string, near: number): number | undefined {
    for (const db of this.data.segmentsAfterSeq(near - 1)) {
      const row = db.exec('SELECT rowid FROM requests WHERE id = ?', [id])[0]?.values[0];
      if (row) return Number(row[0]);
    }
    return undefined;
  }
}

/** The feed over spend data in this thread (tests, tools). */
export function databaseFeed(data: SpendData): RecordFeed {
  const query = new ExportFeedQuery(data);
  return {
    after: async (cursor, limit) => query.after(cursor, limit),
    latest: async () => query.latest(),
    seqOf: async (id, near) => query.seqOf(id, near),
  };
}
