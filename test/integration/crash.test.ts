/**
 * kill -9 of `burnrate serve` under load: every request whose response completed at the client is
 * in the database after a restart.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-crash-'));
const db = path.join(dir, 'spend.sqlite');
const env = { ...process.env, BURNRATE_HOME: dir };

let fake: FakeProvider;
before(async () => {
  fake = await startFakeProvider();
});
after(async () => {
  await fake.close();
});

function serve(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', db, '--upstream', `openai=${fake.url}`], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

test('SIGKILL mid-load loses no record of a completed response', async () => {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const completed = new Set<string>();
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    const { child, url } = await serve();
    const client = new OpenAI({ apiKey: 'sk-crash', baseURL: `${url}/openai/v1`, maxRetries: 0 });
    let stop = false;
    let seq = 0;
    let running = 8;
    // 8 clients in closed loops, JSON and streams mixed, until the engine dies under them.
    const workers = Array.from({ length: 8 }, async (_, w) => {
      while (!stop) {
        const trace = `r${round}-w${w}-${seq++}`;
        const headers = { 'x-burnrate-trace': trace };
        try {
          if (seq % 2) {
            await client.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers });
          } else {
            for await (const _ of await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { headers })) void _;
          }
          completed.add(trace);
        } catch {
          break; // the engine is gone: this response did not complete
        }
      }
      running--;
    });
    // Let a number of requests complete (more each round, so snapshots and journal rotations
    // happen on the way), then kill without warning. Counted, not timed: a busy machine only slows it.
    const target = completed.size + 40 + round * 20;
    while (completed.size < target && running > 0) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await exited(child);
    stop = true;
    await Promise.all(workers);
  }
  assert.ok(completed.size > 100, `only ${completed.size} requests completed`);

  // Restart (replays the journal into the database), stop cleanly, and count from the file.
  const { child } = await serve();
  child.kill('SIGTERM');
  await exited(child);
  const exported = spawnSync(process.execPath, [CLI, 'export', '--db', db, '--format', 'jsonl'], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(exported.status, 0, exported.stderr);
  const traces = new Set(
    exported.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { trace: string }).trace),
  );
  const missing = [...completed].filter((t) => !traces.has(t));
  assert.deepEqual(missing, [], `${missing.length} of ${completed.size} completed requests missing`);
  assert.ok(!fs.existsSync(`${db}.journal.saving`), 'the replayed journal was folded into the database');
});
