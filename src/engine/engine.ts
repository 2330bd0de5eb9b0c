import * as os from 'node:os';
import * as path from 'node:path';
import { BudgetAlertFile } from './budgetAlertStore';
import { SpendDatabase } from './db';
import { loadGuardBaseline } from './guardBaseline';
import { Guards } from './guards';
import { DashboardPage } from './dashboardPage';
import { KeyFingerprinter } from './keyFingerprint';
import { ManagementApi } from './management';
import { loadOrCreateSecret } from './managementProtocol';
import { databaseFeed } from './exportFeed';
import type { OtlpExporter, OtlpExportOptions } from './otlpExport';
import { describePrices, loadStoredPriceData, watchStoredPriceData } from './priceData';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, ProxyServer } from './proxy';
import { SpendQuery } from './queries';
import { Recorder } from './recorder';
import { RouteTable } from './routes';
import type { BurnRateSettings } from './settings';

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
  /** Budget and guard settings for all traffic (burnrate.budget.*, burnrate.guard.*); changeable live via the management API. */
  settings?: Partial<BurnRateSettings>;
  /** Send every record to an OpenTelemetry collector (see otlpExport.ts); off when undefined. */
  otlp?: Omit<OtlpExportOptions, 'feed' | 'cursorFile' | 'log'>;
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
    readonly guards: Guards,
  ) {}

  static async start(opts: EngineOptions): Promise<Engine> {
    const log = opts.log ?? (() => {});
    const routes = new RouteTable(opts.upstreams);
    // Refreshed price data, when the user fetched some; the bundled catalogue otherwise.
    const prices = loadStoredPriceData(opts.dataDir, log);
    if (prices) log('info', `prices from ${describePrices(prices)}`);
    const database = await SpendDatabase.open(opts.dbPath, { create: true });
    const recorder = await Recorder.open(database, { saveIntervalMs: opts.saveIntervalMs, log });
    const guards = new Guards({ baseline: loadGuardBaseline(database.db), settings: opts.settings, alertedStore: BudgetAlertFile.inDataDir(opts.dataDir, log), log });
    const management = new ManagementApi({
      recorder,
      secret: loadOrCreateSecret(opts.dataDir),
      recordingPaused: opts.recordingPaused,
      guards,
      pricesProviders: routes.pricesProviders(),
      log,
    });
    const page = new DashboardPage();
    const proxy = new ProxyServer({
      routes,
      fingerprinter: KeyFingerprinter.fromSaltFile(path.join(opts.dataDir, 'key-salt')),
      onRecord: (rec) => {
        try {
          guards.settle(rec);
        } catch (e) {
          log('error', `guards could not count ${rec.id}: ${(e as Error).message}`);
        }
        if (!management.recordingPaused) recorder.record(rec);
      },
      guard: guards,
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
    // Thresholds crossed before this start that never alerted (a budget set or raised meanwhile);
    // the first window to follow shows them.
    guards.reviewBudgets();
    const engine = new Engine(proxy, recorder, new SpendQuery(database.db), routes, url, management, guards);
    engine.stopPriceWatch = watchStoredPriceData(opts.dataDir, log);
    if (opts.otlp) {
      try {
        // Loaded only when export is on: the OpenTelemetry SDK is the engine's largest module (~25 MB).
        const { OtlpExporter } = require('./otlpExport') as typeof import('./otlpExport');
        engine.otlpExporter = await OtlpExporter.start({
          ...opts.otlp,
          feed: databaseFeed(database.db),
          // Beside the database it tracks, so two databases never share an export position.
          cursorFile: opts.dbPath ? `${opts.dbPath}.otlp-cursor.json` : undefined,
          log,
        });
        const exporter = engine.otlpExporter;
        recorder.on('record', () => exporter.wake());
        log('info', `exporting records to the OpenTelemetry collector at ${opts.otlp.endpoint}`);
      } catch (e) {
        // Telemetry trouble never stops the proxy: say so and run without export.
        log('error', `OTLP export is off: ${(e as Error).message}`);
      }
    }
    return engine;
  }

  /** Sends records to an OpenTelemetry collector, when configured. */
  otlpExporter: OtlpExporter | undefined;
  private stopPriceWatch: (() => void) | undefined;

  /** Stops accepting requests, lets the last records land, saves the database. */
  async close(): Promise<void> {
    this.stopPriceWatch?.();
    this.management.close();
    await this.proxy.close();
    await this.recorder.close();
    // After the recorder: its last records are in the database, for a last export attempt.
    await this.otlpExporter?.close();
    this.recorder.database.close();
  }
}
