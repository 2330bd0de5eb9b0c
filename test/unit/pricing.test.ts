import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costExchange, listPrices, priceUsage, resolveModel, usdToNanos } from '../../src/engine/pricing';
import type { TokenUsage, UsageReport } from '../../src/engine/providers';

const usage = (u: Partial<TokenUsage>): TokenUsage => ({
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  ...u,
});
/** $/MTok × tokens is micro-dollars; × 1000 is nano-dollars. Expectations below are worked by hand from the published prices. */
const micros = (n: number) => Math.round(n * 1000);

test('OpenAI: uncached input, cached input and output each at their published rate', () => {
  // gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per 1M tokens.
  const q = priceUsage('openai', 'gpt-4o-mini', usage({ inputTokens: 1000, cacheReadTokens: 200, outputTokens: 500, reasoningTokens: 100 }));
  assert.equal(q.costNanos, micros(800 * 0.15 + 200 * 0.075 + 500 * 0.6));
  assert.equal(q.matchedModel, 'gpt-4o-mini');
});

test('Anthropic: cache reads, 5-minute and 1-hour cache writes', () => {
  // claude-sonnet-4-5: $3 input, $3.75 5m write, $6 1h write, $0.30 read, $15 output.
  const q = priceUsage(
    'anthropic',
    'claude-sonnet-4-5',
    usage({ inputTokens: 1000, cacheWriteTokens: 300, cacheWrite1hTokens: 100, cacheReadTokens: 200, outputTokens: 500 }),
  );
  assert.equal(q.costNanos, micros(500 * 3 + 200 * 3.75 + 100 * 6 + 200 * 0.3 + 500 * 15));
});

test('long context: past the threshold the whole request is charged at the higher rate', () => {
  // claude-sonnet-4-5 above 200k input tokens: $6 input, $22.50 output.
  const q = priceUsage('anthropic', 'claude-sonnet-4-5', usage({ inputTokens: 300_000, outputTokens: 500 }));
  assert.equal(q.costNanos, micros(300_000 * 6 + 500 * 22.5));
  const below = priceUsage('anthropic', 'claude-sonnet-4-5', usage({ inputTokens: 200_000, outputTokens: 500 }));
  assert.equal(below.costNanos, micros(200_000 * 3 + 500 * 15));
});

test('Gemini: thoughts are priced as output', () => {
  // gemini-2.5-flash: $0.30 input, $0.03 cached, $2.50 output (thinking included).
  const q = priceUsage('google', 'gemini-2.5-flash', usage({ inputTokens: 1000, cacheReadTokens: 200, outputTokens: 500, reasoningTokens: 50 }));
  assert.equal(q.costNanos, micros(800 * 0.3 + 200 * 0.03 + 500 * 2.5));
});

test('time-of-day prices: DeepSeek V4 Flash costs double in its peak hours', () => {
  const u = usage({ inputTokens: 1000, cacheReadTokens: 400, outputTokens: 500 });
  // deepseek-v4-flash since 2026-08-17: $0.22 / $0.007 cached / $0.66, and twice that 01:00-04:00 and 06:00-10:00 UTC.
  const normal = priceUsage('deepseek', 'deepseek-v4-flash', u, { at: new Date('2026-11-22T12:00:00Z') });
  const peak = priceUsage('deepseek', 'deepseek-v4-flash', u, { at: new Date('2026-11-22T02:00:00Z') });
  assert.equal(normal.costNanos, micros(600 * 0.22 + 400 * 0.007 + 500 * 0.66));
  assert.equal(peak.costNanos, micros(600 * 0.44 + 400 * 0.014 + 500 * 1.32));
});

test('DeepSeek chat and reasoner: the current published prices (pricing/overrides.json), the same at every hour', () => {
  // Since 2025-09-05 (V3.2-Exp, off-peak discount discontinued): $0.28 input, $0.028 cached input, $0.42 output per 1M.
  // The bundled catalogue still has the earlier $0.27/$0.07/$1.10 (reasoner $0.55/$0.14/$2.19) with half price off-peak.
  const u = usage({ inputTokens: 1000, cacheReadTokens: 400, outputTokens: 500 });
  for (const model of ['deepseek-chat', 'deepseek-reasoner']) {
    for (const at of ['2026-11-22T12:00:00Z', '2026-11-22T20:00:00Z']) {
      const q = priceUsage('deepseek', model, u, { at: new Date(at) });
      assert.deepEqual(
        [q.costNanos, q.matchedModel, q.source],
        [micros(600 * 0.28 + 400 * 0.028 + 500 * 0.42), model, 'pricing/overrides.json'],
        `${model} at ${at}`,
      );
    }
  }
});

test('served tier: flex and batch at half price; an unknown tier is priced standard and flagged', () => {
  const standard = priceUsage('openai', 'gpt-5', usage({ inputTokens: 10_000, outputTokens: 2_000 }));
  assert.equal(standard.costNanos, micros(10_000 * 1.25 + 2_000 * 10));
  assert.equal(priceUsage('openai', 'gpt-5', usage({ inputTokens: 10_000, outputTokens: 2_000 }), { serviceTier: 'flex' }).costNanos, standard.costNanos / 2);
  assert.equal(
    priceUsage('openai', 'gpt-5', usage({ inputTokens: 10_000, outputTokens: 2_000 }), { serviceTier: 'priority' }).costNanos,
    standard.costNanos * 2,
  );
  assert.equal(priceUsage('openai', 'gpt-5', usage({ inputTokens: 10_000, outputTokens: 2_000 }), { serviceTier: 'default' }).costNanos, standard.costNanos);
  const odd = priceUsage('openai', 'gpt-5', usage({ inputTokens: 10_000, outputTokens: 2_000 }), { serviceTier: 'turbo' });
  assert.equal(odd.costNanos, standard.costNanos);
  assert.match(odd.approximation ?? '', /turbo/);
});

test('Realtime audio: audio input, cached audio and audio output at their own rates beside the text ones', () => {
  // gpt-realtime: text $4 input, $0.40 cached, $16 output; audio $32 input, $0.40 cached, $64 output.
  const q = priceUsage(
    'openai',
    'gpt-realtime',
    usage({ inputTokens: 1000, cacheReadTokens: 300, outputTokens: 500, audioInputTokens: 600, audioCacheReadTokens: 200, audioOutputTokens: 400 }),
  );
  assert.equal(q.costNanos, micros(300 * 4 + 100 * 0.4 + 400 * 32 + 200 * 0.4 + 100 * 16 + 400 * 64));
});

test('audio tokens on a model with no audio price are unpriced, not priced at the text rate', () => {
  const q = priceUsage('openai', 'gpt-4.1-mini', usage({ inputTokens: 1000, outputTokens: 500, audioOutputTokens: 100 }));
  assert.deepEqual([q.priced, q.unpricedReason], [false, 'no audio output price known for model "gpt-4.1-mini"']);
});

test('an unknown model is not priced, never a silent $0', () => {
  const q = priceUsage('openai', 'gpt-99-imaginary', usage({ inputTokens: 10, outputTokens: 10 }));
  assert.equal(q.priced, false);
});

test('usdToNanos recovers exact decimal amounts from float products', () => {
  assert.equal(usdToNanos(0.1 + 0.2), 300_000_000);
  assert.equal(usdToNanos(0.00043499999999999995), 435_000);
});

const report = (r: Partial<UsageReport>): UsageReport => ({ outputChars: 0, completed: true, ...r });
const base = {
  pricesProvider: 'openai',
  requestModel: 'gpt-4o-mini',
  free: false,
  metered: true,
  status: 200,
  requestBytes: 4000,
  finished: true,
  at: new Date(),
};

test('costExchange: reported usage is exact', () => {
  const r = costExchange({ ...base, report: report({ model: 'gpt-4o-mini-2024-07-18', usage: usage({ inputTokens: 100, outputTokens: 10 }) }) });
  assert.equal(r.costStatus, 'exact');
  assert.equal(r.model, 'gpt-4o-mini-2024-07-18');
  assert.equal(r.costNanos, micros(100 * 0.15 + 10 * 0.6));
});

test('costExchange: a stream cut before usage is estimated from what streamed and the request size', () => {
  const r = costExchange({ ...base, finished: false, report: report({ outputChars: 400, completed: false }) });
  assert.equal(r.costStatus, 'estimated');
  assert.equal(r.usage.inputTokens, 1000);
  assert.equal(r.usage.outputTokens, 100);
  assert.equal(r.costNanos, micros(1000 * 0.15 + 100 * 0.6));
});

test('costExchange: a partial usage report keeps its input counts and counts the streamed output', () => {
  const r = costExchange({
    ...base,
    pricesProvider: 'anthropic',
    requestModel: 'claude-haiku-4-5',
    finished: false,
    report: report({ usage: usage({ inputTokens: 2000, outputTokens: 1 }), usagePartial: true, outputChars: 80, completed: false }),
  });
  assert.equal(r.costStatus, 'estimated');
  assert.deepEqual([r.usage.inputTokens, r.usage.outputTokens], [2000, 20]);
});

test('costExchange: unknown model is unpriced, free endpoints and local providers are free, errors cost nothing', () => {
  assert.equal(costExchange({ ...base, requestModel: 'nope', report: report({ usage: usage({ inputTokens: 5, outputTokens: 5 }) }) }).costStatus, 'unpriced');
  assert.equal(costExchange({ ...base, free: true, report: report({ usage: usage({ inputTokens: 5 }) }) }).costStatus, 'free');
  assert.equal(costExchange({ ...base, pricesProvider: null, report: report({ usage: usage({ inputTokens: 5 }) }) }).costStatus, 'free');
  const err = costExchange({ ...base, status: 500, report: report({ error: 'boom' }) });
  assert.deepEqual([err.costStatus, err.costNanos], ['exact', 0]);
});

test('costExchange: a provider-reported cost wins (OpenRouter usage.cost)', () => {
  const r = costExchange({
    ...base,
    pricesProvider: 'openrouter',
    requestModel: 'openai/gpt-4o',
    report: report({ usage: usage({ inputTokens: 100, outputTokens: 10 }), reportedCostUsd: 0.000123 }),
  });
  assert.deepEqual([r.costStatus, r.costNanos, r.priceSource], ['exact', 123_000, 'provider-reported']);
});

test('price table lists current prices and resolves bare model names', () => {
  const rows = listPrices(['openai'], 'gpt-4o-mini');
  const row = rows.find((r) => r.model === 'gpt-4o-mini');
  assert.deepEqual([row?.inputPerMTok, row?.cachedInputPerMTok, row?.outputPerMTok], [0.15, 0.075, 0.6]);
  assert.deepEqual(resolveModel('claude-haiku-4-5', ['openai', 'anthropic']), { pricesProvider: 'anthropic', model: 'claude-haiku-4-5' });
  assert.deepEqual(resolveModel('anthropic:claude-haiku-4-5', ['openai', 'anthropic']), { pricesProvider: 'anthropic', model: 'claude-haiku-4-5' });
  assert.equal(resolveModel('no-such-model-xyz', ['openai', 'anthropic']), undefined);
});
