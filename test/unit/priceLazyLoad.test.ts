/**
 * The price library is loaded when the first price is needed, not when the engine starts; prices,
 * and refreshed price data stored before, apply from that first price on. (Run in its own process,
 * as node --test runs each file: the library must not have been loaded by another test.)
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import '../../src/engine/engine';
import {
  DEFAULT_PRICE_DATA_URL,
  loadStoredPriceData,
  priceDataFile,
  currentCatalogueVersion,
  PRICE_CATALOGUE_VERSION,
  priceUsage,
} from '../../src/engine/pricing';

const libraryInMemory = () => Object.keys(require.cache).some((file) => file.includes(`${path.sep}@pydantic${path.sep}genai-prices${path.sep}`));

test('stored price data is in force from the first price, which is when the library loads', () => {
  assert.equal(libraryInMemory(), false, 'loading the whole engine does not load the price library');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-lazy-prices-'));
  const version = 'genai-prices-data@2025-06-04+0123abcd';
  const providers = [
    {
      id: 'openai',
      name: 'OpenAI',
      api_pattern: 'https://api\\.openai\\.com',
      models: [{ id: 'gpt-9-preview', match: { equals: 'gpt-9-preview' }, prices: { input_mtok: 30, output_mtok: 120 } }],
    },
  ];
  const info = { version, url: 'http://127.0.0.1/data.json', fetchedAt: '2025-06-04T10:00:00.000Z', sha256: '0123abcd', providers: 1, models: 1 };
  fs.mkdirSync(path.dirname(priceDataFile(dir)), { recursive: true });
  fs.writeFileSync(priceDataFile(dir), JSON.stringify({ info, providers }));

  assert.deepEqual(loadStoredPriceData(dir), info);
  assert.equal(currentCatalogueVersion(), version);
  assert.equal(libraryInMemory(), false, 'stored data waits for the first price');

  const usage = { inputTokens: 1_000, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, outputTokens: 500, reasoningTokens: 0 };
  const quote = priceUsage('openai', 'gpt-9-preview', usage);
  assert.equal(libraryInMemory(), true);
  // $30 and $120 per 1M tokens, in nano-dollars.
  assert.deepEqual([quote.priced, quote.costNanos, quote.source], [true, 1_000 * 30_000 + 500 * 120_000, version]);
  assert.notEqual(version, PRICE_CATALOGUE_VERSION);
});

test('the price data URL copied beside the library is the library’s own', () => {
  const { REMOTE_DATA_JSON_URL } = require('@pydantic/genai-prices') as typeof import('@pydantic/genai-prices');
  assert.equal(DEFAULT_PRICE_DATA_URL, REMOTE_DATA_JSON_URL);
});
