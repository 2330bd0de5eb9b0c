import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The script of one of the engine's workers (a process or a thread) and the Node flags it needs:
 * bundles (dist/) ship `<bundled>.js` beside the built script; from source, `source` in `dir` is
 * loaded through tsx, the loader the tests and scripts already run under. Never the host's flags
 * (an inspector port or a profiler would clash).
 */
export function workerScript(dir: string, bundled: string, source: string): { file: string; execArgv: string[] } {
  const beside = path.join(dir, `${bundled}.js`);
  if (fs.existsSync(beside)) return { file: beside, execArgv: [] };
  const typescriptLoader = 'tsx/cjs'; // a development dependency, never in a bundle
  return { file: path.join(dir, source), execArgv: ['--require', require.resolve(typescriptLoader)] };
}
