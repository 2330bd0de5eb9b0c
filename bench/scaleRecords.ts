/**
 * The synthetic traffic of bench:scale: `total` records spread over the 365 days before `now`, a
 * dozen models, features, thousands of sessions, a few workspaces. Shared by the builders of both
 * layouts (bench/scaleBuild.ts runs in this checkout and in the baseline's worktree).
 */
import type { RequestRecord } from '../src/engine/database';

const DAY = 86_400_000;
const MODELS = [
  ['openai', 'gpt-4o-mini'],
  ['openai', 'gpt-4.1'],
  ['openai', 'o4-mini'],
  ['anthropic', 'claude-sonnet-4-5'],
  ['anthropic', 'claude-haiku-4-5'],
  ['gemini', 'gemini-2.5-flash'],
  ['gemini', 'gemini-2.5-pro'],
  ['mistral', 'mistral-large-latest'],
  ['groq', 'llama-3.3-70b-versatile'],
  ['deepseek', 'deepseek-chat'],
  ['openrouter', 'qwen/qwen3-coder'],
  ['ollama', 'llama3.2'],
];

/** Record `i` of `total` (record 0 is the newest, at `now`; the last is a year older). */
export function syntheticRecord(i: number, total: number, now: number): RequestRecord {
  const [provider, model] = MODELS[i % MODELS.length];
  const input = 200 + ((i * 7919) % 20_000);
  return {
    id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    startedAt: now - Math.floor((i / total) * 365 * DAY),
    provider,
    model,
    endpoint: 'chat.completions',
    stream: i % 3 === 0,
    status: i % 50 ? 200 : 429,
    inputTokens: input,
    cacheReadTokens: Math.floor(input / 4),
    cacheWriteTokens: 0,
    outputTokens: 50 + (i % 900),
    reasoningTokens: i % 4 ? 0 : 20,
    costNanos: input * 150 + (i % 900) * 600,
    costStatus: i % 97 ? 'exact' : 'estimated',
    latencyMs: 300 + (i % 4000),
    ttftMs: 120 + (i % 800),
    session: `run-${Math.floor(i / 200)}`,
    feature: `feature-${i % 20}`,
    user: `dev-${i % 5}`,
    trace: null,
    env: i % 10 ? 'dev' : 'ci',
    workspace: `repo-${i % 8}`,
    branch: null,
    keyFingerprint: `fp${i % 6}`,
    error: null,
    serviceTier: null,
    priceSource: 'genai-prices@0.1.8',
    client: null,
  };
}

/** Records [from, to) of `total`, a batch to insert. */
export function syntheticBatch(from: number, to: number, total: number, now: number): RequestRecord[] {
  return Array.from({ length: to - from }, (_, k) => syntheticRecord(from + k, total, now));
}
