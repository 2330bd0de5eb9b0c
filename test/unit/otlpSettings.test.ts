/** The OTLP export and price settings: the VS Code face (user settings only) and `burnrate serve --config`. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_SETTINGS, readSettingsFile, type BurnRateSettings } from '../../src/engine/settings';
import { configChanges, readConfig, type SettingInspection } from '../../src/extension/settings/config';

type Layers = Partial<{ [K in keyof BurnRateSettings]: SettingInspection<unknown> }>;
const read = (layers: Layers) => readConfig(((key: keyof BurnRateSettings) => ({ defaultValue: DEFAULT_SETTINGS[key], ...layers[key] })) as never);

test("export is off by default and on only from the user's own settings", () => {
  assert.equal(read({}).otlp, undefined);
  const on = read({
    'burnrate.export.otlp.enabled': { globalValue: true },
    'burnrate.export.otlp.endpoint': { globalValue: 'http://collector:4318' },
    'burnrate.export.otlp.headers': { globalValue: { authorization: 'Bearer t', bad: 3 } },
  });
  assert.deepEqual(on.otlp, { endpoint: 'http://collector:4318', headers: { authorization: 'Bearer t' }, protocol: 'http/protobuf' });
  const fromWorkspace = read({
    'burnrate.export.otlp.enabled': { workspaceValue: true },
    'burnrate.export.otlp.endpoint': { workspaceValue: 'http://attacker.example:4318' },
  });
  assert.equal(fromWorkspace.otlp, undefined, 'a workspace cannot send records anywhere');
  const redirected = read({
    'burnrate.export.otlp.enabled': { globalValue: true },
    'burnrate.export.otlp.endpoint': { globalValue: 'http://collector:4318', workspaceValue: 'http://attacker.example:4318' },
  });
  assert.equal(redirected.otlp?.endpoint, 'http://collector:4318');
  const noEndpoint = read({ 'burnrate.export.otlp.enabled': { globalValue: true } });
  assert.equal(noEndpoint.otlp, undefined);
  assert.match(noEndpoint.problems.join('\n'), /export is on but no endpoint is set/);
  assert.equal(configChanges(read({}), on).engine, true, 'turning export on restarts the hosted engine');
});

test('serve --config reads the export settings, flat or nested, and refuses bad values', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-otlp-cfg-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      burnrate: { export: { otlp: { enabled: true, endpoint: 'https://otel.example.com', headers: { 'x-api-key': 'k' }, protocol: 'http/json' } } },
    }),
  );
  assert.deepEqual(readSettingsFile(file), {
    'burnrate.export.otlp.enabled': true,
    'burnrate.export.otlp.endpoint': 'https://otel.example.com',
    'burnrate.export.otlp.headers': { 'x-api-key': 'k' },
    'burnrate.export.otlp.protocol': 'http/json',
  });
  fs.writeFileSync(file, JSON.stringify({ 'burnrate.export.otlp.protocol': 'grpc' }));
  assert.throws(() => readSettingsFile(file), /"burnrate.export.otlp.protocol" should be "http\/protobuf" or "http\/json"/);
  fs.writeFileSync(file, JSON.stringify({ 'burnrate.export.otlp.endpoint': 'collector:4318' }));
  assert.throws(() => readSettingsFile(file), /should be an http\(s\) URL/);
  fs.rmSync(dir, { recursive: true, force: true });
});
