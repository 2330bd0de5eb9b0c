/** How a record's cost is known: from the reported usage and a price, estimated, without a price, or free. */
export const COST_STATUSES = ['exact', 'estimated', 'unpriced', 'free'] as const;
export type CostStatus = (typeof COST_STATUSES)[number];

/** One upstream call, as recorded. Field names are the export columns (see README "Records"). */
export interface RequestRecord {
  id: string;
  /** Epoch milliseconds when the proxy received the request. */
  startedAt: number;
  provider: string;
  model: string | null;
  endpoint: string | null;
  stream: boolean;
  /** Upstream HTTP status; 0 when no response arrived (refused, reset, client gone first). */
  status: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** Integer nano-dollars. Exported as costUsd. */
  costNanos: number;
  costStatus: CostStatus;
  latencyMs: number;
  ttftMs: number | null;
  session: string | null;
  feature: string | null;
  user: string | null;
  trace: string | null;
  env: string | null;
  workspace: string | null;
  /** The git branch checked out where the call was made (metered terminal or `burnrate run`). */
  branch: string | null;
  keyFingerprint: string | null;
  error: string | null;
  /** The service tier the response says served it (flex, priority, batch…), when not standard. */
  serviceTier: string | null;
  /** Which price list priced it (e.g. genai-prices@0.1.8, pricing/overrides.json). */
  priceSource: string | null;
  /** Which tool or SDK made the call (claude-code, codex, openai-node…; see clientIdentity.ts). */
  client: string | null;
}

/** Export column order: the fields PRODUCT.md promises, then the extra ones. */
export const EXPORT_COLUMNS = [
  'id',
  'startedAt',
  'provider',
  'model',
  'endpoint',
  'stream',
  'status',
  'inputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'outputTokens',
  'reasoningTokens',
  'costUsd',
  'costStatus',
  'latencyMs',
  'ttftMs',
  'session',
  'feature',
  'user',
  'trace',
  'env',
  'workspace',
  'keyFingerprint',
  'error',
  'serviceTier',
  'priceSource',
  'client',
  'branch',
] as const;
