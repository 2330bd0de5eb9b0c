import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calcPrice, findProvider, type ModelInfo, type Provider } from '@pydantic/genai-prices';
import fc from 'fast-check';
import providersFile from '../../pricing/providers.json';
import { buildPriceFormula } from '../../src/engine/pricing';

/** Every catalogue provider a route prices with. */
const catalogueIds = [
  ...new Set((providersFile.providers as Array<{ pricesProvider: string | null }>).map((r) => r.pricesProvider).filter((p): p is string => !!p)),
];

function singleModel(provider: Provider, model: ModelInfo): Provider {
  return { ...provider, fallback_model_providers: undefined, models: [model] };
}

const usageArb = fc
  .record({
    input: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 3_000_000 })),
    cacheReadShare: fc.double({ min: 0, max: 1, noNaN: true }),
    cacheWriteShare: fc.double({ min: 0, max: 1, noNaN: true }),
    oneHourShare: fc.double({ min: 0, max: 1, noNaN: true }),
    output: fc.integer({ min: 0, max: 200_000 }),
    reasoningShare: fc.double({ min: 0, max: 1, noNaN: true }),
    // Now and then a usage the calculator must refuse (cache reads above the input).
    invalid: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  })
  .map((u) => {
    const cacheRead = Math.floor(u.input * u.cacheReadShare * 0.5);
    const cacheWrite = Math.floor(u.input * u.cacheWriteShare * 0.5);
    return {
      input_tokens: u.input,
      cache_read_tokens: u.invalid ? u.input + 1 : cacheRead,
      cache_write_tokens: cacheWrite,
      cache_write_1h_tokens: Math.floor(cacheWrite * u.oneHourShare),
      output_tokens: u.output,
      output_reasoning_tokens: Math.floor(u.output * u.reasoningShare),
    };
  });

const dateArb = fc.date({ min: new Date('2023-01-01T00:00:00Z'), max: new Date('2027-12-31T00:00:00Z'), noInvalidDate: true });

test('a compiled price gives exactly the price library total for every catalogue model, any usage and date', () => {
  let compiled = 0;
  let models = 0;
  for (const id of catalogueIds) {
    const provider = findProvider({ providerId: id });
    assert.ok(provider, `catalogue provider ${id}`);
    for (const model of provider.models) {
      models++;
      const one = singleModel(provider, model);
      const formula = buildPriceFormula(one, model);
      if (!formula) continue;
      compiled++;
      fc.assert(
        fc.property(usageArb, dateArb, (usage, at) => {
          let expected: number | undefined;
          try {
            expected = calcPrice({ ...usage }, model.id, { provider: one, timestamp: at })?.total_price;
          } catch {
            expected = undefined;
          }
          assert.equal(formula.totalUsd(usage, at), expected, `${id}/${model.id} ${JSON.stringify(usage)} at ${at.toISOString()}`);
        }),
        { numRuns: 25 },
      );
    }
  }
  // Most models take the fast path; the rest are priced by the library as before.
  assert.ok(compiled / models > 0.9, `${compiled} of ${models} models compiled`);
});

test('the models most traffic goes to are compiled, long-context tiers included', () => {
  for (const [id, modelId] of [
    ['openai', 'gpt-4o-mini'],
    ['openai', 'gpt-5'],
    ['anthropic', 'claude-sonnet-4-5'],
    ['google', 'gemini-2.5-pro'],
    ['google', 'gemini-2.5-flash'],
  ]) {
    const found = calcPrice({ input_tokens: 1, output_tokens: 1 }, modelId, { providerId: id });
    assert.ok(found, modelId);
    assert.ok(buildPriceFormula(singleModel(found.provider, found.model), found.model), `${id}/${modelId} has a formula`);
  }
});

test('prices the formula does not cover are left to the library', () => {
  const provider: Provider = { id: 'x', name: 'x', api_pattern: '', models: [] };
  const audio: ModelInfo = { id: 'audio-model', match: { equals: 'audio-model' }, prices: { input_mtok: 1, audio_hours: 0.36, output_mtok: 2 } };
  assert.equal(buildPriceFormula({ ...provider, models: [audio] }, audio), undefined);
  const offPeak: ModelInfo = {
    id: 'night-model',
    match: { equals: 'night-model' },
    prices: [
      { prices: { input_mtok: 1, output_mtok: 2 } },
      { constraint: { type: 'time_of_date', start_time: '16:30:00Z', end_time: '00:30:00Z' }, prices: { input_mtok: 0.5, output_mtok: 1 } },
    ],
  } as ModelInfo;
  assert.equal(buildPriceFormula({ ...provider, models: [offPeak] }, offPeak), undefined);
  const flat: ModelInfo = { id: 'flat', match: { equals: 'flat' }, prices: { input_mtok: 1, output_mtok: 2 } };
  const formula = buildPriceFormula({ ...provider, models: [flat] }, flat);
  assert.ok(formula);
  // Usage keys or values it does not know: undefined, so the caller asks the library.
  assert.equal(formula.totalUsd({ input_tokens: 10, output_tokens: 1, input_audio_tokens: 5 }, new Date()), undefined);
  assert.equal(formula.totalUsd({ input_tokens: 1.5, output_tokens: 1 }, new Date()), undefined);
  assert.equal(formula.totalUsd({ input_tokens: 1_000_000, output_tokens: 1_000_000 }, new Date()), 3);
});
