// `npm run providers:sync`: writes what the route table (pricing/providers.json) implies elsewhere,
// so adding a provider is one row there: package.json's `burnrate.upstreams` setting properties and
// the README's routes table (between its routes:start / routes:end markers).
// test/unit/providersSync.test.ts fails when either disagrees with the table.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The proxy's default address, as the README's examples use it. */
const PROXY = 'http://127.0.0.1:8390';

export const ROUTES_START = '<!-- routes:start -->';
export const ROUTES_END = '<!-- routes:end -->';

/** The rows of pricing/providers.json. */
export function readProviderRows() {
  return JSON.parse(readFileSync(path.join(ROOT, 'pricing', 'providers.json'), 'utf8')).providers;
}

/** package.json's `burnrate.upstreams` → `properties`: one base-URL override per provider. */
export function upstreamSettingProperties(rows) {
  return Object.fromEntries(
    rows.map((row) => {
      const note = row.settingNote ? `; ${row.settingNote}` : '';
      const markdownDescription = `Base URL for \`/${row.id}/…\` (default \`${row.baseUrl}\`${note}).`;
      return [row.id, { type: 'string', format: 'uri', markdownDescription }];
    }),
  );
}

/** The README's routes table, header included. */
export function routesTable(rows) {
  const lines = ['| provider | set this in your environment / SDK | upstream |', '|---|---|---|'];
  for (const row of rows) {
    const setting = `\`${row.env}=${PROXY}/${row.id}${row.envSuffix}\`` + (row.readmeNote ? ` ${row.readmeNote}` : '');
    lines.push(`| ${row.id} | ${setting} | ${row.baseUrl} |`);
  }
  return lines.join('\n');
}

/** package.json's text with the upstreams setting's properties written from the rows. */
export function syncedPackageJson(text, rows) {
  const pkg = JSON.parse(text);
  const upstreams = pkg.contributes?.configuration?.properties?.['burnrate.upstreams'];
  if (!upstreams) throw new Error('package.json contributes no burnrate.upstreams setting');
  upstreams.properties = upstreamSettingProperties(rows);
  return JSON.stringify(pkg, null, 2) + '\n';
}

/** README.md's text with the routes table between the markers written from the rows. */
export function syncedReadme(text, rows) {
  const start = text.indexOf(ROUTES_START);
  const end = text.indexOf(ROUTES_END);
  if (start === -1 || end < start) throw new Error(`README.md lacks the ${ROUTES_START} … ${ROUTES_END} markers around its routes table`);
  return `${text.slice(0, start + ROUTES_START.length)}\n${routesTable(rows)}\n${text.slice(end)}`;
}

function sync() {
  const rows = readProviderRows();
  for (const [file, synced] of [
    ['package.json', syncedPackageJson],
    ['README.md', syncedReadme],
  ]) {
    const target = path.join(ROOT, file);
    const before = readFileSync(target, 'utf8');
    const after = synced(before, rows);
    if (after === before) continue;
    writeFileSync(target, after);
    process.stdout.write(`providers:sync: updated ${file}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) sync();
