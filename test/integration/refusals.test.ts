/**
 * Refusals answered while the client is still uploading (a body over the cap, a foreign Host, an
 * Origin, an unknown provider) reach the official SDKs as the refusal and its message, never as a
 * connection error; a client that keeps sending past the lingering bound is cut, and nobody else
 * waits for it. Against `burnrate serve` in its own process, as users run it: a proxy in the test's
 * own process answers on the client's event loop, which hides the race this is about.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { Agent } from 'undici';
import { exited, startServe, type ServeProcess } from '../support/cliProcess';
import { FAKE_REPLY_TEXT, startFakeProvider, type FakeProvider } from '../support/fakeProvider';
import { mountedUpstreams } from '../support/harness';

const MiB = 1024 * 1024;
const h = { url: '', port: 0, fake: undefined as unknown as FakeProvider };
let serve: ServeProcess;
before(async () => {
  h.fake = await startFakeProvider();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-refusals-'));
  const config = path.join(home, 'settings.json');
  // A small cap and bound keep the bodies, and the test, small; the default cap is in attacks.test.ts.
  // The guard stops a session at its first call (for the blocked session's refusal).
  const settings = {
    'burnrate.proxy.maxBodyMb': 1,
    'burnrate.proxy.lingerMb': 16,
    'burnrate.proxy.lingerSeconds': 1,
    'burnrate.guard.sessionMaxTokens': 1_000,
    'burnrate.guard.onTrip': 'block',
  };
  fs.writeFileSync(config, JSON.stringify(settings));
  const upstreams = mountedUpstreams(h.fake.url);
  const routes = ['openai', 'anthropic', 'gemini'].flatMap((id) => ['--upstream', `${id}=${upstreams[id]}`]);
  serve = await startServe({ ...process.env, BURNRATE_HOME: home }, ['--port', '0', '--config', config, ...routes]);
  h.url = serve.url;
  h.port = Number(new URL(serve.url).port);
});
after(async () => {
  const gone = exited(serve.child);
  serve.child.kill('SIGINT');
  await gone;
  await h.fake.close();
});
beforeEach(() => h.fake.reset());

/** Several times the cap: the refusal comes while most of it is still to be sent. */
const big = 'x'.repeat(8 * MiB);
type OpenAIOptions = NonNullable<ConstructorParameters<typeof OpenAI>[0]>;
const openai = (opts: { baseURL?: string; headers?: Record<string, string>; fetchOptions?: OpenAIOptions['fetchOptions'] } = {}) =>
  new OpenAI({
    apiKey: 'sk-test',
    baseURL: opts.baseURL ?? `${h.url}/openai/v1`,
    maxRetries: 0,
    defaultHeaders: opts.headers,
    fetchOptions: opts.fetchOptions,
  });
const chat = (client: OpenAI, content = big) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

/**
 * The SDK's error, which must be its API error with the status, not a connection error. Called
 * five times: closing under a client still uploading fails it only some of the time.
 */
async function refusal(call: () => Promise<unknown>): Promise<{ status?: number; message: string; name: string }> {
  let e: Error & { status?: number } = new Error('not called');
  for (let i = 0; i < 5; i++) {
    e = await call().then(
      () => assert.fail('the call was not refused'),
      (err: Error & { status?: number }) => err,
    );
    if (e.status === undefined) break;
  }
  return { status: e.status, message: e.message, name: e.constructor.name };
}

describe('a body over the cap: each SDK reads the 413 and its message', () => {
  test('openai', async () => {
    const e = await refusal(() => chat(openai()));
    assert.deepEqual([e.name, e.status], ['APIError', 413], e.message);
    assert.match(e.message, /exceeds the proxy's 1 MiB limit/);
  });

  test('@anthropic-ai/sdk', async () => {
    const anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: `${h.url}/anthropic`, maxRetries: 0 });
    const e = await refusal(() => anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 1, messages: [{ role: 'user', content: big }] }));
    assert.equal(e.status, 413, e.message);
    assert.match(e.message, /exceeds the proxy's 1 MiB limit/);
  });

  test('@google/genai', async () => {
    const gemini = new GoogleGenAI({ apiKey: 'g-test', httpOptions: { baseUrl: `${h.url}/gemini` } });
    const e = await refusal(() => gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: big }));
    assert.equal(e.status, 413, e.message);
    assert.match(e.message, /exceeds the proxy's 1 MiB limit/);
    assert.equal(h.fake.calls.length, 0);
  });
});

describe('a client that writes its whole body before it reads', () => {
  test("Python's httpx reads the 413 (the body is under the lingering bound)", () => {
    const script = [
      'import httpx, sys',
      "r = httpx.post(sys.argv[1], content=b'x' * (4 * 1024 * 1024), headers={'content-type': 'application/json'}, timeout=30)",
      'print(r.status_code, r.json()["error"]["message"])',
    ].join('\n');
    const run = spawnSync('/usr/bin/python3', ['-c', script, `${h.url}/openai/v1/chat/completions`], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^413 Burn Rate: request body exceeds the proxy's 1 MiB limit/);
  });
});

describe('refusals before the body, read by a real SDK', () => {
  test('a foreign Host (a name that resolves to the loopback: DNS rebinding): 421', async () => {
    const rebound = new Agent({
      connect: {
        lookup: (_host, opts, cb) =>
          (opts as { all?: boolean }).all
            ? cb(null, [{ address: '127.0.0.1', family: 4 }])
            : (cb as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4),
      },
    });
    const client = openai({ baseURL: `http://evil.example:${h.port}/openai/v1`, fetchOptions: { dispatcher: rebound } as OpenAIOptions['fetchOptions'] });
    const e = await refusal(() => chat(client));
    await rebound.close();
    assert.equal(e.status, 421, e.message);
    assert.match(e.message, /Host must be 127\.0\.0\.1/);
  });

  test('an Origin: 403', async () => {
    const e = await refusal(() => chat(openai({ headers: { origin: 'https://evil.example' } })));
    assert.deepEqual([e.name, e.status], ['PermissionDeniedError', 403], e.message);
    assert.match(e.message, /web pages/);
  });

  test('an unknown provider: 404', async () => {
    const e = await refusal(() => chat(openai({ baseURL: `${h.url}/nope/v1` })));
    assert.deepEqual([e.name, e.status], ['NotFoundError', 404], e.message);
    assert.match(e.message, /unknown provider "nope"/);
    assert.equal(h.fake.calls.length, 0);
  });

  test('a blocked session, on a large request: 403', async () => {
    const client = openai({ headers: { 'x-burnrate-session': 'big-blocked' } });
    await chat(client, 'hi');
    const e = await refusal(() => chat(client, 'x'.repeat(MiB - 4096)));
    assert.deepEqual([e.name, e.status], ['PermissionDeniedError', 403], e.message);
    assert.match(e.message, /session "big-blocked"/);
    assert.equal(h.fake.calls.length, 1);
  });
});

describe('the lingering close', () => {
  test('a client that goes on sending after reading the answer is read to its end, then closed cleanly', async () => {
    const rest = Buffer.alloc(4 * MiB, 'a');
    const result = await new Promise<{ answer: string; error?: string; ended: boolean; sent: boolean }>((resolve) => {
      let answer = '';
      let error: string | undefined;
      let ended = false;
      let sent = false;
      const socket = net.connect(h.port, '127.0.0.1', () =>
        socket.write(`POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nContent-Length: ${rest.length + 2}\r\n\r\n{"`),
      );
      socket.on('data', (d) => {
        answer += d;
        // The whole answer is in: only now, a moment later, the rest of the body (a connection
        // closed after the answer has ended by then, and the write fails).
        if (answer.endsWith('}')) setTimeout(() => socket.end(rest, () => (sent = true)), 100);
      });
      socket.on('end', () => (ended = true));
      socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
      socket.on('close', () => resolve({ answer, error, ended, sent }));
    });
    assert.match(result.answer, /^HTTP\/1\.1 413 [^]*connection: close[^]*exceeds the proxy's 1 MiB limit/i);
    assert.deepEqual([result.error, result.ended, result.sent], [undefined, true, true], 'closed cleanly, after the whole body');
  });

  /** Declares a 200 MiB body and sends it (or `stall` after a little) whatever the answer. */
  function stubborn(stall = false): Promise<{ answer: string; sent: number }> {
    const total = 200 * MiB;
    const chunk = Buffer.alloc(MiB, 'a');
    return new Promise((resolve) => {
      let answer = '';
      let sent = 0;
      const socket = net.connect(h.port, '127.0.0.1', () => {
        socket.write(`POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nContent-Length: ${total}\r\n\r\n`);
        const pump = () => {
          while (sent < total && !socket.destroyed) {
            sent += chunk.length;
            if (stall && sent > 2 * MiB) return;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      socket.on('data', (d) => (answer += d));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ answer, sent }));
    });
  }

  test('a client that keeps sending is cut, and another is served meanwhile', async () => {
    const cut = stubborn();
    const res = await chat(openai({ headers: { 'x-burnrate-session': 'served-meanwhile' } }), 'hi');
    assert.equal(res.choices[0].message.content, FAKE_REPLY_TEXT.openai);
    const { sent } = await cut;
    assert.ok(sent < 200 * MiB, `the proxy read all ${sent} bytes`);
  });

  test('a client that stops sending is cut once the time is up', async () => {
    const { answer } = await stubborn(true);
    assert.match(answer, /^HTTP\/1\.1 413 /);
  });
});
