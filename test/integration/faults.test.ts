/**
 * Upstream faults, client aborts and the proxy's refusals, seen from the client's side, and the
 * record written for each.
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
import { FAKE_REPLY_TEXT } from '../support/fakeProvider';
import { nanos, startHarness, type Harness } from '../support/harness';

let h: Harness;
before(async () => {
  h = await startHarness({ maxBodyBytes: 1024 * 1024 });
});
after(async () => {
  await h.close();
});
beforeEach(() => h.fake.reset());

const messages = [{ role: 'user' as const, content: 'hi' }];
const openai = () => new OpenAI({ apiKey: 'sk-canary-0123456789', baseURL: `${h.url}/openai/v1`, maxRetries: 0 });

/** A raw HTTP request, for what SDKs and fetch will not send (foreign Host, absolute-form targets). */
function raw(opts: {
  path: string;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const { port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path, headers: { host: `127.0.0.1:${port}`, ...opts.headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('upstream faults reach the client as the upstream sent them, and are recorded', () => {
  test('gzip-encoded body: the SDK decodes it, the cost is still exact', async () => {
    h.fake.failNext({ kind: 'gzip' });
    const recorded = h.nextRecords();
    const res = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages });
    assert.equal(res.choices[0].message.content, FAKE_REPLY_TEXT.openai);
    const [r] = await recorded;
    assert.deepEqual([r.costStatus, r.costNanos], ['exact', nanos(1000 * 0.15 + 200 * 0.075 + 300 * 0.6)]);
  });

  test('gzip-encoded stream that the proxy must rewrite: client still gets exactly its chunks', async () => {
    h.fake.failNext({ kind: 'gzip' });
    const recorded = h.nextRecords();
    const chunks = [];
    for await (const c of await openai().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) chunks.push(c);
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), FAKE_REPLY_TEXT.openai);
    assert.ok(chunks.every((c) => !('usage' in c) && c.choices.length > 0));
    const [r] = await recorded;
    assert.equal(r.costStatus, 'exact');
  });

  test('500: the SDK sees the provider error; recorded with status and message', async () => {
    h.fake.failNext({ kind: 'status', status: 500 });
    const recorded = h.nextRecords();
    await assert.rejects(openai().chat.completions.create({ model: 'gpt-4o-mini', messages }), (e: unknown) => e instanceof OpenAI.InternalServerError);
    const [r] = await recorded;
    assert.deepEqual([r.status, r.costNanos, r.costStatus], [500, 0, 'exact']);
    assert.ok(r.error);
  });

  test('429 with retry-after is passed through untouched', async () => {
    h.fake.failNext({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const recorded = h.nextRecords();
    await assert.rejects(
      new Anthropic({ apiKey: 'k', baseURL: `${h.url}/anthropic`, maxRetries: 0 }).messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages }),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.RateLimitError);
        assert.equal(e.headers?.get('retry-after'), '7');
        return true;
      },
    );
    assert.equal((await recorded)[0].status, 429);
  });

  test('reset before headers: the client sees a dropped connection, a record is written', async () => {
    h.fake.failNext({ kind: 'resetBeforeHeaders' });
    const recorded = h.nextRecords();
    await assert.rejects(openai().chat.completions.create({ model: 'gpt-4o-mini', messages }), (e: unknown) => e instanceof OpenAI.APIConnectionError);
    const [r] = await recorded;
    assert.equal(r.status, 0);
    assert.match(r.error ?? '', /upstream/);
  });

  test('reset mid-stream: the client sees the stream break; partial usage is estimated', async () => {
    h.fake.failNext({ kind: 'resetMidStream', afterEvents: 3 });
    const recorded = h.nextRecords();
    await assert.rejects(async () => {
      for await (const _ of await openai().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) void _;
    });
    const [r] = await recorded;
    assert.equal(r.costStatus, 'estimated');
    assert.ok(r.outputTokens > 0, 'streamed output is counted');
  });

  test('stream ending before its usage chunk is recorded as estimated', async () => {
    h.fake.failNext({ kind: 'cutBeforeUsage' });
    const recorded = h.nextRecords();
    const stream = new Anthropic({ apiKey: 'k', baseURL: `${h.url}/anthropic`, maxRetries: 0 }).messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      messages,
    });
    await stream.done().catch(() => undefined);
    const [r] = await recorded;
    assert.equal(r.costStatus, 'estimated');
    assert.ok(r.inputTokens > 0);
  });

  test('upstream refusing connections: 502 in the provider shape, recorded', async () => {
    const closed = await startHarness();
    await closed.fake.close();
    const recorded = closed.nextRecords();
    await assert.rejects(
      new OpenAI({ apiKey: 'k', baseURL: `${closed.url}/openai/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError);
        assert.equal(e.status, 502);
        assert.match(e.message, /could not reach openai/);
        return true;
      },
    );
    assert.equal((await recorded)[0].status, 0);
    await closed.engine.close();
  });

  test('client abort mid-stream: the upstream request is aborted, partial usage estimated', async () => {
    h.fake.failNext({ kind: 'stall', ms: 5_000 });
    const recorded = h.nextRecords();
    const controller = new AbortController();
    const stream = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { signal: controller.signal });
    // The SDK ends (or throws out of) the loop when its signal aborts; either way the proxy sees the client leave.
    try {
      for await (const _ of stream) controller.abort();
    } catch {
      /* aborted */
    }
    const [r] = await recorded;
    assert.equal(r.costStatus, 'estimated');
    assert.match(r.error ?? '', /client closed/);
  });
});

describe('client abort', () => {
  test('the upstream request is aborted as soon as the client goes away', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    // An upstream that sends one chunk and then waits forever, like a long generation.
    const slow = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n',
      );
      res.on('close', () => upstreamClosed());
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-abort-'));
    const engine = await Engine.start({
      port: 0,
      dataDir: dir,
      upstreams: { openai: `http://127.0.0.1:${(slow.address() as AddressInfo).port}` },
      saveIntervalMs: 0,
    });
    const record = new Promise<RequestRecord>((r) => engine.recorder.once('record', r));
    const controller = new AbortController();
    const res = await fetch(`${engine.url}/openai/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await closed; // would hang (and the test time out) if the proxy kept the upstream call open
    const r = await record;
    assert.deepEqual([r.costStatus, r.outputTokens], ['estimated', 1]);
    await engine.close();
    slow.close();
  });
});

describe('refusals', () => {
  test('a foreign or duplicate Host is refused (DNS rebinding)', async () => {
    assert.equal((await raw({ path: '/openai/v1/chat/completions', headers: { host: 'evil.example:8390' } })).status, 421);
    const { port } = new URL(h.url);
    for (const hostLines of ['', `Host: 127.0.0.1:${port}\r\nHost: evil.example\r\n`]) {
      const reply = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(`GET /openai/v1/models HTTP/1.1\r\n${hostLines}Connection: close\r\n\r\n`));
        let text = '';
        socket.on('data', (d) => (text += d));
        socket.on('close', () => resolve(text));
      });
      assert.match(reply, /^HTTP\/1\.1 (400|421) /, JSON.stringify(hostLines));
    }
    assert.equal(h.fake.calls.length, 0);
  });

  test('a request with an Origin header is refused', async () => {
    const res = await raw({ path: '/openai/v1/chat/completions', headers: { origin: 'https://evil.example' }, body: '{}' });
    assert.equal(res.status, 403);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  test('absolute-form targets and dot segments cannot pick another upstream', async () => {
    assert.equal((await raw({ path: 'http://evil.example/v1/chat/completions' })).status, 400);
    assert.equal((await raw({ path: '/openai/../evil/v1' })).status, 400);
    assert.equal(h.fake.calls.length, 0);
  });

  test('unknown provider: 404 naming the known ones', async () => {
    const res = await raw({ path: '/evil.example/v1/chat/completions', body: '{}' });
    assert.equal(res.status, 404);
    assert.match(JSON.parse(res.body).error.message, /unknown provider "evil.example".*openai/);
  });

  test('a body over the cap gets 413 in the provider shape, without reaching upstream', async () => {
    await assert.rejects(
      new Anthropic({ apiKey: 'k', baseURL: `${h.url}/anthropic`, maxRetries: 0 }).messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }],
      }),
      (e: unknown) => e instanceof Anthropic.APIError && e.status === 413 && /limit/.test(e.message),
    );
    assert.equal(h.fake.calls.length, 0);
  });

  test('a body that is not JSON is forwarded as it came', async () => {
    const recorded = h.nextRecords();
    const res = await raw({ path: '/openai/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '{"model": "gpt-4o-mini", oops' });
    assert.ok(res.status >= 200);
    assert.equal(h.fake.calls.length, 1);
    assert.equal(h.fake.calls[0].body, '{"model": "gpt-4o-mini", oops');
    await recorded;
  });

  test('API keys never reach the database or its journal', async () => {
    await openai().chat.completions.create({ model: 'gpt-4o-mini', messages });
    await h.engine.recorder.save();
    for (const file of [h.dbPath, `${h.dbPath}.journal`]) {
      if (fs.existsSync(file)) assert.ok(!fs.readFileSync(file).includes('sk-canary-0123456789'), file);
    }
  });
});
