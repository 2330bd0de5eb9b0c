/**
 * Attacks on the loopback proxy: requests that try to choose the upstream, a 150 MB body, API keys
 * that must never reach disk or logs, and the management API without its secret.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { Engine } from '../../src/engine/engine';
import { MANAGEMENT_ROUTES } from '../../src/shared';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';
import { filesUnder } from '../support/files';

let fake: FakeProvider;
let engine: Engine;
let dir: string;
let dbPath: string;
const logs: string[] = [];
/** A server standing for any other host: nothing may ever reach it. */
let evil: http.Server;
let evilHits = 0;
let evilAddr: string;

before(async () => {
  fake = await startFakeProvider();
  evil = http.createServer((req, res) => {
    evilHits++;
    res.end('{}');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  evilAddr = `127.0.0.1:${(evil.address() as AddressInfo).port}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-attack-'));
  dbPath = path.join(dir, 'spend.sqlite');
  const upstreams = Object.fromEntries(DEFAULT_ROUTES.map((r) => [r.id, fake.url]));
  engine = await Engine.start({ port: 0, dbPath, dataDir: dir, upstreams, saveIntervalMs: 0, log: (level, m) => logs.push(`${level}: ${m}`) });
});
after(async () => {
  await engine.close();
  await fake.close();
  evil.close();
});
beforeEach(() => fake.reset());

const port = () => Number(new URL(engine.url).port);

/** A request written byte for byte, for what HTTP clients refuse to send. */
function rawHttp(text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port(), '127.0.0.1', () => socket.end(text));
    let reply = '';
    socket.on('data', (d) => (reply += d));
    socket.on('close', () => resolve(reply));
    socket.on('error', () => resolve(reply));
  });
}

describe('no request chooses its upstream', () => {
  test('path, header and body tricks reach the configured upstream or nothing, never another host', async () => {
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      base_url: `http://${evilAddr}`,
      baseURL: `http://${evilAddr}`,
    });
    const tricks = [
      `/openai@${evilAddr}/v1/chat/completions`,
      `/openai/..%2f..%2f${evilAddr}/v1/chat/completions`,
      `/openai/%2e%2e/%2e%2e/${evilAddr}/v1/chat/completions`,
      `//${evilAddr}/v1/chat/completions`,
      `/openai%2f%2f${evilAddr}/v1/chat/completions`,
      `/${evilAddr}/v1/chat/completions`,
      `/openai/v1/chat/completions?base_url=http://${evilAddr}`,
      `/~feature=x,upstream=http:%2f%2f${evilAddr}/openai/v1/chat/completions`,
      `/openai\\\\${evilAddr}/v1/chat/completions`,
    ];
    for (const target of tricks) {
      await rawHttp(
        `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    for (const header of ['X-Forwarded-Host', 'Forwarded', 'X-Original-URL', 'X-Rewrite-URL', 'X-Burnrate-Upstream', 'X-Forwarded-Proto']) {
      const value = header === 'Forwarded' ? `host=${evilAddr}` : header === 'X-Forwarded-Proto' ? 'https' : `http://${evilAddr}/`;
      await rawHttp(
        `POST /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\n${header}: ${value}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    await rawHttp(`CONNECT ${evilAddr} HTTP/1.1\r\nHost: ${evilAddr}\r\n\r\n`);
    await rawHttp(`GET http://${evilAddr}/ HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nConnection: close\r\n\r\n`);
    assert.equal(evilHits, 0);
    // What did get through went to the configured upstream, without the forwarding headers.
    for (const call of fake.calls) {
      for (const h of ['x-forwarded-host', 'forwarded', 'x-burnrate-upstream']) assert.equal(call.headers[h], undefined, h);
    }
  });

  test('a foreign Host, even one naming the proxy port on another name, is refused before anything is forwarded', async () => {
    for (const host of [`evil.example:${port()}`, `127.0.0.1.evil.example:${port()}`, `127.0.0.1:${port() + 1}`, '127.0.0.1', `[::1]:${port()}`]) {
      const reply = await rawHttp(`GET /openai/v1/models HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 421 /, host);
    }
    assert.equal(fake.calls.length, 0);
  });

  test('cross-site requests (any Origin, preflights included) get no CORS grant', async () => {
    for (const method of ['POST', 'OPTIONS']) {
      const reply = await rawHttp(
        `${method} /openai/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nOrigin: http://127.0.0.1:${port()}.evil.example\r\nAccess-Control-Request-Method: POST\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      );
      assert.match(reply, /^HTTP\/1\.1 403 /);
      assert.doesNotMatch(reply, /access-control-allow/i);
    }
    assert.equal(fake.calls.length, 0);
  });
});

describe('a 150 MB body', () => {
  for (const framing of ['content-length', 'chunked'] as const) {
    test(`is refused with 413 without being buffered (${framing})`, async () => {
      const total = 150 * 1024 * 1024;
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      let sent = 0;
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: port(),
          method: 'POST',
          path: '/openai/v1/chat/completions',
          headers: { 'content-type': 'application/json', ...(framing === 'content-length' ? { 'content-length': total } : {}) },
        });
        let answered = false;
        req.on('response', (res) => {
          answered = true;
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', (e) => {
          if (!answered) reject(e);
        });
        const pump = () => {
          while (!answered && sent < total) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (sent >= total) req.end();
        };
        pump();
      });
      // Without a length the proxy reads up to its cap before it answers; either way it reads on
      // (and discards) while the client is told, so the client reads the answer, not a broken pipe.
      assert.equal(status, 413);
      assert.match(JSON.parse(body).error.message, /exceeds the proxy's 64 MiB limit/);
      // Answered long before the client could send it all: the proxy stopped reading.
      assert.ok(sent < total, `the client sent all ${sent} bytes before the answer`);
      assert.equal(fake.calls.length, 0);
    });
  }
});

describe('over the default cap, from an SDK', () => {
  test("the openai SDK's 80 MB body: the SDK reads the 413 and its message, not a connection error", async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${engine.url}/openai/v1`, maxRetries: 0 });
    const content = 'x'.repeat(80 * 1000 * 1000);
    await assert.rejects(
      openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 413 && /exceeds the proxy's 64 MiB limit/.test(e.message),
    );
    assert.equal(fake.calls.length, 0);
  });
});

describe('API keys never reach the disk or the logs', () => {
  test('keys in Authorization, x-api-key, x-goog-api-key, api-key and Gemini ?key=, on success and on failure', async () => {
    const canary = (n: string) => `canary-${n}-7f3a9c`;
    await new OpenAI({ apiKey: canary('openai'), baseURL: `${engine.url}/openai/v1`, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    await new Anthropic({ apiKey: canary('anthropic'), baseURL: `${engine.url}/anthropic`, maxRetries: 0 }).messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    });
    await new GoogleGenAI({ apiKey: canary('gemini'), httpOptions: { baseUrl: `${engine.url}/gemini` } }).models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'hi',
    });
    const gemini = (q: string, headers: Record<string, string> = {}) =>
      fetch(`${engine.url}/gemini/v1beta/models/gemini-2.5-flash:generateContent?${q}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
      }).then((r) => r.text());
    await gemini(`key=${canary('query')}`);
    await gemini('alt=sse', { 'api-key': canary('azure') });
    // Failures log more: an upstream error, a reset, a body the proxy cannot read.
    fake.failNext({ kind: 'status', status: 401 }, { kind: 'resetBeforeHeaders' });
    await gemini(`key=${canary('query-401')}`);
    await gemini(`key=${canary('query-reset')}`).catch(() => undefined);
    await fetch(`${engine.url}/openai/v1/chat/completions?key=${canary('odd')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${canary('odd-bearer')}`, 'content-type': 'application/json' },
      body: '{"model": oops',
    });
    await engine.recorder.flush();
    const journalled = fs.readFileSync(`${dbPath}.journal`, 'utf8');
    assert.ok(journalled.split('\n').length > 8, 'the journal holds the records');
    await engine.recorder.save();
    const files = filesUnder(dir);
    // The records themselves are in the segments folder: the walk reaches them.
    assert.ok(
      files.some((f) => path.dirname(f) === `${dbPath}.segments` && f.endsWith('.sqlite')),
      `a segment among ${files.map((f) => path.relative(dir, f)).join(', ')}`,
    );
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      assert.ok(!bytes.includes('canary-'), `a key reached ${path.relative(dir, file)}`);
    }
    assert.ok(!journalled.includes('canary-'), 'a key reached the journal');
    assert.ok(!logs.join('\n').includes('canary-'), 'a key reached the log');
    // The keys did reach the provider, untouched.
    assert.ok(fake.calls.some((c) => c.query.key === canary('query')));
  });
});

describe('API keys never reach the files or the log of burnrate serve', () => {
  test('the served data dir and the stderr log, with a record logged per request', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-attack-cli-'));
    const child = spawn(
      process.execPath,
      [path.resolve(__dirname, '../../dist/cli.js'), 'serve', '--port', '0', '--upstream', `openai=${fake.url}`, '--upstream', `gemini=${fake.url}`],
      {
        env: { ...process.env, BURNRATE_HOME: home },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const url = await new Promise<string>((resolve) =>
      child.stdout!.on('data', (d) => {
        stdout += d;
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m) resolve(m[1]);
      }),
    );
    await new OpenAI({ apiKey: 'canary-cli-bearer', baseURL: `${url}/openai/v1`, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    fake.failNext({ kind: 'status', status: 403 });
    await fetch(`${url}/gemini/v1beta/models/gemini-2.5-flash:generateContent?key=canary-cli-query`, { method: 'POST', body: '{"contents":[]}' }).then((r) =>
      r.text(),
    );
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
    assert.match(stderr, /openai gpt-4o-mini .* 200 /);
    assert.match(stderr, /gemini .* 403 /);
    assert.ok(!(stdout + stderr).includes('canary-'), 'a key reached the log');
    const files = filesUnder(home);
    assert.ok(
      files.some((f) => path.basename(path.dirname(f)).endsWith('.segments') && f.endsWith('.sqlite')),
      `a segment among ${files.map((f) => path.relative(home, f)).join(', ')}`,
    );
    for (const file of files) assert.ok(!fs.readFileSync(file).includes('canary-'), `a key reached ${path.relative(home, file)}`);
  });
});

describe('the management API', () => {
  test('refuses every route but health without the secret, or with a wrong one', async () => {
    const routes = Object.entries(MANAGEMENT_ROUTES).filter(([name]) => name !== 'health');
    for (const [, route] of routes) {
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer wrong' },
        { authorization: 'Basic c2VjcmV0' },
        { authorization: 'Bearer ' },
      ]) {
        for (const method of ['GET', 'POST']) {
          const res = await fetch(`${engine.url}${route}`, { method, headers, body: method === 'POST' ? '{"paused":true}' : undefined });
          assert.equal(res.status, 401, `${method} ${route} ${JSON.stringify(headers)}`);
          await res.text();
        }
      }
    }
    assert.equal(engine.management.recordingPaused, false);
    const health = await fetch(`${engine.url}${MANAGEMENT_ROUTES.health}`);
    assert.equal(health.status, 200);
    assert.doesNotMatch(await health.text(), /secret|token/i);
  });
});
