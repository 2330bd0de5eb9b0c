/**
 * The real Codex CLI (from npm, its native binary) through the proxy: its default transport is the
 * Responses API over a WebSocket (`GET /v1/responses` + Upgrade), so one `codex exec` is one upgrade,
 * a warm-up `response.create` (generate: false) and the turn. Through the proxy: no retry, no fallback
 * to HTTPS, no junk record, the turn recorded once at its exact price.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { nanos, useHarness } from '../support/harness';
import { AGENT_BIN_PATH, burnrate, unmeteredEnv } from '../support/meteredRun';

const h = useHarness();

/**
 * `burnrate run -- codex exec …` as a user runs it, with a throwaway home and only an API key: the
 * codex wrapper of the metered environment gives Codex the proxy as its openai_base_url.
 */
async function codexExec(prompt: string, model: string): Promise<{ code: number | null; output: string }> {
  assert.ok(fs.existsSync(path.join(AGENT_BIN_PATH, 'codex')), 'the Codex CLI is installed by the test setup (test/agents)');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-codex-'));
  fs.mkdirSync(path.join(home, '.codex'));
  const env = unmeteredEnv({
    PATH: `${AGENT_BIN_PATH}${path.delimiter}${process.env.PATH}`,
    HOME: home,
    CODEX_HOME: path.join(home, '.codex'),
    CODEX_API_KEY: 'sk-test-codex',
  });
  const run = await burnrate(['run', '--port', String(h.port), '--', 'codex', 'exec', '--skip-git-repo-check', '-m', model, prompt], { env, cwd: home });
  return { code: run.status, output: run.stdout + run.stderr };
}

test('codex exec under burnrate run: one WebSocket upgrade, no retry or HTTPS fallback, one record per turn at its exact price', async () => {
  const { code, output } = await codexExec('Say hello.', 'gpt-5');
  assert.equal(code, 0, output);
  assert.match(output, /Hello from fake openai\./);
  assert.doesNotMatch(output, /Reconnecting|Falling back/);
  await h.engine.recorder.flush();

  assert.deepEqual(
    h.fake.calls.map((c) => `${c.method} ${c.path}`),
    ['GET /openai/v1/responses'],
    'one upgrade, nothing else',
  );
  assert.equal(h.fake.calls[0].headers.authorization, 'Bearer sk-test-codex');
  const creates = h.fake.sockets.received.filter((m) => m.type === 'response.create').map((m) => JSON.parse(m.data.toString()));
  assert.deepEqual(
    creates.map((c) => c.generate),
    [false, undefined],
    'a warm-up, then the turn',
  );
  // gpt-5's published prices, $/MTok: input 1.25, cached input 0.125, output 10.
  assert.equal(h.records.length, 1, 'the warm-up generates nothing and is not a record');
  const [rec] = h.records;
  assert.deepEqual(
    [rec.endpoint, rec.model, rec.status, rec.inputTokens, rec.outputTokens, rec.costStatus, rec.costNanos],
    ['responses', 'gpt-5', 200, 1200, 300, 'exact', nanos((1200 - 200) * 1.25 + 200 * 0.125 + 300 * 10)],
  );
  // Attributed from the handshake: Codex's own thread id is the session, and the client is named.
  assert.deepEqual([rec.client, rec.session], ['codex', h.fake.calls[0].headers['session-id']]);
  assert.ok(rec.session);
});
