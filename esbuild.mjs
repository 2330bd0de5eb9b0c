// Builds the CLI, the VS Code extension and the database worker into dist/: bundled files, sql.js's wasm beside them.
import * as esbuild from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const production = process.argv.includes('--production');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const pricesPkg = JSON.parse(readFileSync(join(dirname(require.resolve('@pydantic/genai-prices')), '..', 'package.json'), 'utf8'));

mkdirSync('dist', { recursive: true });
const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  define: {
    BURNRATE_VERSION: JSON.stringify(pkg.version),
    BURNRATE_PRICES_VERSION: JSON.stringify(pricesPkg.version),
  },
};
await Promise.all([
  // storeWorker.js: the process that owns the sql.js database, started by the CLI and by engine.js;
  // segmentBuilder.js: the threads that build an import's new segments (bulk/segmentBuilder.ts).
  esbuild.build({
    ...common,
    entryPoints: { cli: 'src/cli.ts', storeWorker: 'src/engine/store/storeWorker.ts', segmentBuilder: 'src/engine/database/bulk/segmentBuilderThread.ts' },
  }),
  // The VS Code extension: a small face (extension.js, loaded at activation) and the engine it
  // loads on demand (engine.js), so activation never waits on sql.js or the price catalogue.
  esbuild.build({ ...common, entryPoints: { extension: 'src/extension/extension.ts', engine: 'src/engine/api.ts' }, external: ['vscode'] }),
]);
// The dashboard app (webview/): browser code, one bundle for the VS Code panel and the served page.
mkdirSync('dist/webview', { recursive: true });
await esbuild.build({
  entryPoints: { dashboard: 'webview/main.ts' },
  outdir: 'dist/webview',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  sourcemap: false,
  minify: production,
  logLevel: 'warning',
});
copyFileSync('webview/dashboard.css', 'dist/webview/dashboard.css');
copyFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'), 'dist/sql-wasm.wasm');
chmodSync('dist/cli.js', 0o755);
// The capture hooks of metered environments (src/capture/): the Node preload as one small
// dependency-free file, Python's sitecustomize and the codex shim copied as they are.
await esbuild.build({ ...common, sourcemap: false, minify: true, entryPoints: { preload: 'src/capture/preload.ts' }, outdir: 'dist/capture' });
mkdirSync('dist/capture/python', { recursive: true });
mkdirSync('dist/capture/bin', { recursive: true });
copyFileSync('src/capture/python/sitecustomize.py', 'dist/capture/python/sitecustomize.py');
for (const shim of ['codex', 'codex.cmd']) copyFileSync(`src/capture/bin/${shim}`, `dist/capture/bin/${shim}`);
chmodSync('dist/capture/bin/codex', 0o755);
