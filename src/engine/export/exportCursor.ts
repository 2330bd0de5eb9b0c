import * as fs from 'node:fs';
import type { ExportCursor } from './exportFeed';

/**
 * The OTLP export's saved position, read without loading the exporter (retention reads it at start,
 * before the exporter runs, to keep what the collector has not acknowledged).
 */
export interface SavedCursor extends ExportCursor {
  endpoint?: string;
  updatedAt?: string;
}

/** Beside the database it tracks, so two databases never share an export position. */
export function otlpCursorFile(dbPath: string | undefined): string | undefined {
  return dbPath ? `${dbPath}.otlp-cursor.json` : undefined;
}

export function readCursorFile(file: string | undefined): SavedCursor | undefined {
  if (!file) return undefined;
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedCursor;
    if (typeof saved.seq === 'number' && typeof saved.id === 'string') return saved;
  } catch {
    /* none yet, or unreadable: start fresh */
  }
  return undefined;
}
