import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { Engine, type EngineOptions } from '../../src/engine/engine';
import { readSecret } from '../../src/engine/management';
import type { RequestRecord } from '../../src/engine/database';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { startFakeProvider, type FakeProvider } from './fakeProvider';

export interface Harness {
  fake: FakeProvider;
  engine: Engine;
  dir: string;
  dbPath: string;
  /** Proxy base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The management API's per-install secret (Authorization: Bearer …). */
  secret: string;
  /** Every record the engine has written, in order (tests may empty it). */
  records: RequestRecord[];
  /** Resolves with the next `n` records the engine writes. */
  nextRecords(n?: number): Promise<RequestRecord[]>;
  close(): Promise<void>;
}

/** A real engine (proxy, recorder, database file) with every provider routed to one fake upstream (or to `upstreams`). */
export async function startHarness(
  opts: {
    maxBodyBytes?: number;
    otlp?: EngineOptions['otlp'];
    settings?: EngineOptions['settings'];
    storeIdleStopMs?: number;
    upstreams?: Record<string, string>;
    alertWebhook?: EngineOptions['alertWebhook'];
    log?: EngineOptions['log'];
  } = {},
): Promise<Harness> {
  const fake = await startFakeProvider();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-it-'));
  const dbPath = path.join(dir, 'spend.sqlite');
  const upstreams = { ...mountedUpstreams(fake.url), ...opts.upstreams };
  const engine = await Engine.start({
    port: 0,
    dbPath,
    dataDir: dir,
    upstreams,
    maxBodyBytes: opts.maxBodyBytes,
    saveIntervalMs: 0,
    otlp: opts.otlp,
    settings: opts.settings,
    storeIdleStopMs: opts.storeIdleStopMs,
    alertWebhook: opts.alertWebhook,
    log: opts.log,
  });
  const records: RequestRecord[] = [];
  engine.recorder.on('record', (r: RequestRecord) => records.push(r));
  return {
    fake,
    engine,
    dir,
    dbPath,
    url: engine.url,
    port: Number(new URL(engine.url).port),
    secret: readSecret(dir)!,
    records,
    nextRecords(n = 1) {
      return new Promise((resolve) => {
        const seen: RequestRecord[] = [];
        const on = (r: RequestRecord) => {
          seen.push(r);
          if (seen.length === n) {
            engine.recorder.off('record', on);
            resolve(seen);
          }
        };
        engine.recorder.on('record', on);
      });
    },
    async close() {
      await engine.close();
      await fake.close();
    },
  };
}

/**
 * One harness for a test file: started before its tests and closed after them; each test starts
 * clean (earlier records flushed and forgotten, the fake reset, the guards at their defaults). The
 * value stands for the harness once it has started.
 */
export function useHarness(opts: Parameters<typeof startHarness>[0] = {}): Harness {
  let current: Harness | undefined;
  before(async () => {
    current = await startHarness(opts);
  });
  after(async () => {
    await current?.close();
  });
  beforeEach(async () => {
    await current!.engine.recorder.flush();
    current!.engine.guards.configure({ global: {} });
    current!.fake.reset();
    current!.records.length = 0;
  });
  return new Proxy({} as Harness, { get: (_, key) => current![key as keyof Harness] });
}

/**
 * Every provider routed to the fake, each under its own id and its real base path
 * (`<fake>/groq`, `<fake>/fireworks/inference`): the fake then serves only the paths that provider
 * serves (test/support/providerPaths.ts), so a route that builds a wrong path fails.
 */
export function mountedUpstreams(fakeUrl: string): Record<string, string> {
  return Object.fromEntries(DEFAULT_ROUTES.map((r) => [r.id, `${fakeUrl}/${r.id}${new URL(r.baseUrl).pathname.replace(/\/+$/, '')}`]));
}

/** $/MTok × tokens is micro-dollars; nano-dollars are a thousand times that. */
export function nanos(microDollars: number): number {
  return Math.round(microDollars * 1000);
}
