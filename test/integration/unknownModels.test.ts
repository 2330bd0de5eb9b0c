/**
 * Unknown models, as a user of `burnrate serve` meets them with the `openai` SDK: announced once
 * (one warning line, not again after a restart), listed by the management API, counted on the
 * dashboard, priced from the user's price-overrides.json from then on, and the calls before repriced
 * by `burnrate reprice` (or at once by Set a Price's route).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type DashboardData, MANAGEMENT_ROUTES, type ModelRepriceAnswer, type PriceOverrideAnswer } from '../../src/shared';
import { readSecret } from '../../src/engine/management';
import type { UnpricedModelState } from '../../src/engine/pricing';
import { exited, runCli, startServe, type ServeProcess } from '../support/cliProcess';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';
import { nanos } from '../support/harness';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-unpriced-'));
const db = path.join(dir, 'spend.sqlite');
const env = { ...process.env, BURNRATE_HOME: dir };
const MYSTERY = 'mystery-model-1';
const WARNING = /warn: no price known for openai model "([^"]+)"/g;

let fake: FakeProvider;
before(async () => {
  fake = await startFakeProvider();
  fake.setUsage({ input: 1000, cachedRead: 0, output: 500, reasoning: 0 });
});
/** Serve processes still running: a failed test leaves none behind. */
const running = new Set<ServeProcess>();
after(async () => {
  for (const s of running) s.child.kill('SIGKILL');
  await fake.close();
});

async function serve(): Promise<ServeProcess> {
  const s = await startServe(env, ['--port', '0', '--db', db, '--upstream', `openai=${fake.url}`]);
  running.add(s);
  return s;
}

async function stop(s: ServeProcess): Promise<void> {
  s.child.kill('SIGINT');
  assert.equal(await exited(s.child), 0);
  running.delete(s);
}

async function chat(s: ServeProcess, model: string): Promise<void> {
  const client = new OpenAI({ apiKey: 'sk-unpriced', baseURL: `${s.url}/openai/v1`, maxRetries: 0 });
  const reply = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(reply.model, model);
}

async function manage<T>(s: ServeProcess, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${s.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${readSecret(dir)}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as T;
}

const warnedModels = (s: ServeProcess) => [...s.stderr().matchAll(WARNING)].map((m) => m[1]);
const dashboard = (s: ServeProcess) => manage<DashboardData>(s, `${MANAGEMENT_ROUTES.dashboard}?since=${Date.now() - 86_400_000}&until=${Date.now() + 60_000}`);
const report = () => JSON.parse(runCli(env, 'report', '--db', db, '--by', 'model', '--json').stdout);
/** 1000 input and 500 output tokens at $2 and $8 per 1M. */
const PRICED_NANOS = nanos(1000 * 2 + 500 * 8);

describe('unknown models under burnrate serve', () => {
  test('announced once: one warning for two calls, listed, counted on the dashboard, not again after a restart', async () => {
    const first = await serve();
    await chat(first, MYSTERY);
    await chat(first, MYSTERY);
    await chat(first, 'gpt-4o-mini');
    assert.deepEqual(warnedModels(first), [MYSTERY]);
    assert.match(first.stderr(), /set one in .*price-overrides\.json or run burnrate prices --refresh/);

    const listed = await manage<UnpricedModelState>(first, MANAGEMENT_ROUTES.unpricedModels);
    assert.deepEqual(listed, { announced: [{ provider: 'openai', model: MYSTERY }], ignored: [] });

    const d = await dashboard(first);
    assert.equal(d.tiles.requests, 3);
    assert.equal(d.tiles.unpricedRequests, 2);
    assert.deepEqual(d.byModel.find((m) => m.key === MYSTERY)?.unpricedRequests, 2);
    await stop(first);

    const second = await serve();
    await chat(second, MYSTERY);
    assert.deepEqual(warnedModels(second), [], 'kept in unpriced-models.json across the restart');
    await stop(second);
    const rows = report().groups;
    assert.equal(rows.find((g: { key: string }) => g.key === MYSTERY).unpricedRequests, 3);
  });

  test('a price in price-overrides.json prices the next call exactly; burnrate reprice fixes the earlier ones', async () => {
    fs.writeFileSync(
      path.join(dir, 'price-overrides.json'),
      JSON.stringify({ providers: { openai: [{ id: MYSTERY, prices: { input_mtok: 2, output_mtok: 8 } }] } }),
    );
    const dry = JSON.parse(runCli(env, 'reprice', '--db', db, '--since', '24h', '--model', MYSTERY, '--json').stdout);
    assert.equal(dry.changed, 3);
    const applied = runCli(env, 'reprice', '--db', db, '--since', '24h', '--model', MYSTERY, '--apply', '--json');
    assert.equal(applied.status, 0, applied.stderr);
    assert.equal(JSON.parse(applied.stdout).afterUsd, (3 * PRICED_NANOS) / 1e9);

    const s = await serve();
    await chat(s, MYSTERY);
    await stop(s);
    const mystery = report().groups.find((g: { key: string }) => g.key === MYSTERY);
    assert.deepEqual([mystery.requests, mystery.unpricedRequests, mystery.costUsd], [4, 0, (4 * PRICED_NANOS) / 1e9]);
    const exported = runCli(env, 'export', '--db', db, '--format', 'jsonl')
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const r of exported.filter((r) => r.model === MYSTERY)) assert.deepEqual([r.costStatus, r.costUsd, r.error], ['exact', PRICED_NANOS / 1e9, null]);
  });

  test("Set a Price's route saves the override, prices the next call and reprices the history at once; Ignore silences a model", async () => {
    const s = await serve();
    await chat(s, 'mystery-model-2');
    await chat(s, 'mystery-model-2');
    await manage(s, MANAGEMENT_ROUTES.unpricedModelIgnore, { provider: 'openai', model: 'mystery-model-3' });
    await chat(s, 'mystery-model-3');
    assert.deepEqual(warnedModels(s), ['mystery-model-2']);

    const saved = await manage<PriceOverrideAnswer>(s, MANAGEMENT_ROUTES.priceOverride, {
      provider: 'openai',
      model: 'mystery-model-2',
      inputPerMTok: 2,
      outputPerMTok: 8,
    });
    assert.deepEqual(saved.repriced, { records: 2, beforeUsd: 0, afterUsd: (2 * PRICED_NANOS) / 1e9 });
    assert.equal(saved.file, path.join(dir, 'price-overrides.json'));
    const written = JSON.parse(fs.readFileSync(saved.file, 'utf8'));
    assert.deepEqual(written.providers.openai.map((m: { id: string }) => m.id).sort(), [MYSTERY, 'mystery-model-2'], 'the hand-written price is kept');
    await chat(s, 'mystery-model-2');

    const listed = await manage<UnpricedModelState>(s, MANAGEMENT_ROUTES.unpricedModels);
    assert.deepEqual(listed, { announced: [], ignored: [{ provider: 'openai', model: 'mystery-model-3' }] });
    const d = await dashboard(s);
    assert.equal(d.byModel.find((m) => m.key === 'mystery-model-2')?.unpricedRequests, 0);
    assert.equal(d.tiles.unpricedRequests, 1, 'only the ignored model is still unpriced');
    assert.equal(d.byModel.find((m) => m.key === 'mystery-model-2')?.costUsd, (3 * PRICED_NANOS) / 1e9);

    // New price data on disk (as Refresh Prices leaves it, here a hand edit): the reprice route prices the history with it at once.
    await chat(s, 'mystery-model-4');
    const file = path.join(dir, 'price-overrides.json');
    const overrides = JSON.parse(fs.readFileSync(file, 'utf8'));
    overrides.providers.openai.push({ id: 'mystery-model-4', prices: { input_mtok: 2, output_mtok: 8 } });
    fs.writeFileSync(file, JSON.stringify(overrides));
    const repriced = await manage<ModelRepriceAnswer>(s, MANAGEMENT_ROUTES.repriceModel, { provider: 'openai', model: 'mystery-model-4' });
    assert.deepEqual(repriced, { repriced: { records: 1, beforeUsd: 0, afterUsd: PRICED_NANOS / 1e9 } });
    assert.equal((await dashboard(s)).byModel.find((m) => m.key === 'mystery-model-4')?.costUsd, PRICED_NANOS / 1e9);
    await stop(s);
  });
});
