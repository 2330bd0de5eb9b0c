/**
 * Processes bench:scale measures from the outside: each run under /usr/bin/time -v for its wall
 * time and peak resident memory (the CLI as a user runs it; the builders and the migration).
 */
import { spawnSync } from 'node:child_process';

export interface ProcessFigures {
  seconds: number;
  peakRss: number;
  /** Why the run failed (its exit status and last line of error output), if it did. */
  failed?: string;
  stdout: string;
}

/** Runs `node args…` under /usr/bin/time -v in `cwd`. */
export function timedNode(args: string[], cwd?: string): ProcessFigures {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  const stderr = r.stderr ?? '';
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const seconds = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  const peakRss = rss ? Number(rss[1]) * 1024 : NaN;
  if (r.status === 0) return { seconds, peakRss, stdout: r.stdout ?? '' };
  // The error itself (not its stack, nor /usr/bin/time's report, nor node's version line).
  const lines = stderr.split('\n').filter((l) => l.trim() && !/^\s/.test(l) && !l.startsWith('Command') && !l.startsWith('Node.js v'));
  const reason = lines.find((l) => /error|abort|memory|killed/i.test(l)) ?? lines[lines.length - 1] ?? '';
  return { seconds, peakRss, stdout: r.stdout ?? '', failed: `exit ${r.status ?? r.signal}: ${reason.slice(0, 200)}` };
}

export const CLI_RUNS: Array<[string, string[]]> = [
  ['report --since all --by model', ['report', '--since', 'all', '--by', 'model']],
  ['report --since all --by day', ['report', '--since', 'all', '--by', 'day']],
  ['report --since 30d --by session', ['report', '--since', '30d', '--by', 'session']],
  ['export --format jsonl (everything)', ['export', '--format', 'jsonl', '--out', '/dev/null']],
];

/** Each CLI run of CLI_RUNS on `db`, as a process of its own. */
export function cliFigures(cli: string, db: string): ProcessFigures[] {
  return CLI_RUNS.map(([, args]) => timedNode([cli, ...args, '--db', db]));
}
