/** The metered environment's capture hooks (planner) and the rewrite they apply. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCaptureRoutes, parseCaptureRoutes, captureTarget } from '../../src/capture';
import { meteredEnvRecord, nodeOptionValue, planMeteredEnv, type MeteredEnvOptions } from '../../src/engine/meter';
import { DEFAULT_ROUTES } from '../../src/engine/providers';

const base: MeteredEnvOptions = {
  routes: DEFAULT_ROUTES,
  port: 8390,
  tags: { session: 's1' },
  parentEnv: {},
  upstreams: {},
  intercept: true,
  captureDir: '/opt/burnrate/dist/capture',
  platform: 'linux',
};
const plan = (opts: Partial<MeteredEnvOptions> = {}) => meteredEnvRecord(planMeteredEnv({ ...base, ...opts }));

test("the hooks: the tagged proxy, the route table's public hosts, preload, sitecustomize and shim folders", () => {
  const env = plan({ parentEnv: { PATH: '/usr/bin:/bin' } });
  assert.equal(env.BURNRATE_PROXY, 'http://127.0.0.1:8390/~session=s1');
  const routes = parseCaptureRoutes(env.BURNRATE_CAPTURE);
  assert.deepEqual(
    routes.find((r) => r.provider === 'mistral'),
    { provider: 'mistral', upstream: 'https://api.mistral.ai' },
  );
  assert.deepEqual(
    routes.find((r) => r.provider === 'openrouter'),
    { provider: 'openrouter', upstream: 'https://openrouter.ai/api' },
  );
  assert.ok(!routes.some((r) => r.provider === 'ollama'), 'local Ollama is never captured');
  // Gemini CLI takes GOOGLE_GEMINI_BASE_URL as a sign-in choice: its clients are captured instead.
  assert.equal(env.GOOGLE_GEMINI_BASE_URL, undefined);
  assert.ok(routes.some((r) => r.provider === 'gemini'));
  assert.equal(env.NODE_OPTIONS, '--require /opt/burnrate/dist/capture/preload.js');
  assert.equal(env.PYTHONPATH, '/opt/burnrate/dist/capture/python');
  assert.equal(env.PATH, '/opt/burnrate/dist/capture/bin:/usr/bin:/bin');
});

test("the user's own NODE_OPTIONS, PYTHONPATH and PATH are kept; nothing is added twice", () => {
  const own = { NODE_OPTIONS: '--max-old-space-size=4096', PYTHONPATH: '/home/me/lib', PATH: '/usr/bin' };
  const env = plan({ parentEnv: own });
  assert.equal(env.NODE_OPTIONS, '--max-old-space-size=4096 --require /opt/burnrate/dist/capture/preload.js');
  assert.equal(env.PYTHONPATH, '/opt/burnrate/dist/capture/python:/home/me/lib');
  const nested = planMeteredEnv({ ...base, parentEnv: { ...own, ...env } });
  assert.deepEqual(
    nested.variables.map((v) => v.variable).filter((v) => ['NODE_OPTIONS', 'PYTHONPATH', 'PATH'].includes(v)),
    [],
    'already there',
  );
  const edits = Object.fromEntries(planMeteredEnv({ ...base, parentEnv: own }).variables.map((v) => [v.variable, v.edit]));
  assert.deepEqual(edits.NODE_OPTIONS, { kind: 'append', part: ' --require /opt/burnrate/dist/capture/preload.js' });
  assert.deepEqual(edits.PATH, { kind: 'prepend', part: '/opt/burnrate/dist/capture/bin:' });
});

test('intercept off: base-URL variables only, GOOGLE_GEMINI_BASE_URL included', () => {
  const env = plan({ intercept: false });
  assert.ok(env.OPENAI_BASE_URL);
  assert.equal(env.GOOGLE_GEMINI_BASE_URL, 'http://127.0.0.1:8390/~session=s1/gemini');
  for (const name of ['BURNRATE_PROXY', 'BURNRATE_CAPTURE', 'NODE_OPTIONS', 'PYTHONPATH', 'PATH']) assert.equal(env[name], undefined, name);
});

test('a provider whose base URL the user set is neither redirected nor captured', () => {
  const env = plan({ parentEnv: { MISTRAL_BASE_URL: 'https://eu.mistral.example/v1' } });
  assert.equal(env.MISTRAL_BASE_URL, undefined);
  assert.ok(!parseCaptureRoutes(env.BURNRATE_CAPTURE).some((r) => r.provider === 'mistral'));
});

test('Windows: Path and ; separators, a preload path with spaces quoted for NODE_OPTIONS', () => {
  const env = plan({ platform: 'win32', captureDir: 'C:\\Program Files\\burnrate\\capture', parentEnv: { Path: 'C:\\Windows' } });
  assert.equal(env.Path, 'C:\\Program Files\\burnrate\\capture\\bin;C:\\Windows');
  assert.equal(env.NODE_OPTIONS, '--require "C:\\\\Program Files\\\\burnrate\\\\capture\\\\preload.js"');
  assert.equal(nodeOptionValue('/plain/path.js'), '/plain/path.js');
});

test('captureTarget: only the listed upstreams, below their path prefix, to the provider route', () => {
  const map = {
    proxy: 'http://127.0.0.1:8390/~session=s1',
    routes: parseCaptureRoutes(
      formatCaptureRoutes([
        { provider: 'mistral', upstream: 'https://api.mistral.ai' },
        { provider: 'openrouter', upstream: 'https://openrouter.ai/api' },
      ]),
    ),
  };
  assert.equal(captureTarget(map, 'https://api.mistral.ai/v1/chat/completions?x=1'), 'http://127.0.0.1:8390/~session=s1/mistral/v1/chat/completions?x=1');
  assert.equal(captureTarget(map, 'https://api.mistral.ai:443/v1/models'), 'http://127.0.0.1:8390/~session=s1/mistral/v1/models');
  assert.equal(captureTarget(map, 'https://openrouter.ai/api/v1/chat/completions'), 'http://127.0.0.1:8390/~session=s1/openrouter/v1/chat/completions');
  for (const untouched of [
    'https://openrouter.ai/apix/v1',
    'https://openrouter.ai/docs',
    'http://api.mistral.ai/v1/models',
    'https://api.mistral.ai:8443/v1',
    'https://console.mistral.ai/',
    'https://example.com/',
    'not a url',
  ]) {
    assert.equal(captureTarget(map, untouched), undefined, untouched);
  }
});

test("with the user's HTTP proxy set, 127.0.0.1 is added to NO_PROXY and no_proxy, keeping theirs", () => {
  assert.equal(plan().NO_PROXY, undefined, 'no proxy, nothing to bypass');
  const env = plan({ parentEnv: { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: '.corp,localhost' } });
  assert.equal(env.NO_PROXY, '.corp,localhost,127.0.0.1');
  assert.equal(env.no_proxy, '.corp,localhost,127.0.0.1', 'Python reads no_proxy first');
  const lower = plan({ parentEnv: { http_proxy: 'http://proxy.corp:3128', no_proxy: '127.0.0.1' } });
  assert.deepEqual([lower.no_proxy, lower.NO_PROXY], [undefined, undefined], 'already bypassed');
  assert.deepEqual(
    [plan({ parentEnv: { ALL_PROXY: 'socks5://p:1080' } }).NO_PROXY, plan({ parentEnv: { ALL_PROXY: 'socks5://p:1080' } }).no_proxy],
    ['127.0.0.1', '127.0.0.1'],
  );
});
