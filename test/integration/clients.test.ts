/**
 * Agent-native sessions and the `client` dimension, through the proxy with the headers the agent
 * CLIs send on every model call (Claude Code 2.1: User-Agent claude-cli/…, X-Claude-Code-Session-Id;
 * Codex 0.171: codex_cli_rs/…, originator, session_id; opencode: X-Session-Id ses_…). An explicit
 * session tag still wins; the agent's session is what the guards count; `burnrate report --by
 * client` and the export carry the client.
 */
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { BurnRateSettings } from '../../src/engine/settings';
import { nanos, startHarness, type Harness } from '../support/harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});
beforeEach(async () => {
  await h.engine.recorder.flush();
  h.fake.reset();
  h.engine.guards.configure({ global: {} });
});

const messages = [{ role: 'user' as const, content: 'hi' }];
const CLAUDE_HAIKU_4_5 = 1000 * 1 + 200 * 0.1 + 300 * 5;

/** An Anthropic client sending what Claude Code sends with each model call of one conversation. */
function claudeCode(sessionId: string, extra: Record<string, string> = {}): Anthropic {
  return new Anthropic({
    apiKey: 'sk-ant-test',
    baseURL: `${h.url}/anthropic`,
    maxRetries: 0,
    defaultHeaders: { 'user-agent': 'claude-cli/2.1.332 (external, cli)', 'x-app': 'cli', 'X-Claude-Code-Session-Id': sessionId, ...extra },
  });
}

function codex(sessionId: string): OpenAI {
  return new OpenAI({
    apiKey: 'sk-test',
    baseURL: `${h.url}/openai/v1`,
    maxRetries: 0,
    defaultHeaders: { 'user-agent': 'codex_cli_rs/0.171.0 (Debian 12.0.0; x86_64) xterm-256color', originator: 'codex_cli_rs', session_id: sessionId },
  });
}

describe('agent-native sessions', () => {
  test('two Claude Code conversations side by side are two sessions, each priced exactly, client claude-code', async () => {
    const recorded = h.nextRecords(4);
    const a = claudeCode('5b1f0c2e-1111-4c4a-9d7e-0a0a0a0a0a01');
    const b = claudeCode('5b1f0c2e-2222-4c4a-9d7e-0a0a0a0a0a02');
    await Promise.all([a, b, a, b].map((c) => c.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages })));
    const records = await recorded;
    assert.deepEqual(records.map((r) => r.session).sort(), [
      '5b1f0c2e-1111-4c4a-9d7e-0a0a0a0a0a01',
      '5b1f0c2e-1111-4c4a-9d7e-0a0a0a0a0a01',
      '5b1f0c2e-2222-4c4a-9d7e-0a0a0a0a0a02',
      '5b1f0c2e-2222-4c4a-9d7e-0a0a0a0a0a02',
    ]);
    for (const r of records) assert.deepEqual([r.client, r.costStatus, r.costNanos], ['claude-code', 'exact', nanos(CLAUDE_HAIKU_4_5)]);
    // The agent's headers reach the provider untouched.
    assert.equal(h.fake.calls[0].headers['x-claude-code-session-id']?.toString().startsWith('5b1f0c2e-'), true);
  });

  test("Codex's session_id is the session; client codex", async () => {
    const recorded = h.nextRecords();
    await codex('0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b').chat.completions.create({ model: 'gpt-4o-mini', messages });
    const [r] = await recorded;
    assert.deepEqual([r.client, r.session], ['codex', '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b']);
  });

  test("an explicit session tag wins over the agent's own id", async () => {
    const recorded = h.nextRecords();
    await claudeCode('5b1f0c2e-3333-4c4a-9d7e-0a0a0a0a0a03', { 'x-burnrate-session': 'release-review' }).messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages,
    });
    const [r] = await recorded;
    assert.deepEqual([r.client, r.session], ['claude-code', 'release-review']);
  });

  test("a metered terminal's or run's own id (~run=) is the session only of calls that bring no conversation id", async () => {
    const recorded = h.nextRecords(2);
    const inTerminal = `${h.url}/~run=term-1200-ab12,workspace=app`;
    await new Anthropic({
      apiKey: 'sk-ant-test',
      baseURL: `${inTerminal}/anthropic`,
      maxRetries: 0,
      defaultHeaders: { 'user-agent': 'claude-cli/2.1.332 (external, cli)', 'X-Claude-Code-Session-Id': '5b1f0c2e-7777-4c4a-9d7e-0a0a0a0a0a07' },
    }).messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages });
    await new OpenAI({ apiKey: 'sk-test', baseURL: `${inTerminal}/openai/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages });
    const [agent, script] = await recorded;
    assert.deepEqual([agent.session, agent.workspace], ['5b1f0c2e-7777-4c4a-9d7e-0a0a0a0a0a07', 'app']);
    assert.deepEqual([script.session, script.workspace], ['term-1200-ab12', 'app']);
  });

  test('the guards count the agent conversation as the session: a session budget stops that conversation only', async () => {
    const settings: Partial<BurnRateSettings> = { 'burnrate.guard.sessionMaxTokens': 2_000, 'burnrate.guard.onTrip': 'block' };
    h.engine.guards.configure({ global: settings });
    const runaway = claudeCode('5b1f0c2e-4444-4c4a-9d7e-0a0a0a0a0a04');
    const other = claudeCode('5b1f0c2e-5555-4c4a-9d7e-0a0a0a0a0a05');
    await runaway.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages });
    await runaway.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages });
    const blocked = await runaway.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(blocked, 'the third call of the runaway conversation is refused');
    assert.match(blocked.message, /session \\?"5b1f0c2e-4444-4c4a-9d7e-0a0a0a0a0a04\\?" is stopped/);
    await other.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages });
    assert.equal(h.fake.calls.length, 3, 'the refused call never reached the provider; the other conversation did');
  });
});

describe('the client dimension in reports and exports', () => {
  test('`burnrate report --by client` and the export name the tool that spent the money', async () => {
    const recorded = h.nextRecords(3);
    await claudeCode('5b1f0c2e-6666-4c4a-9d7e-0a0a0a0a0a06').messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages });
    await new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/openai/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages });
    await fetch(`${h.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'user-agent': 'curl/8.5.0' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
    });
    const ids = (await recorded).map((r) => r.id);
    await h.engine.recorder.flush();
    await h.engine.recorder.store.save();

    const cli = path.resolve(__dirname, '../../dist/cli.js');
    const report = spawnSync(process.execPath, [cli, 'report', '--db', h.dbPath, '--since', 'today', '--by', 'client', '--json'], { encoding: 'utf8' });
    assert.equal(report.status, 0, report.stderr);
    const keys = (JSON.parse(report.stdout) as { groups: Array<{ key: string }> }).groups.map((g) => g.key);
    for (const k of ['claude-code', 'openai-node', 'curl']) assert.ok(keys.includes(k), `report has ${k}: ${keys.join(', ')}`);

    const exported = spawnSync(process.execPath, [cli, 'export', '--db', h.dbPath, '--format', 'jsonl'], { encoding: 'utf8' });
    assert.equal(exported.status, 0, exported.stderr);
    const rows = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; client: string | null });
    assert.deepEqual(
      ids.map((id) => rows.find((r) => r.id === id)?.client),
      ['claude-code', 'openai-node', 'curl'],
    );
  });
});
