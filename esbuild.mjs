// Builds the CLI (and, later, the extension) into dist/: one bundled file each, sql.js's wasm beside them.
import * as esbuild from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const production = process.argv.includes('--production');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const pricesPkg = JSON.parse(readFileSync(join(dirname(require.resolve('@pydantic/genai-prices')), '..', 'package.json'), 'utf8'));

mkdirSync('dist', { recursive: true });
await esbuild.build({
  entryPoints: { cli: 'src/cli.ts' },
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
});
copyFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'), 'dist/sql-wasm.wasm');
chmodSync('dist/cli.js', 0o755);
