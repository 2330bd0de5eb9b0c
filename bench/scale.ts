/**
 * The engine at a million records (npm run bench:scale): how long `burnrate report` and the summary
 * queries take, how big the database and its snapshot are, how much memory the engine uses, and
 * the proxy's event-loop delay while it serves traffic and snapshots the database in its worker.
 *
 * SCALE_RECORDS (default 1,000,000), SCALE_SECONDS (load time, default 20), SCALE_RATE (requests/s,
 * default 200; 0 = closed loop), SCALE_CONCURRENCY (most in flight, default 16), SCALE_SNAPSHOTS=0 (none), SCALE_KEEP_DB=1 (keep the
 * database, e.g. to measure `burnrate serve` on it).
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SpendDatabase, type RequestRecord } from '../src/engine/database';
import { Engine } from '../src/engine/engine';
import { SpendQuery, SummaryQuery } from '../src/engine/queries';

const RECORDS = Number(process.env.SCALE_RECORDS ?? 1_000_000);
const SECONDS = Number(process.env.SCALE_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.SCALE_CONCURRENCY ?? 16);
/** Requests per second through the proxy (0: closed loop at SCALE_CONCURRENCY). */
const RATE = Number(process.env.SCALE_RATE ?? 200);
const DAY = 86_400_000;
const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
const ms = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`;

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
}

async function timeAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
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
  const q = new SpendQuery(db.db);
  const queries: Array<[string, () => unknown]> = [
    ['report (total, all time)', () => q.report({})],
    ['report --by model, all time', () => q.report({ by: 'model' })],
    ['report --by day, all time', () => q.report({ by: 'day' })],
    ['report --by feature --since 30d', () => q.report({ since: now - 30 * DAY, by: 'feature' })],
    ['report --by session --since 7d', () => q.report({ since: now - 7 * DAY, by: 'session' })],
    ['report --by model --since today', () => q.report({ since: now - DAY, by: 'model' })],
    ['summary base (today/week/month)', () => new SummaryQuery(db.db).base(now)],
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

  // 3. The engine on that database, under load, snapshotting in its worker.
  const load = fork(path.join(__dirname, 'scaleLoad.ts'), { execArgv: process.execArgv });
  const reply = <T>() => new Promise<T>((r) => load.once('message', (m) => r(m as T)));
  load.send({ op: 'fake' });
  const { url: fakeUrl } = await reply<{ url: string }>();
  const rssBefore = process.memoryUsage().rss;
  const [engine, startMs] = await timeAsync(() =>
    Engine.start({ port: 0, dbPath, dataDir: dir, upstreams: { openai: fakeUrl }, saveIntervalMs: 1_000, retentionDays: 0 }),
  );
  const idle = process.memoryUsage();
  console.log(
    `engine started on ${RECORDS.toLocaleString()} records in ${ms(startMs)}; RSS ${mb(idle.rss)} (was ${mb(rssBefore)} before), JS heap ${mb(idle.heapUsed)}`,
  );
  const [, storeReportMs] = await timeAsync(() => engine.store.report({ by: 'model' }));
  console.log(`  report --by model through the worker (SpendStore): ${ms(storeReportMs)}`);

  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let saves = 0;
  let peakRss = 0;
  const saveTimes: number[] = [];
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  histogram.enable();
  load.send({ op: 'load', proxy: engine.url, concurrency: CONCURRENCY, rate: RATE });
  const loadDone = reply<{ done: number; errors: number }>();
  const deadline = Date.now() + SECONDS * 1000;
  // Snapshots back to back (the periodic timer would space them out): the worst case for the proxy.
  while (Date.now() < deadline) {
    if (process.env.SCALE_SNAPSHOTS === '0') {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const before = engine.recorder.lastSave;
    const [, t] = await timeAsync(() => engine.recorder.save());
    if (engine.recorder.lastSave !== before) {
      saveTimes.push(t);
      saves++;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  load.send({ op: 'stop' });
  const { done, errors } = await loadDone;
  histogram.disable();
  clearInterval(sampler);
  const p = (q: number) => histogram.percentile(q) / 1e6;
  const count = await engine.store.count();
  console.log(
    `under load for ${SECONDS} s (${RATE ? `${RATE} requests/s` : `closed loop, concurrency ${CONCURRENCY}`}): ${done.toLocaleString()} requests (${errors} errors), ${saves} snapshots back to back (median ${saves ? ms(saveTimes.sort((a, b) => a - b)[saveTimes.length >> 1]) : '-'}, last ${mb(engine.recorder.lastSave?.bytes ?? 0)})`,
  );
  console.log(`  proxy event-loop delay: p50 ${ms(p(50))}, p99 ${ms(p(99))}, max ${ms(histogram.max / 1e6)}`);
  console.log(`  peak RSS ${mb(peakRss)} (engine and its database worker); records now ${count.toLocaleString()}`);
  await engine.close();
  load.kill();
  const result = {
    records: RECORDS,
    fileBytes: bytes.length,
    buildMs,
    exportOnCallingThreadMs: exportMs,
    queryTimes,
    engineStartMs: startMs,
    storeReportMs,
    idleRss: idle.rss,
    peakRss,
    requests: done,
    errors,
    saves,
    medianSaveMs: saveTimes[saveTimes.length >> 1],
    loopDelayMs: { p50: p(50), p99: p(99), max: histogram.max / 1e6 },
  };
  const out = path.join(os.tmpdir(), `burnrate-scale-${Date.now()}.json`);
  fs.writeFileSync(out, JSON.stringify(result, null, 2));
  console.log(`results: ${out}`);
  if (process.env.SCALE_KEEP_DB) console.log(`database kept: ${dbPath}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

void main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e);
    process.exit(1);
  },
);
