import type { RequestRecord } from './record';

/** The requests table's secondary indexes (besides the primary key's). */
export const REQUEST_INDEXES = `
CREATE INDEX IF NOT EXISTS requests_started_at ON requests(started_at);
CREATE INDEX IF NOT EXISTS requests_session ON requests(session, started_at);
CREATE INDEX IF NOT EXISTS requests_workspace ON requests(workspace, started_at);
CREATE INDEX IF NOT EXISTS requests_cost ON requests(cost_nanos);
`;

/**
 * The records' table, as every segment file holds it (and single-file databases before schema 5).
 * Its rowid is the record's place in insertion order across all segments (the export feed's `seq`).
 */
export const REQUESTS_TABLE = `
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model TEXT,
  endpoint TEXT,
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  cost_status TEXT NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttft_ms INTEGER,
  session TEXT, feature TEXT, user TEXT, trace TEXT, env TEXT, workspace TEXT,
  key_fingerprint TEXT,
  error TEXT,
  service_tier TEXT,
  price_source TEXT,
  client TEXT
);
${REQUEST_INDEXES}`;

/** Column name in the table for each record field. */
export const COLUMN_OF: Record<keyof RequestRecord, string> = {
  id: 'id',
  startedAt: 'started_at',
  provider: 'provider',
  model: 'model',
  endpoint: 'endpoint',
  stream: 'stream',
  status: 'status',
  inputTokens: 'input_tokens',
  cacheReadTokens: 'cache_read_tokens',
  cacheWriteTokens: 'cache_write_tokens',
  outputTokens: 'output_tokens',
  reasoningTokens: 'reasoning_tokens',
  costNanos: 'cost_nanos',
  costStatus: 'cost_status',
  latencyMs: 'latency_ms',
  ttftMs: 'ttft_ms',
  session: 'session',
  feature: 'feature',
  user: 'user',
  trace: 'trace',
  env: 'env',
  workspace: 'workspace',
  keyFingerprint: 'key_fingerprint',
  error: 'error',
  serviceTier: 'service_tier',
  priceSource: 'price_source',
  client: 'client',
};
export const FIELDS = Object.keys(COLUMN_OF) as Array<keyof RequestRecord>;

/** Inserts a record with its sequence number as rowid; a record already there (same id) is skipped. */
export const INSERT_SQL = `INSERT OR IGNORE INTO requests (rowid, ${FIELDS.map((f) => COLUMN_OF[f]).join(', ')}) VALUES (?, ${FIELDS.map(() => '?').join(', ')})`;

/**
 * Reads rows of a result with these columns as records. The column of each field is found once,
 * not per row: a page of an export is thousands of rows.
 */
export function recordReader(columns: readonly string[]): (values: readonly unknown[]) => RequestRecord {
  const at = FIELDS.map((f) => columns.indexOf(COLUMN_OF[f]));
  return (values) => {
    const rec = {} as Record<string, unknown>;
    for (let i = 0; i < FIELDS.length; i++) rec[FIELDS[i]] = at[i] < 0 ? null : (values[at[i]] ?? null);
    rec.stream = rec.stream === 1;
    return rec as unknown as RequestRecord;
  };
}

export function rowToRecord(columns: readonly string[], values: readonly unknown[]): RequestRecord {
  return recordReader(columns)(values);
}

/** Fills `values` (rowid first, then the fields in FIELDS order) for INSERT_SQL. */
export function insertValues(values: Array<string | number | null>, seq: number, r: RequestRecord): void {
  values[0] = seq;
  for (let i = 0; i < FIELDS.length; i++) values[i + 1] = toSql(r[FIELDS[i]]);
}

function toSql(v: unknown): string | number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v as string | number;
}
