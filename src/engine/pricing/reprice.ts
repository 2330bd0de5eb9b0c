import { recordReader, repriceRollups, type RequestRecord, type SpendData, type SpendDatabase } from '../database';
import { priceUsage, type CostStatus } from './pricing';
import type { RouteTable } from '../providers';

/** One record whose cost changes under the prices in force now. */
export interface RepriceChange {
  id: string;
  startedAt: number;
  provider: string;
  model: string;
  before: { costNanos: number; costStatus: CostStatus; priceSource: string | null };
  after: { costNanos: number; costStatus: CostStatus; priceSource: string };
}

export interface RepriceResult {
  /** Records in the period. */
  examined: number;
  changes: RepriceChange[];
  beforeNanos: number;
  afterNanos: number;
  /** Records left as they were, by reason (free, provider-reported cost, …). */
  kept: Record<string, number>;
}

/** Which records to reprice: a period, and optionally one provider's model. */
export interface RepriceScope {
  since?: number;
  until?: number;
  provider?: string;
  model?: string;
}

/**
 * Recomputes the cost of the records in [since, until) from their stored tokens with the prices in
 * force now (refreshed data, local overrides first), each at the price that applied on its date.
 * Nothing is written: see `applyReprice`.
 */
export function repriceRecords(data: SpendData, routes: RouteTable, opts: RepriceScope): RepriceResult {
  const result: RepriceResult = { examined: 0, changes: [], beforeNanos: 0, afterNanos: 0, kept: {} };
  const { where, params } = scopeWhere(opts);
  for (const db of data.segments(opts)) {
    const statement = db.prepare(`SELECT * FROM requests ${where} ORDER BY started_at, id`);
    try {
      statement.bind(params);
      const read = recordReader(statement.getColumnNames());
      while (statement.step()) {
        result.examined++;
        repriceOne(read(statement.get()), routes, result);
      }
    } finally {
      statement.free();
    }
  }
  return result;
}

/** The WHERE clause (empty for every record) and its parameters for a scope. */
function scopeWhere(opts: RepriceScope): { where: string; params: Array<number | string> } {
  const clauses: string[] = [];
  const params: Array<number | string> = [];
  if (opts.since !== undefined) {
    clauses.push('started_at >= ?');
    params.push(opts.since);
  }
  if (opts.until !== undefined) {
    clauses.push('started_at < ?');
    params.push(opts.until);
  }
  if (opts.provider !== undefined) {
    clauses.push('provider = ?');
    params.push(opts.provider);
  }
  if (opts.model !== undefined) {
    clauses.push('model = ?');
    params.push(opts.model);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Counts one record into the result: kept as it is (and why), or its change. */
function repriceOne(rec: RequestRecord, routes: RouteTable, result: RepriceResult): void {
  const reason = whyKept(rec, routes);
  if (reason) return keep(result, reason);
  const quote = priceUsage(routes.get(rec.provider)!.pricesProvider!, rec.model!, {
    inputTokens: rec.inputTokens,
    cacheReadTokens: rec.cacheReadTokens,
    cacheWriteTokens: rec.cacheWriteTokens,
    cacheWrite1hTokens: 0,
    outputTokens: rec.outputTokens,
    reasoningTokens: rec.reasoningTokens,
  }, { serviceTier: rec.serviceTier ?? undefined, at: new Date(rec.startedAt) });
  if (!quote.priced) return keep(result, 'no price known for the model');
  const costStatus = statusOnceRepriced(rec);
  const unchanged = quote.costNanos === rec.costNanos && costStatus === rec.costStatus && quote.source === rec.priceSource;
  if (unchanged) {
    keep(result, 'same cost');
    result.beforeNanos += rec.costNanos;
    result.afterNanos += rec.costNanos;
    return;
  }
  result.beforeNanos += rec.costNanos;
  result.afterNanos += quote.costNanos;
  result.changes.push({
    id: rec.id,
    startedAt: rec.startedAt,
    provider: rec.provider,
    model: rec.model!,
    before: { costNanos: rec.costNanos, costStatus: rec.costStatus, priceSource: rec.priceSource },
    after: { costNanos: quote.costNanos, costStatus, priceSource: quote.source },
  });
}

function keep(result: RepriceResult, reason: string): void {
  result.kept[reason] = (result.kept[reason] ?? 0) + 1;
}

/** A record that was unpriced only for want of a price had its usage reported, unless the exchange went wrong. */
function statusOnceRepriced(rec: RequestRecord): CostStatus {
  if (rec.costStatus !== 'unpriced') return rec.costStatus;
  return rec.status >= 200 && rec.status < 300 && isOnlyUnpricedNote(rec) ? 'exact' : 'estimated';
}

const UPDATE_SQL =
  "UPDATE requests SET cost_nanos = ?, cost_status = ?, price_source = ?, error = CASE WHEN error LIKE 'no price known for model %' THEN NULL ELSE error END WHERE id = ?";

/** Writes the new costs, price sources and statuses, and moves the rollups by the differences. */
export function applyReprice(database: SpendDatabase, changes: readonly RepriceChange[]): void {
  if (!changes.length) return;
  database.rollupsToChange(changes.map((c) => c.startedAt));
  database.index.exec('BEGIN');
  try {
    for (const c of changes) {
      const db = database.segmentAt(c.startedAt);
      const row = db?.exec('SELECT * FROM requests WHERE id = ?', [c.id])[0];
      if (!db || !row) continue;
      const rec = recordReader(row.columns)(row.values[0]);
      db.run(UPDATE_SQL, [c.after.costNanos, c.after.costStatus, c.after.priceSource, c.id]);
      repriceRollups(database.index, rec, { costNanos: rec.costNanos, costStatus: rec.costStatus }, c.after);
      database.changed(db);
    }
    database.index.exec('COMMIT');
  } catch (e) {
    database.index.exec('ROLLBACK');
    throw e;
  }
}

function whyKept(rec: RequestRecord, routes: RouteTable): string | undefined {
  if (rec.costStatus === 'free') return 'free';
  if (rec.priceSource === 'provider-reported') return 'cost reported by the provider';
  const route = routes.get(rec.provider);
  if (!route?.pricesProvider) return 'provider not priced';
  if (!rec.model) return 'no model';
  if (rec.error?.includes('endpoint not metered')) return 'endpoint not metered';
  if (rec.costStatus === 'exact' && rec.costNanos === 0 && rec.inputTokens === 0 && rec.outputTokens === 0) return 'not billed (no usage)';
  // The split of cache writes between 5-minute and 1-hour TTLs is not stored; pricing all at the 5-minute rate would be wrong.
  if (route.pricesProvider === 'anthropic' && rec.cacheWriteTokens > 0) return 'cache-write TTLs not stored';
  return undefined;
}

function isOnlyUnpricedNote(rec: RequestRecord): boolean {
  return !rec.error || /^no price known for model "[^"]*"$/.test(rec.error);
}
