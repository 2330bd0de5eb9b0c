/**
 * No phantom cost: a call the provider never answered (connection refused, unknown host, TLS
 * failure, reset before any response) is recorded at $0 exact, and budgets count none of it; a call
 * the provider received and the client gave up on is still estimated.
 */
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { Engine } from '../../src/engine/engine';
import type { RequestRecord } from '../../src/engine/database';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';
import { mountedUpstreams } from '../support/harness';

let engine: Engine;
let fake: FakeProvider;
let plainServer: http.Server;
let dir: string;
const records: RequestRecord[] = [];

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

before(async () => {
  fake = await startFakeProvider();
  // A plain HTTP server: speaking TLS to it fails the handshake.
  plainServer = http.createServer((_q, s) => s.end('not tls'));
  await new Promise<void>((r) => plainServer.listen(0, '127.0.0.1', r));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-unreachable-'));
  engine = await Engine.start({
    port: 0,
    dbPath: path.join(dir, 'spend.sqlite'),
    dataDir: dir,
    saveIntervalMs: 0,
    upstreams: {
      ...mountedUpstreams(fake.url),
      anthropic: `http://127.0.0.1:${await closedPort()}`,
      xai: 'https://api.burnrate-test.invalid',
      mistral: `https://127.0.0.1:${(plainServer.address() as AddressInfo).port}`,
    },
    // A small daily budget that blocks: phantom cost would use it up and refuse the real call.
    settings: { ...DEFAULT_SETTINGS, 'burnrate.budget.daily': 0.05, 'burnrate.budget.onExceed': 'block' },
  });
  engine.recorder.on('record', (r: RequestRecord) => records.push(r));
});
after(async () => {
  await engine.close();
  await fake.close();
  await new Promise<void>((r) => plainServer.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await engine.recorder.flush();
  records.length = 0;
  fake.reset();
});

// A long prompt (~50,000 tokens by size): estimated at Claude Haiku 4.5's input price, $0.05 a call.
const longPrompt = [{ role: 'user' as const, content: 'word '.repeat(40_000) }];
const openaiAt = (provider: string) => new OpenAI({ apiKey: 'sk-test', baseURL: `${engine.url}/${provider}/v1`, maxRetries: 0 });

async function recordsAfter(n: number): Promise<RequestRecord[]> {
  await engine.recorder.flush();
  while (records.length < n) await new Promise((r) => setTimeout(r, 10));
  return records.slice(0, n);
}

describe('a call the provider never answered costs $0', () => {
  test('connection refused, with the SDK retrying as Claude Code does: every attempt $0, the client gets a 502 saying why', async () => {
    const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: `${engine.url}/anthropic`, maxRetries: 2 });
    await assert.rejects(client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: longPrompt }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.APIError);
      assert.equal(e.status, 502);
      assert.match(e.message, /could not reach anthropic .*ECONNREFUSED/);
      return true;
    });
    const rs = await recordsAfter(3);
    for (const r of rs) {
      assert.deepEqual([r.status, r.costNanos, r.costStatus, r.inputTokens], [0, 0, 'exact', 0]);
      assert.match(r.error ?? '', /never answered/);
    }
  });

  test('unknown host and failed TLS handshake: $0', async () => {
    await assert.rejects(
      openaiAt('xai').chat.completions.create({ model: 'grok-3', messages: longPrompt }),
      (e: unknown) => (e as { status?: number }).status === 502,
    );
    await assert.rejects(
      openaiAt('mistral').chat.completions.create({ model: 'mistral-large-latest', messages: longPrompt }),
      (e: unknown) => (e as { status?: number }).status === 502,
    );
    const rs = await recordsAfter(2);
    assert.deepEqual(
      rs.map((r) => [r.provider, r.status, r.costNanos, r.costStatus]),
      [
        ['xai', 0, 0, 'exact'],
        ['mistral', 0, 0, 'exact'],
      ],
    );
    assert.match(rs[1].error ?? '', /upstream (EPROTO|ERR_SSL|ERR_TLS)/);
  });

  test('reset before any response: the client sees the drop, the record is $0', async () => {
    fake.failNext({ kind: 'resetBeforeHeaders' });
    await assert.rejects(
      openaiAt('openai').chat.completions.create({ model: 'gpt-4o', messages: longPrompt }),
      (e: unknown) => e instanceof OpenAI.APIConnectionError,
    );
    const [r] = await recordsAfter(1);
    assert.deepEqual([r.status, r.costNanos, r.costStatus], [0, 0, 'exact']);
  });

  test('the budget saw none of it: a real call still goes through, and is the day’s only spend', async () => {
    const res = await openaiAt('openai').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(res.choices.length > 0);
    const [r] = await recordsAfter(1);
    assert.equal(r.costStatus, 'exact');
    assert.ok(r.costNanos > 0);
    const today = engine.guards.budgets().find((b) => b.period === 'day' && b.workspace === null);
    assert.equal(today?.spentUsd, r.costNanos / 1e9);
  });
});

describe('a call the provider received is still estimated', () => {
  test('the client gives up while the provider works: estimated from sizes', async () => {
    fake.failNext({ kind: 'slowFirstByte', ms: 2_000 });
    const controller = new AbortController();
    const call = openaiAt('openai').chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(call);
    const [r] = await recordsAfter(1);
    assert.deepEqual([r.status, r.costStatus], [0, 'estimated']);
    assert.ok(r.costNanos > 0);
  });
});
