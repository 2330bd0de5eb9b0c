/**
 * Portkey's open-source gateway (npm @portkey-ai/gateway) as a peer target. Installed on demand
 * into a cache folder under the OS temp dir, never into this project's package.json. Every failure
 * is thrown as a one-line reason; bench.ts prints it as "portkey: skipped (reason)" and carries on.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';

const VERSION = process.env.BENCH_PORTKEY_VERSION || '1.15.2';
// The published gateway declares @hono/node-server ^1.3.3; from 1.14 on, its Response shim keeps
// the upstream fetch Response's immutable Headers and every stream fails with "TypeError: immutable".
// Portkey's own lockfile (and its patches/ folder) use 1.13.5, so the bench pins that.
const HONO_NODE_SERVER = '1.13.5';

export interface Portkey {
  url: string;
  version: string;
  pid: number;
  close(): Promise<void>;
}

function installDir(): string {
  return path.join(os.tmpdir(), 'burnrate-bench-portkey');
}

function entry(dir: string): string {
  return path.join(dir, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
}

function installedVersion(dir: string, pkg: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Installs (or reuses) the gateway; resolves with its start script. */
async function install(log: (m: string) => void): Promise<string> {
  const dir = installDir();
  if (installedVersion(dir, '@portkey-ai/gateway') === VERSION && installedVersion(dir, '@hono/node-server') === HONO_NODE_SERVER && fs.existsSync(entry(dir)))
    return entry(dir);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ private: true, dependencies: { '@portkey-ai/gateway': VERSION }, overrides: { '@hono/node-server': HONO_NODE_SERVER } }, null, 2),
  );
  log(`portkey: installing @portkey-ai/gateway@${VERSION} into ${dir} …`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await new Promise<void>((resolve, reject) => {
    // --ignore-scripts: its only script is patch-package, whose patches are not in the published package.
    execFile(
      npm,
      ['install', '--prefix', dir, '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'],
      { timeout: 180_000, cwd: dir },
      (err, _out, stderr) => {
        if (!err) return resolve();
        // npm's last line is only "A complete log of this run…"; its first error lines say what went wrong.
        const lines = (stderr || err.message).split('\n').map((l) => l.replace(/^npm (error|ERR!)\s*/, '').trim());
        const useful = lines.filter((l) => l && !l.startsWith('A complete log') && !l.startsWith('npm warn'));
        reject(new Error(`npm install failed: ${useful.slice(0, 2).join(' / ') || err.message}`));
      },
    );
  });
  if (!fs.existsSync(entry(dir))) throw new Error(`installed, but ${entry(dir)} is missing (package layout changed?)`);
  return entry(dir);
}

/** A port that was free a moment ago (the gateway takes --port=N and cannot report a port 0 pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`gateway exited (${child.exitCode ?? child.signalCode}): ${stderr().trim().split('\n').pop() ?? ''}`);
    try {
      const res = await request(url + '/', { headersTimeout: 1_000, bodyTimeout: 1_000 });
      const text = await res.body.text();
      if (res.statusCode === 200 && text.includes('AI Gateway')) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('gateway did not answer GET / within 30 s');
}

export function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startPortkey(log: (m: string) => void, track: (c: ChildProcess) => void): Promise<Portkey> {
  const script = await install(log);
  const port = await freePort();
  // NODE_ENV=production and --headless: no UI routes, no log-stream endpoint, just the gateway.
  const child = spawn(process.execPath, [script, `--port=${port}`, '--headless'], {
    cwd: installDir(),
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  track(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (err.length < 20_000) err += d.toString('utf8');
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, () => err);
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  return { url, version: VERSION, pid: child.pid!, close: () => stopChild(child) };
}

/** CPU time (user + system, all threads) another process has used, in ms, from /proc (Linux; 10 ms ticks). */
export function cpuMsOfPid(pid: number, thread?: number): number | undefined {
  try {
    // Fields after "(comm) ": state is [0], utime [11], stime [12], in clock ticks (100 Hz on Linux).
    // With `thread` (a tid; the pid itself is the main thread), that one thread's time only.
    const file = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
    const fields = fs.readFileSync(file, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Resident set of another process, from /proc (Linux); undefined elsewhere. */
export function rssOfPid(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
