/** package.json's contributions agree with the code: settings, scopes, commands, packaging fields. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { Commands, Settings, TRAFFIC_SETTINGS } from '../../src/extension/constants';

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const props: Record<string, { scope?: string; default?: unknown; markdownDescription?: string; description?: string }> =
  pkg.contributes.configuration.properties;

test('every setting in PRODUCT.md is contributed, with its default, a scope and a description', () => {
  assert.deepEqual(Object.keys(props).sort(), Object.keys(DEFAULT_SETTINGS).sort());
  assert.deepEqual(Object.values(Settings).sort(), Object.keys(DEFAULT_SETTINGS).sort());
  for (const [key, p] of Object.entries(props)) {
    assert.deepEqual(p.default, DEFAULT_SETTINGS[key as keyof typeof DEFAULT_SETTINGS], `${key} default`);
    assert.ok(p.scope, `${key} has a scope`);
    assert.ok((p.markdownDescription ?? p.description ?? '').length > 20, `${key} has a description`);
  }
});

test('traffic-redirecting settings are machine-scoped and restricted in untrusted workspaces', () => {
  for (const key of TRAFFIC_SETTINGS) assert.equal(props[key].scope, 'machine', key);
  assert.deepEqual([...pkg.capabilities.untrustedWorkspaces.restrictedConfigurations].sort(), [...TRAFFIC_SETTINGS].sort());
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
});

test('the contributed commands are exactly the registered ones, each with a title in the Burn Rate category', () => {
  const contributed = pkg.contributes.commands as Array<{ command: string; title: string; category: string }>;
  assert.deepEqual(contributed.map((c) => c.command).sort(), Object.values(Commands).sort());
  for (const c of contributed) assert.equal(c.category, 'Burn Rate');
  assert.ok(contributed.some((c) => c.title === 'New Metered Terminal'));
});

test('packaging: bundled entry, workspace extension kind, cheap activation, icon, engines for forks', () => {
  assert.equal(pkg.main, './dist/extension.js');
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.deepEqual(pkg.activationEvents, ['onStartupFinished']);
  assert.ok(fs.existsSync(pkg.icon));
  assert.equal(fs.readFileSync(pkg.icon).subarray(1, 4).toString(), 'PNG');
  assert.match(pkg.engines.vscode, /^\^1\.\d+\.0$/);
  assert.ok(pkg.devDependencies['@vscode/vsce']);
  assert.equal(pkg.enabledApiProposals, undefined, 'no proposed API: runs in VS Code forks');
  for (const step of pkg.contributes.walkthroughs[0].steps) assert.ok(fs.existsSync(step.media.markdown), step.media.markdown);
});

test('no vscode import under src/engine/ (one engine, two faces)', () => {
  for (const file of fs.readdirSync('src/engine', { recursive: true }) as string[]) {
    if (!file.endsWith('.ts')) continue;
    assert.doesNotMatch(fs.readFileSync(`src/engine/${file}`, 'utf8'), /from 'vscode'|require\('vscode'\)/, file);
  }
});
