import type { Database } from 'sql.js';
import type { SegmentInfo } from './segments';

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
