/**
 * What each part of the engine costs in memory: every part is bundled (as the CLI is) into its own
 * small program, run in a fresh `node`, and its resident memory read from /proc once it has settled.
 * The parts share Node's own baseline and some code pages, so they do not add up exactly to the
 * whole engine. The database worker is a process of its own: its memory is shown apart (+procs).
 * Then how long waking a sleeping database worker takes (a new worker process opening the file and
 * answering a first query), for a small and a bigger database. Prints figures; asserts nothing.
 *
 *   npm run bench:memory        (BENCH_WAKE_RECORDS="1000,100000" sets the database sizes)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
const MB = 1024 * 1024;

/** Each part: a program that loads it the way the engine does and keeps it alive. */
const PARTS: Array<{ name: string; code: string }> = [
  { name: 'node (nothing loaded)', code: `globalThis.keep = 1;` },
  { name: 'node:http server', code: `const http = require('node:http'); globalThis.keep = http.createServer().listen(0, '127.0.0.1');` },
  { name: 'undici Agent (what the proxy loads)', code: `const { Agent } = require('./src/engine/upstreamAgent'); globalThis.keep = new Agent();` },
  { name: 'undici (whole package)', code: `const { Agent } = require('undici'); globalThis.keep = new Agent();` },
  {
    name: 'price catalogue + one price',
    code: `const { priceUsage } = require('./src/engine/pricing'); globalThis.keep = priceUsage('openai', 'gpt-4o-mini', { inputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, outputTokens: 1, reasoningTokens: 0 });`,
  },
  {
    name: 'sql.js (wasm) + empty database',
    code: `const { SpendDatabase } = require('./src/engine/db'); SpendDatabase.open(undefined, { create: true }).then((d) => (globalThis.keep = d));`,
  },
  {
    name: 'database worker process, empty database',
    code: `const { SpendStore } = require('./src/engine/spendStore'); SpendStore.open(undefined, { create: true }).then((s) => (globalThis.keep = s));`,
  },
  { name: 'OpenTelemetry export (only when on)', code: `globalThis.keep = require('./src/engine/otlpExport');` },
  {
    name: 'whole engine, idle',
    code: `const { Engine } = require('./src/engine/engine'); const fs = require('node:fs'), os = require('node:os'), path = require('node:path');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-mem-'));
Engine.start({ port: 0, dbPath: path.join(dir, 'spend.sqlite'), dataDir: dir }).then((e) => (globalThis.keep = e));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));`,
  },
  {
    name: 'whole engine, idle (worker stopped)',
    code: `const { Engine } = require('./src/engine/engine'); const fs = require('node:fs'), os = require('node:os'), path = require('node:path');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-mem-'));
globalThis.ready = Engine.start({ port: 0, dbPath: path.join(dir, 'spend.sqlite'), dataDir: dir, storeIdleStopMs: 300 }).then(async (e) => {
  globalThis.keep = e;
  while (e.store.workerRunning) await new Promise((r) => setTimeout(r, 50));
});
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));`,
  },
];

/** The program reports its own memory (and its child processes') after settling, then exits. */
const REPORT = `
Promise.resolve(globalThis.ready).then(() => setTimeout(() => {
  const fs = require('node:fs');
  const kbOf = (status, key) => Number(new RegExp(key + ':\\\\s+(\\\\d+)').exec(status)?.[1] ?? NaN) * 1024;
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (key) => kbOf(status, key);
  let procs = 0;
  for (const pid of fs.readFileSync('/proc/self/task/' + process.pid + '/children', 'utf8').split(' ').filter(Boolean)) {
    try { procs += kbOf(fs.readFileSync('/proc/' + pid + '/status', 'utf8'), 'VmRSS'); } catch {}
  }
  process.stdout.write(JSON.stringify({ rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), heap: process.memoryUsage().heapUsed, procs }));
  process.exit(0);
}, 1500));`;

async function main(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('reads /proc: Linux only');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-bench-mem-'));
  const pricesPkg = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('@pydantic/genai-prices')), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  fs.copyFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'), path.join(work, 'sql-wasm.wasm'));
  const define = { BURNRATE_VERSION: JSON.stringify('bench'), BURNRATE_PRICES_VERSION: JSON.stringify(pricesPkg.version) };
  /** Bundles a program as the CLI is bundled. */
  const bundle = (options: esbuild.BuildOptions) =>
    esbuild.build({ absWorkingDir: ROOT, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error', define, ...options });
  // The database worker beside the parts, as dist/ ships it beside the CLI.
  await bundle({ entryPoints: { storeWorker: 'src/engine/store/storeWorker.ts' }, outdir: work });
  const fmt = (bytes: number) => (bytes / MB).toFixed(1).padStart(6);
  process.stdout.write(`Resident memory by part (node ${process.version}; MB; median of 3 fresh processes)\n\n`);
  process.stdout.write(`${'part'.padEnd(40)}   rss   anon   file   heap  +procs   +rss over node\n`);
  let baseline: number | undefined;
  try {
    for (const [i, part] of PARTS.entries()) {
      const outfile = path.join(work, `part${i}.js`);
      await bundle({ stdin: { contents: part.code + REPORT, resolveDir: ROOT, loader: 'js' }, outfile });
      const runs = [0, 1, 2].map(
        () =>
          JSON.parse(execFileSync(process.execPath, [outfile], { cwd: work, encoding: 'utf8' })) as Record<'rss' | 'anon' | 'file' | 'heap' | 'procs', number>,
      );
      const m = runs.sort((a, b) => a.rss - b.rss)[1];
      baseline ??= m.rss;
      process.stdout.write(
        `${part.name.padEnd(40)}${fmt(m.rss)} ${fmt(m.anon)} ${fmt(m.file)} ${fmt(m.heap)}  ${m.procs ? fmt(m.procs) : '     -'}   ${i ? `+${((m.rss - baseline) / MB).toFixed(1)}` : ''}\n`,
      );
    }
    process.stdout.write(
      "\n(anon: the process's own memory; file: mapped pages of the node binary and files; heap: V8 heap in use;\n +procs: its child processes, i.e. the database worker while it runs)\n",
    );
    await measureWake(work, bundle);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Waking a sleeping database worker: a new worker process starts, opens the file and answers the
 * call that woke it. Timed from the call to its answer, in a bundled program (as the CLI runs).
 */
async function measureWake(work: string, bundle: (options: esbuild.BuildOptions) => Promise<unknown>): Promise<void> {
  const sizes = (process.env.BENCH_WAKE_RECORDS || '1000,100000')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0);
  const outfile = path.join(work, 'wake.js');
  await bundle({
    stdin: {
      contents: `const { SpendDatabase } = require('./src/engine/db'); const { SpendStore } = require('./src/engine/spendStore'); const fs = require('node:fs'), path = require('node:path');
(async () => {
  const n = Number(process.argv[2]); const file = path.join(process.argv[3], 'wake-' + n + '.sqlite'); const now = Date.now();
  const db = await SpendDatabase.open(file, { create: true });
  for (let i = 0; i < n; i += 10000) db.insert(Array.from({ length: Math.min(10000, n - i) }, (_, k) => ({ id: 'r' + (i + k), startedAt: now - (i + k) * 30000, provider: 'openai', model: 'gpt-4o-mini', endpoint: 'chat.completions', stream: false, status: 200, inputTokens: 1200, cacheReadTokens: 200, cacheWriteTokens: 0, outputTokens: 300, reasoningTokens: 0, costNanos: 345000, costStatus: 'exact', latencyMs: 800, ttftMs: 300, session: 'run-' + ((i + k) % 5000), feature: 'feature-' + ((i + k) % 20), user: null, trace: null, env: null, workspace: 'repo', keyFingerprint: null, error: null, serviceTier: null, priceSource: 'genai-prices@bench' })));
  await db.save(); db.close();
  const bytes = fs.statSync(file).size;
  const times = [];
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    const store = await SpendStore.open(file, { create: true });
    await store.count();
    times.push(performance.now() - t0);
    await store.close();
  }
  fs.rmSync(file);
  process.stdout.write(JSON.stringify({ bytes, ms: times.sort((a, b) => a - b)[1] }));
})();`,
      resolveDir: ROOT,
      loader: 'js',
    },
    outfile,
  });
  process.stdout.write('\nWaking the database worker (a new process opens the file and answers the first call; median of 3)\n\n');
  for (const n of sizes) {
    const r = JSON.parse(execFileSync(process.execPath, [outfile, String(n), work], { cwd: work, encoding: 'utf8', maxBuffer: 1 << 20 })) as {
      bytes: number;
      ms: number;
    };
    process.stdout.write(`${n.toLocaleString('en-US').padStart(10)} records (${(r.bytes / MB).toFixed(1)} MB file): ${r.ms.toFixed(0)} ms\n`);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench:memory failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
