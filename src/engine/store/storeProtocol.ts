import type { ExportHold, RequestRecord } from '../database';

/** Messages between SpendStore (the proxy's thread) and the worker that owns the sql.js database. */
export type StoreRequest =
  | { op: 'open'; file: string | undefined; create: boolean }
  | { op: 'insert'; records: RequestRecord[] }
  /** Records as JSON lines (the journal's own lines: one string to pass instead of objects to clone). */
  | { op: 'insertLines'; lines: string }
  /** `commit`: the index too, so a worker started later has nothing to take in (see SpendDatabase.save). */
  | { op: 'save'; commit?: boolean }
  | { op: 'query'; module: string; method: string; args: unknown[] }
  | { op: 'count' }
  | { op: 'prune'; before: number; hold?: ExportHold }
  /** Reprices a model's unpriced history with the prices in force (modelReprice.ts). */
  | { op: 'repriceModel'; dataDir: string; provider: string; model: string }
  | { op: 'close' };

export type StoreRequestMessage = StoreRequest & { id: number };

export type StoreReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { name: string; message: string } };

/** What one snapshot of the database cost. */
export interface SaveResult {
  saved: boolean;
  bytes: number;
  /** Time to export and write the snapshot, in ms. */
  ms: number;
  /** Whether the index now names everything saved (a later open has nothing to take in). */
  committed?: boolean;
}
