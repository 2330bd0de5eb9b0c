/**
 * Faults beyond a single bad response: slow and stalled upstreams, an endless SSE line, clients
 * that read slowly, and a full disk. The proxy keeps serving, the client sees what the upstream
 * did, and the record is written (or, for the disk, written once there is room again).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { Engine } from '../../src/engine/engine';
import { FAKE_REPLY_TEXT } from '../support/fakeProvider';
import { startHarness, type Harness } from '../support/harness';

const messages = [{ role: 'user' as const, content: 'hi' }];

/** A one-off upstream for shapes the fake provider does not produce. */
async function upstream(handler: http.RequestListener): Promise<{ url: string; close: () => void }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

function engineFor(upstreamUrl: string, extra: Partial<Parameters<typeof Engine.start>[0]> = {}): Promise<Engine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-res-'));
  return Engine.start({ port: 0, dataDir: dir, upstreams: { openai: upstreamUrl }, saveIntervalMs: 0, ...extra });
}

const nextRecord = (engine: Engine) => new Promise<RequestRecord>((r) => engine.recorder.once('record', r));

const usageChunk =
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}';
const contentChunk = (text: string) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { content: text }, finish_reason: null }],
  });

describe('slow and stalled upstreams', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  beforeEach(() => h.fake.reset());
  const openai = () => new OpenAI({ apiKey: 'k', baseURL: `${h.url}/openai/v1`, maxRetries: 0 });

  test('slow first byte: the client waits as it would for the provider, the record is exact with its time to first byte', async () => {
    h.fake.failNext({ kind: 'slowFirstByte', ms: 600 });
    const recorded = h.nextRecords();
    const res = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages });
    assert.equal(res.choices[0].message.content, FAKE_REPLY_TEXT.openai);
    const [r] = await recorded;
    assert.equal(r.costStatus, 'exact');
    assert.ok(r.ttftMs !== null && r.ttftMs >= 590, `ttft ${r.ttftMs}`);
  });

  test('a stream that stalls mid-way reaches the client whole once it resumes, and is priced exactly', async () => {
    h.fake.failNext({ kind: 'stall', ms: 600 });
    const recorded = h.nextRecords();
    let text = '';
    for await (const c of await openai().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) text += c.choices[0]?.delta.content ?? '';
    assert.equal(text, FAKE_REPLY_TEXT.openai);
    const [r] = await recorded;
    assert.equal(r.costStatus, 'exact');
    assert.ok(r.latencyMs >= 590);
  });
});

describe('an endless SSE line', () => {
  test('is passed through to the client byte for byte without being held, and the usage after it is still read', async () => {
    const LINE_BYTES = 48 * 1024 * 1024;
    const piece = Buffer.alloc(1024 * 1024, 'x');
    const up = await upstream(async (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${contentChunk('Hi')}\n\n`);
      res.write('data: ');
      for (let sent = 0; sent < LINE_BYTES; sent += piece.length) {
        if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      }
      res.write('\n\n');
      res.end(`data: ${usageChunk}\n\ndata: [DONE]\n\n`);
    });
    const engine = await engineFor(up.url);
    const recorded = nextRecord(engine);
    const res = await fetch(`${engine.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages }),
    });
    let received = 0;
    let tail = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      tail = (tail + Buffer.from(chunk).toString('latin1')).slice(-400);
    }
    assert.ok(received > LINE_BYTES, `client got ${received} bytes`);
    assert.match(tail, /"usage":\{"prompt_tokens":10.*data: \[DONE\]\n\n$/s);
    const r = await recorded;
    assert.deepEqual([r.costStatus, r.inputTokens, r.outputTokens], ['exact', 10, 5]);
    await engine.close();
    up.close();
  });
});

describe('slow clients', () => {
  test('a client that stops reading a big stream holds up nobody else, and its record is written when it leaves', async () => {
    const big = Buffer.alloc(256 * 1024, 'y');
    let bigSent = 0;
    const up = await upstream(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      if (!body.includes('"big"')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            id: 'x',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o-mini',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
          }),
        );
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Up to 200 MB, only as fast as the proxy takes it: back-pressure must reach this far.
      while (bigSent < 200 * 1024 * 1024 && !res.destroyed) {
        const chunk = `data: ${contentChunk(big.toString())}\n\n`;
        bigSent += chunk.length;
        if (!res.write(chunk)) await new Promise((r) => (res.once('drain', r), res.once('close', r)));
      }
      res.end();
    });
    const engine = await engineFor(up.url);
    const { port } = new URL(engine.url);
    // The slow client: sends its request, reads nothing.
    const slowRecord = new Promise<RequestRecord>((resolve) => engine.recorder.on('record', (r: RequestRecord) => r.stream && resolve(r)));
    const slow = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/openai/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
    });
    let slowRes: http.IncomingMessage | undefined;
    slow.on('response', (res) => {
      slowRes = res;
      res.pause();
    });
    slow.on('error', () => undefined);
    slow.end(JSON.stringify({ model: 'big', stream: true, messages }));
    while (!slowRes) await new Promise((r) => setTimeout(r, 20));

    const client = new OpenAI({ apiKey: 'k', baseURL: `${engine.url}/openai/v1`, maxRetries: 0 });
    for (let i = 0; i < 20; i++) assert.equal((await client.chat.completions.create({ model: 'gpt-4o-mini', messages })).choices[0].message.content, 'ok');
    assert.ok(bigSent < 64 * 1024 * 1024, `upstream pushed ${bigSent} bytes into a client that reads nothing`);

    slow.destroy();
    const r = await slowRecord;
    assert.equal(r.costStatus, 'estimated');
    assert.match(r.error ?? '', /client closed/);
    await engine.close();
    up.close();
  });
});

describe('a full disk', () => {
  test('the proxy keeps serving; recording resumes and the log says what could not be written meanwhile', async () => {
    const fake = await startHarness();
    await fake.engine.close(); // only its fake provider is used here
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-full-'));
    const dbPath = path.join(dir, 'spend.sqlite');
    const logs: string[] = [];
    const engine = await Engine.start({
      port: 0,
      dbPath,
      dataDir: dir,
      upstreams: { openai: fake.fake.url },
      saveIntervalMs: 0,
      log: (level, m) => logs.push(`${level}: ${m}`),
    });
    const client = new OpenAI({ apiKey: 'k', baseURL: `${engine.url}/openai/v1`, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'gpt-4o-mini', messages });

    await ask();
    // The disk fills up: journal appends fail with ENOSPC, and the snapshot's temp file is /dev/full.
    // The fs module object itself (an ES namespace import is read-only); the recorder reads it live.
    const fsModule = require('node:fs') as { writeSync: typeof fs.writeSync };
    const realWriteSync = fsModule.writeSync;
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    fsModule.writeSync = () => {
      throw full;
    };
    // The snapshot is written by the database worker process, with its pid in the temp file's name.
    const tmpFile = `${dbPath}.tmp-${engine.store.workerPid}`;
    fs.symlinkSync('/dev/full', tmpFile);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await ask()).choices[0].message.content, FAKE_REPLY_TEXT.openai);
      await engine.recorder.save();
    } finally {
      fsModule.writeSync = realWriteSync;
      fs.unlinkSync(tmpFile);
    }
    assert.ok(
      logs.some((l) => /could not write the journal: ENOSPC/.test(l)),
      logs.join('\n'),
    );
    assert.ok(
      logs.some((l) => /could not save .*(ENOSPC|no space)/.test(l)),
      logs.join('\n'),
    );
    assert.equal(await engine.store.count(), 6, 'every request still recorded in memory');

    // Room again: the next record after the retry delay reopens the journal and a snapshot follows.
    await new Promise((r) => setTimeout(r, 1_100));
    await ask();
    await engine.recorder.save();
    assert.ok(
      logs.some((l) => /journal is writable again; 5 record\(s\)/.test(l)),
      logs.join('\n'),
    );
    assert.ok(
      logs.some((l) => /the 5 record\(s\) that could not be journalled are now saved/.test(l)),
      logs.join('\n'),
    );
    await engine.close();
    const db = await SpendDatabase.open(dbPath, { create: false });
    assert.equal(db.count(), 7);
    db.close();
    await fake.fake.close();
  });
});
