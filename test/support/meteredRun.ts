/**
 * The built `burnrate` CLI started as a user starts it (`node dist/cli.js run -- …`), against an
 * in-process engine whose routes go to the fake provider. Children are started asynchronously: the
 * fake lives in the test's own process and must be free to answer them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { CAPTURE_ENV } from '../../src/capture';
import { priceUsage } from '../../src/engine/pricing';
import type { RequestRecord } from '../../src/engine/database';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { DEFAULT_FAKE_USAGE } from './fakeProvider';
import { startHarness, type Harness } from './harness';

export const CLI = path.resolve(__dirname, '../../dist/cli.js');
export const FIXTURES = path.resolve(__dirname, '../fixtures');
/**
 * The agent CLIs (claude, codex, gemini, qwen, opencode: test/agents, installed by the test setup),
 * as a PATH prefix, the way a user's global install puts them on PATH.
 */
export const AGENT_BIN_PATH = path.resolve(__dirname, '../agents/node_modules/.bin');

export interface MeteredTestBed {
  h: Harness;
  records: RecordLog;
}

/** A test file's engine and fake provider: started before its tests, closed after, the fake reset before each. */
export function useMeteredTestBed(): MeteredTestBed {
  const bed = {} as MeteredTestBed;
  before(async () => {
    bed.h = await startHarness();
    bed.records = collectRecords(bed.h);
  });
  after(() => bed.h.close());
  beforeEach(() => bed.h.fake.reset());
  return bed;
}

export interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The test runner's environment without any metering of its own (it may itself run in a metered
 * terminal): no base-URL variables, no capture hooks, so only what `burnrate run` adds is in force.
 */
export function unmeteredEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const route of DEFAULT_ROUTES) delete env[route.env];
  for (const name of [CAPTURE_ENV.proxy, CAPTURE_ENV.routes, 'BURNRATE_SESSION', 'NODE_OPTIONS', 'PYTHONPATH']) delete env[name];
  return { ...env, ...extra };
}

/** Runs `node dist/cli.js ARGS…` and resolves once it has exited. */
export function burnrate(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<Finished> {
  return finished(spawn(process.execPath, [CLI, ...args], { env: opts.env ?? unmeteredEnv(), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] }), opts.input);
}

export function finished(child: ReturnType<typeof spawn>, input?: string): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin?.end(input);
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}

/** Every record the engine writes, kept so a test can ask for a session's once its command has exited. */
export interface RecordLog {
  ofSession(session: string, n?: number): Promise<RequestRecord[]>;
  /** The records written so far after the first `from` (a count taken earlier). */
  since(from: number): RequestRecord[];
  count(): number;
}

export function collectRecords(h: Harness): RecordLog {
  const seen: RequestRecord[] = [];
  const waiters = new Set<() => void>();
  h.engine.recorder.on('record', (r: RequestRecord) => {
    seen.push(r);
    for (const w of waiters) w();
  });
  return {
    since: (from) => seen.slice(from),
    count: () => seen.length,
    /** The session's records once `n` have arrived (a record is written just after its response ends). */
    ofSession(session, n = 1) {
      const mine = () => seen.filter((r) => r.session === session);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (mine().length < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(mine());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`session ${session}: ${mine().length} of ${n} record(s) written`));
        }, 10_000);
        waiters.add(check);
        check();
      });
    },
  };
}

/**
 * What the record of a call answered with the fake's usage (1,200 input tokens, 200 of them cache
 * reads; 300 output, 50 of them reasoning) must cost: the catalogue's price for that usage at the
 * request's time, what the provider bills. (Some prices depend on the hour: DeepSeek's off-peak rates.)
 */
export function expectedNanos(r: RequestRecord): number {
  const pricesProvider = DEFAULT_ROUTES.find((route) => route.id === r.provider)?.pricesProvider;
  assert.ok(pricesProvider && r.model, `${r.provider} ${r.model} is priced`);
  const u = DEFAULT_FAKE_USAGE;
  const usage = {
    inputTokens: u.input,
    cacheReadTokens: u.cachedRead,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: u.output,
    reasoningTokens: u.reasoning,
  };
  const quote = priceUsage(pricesProvider, r.model, usage, { at: new Date(r.startedAt) });
  assert.ok(quote.priced, `${r.model} has a price`);
  return quote.costNanos;
}
