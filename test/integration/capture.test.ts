/**
 * Clients that read no base-URL variable, started the way a user starts them (`burnrate run --
 * node script.mjs`, `… -- python3 script.py`, `… -- codex exec …`) with nothing but an API key:
 * the capture hooks send each call to the proxy route, where it is recorded once at its exact price.
 * The machine has no route to the real providers, so an uncaptured call fails the test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { burnrate, expectedNanos, FIXTURES, AGENT_BIN_PATH, unmeteredEnv, useMeteredTestBed } from '../support/meteredRun';

const PYTHON = '/usr/bin/python3';

const bed = useMeteredTestBed();

interface CaptureCase {
  name: string;
  command: string[];
  /** The path the real provider serves, as the fake (mounted under the provider id) saw it. */
  upstreamPath: string;
  provider: string;
  model: string;
  /** The client the record names, from the headers the client sent (the capture keeps them). */
  client?: string | null;
}

const node = (client: string) => [process.execPath, path.join(FIXTURES, 'captureClients.mjs'), client];
const python = (client: string) => [PYTHON, path.join(FIXTURES, 'capture_clients.py'), client];

/** Clients that read a base-URL variable: the metered environment's value for each fits its SDK. */
const BASE_URL_CASES: CaptureCase[] = [
  { name: 'openai', command: node('openai'), upstreamPath: '/openai/v1/chat/completions', provider: 'openai', model: 'gpt-4o-mini', client: 'openai-node' },
  {
    name: '@anthropic-ai/sdk',
    command: node('anthropic'),
    upstreamPath: '/anthropic/v1/messages',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    client: 'anthropic-node',
  },
  {
    name: '@google/genai',
    command: node('google-genai'),
    upstreamPath: '/gemini/v1beta/models/gemini-2.5-flash:generateContent',
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    client: 'google-genai',
  },
  {
    name: 'groq-sdk',
    command: node('groq'),
    upstreamPath: '/groq/openai/v1/chat/completions',
    provider: 'groq',
    model: 'llama-3.3-70b-versatile',
    client: 'groq-node',
  },
  {
    name: 'AI SDK, OpenAI provider',
    command: node('ai-sdk-openai'),
    upstreamPath: '/openai/v1/responses',
    provider: 'openai',
    model: 'gpt-4o-mini',
    client: 'ai-sdk',
  },
  {
    name: 'AI SDK, Anthropic provider',
    command: node('ai-sdk-anthropic'),
    upstreamPath: '/anthropic/v1/messages',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    client: 'ai-sdk',
  },
  {
    name: 'LangChain ChatOpenAI',
    command: node('langchain-openai'),
    upstreamPath: '/openai/v1/chat/completions',
    provider: 'openai',
    model: 'gpt-4o-mini',
    client: 'langchain',
  },
  // LangChain's Anthropic client sends only the Anthropic SDK's own headers.
  {
    name: 'LangChain ChatAnthropic',
    command: node('langchain-anthropic'),
    upstreamPath: '/anthropic/v1/messages',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    client: 'anthropic-node',
  },
];

const NODE_CASES: CaptureCase[] = [
  {
    name: 'mistral-sdk',
    command: node('mistral-sdk'),
    upstreamPath: '/mistral/v1/chat/completions',
    provider: 'mistral',
    model: 'mistral-small-latest',
    client: 'mistral',
  },
  {
    name: 'ai-sdk-google',
    command: node('ai-sdk-google'),
    upstreamPath: '/gemini/v1beta/models/gemini-2.5-flash:generateContent',
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    client: 'ai-sdk',
  },
  {
    name: 'ai-sdk-google-stream',
    command: node('ai-sdk-google-stream'),
    upstreamPath: '/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent',
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    client: 'ai-sdk',
  },
  {
    name: 'ai-sdk-mistral',
    command: node('ai-sdk-mistral'),
    upstreamPath: '/mistral/v1/chat/completions',
    provider: 'mistral',
    model: 'mistral-small-latest',
    client: 'ai-sdk',
  },
  {
    name: 'ai-sdk-groq',
    command: node('ai-sdk-groq'),
    upstreamPath: '/groq/openai/v1/chat/completions',
    provider: 'groq',
    model: 'llama-3.3-70b-versatile',
    client: 'ai-sdk',
  },
  {
    name: 'ai-sdk-deepseek',
    command: node('ai-sdk-deepseek'),
    upstreamPath: '/deepseek/chat/completions',
    provider: 'deepseek',
    model: 'deepseek-chat',
    client: 'ai-sdk',
  },
  { name: 'ai-sdk-xai', command: node('ai-sdk-xai'), upstreamPath: '/xai/v1/responses', provider: 'xai', model: 'grok-3-mini', client: 'ai-sdk' },
  // LangChain's Google client calls through @google/generative-ai, which says only `node` and genai-js/….
  {
    name: 'langchain-google',
    command: node('langchain-google'),
    upstreamPath: '/gemini/v1beta/models/gemini-2.5-flash:generateContent',
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    client: 'google-generative-ai',
  },
  { name: 'node-https', command: node('node-https'), upstreamPath: '/openai/v1/chat/completions', provider: 'openai', model: 'gpt-4o-mini', client: null },
];

const PYTHON_CASES: CaptureCase[] = ['httpx', 'httpx-async', 'urllib'].map((client) => ({
  name: `python ${client}`,
  command: python(client),
  upstreamPath: '/openai/v1/chat/completions',
  provider: 'openai',
  model: 'gpt-4o-mini',
  client: client === 'urllib' ? 'python-urllib' : 'python-httpx',
}));

async function assertCaptured(c: CaptureCase, env = unmeteredEnv(), session = `cap-${c.name.replace(/\W+/g, '-')}`): Promise<void> {
  bed.h.fake.reset();
  const run = await burnrate(['run', '--port', String(bed.h.port), '--session', session, '--', ...c.command], { env });
  assert.equal(run.status, 0, `${c.name} exited ${run.status}: ${run.stderr}`);
  assert.match(run.stdout, /Hello from fake/, "the client parsed the provider's answer");
  assert.deepEqual(
    bed.h.fake.calls.map((call) => call.path),
    [c.upstreamPath],
    'one call, at the path the real provider serves',
  );
  const [r, ...more] = await bed.records.ofSession(session);
  assert.equal(more.length, 0, 'recorded once');
  assert.deepEqual([r.provider, r.model, r.status, r.costStatus], [c.provider, c.model, 200, 'exact']);
  if (c.client !== undefined) assert.equal(r.client, c.client);
  assert.equal(r.costNanos, expectedNanos(r));
}

describe('clients that read a base-URL variable, under burnrate run', () => {
  for (const c of BASE_URL_CASES) test(c.name, () => assertCaptured(c));
});

describe('Node clients that read no base-URL variable, under burnrate run (NODE_OPTIONS preload)', () => {
  for (const c of NODE_CASES) test(c.name, () => assertCaptured(c));
});

describe('Python clients under burnrate run (sitecustomize on PYTHONPATH)', () => {
  before(() => {
    const httpx = spawnSync(PYTHON, ['-c', 'import httpx'], { encoding: 'utf8' });
    assert.equal(httpx.status, 0, `Debian's python3-httpx is needed (npm test installs it as root: scripts/test-setup.mjs): ${httpx.stderr}`);
  });
  for (const c of PYTHON_CASES) test(c.name, () => assertCaptured(c));

  test("with the user's HTTP proxy in the environment, the loopback calls still go to Burn Rate", async () => {
    const deadProxy = { HTTP_PROXY: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '.corp.example' };
    for (const c of PYTHON_CASES) await assertCaptured(c, unmeteredEnv(deadProxy), `${c.name} behind a proxy`);
  });

  test("a sitecustomize of the user's own still runs, after the capture hook", async () => {
    const own = fs.mkdtempSync(path.join(bed.h.dir, 'own-site-'));
    fs.writeFileSync(path.join(own, 'sitecustomize.py'), 'import sys\nsys.stderr.write("own sitecustomize ran\\n")\n');
    const c = PYTHON_CASES[0];
    const session = 'cap-own-sitecustomize';
    const run = await burnrate(['run', '--port', String(bed.h.port), '--session', session, '--', ...c.command], { env: unmeteredEnv({ PYTHONPATH: own }) });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /own sitecustomize ran/);
    assert.equal((await bed.records.ofSession(session)).length, 1);
  });
});

describe('Codex CLI (reads its base URL from its config only): the codex wrapper on PATH', () => {
  test('adds -c openai_base_url=<the proxy route> and passes every argument on', async () => {
    const bin = fs.mkdtempSync(path.join(bed.h.dir, 'codex-stub-'));
    fs.writeFileSync(path.join(bin, 'codex'), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    const home = fs.mkdtempSync(path.join(bed.h.dir, 'home-'));
    const env = unmeteredEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: home });
    const args = ['exec', '--skip-git-repo-check', 'say "hi" twice'];
    const wrapped = await burnrate(['run', '--port', String(bed.h.port), '--session', 's1', '--', 'codex', ...args], { env, cwd: home });
    assert.equal(wrapped.status, 0, wrapped.stderr);
    assert.deepEqual(wrapped.stdout.trim().split('\n'), ['-c', `openai_base_url="http://127.0.0.1:${bed.h.port}/~session=s1/openai/v1"`, ...args]);

    // The user's own choice wins: on the command line, or in their config.toml (never edited).
    const own = await burnrate(['run', '--port', String(bed.h.port), '--', 'codex', '-c', 'openai_base_url="https://example.test/v1"', 'exec'], { env });
    assert.deepEqual(own.stdout.trim().split('\n'), ['-c', 'openai_base_url="https://example.test/v1"', 'exec']);
    fs.mkdirSync(path.join(home, '.codex'));
    const config = 'openai_base_url = "https://example.test/v1"\n';
    fs.writeFileSync(path.join(home, '.codex', 'config.toml'), config);
    const configured = await burnrate(['run', '--port', String(bed.h.port), '--', 'codex', 'exec'], { env });
    assert.deepEqual(configured.stdout.trim().split('\n'), ['exec']);
    assert.equal(fs.readFileSync(path.join(home, '.codex', 'config.toml'), 'utf8'), config);

    const off = await burnrate(['run', '--port', String(bed.h.port), '--no-intercept', '--', 'codex', 'exec'], {
      env: unmeteredEnv({ PATH: `${bin}:${process.env.PATH}` }),
    });
    assert.deepEqual(off.stdout.trim().split('\n'), ['exec']);
  });

  test('the real codex (npm @openai/codex) calls the proxy route, not api.openai.com', async () => {
    const home = fs.mkdtempSync(path.join(bed.h.dir, 'codex-home-'));
    const env = unmeteredEnv({ PATH: `${AGENT_BIN_PATH}:${process.env.PATH}`, HOME: home, OPENAI_API_KEY: 'sk-codex-test' });
    await burnrate(['run', '--port', String(bed.h.port), '--session', 'codex-1', '--', 'codex', 'exec', '--skip-git-repo-check', 'say hi'], { env, cwd: home });
    // Its Responses API calls reach the fake through the openai route (over WebSocket or HTTP).
    assert.ok(bed.h.fake.calls.length > 0, 'codex reached the proxy');
    for (const call of bed.h.fake.calls) assert.equal(call.path, '/openai/v1/responses');
    assert.ok((await bed.records.ofSession('codex-1')).length > 0, "recorded under the run's session");
  });
});

describe('interception off', () => {
  test('--no-intercept: a client that reads no base-URL variable goes where it goes, unrecorded', async () => {
    const run = await burnrate(['run', '--port', String(bed.h.port), '--session', 'off-1', '--no-intercept', '--', ...node('mistral-sdk')]);
    assert.notEqual(run.status, 0, 'api.mistral.ai is unreachable here');
    assert.equal(bed.h.fake.calls.length, 0);
  });

  test('--no-intercept inside a metered environment turns the inherited hooks off too', async () => {
    const outer = await burnrate(['env', '--port', String(bed.h.port), '--shell', 'bash']);
    const inherited = Object.fromEntries([...outer.stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
    assert.ok(inherited.NODE_OPTIONS, 'the outer environment has the preload');
    const run = await burnrate(['run', '--port', String(bed.h.port), '--no-intercept', '--', ...node('mistral-sdk')], { env: unmeteredEnv(inherited) });
    assert.notEqual(run.status, 0);
    assert.equal(bed.h.fake.calls.length, 0);
  });
});
