/**
 * What the engine costs the machine on one database, as `burnrate serve` runs it: start time, the
 * memory of the engine (the serve process) and of its database worker, the worker's CPU per second
 * under a steady load, the snapshots it takes, and one call after an idle pause (the worker stopped
 * and a new one woken). bench/scale.ts bundles this file beside the CLI it measures (this checkout's,
 * or the baseline's in its worktree) and runs it in a process of its own per database, sending a
 * ScaleRun and getting EngineFigures back. It only uses Engine API both layouts have.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Engine } from '../src/engine/engine';
import { cpuMsOfPid, rssOfPid } from './portkey';

/** Resident memory, bytes: the serve process, its database worker, and both summed (peaks: at the same sample). */
export interface Rss {
  serve: number;
  worker: number;
  both: number;
}

export interface EngineFigures {
  /** Engine.start, the database open in its worker included. */
  startMs: number;
  idle: Rss;
  peak: Rss;
  requests: number;
  errors: number;
  /** The proxy's event-loop delay under the load, ms. */
  loopDelayP99Ms: number;
  /** The worker's CPU time per second of load, ms/s. */
  workerCpuMsPerSecond: number;
  /** Snapshots taken during the load, and the median one's duration and bytes written. */
  snapshots: number;
  snapshotMs: number;
  snapshotBytes: number;
  /** Calls recorded per snapshot taken under the load. */
  recordsPerSnapshot: number;
  /** One call after the worker stopped for being idle: the new worker's CPU to open the database and record it, the RSS after, the call's time. */
  wake: { cpuMs: number; rss: Rss; callMs: number };
}

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
  /** The worker stops after this long idle. */
  idleStopMs: number;
}

interface LoadPlan extends ScaleRun {
  load: ChildProcess;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssNow(engine: Engine): Rss {
  const serve = rssOfPid(process.pid) ?? 0;
  const pid = engine.store.workerPid;
  const worker = pid ? (rssOfPid(pid) ?? 0) : 0;
  return { serve, worker, both: serve + worker };
}

async function measureEngine(run: ScaleRun): Promise<EngineFigures> {
  const load = fork(run.loadScript, { execArgv: ['--import', 'tsx'] });
  load.send({ op: 'fake' });
  const { url: fakeUrl } = await new Promise<{ url: string }>((r) => load.once('message', (m) => r(m as { url: string })));
  const t0 = performance.now();
  const engine = await Engine.start({
    port: 0,
    dbPath: run.dbPath,
    dataDir: run.dataDir,
    upstreams: { openai: fakeUrl },
    saveIntervalMs: 1_000,
    retentionDays: 0,
    storeIdleStopMs: run.idleStopMs,
  });
  const startMs = performance.now() - t0;
  await engine.store.count();
  await sleep(1_000);
  const idle = rssNow(engine);
  const underLoad = await loadFor(engine, { ...run, load });
  const wake = await oneCallAfterIdle(engine);
  await engine.close();
  load.kill();
  return { startMs, idle, ...underLoad, wake };
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

/** Samples memory, worker CPU and the snapshots taken every 100 ms. */
class Sampler {
  peak: Rss = { serve: 0, worker: 0, both: 0 };
  readonly saves: Array<{ ms: number; bytes: number }> = [];
  private readonly workerCpu: WorkerCpu;
  private lastSaveAt: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly engine: Engine) {
    this.workerCpu = new WorkerCpu(engine);
    this.lastSaveAt = engine.recorder.lastSave?.at;
    this.timer = setInterval(() => this.sample(), 100);
  }

  sample(): void {
    const rss = rssNow(this.engine);
    this.peak = { serve: Math.max(this.peak.serve, rss.serve), worker: Math.max(this.peak.worker, rss.worker), both: Math.max(this.peak.both, rss.both) };
    this.workerCpu.sample();
    const save = this.engine.recorder.lastSave;
    if (save && save.at !== this.lastSaveAt) {
      this.lastSaveAt = save.at;
      this.saves.push({ ms: save.ms, bytes: save.bytes });
    }
  }

  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.workerCpu.total;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

async function loadFor(engine: Engine, plan: LoadPlan) {
  const sampler = new Sampler(engine);
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const done = new Promise<{ done: number; errors: number }>((r) => plan.load.once('message', (m) => r(m as { done: number; errors: number })));
  plan.load.send({ op: 'load', proxy: engine.url, concurrency: plan.concurrency, rate: plan.rate });
  const deadline = Date.now() + plan.seconds * 1000;
  while (Date.now() < deadline) {
    if (plan.backToBackSnapshots) await engine.recorder.save();
    await sleep(plan.backToBackSnapshots ? 20 : 100);
  }
  plan.load.send({ op: 'stop' });
  const { done: requests, errors } = await done;
  await engine.store.count();
  const workerCpuMs = sampler.stop();
  loopDelay.disable();
  const saves = sampler.saves;
  return {
    peak: sampler.peak,
    requests,
    errors,
    workerCpuMsPerSecond: workerCpuMs / plan.seconds,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    snapshots: saves.length,
    snapshotMs: median(saves.map((s) => s.ms)),
    snapshotBytes: median(saves.map((s) => s.bytes)),
    recordsPerSnapshot: saves.length ? requests / saves.length : NaN,
  };
}

/** The database worker's CPU time since this was made, across worker restarts (each a new process). */
class WorkerCpu {
  total = 0;
  private pid: number | undefined;
  private seen = 0;

  constructor(private readonly engine: Engine) {
    this.pid = engine.store.workerPid;
    this.seen = this.pid ? (cpuMsOfPid(this.pid) ?? 0) : 0;
  }

  sample(): void {
    const pid = this.engine.store.workerPid;
    if (pid !== this.pid) {
      this.pid = pid;
      this.seen = 0;
    }
    const now = pid ? (cpuMsOfPid(pid) ?? this.seen) : 0;
    if (pid) this.total += now - this.seen;
    this.seen = now;
  }
}

/** Waits for the idle worker to stop, then makes one call and measures what waking the database cost. */
async function oneCallAfterIdle(engine: Engine): Promise<EngineFigures['wake']> {
  for (let i = 0; i < 600 && engine.store.workerRunning; i++) await sleep(100);
  if (engine.store.workerRunning) return { cpuMs: NaN, rss: rssNow(engine), callMs: NaN };
  const starts = engine.store.workerStarts;
  const t0 = performance.now();
  const res = await fetch(`${engine.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.text();
  await engine.store.count();
  const callMs = performance.now() - t0;
  const woke = engine.store.workerStarts > starts;
  const pid = engine.store.workerPid;
  return { cpuMs: woke && pid ? (cpuMsOfPid(pid) ?? NaN) : NaN, rss: rssNow(engine), callMs };
}
