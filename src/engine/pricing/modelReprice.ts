/**
 * Repricing one model's past calls inside the running engine, for "Set a Price": the engine holds
 * the database, so `burnrate reprice --apply` cannot run beside it. Runs in the store's worker
 * (storeWorker.ts), which loads the prices in force first: the worker is its own process, and the
 * user's price-overrides.json may have changed a moment ago. No vscode import.
 */
import type { SpendDatabase } from '../database';
import { loadStoredPriceData } from './priceData';
import { applyReprice, repriceRecords } from './reprice';
import { RouteTable } from '../providers';

export interface ModelRepriceResult {
  /** Records whose cost or status changed. */
  changed: number;
  beforeNanos: number;
  afterNanos: number;
}

/**
 * Reprices the records of `provider`'s `model` over the span in which it has unpriced calls (found
 * in the daily rollup, so the scan covers those days only, not the whole history) and writes them.
 */
export function repriceUnpricedModel(database: SpendDatabase, dataDir: string, provider: string, model: string): ModelRepriceResult {
  const span = database.index.exec('SELECT MIN(first_at), MAX(last_at) FROM daily_rollup WHERE provider = ? AND model = ? AND unpriced_requests > 0', [provider, model])[0]?.values[0];
  if (!span || span[0] === null) return { changed: 0, beforeNanos: 0, afterNanos: 0 };
  loadStoredPriceData(dataDir);
  const result = repriceRecords(database, new RouteTable(), { since: Number(span[0]), until: Number(span[1]) + 1, provider, model });
  applyReprice(database, result.changes);
  return { changed: result.changes.length, beforeNanos: result.beforeNanos, afterNanos: result.afterNanos };
}
