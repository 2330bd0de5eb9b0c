import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { Engine } from '../../src/engine/engine';
import { OtlpExporter, otlpBaseUrl, type OtlpExportOptions } from '../../src/engine/export/otlpExport';
import { Recorder, SpendStore, storeFeed } from '../../src/engine/store';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlpReceiver';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-otlp-'));
  dirs.push(dir);
  return dir;
}

let counter = 0;
function makeRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
  counter++;
  return {
    id: `rec-${process.pid}-${counter}`,
    startedAt: Date.UTC(2025, 5, 1, 12, 0, 0) + counter * 1000,
    provider: 'openai',
    model: 'gpt-4o',
    endpoint: 'chat.completions',
    stream: false,
    status: 200,
    inputTokens: 1200,
    cacheReadTokens: 1000,
    cacheWriteTokens: 0,
    outputTokens: 300,
    reasoningTokens: 100,
    costNanos: 4_250_000,
    costStatus: 'exact',
    latencyMs: 850,
    ttftMs: null,
    session: 'run42',
    feature: 'summarize',
    user: 'dana',
    trace: null,
    env: 'dev',
    workspace: 'shop',
    branch: 'feature/login-fix',
    keyFingerprint: 'fp-canary-0123456789',
    error: null,
    serviceTier: null,
    priceSource: 'genai-prices@0.1.8',
    client: null,
    ...overrides,
  };
}

/** A recorder on a database file, and an exporter reading it, as the engine wires them. */
async function startPipeline(receiver: OtlpReceiver, opts: Partial<OtlpExportOptions> = {}, dir = tempDir()) {
  const dbPath = path.join(dir, 'spend.sqlite');
  const store = await SpendStore.open(dbPath, { create: true });
  const recorder = await Recorder.open(store, { saveIntervalMs: 0 });
  const exporter = await OtlpExporter.start({
    endpoint: receiver.url,
    feed: storeFeed(store),
    cursorFile: `${dbPath}.otlp-cursor.json`,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    exportTimeoutMs: 500,
    ...opts,
  });
  recorder.on('record', () => exporter.wake());
  return {
    dir,
    recorder,
    exporter,
    async close() {
      await recorder.close();
      await exporter.close(500);
      await store.close();
    },
  };
}

function idsOf(spans: Array<{ attributes: Record<string, unknown> }>): string[] {
  return spans.map((s) => String(s.attributes['burnrate.record_id']));
}

describe('OTLP export', () => {
  test('each record arrives as a GenAI client span with tokens, cost and tags (protobuf)', async () => {
    const receiver = await startOtlpReceiver();
    const p = await startPipeline(receiver);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const chat = makeRecord();
    const claude = makeRecord({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      endpoint: 'messages',
      stream: true,
      ttftMs: 420,
      trace: traceId,
      cacheWriteTokens: 200,
      reasoningTokens: 0,
    });
    const failed = makeRecord({
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      endpoint: 'generateContent',
      status: 503,
      inputTokens: 0,
      cacheReadTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
      costNanos: 0,
      error: 'upstream 503',
      feature: null,
    });
    for (const r of [chat, claude, failed]) p.recorder.record(r);
    const spans = await receiver.waitForSpans(3);
    await p.close();
    await receiver.close();

    assert.ok(
      [...receiver.contentTypes].every((t) => t.startsWith('application/x-protobuf')),
      `content types ${[...receiver.contentTypes]}`,
    );
    const byId = new Map(spans.map((s) => [s.attributes['burnrate.record_id'], s]));
    const s = byId.get(chat.id)!;
    assert.equal(s.name, 'chat gpt-4o');
    assert.equal(s.kind, 3, 'SpanKind CLIENT');
    assert.equal(s.startMs, chat.startedAt);
    assert.equal(s.endMs, chat.startedAt + chat.latencyMs);
    assert.equal(s.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(s.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(s.attributes['gen_ai.system'], 'openai');
    assert.equal(s.attributes['gen_ai.request.model'], 'gpt-4o');
    assert.equal(s.attributes['gen_ai.usage.input_tokens'], 1200);
    assert.equal(s.attributes['gen_ai.usage.output_tokens'], 300);
    assert.equal(s.attributes['gen_ai.usage.cache_read.input_tokens'], 1000);
    assert.equal(s.attributes['gen_ai.usage.cache_creation.input_tokens'], 0);
    assert.equal(s.attributes['gen_ai.usage.reasoning.output_tokens'], 100);
    assert.equal(s.attributes['burnrate.cost_usd'], 0.00425);
    assert.equal(s.attributes['burnrate.cost_nanos'], 4_250_000);
    assert.equal(s.attributes['burnrate.cost_status'], 'exact');
    assert.equal(s.attributes['burnrate.price_source'], 'genai-prices@0.1.8');
    assert.equal(s.attributes['burnrate.feature'], 'summarize');
    assert.equal(s.attributes['burnrate.session'], 'run42');
    assert.equal(s.attributes['burnrate.user'], 'dana');
    assert.equal(s.attributes['burnrate.workspace'], 'shop');
    assert.equal(s.attributes['burnrate.branch'], 'feature/login-fix');
    assert.equal(s.attributes['burnrate.env'], 'dev');
    assert.equal(s.statusCode, 0, 'unset status for a success');
    assert.equal(s.resource['service.name'], 'burnrate');
    assert.ok(s.resource['host.name']);
    // No key material of any kind leaves the machine.
    for (const span of spans) assert.ok(!JSON.stringify(span).includes('fp-canary'), 'key fingerprint must not be exported');

    const c = byId.get(claude.id)!;
    assert.equal(c.name, 'chat claude-sonnet-4-5');
    assert.equal(c.attributes['gen_ai.provider.name'], 'anthropic');
    assert.equal(c.attributes['gen_ai.request.stream'], true);
    assert.equal(c.attributes['gen_ai.usage.cache_creation.input_tokens'], 200);
    assert.equal(c.attributes['gen_ai.response.time_to_first_chunk'], 0.42);
    assert.equal(c.traceId, traceId, "a W3C trace id in x-burnrate-trace joins the caller's trace");

    const g = byId.get(failed.id)!;
    assert.equal(g.name, 'generate_content gemini-2.5-flash');
    assert.equal(g.attributes['gen_ai.provider.name'], 'gcp.gemini');
    assert.equal(g.attributes['error.type'], '503');
    assert.equal(g.attributes['burnrate.error'], 'upstream 503');
    assert.equal(g.statusCode, 2, 'ERROR status');
    assert.equal(g.attributes['burnrate.feature'], undefined, 'absent tags are left out');
    assert.equal(new Set(spans.map((x) => x.spanId)).size, 3);
  });

  test('records are sent in batches, several per export request', async () => {
    const receiver = await startOtlpReceiver();
    const p = await startPipeline(receiver, { batchSize: 10, protocol: 'http/json' });
    const records = Array.from({ length: 25 }, () => makeRecord());
    for (const r of records) p.recorder.record(r);
    const spans = await receiver.waitForSpans(25);
    await p.close();
    await receiver.close();
    assert.deepEqual(idsOf(spans).sort(), records.map((r) => r.id).sort());
    assert.ok(receiver.traceRequests.length <= 5, `${receiver.traceRequests.length} requests for 25 records`);
    assert.ok(
      receiver.traceRequests.every((r) => r.length <= 10),
      'no request above the batch size',
    );
    assert.ok(
      receiver.traceRequests.some((r) => r.length > 1),
      'several records in one request',
    );
    assert.ok([...receiver.contentTypes].every((t) => t.startsWith('application/json')));
  });

  for (const outage of ['unavailable', 'drop'] as const) {
    test(`a collector outage (${outage === 'unavailable' ? '503' : 'connection dropped'}) loses nothing and sends nothing twice`, async () => {
      const receiver = await startOtlpReceiver();
      const p = await startPipeline(receiver, { batchSize: 4, protocol: 'http/json' });
      const before = Array.from({ length: 3 }, () => makeRecord());
      before.forEach((r) => p.recorder.record(r));
      await receiver.waitForSpans(3);

      receiver.mode = outage;
      const during = Array.from({ length: 9 }, () => makeRecord());
      during.slice(0, 5).forEach((r) => p.recorder.record(r));
      while (receiver.refused < 2) await new Promise((r) => setTimeout(r, 10));
      during.slice(5).forEach((r) => p.recorder.record(r));
      while (receiver.refused < 3) await new Promise((r) => setTimeout(r, 10));
      assert.equal(receiver.spans().length, 3, 'nothing accepted during the outage');

      receiver.mode = 'ok';
      const afterwards = makeRecord();
      p.recorder.record(afterwards);
      const spans = await receiver.waitForSpans(13);
      // Give a duplicate, if any were coming, the time to arrive.
      await new Promise((r) => setTimeout(r, 200));
      await p.close();
      await receiver.close();

      const ids = idsOf(receiver.spans());
      const expected = [...before, ...during, afterwards].map((r) => r.id);
      assert.equal(ids.length, 13, `received ${ids.length} spans: ${spans.length}`);
      assert.equal(new Set(ids).size, 13, 'no record sent twice');
      assert.deepEqual([...ids].sort(), [...expected].sort(), 'every record sent');
      assert.equal(p.exporter.sentCount, 13);
    });
  }

  test('an engine restarted during an outage resumes from its saved position', async () => {
    const receiver = await startOtlpReceiver();
    const dir = tempDir();
    const dbPath = path.join(dir, 'spend.sqlite');
    const otlp = { endpoint: receiver.url, protocol: 'http/json' as const, initialBackoffMs: 20, maxBackoffMs: 100, exportTimeoutMs: 300 };
    // The records are dated in the past: keep them all (no retention) so only the export is under test.

    let engine = await Engine.start({ port: 0, dbPath, dataDir: dir, saveIntervalMs: 0, retentionDays: 0, otlp });
    const sent = [makeRecord(), makeRecord()];
    sent.forEach((r) => engine.recorder.record(r));
    await receiver.waitForSpans(2);

    receiver.mode = 'unavailable';
    const held = Array.from({ length: 6 }, () => makeRecord());
    held.forEach((r) => engine.recorder.record(r));
    while (receiver.refused < 1) await new Promise((r) => setTimeout(r, 10));
    await engine.close();
    const cursor = JSON.parse(fs.readFileSync(`${dbPath}.otlp-cursor.json`, 'utf8')) as { id: string };
    assert.equal(cursor.id, sent[1].id, 'the saved position is the last acknowledged record');

    receiver.mode = 'ok';
    engine = await Engine.start({ port: 0, dbPath, dataDir: dir, saveIntervalMs: 0, retentionDays: 0, otlp });
    await receiver.waitForSpans(8);
    await new Promise((r) => setTimeout(r, 200));
    await engine.close();
    await receiver.close();
    const ids = idsOf(receiver.spans());
    assert.equal(ids.length, 8, 'held records sent once after the restart, earlier ones not again');
    assert.deepEqual([...ids].sort(), [...sent, ...held].map((r) => r.id).sort());
  });

  test('a first start exports from then on, not the history already recorded', async () => {
    const receiver = await startOtlpReceiver();
    const dir = tempDir();
    const dbPath = path.join(dir, 'spend.sqlite');
    const database = await SpendDatabase.open(dbPath, { create: true });
    const old = makeRecord();
    database.insert([old]);
    await database.save();
    database.close();
    const p = await startPipeline(receiver, { protocol: 'http/json' }, dir);
    const fresh = makeRecord();
    p.recorder.record(fresh);
    await receiver.waitForSpans(1);
    await new Promise((r) => setTimeout(r, 100));
    await p.close();
    await receiver.close();
    assert.deepEqual(idsOf(receiver.spans()), [fresh.id]);
  });

  test('GenAI token usage and cost metrics add up to the records', async () => {
    const receiver = await startOtlpReceiver();
    const p = await startPipeline(receiver, { protocol: 'http/json', metricIntervalMs: 100 });
    const records = [
      makeRecord({ costNanos: 1_500_000 }),
      makeRecord({ costNanos: 2_500_000, inputTokens: 10, outputTokens: 5 }),
      makeRecord({ feature: 'search', costNanos: 7 }),
    ];
    records.forEach((r) => p.recorder.record(r));
    await receiver.waitForSpans(3);
    const costOf = (points: Array<{ metric: string; sum: number }>) => points.filter((x) => x.metric === 'burnrate.cost').reduce((a, x) => a + x.sum, 0);
    const points = await receiver.waitForMetrics((pts) => Math.abs(costOf(pts) - 0.004000007) < 1e-12);
    await p.close();
    await receiver.close();

    const summarize = points.find((x) => x.metric === 'burnrate.cost' && x.attributes['burnrate.feature'] === 'summarize')!;
    assert.equal(summarize.unit, 'USD');
    assert.equal(summarize.attributes['gen_ai.request.model'], 'gpt-4o');
    assert.ok(Math.abs(summarize.sum - 0.004) < 1e-12);
    const input = points.filter((x) => x.metric === 'gen_ai.client.token.usage' && x.attributes['gen_ai.token.type'] === 'input');
    const output = points.filter((x) => x.metric === 'gen_ai.client.token.usage' && x.attributes['gen_ai.token.type'] === 'output');
    assert.equal(
      input.reduce((a, x) => a + x.sum, 0),
      1200 + 10 + 1200,
    );
    assert.equal(
      output.reduce((a, x) => a + x.sum, 0),
      300 + 5 + 300,
    );
    assert.equal(
      input.reduce((a, x) => a + (x.count ?? 0), 0),
      3,
    );
    assert.ok(
      points.every((x) => x.attributes['burnrate.session'] === undefined),
      'no per-session series in metrics',
    );
  });

  test('export headers are sent; bad endpoints are refused with a clear message', async () => {
    const receiver = await startOtlpReceiver();
    const p = await startPipeline(receiver, { headers: { authorization: 'Bearer team-token' }, protocol: 'http/json' });
    p.recorder.record(makeRecord());
    await receiver.waitForSpans(1);
    await p.close();
    await receiver.close();
    assert.equal(receiver.headers[0].authorization, 'Bearer team-token');

    assert.equal(otlpBaseUrl('http://collector:4318/'), 'http://collector:4318');
    assert.equal(otlpBaseUrl('https://otel.example.com/v1/traces'), 'https://otel.example.com');
    assert.throws(() => otlpBaseUrl('collector:4318'), /must be http or https|not a URL/);
    assert.throws(() => otlpBaseUrl('http://user:pw@collector:4318'), /credentials/);
  });
});
