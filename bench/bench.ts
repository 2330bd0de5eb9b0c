/**
 * `npm run bench`: Burn Rate's proxy overhead, side by side with the same load sent
 *   1. direct to the fake provider,
 *   2. through a bare Node pass-through proxy (bareProxy.ts: the floor for a Node proxy),
 *   3. through Burn Rate (the real engine, database file and journal in a temp dir),
 *   4. through Portkey's open-source gateway when it can be installed (portkey.ts).
 *
 * Process layout, deliberately: every party is its own process and this one only orchestrates
 * (it sits idle in an IPC await while a run is timed).
 *   - loadgen.ts: the closed-loop load generator. Same process, same code and same work per
 *     request whatever the target, so its CPU weighs on every target equally.
 *   - host.ts fake: the fake provider. Also identical for every target (direct included).
 *   - host.ts bare / host.ts burnrate / the Portkey gateway: one process per proxy, each with a
 *     whole event loop to itself, all started up front and idle except during their own runs.
 * On a small machine (this one: 2 cores) load generator, proxy and fake contend for the CPUs; that
 * contention is the same for every proxy, so differences between rows are the proxies' own cost.
 * Runs are interleaved (for each mode × concurrency × repeat, every target in rotated order) so
 * slow drift on the host spreads over all targets instead of biasing the last one measured.
 *
 * Children are bundled with esbuild into a temp dir and run with plain `node`: no TypeScript loader
 * thread in the measured processes (it would add ~10 MB of RSS and a second isolate).
 *
 * Environment: BENCH_SECONDS (per run, default 1.5), BENCH_WARMUP_SECONDS (2), BENCH_REPEATS (3),
 * BENCH_CONCURRENCY ("1,16,64"), BENCH_MODES ("json,stream"; also "stream-noopts": a stream whose
 * client did not ask for usage, so Burn Rate injects stream_options and hides the extra chunk),
 * BENCH_PORTKEY=0 (skip Portkey), BENCH_CPU_PROF=1 (--cpu-prof the Burn Rate process, kept on disk),
 * BENCH_STORE_IDLE_STOP_MS (the engine's database worker idle stop; default the engine's own, 30 s).
 *
 * Memory: "at start" is read 1 s after the engine started; "idle" once its database worker has
 * stopped for want of work, no request sent yet (what a VS Code window costs while no AI script
 * runs); "idle again" the same after all the load.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { DEFAULT_STORE_IDLE_STOP_MS } from '../src/engine/store';
import { cpuMsOfPid, rssOfPid, startPortkey, stopChild, type Portkey } from './portkey';
import { median, type HostReply, type HostRequest, type HostRole, type LoadReply, type LoadRequest, type LoadResult, type LoadSpec } from './shared';

type Mode = 'json' | 'stream' | 'stream-noopts';
type TargetName = 'direct' | 'bare' | 'burnrate' | 'portkey';
const TARGET_ORDER: TargetName[] = ['direct', 'bare', 'burnrate', 'portkey'];

interface Target {
  name: TargetName;
  origin: string;
  /** Path of OpenAI chat completions on this target. */
  path: string;
  headers: Record<string, string>;
  /** The proxy's process, for its CPU time (none for direct). */
  pid?: number;
}

interface Run extends LoadResult {
  target: TargetName;
  mode: Mode;
  concurrency: number;
  repeat: number;
  /** CPU the proxy process used per request sent during the run (µs); null for direct or off Linux. */
  proxyCpuUs: number | null;
  /** The part of proxyCpuUs spent on the proxy's main thread (its event loop), the rest being its worker and helper threads. */
  proxyMainCpuUs: number | null;
  /** The same for the fake and the load generator: equal across targets, or the comparison is off. */
  fakeCpuUs: number | null;
  loadgenCpuUs: number | null;
}

interface Row {
  target: TargetName;
  mode: Mode;
  concurrency: number;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50: number;
  p99: number;
  ttfbP50: number;
  ttfbP99: number;
  addedP50: number | null;
  addedP99: number | null;
  addedTtfbP50: number | null;
  errors: number;
  measured: number;
  proxyCpuUs: number | null;
  proxyMainCpuUs: number | null;
}

const ROOT = path.resolve(__dirname, '..');
const MB = 1024 * 1024;

function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return process.env[name] && Number.isFinite(v) && v > 0 ? v : fallback;
}

const config = {
  seconds: envNumber('BENCH_SECONDS', 1.5),
  warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 2),
  repeats: Math.round(envNumber('BENCH_REPEATS', 3)),
  concurrency: (process.env.BENCH_CONCURRENCY || '1,16,64')
    .split(',')
    .map((s) => Math.max(1, Math.round(Number(s))))
    .filter(Number.isFinite),
  modes: (process.env.BENCH_MODES || 'json,stream')
    .split(',')
    .map((s) => s.trim())
    .filter((m): m is Mode => m === 'json' || m === 'stream' || m === 'stream-noopts'),
  portkey: process.env.BENCH_PORTKEY !== '0',
  cpuProf: process.env.BENCH_CPU_PROF === '1',
  storeIdleStopMs: envNumber('BENCH_STORE_IDLE_STOP_MS', DEFAULT_STORE_IDLE_STOP_MS),
};

// -------------------------------------------------------------------------------------------------
// The request: a typical agent turn (~1.6 KB of JSON), so body parsing costs what it usually does.

const SYSTEM = 'You are a careful coding assistant. Answer briefly, cite file paths, and never invent APIs. ';
const USER = 'Here is the failing test output and the function under test; explain the bug and propose a minimal fix. ';

function chatBody(mode: Mode): string {
  const body: Record<string, unknown> = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: SYSTEM.repeat(4) },
      { role: 'user', content: USER.repeat(10) },
    ],
    temperature: 0.2,
    max_tokens: 512,
  };
  if (mode !== 'json') body.stream = true;
  // Clients that want stream usage ask for it; sending it to every target keeps the upstream bytes
  // identical (otherwise only Burn Rate would change the request). stream-noopts measures the rest.
  if (mode === 'stream') body.stream_options = { include_usage: true };
  return JSON.stringify(body);
}

// -------------------------------------------------------------------------------------------------
// Child processes: typed request/response over IPC, all killed if this process dies.

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
const children = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Temp folders to remove however the bench ends. */
const tempDirs = new Set<string>();

process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}

class Child<Req extends { id: number }, Rep extends { id: number; ok: boolean; error?: string }> {
  private seq = 1;
  private readonly pending = new Map<number, { resolve: (r: Rep) => void; reject: (e: Error) => void }>();

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    track(proc);
    proc.on('message', (m: Rep) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m);
      else p.reject(new Error(`${name}: ${m.error}`));
    });
    proc.on('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  call(msg: WithoutId<Req>, timeoutMs = 120_000): Promise<Rep> {
    const id = this.seq++;
    return new Promise<Rep>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${JSON.stringify(msg).slice(0, 80)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.send({ ...msg, id });
    });
  }

  /** Asks the child to close (it exits after answering); kills it if it does not. */
  async close(): Promise<Rep | undefined> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return undefined;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    let reply: Rep | undefined;
    try {
      reply = await this.call({ op: 'close' } as unknown as WithoutId<Req>, 15_000);
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    await stopChild(this.proc);
    return reply;
  }
}

type Host = Child<HostRequest, HostReply>;
type LoadGen = Child<LoadRequest, LoadReply>;

function forkChild(dir: string, file: string, name: string, execArgv: string[] = []): ChildProcess {
  // execArgv is set explicitly: children must not inherit this process's `--import tsx`.
  return fork(path.join(dir, file), [name], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: ROOT });
}

async function startHost(
  dir: string,
  role: HostRole,
  opts: Omit<Extract<HostRequest, { op: 'start' }>, 'id' | 'op' | 'role'>,
  execArgv: string[] = [],
): Promise<{ host: Host; url: string }> {
  const host: Host = new Child(role, forkChild(dir, 'host.js', role, execArgv));
  const r = await host.call({ op: 'start', role, ...opts }, 60_000);
  return { host, url: r.url! };
}

/** Bundles the child processes the way esbuild.mjs bundles the CLI, sql.js's wasm beside them. */
async function buildChildren(outdir: string): Promise<void> {
  const pricesPkg = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('@pydantic/genai-prices')), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { host: 'bench/host.ts', loadgen: 'bench/loadgen.ts', storeWorker: 'src/engine/store/storeWorker.ts' },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    define: { BURNRATE_VERSION: JSON.stringify('bench'), BURNRATE_PRICES_VERSION: JSON.stringify(pricesPkg.version) },
  });
  fs.copyFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'), path.join(outdir, 'sql-wasm.wasm'));
}

/**
 * The Burn Rate host's stats once its database worker has stopped for want of work (a second after,
 * so what the thread held is given back); undefined if it never stops.
 */
async function whenWorkerStopped(host: Host): Promise<HostReply | undefined> {
  const deadline = Date.now() + config.storeIdleStopMs + 60_000;
  while (Date.now() < deadline) {
    const s = await host.call({ op: 'stats' });
    if (s.storeWorkerRunning === false) {
      await new Promise((r) => setTimeout(r, 1_000));
      return host.call({ op: 'stats' });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

// -------------------------------------------------------------------------------------------------
// Reporting helpers.

const fmt = (n: number | null | undefined, digits = 2): string => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));
const signed = (n: number | null, digits = 2): string => (n === null || !Number.isFinite(n) ? '-' : (n >= 0 ? '+' : '') + n.toFixed(digits));
const mb = (bytes: number | undefined): string => (bytes === undefined ? '-' : `${(bytes / MB).toFixed(1)} MB`);

function table(header: string[], rows: string[][], rightAlignFrom = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= rightAlignFrom ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function summarise(runs: Run[], targets: TargetName[]): Row[] {
  const rows: Row[] = [];
  for (const mode of config.modes) {
    for (const c of config.concurrency) {
      const group = (t: TargetName) => runs.filter((r) => r.target === t && r.mode === mode && r.concurrency === c);
      // The median run by throughput; its latencies come from the same run, so the row is one real run.
      const pick = (rs: Run[]) => [...rs].sort((a, b) => a.rps - b.rps)[(rs.length - 1) >> 1];
      const direct = group('direct').length ? pick(group('direct')) : undefined;
      for (const t of targets) {
        const rs = group(t);
        if (!rs.length) continue;
        const m = pick(rs);
        const isDirect = t === 'direct';
        rows.push({
          target: t,
          mode,
          concurrency: c,
          rps: m.rps,
          rpsMin: Math.min(...rs.map((r) => r.rps)),
          rpsMax: Math.max(...rs.map((r) => r.rps)),
          p50: m.p50,
          p99: m.p99,
          ttfbP50: m.ttfbP50,
          ttfbP99: m.ttfbP99,
          addedP50: direct && !isDirect ? m.p50 - direct.p50 : null,
          addedP99: direct && !isDirect ? m.p99 - direct.p99 : null,
          addedTtfbP50: direct && !isDirect && mode !== 'json' ? m.ttfbP50 - direct.ttfbP50 : null,
          errors: rs.reduce((n, r) => n + r.errors, 0),
          measured: m.measured,
          proxyCpuUs: m.proxyCpuUs,
          proxyMainCpuUs: m.proxyMainCpuUs,
        });
      }
    }
  }
  return rows;
}

interface Check {
  name: string;
  pass: boolean | null;
  detail: string;
}

// -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const out = (s = '') => process.stdout.write(s + '\n');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-bench-'));
  const burnDir = path.join(work, 'burnrate');
  const profDir = path.join(work, 'cpu-prof');
  fs.mkdirSync(burnDir);
  // With BENCH_CPU_PROF the bundle and its profile stay (the profile's line numbers point into host.js).
  tempDirs.add(config.cpuProf ? burnDir : work);
  const cpus = os.cpus();
  out(`Burn Rate bench: node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${os.platform()}`);
  out(
    `runs: ${config.seconds}s each, ${config.repeats} repeats (median run reported), warm-up ${config.warmupSeconds}s; ` +
      `concurrency ${config.concurrency.join('/')}; modes ${config.modes.join(', ')}`,
  );
  // Checked in test/support/fakeProvider.ts: no timers on the normal path, but a JSON body goes out
  // in 2 writes and a stream one SSE event per setImmediate tick. Every target sees the same fake.
  out('fake provider: JSON reply in 2 writes, SSE one event per setImmediate tick (~9 events), no timers');

  await buildChildren(work);

  let fake: Host | undefined;
  let bare: Host | undefined;
  let burn: Host | undefined;
  let loadgen: LoadGen | undefined;
  let portkey: Portkey | undefined;
  let portkeySkipped: string | undefined;
  const runs: Run[] = [];
  const burnSamples: Array<{ rss: number; saveMs: number; dbBytes: number; records: number }> = [];
  let burnSent = 0;
  try {
    const f = await startHost(work, 'fake', {});
    fake = f.host;
    const b = await startHost(work, 'bare', { upstream: f.url });
    bare = b.host;
    const execArgv = config.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    // The CLI's default save interval (5 s): periodic saves are part of what Burn Rate costs.
    const br = await startHost(work, 'burnrate', { upstream: f.url, dir: burnDir, saveIntervalMs: 5_000, storeIdleStopMs: config.storeIdleStopMs }, execArgv);
    burn = br.host;
    const burnHost = br.host;
    if (config.portkey) {
      try {
        portkey = await startPortkey(out, track);
      } catch (e) {
        portkeySkipped = (e as Error).message;
      }
    } else portkeySkipped = 'BENCH_PORTKEY=0';
    loadgen = new Child<LoadRequest, LoadReply>('loadgen', forkChild(work, 'loadgen.js', 'loadgen'));

    const auth = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-0123456789abcdef0123456789abcdef' };
    const targets: Target[] = [
      { name: 'direct', origin: f.url, path: '/v1/chat/completions', headers: auth },
      { name: 'bare', origin: b.url, path: '/v1/chat/completions', headers: auth, pid: b.host.proc.pid },
      { name: 'burnrate', origin: br.url, path: '/openai/v1/chat/completions', headers: auth, pid: br.host.proc.pid },
    ];
    if (portkey) {
      targets.push({
        name: 'portkey',
        origin: portkey.url,
        path: '/v1/chat/completions',
        headers: { ...auth, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${f.url}/v1` },
        pid: portkey.pid,
      });
    }

    const lg = loadgen;
    const load = async (t: Target, mode: Mode, concurrency: number, durationMs: number): Promise<LoadResult> => {
      const spec: LoadSpec = { origin: t.origin, path: t.path, headers: t.headers, body: chatBody(mode), stream: mode !== 'json', concurrency, durationMs };
      const r = await lg.call({ op: 'run', spec }, durationMs + 120_000);
      if (t.name === 'burnrate') burnSent += r.result!.sent;
      return r.result!;
    };

    // At start: a second to settle, not a single request yet. Idle: the same once the database
    // worker has stopped for want of work.
    await new Promise((r) => setTimeout(r, 1_000));
    const atStart = await burnHost.call({ op: 'stats' });
    const storeRssAtStart = atStart.storeWorkerPid ? rssOfPid(atStart.storeWorkerPid) : undefined;
    const idle = await whenWorkerStopped(burnHost);
    let portkeyIdleRss = portkey ? rssOfPid(portkey.pid) : undefined;

    // Smoke: every target must answer every mode correctly before anything is timed.
    for (const t of [...targets]) {
      for (const mode of config.modes) {
        const r = await load(t, mode, 1, 100);
        if (r.errors === 0 && r.measured > 0) continue;
        const why = `${mode} request failed: ${r.firstError ?? 'no response'}`;
        if (t.name !== 'portkey') throw new Error(`${t.name}: ${why}`);
        portkeySkipped = why;
        targets.splice(targets.indexOf(t), 1);
        await portkey!.close();
        portkey = undefined;
        portkeyIdleRss = undefined;
        break;
      }
    }
    out(portkey ? `portkey: @portkey-ai/gateway@${portkey.version} at ${portkey.url}` : `portkey: skipped (${portkeySkipped})`);
    out();

    const durationMs = config.seconds * 1000;
    for (const mode of config.modes) {
      for (const t of targets) await load(t, mode, 16, config.warmupSeconds * 1000);
      await burnHost.call({ op: 'settle' });
      for (const c of config.concurrency) {
        for (let repeat = 0; repeat < config.repeats; repeat++) {
          const order = targets.map((_, i) => targets[(i + repeat) % targets.length]);
          const line: string[] = [];
          for (const t of order) {
            // Burn Rate's database worker is a process of its own: its CPU counts as Burn Rate's.
            const storePid = t.name === 'burnrate' ? (await burnHost.call({ op: 'stats' })).storeWorkerPid : undefined;
            const pids = [t.pid, f.host.proc.pid, lg.proc.pid, storePid];
            const cpuBefore = pids.map((pid) => (pid ? cpuMsOfPid(pid) : undefined));
            const mainBefore = t.pid ? cpuMsOfPid(t.pid, t.pid) : undefined;
            const r = await load(t, mode, c, durationMs);
            // The worker inserts at below-normal priority and may finish a run's records after it:
            // its CPU is read once it has caught up, so deferred work still counts as Burn Rate's.
            if (t.name === 'burnrate') await burnHost.call({ op: 'drain' });
            const perRequest = (before: number | undefined, now: number | undefined): number | null =>
              before === undefined || now === undefined || !r.sent ? null : ((now - before) * 1000) / r.sent;
            const cpuOf = (i: number) => perRequest(cpuBefore[i], pids[i] ? cpuMsOfPid(pids[i]!) : undefined);
            const proxyMainCpuUs = perRequest(mainBefore, t.pid ? cpuMsOfPid(t.pid, t.pid) : undefined);
            const storeCpuUs = storePid ? cpuOf(3) : 0;
            const proxyCpuUs = cpuOf(0) === null || storeCpuUs === null ? null : cpuOf(0)! + storeCpuUs;
            runs.push({ ...r, target: t.name, mode, concurrency: c, repeat, proxyCpuUs, proxyMainCpuUs, fakeCpuUs: cpuOf(1), loadgenCpuUs: cpuOf(2) });
            line.push(`${t.name} ${r.rps.toFixed(0)}/s${r.errors ? ` (${r.errors} errors)` : ''}`);
            if (t.name === 'burnrate') {
              // Its pending save now, between runs, so it cannot land in the next target's run.
              const s = await burnHost.call({ op: 'settle' });
              burnSamples.push({ rss: s.rss!, saveMs: s.saveMs!, dbBytes: s.dbBytes!, records: s.records! });
            }
          }
          out(`  ${mode} c=${c} #${repeat + 1}: ${line.join('  ')}`);
        }
      }
    }

    const after = await burnHost.call({ op: 'stats' });
    const portkeyAfterRss = portkey ? rssOfPid(portkey.pid) : undefined;
    const storeRssAfter = after.storeWorkerPid ? rssOfPid(after.storeWorkerPid) : undefined;
    const idleAgain = await whenWorkerStopped(burnHost);
    const targetNames = TARGET_ORDER.filter((n) => targets.some((t) => t.name === n));
    const rows = summarise(runs, targetNames);

    // Close Burn Rate first: its answer carries the records that reached the database file.
    const closed = await burnHost.close();
    burn = undefined;

    out();
    out(
      table(
        ['target', 'mode', 'c', 'req/s', 'spread', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms', 'ttfb p50', '+ttfb p50', 'cpu µs/req', 'main', 'errors'],
        rows.map((r) => [
          r.target,
          r.mode,
          String(r.concurrency),
          r.rps.toFixed(0),
          r.rps > 0 ? `±${(((r.rpsMax - r.rpsMin) / 2 / r.rps) * 100).toFixed(0)}%` : '-',
          fmt(r.p50, 3),
          fmt(r.p99, 3),
          signed(r.addedP50, 3),
          signed(r.addedP99, 3),
          r.mode === 'json' ? '-' : fmt(r.ttfbP50, 3),
          signed(r.addedTtfbP50, 3),
          fmt(r.proxyCpuUs, 0),
          fmt(r.proxyMainCpuUs, 0),
          String(r.errors),
        ]),
        2,
      ),
    );
    out("(+ columns: the median run minus direct's median run, same mode and concurrency; spread: half the min-max range of req/s over the repeats;");
    out(' cpu µs/req: CPU time of the proxy process over requests sent in that run, from /proc, 10 ms ticks;');
    out(
      " Burn Rate's includes its database worker process; main: the part spent on the main thread, the event loop that serves requests; the rest is worker and helper threads)",
    );
    if (portkey) out('(Portkey streams: its stream transformer sleeps 25 ms (setTimeout) before the first event, so its stream rows mostly measure that.)');

    const row = (t: TargetName, mode: Mode, c: number) => rows.find((r) => r.target === t && r.mode === mode && r.concurrency === c);
    const streamModes = config.modes.filter((m) => m !== 'json');
    const peakRss = Math.max(after.rss!, ...burnSamples.map((s) => s.rss));
    const saves = burnSamples.map((s) => s.saveMs);
    out();
    out(
      `Burn Rate RSS: at start ${mb(atStart.rss)} + database worker process ${mb(storeRssAtStart)}, idle ${mb(idle?.rss)}, after load ${mb(after.rss)} + database worker process ${mb(storeRssAfter)} (peak between runs ${mb(peakRss)}; heap ${mb(after.heapUsed)}), ` +
        `idle again after load ${mb(idleAgain?.rss)}`,
    );
    out(
      `(idle: the engine started, no request yet, its database worker stopped after ${(config.storeIdleStopMs / 1000).toFixed(0)} s without database work` +
        `${idle ? '' : ' (it did not stop: no idle figure)'}; price library ${idle?.priceLibraryLoaded ? 'loaded' : 'not loaded yet'}. At start: 1 s after start, worker running)`,
    );
    if (portkeyIdleRss !== undefined) out(`Portkey RSS (from /proc): idle ${mb(portkeyIdleRss)}, after load ${mb(portkeyAfterRss)}`);
    out(
      `Burn Rate records: ${closed?.records ?? '?'} 'record' events, ${closed?.rows ?? '?'} rows in the database file, for ${burnSent} requests sent` +
        ` (dropped ${closed?.dropped ?? '?'}, journal lines left ${closed?.journalLeft ?? '?'})`,
    );
    if (saves.length) {
      out(
        `Burn Rate database saves between runs: median ${fmt(median(saves), 1)} ms, max ${fmt(Math.max(...saves), 1)} ms` +
          ` (file ${mb(burnSamples[burnSamples.length - 1].dbBytes)} at the end; saves run in the database worker process, off the proxy's event loop)`,
      );
    }
    for (const mode of config.modes) {
      const br16 = row('burnrate', mode, 16);
      const bare16 = row('bare', mode, 16);
      if (br16 && bare16) out(`Burn Rate / bare throughput at c=16 (${mode}): ${((br16.rps / bare16.rps) * 100).toFixed(0)}%`);
    }

    // Targets: informational, the bench exits 0 either way.
    const checks: Check[] = [];
    for (const mode of config.modes) {
      const br1 = row('burnrate', mode, 1);
      const bare1 = row('bare', mode, 1);
      if (br1 && bare1 && br1.addedP50 !== null && bare1.addedP50 !== null) {
        const d = br1.addedP50 - bare1.addedP50;
        checks.push({
          name: `added p50 at c=1 (${mode}) within 0.1 ms of the bare proxy`,
          pass: d <= 0.1,
          detail: `burnrate ${signed(br1.addedP50, 3)} ms, bare ${signed(bare1.addedP50, 3)} ms, difference ${signed(d, 3)} ms`,
        });
      }
    }
    for (const mode of config.modes) {
      const br16 = row('burnrate', mode, 16);
      if (br16?.addedP99 !== null && br16?.addedP99 !== undefined)
        checks.push({ name: `added p99 at c=16 (${mode}) <= 4 ms`, pass: br16.addedP99 <= 4, detail: `${signed(br16.addedP99, 3)} ms` });
    }
    for (const mode of config.modes) {
      const br16 = row('burnrate', mode, 16);
      const bare16 = row('bare', mode, 16);
      const pk16 = row('portkey', mode, 16);
      if (br16 && bare16)
        checks.push({
          name: `throughput at c=16 (${mode}) >= 80% of the bare proxy`,
          pass: br16.rps >= 0.8 * bare16.rps,
          detail: `${br16.rps.toFixed(0)} vs ${bare16.rps.toFixed(0)} req/s = ${((br16.rps / bare16.rps) * 100).toFixed(0)}%`,
        });
      if (br16 && pk16)
        checks.push({
          name: `throughput at c=16 (${mode}) >= 10x Portkey`,
          pass: br16.rps >= 10 * pk16.rps,
          detail: `${br16.rps.toFixed(0)} vs ${pk16.rps.toFixed(0)} req/s = ${(br16.rps / pk16.rps).toFixed(1)}x`,
        });
    }
    for (const mode of streamModes) {
      const br1 = row('burnrate', mode, 1);
      if (br1?.addedTtfbP50 !== null && br1?.addedTtfbP50 !== undefined)
        checks.push({ name: `added stream TTFB p50 at c=1 (${mode}) < 0.5 ms`, pass: br1.addedTtfbP50 < 0.5, detail: `${signed(br1.addedTtfbP50, 3)} ms` });
    }
    checks.push({
      name: 'idle RSS < 60 MB',
      pass: idle ? idle.rss! < 60 * MB : null,
      detail: idle ? `${mb(idle.rss)} (database worker stopped, no request yet)` : 'the database worker never stopped',
    });
    const allKept = closed?.records === burnSent && closed?.rows === burnSent && closed?.dropped === 0 && closed?.journalLeft === 0;
    checks.push({
      name: 'every request recorded (events = rows = requests sent, none dropped)',
      pass: closed ? allKept : null,
      detail: `${closed?.records ?? '?'} / ${closed?.rows ?? '?'} / ${burnSent}`,
    });
    out();
    for (const c of checks) out(`${c.pass === null ? 'N/A ' : c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);

    const resultFile = path.join(os.tmpdir(), `burnrate-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(
      resultFile,
      JSON.stringify(
        {
          at: new Date().toISOString(),
          node: process.version,
          cpus: cpus.length,
          cpuModel: cpus[0]?.model,
          config,
          portkey: portkey ? { version: portkey.version, idleRss: portkeyIdleRss, afterRss: portkeyAfterRss } : { skipped: portkeySkipped },
          rows,
          runs,
          burnrate: {
            startRss: atStart.rss,
            startStoreRss: storeRssAtStart,
            idleRss: idle?.rss,
            afterRss: after.rss,
            afterStoreRss: storeRssAfter,
            idleAgainRss: idleAgain?.rss,
            storeIdleStopMs: config.storeIdleStopMs,
            peakRss,
            samples: burnSamples,
            sent: burnSent,
            ...closed,
          },
          checks,
          seconds: (Date.now() - started) / 1000,
        },
        null,
        2,
      ),
    );
    out();
    out(`results: ${resultFile}`);
    if (config.cpuProf) out(`cpu profile of the Burn Rate process: ${profDir} (bundle: ${path.join(work, 'host.js')})`);
    out(`total time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await Promise.all([burn?.close(), loadgen?.close(), portkey?.close()]);
    await Promise.all([bare?.close(), fake?.close()]);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
