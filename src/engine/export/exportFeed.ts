import type { Database } from 'sql.js';
import { recordReader, type RequestRecord } from '../database';

/**
 * Position in the stream of recorded requests, in insertion order. `seq` is the SQLite rowid of the
 * `requests` table: it only grows as records are inserted (retention deletes only the oldest rows, never the newest), unlike
 * `startedAt`, which is not in completion order (a long request that started earlier finishes later).
 * `id` is kept beside it to notice a renumbered table (VACUUM may renumber rowids).
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
  /** Where a record is now, for checking a saved cursor still points where it did. */
  seqOf(id: string): Promise<number | undefined>;
}

/** The exporter's reads, pure over a sql.js Database: run in the store's worker (queryModules.ts). */
export class ExportFeedQuery {
  constructor(private readonly db: Database) {}

  after(cursor: ExportCursor | null, limit: number): SequencedRecord[] {
    const page = this.db.exec('SELECT rowid AS seq, * FROM requests WHERE rowid > ? ORDER BY rowid LIMIT ?', [cursor?.seq ?? 0, limit])[0];
    if (!page) return [];
    const columns = page.columns;
    const read = recordReader(columns);
    return page.values.map((values) => ({ seq: Number(values[0]), record: read(values) }));
  }

  latest(): ExportCursor | null {
    const row = this.db.exec('SELECT rowid, id FROM requests ORDER BY rowid DESC LIMIT 1')[0]?.values[0];
    return row ? { seq: Number(row[0]), id: String(row[1]) } : null;
  }

  seqOf(id: string): number | undefined {
    const row = this.db.exec('SELECT rowid FROM requests WHERE id = ?', [id])[0]?.values[0];
    return row ? Number(row[0]) : undefined;
  }
}

/** The feed over a sql.js database in this thread (tests, tools). */
export function databaseFeed(db: Database): RecordFeed {
  const query = new ExportFeedQuery(db);
  return {
    after: async (cursor, limit) => query.after(cursor, limit),
    latest: async () => query.latest(),
    seqOf: async (id) => query.seqOf(id),
  };
}
