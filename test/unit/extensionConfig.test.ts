/** The extension's settings snapshot (src/extension/settings/config.ts): pure, no VS Code. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SETTINGS, type BurnRateSettings } from '../../src/engine/settings';
import { configChanges, readConfig, type SettingInspection } from '../../src/extension/settings/config';
import { tighterCap } from '../../src/shared';

type Layers = Partial<{ [K in keyof BurnRateSettings]: SettingInspection<unknown> }>;
const read = (layers: Layers) => readConfig(((key: keyof BurnRateSettings) => ({ defaultValue: DEFAULT_SETTINGS[key], ...layers[key] })) as never);

test('defaults match the documented settings', () => {
  const c = read({});
  assert.equal(c.port, 8390);
  assert.deepEqual(c.upstreams, {});
  assert.deepEqual(c.budget, { daily: 0, monthly: 0, alertThresholds: [0.5, 0.8, 1], onExceed: 'warn' });
  assert.equal(c.terminal.injectEnv, true);
  assert.deepEqual(c.problems, []);
});

test('a workspace budget lowers the user cap, never raises or removes it', () => {
  assert.equal(read({ 'burnrate.budget.daily': { globalValue: 10, workspaceValue: 5 } }).budget.daily, 5);
  assert.equal(read({ 'burnrate.budget.daily': { globalValue: 10, workspaceValue: 50 } }).budget.daily, 10);
  assert.equal(read({ 'burnrate.budget.daily': { globalValue: 10, workspaceValue: 0 } }).budget.daily, 10, '0 (none) cannot lift a cap');
  assert.equal(read({ 'burnrate.budget.monthly': { workspaceValue: 100 } }).budget.monthly, 100, 'a workspace may set a cap where the user has none');
  assert.equal(read({ 'burnrate.budget.monthly': { globalValue: 300, workspaceValue: 200, workspaceFolderValue: 150 } }).budget.monthly, 150);
  const bad = read({ 'burnrate.budget.daily': { globalValue: 10, workspaceValue: -1 } });
  assert.equal(bad.budget.daily, 10);
  assert.equal(bad.problems.length, 1);
  assert.equal(read({ 'burnrate.guard.sessionMaxUsd': { globalValue: 2, workspaceValue: 1 } }).guard.sessionMaxUsd, 1);
  assert.deepEqual([tighterCap(0, 0), tighterCap(0, 3), tighterCap(3, 0), tighterCap(3, 2)], [0, 3, 3, 2]);
});

test('a workspace can make "warn" into "block", not the reverse', () => {
  assert.equal(read({ 'burnrate.budget.onExceed': { globalValue: 'warn', workspaceValue: 'block' } }).budget.onExceed, 'block');
  assert.equal(read({ 'burnrate.budget.onExceed': { globalValue: 'block', workspaceValue: 'warn' } }).budget.onExceed, 'block');
  assert.equal(read({ 'burnrate.guard.onTrip': { workspaceValue: 'block' } }).guard.onTrip, 'block');
});

test('traffic settings come from user settings only, whatever a workspace says', () => {
  const c = read({
    'burnrate.proxy.port': { globalValue: 9000, workspaceValue: 1234 },
    'burnrate.upstreams': { globalValue: { openai: 'http://127.0.0.1:9999 ' }, workspaceValue: { openai: 'https://evil.example' } },
    'burnrate.proxy.maxBodyMb': { workspaceValue: 1 },
    'burnrate.proxy.lingerMb': { workspaceValue: 0 },
  });
  assert.equal(c.port, 9000);
  assert.deepEqual(c.upstreams, { openai: 'http://127.0.0.1:9999' });
  assert.equal(c.maxBodyMb, 64);
  assert.deepEqual(c.linger, { mb: 128, seconds: 10 });
  const bad = read({ 'burnrate.proxy.port': { globalValue: 70000 }, 'burnrate.upstreams': { globalValue: { openai: 42 } } });
  assert.equal(bad.port, 8390);
  assert.deepEqual(bad.upstreams, {});
  assert.equal(bad.problems.length, 2);
});

test('terminal injection follows the most specific layer; thresholds are cleaned', () => {
  assert.equal(read({ 'burnrate.terminal.injectEnv': { globalValue: true, workspaceValue: false } }).terminal.injectEnv, false);
  assert.deepEqual(read({ 'burnrate.budget.alertThresholds': { globalValue: [1, 0.9, -2, 0.9] } }).budget.alertThresholds, [0.9, 1]);
  assert.deepEqual(read({ 'burnrate.budget.alertThresholds': { globalValue: [-1] } }).budget.alertThresholds, [0.5, 0.8, 1]);
});

test('configChanges says which parts must react', () => {
  const a = read({});
  assert.deepEqual(configChanges(a, read({ 'burnrate.proxy.port': { globalValue: 9001 } })), { port: true, engine: false, terminal: true, display: false });
  assert.deepEqual(configChanges(a, read({ 'burnrate.upstreams': { globalValue: { openai: 'http://x' } } })), {
    port: false,
    engine: true,
    terminal: true,
    display: false,
  });
  assert.deepEqual(configChanges(a, read({ 'burnrate.budget.daily': { globalValue: 3 } })), { port: false, engine: false, terminal: false, display: true });
  assert.deepEqual(configChanges(a, read({ 'burnrate.proxy.lingerSeconds': { globalValue: 30 } })), {
    port: false,
    engine: true,
    terminal: false,
    display: false,
  });
});
