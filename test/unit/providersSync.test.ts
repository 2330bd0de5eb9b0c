/**
 * The route table (pricing/providers.json) is the one home of a provider: package.json's upstream
 * settings and the README's routes table are written from it (`npm run providers:sync`), and the
 * fake provider knows every provider's paths.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { PROVIDER_SERVED_PATHS } from '../support/providerPaths';
import {
  readProviderRows,
  ROUTES_END,
  ROUTES_START,
  routesTable,
  syncedPackageJson,
  syncedReadme,
  upstreamSettingProperties,
} from '../../scripts/providers-sync.mjs';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const STALE = 'is out of date with pricing/providers.json: run `npm run providers:sync`';

test("package.json's burnrate.upstreams properties are the route table's", () => {
  const pkg = JSON.parse(read('package.json'));
  const upstreams = pkg.contributes.configuration.properties['burnrate.upstreams'];
  const wanted = upstreamSettingProperties(readProviderRows());
  // Their order too: it is the order the Settings editor lists them in.
  assert.deepEqual(Object.keys(upstreams.properties), Object.keys(wanted), `package.json ${STALE}`);
  assert.deepEqual(upstreams.properties, wanted, `package.json ${STALE}`);
});

test("the README's routes table is the route table's", () => {
  const text = read('README.md');
  const table = text.slice(text.indexOf(ROUTES_START) + ROUTES_START.length, text.indexOf(ROUTES_END)).trim();
  assert.ok(text.includes(ROUTES_START) && text.includes(ROUTES_END), `README.md lacks the ${ROUTES_START} / ${ROUTES_END} markers`);
  assert.deepEqual(table.split('\n'), routesTable(readProviderRows()).split('\n'), `README.md ${STALE}`);
});

test('the fake provider has the served paths of every provider in the route table', () => {
  assert.deepEqual(
    Object.keys(PROVIDER_SERVED_PATHS).sort(),
    DEFAULT_ROUTES.map((r) => r.id).sort(),
    'test/support/providerPaths.ts needs an entry per row of pricing/providers.json',
  );
});

test('a new row becomes a setting and a README row; notes are added where a row has them', () => {
  const rows = [
    { id: 'examplecloud', baseUrl: 'https://api.example.com', env: 'EXAMPLE_BASE_URL', envSuffix: '/v1' },
    { id: 'other', baseUrl: 'https://other.example', env: 'OTHER_URL', envSuffix: '', readmeNote: '(read by `other-sdk`)', settingNote: 'a note' },
  ];
  assert.deepEqual(upstreamSettingProperties(rows), {
    examplecloud: { type: 'string', format: 'uri', markdownDescription: 'Base URL for `/examplecloud/…` (default `https://api.example.com`).' },
    other: { type: 'string', format: 'uri', markdownDescription: 'Base URL for `/other/…` (default `https://other.example`; a note).' },
  });
  assert.deepEqual(routesTable(rows).split('\n').slice(2), [
    '| examplecloud | `EXAMPLE_BASE_URL=http://127.0.0.1:8390/examplecloud/v1` | https://api.example.com |',
    '| other | `OTHER_URL=http://127.0.0.1:8390/other` (read by `other-sdk`) | https://other.example |',
  ]);
  const readme = 'before\n<!-- routes:start -->\nold table\n<!-- routes:end -->\nafter\n';
  assert.equal(syncedReadme(readme, rows), `before\n<!-- routes:start -->\n${routesTable(rows)}\n<!-- routes:end -->\nafter\n`);
  assert.throws(() => syncedReadme('no markers', rows), /routes:start/);
  const pkg = { contributes: { configuration: { properties: { 'burnrate.upstreams': { type: 'object', properties: {} } } } } };
  const synced = JSON.parse(syncedPackageJson(JSON.stringify(pkg), rows));
  assert.deepEqual(synced.contributes.configuration.properties['burnrate.upstreams'].properties, upstreamSettingProperties(rows));
});

test('OpenTelemetry provider names come from the rows that need one', () => {
  const otelNames = Object.fromEntries(DEFAULT_ROUTES.filter((r) => r.otelName).map((r) => [r.id, r.otelName]));
  assert.deepEqual(otelNames, { gemini: 'gcp.gemini', mistral: 'mistral_ai', xai: 'x_ai' });
});
