/**
 * The engine at scale (npm run bench:scale): a database of SCALE_RECORDS synthetic requests (a year
 * of traffic) is built, its queries timed in-process, then the engine runs on an empty database and
 * on the big one under the same steady load, side by side: start, memory of the engine and its
 * database worker, the worker's CPU, snapshots, one call after an idle pause, and the CLI's
 * `report`/`export` as processes (time and peak memory).
 *
 * SCALE_RECORDS (default 1,000,000), SCALE_SECONDS (load time, default 25), SCALE_RATE (requests/s,
 * default 80; 0 = closed loop), SCALE_CONCURRENCY (most in flight, default 16),
 * SCALE_SNAPSHOTS=back-to-back (snapshot continuously during the load, the worst case for the
 * proxy; default: as the engine schedules them), SCALE_KEEP_DB=1 (keep the database).
 */
import { fork, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpendDatabase, type RequestRecord } from '../src/engine/database';
import { SpendQuery, SummaryQuery } from '../src/engine/queries';
import * as esbuild from 'esbuild';
import type { EngineFigures, ScaleRun } from './scaleEngine';

const RECORDS = Number(process.env.SCALE_RECORDS ?? 1_000_000);
const SECONDS = Number(process.env.SCALE_SECONDS ?? 25);
const CONCURRENCY = Number(process.env.SCALE_CONCURRENCY ?? 16);
/** Requests per second through the proxy (0: closed loop at SCALE_CONCURRENCY). */
const RATE = Number(process.env.SCALE_RATE ?? 80);
const DAY = 86_400_000;
const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
const ms = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`;

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
}

/** A year of plausible traffic: a dozen models, features, thousands of sessions, a few workspaces. */
function syntheticRecord(i: number, now: number): RequestRecord {
  const models = [
    ['openai', 'gpt-4o-mini'],
    ['openai', 'gpt-4.1'],
    ['openai', 'o4-mini'],
    ['anthropic', 'claude-sonnet-4-5'],
    ['anthropic', 'claude-haiku-4-5'],
    ['gemini', 'gemini-2.5-flash'],
    ['gemini', 'gemini-2.5-pro'],
    ['mistral', 'mistral-large-latest'],
    ['groq', 'llama-3.3-70b-versatile'],
    ['deepseek', 'deepseek-chat'],
    ['openrouter', 'qwen/qwen3-coder'],
    ['ollama', 'llama3.2'],
  ];
  const [provider, model] = models[i % models.length];
  const input = 200 + ((i * 7919) % 20_000);
  return {
    id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    startedAt: now - Math.floor((i / RECORDS) * 365 * DAY),
    provider,
    model,
    endpoint: 'chat.completions',
    stream: i % 3 === 0,
    status: i % 50 ? 200 : 429,
    inputTokens: input,
    cacheReadTokens: Math.floor(input / 4),
    cacheWriteTokens: 0,
    outputTokens: 50 + (i % 900),
    reasoningTokens: i % 4 ? 0 : 20,
    costNanos: input * 150 + (i % 900) * 600,
    costStatus: i % 97 ? 'exact' : 'estimated',
    latencyMs: 300 + (i % 4000),
    ttftMs: 120 + (i % 800),
    session: `run-${Math.floor(i / 200)}`,
    feature: `feature-${i % 20}`,
    user: `dev-${i % 5}`,
    trace: null,
    env: i % 10 ? 'dev' : 'ci',
    workspace: `repo-${i % 8}`,
    keyFingerprint: `fp${i % 6}`,
    error: null,
    serviceTier: null,
    priceSource: 'genai-prices@0.1.8',
    client: null,
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-scale-'));
  const dbPath = path.join(dir, 'spend.sqlite');
  const now = Date.now();

  // 1. Build the database (in this process: nothing is being served yet).
  const db = await SpendDatabase.open(dbPath, { create: true });
  const [, buildMs] = time(() => {
    for (let i = 0; i < RECORDS; i += 10_000) db.insert(Array.from({ length: Math.min(10_000, RECORDS - i) }, (_, k) => syntheticRecord(i + k, now)));
  });
  const [bytes, exportMs] = time(() => db.db.export());
  fs.writeFileSync(dbPath, bytes);
  console.log(
    `built ${RECORDS.toLocaleString()} records in ${(buildMs / 1000).toFixed(1)} s; file ${mb(bytes.length)}; one export on the calling thread: ${ms(exportMs)}`,
  );

  // 2. Queries, as burnrate report runs them (in-process) and as the dashboard/summary do.
  const q = new SpendQuery(db);
  const queries: Array<[string, () => unknown]> = [
    ['report (total, all time)', () => q.report({})],
    ['report --by model, all time', () => q.report({ by: 'model' })],
    ['report --by day, all time', () => q.report({ by: 'day' })],
    ['report --by feature --since 30d', () => q.report({ since: now - 30 * DAY, by: 'feature' })],
    ['report --by session --since 7d', () => q.report({ since: now - 7 * DAY, by: 'session' })],
    ['report --by model --since today', () => q.report({ since: now - DAY, by: 'model' })],
    ['summary base (today/week/month)', () => new SummaryQuery(db).base(now)],
    ['export page (5,000 records)', () => q.page({ since: now - 90 * DAY, pageSize: 5_000 })],
  ];
  const queryTimes: Array<[string, number]> = [];
  for (const [name, f] of queries) {
    f(); // warm
    const runs = Array.from({ length: 3 }, () => time(f)[1]).sort((a, b) => a - b);
    queryTimes.push([name, runs[1]]);
    console.log(`  ${name.padEnd(36)} ${ms(runs[1])}`);
  }
  db.close();
  global.gc?.();

  // 3. The engine on an empty database and on the big one, side by side, under the same load, each
  // in a process of its own bundled as the CLI is (so its memory is the engine's alone).
  const runner = bundleRunner();
  const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-scale-empty-'));
  const emptyDb = path.join(emptyDir, 'spend.sqlite');
  const run = (dbPath: string, dataDir: string) =>
    runEngine(runner, {
      dbPath,
      dataDir,
      loadScript: path.join(__dirname, 'scaleLoad.ts'),
      rate: RATE,
      concurrency: CONCURRENCY,
      seconds: SECONDS,
      backToBackSnapshots: process.env.SCALE_SNAPSHOTS === 'back-to-back',
    });
  const engines = { empty: await run(emptyDb, emptyDir), big: await run(dbPath, dir) };
  // 4. The CLI as a user runs it: a process that opens the database, with its time and peak memory.
  const cli = { empty: cliFigures(emptyDb), big: cliFigures(dbPath) };
  printTable(engines, cli);
  const out = path.join(os.tmpdir(), `burnrate-scale-${Date.now()}.json`);
  fs.writeFileSync(
    out,
    JSON.stringify({ records: RECORDS, fileBytes: bytes.length, buildMs, exportOnCallingThreadMs: exportMs, queryTimes, engines, cli }, null, 2),
  );
  console.log(`results: ${out}`);
  fs.rmSync(emptyDir, { recursive: true, force: true });
  if (process.env.SCALE_KEEP_DB) console.log(`database kept: ${dbPath}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

/** bench/scaleEngine.ts bundled into dist/ beside the CLI (sql.js's wasm and the database worker are there). */
function bundleRunner(): string {
  const outfile = path.join(__dirname, '..', 'dist', 'scaleEngine.js');
  esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'scaleEngine.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  return outfile;
}

function runEngine(runner: string, scaleRun: ScaleRun): Promise<EngineFigures> {
  const child = fork(runner, [], { execArgv: [] });
  child.send(scaleRun);
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as EngineFigures));
    child.once('exit', (code) => reject(new Error(`the engine run on ${scaleRun.dbPath} ended (${code})`)));
  });
}

const CLI_RUNS: Array<[string, string[]]> = [
  ['report --since all --by model', ['report', '--since', 'all', '--by', 'model']],
  ['report --since all --by day', ['report', '--since', 'all', '--by', 'day']],
  ['report --since 30d --by session', ['report', '--since', '30d', '--by', 'session']],
  ['export --format jsonl (everything)', ['export', '--format', 'jsonl', '--out', '/dev/null']],
];

/** Each CLI run's wall time (s) and peak RSS (bytes), measured by /usr/bin/time. */
function cliFigures(db: string): Array<{ run: string; seconds: number; peakRss: number }> {
  const cliJs = path.join(__dirname, '..', 'dist', 'cli.js');
  return CLI_RUNS.map(([run, args]) => {
    const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, cliJs, ...args, '--db', db], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr ?? '');
    if (r.status !== 0 || !m) return { run, seconds: NaN, peakRss: NaN };
    return { run, seconds: Number(m[1]), peakRss: Number(m[2]) * 1024 };
  });
}

function printTable(engines: Record<'empty' | 'big', EngineFigures>, cli: Record<'empty' | 'big', ReturnType<typeof cliFigures>>): void {
  const { empty: e, big: b } = engines;
  const rows: Array<[string, string, string]> = [
    ['`serve` start', ms(e.startMs), ms(b.startMs)],
    ['idle RSS, engine + database worker', mb(e.idleRss), mb(b.idleRss)],
    [`peak RSS under load (${e.requests} calls at ${RATE}/s)`, mb(e.peakRss), mb(b.peakRss)],
    ['worker CPU per second of load', ms(e.workerCpuMsPerSecond), ms(b.workerCpuMsPerSecond)],
    ['proxy event-loop delay p99 under load', ms(e.loopDelayP99Ms), ms(b.loopDelayP99Ms)],
    ['one snapshot: duration / bytes', `${ms(e.medianSnapshotMs)} / ${mb(e.snapshotBytes)}`, `${ms(b.medianSnapshotMs)} / ${mb(b.snapshotBytes)}`],
    ['one call after an idle pause: worker CPU / RSS after', `${ms(e.wakeCpuMs)} / ${mb(e.wakeRss)}`, `${ms(b.wakeCpuMs)} / ${mb(b.wakeRss)}`],
    ...cli.empty.map((c, i): [string, string, string] => {
      const big = cli.big[i];
      return [`\`burnrate ${c.run}\`: time / peak RSS`, `${c.seconds.toFixed(2)} s / ${mb(c.peakRss)}`, `${big.seconds.toFixed(2)} s / ${mb(big.peakRss)}`];
    }),
  ];
  console.log(`\n| | empty | ${RECORDS.toLocaleString()} records |\n|---|---|---|`);
  for (const [name, empty, big] of rows) console.log(`| ${name} | ${empty} | ${big} |`);
}

void main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e);
    process.exit(1);
  },
);
