/**
 * The engine's management API (src/engine/management/management.ts) as the VS Code extension uses it: health
 * without a secret, everything else only with the per-install secret, a pushed summary, pause,
 * export. A real engine and the official OpenAI SDK against the fake provider.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { SpendDatabase, EXPORT_COLUMNS, type RequestRecord } from '../../src/engine/database';
import { SECRET_FILE, probe } from '../../src/engine/management';
import { SummaryQuery, SummaryTracker, type SpendSummary } from '../../src/engine/queries';
import { downloadExport, setRecordingPaused, SseReader, subscribeSummaries } from '../../src/extension/link/engineClient';
import { nanos, startHarness, type Harness } from '../support/harness';
import { makeRecord } from '../support/records';

let h: Harness;
let port: number;
let secret: string;
before(async () => {
  h = await startHarness();
  ({ port, secret } = h);
});
after(async () => {
  await h.close();
});

const openai = () => new OpenAI({ apiKey: 'sk-test-canary-key', baseURL: `${h.url}/~workspace=demo,session=s1/openai/v1`, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'hi' }];

function get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

test('the secret is created once per data dir, readable only by its owner', () => {
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.equal(fs.statSync(path.join(h.dir, SECRET_FILE)).mode & 0o777, 0o600);
});

test('health needs no secret and tells a Burn Rate engine apart; the rest needs the secret', async () => {
  const found = await probe(port);
  assert.equal(found.kind, 'burnrate');
  assert.equal(found.kind === 'burnrate' && found.health.pid, process.pid);
  assert.equal((await get('/_burnrate/summary')).status, 401);
  assert.equal((await get('/_burnrate/summary', { authorization: 'Bearer ' + 'f'.repeat(64) })).status, 401);
  assert.equal((await get('/_burnrate/export', { authorization: `Bearer ${secret}x` })).status, 401);
  const ok = await get('/_burnrate/summary', { authorization: `Bearer ${secret}` });
  assert.equal(ok.status, 200);
  assert.equal((JSON.parse(ok.body) as SpendSummary).recordingPaused, false);
  assert.equal((await get('/_burnrate/nope', { authorization: `Bearer ${secret}` })).status, 404);
});

test('web pages cannot reach the management API (the proxy refuses an Origin)', async () => {
  assert.equal((await get('/_burnrate/health', { origin: 'https://evil.example' })).status, 403);
});

test('a summary is pushed after each request with its exact cost, tags and model', async () => {
  const summaries: SpendSummary[] = [];
  let opened = false;
  const stream = subscribeSummaries(port, secret, { onOpen: () => (opened = true), onSummary: (s) => summaries.push(s) });
  while (!summaries.length) await new Promise((r) => setTimeout(r, 10));
  assert.ok(opened);
  const before = summaries.at(-1)!;
  await openai().chat.completions.create({ model: 'gpt-4o-mini', messages });
  while (summaries.at(-1)!.today.requests === before.today.requests) await new Promise((r) => setTimeout(r, 10));
  const s = summaries.at(-1)!;
  stream.close();
  assert.equal(await stream.done, 'ended');
  const cost = nanos(1000 * 0.15 + 200 * 0.075 + 300 * 0.6) / 1e9;
  assert.equal(Math.round((s.today.costUsd - before.today.costUsd) * 1e9), Math.round(cost * 1e9));
  assert.equal(s.today.requests - before.today.requests, 1);
  assert.equal(s.month.requests, s.today.requests);
  assert.ok(s.todayByModel.some((g) => g.key === 'gpt-4o-mini'));
  assert.ok(s.todayByProvider.some((g) => g.key === 'openai'));
  assert.deepEqual(
    s.activeSessions.map((g) => g.key),
    ['s1'],
  );
  assert.equal(s.lastRecord?.model, 'gpt-4o-mini');
});

test('a wrong secret is refused on the event stream', async () => {
  const stream = subscribeSummaries(port, 'nope'.repeat(16), { onSummary: () => assert.fail('no summary without the secret') });
  assert.equal(await stream.done, 'unauthorized');
});

test('paused: requests are forwarded but not recorded; resumed: recorded again', async () => {
  const count = () => h.engine.store.count();
  const before = await count();
  assert.equal((await setRecordingPaused(port, secret, true)).recordingPaused, true);
  const reply = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages });
  assert.equal(reply.choices[0].message.content, 'Hello from fake openai.');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await count(), before);
  assert.equal((await setRecordingPaused(port, secret, false)).recordingPaused, false);
  const recorded = h.nextRecords();
  await openai().chat.completions.create({ model: 'gpt-4o-mini', messages });
  await recorded;
  assert.equal(await count(), before + 1);
});

test('export writes the CLI columns, one row per request, and never the API key', async () => {
  const file = path.join(h.dir, 'export.csv');
  await downloadExport(port, secret, file, { format: 'csv' });
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines[0], EXPORT_COLUMNS.join(','));
  assert.equal(lines.length - 1, await h.engine.store.count());
  assert.ok(lines[1].includes('gpt-4o-mini'));
  assert.ok(!fs.readFileSync(file, 'utf8').includes('canary'));
  const jsonl = path.join(h.dir, 'export.jsonl');
  await downloadExport(port, secret, jsonl, { format: 'jsonl', since: Date.now() + 60_000 });
  assert.equal(fs.readFileSync(jsonl, 'utf8'), '');
});

test('SseReader handles split chunks, CRLF, comments and multi-line data', () => {
  const got: Array<[string, string]> = [];
  const r = new SseReader((e, d) => got.push([e, d]));
  r.push(': ping\n\nevent: summ');
  r.push('ary\r\ndata: {"a":1}\r\n\r\ndata: x\ndata: y\n\n');
  assert.deepEqual(got, [
    ['summary', '{"a":1}'],
    ['message', 'x\ny'],
  ]);
});

test('the live summary starts today afresh at local midnight, and keeps the week and month', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  // A Wednesday in the middle of a month, late in the evening, then just after its midnight.
  const evening = new Date(2026, 4, 13, 23, 59, 0);
  const afterMidnight = new Date(2026, 4, 14, 0, 0, 1);
  // One record already in the database when the engine starts: the tracker's base.
  db.insert([makeRecord({ startedAt: evening.getTime() - 60_000, costNanos: 4_000_000, model: 'a' })]);
  const tracker = new SummaryTracker(new SummaryQuery(db).base(evening.getTime()));
  tracker.add(makeRecord({ startedAt: evening.getTime(), costNanos: 3_000_000, model: 'a' }), evening);
  tracker.add(makeRecord({ startedAt: evening.getTime() + 30_000, costNanos: 2_000_000, model: 'a' }), new Date(evening.getTime() + 30_000));
  const before = tracker.snapshot(false, new Date(evening.getTime() + 59_000));
  assert.deepEqual([before.today.requests, before.today.costUsd], [3, 0.009]);
  // Past midnight with nothing new: today is empty, the week and month still count the evening.
  const quiet = tracker.snapshot(false, afterMidnight);
  assert.deepEqual([quiet.today.requests, quiet.week.requests, quiet.month.requests, quiet.todayByModel], [0, 3, 3, []]);
  tracker.add(makeRecord({ startedAt: afterMidnight.getTime(), costNanos: 7_000_000, model: 'b' }), afterMidnight);
  tracker.add(makeRecord({ startedAt: afterMidnight.getTime() + 1_000, costNanos: 1_000_000, model: 'b' }), new Date(afterMidnight.getTime() + 1_000));
  const next = tracker.snapshot(false, new Date(afterMidnight.getTime() + 2_000));
  assert.deepEqual([next.today.requests, next.today.costUsd, next.week.costUsd, next.month.costUsd], [2, 0.008, 0.017, 0.017]);
  assert.deepEqual(
    next.todayByModel.map((g) => g.key),
    ['b'],
  );
  db.close();
});

test('the summary kept up to date record by record equals one computed from the database', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  const now = new Date();
  const day = 86_400_000;
  const history: RequestRecord[] = [];
  for (let i = 0; i < 40; i++) {
    history.push(
      makeRecord({
        startedAt: now.getTime() - (i % 5) * 9 * day - i * 1000,
        costNanos: 1000 * i,
        model: ['a', 'b', null][i % 3],
        session: i % 4 ? `s${i % 4}` : null,
        costStatus: i % 7 ? 'exact' : 'unpriced',
      }),
    );
  }
  db.insert(history.slice(0, 20));
  const live = new SummaryTracker(new SummaryQuery(db).base(now.getTime()));
  for (const r of history.slice(20)) {
    db.insert([r]);
    live.add(r, now);
  }
  const fresh = new SummaryTracker(new SummaryQuery(db).base(now.getTime()));
  const strip = (s: SpendSummary) => ({ ...s, at: 0, lastRecord: s.lastRecord && { ...s.lastRecord } });
  assert.deepEqual(strip(live.snapshot(false, now)), strip(fresh.snapshot(false, now)));
  db.close();
});
