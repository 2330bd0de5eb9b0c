/** The settings table (src/shared/settingsTable.ts) agrees with package.json, and its validator with the table. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_SETTINGS, SETTING_KEYS, SETTINGS_TABLE, type SettingKey, type SettingRow, readSettings, validateSetting } from '../../src/shared';
import { readConfig } from '../../src/extension/settings/config';

interface Contributed {
  type: string;
  default: unknown;
  scope?: string;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  format?: string;
  additionalProperties?: { type: string; format?: string };
  items?: { type: string; exclusiveMinimum?: number; maximum?: number };
}

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const props: Record<string, Contributed> = pkg.contributes.configuration.properties;

/** What package.json should declare for a row: its JSON-schema type, bounds and enum. */
function schemaOf(row: SettingRow): Partial<Contributed> {
  switch (row.type) {
    case 'integer':
    case 'number':
      return { type: row.type, minimum: row.minimum, maximum: row.maximum };
    case 'boolean':
    case 'string':
      return { type: row.type };
    case 'enum':
      return { type: 'string', enum: [...row.values] };
    case 'string-map':
      return { type: 'object', additionalProperties: { type: 'string' } };
    case 'number-array':
      return { type: 'array', items: { type: 'number', exclusiveMinimum: row.exclusiveMinimum, maximum: row.maximum } };
  }
}

test('every setting in package.json is in the table, and every row in package.json', () => {
  assert.deepEqual(Object.keys(props).sort(), [...SETTING_KEYS].sort());
});

test('package.json gives each setting the type, default, scope, bounds, enum and URL format of its row', () => {
  for (const key of SETTING_KEYS) {
    const row = SETTINGS_TABLE[key];
    const p = props[key];
    const schema = schemaOf(row);
    assert.equal(p.type, schema.type, `${key} type`);
    assert.deepEqual(p.default, row.default, `${key} default`);
    assert.equal(p.scope, row.scope, `${key} scope`);
    assert.equal(p.minimum, schema.minimum, `${key} minimum`);
    assert.equal(p.maximum, schema.maximum, `${key} maximum`);
    assert.deepEqual(p.enum, schema.enum, `${key} enum`);
    if (schema.additionalProperties) assert.equal(p.additionalProperties?.type, 'string', `${key} values`);
    const url = 'url' in row && row.url === true;
    assert.equal((p.additionalProperties ?? p).format === 'uri', url, `${key}: format "uri" where the row asks for URLs`);
    if (schema.items)
      assert.deepEqual({ type: p.items?.type, exclusiveMinimum: p.items?.exclusiveMinimum, maximum: p.items?.maximum }, schema.items, `${key} items`);
  }
});

test('every default passes its own row, and the defaults are fresh copies', () => {
  for (const key of SETTING_KEYS) assert.deepEqual(validateSetting(key, DEFAULT_SETTINGS[key]), { value: DEFAULT_SETTINGS[key], problems: [] }, key);
  assert.ok(Object.isFrozen(DEFAULT_SETTINGS));
});

test('values out of their bounds are refused with the bound in words', () => {
  const refused = (key: SettingKey, value: unknown) => validateSetting(key, value).problems.join('\n');
  assert.match(refused('burnrate.proxy.port', 0), /"burnrate.proxy.port" should be a number \(a whole number from 1 to 65535\), got 0/);
  assert.match(refused('burnrate.proxy.port', 8390.5), /whole number/);
  assert.match(refused('burnrate.proxy.maxBodyMb', 0), /1 or more/);
  assert.match(refused('burnrate.guard.maxRepeats', -1), /0 or more/);
  assert.equal(refused('burnrate.guard.sessionMaxUsd', 0.25), '');
  assert.match(refused('burnrate.budget.onExceed', 'stop'), /"warn" or "block"/);
  assert.match(refused('burnrate.prices.dataUrl', 'mirror.local'), /http\(s\) URL/);
  assert.match(refused('burnrate.terminal.intercept', 'yes'), /true or false/);
});

test('lists and maps keep their good entries and name each bad one', () => {
  assert.deepEqual(validateSetting('burnrate.budget.alertThresholds', [1, 0.9, -2, 0.9, 11]).value, [0.9, 1]);
  assert.equal(validateSetting('burnrate.budget.alertThresholds', [1, 0.9, -2, 0.9, 11]).problems.length, 2);
  const upstreams = validateSetting('burnrate.upstreams', { openai: ' http://127.0.0.1:1 ', groq: 42, xai: 'api.x.ai' });
  assert.deepEqual(upstreams.value, { openai: 'http://127.0.0.1:1' });
  assert.equal(upstreams.problems.length, 2);
  assert.deepEqual(validateSetting('burnrate.export.otlp.headers', 'x'), {
    value: undefined,
    problems: ['"burnrate.export.otlp.headers" should be an object of strings, got "x"'],
  });
});

test('readSettings takes the burnrate.* keys, names unknown ones, and skips the rest', () => {
  assert.deepEqual(readSettings({ 'editor.fontSize': 12, 'burnrate.budget.daily': 5, 'burnrate.nosuch': 1, 'burnrate.proxy.port': -1 }), {
    settings: { 'burnrate.budget.daily': 5 },
    problems: ['unknown setting "burnrate.nosuch"', '"burnrate.proxy.port" should be a number (a whole number from 1 to 65535), got -1'],
  });
});

test('the extension holds VS Code settings to the same rows: a bad value is told and its default used', () => {
  const c = readConfig(((key: SettingKey) => ({
    defaultValue: DEFAULT_SETTINGS[key],
    globalValue: ({ 'burnrate.proxy.port': 0, 'burnrate.proxy.maxBodyMb': 0.5, 'burnrate.prices.dataUrl': 'mirror.local' } as Record<string, unknown>)[key],
  })) as never);
  assert.deepEqual([c.port, c.maxBodyMb, c.pricesDataUrl], [8390, 64, '']);
  assert.equal(c.problems.length, 3);
  assert.match(c.problems[0], /"burnrate.proxy.port" should be a number \(a whole number from 1 to 65535\), got 0; using 8390/);
  const badEndpoint = readConfig(((key: SettingKey) => ({
    defaultValue: DEFAULT_SETTINGS[key],
    globalValue: ({ 'burnrate.export.otlp.enabled': true, 'burnrate.export.otlp.endpoint': 'collector:4318' } as Record<string, unknown>)[key],
  })) as never);
  assert.equal(badEndpoint.otlp, undefined);
  assert.match(badEndpoint.problems.join('\n'), /export is on but the endpoint is not an http\(s\) URL; nothing is exported/);
});
