import type { Database, Statement } from 'sql.js';
import type { RequestRecord } from '../record';
import { REPORT_FIGURES } from './coarseRollups';
import { ROLLUP_REPRICE_SQL, TAG_TOTALS_COLUMNS } from './rollupSchema';
import { RollupSums, type TagSums } from './rollupSums';

/**
 * Adds newly inserted records to the rollups (rollupSchema.ts) a batch at a time.
 */

/** An upsert's SET clauses that add the incoming row's counts to the stored ones. */
function added(columns: readonly string[]): string {
  return columns.map((c) => `${c} = ${c} + excluded.${c}`).join(',\n    ');
}

/** Keeps the earliest first call and the latest last one. */
const FIRST_AND_LAST = `first_at = MIN(first_at, excluded.first_at),
    last_at = MAX(last_at, excluded.last_at)`;

const DAILY_UPSERT = `INSERT INTO daily_rollup VALUES (${new Array(21).fill('?').join(', ')})
  ON CONFLICT DO UPDATE SET
    ${added([...REPORT_FIGURES, 'failed_requests', 'failed_cost_nanos', 'long_uncached_requests', 'long_uncached_input_tokens'])},
    long_uncached_min_input = CASE
      WHEN excluded.long_uncached_min_input IS NULL THEN long_uncached_min_input
      WHEN long_uncached_min_input IS NULL THEN excluded.long_uncached_min_input
      ELSE MIN(long_uncached_min_input, excluded.long_uncached_min_input) END,
    ${FIRST_AND_LAST}`;

/** session_rollup's columns in the order SESSION_UPSERT takes them. */
export const SESSION_ROLLUP_COLUMNS = `day, session, workspace, requests, cost_nanos, tokens, first_at, last_at, ${TAG_TOTALS_COLUMNS.join(', ')}`;

/** Adds a session row to session_rollup (a batch's sums, or a whole row moved between the index and a month's archive). */
export const SESSION_UPSERT = `INSERT INTO session_rollup (${SESSION_ROLLUP_COLUMNS})
  VALUES (${new Array(8 + TAG_TOTALS_COLUMNS.length).fill('?').join(', ')})
  ON CONFLICT DO UPDATE SET
    ${added(['requests', 'cost_nanos', 'tokens', ...TAG_TOTALS_COLUMNS])},
    ${FIRST_AND_LAST}`;

/** An upsert into a tag rollup (user_rollup, branch_rollup) keyed by day and `keyColumns`. */
function tagUpsert(table: string, keyColumns: readonly string[]): string {
  const columns = ['day', ...keyColumns, 'requests', 'cost_nanos', ...TAG_TOTALS_COLUMNS];
  return `INSERT INTO ${table} (${columns.join(', ')})
  VALUES (${columns.map(() => '?').join(', ')})
  ON CONFLICT DO UPDATE SET
    ${added(['requests', 'cost_nanos', ...TAG_TOTALS_COLUMNS])}`;
}
const USER_UPSERT = tagUpsert('user_rollup', ['user']);
const BRANCH_UPSERT = tagUpsert('branch_rollup', ['branch', 'workspace']);

/**
 * Adds up newly inserted records by rollup row (RollupSums), then writes each row once: a batch of
 * a thousand records from one script touches one or two rows, not two thousand.
 */
export class RollupBatch extends RollupSums {
  private dailyUpsert: Statement | undefined;
  private sessionUpsert: Statement | undefined;
  private userUpsert: Statement | undefined;
  private branchUpsert: Statement | undefined;

  constructor(private readonly db: Database) {
    super();
  }

  /** Writes the sums (inside the caller's transaction) and empties the batch. */
  write(): void {
    try {
      if (this.daily.size) {
        const stmt = (this.dailyUpsert ??= this.db.prepare(DAILY_UPSERT));
        for (const d of this.daily.values()) {
          stmt.run([
            ...d.key,
            d.requests,
            d.costNanos,
            d.inputTokens,
            d.cacheReadTokens,
            d.cacheWriteTokens,
            d.outputTokens,
            d.reasoningTokens,
            d.unpriced,
            d.failed,
            d.failedCostNanos,
            d.longUncached,
            d.longUncachedInput,
            d.longUncachedMin,
            d.firstAt,
            d.lastAt,
          ]);
        }
      }
      if (this.sessions.size) {
        const stmt = (this.sessionUpsert ??= this.db.prepare(SESSION_UPSERT));
        for (const s of this.sessions.values()) stmt.run([...s.key, s.requests, s.costNanos, s.tokens, s.firstAt, s.lastAt, ...s.totals]);
      }
      if (this.users.size) writeTagSums((this.userUpsert ??= this.db.prepare(USER_UPSERT)), this.users);
      if (this.branches.size) writeTagSums((this.branchUpsert ??= this.db.prepare(BRANCH_UPSERT)), this.branches);
    } finally {
      this.clear();
    }
  }

  /** Frees the prepared statements (before the database closes). */
  free(): void {
    this.dailyUpsert?.free();
    this.sessionUpsert?.free();
    this.userUpsert?.free();
    this.branchUpsert?.free();
    this.dailyUpsert = this.sessionUpsert = this.userUpsert = this.branchUpsert = undefined;
  }
}

function writeTagSums(upsert: Statement, rows: Map<string, TagSums>): void {
  for (const t of rows.values()) upsert.run([...t.key, t.requests, t.costNanos, ...t.totals]);
}

/** A record's cost as it was and as repricing makes it. */
export interface CostChange {
  costNanos: number;
  costStatus: string;
}

/** Moves the rollup rows a re-priced record counts in by the difference (inside the caller's transaction). */
export function repriceRollups(index: Database, r: RequestRecord, before: CostChange, after: CostChange): void {
  const params = {
    ':startedAt': r.startedAt,
    ':provider': r.provider,
    ':model': r.model ?? '',
    ':feature': r.feature ?? '',
    ':workspace': r.workspace ?? '',
    ':client': r.client ?? '',
    ':session': r.session ?? '',
    ':user': r.user ?? '',
    ':branch': r.branch ?? '',
    ':status': r.status,
    ':oldCost': before.costNanos,
    ':newCost': after.costNanos,
    ':oldStatus': before.costStatus,
    ':newStatus': after.costStatus,
  };
  for (const sql of ROLLUP_REPRICE_SQL) {
    const used = Object.fromEntries(Object.entries(params).filter(([name]) => sql.includes(name)));
    index.run(sql, used);
  }
}
