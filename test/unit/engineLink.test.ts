/**
 * One engine for several VS Code windows (src/extension/link/engineLink.ts), without VS Code: each
 * EngineLink stands for one window's extension host. Real engines on one port and one database.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { SpendDatabase, OwnerLock } from '../../src/engine/database';
import { Engine } from '../../src/engine/engine';
import { loadOrCreateSecret, readSecret } from '../../src/engine/management';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { setRecordingPaused } from '../../src/extension/link/engineClient';
import { EngineLink, type LinkState } from '../../src/extension/link/engineLink';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';

let fake: FakeProvider;
before(async () => {
  fake = await startFakeProvider();
});
after(async () => {
  await fake.close();
});

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function window(port: number, dir: string, extraSecrets: string[] = []): EngineLink {
  const upstreams = Object.fromEntries(DEFAULT_ROUTES.map((r) => [r.id, fake.url]));
  const dbPath = path.join(dir, 'burnrate.sqlite');
  return new EngineLink({
    port,
    lockFile: `${dbPath}.owner`,
    secrets: () => [readSecret(dir), ...extraSecrets].filter((s): s is string => !!s),
    host: async (p, { recordingPaused }) => {
      const engine = await Engine.start({ port: p, dbPath, dataDir: dir, upstreams, saveIntervalMs: 0, recordingPaused });
      return { instance: engine.management.health.instance, close: () => engine.close() };
    },
    timing: { blockedRetryMs: 200, failedRetryMs: 200 },
  });
}

async function until<T>(what: string, check: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const kind = (l: EngineLink): LinkState['kind'] => l.state.kind;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-link-'));
const client = (port: number) => new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/openai/v1`, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'hi' }];

test('two windows: one hosts, both show the same total; when the host closes the other takes over, nothing lost', async () => {
  const dir = tmp();
  const port = await freePort();
  const a = window(port, dir);
  a.start();
  await until('a hosts', () => kind(a) === 'owner');
  const b = window(port, dir);
  b.start();
  await until('b follows', () => kind(b) === 'follower');
  assert.equal(a.isOwner, true);
  assert.equal(b.isOwner, false);

  await client(port).chat.completions.create({ model: 'gpt-4o-mini', messages });
  await until('both windows see the request', () => a.summary?.today.requests === 1 && b.summary?.today.requests === 1);
  assert.equal(a.summary!.today.costUsd, b.summary!.today.costUsd);
  assert.ok(a.summary!.today.costUsd > 0);

  await a.dispose();
  assert.equal(kind(a), 'stopped');
  await until('b takes over', () => kind(b) === 'owner', 15_000);
  await until('b still shows the first request', () => b.summary?.today.requests === 1);
  await client(port).chat.completions.create({ model: 'gpt-4o-mini', messages });
  await until('b counts the second request', () => b.summary?.today.requests === 2);

  // A third window opened now follows b.
  const c = window(port, dir);
  c.start();
  await until('c follows', () => kind(c) === 'follower' && c.summary?.today.requests === 2);
  await c.dispose();
  await b.dispose();
  const db = await SpendDatabase.open(path.join(dir, 'burnrate.sqlite'), { create: false });
  assert.equal(db.count(), 2);
  db.close();
  assert.equal(fs.existsSync(path.join(dir, 'burnrate.sqlite.owner')), false, 'the lock is released');
});

test('handover under load: every request that got a response is recorded exactly once', async () => {
  const dir = tmp();
  const port = await freePort();
  const a = window(port, dir);
  a.start();
  await until('a hosts', () => kind(a) === 'owner');
  const b = window(port, dir);
  b.start();
  await until('b follows', () => kind(b) === 'follower');

  let ok = 0;
  let failed = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        await client(port).chat.completions.create({ model: 'gpt-4o-mini', messages });
        ok++;
      } catch {
        failed++; // refused during the handover: the client saw an error, nothing was billed
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  await until('some traffic', () => ok >= 20);
  await a.dispose();
  await until('b takes over', () => kind(b) === 'owner', 15_000);
  const okAtTakeover = ok;
  await until('traffic after the takeover', () => ok >= okAtTakeover + 20);
  stop = true;
  await Promise.all(workers);
  // Settle: the summary stops moving once every record is in.
  await until('b has seen the answered requests', () => (b.summary?.today.requests ?? 0) >= ok);
  for (let last = -1; last !== b.summary!.today.requests;) {
    last = b.summary!.today.requests;
    await new Promise((r) => setTimeout(r, 500));
  }
  const seen = b.summary!.today.requests;
  await b.dispose();
  const db = await SpendDatabase.open(path.join(dir, 'burnrate.sqlite'), { create: false });
  const count = db.count();
  const ids = new Set<unknown>();
  let rows = 0;
  for (const segment of db.segments()) {
    for (const [id] of segment.exec('SELECT id FROM requests')[0]?.values ?? []) ids.add(id);
    rows += Number(segment.exec('SELECT COUNT(*) FROM requests')[0].values[0][0]);
  }
  db.close();
  const detail = `${ok} answered, ${failed} refused or cut during the handover, ${count} recorded`;
  // Every answered request is recorded; a request cut mid-response may be recorded too (upstream billed it).
  assert.ok(count >= ok && count <= ok + failed, detail);
  assert.equal(count, seen, detail);
  assert.equal(rows, count, 'the segments hold what the index counts');
  assert.equal(ids.size, count, 'no record twice');
});

test('the hosting window crashes (SIGKILL): another takes over the lock and replays the journal, nothing lost', async () => {
  const dir = tmp();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'engineHostProcess.ts'), String(port), dir, fake.url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  try {
    await until('the other process hosts', () => out.includes('owner'), 20_000);
    const b = window(port, dir);
    b.start();
    await until('b follows', () => kind(b) === 'follower');
    for (let i = 0; i < 5; i++) await client(port).chat.completions.create({ model: 'gpt-4o-mini', messages });
    await until('b sees 5', () => b.summary?.today.requests === 5);
    // The host saves only every minute: the records are in its journal alone when it dies.
    child.kill('SIGKILL');
    await until('b takes over from the dead host', () => kind(b) === 'owner', 15_000);
    assert.equal(b.summary?.today.requests, 5);
    await client(port).chat.completions.create({ model: 'gpt-4o-mini', messages });
    await until('b counts on', () => b.summary?.today.requests === 6);
    await b.dispose();
    const db = await SpendDatabase.open(path.join(dir, 'burnrate.sqlite'), { create: false });
    assert.equal(db.count(), 6);
    db.close();
  } finally {
    child.kill('SIGKILL');
  }
});

test('a paused engine stays paused when another window takes it over', async () => {
  const dir = tmp();
  const port = await freePort();
  const a = window(port, dir);
  a.start();
  await until('a hosts', () => kind(a) === 'owner');
  const b = window(port, dir);
  b.start();
  await until('b follows', () => kind(b) === 'follower');
  await setRecordingPaused(port, b.secret!, true);
  await until('b sees the pause', () => b.summary?.recordingPaused === true);
  await a.dispose();
  await until('b takes over', () => kind(b) === 'owner', 15_000);
  await until('still paused', () => b.summary?.recordingPaused === true);
  await client(port).chat.completions.create({ model: 'gpt-4o-mini', messages });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(b.summary?.today.requests, 0);
  await b.dispose();
});

test('a port held by another program: blocked, never hosted; a Burn Rate engine with another secret: external', async () => {
  const port = await freePort();
  const other = http.createServer((_req, res) => res.writeHead(404, { server: 'not-burnrate' }).end('nope'));
  await new Promise<void>((r) => other.listen(port, '127.0.0.1', r));
  const l = window(port, tmp());
  l.start();
  await until('blocked', () => kind(l) === 'blocked');
  assert.match((l.state as { detail: string }).detail, /404/);
  await new Promise((r) => other.close(r));
  // Freed: the link notices on its next look and hosts.
  await until('hosts once free', () => kind(l) === 'owner');
  await l.dispose();

  const cliDir = tmp();
  const cli = await Engine.start({ port, dbPath: path.join(cliDir, 'cli.sqlite'), dataDir: cliDir, saveIntervalMs: 0 });
  const stranger = window(port, tmp());
  stranger.start();
  await until('external', () => kind(stranger) === 'external');
  await stranger.dispose();
  // Given the CLI's secret too (as the extension reads ~/.burnrate's), it follows.
  const friend = window(port, tmp(), [loadOrCreateSecret(cliDir)]);
  friend.start();
  await until('follows the CLI engine', () => kind(friend) === 'follower');
  await friend.dispose();
  await cli.close();
});

test('the database lock: exclusive, released by its holder only, taken over from a dead process', () => {
  const dir = tmp();
  const file = path.join(dir, 'db.owner');
  const first = OwnerLock.tryAcquire(file)!;
  assert.ok(first);
  assert.equal(OwnerLock.tryAcquire(file), undefined);
  assert.equal(OwnerLock.holder(file)?.pid, process.pid);
  first.release();
  const second = OwnerLock.tryAcquire(file)!;
  first.release(); // a stale handle must not remove the new holder's lock
  assert.equal(OwnerLock.tryAcquire(file), undefined);
  second.release();
  // A lock left by a process that no longer exists is taken over.
  fs.writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 12345, token: 'dead' }));
  const third = OwnerLock.tryAcquire(file);
  assert.ok(third);
  third.release();
});
