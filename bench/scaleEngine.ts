/**
 * What the engine costs the machine on one database, as `burnrate serve` runs it: start time, the
 * memory of the engine and its database worker together, the worker's CPU per second under a steady
 * load, snapshots, and one call after an idle pause (the worker stopped and woken). bench/scale.ts
 * bundles this file as the CLI is bundled and runs it in a process of its own per database (so
 * the figures are the engine's alone), sending a ScaleRun and getting EngineFigures back.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Engine } from '../src/engine/engine';
import { cpuMsOfPid, rssOfPid } from './portkey';

export interface EngineFigures {
  startMs: number;
  /** Engine + database worker RSS, bytes. */
  idleRss: number;
  peakRss: number;
  requests: number;
  errors: number;
  /** The proxy's event-loop delay under the load, ms. */
  loopDelayP99Ms: number;
  /** The worker's CPU time per second of load, ms/s. */
  workerCpuMsPerSecond: number;
  snapshots: number;
  medianSnapshotMs: number;
  snapshotBytes: number;
  /** One call after the worker stopped for being idle: its CPU to wake and record it, and the RSS after. */
  wakeCpuMs: number;
  wakeRss: number;
}

/** A process's resident memory (bytes) and CPU time so far (ms), from /proc; zeros when there is none or it is gone. */
function procStats(pid: number | undefined): { rss: number; cpuMs: number } {
  return pid ? { rss: rssOfPid(pid) ?? 0, cpuMs: cpuMsOfPid(pid) ?? 0 } : { rss: 0, cpuMs: 0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ScaleRun {
  dbPath: string;
  dataDir: string;
  /** bench/scaleLoad.ts, run with tsx in a process of its own. */
  loadScript: string;
  rate: number;
  concurrency: number;
  seconds: number;
  /** Snapshot back to back during the load (the worst case for the proxy), or only as the engine would. */
  backToBackSnapshots: boolean;
}

interface LoadPlan extends ScaleRun {
  load: ChildProcess;
  fakeUrl: string;
}

async function measureEngine(run: ScaleRun): Promise<EngineFigures> {
  const load = fork(run.loadScript, { execArgv: ['--import', 'tsx'] });
  load.send({ op: 'fake' });
  const { url: fakeUrl } = await new Promise<{ url: string }>((r) => load.once('message', (m) => r(m as { url: string })));
  const plan: LoadPlan = { ...run, load, fakeUrl };
  const { dbPath, dataDir } = run;
  const t0 = performance.now();
  const engine = await Engine.start({
    port: 0,
    dbPath,
    dataDir,
    upstreams: { openai: plan.fakeUrl },
    saveIntervalMs: 1_000,
    retentionDays: 0,
    storeIdleStopMs: 3_000,
  });
  const startMs = performance.now() - t0;
  await engine.store.count();
  const both = () => procStats(process.pid).rss + procStats(engine.store.workerPid).rss;
  const idleRss = both();
  const underLoad = await loadFor(engine, plan, both);
  const wake = await oneCallAfterIdle(engine, both);
  await engine.close();
  load.kill();
  return { startMs, idleRss, ...underLoad, ...wake };
}

process.on('message', (run: ScaleRun) => {
  void measureEngine(run).then(
    (figures) => process.send!(figures, () => process.exit(0)),
    (e: Error) => {
      console.error(e);
      process.exit(1);
    },
  );
});

async function loadFor(engine: Engine, plan: LoadPlan, both: () => number) {
  let peakRss = 0;
  const workerCpu = new WorkerCpu(engine);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, both());
    workerCpu.sample();
  }, 100);
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const done = new Promise<{ done: number; errors: number }>((r) => plan.load.once('message', (m) => r(m as { done: number; errors: number })));
  plan.load.send({ op: 'load', proxy: engine.url, concurrency: plan.concurrency, rate: plan.rate });
  const deadline = Date.now() + plan.seconds * 1000;
  const snapshotMs: number[] = [];
  while (Date.now() < deadline) {
    if (!plan.backToBackSnapshots) {
      await sleep(100);
      continue;
    }
    const before = engine.recorder.lastSave;
    const t = performance.now();
    await engine.recorder.save();
    if (engine.recorder.lastSave !== before) snapshotMs.push(performance.now() - t);
    await sleep(20);
  }
  plan.load.send({ op: 'stop' });
  const { done: requests, errors } = await done;
  await engine.store.count();
  workerCpu.sample();
  const workerCpuMsPerSecond = workerCpu.total / plan.seconds;
  clearInterval(sampler);
  loopDelay.disable();
  snapshotMs.sort((a, b) => a - b);
  return {
    peakRss,
    requests,
    errors,
    workerCpuMsPerSecond,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    snapshots: snapshotMs.length,
    medianSnapshotMs: snapshotMs[snapshotMs.length >> 1] ?? engine.recorder.lastSave?.ms ?? 0,
    snapshotBytes: engine.recorder.lastSave?.bytes ?? 0,
  };
}

/** The database worker's CPU time since this was made, across worker restarts (each a new process). */
class WorkerCpu {
  total = 0;
  private pid: number | undefined;
  private seen = 0;

  constructor(private readonly engine: Engine) {
    this.pid = engine.store.workerPid;
    this.seen = procStats(this.pid).cpuMs;
  }

  sample(): void {
    const pid = this.engine.store.workerPid;
    if (pid !== this.pid) {
      this.pid = pid;
      this.seen = 0;
    }
    const now = procStats(pid).cpuMs;
    if (pid) this.total += now - this.seen;
    this.seen = now;
  }
}

/** Waits for the idle worker to stop, then makes one call and measures what waking the database cost. */
async function oneCallAfterIdle(engine: Engine, both: () => number): Promise<{ wakeCpuMs: number; wakeRss: number }> {
  for (let i = 0; i < 600 && engine.store.workerRunning; i++) await sleep(100);
  if (engine.store.workerRunning) return { wakeCpuMs: NaN, wakeRss: both() };
  const starts = engine.store.workerStarts;
  const res = await fetch(`${engine.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.text();
  await engine.store.count();
  const woke = engine.store.workerStarts > starts;
  return { wakeCpuMs: woke ? procStats(engine.store.workerPid).cpuMs : NaN, wakeRss: both() };
}
