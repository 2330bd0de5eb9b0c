/**
 * The baseline for bench:scale: the code before segments (the single-file layout), checked out from
 * git history into a temporary worktree, built there with its own esbuild.mjs (its dist/cli.js and
 * database worker), with this checkout's measuring code (scaleEngine.ts, scaleBuild.ts) copied
 * beside it and bundled against its src/. Removed again by `remove()`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

export const ROOT = path.resolve(__dirname, '..');

/** A checkout built for bench:scale: its CLI, and the engine runner bundled beside it. */
export interface Build {
  root: string;
  cli: string;
  engineRunner: string;
}

export interface Baseline extends Build {
  ref: string;
  commit: string;
  remove(): void;
}

/** The files of this bench the baseline runs with its own src/. */
const MEASURING = ['scaleBuild.ts', 'scaleRecords.ts', 'scaleEngine.ts', 'portkey.ts'];

/** bench/scaleEngine.ts bundled into `root`/dist/ beside the CLI (sql.js's wasm and the database worker are there). */
export function bundleEngineRunner(root: string): string {
  const outfile = path.join(root, 'dist', 'scaleEngine.js');
  esbuild.buildSync({
    entryPoints: [path.join(root, 'bench', 'scaleEngine.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  return outfile;
}

/** This checkout, built. */
export function buildCurrent(): Build {
  execFileSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
  return { root: ROOT, cli: path.join(ROOT, 'dist', 'cli.js'), engineRunner: bundleEngineRunner(ROOT) };
}

/** Checks out `ref` into a temporary worktree and builds it. */
export function prepareBaseline(ref: string): Baseline {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-scale-baseline-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  const commit = git('rev-parse', '--short', `${ref}^{commit}`);
  git('worktree', 'add', '--detach', root, ref);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    try {
      git('worktree', 'remove', '--force', root);
    } catch {
      fs.rmSync(root, { recursive: true, force: true });
      git('worktree', 'prune');
    }
  };
  process.once('exit', remove);
  try {
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    for (const file of MEASURING) fs.copyFileSync(path.join(__dirname, file), path.join(root, 'bench', file));
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
    return { root, ref, commit, cli: path.join(root, 'dist', 'cli.js'), engineRunner: bundleEngineRunner(root), remove };
  } catch (e) {
    remove();
    throw e;
  }
}
