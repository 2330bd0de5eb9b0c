/**
 * Retention waits for the exporter: an OTLP collector down for longer than the retention period
 * loses nothing; records it has not acknowledged are kept (and said to be), up to a bound.
 * Time moves by an injected clock (Date.now while the engine starts, `now` for a later pass).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, mock, test } from 'node:test';
import OpenAI from 'openai';
import { Engine, type EngineOptions } from '../../src/engine/engine';
import { readSecret } from '../../src/engine/management';
import { UNEXPORTED_GRACE_DAYS } from '../../src/engine/store';
import type { DashboardData } from '../../src/shared';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';
import { mountedUpstreams } from '../support/harness';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlpReceiver';

const DAY = 86_400_000;
const RETENTION_DAYS = 2;

let fake: FakeProvider;
let receiver: OtlpReceiver;
let dir: string;
const logged: string[] = [];

before(async () => {
  fake = await startFakeProvider();
  receiver = await startOtlpReceiver();
});
after(async () => {
  await receiver.close();
  await fake.close();
});

function start(opts: Partial<EngineOptions> = {}): Promise<Engine> {
  return Engine.start({
    port: 0,
    dbPath: path.join(dir, 'spend.sqlite'),
    dataDir: dir,
    upstreams: mountedUpstreams(fake.url),
    saveIntervalMs: 0,
    retentionDays: RETENTION_DAYS,
    otlp: { endpoint: receiver.url, initialBackoffMs: 20, maxBackoffMs: 100, exportTimeoutMs: 500 },
    log: (level, message) => logged.push(`${level}: ${message}`),
    ...opts,
  });
}

/** Starts the engine as if `days` from now (its retention pass at start sees the records that old). */
async function startLater(days: number, opts: Partial<EngineOptions> = {}): Promise<Engine> {
  const at = Date.now() + days * DAY;
  mock.method(Date, 'now', () => at);
  try {
    return await start(opts);
  } finally {
    mock.restoreAll();
  }
}

async function callThrough(engine: Engine, n: number): Promise<string[]> {
  const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${engine.url}/openai/v1`, maxRetries: 0 });
  for (let i = 0; i < n; i++) await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hi ${i}` }] });
  await engine.recorder.flush();
  return (await engine.store.run('dashboard', 'data', { since: 0, until: Date.now() + DAY }, { dailyUsd: 0, monthlyUsd: 0 })).recent.map((r) => r.id);
}

async function dashboard(engine: Engine): Promise<DashboardData> {
  const since = Date.now() - DAY;
  const res = await fetch(`${engine.url}/_burnrate/dashboard?since=${since}&until=${since + 3 * DAY}`, {
    headers: { authorization: `Bearer ${readSecret(dir)}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as DashboardData;
}

function freshDir(): void {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-retain-'));
  logged.length = 0;
  receiver.traceRequests.length = 0;
}

test('an OTLP receiver down past retention loses nothing', async () => {
  freshDir();
  receiver.mode = 'unavailable';
  let engine = await start();
  const ids = await callThrough(engine, 3);
  assert.equal(ids.length, 3);
  await engine.close();

  // The collector is still down when the records pass retention: the pass at start keeps them.
  engine = await startLater(RETENTION_DAYS + 1);
  assert.equal(await engine.store.count(), 3);
  assert.equal(logged.filter((l) => l.includes('retention kept 3 record(s) the OTLP collector has not acknowledged')).length, 1);
  assert.ok(logged.every((l) => !/deleted \d+ record/.test(l)));
  const held = (await dashboard(engine)).retentionHold;
  assert.equal(held?.keptRecords, 3);
  assert.equal(held?.deletedAfterDays, RETENTION_DAYS + UNEXPORTED_GRACE_DAYS);

  // Back up: every record arrives, the warning leaves the dashboard, the next pass deletes them.
  receiver.mode = 'ok';
  const spans = await receiver.waitForSpans(3);
  assert.deepEqual(spans.map((s) => s.attributes['burnrate.record_id']).sort(), [...ids].sort());
  while (engine.otlpExporter?.sentCount !== 3) await new Promise((r) => setTimeout(r, 10));
  assert.equal((await dashboard(engine)).retentionHold, null);
  const outcome = await engine.retention.pass(Date.now() + (RETENTION_DAYS + 1) * DAY);
  assert.equal(outcome?.deleted, 3);
  assert.equal(outcome?.keptUnexported, 0);
  assert.equal(await engine.store.count(), 0);
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('records never acknowledged go once past retention plus the grace, loudly', async () => {
  freshDir();
  receiver.mode = 'unavailable';
  const engine = await start();
  await callThrough(engine, 2);
  const kept = await engine.retention.pass(Date.now() + (RETENTION_DAYS + UNEXPORTED_GRACE_DAYS - 1) * DAY);
  assert.equal(kept?.keptUnexported, 2);
  assert.equal(await engine.store.count(), 2);
  const dropped = await engine.retention.pass(Date.now() + (RETENTION_DAYS + UNEXPORTED_GRACE_DAYS + 1) * DAY);
  assert.equal(dropped?.deleted, 2);
  assert.equal(dropped?.droppedUnexported, 2);
  assert.equal(await engine.store.count(), 0);
  assert.ok(logged.some((l) => l.startsWith('error: retention deleted 2 record(s) the OTLP collector never acknowledged')));
  assert.equal((await dashboard(engine)).retentionHold, null);
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('without export, retention deletes what is past it, as always', async () => {
  freshDir();
  const engine = await start({ otlp: undefined });
  await callThrough(engine, 2);
  const outcome = await engine.retention.pass(Date.now() + (RETENTION_DAYS + 1) * DAY);
  assert.equal(outcome?.deleted, 2);
  assert.equal(outcome?.keptUnexported, 0);
  assert.equal(await engine.store.count(), 0);
  assert.equal((await dashboard(engine)).retentionHold, null);
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
