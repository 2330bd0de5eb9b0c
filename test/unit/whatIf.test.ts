/**
 * What-if pricing (src/engine/pricing/whatIf.ts) and the report it feeds (`burnrate report --what-if`):
 * expectations are worked by hand from each model's published rates per million tokens, taken out
 * of the price table once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costExchange, listPrices, resolveWhatIfModel, usdToNanos, whatIfNanos, type UsageTotals } from '../../src/engine/pricing';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { DEFAULT_ROUTES, type TokenUsage } from '../../src/engine/providers';
import { DashboardQuery, SpendQuery, withWhatIf } from '../../src/engine/queries';
import { makeRecord } from '../support/records';

const PRICES_PROVIDERS = DEFAULT_ROUTES.flatMap((r) => (r.pricesProvider ? [r.pricesProvider] : []));

/** A model's rates (USD per million tokens) as `burnrate prices` lists them. */
function rates(provider: string, model: string) {
  const row = listPrices([provider], model).find((r) => r.model === model);
  assert.ok(row, `${provider}/${model} is in the price table`);
  return row;
}

/** $/MTok × tokens is micro-dollars; × 1000 nano-dollars. */
const nanos = (micros: number) => Math.round(micros * 1000);

const usage = (u: Partial<UsageTotals>): UsageTotals => ({
  requests: 1,
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  ...u,
});

function model(name: string) {
  const m = resolveWhatIfModel(name, PRICES_PROVIDERS);
  assert.ok(m, `${name} resolves`);
  return m;
}

test('usage at a model: uncached input, cache reads and output each at its list rate (cache writes are input where the model has no write price)', () => {
  const mini = rates('openai', 'gpt-4o-mini');
  assert.deepEqual([mini.inputPerMTok, mini.cachedInputPerMTok, mini.cacheWritePerMTok, mini.outputPerMTok], [0.15, 0.075, undefined, 0.6]);
  const u = usage({
    requests: 40,
    inputTokens: 3_000_000,
    cacheReadTokens: 1_000_000,
    cacheWriteTokens: 500_000,
    outputTokens: 400_000,
    reasoningTokens: 100_000,
  });
  // OpenAI bills cache writes as ordinary input, and reasoning inside output.
  const expected = nanos(2_000_000 * 0.15 + 1_000_000 * 0.075 + 400_000 * 0.6);
  assert.deepEqual(whatIfNanos(u, model('gpt-4o-mini')), { nanos: expected });
  assert.deepEqual(whatIfNanos(u, model('openai/gpt-4o-mini')), { nanos: expected }, 'provider/model names the same model');

  const haiku = rates('anthropic', 'claude-haiku-4-5');
  assert.deepEqual([haiku.inputPerMTok, haiku.cachedInputPerMTok, haiku.cacheWritePerMTok, haiku.outputPerMTok], [1, 0.1, 1.25, 5]);
  assert.deepEqual(whatIfNanos(u, model('anthropic:claude-haiku-4-5')), {
    nanos: nanos(1_500_000 * 1 + 1_000_000 * 0.1 + 500_000 * 1.25 + 400_000 * 5),
  });
});

test('a sum of requests past a long-context threshold is priced at the base rates', () => {
  const sonnet = rates('anthropic', 'claude-sonnet-4-5');
  assert.equal(sonnet.longContextThreshold, 200_000);
  const u = usage({ requests: 10, inputTokens: 900_000, outputTokens: 10_000 });
  assert.deepEqual(whatIfNanos(u, model('claude-sonnet-4-5')), { nanos: nanos(900_000 * 3 + 10_000 * 15) });
});

test('a model is named by its prices provider or by the proxy route that bills through it', () => {
  const byRoute = resolveWhatIfModel('gemini/gemini-2.5-flash', PRICES_PROVIDERS);
  assert.equal(byRoute?.pricesProvider, 'google');
  assert.equal(byRoute?.model, resolveWhatIfModel('google/gemini-2.5-flash', PRICES_PROVIDERS)?.model);
  assert.equal(resolveWhatIfModel('nosuchroute/gemini-2.5-flash', PRICES_PROVIDERS), undefined);
});

test('an unknown model resolves to nothing; usage a model has no price for is unpriced, never $0', () => {
  assert.equal(resolveWhatIfModel('gpt-nonexistent-9', PRICES_PROVIDERS), undefined);
  assert.equal(resolveWhatIfModel('  ', PRICES_PROVIDERS), undefined);
  const embedding = model('text-embedding-3-small');
  assert.deepEqual(whatIfNanos(usage({ inputTokens: 1000 }), embedding), { nanos: nanos(1000 * 0.02) });
  assert.deepEqual(whatIfNanos(usage({ inputTokens: 1000, outputTokens: 10 }), embedding), {
    unpriced: 'openai/text-embedding-3-small has no output-token price',
  });
});

const NO_USAGE: TokenUsage = { inputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, outputTokens: 0, reasoningTokens: 0 };

/** A record priced as the proxy prices a response with this (normalised) usage. */
function pricedRecord(provider: string, model: string, u: Partial<TokenUsage>): RequestRecord {
  const route = DEFAULT_ROUTES.find((r) => r.id === provider)!;
  const tokens = { ...NO_USAGE, ...u };
  const cost = costExchange({
    pricesProvider: route.pricesProvider,
    free: false,
    metered: true,
    report: { model, usage: tokens, outputChars: 0, completed: true },
    status: 200,
    requestBytes: 100,
    finished: true,
    at: new Date(),
  });
  assert.equal(cost.costStatus, 'exact');
  return makeRecord({ provider, model, ...tokens, costNanos: cost.costNanos, costStatus: cost.costStatus });
}

test("priced at its own model, each group's usage costs what its requests cost", async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert([
    // OpenAI: cached tokens inside prompt tokens, reasoning inside completion tokens.
    pricedRecord('openai', 'gpt-4o-mini', { inputTokens: 1200, cacheReadTokens: 1024, outputTokens: 300, reasoningTokens: 0 }),
    pricedRecord('openai', 'gpt-4o-mini', { inputTokens: 5000, outputTokens: 800 }),
    pricedRecord('openai', 'o4-mini', { inputTokens: 2000, cacheReadTokens: 1024, outputTokens: 1500, reasoningTokens: 1200 }),
    // Anthropic: cache reads and writes beside input_tokens, normalised into inputTokens.
    pricedRecord('anthropic', 'claude-haiku-4-5', { inputTokens: 4100, cacheReadTokens: 3000, cacheWriteTokens: 1000, outputTokens: 250 }),
    pricedRecord('anthropic', 'claude-haiku-4-5', { inputTokens: 900, cacheReadTokens: 800, outputTokens: 40 }),
    // Gemini: thoughts beside candidates, normalised into outputTokens.
    pricedRecord('gemini', 'gemini-2.5-flash', { inputTokens: 3000, cacheReadTokens: 2048, outputTokens: 900, reasoningTokens: 600 }),
  ]);
  const report = new SpendQuery(db).report({ by: 'model' });
  assert.equal(report.groups.length, 4);
  for (const g of report.groups) {
    const own = withWhatIf({ total: g, groups: [] }, model(g.key));
    assert.equal(usdToNanos(own.whatIf.costUsd!), usdToNanos(g.costUsd), `${g.key} at its own prices`);
  }
  db.close();
});

test('the report at a what-if model: per group, the total as the sum of the groups, and groups it cannot price', () => {
  const totals = (key: string, inputTokens: number, outputTokens: number, costUsd: number) => ({
    key,
    costUsd,
    requests: 2,
    inputTokens,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    outputTokens,
    reasoningTokens: 0,
    unpricedRequests: 0,
  });
  const groups = [totals('summarize', 10_000, 2_000, 0.05), totals('embed', 3_000, 0, 0.001), totals('chat', 7_000, 500, 0.02)];
  const sumOf = (k: 'inputTokens' | 'outputTokens' | 'costUsd' | 'requests') => groups.reduce((a, g) => a + g[k], 0);
  const { key: _, ...total } = { ...totals('', sumOf('inputTokens'), sumOf('outputTokens'), sumOf('costUsd')), requests: sumOf('requests') };
  const report = { total, groups };

  const mini = withWhatIf(report, model('gpt-4o-mini'));
  const at = [nanos(10_000 * 0.15 + 2_000 * 0.6), nanos(3_000 * 0.15), nanos(7_000 * 0.15 + 500 * 0.6)];
  assert.deepEqual(
    mini.groups.map((g) => [g.key, g.whatIf]),
    [
      ['summarize', { costUsd: at[0] / 1e9 }],
      ['embed', { costUsd: at[1] / 1e9 }],
      ['chat', { costUsd: at[2] / 1e9 }],
    ],
  );
  assert.deepEqual(mini.whatIf, { model: 'openai/gpt-4o-mini', costUsd: (at[0] + at[1] + at[2]) / 1e9, actualUsd: usdToNanos(0.071) / 1e9 });

  const embedding = withWhatIf(report, model('text-embedding-3-small'));
  assert.deepEqual(embedding.groups[0].whatIf, { costUsd: null, unpriced: 'openai/text-embedding-3-small has no output-token price' });
  assert.deepEqual(embedding.groups[1].whatIf, { costUsd: nanos(3_000 * 0.02) / 1e9 });
  assert.deepEqual(embedding.whatIf, {
    model: 'openai/text-embedding-3-small',
    costUsd: nanos(3_000 * 0.02) / 1e9,
    unpriced: '2 of 3 groups left out: openai/text-embedding-3-small has no output-token price',
    actualUsd: 0.001,
  });
  assert.deepEqual(withWhatIf({ ...report, groups: [] }, model('text-embedding-3-small')).whatIf, {
    model: 'openai/text-embedding-3-small',
    costUsd: null,
    unpriced: 'openai/text-embedding-3-small has no output-token price',
    actualUsd: 0,
  });
});

test("the dashboard's picker and its cheaper-model hint price the range's tokens with the same what-if pricing", async () => {
  const haiku = rates('anthropic', 'claude-haiku-4-5');
  const db = await SpendDatabase.open(undefined, { create: true });
  // Four short answers from claude-sonnet-4-5, with cache reads and writes.
  const sonnetCalls = [1, 2, 3, 4].map(() =>
    pricedRecord('anthropic', 'claude-sonnet-4-5', { inputTokens: 6000, cacheReadTokens: 4000, cacheWriteTokens: 1000, outputTokens: 120 }),
  );
  db.insert(sonnetCalls);
  const actualNanos = sonnetCalls.reduce((a, r) => a + r.costNanos, 0);
  const range = { since: Date.now() - 86_400_000, until: Date.now() + 86_400_000 };
  const query = new DashboardQuery(db);
  const data = query.data(range);
  assert.deepEqual(data.whatIfModels.slice(0, 2), ['anthropic/claude-sonnet-4-5', 'anthropic/claude-haiku-4-5']);

  // 4 × (1,000 plain × $1 + 4,000 read × $0.10 + 1,000 written × $1.25 + 120 out × $5).
  const atHaiku = 4 * nanos(1000 * haiku.inputPerMTok! + 4000 * haiku.cachedInputPerMTok! + 1000 * haiku.cacheWritePerMTok! + 120 * haiku.outputPerMTok!);
  assert.deepEqual(query.whatIf(range, 'anthropic/claude-haiku-4-5'), {
    model: 'anthropic/claude-haiku-4-5',
    costUsd: atHaiku / 1e9,
    actualUsd: actualNanos / 1e9,
    requests: 4,
  });
  const hint = data.leaks.find((l) => l.kind === 'cheaper-model');
  assert.equal(hint?.usd, (actualNanos - atHaiku) / 1e9);
  assert.deepEqual(query.whatIf(range, 'text-embedding-3-small'), {
    model: 'openai/text-embedding-3-small',
    costUsd: null,
    unpriced: 'openai/text-embedding-3-small has no output-token price',
    actualUsd: actualNanos / 1e9,
    requests: 4,
  });
  db.close();
});
