/**
 * A stop holds until the user lets the session go: stopped through the management API, `burnrate
 * serve` restarted, the session's next call (the official OpenAI SDK) is still refused and never
 * reaches the provider; `burnrate sessions` lists it with why, when and by whom, from the running
 * engine or, with none, from the data directory; `burnrate sessions allow` lifts it and the call is served.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { readSecret } from '../../src/engine/management';
import { MANAGEMENT_ROUTES } from '../../src/shared';
import { exited, runCli, startServe, type ServeProcess } from '../support/cliProcess';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';

let fake: FakeProvider;
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-stops-'));
const env = { ...process.env, BURNRATE_HOME: home };
let port = 0;

before(async () => {
  fake = await startFakeProvider();
});

after(async () => {
  await fake.close();
});

async function serve(): Promise<ServeProcess> {
  const s = await startServe(env, ['--port', String(port), '--upstream', `openai=${fake.url}/openai`]);
  port = Number(new URL(s.url).port);
  return s;
}

async function stop(s: ServeProcess): Promise<void> {
  const done = exited(s.child);
  s.child.kill('SIGTERM');
  await done;
}

function client(session: string): OpenAI {
  return new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/~session=${session}/openai/v1`, maxRetries: 0 });
}

const ask = (session: string) => client(session).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

test('a stopped session stays stopped across a restart of burnrate serve until `burnrate sessions allow` lets it go', async () => {
  let s = await serve();
  await ask('agent-7');
  const res = await fetch(`${s.url}${MANAGEMENT_ROUTES.sessionStop}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${readSecret(home)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ session: 'agent-7', reason: 'looping on the same prompt', by: 'the test' }),
  });
  assert.equal(res.status, 200);
  await stop(s);

  // Nothing running: the stop is read from the data directory.
  const offline = runCli(env, 'sessions', '--port', String(port), '--json');
  assert.equal(offline.status, 0, offline.stderr);
  const kept = JSON.parse(offline.stdout) as { sessions: Array<{ id: string; state: string; stoppedReason: string; stoppedBy: string }> };
  assert.deepEqual(
    kept.sessions.map((x) => [x.id, x.state, x.stoppedReason, x.stoppedBy]),
    [['agent-7', 'stopped', 'looping on the same prompt', 'the test']],
  );

  s = await serve();
  const before = fake.calls.length;
  await assert.rejects(ask('agent-7'), (e: { status?: number; message: string }) => e.status === 403 && /agent-7.*stopped/.test(e.message));
  assert.equal(fake.calls.length, before, 'the refused call never reached the provider');
  const listed = runCli(env, 'sessions', '--port', String(port));
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, /stopped {2}agent-7[\s\S]*looping on the same prompt; since .*, by the test/);

  const allowed = runCli(env, 'sessions', 'allow', 'agent-7', '--port', String(port));
  assert.equal(allowed.status, 0, allowed.stderr);
  const reply = await ask('agent-7');
  assert.equal(reply.choices[0].message.content, 'Hello from fake openai.');
  await stop(s);

  // Allowed is kept too: a restart does not stop it again.
  s = await serve();
  assert.equal((await ask('agent-7')).choices[0].message.content, 'Hello from fake openai.');
  await stop(s);
});

test('`burnrate sessions allow` of a session that is not stopped says so (exit 2)', () => {
  const r = runCli(env, 'sessions', 'allow', 'nobody', '--port', String(port || 1));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no stopped session "nobody"/);
});
