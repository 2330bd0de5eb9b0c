import type { RequestRecord } from '../../src/engine/database';

let seq = 0;

/** One finished gpt-4o-mini call, priced exactly, started now; ids are unique within the test process. */
export function makeRecord(r: Partial<RequestRecord> = {}): RequestRecord {
  seq++;
  return {
    id: `rec-${String(seq).padStart(6, '0')}`,
    startedAt: Date.now(),
    provider: 'openai',
    model: 'gpt-4o-mini',
    endpoint: 'chat.completions',
    stream: false,
    status: 200,
    inputTokens: 100,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 10,
    reasoningTokens: 0,
    costNanos: 21_000,
    costStatus: 'exact',
    latencyMs: 5,
    ttftMs: 3,
    session: null,
    feature: null,
    user: null,
    trace: null,
    env: null,
    workspace: null,
    branch: null,
    keyFingerprint: null,
    error: null,
    serviceTier: null,
    priceSource: 'genai-prices@test',
    client: null,
    ...r,
  };
}
