/** Terminal variables and setup snippets (src/engine/meter, src/extension/terminals/terminalEnv.ts): pure, no VS Code. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { takePathTags } from '../../src/engine/attribution';
import { newSessionId, planBaseUrls, proxyBaseUrl, setupSnippet, upstreamForBaseUrl } from '../../src/engine/meter';
import { meteredLaunch, strictTerminalEnv } from '../../src/extension/terminals/terminalEnv';

const plan = (processEnv: Record<string, string> = {}, upstreams: Record<string, string> = {}, tags = { workspace: 'my app' }) =>
  planBaseUrls({ routes: DEFAULT_ROUTES, port: 8390, tags, processEnv, upstreams });

test('every provider variable from the route table points at the proxy with the workspace tag', () => {
  const { set, kept } = plan();
  assert.deepEqual(kept, []);
  const byVar = Object.fromEntries(set.map((e) => [e.variable, e.value]));
  assert.equal(byVar.OPENAI_BASE_URL, 'http://127.0.0.1:8390/~workspace=my%20app/openai/v1');
  assert.equal(byVar.ANTHROPIC_BASE_URL, 'http://127.0.0.1:8390/~workspace=my%20app/anthropic');
  assert.equal(byVar.GOOGLE_GEMINI_BASE_URL, 'http://127.0.0.1:8390/~workspace=my%20app/gemini');
  for (const r of DEFAULT_ROUTES.filter((r) => r.env !== 'OLLAMA_HOST')) assert.ok(byVar[r.env], `${r.env} is set`);
  assert.equal(byVar.OLLAMA_HOST, undefined, 'OLLAMA_HOST would also move `ollama serve`');
});

test("the tags survive the proxy's own parsing, odd characters included", () => {
  const url = proxyBaseUrl(8390, { id: 'openai', env: 'OPENAI_BASE_URL', envSuffix: '/v1' }, { workspace: 'a,b=c/d ü', session: 'term-1' });
  const { tags, rest } = takePathTags(new URL(url).pathname);
  assert.deepEqual(tags, { workspace: 'a,b=c/d ü', session: 'term-1' });
  assert.equal(rest, '/openai/v1');
  assert.equal(proxyBaseUrl(9000, { id: 'anthropic', env: 'ANTHROPIC_BASE_URL', envSuffix: '' }), 'http://127.0.0.1:9000/anthropic');
});

test('a base URL the user already set is kept and reported, not silently overridden', () => {
  const { set, kept } = plan({ OPENAI_BASE_URL: 'https://gateway.corp.example/openai/v1/', ANTHROPIC_BASE_URL: 'https://x.example/custom' });
  assert.ok(!set.some((e) => e.variable === 'OPENAI_BASE_URL'));
  assert.deepEqual(
    kept.map((k) => [k.variable, k.upstream]),
    [
      ['OPENAI_BASE_URL', 'https://gateway.corp.example/openai'],
      ['ANTHROPIC_BASE_URL', 'https://x.example/custom'],
    ],
  );
  // Once routed through (burnrate.upstreams sends the provider to the user's URL), it is injected.
  const routed = plan({ OPENAI_BASE_URL: 'https://gateway.corp.example/openai/v1/' }, { openai: 'https://gateway.corp.example/openai/' });
  assert.deepEqual(routed.kept, []);
  assert.ok(routed.set.some((e) => e.variable === 'OPENAI_BASE_URL'));
  // A value already pointing at the proxy is not the user's own upstream.
  assert.deepEqual(plan({ OPENAI_BASE_URL: 'http://localhost:8390/openai/v1' }).kept, []);
});

test('upstreamForBaseUrl drops the route suffix, refuses what cannot be routed', () => {
  assert.equal(upstreamForBaseUrl('https://api.example.com/v1', '/v1'), 'https://api.example.com');
  assert.equal(upstreamForBaseUrl('https://api.example.com', ''), 'https://api.example.com');
  assert.equal(upstreamForBaseUrl('https://api.example.com/openai', '/v1'), undefined);
  assert.equal(upstreamForBaseUrl('https://u:p@api.example.com/v1', '/v1'), undefined);
  assert.equal(upstreamForBaseUrl('not a url', ''), undefined);
});

test('setup snippets for sh, fish, PowerShell and .env', () => {
  const entries = plan().set.slice(0, 2);
  assert.equal(setupSnippet('sh', entries).split('\n')[1], "export OPENAI_BASE_URL='http://127.0.0.1:8390/~workspace=my%20app/openai/v1'");
  assert.equal(setupSnippet('fish', entries).split('\n')[2], "set -gx ANTHROPIC_BASE_URL 'http://127.0.0.1:8390/~workspace=my%20app/anthropic'");
  assert.equal(setupSnippet('powershell', entries).split('\n')[1], "$env:OPENAI_BASE_URL = 'http://127.0.0.1:8390/~workspace=my%20app/openai/v1'");
  assert.equal(setupSnippet('dotenv', entries).split('\n')[1], 'OPENAI_BASE_URL=http://127.0.0.1:8390/~workspace=my%20app/openai/v1');
  assert.ok(setupSnippet('sh', entries).startsWith('# Burn Rate'));
});

test('a metered terminal: its own session tag, the host environment minus extension-host internals', () => {
  const id = newSessionId(new Date(2026, 0, 2, 9, 5), () => 0.5);
  assert.equal(id, 'term-0905-8000');
  const { set } = plan({}, {}, { workspace: 'w', session: id } as never);
  const env = strictTerminalEnv(
    { PATH: '/bin', HOME: '/h', ELECTRON_RUN_AS_NODE: '1', VSCODE_IPC_HOOK: 'x', VSCODE_GIT_ASKPASS_NODE: 'y', OPENAI_BASE_URL: 'old' },
    set,
  );
  assert.equal(env.PATH, '/bin');
  assert.equal(env.ELECTRON_RUN_AS_NODE, undefined);
  assert.equal(env.VSCODE_IPC_HOOK, undefined);
  assert.equal(env.VSCODE_GIT_ASKPASS_NODE, 'y');
  assert.equal(env.OPENAI_BASE_URL, `http://127.0.0.1:8390/~workspace=w,session=${id}/openai/v1`);
});

test('a metered terminal starts its shell through env on POSIX (collections cannot override it), strictEnv on Windows', () => {
  const { set } = plan({}, {}, { workspace: 'w', session: 's1' } as never);
  const posix = meteredLaunch({ platform: 'linux', shell: '/bin/bash', entries: set, extra: { BURNRATE_SESSION: 's1' }, baseEnv: {} });
  assert.equal(posix.kind, 'envWrapper');
  if (posix.kind !== 'envWrapper') return;
  assert.equal(posix.shellPath, '/usr/bin/env');
  assert.equal(posix.shellArgs.at(-1), '/bin/bash');
  assert.ok(posix.shellArgs.includes('OPENAI_BASE_URL=http://127.0.0.1:8390/~workspace=w,session=s1/openai/v1'));
  assert.ok(posix.shellArgs.includes('BURNRATE_SESSION=s1'));
  const mac = meteredLaunch({ platform: 'darwin', shell: '/bin/zsh', entries: set, extra: {}, baseEnv: {} });
  assert.deepEqual(mac.kind === 'envWrapper' && mac.shellArgs.slice(-2), ['/bin/zsh', '-l']);
  const win = meteredLaunch({
    platform: 'win32',
    shell: 'pwsh.exe',
    entries: set,
    extra: { BURNRATE_SESSION: 's1' },
    baseEnv: { Path: 'C:\\x', ELECTRON_RUN_AS_NODE: '1' },
  });
  assert.equal(win.kind, 'strictEnv');
  assert.deepEqual(win.kind === 'strictEnv' && [win.env.Path, win.env.ELECTRON_RUN_AS_NODE, win.env.BURNRATE_SESSION], ['C:\\x', undefined, 's1']);
});
