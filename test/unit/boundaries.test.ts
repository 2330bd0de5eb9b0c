/**
 * The import boundaries of the tree: no import cycles in src/; src/shared stands alone (no Node, no
 * VS Code, nothing else of the project) so the engine, the extension and the dashboard app can all
 * use it; the dashboard app (webview/) reaches the rest only through src/shared; the engine and the
 * CLI never load VS Code or the extension.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../..');

interface SourceFile {
  /** Relative to the repository, with forward slashes. */
  file: string;
  /** Every specifier it imports, re-exports or requires (type-only ones included: they tie files together too). */
  specifiers: string[];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const IMPORT = /\b(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\bfrom\s*)?['"]([^'"]+)['"]|\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function read(file: string): SourceFile {
  const text = fs
    .readFileSync(path.join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  return { file, specifiers: [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]!) };
}

/** The project file a relative specifier names, or undefined for a package or a built-in. */
function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`, base.replace(/\.js$/, '.ts')]) {
    if (fs.existsSync(path.join(ROOT, candidate)) && fs.statSync(path.join(ROOT, candidate)).isFile()) return candidate;
  }
  return base;
}

const files = [...sourceFiles('src'), ...sourceFiles('webview')].map(read);
const isBuiltin = (s: string) => s.startsWith('node:') || s === 'vscode';

function imports(where: (file: string) => boolean): Array<{ file: string; specifier: string; target: string | undefined }> {
  return files.filter((f) => where(f.file)).flatMap((f) => f.specifiers.map((specifier) => ({ file: f.file, specifier, target: resolve(f.file, specifier) })));
}

test('no import cycles among the source files', () => {
  const graph = new Map(
    files
      .filter((f) => f.file.startsWith('src/'))
      .map((f) => [f.file, f.specifiers.map((s) => resolve(f.file, s)).filter((t): t is string => !!t?.startsWith('src/'))]),
  );
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('src/shared imports nothing but itself: no Node, no VS Code, no other part of the project', () => {
  const wrong = imports((f) => f.startsWith('src/shared/')).filter((i) => !i.target?.startsWith('src/shared/'));
  assert.deepEqual(
    wrong.map((i) => `${i.file}: ${i.specifier}`),
    [],
  );
});

test('the dashboard app (webview/) reaches the project only through src/shared, and never Node or VS Code', () => {
  const wrong = imports((f) => f.startsWith('webview/')).filter((i) =>
    i.target ? !i.target.startsWith('webview/') && !i.target.startsWith('src/shared/') : isBuiltin(i.specifier),
  );
  assert.deepEqual(
    wrong.map((i) => `${i.file}: ${i.specifier}`),
    [],
  );
});

test('the engine and the CLI never load VS Code or the extension', () => {
  const engineOrCli = (f: string) => f.startsWith('src/engine/') || f.startsWith('src/cli/') || f === 'src/cli.ts';
  const wrong = imports(engineOrCli).filter((i) => i.specifier === 'vscode' || i.target?.startsWith('src/extension/'));
  assert.deepEqual(
    wrong.map((i) => `${i.file}: ${i.specifier}`),
    [],
  );
});

/**
 * The folder a file belongs to, as a unit with a public face (index.ts): src/engine/<part>/ (its
 * subfolders included), src/extension/<concern>/, src/shared/, src/capture/. Files directly in
 * src/engine/ (engine.ts, api.ts, settings.ts) are the engine's own face; src/cli/ and webview/ are
 * faces that nothing imports.
 */
function unitOf(file: string): string | undefined {
  const p = file.split('/');
  if (p[0] === 'src' && (p[1] === 'engine' || p[1] === 'extension') && p.length >= 4) return p.slice(0, 3).join('/');
  if (p[0] === 'src' && (p[1] === 'shared' || p[1] === 'capture')) return p.slice(0, 2).join('/');
  return undefined;
}

/** Loaded on their own, never through a face: the OTLP exporter (required on demand) and the database worker (its own bundle). */
const ON_DEMAND = new Set(['src/engine/export/otlpExport.ts', 'src/engine/store/storeWorker.ts']);

/**
 * An extension folder's face loads VS Code (its commands, views, terminals), which tests run
 * without: tests reach the folder's VS Code-free modules directly.
 */
const testOfExtensionModule = (file: string, target: string) => /^(test|bench)\//.test(file) && target.startsWith('src/extension/');

test('other folders, tests and benchmarks reach a folder through its face (index.ts), not its files', () => {
  const everyFile = [
    ...files,
    ...sourceFiles('test')
      .filter((f) => !f.startsWith('test/agents/') && !f.startsWith('test/fixtures/'))
      .map(read),
    ...sourceFiles('bench').map(read),
  ];
  const wrong = everyFile.flatMap((f) =>
    f.specifiers
      .map((specifier) => ({ specifier, target: resolve(f.file, specifier) }))
      .filter(
        ({ target }) =>
          target &&
          unitOf(target) &&
          unitOf(target) !== unitOf(f.file) &&
          target !== `${unitOf(target)}/index.ts` &&
          !ON_DEMAND.has(target) &&
          !testOfExtensionModule(f.file, target),
      )
      .map(({ specifier }) => `${f.file}: ${specifier}`),
  );
  assert.deepEqual(wrong, []);
});

test("the engine's folders are layered: none imports a folder that imports it back", () => {
  const uses = new Map<string, Set<string>>();
  for (const i of imports((f) => unitOf(f)?.startsWith('src/engine/') === true)) {
    const from = unitOf(i.file)!;
    const to = i.target && unitOf(i.target);
    if (to?.startsWith('src/engine/') && to !== from) uses.set(from, new Set([...(uses.get(from) ?? []), to]));
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (unit: string, trail: string[]) => {
    if (state.get(unit) === 'done') return;
    if (state.get(unit) === 'open') return void cycles.push([...trail.slice(trail.indexOf(unit)), unit].join(' → '));
    state.set(unit, 'open');
    for (const next of uses.get(unit) ?? []) visit(next, [...trail, unit]);
    state.set(unit, 'done');
  };
  for (const unit of uses.keys()) visit(unit, []);
  assert.ok(uses.size >= 10, `${uses.size} engine folders import others`);
  assert.deepEqual(cycles, []);
});

test('no folder holds more than 12 source files directly (its index.ts aside): a bigger one splits by concern', () => {
  const perFolder = new Map<string, number>();
  for (const f of files) {
    if (f.file.endsWith('/index.ts')) continue;
    const folder = path.posix.dirname(f.file);
    perFolder.set(folder, (perFolder.get(folder) ?? 0) + 1);
  }
  assert.ok(perFolder.size >= 20, `${perFolder.size} folders`);
  assert.deepEqual(
    [...perFolder].filter(([, n]) => n > 12),
    [],
  );
});

test('the scanner sees the imports it checks', () => {
  const tiles = files.find((f) => f.file === 'webview/views/tiles.ts');
  assert.ok(files.length > 50, `${files.length} files`);
  assert.ok(
    tiles?.specifiers.some((s) => resolve(tiles.file, s)?.startsWith('src/shared/')),
    'webview/views/tiles.ts imports src/shared',
  );
  assert.ok(imports((f) => f === 'src/engine/management/management.ts').some((i) => i.specifier === 'node:crypto'));
});
