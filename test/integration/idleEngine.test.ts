/**
 * An engine with no AI traffic keeps neither its database worker nor the price library in memory;
 * both come back at the first request, which is recorded and priced exactly as ever, and nothing
 * recorded before the worker slept is missing from reports, the CLI's or the management API's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { SpendDatabase } from '../../src/engine/database';
import { MANAGEMENT_ROUTES } from '../../src/shared';
import { readJournalRecords } from '../../src/engine/store';
import { nanos, startHarness, type Harness } from '../support/harness';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const libraryInMemory = () => Object.keys(require.cache).some((file) => file.includes(`${path.sep}@pydantic${path.sep}genai-prices${path.sep}`));
const messages = [{ role: 'user' as const, content: 'Say hi' }];

/** Polls until `check` holds; fails with `what` after a generous while (never a timing assertion). */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

let h: Harness;
before(async () => {
  h = await startHarness({ storeIdleStopMs: 30 });
});
after(async () => {
  await h.close();
});

test('idle: no database worker, no price library; the first request brings both back and is priced to the nano-dollar', async () => {
  await until('the idle worker stops', () => !h.engine.store.workerRunning);
  assert.equal(libraryInMemory(), false, 'no price has been needed yet');

  const openai = new OpenAI({ apiKey: 'sk-test-openai', baseURL: `${h.url}/openai/v1`, maxRetries: 0 });
  const recorded = h.nextRecords();
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
  const [first] = await recorded;
  // gpt-4o-mini: $0.15 / $0.075 cached / $0.60 per 1M tokens (the fake reports 1200 in, 200 cached, 300 out).
  assert.deepEqual([first.costStatus, first.costNanos], ['exact', nanos(1000 * 0.15 + 200 * 0.075 + 300 * 0.6)]);
  assert.equal(libraryInMemory(), true);
  // The record goes to the database with the next batch, which wakes the worker.
  await h.engine.recorder.flush();
  assert.equal(h.engine.store.workerRunning, true);

  // Asleep again: `burnrate report` reads the file (and journal) and sees the record.
  await until('the worker stops after the request', () => !h.engine.store.workerRunning);
  const report = spawnSync(process.execPath, [CLI, 'report', '--db', h.dbPath, '--json'], { encoding: 'utf8' });
  assert.equal(report.status, 0, report.stderr);
  assert.deepEqual([JSON.parse(report.stdout).total.requests, Math.round(JSON.parse(report.stdout).total.costUsd * 1e9)], [1, first.costNanos]);

  // The next request wakes the worker; the management API's export lists both records.
  const again = h.nextRecords();
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
  const [second] = await again;
  const res = await fetch(`${h.url}${MANAGEMENT_ROUTES.export}?format=jsonl`, { headers: { authorization: `Bearer ${h.secret}` } });
  assert.equal(res.status, 200);
  const lines = (await res.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string });
  assert.deepEqual(lines.map((l) => l.id).sort(), [first.id, second.id].sort());
  assert.ok(h.engine.store.workerStarts >= 2);
});

test(
  'Ctrl-C in a terminal (SIGINT to the whole process group) still ends burnrate serve with everything saved',
  { skip: process.platform === 'win32' },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-ctrlc-'));
    const db = path.join(dir, 'spend.sqlite');
    // Its own process group, as a shell gives a foreground job.
    const serve = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', db, '--upstream', `openai=${h.fake.url}`], {
      env: { ...process.env, BURNRATE_HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    serve.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => serve.once('exit', (code) => r(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]);
      });
      serve.once('exit', () => reject(new Error(`serve exited: ${stderr}`)));
    });
    const openai = new OpenAI({ apiKey: 'sk-test-openai', baseURL: `${url}/openai/v1`, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    process.kill(-serve.pid!, 'SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(readJournalRecords(db), [], 'nothing left only in the journal');
    const saved = await SpendDatabase.open(db, { create: false });
    assert.equal(saved.count(), 3);
    saved.close();
  },
);
