import type { Database } from 'sql.js';

/**
 * What retention spares while records are exported to a team's OpenTelemetry collector: a record
 * past retention whose sequence number is above `exportedThrough` (the collector has not
 * acknowledged it) is kept, unless it started before `hardBefore`, the bound past which even an
 * unexported record goes, so a collector that never comes back cannot fill the disk.
 */
export interface ExportHold {
  exportedThrough: number;
  hardBefore: number;
}

/** What one retention pass did. */
export interface RetentionOutcome {
  deleted: number;
  /** Records past retention kept because the collector has not acknowledged them. */
  keptUnexported: number;
  /** Of them, the one that started first (epoch ms), and the newest sequence number (export past it releases them all). */
  oldestKeptAt: number | null;
  newestKeptSeq: number;
  /** Records deleted past the bound although the collector never acknowledged them. */
  droppedUnexported: number;
}

export function noRetentionOutcome(): RetentionOutcome {
  return { deleted: 0, keptUnexported: 0, oldestKeptAt: null, newestKeptSeq: 0, droppedUnexported: 0 };
}

/** Whether a segment's records may all go at once: none of them waits for the collector. */
export function holdsNone(maxSeq: number, hold: ExportHold | undefined): boolean {
  return !hold || maxSeq <= hold.exportedThrough;
}

/**
 * Deletes a segment's records started before `before` that the hold does not spare, adding to
 * `outcome` what was deleted and kept; returns how many were deleted.
 */
export function pruneSegment(db: Database, before: number, hold: ExportHold | undefined, outcome: RetentionOutcome): number {
  if (!hold) {
    db.run('DELETE FROM requests WHERE started_at < ?', [before]);
    const n = db.getRowsModified();
    outcome.deleted += n;
    return n;
  }
  const hardBefore = Math.min(before, hold.hardBefore);
  outcome.droppedUnexported += Number(firstRow(db, 'SELECT COUNT(*) FROM requests WHERE started_at < ? AND rowid > ?', [hardBefore, hold.exportedThrough])[0]);
  db.run('DELETE FROM requests WHERE started_at < ? AND (rowid <= ? OR started_at < ?)', [before, hold.exportedThrough, hardBefore]);
  const n = db.getRowsModified();
  outcome.deleted += n;
  const [kept, oldest, newest] = firstRow(db, 'SELECT COUNT(*), MIN(started_at), MAX(rowid) FROM requests WHERE started_at < ?', [before]);
  if (Number(kept)) {
    outcome.keptUnexported += Number(kept);
    outcome.oldestKeptAt = Math.min(outcome.oldestKeptAt ?? Infinity, Number(oldest));
    outcome.newestKeptSeq = Math.max(outcome.newestKeptSeq, Number(newest));
  }
  return n;
}

function firstRow(db: Database, sql: string, params: number[]): unknown[] {
  return db.exec(sql, params)[0]?.values[0] ?? [];
}
