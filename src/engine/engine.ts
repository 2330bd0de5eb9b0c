import * as os from 'node:os';
import * as path from 'node:path';
import { SpendDatabase } from './db';
import { DashboardPage } from './dashboardPage';
import type { Budget } from './dashboardQueries';
import { KeyFingerprinter } from './keyFingerprint';
import { ManagementApi } from './management';
import { loadOrCreateSecret } from './managementProtocol';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, ProxyServer } from './proxy';
import { SpendQuery } from './queries';
import { Recorder } from './recorder';
import { RouteTable } from './routes';

export type LogLevel = 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string) => void;

export interface EngineOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Database file; undefined keeps records in memory only (tests). */
  dbPath?: string;
  /** Directory for the key-fingerprint salt. */
  dataDir: string;
  upstreams?: Record<string, string>;
  maxBodyBytes?: number;
  saveIntervalMs?: number;
  /** Start with recording paused (requests forwarded, not recorded), e.g. when taking over from a paused engine. */
  recordingPaused?: boolean;
  /** Budgets the dashboard shows (from burnrate.budget.daily / .monthly; 0 = none). */
  budget?: Budget;
  log?: Log;
}

/** Where the CLI keeps its data unless told otherwise ($BURNRATE_HOME or ~/.burnrate). */
export function defaultDataDir(): string {
  return process.env.BURNRATE_HOME || path.join(os.homedir(), '.burnrate');
}

export function defaultDbPath(dataDir = defaultDataDir()): string {
  return path.join(dataDir, 'burnrate.sqlite');
}

/** The whole engine: database, recorder and proxy, wired together. No VS Code in here. */
export class Engine {
  private constructor(
    readonly proxy: ProxyServer,
    readonly recorder: Recorder,
    readonly query: SpendQuery,
    readonly routes: RouteTable,
    readonly url: string,
    readonly management: ManagementApi,
  ) {}

  static async start(opts: EngineOptions): Promise<Engine> {
    const log = opts.log ?? (() => {});
    const routes = new RouteTable(opts.upstreams);
    const database = await SpendDatabase.open(opts.dbPath, { create: true });
    const recorder = await Recorder.open(database, { saveIntervalMs: opts.saveIntervalMs, log });
    const management = new ManagementApi({
      recorder,
      secret: loadOrCreateSecret(opts.dataDir),
      recordingPaused: opts.recordingPaused,
      budget: opts.budget,
      pricesProviders: routes.pricesProviders(),
      log,
    });
    const page = new DashboardPage();
    const proxy = new ProxyServer({
      routes,
      fingerprinter: KeyFingerprinter.fromSaltFile(path.join(opts.dataDir, 'key-salt')),
      onRecord: (rec) => {
        if (!management.recordingPaused) recorder.record(rec);
      },
      localHandler: (req, res, url) => page.handle(req, res, url) || management.handle(req, res, url),
      maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      log,
    });
    let url: string;
    try {
      url = await proxy.listen(opts.port ?? DEFAULT_PORT);
    } catch (e) {
      management.close();
      await recorder.close();
      database.close();
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') throw Object.assign(new Error(`port ${opts.port} on 127.0.0.1 is already in use (is another burnrate serve running? choose another with --port)`), { code: 'EADDRINUSE' });
      throw e;
    }
    return new Engine(proxy, recorder, new SpendQuery(database.db), routes, url, management);
  }

  /** Stops accepting requests, lets the last records land, saves the database. */
  async close(): Promise<void> {
    this.management.close();
    await this.proxy.close();
    await this.recorder.close();
    this.recorder.database.close();
  }
}
