/**
 * The agent CLIs from npm, run as a user runs them non-interactively (`burnrate run -- claude -p hi`)
 * with a throwaway HOME and nothing but an API key: every call reaches the fake provider through the
 * proxy and is recorded under the run's session at its exact price. (Codex: capture.test.ts.)
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { burnrate, expectedNanos, AGENT_BIN_PATH, unmeteredEnv, useMeteredTestBed } from '../support/meteredRun';

const bed = useMeteredTestBed();

interface AgentCase {
  agent: string;
  command: string[];
  /** The API key variable, the only configuration given. */
  key: Record<string, string>;
  provider: string;
  /** The client its records name (from its own headers). */
  client: string;
  /** How the CLI reaches the proxy in the metered environment. */
  via: string;
}

const AGENTS: AgentCase[] = [
  {
    agent: 'Claude Code',
    command: ['claude', '-p', 'hi'],
    key: { ANTHROPIC_API_KEY: 'sk-ant-test' },
    provider: 'anthropic',
    client: 'claude-code',
    via: 'ANTHROPIC_BASE_URL',
  },
  // --skip-trust and -m are Gemini CLI's own needs in a fresh headless HOME (no trusted folder; its
  // default "auto" model first asks a classifier model for a JSON routing answer).
  {
    agent: 'Gemini CLI',
    command: ['gemini', '--skip-trust', '-m', 'gemini-2.5-flash', '-p', 'hi'],
    key: { GEMINI_API_KEY: 'test-key' },
    provider: 'gemini',
    client: 'gemini-cli',
    via: 'the Node preload',
  },
  // Qwen Code asks for its auth type before a non-interactive run.
  {
    agent: 'Qwen Code',
    command: ['qwen', '--auth-type', 'openai', '-m', 'gpt-4o-mini', '-p', 'hi'],
    key: { OPENAI_API_KEY: 'sk-test' },
    provider: 'openai',
    client: 'qwen-code',
    via: 'OPENAI_BASE_URL',
  },
  {
    agent: 'opencode',
    command: ['opencode', 'run', 'hi'],
    key: { ANTHROPIC_API_KEY: 'sk-ant-test' },
    provider: 'anthropic',
    client: 'opencode',
    via: 'ANTHROPIC_BASE_URL',
  },
];

describe('agent CLIs under burnrate run, with only an API key', () => {
  for (const c of AGENTS) {
    test(`${c.agent} (through ${c.via})`, async () => {
      const home = fs.mkdtempSync(path.join(bed.h.dir, 'home-'));
      const session = `agent-${c.command[0]}`;
      const env = unmeteredEnv({ ...c.key, HOME: home, PATH: `${AGENT_BIN_PATH}${path.delimiter}${process.env.PATH}` });
      const run = await burnrate(['run', '--port', String(bed.h.port), '--session', session, '--', ...c.command], { env, cwd: home });
      assert.equal(run.status, 0, `${c.agent} exited ${run.status}: ${run.stderr.slice(-2000)}`);
      assert.match(run.stdout, /Hello from fake/, "the agent printed the provider's answer");
      const answered = bed.h.fake.calls.filter((call) => call.path.startsWith(`/${c.provider}/`));
      assert.ok(answered.length > 0, 'its calls reached the fake through the proxy');
      const mine = await bed.records.ofSession(session, answered.length);
      const priced = mine.filter((r) => r.status === 200);
      assert.ok(priced.length > 0);
      for (const r of priced) {
        assert.deepEqual([r.provider, r.costStatus, r.client], [c.provider, 'exact', c.client], `${r.endpoint} ${r.model}`);
        assert.equal(r.costNanos, expectedNanos(r), `${r.model}`);
      }
      // Anything else it sent (Claude Code's HEAD / reachability check) cost nothing.
      for (const r of mine.filter((r) => r.status !== 200)) assert.equal(r.costNanos, 0, `${r.endpoint} ${r.status}`);
    });
  }
});

describe('agent conversations are their own sessions, with no session named', () => {
  for (const c of AGENTS.filter((a) => a.client === 'claude-code' || a.client === 'opencode')) {
    test(`${c.agent}: two runs side by side are two sessions, each the agent's own conversation id`, async () => {
      const from = bed.records.count();
      const runs = await Promise.all(
        [0, 1].map(async () => {
          const home = fs.mkdtempSync(path.join(bed.h.dir, 'home-'));
          const env = unmeteredEnv({ ...c.key, HOME: home, PATH: `${AGENT_BIN_PATH}${path.delimiter}${process.env.PATH}` });
          return burnrate(['run', '--port', String(bed.h.port), '--', ...c.command], { env, cwd: home });
        }),
      );
      for (const run of runs) assert.equal(run.status, 0, run.stderr.slice(-2000));
      await bed.h.engine.recorder.flush();
      const priced = bed.records.since(from).filter((r) => r.client === c.client && r.status === 200);
      const sessions = new Set(priced.map((r) => r.session));
      assert.equal(sessions.size, 2, `two conversations: ${[...sessions].join(', ')}`);
      // (Claude Code's HEAD / reachability check carries no conversation id.)
      const sent = new Set(bed.h.fake.calls.map((call) => call.headers[c.client === 'opencode' ? 'x-session-id' : 'x-claude-code-session-id']).filter(Boolean));
      assert.deepEqual([...sessions].sort(), [...sent].sort(), 'each session is the id the agent sent');
    });
  }
});
