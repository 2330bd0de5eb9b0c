/**
 * Price refresh from a local HTTP server standing in for the price library's published data, and
 * repricing stored records. (This file changes the process's price catalogue; node --test runs each
 * file in its own process.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import {
  loadStoredPriceData,
  PriceRefreshError,
  priceDataFile,
  refreshPriceData,
  currentCatalogueVersion,
  listPrices,
  PRICE_CATALOGUE_DATE,
  PRICE_CATALOGUE_VERSION,
  priceUsage,
  setPriceOverrides,
  repriceRecords,
} from '../../src/engine/pricing';
import { RouteTable } from '../../src/engine/providers';
import { makeRecord } from '../support/records';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
/** Runs the built CLI without blocking this process (its HTTP server must keep answering). */
function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const LAST_MODIFIED = 'Tue, 03 Jun 2025 08:00:00 GMT';

/** Published-format price data: gpt-4o at new prices, and a model the bundled catalogue does not know. */
const PUBLISHED = [
  {
    id: 'openai',
    name: 'OpenAI',
    api_pattern: 'https://api\\.openai\\.com',
    models: [
      { id: 'gpt-4o', match: { equals: 'gpt-4o' }, prices: { input_mtok: 2, cache_read_mtok: 1, output_mtok: 8 } },
      { id: 'gpt-9-preview', match: { equals: 'gpt-9-preview' }, prices: { input_mtok: 30, output_mtok: 120 } },
    ],
  },
];

let server: http.Server;
let base: string;
let body = JSON.stringify(PUBLISHED);
let status = 200;
const dirs: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-prices-'));
  dirs.push(d);
  return d;
};

before(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'last-modified': LAST_MODIFIED }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((r) => server.close(r));
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

const usage = { inputTokens: 1_000_000, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, outputTokens: 1_000_000, reasoningTokens: 0 };

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return makeRecord({
    id: `r-${Math.random().toString(36).slice(2)}`,
    startedAt: Date.UTC(2025, 5, 2),
    model: 'gpt-4o',
    inputTokens: 1_000_000,
    outputTokens: 1_000_000,
    costNanos: 0,
    latencyMs: 10,
    ttftMs: null,
    priceSource: PRICE_CATALOGUE_VERSION,
    ...overrides,
  });
}

describe('price refresh', () => {
  test('the bundled catalogue has a date, shown with its rows in the price table', () => {
    // The installed version must be listed in pricing/catalogue-dates.json (add it when upgrading).
    const installed = (
      JSON.parse(fs.readFileSync(path.join(__dirname, '../../node_modules/@pydantic/genai-prices/package.json'), 'utf8')) as { version: string }
    ).version;
    assert.equal(PRICE_CATALOGUE_VERSION, `genai-prices@${installed}`);
    assert.match(PRICE_CATALOGUE_DATE ?? '', /^\d{4}-\d{2}-\d{2}$/, `no date for genai-prices ${installed} in pricing/catalogue-dates.json`);
    const rows = listPrices(['openai'], 'gpt-4o-mini');
    assert.ok(rows.length > 0);
    for (const row of rows) assert.deepEqual([row.source, row.sourceDate], [PRICE_CATALOGUE_VERSION, PRICE_CATALOGUE_DATE]);
  });

  test('offline or a bad answer keeps the bundled prices, with a clear message', async () => {
    const dir = tempDir();
    const before = priceUsage('openai', 'gpt-4o', usage);
    await assert.rejects(refreshPriceData({ dataDir: dir, url: 'http://127.0.0.1:9/data.json', timeoutMs: 2000 }), (e: Error) => {
      assert.ok(e instanceof PriceRefreshError);
      assert.match(e.message, /could not fetch prices from http:\/\/127\.0\.0\.1:9\/data\.json \(offline\?/);
      assert.match(e.message, new RegExp(`keeping the prices in use \\(${PRICE_CATALOGUE_VERSION.replace(/[.@]/g, '\\$&')}\\)`));
      return true;
    });
    status = 500;
    await assert.rejects(refreshPriceData({ dataDir: dir, url: `${base}/data.json` }), /HTTP 500/);
    status = 200;
    body = '{"not": "a list"}';
    await assert.rejects(refreshPriceData({ dataDir: dir, url: `${base}/data.json` }), /not usable \(expected a list of providers\)/);
    body = JSON.stringify(PUBLISHED);
    assert.equal(fs.existsSync(priceDataFile(dir)), false, 'nothing stored');
    assert.equal(currentCatalogueVersion(), PRICE_CATALOGUE_VERSION);
    assert.deepEqual(priceUsage('openai', 'gpt-4o', usage), before);
  });

  test('fetched prices are in force, dated, stored, recorded as the price source; overrides still win', async () => {
    const dir = tempDir();
    const bundled = priceUsage('openai', 'gpt-4o', usage);
    assert.equal(priceUsage('openai', 'gpt-9-preview', usage).priced, false, 'unknown before the refresh');

    const info = await refreshPriceData({ dataDir: dir, url: `${base}/data.json`, now: new Date('2025-06-04T10:00:00Z') });
    assert.equal(info.publishedAt, '2025-06-03T08:00:00.000Z');
    assert.equal(info.fetchedAt, '2025-06-04T10:00:00.000Z');
    assert.match(info.version, /^genai-prices-data@2025-06-04\+[0-9a-f]{8}$/);
    assert.deepEqual([info.providers, info.models], [1, 2]);
    assert.equal(currentCatalogueVersion(), info.version);
    // The price table dates fetched data by its publication.
    const [row] = listPrices(['openai'], 'gpt-9-preview');
    assert.deepEqual([row.source, row.sourceDate], [info.version, '2025-06-03']);

    const fresh = priceUsage('openai', 'gpt-4o', usage);
    assert.equal(fresh.costNanos, 10_000_000_000, '$2 + $8 per million');
    assert.notEqual(fresh.costNanos, bundled.costNanos);
    assert.equal(fresh.source, info.version);
    assert.equal(priceUsage('openai', 'gpt-9-preview', usage).costNanos, 150_000_000_000);
    assert.ok(fs.existsSync(priceDataFile(dir)));
    assert.deepEqual(loadStoredPriceData(dir), info);

    setPriceOverrides({ openai: [{ id: 'gpt-4o', match: { equals: 'gpt-4o' }, prices: { input_mtok: 1, output_mtok: 1 } }] });
    try {
      const overridden = priceUsage('openai', 'gpt-4o', usage);
      assert.equal(overridden.costNanos, 2_000_000_000);
      assert.equal(overridden.source, 'pricing/overrides.json');
    } finally {
      setPriceOverrides({});
    }
  });

  test('the CLI refreshes, shows the data date, and prices with the stored data at the next start', async () => {
    const home = tempDir();
    const env = { ...process.env, BURNRATE_HOME: home };
    const run = (...args: string[]) => cli(env, args);

    const plain = await run('prices', 'gpt-4o');
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, /Prices: bundled catalogue genai-prices@[\d.]+ of \d{4}-\d{2}-\d{2} /);

    const offline = await run('prices', '--refresh', '--url', 'http://127.0.0.1:9/data.json');
    assert.equal(offline.status, 1);
    assert.match(offline.stderr, /could not fetch prices .* keeping the prices in use \(genai-prices@/);

    const refreshed = await run('prices', '--refresh', '--url', `${base}/data.json`);
    assert.equal(refreshed.status, 0, refreshed.stderr);
    assert.match(refreshed.stdout, /Prices updated: 2 models from 1 providers/);
    assert.match(refreshed.stdout, /published 2025-06-03T08:00:00\.000Z/);

    const after = await run('prices', 'gpt-9');
    assert.equal(after.status, 0, after.stderr);
    assert.match(after.stdout, /gpt-9-preview\s+\$30\s+-\s+-\s+\$120/);
    assert.match(
      after.stdout,
      /Prices: genai-prices-data@\d{4}-\d{2}-\d{2}\+[0-9a-f]{8}: fetched .* published 2025-06-03T08:00:00\.000Z from http:\/\/127\.0\.0\.1/,
    );

    const estimate = await run('estimate', '--model', 'gpt-4o', '--input-tokens', '1000000', '--output-tokens', '1000000', '--json');
    assert.equal(estimate.status, 0, estimate.stderr);
    assert.equal(JSON.parse(estimate.stdout).perRequestUsd, 10);
  });
});

describe('reprice', () => {
  test('recomputes a period from stored tokens, reports the difference, writes only with --apply', async () => {
    const home = tempDir();
    const dbPath = path.join(home, 'burnrate.sqlite');
    const database = await SpendDatabase.open(dbPath, { create: true });
    const costNow = (model: string) => priceUsage('openai', model, usage).costNanos;
    const inPeriod = record({ costNanos: 12_345 });
    const unpriced = record({ model: 'gpt-9-preview', costStatus: 'unpriced', priceSource: null, error: 'no price known for model "gpt-9-preview"' });
    const reported = record({ provider: 'openrouter', model: 'openai/gpt-4o', costNanos: 777, priceSource: 'provider-reported' });
    const free = record({ provider: 'ollama', model: 'llama3', costStatus: 'free', priceSource: null });
    const outside = record({ startedAt: Date.UTC(2025, 4, 1), costNanos: 5 });
    database.insert([inPeriod, unpriced, reported, free, outside]);
    await database.save();

    // Priced with whatever is in force now: the refreshed data (from the previous describe block, same process).
    const routes = new RouteTable();
    const since = Date.UTC(2025, 5, 1);
    const dry = repriceRecords(database, routes, { since });
    assert.equal(dry.examined, 4);
    assert.deepEqual(dry.changes.map((c) => c.id).sort(), [inPeriod.id, unpriced.id].sort());
    const a = dry.changes.find((c) => c.id === inPeriod.id)!;
    assert.equal(a.after.costNanos, costNow('gpt-4o'));
    assert.equal(a.before.costNanos, 12_345);
    const u = dry.changes.find((c) => c.id === unpriced.id)!;
    assert.deepEqual([u.before.costStatus, u.after.costStatus, u.after.costNanos], ['unpriced', 'exact', 150_000_000_000]);
    assert.equal(dry.afterNanos - dry.beforeNanos, costNow('gpt-4o') - 12_345 + 150_000_000_000);
    assert.deepEqual(dry.kept, { 'cost reported by the provider': 1, free: 1 });
    database.close();

    const env = { ...process.env, BURNRATE_HOME: home };
    const run = (...args: string[]) => cli(env, args);
    assert.equal((await run('prices', '--refresh', '--url', `${base}/data.json`)).status, 0);
    const dryCli = await run('reprice', '--since', '2025-06-01', '--json');
    assert.equal(dryCli.status, 0, dryCli.stderr);
    const parsed = JSON.parse(dryCli.stdout);
    assert.equal(parsed.applied, false);
    assert.equal(parsed.changed, 2);
    assert.equal(parsed.afterUsd, 160);
    const report = async () => JSON.parse((await run('report', '--since', '2025-06-01', '--json')).stdout).total;
    assert.equal((await report()).unpricedRequests, 1, 'a dry run writes nothing');

    const applied = await run('reprice', '--since', '2025-06-01', '--apply');
    assert.equal(applied.status, 0, applied.stderr);
    assert.match(applied.stdout, /2 record\(s\) change: \$0\.000012 → \$160\.000000 \(\+\$159\.999988\)/);
    assert.match(applied.stdout, /Applied\./);
    const total = await report();
    assert.equal(total.unpricedRequests, 0);
    assert.equal(total.costUsd, 160 + 777e-9);
    const exported = (await run('export', '--format', 'jsonl', '--since', '2025-06-01')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(exported.find((r) => r.id === unpriced.id).priceSource.startsWith('genai-prices-data@'), 'records keep which price data priced them');
    const again = await run('reprice', '--since', '2025-06-01', '--json');
    assert.equal(JSON.parse(again.stdout).changed, 0, 'a second run finds nothing to change');
  });
});
