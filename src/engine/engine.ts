import * as path from 'node:path';
import * as fs from 'node:fs';
import { AlertWebhook, type AlertWebhookOptions } from './alerts';
import { BudgetAlertFile, DatabaseUnreadableError, StoppedSessionFile } from './database';
import { DashboardPage, ManagementApi, loadOrCreateSecret } from './management';
import { Guards, type GuardAlert } from './guards';
import { KeyFingerprinter } from './attribution';
import type { OtlpExporter, OtlpExportOptions } from './export/otlpExport';
import { describePrices, loadStoredPriceData, watchStoredPriceData, UnpricedModelFile, UnpricedModels, userPriceOverridesFile } from './pricing';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, ProxyServer, type LingerBound } from './proxy';
import { Recorder, DEFAULT_STORE_IDLE_STOP_MS, Retention, SpendStore, storeFeed } from './store';
import { otlpCursorFile, readCursorFile } from './export';
import { RouteTable } from './providers';
import type { SummaryBase } from './queries';
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
  /** What is still read of a body refused before it was read (DEFAULT_LINGER): see proxy/lingeringClose.ts. */
  linger?: LingerBound;
  saveIntervalMs?: number;
  /**
   * Stop the database worker after this long without database work (DEFAULT_STORE_IDLE_STOP_MS;
   * 0: keep it running). It starts again, on the same file, at the next record or query.
   */
  storeIdleStopMs?: number;
  /** Keep raw request records this many days (0: forever). Default DEFAULT_RETENTION_DAYS. */
  retentionDays?: number;
  /** Start with recording paused (requests forwarded, not recorded), e.g. when taking over from a paused engine. */
  recordingPaused?: boolean;
  /** Budget and guard settings for all traffic (burnrate.budget.*, burnrate.guard.*); changeable live via the management API. */
  settings?: Partial<BurnRateSettings>;
  /** Send every record to an OpenTelemetry collector (see otlpExport.ts); off when undefined. */
  otlp?: Omit<OtlpExportOptions, 'feed' | 'cursorFile' | 'log'>;
  /** Post budget, forecast, guard and anomaly alerts to this webhook (burnrate.alerts.webhookUrl); off when undefined. */
  alertWebhook?: AlertWebhookOptions;
  log?: Log;
}

/** Where the CLI keeps its data unless told otherwise ($BURNRATE_HOME or ~/.burnrate). */
export { defaultDataDir, defaultDbPath } from './dataDir';

/** Raw records older than this are deleted (a year and a month: this month compared with the same one last year). */
export const DEFAULT_RETENTION_DAYS = 400;

/** The whole engine: database, recorder and proxy, wired together. No VS Code in here. */
export class Engine {
  /** Set when the database file could not be read: where it was moved to, and why. */
  keptAside: { file: string; reason: string } | undefined;

  private constructor(
    readonly proxy: ProxyServer,
    readonly recorder: Recorder,
    readonly store: SpendStore,
    readonly routes: RouteTable,
    readonly url: string,
    readonly management: ManagementApi,
    readonly guards: Guards,
    /** Announces, once per model, calls the price data has no price for. */
    readonly unpricedModels: UnpricedModels,
    /** Posts the guards' alerts to the team's chat, when a webhook is set. */
    readonly alertWebhook: AlertWebhook | undefined,
    /** Deletes old records daily, keeping those the OTLP collector has not acknowledged. */
    readonly retention: Retention,
  ) {}

  static async start(opts: EngineOptions): Promise<Engine> {
    const log = opts.log ?? (() => {});
    const routes = new RouteTable(opts.upstreams);
    loadRefreshedPrices(opts.dataDir, log);
    const { store, keptAside } = await openStoreKeepingUnreadableAside(opts.dbPath, opts.storeIdleStopMs ?? DEFAULT_STORE_IDLE_STOP_MS, log);
    const exporter: { current?: OtlpExporter } = {};
    const retention = new Retention({
      store,
      days: opts.retentionDays ?? DEFAULT_RETENTION_DAYS,
      exportedThrough: () => exportedThrough(opts, exporter.current),
      log,
    });
    await retention.pass();
    const recorder = await Recorder.open(store, { saveIntervalMs: opts.saveIntervalMs, log });
    const { summaryBase, guards } = await buildGuards(store, opts, log);
    const alertWebhook = startAlertWebhook(guards, opts.alertWebhook, log);
    const unpricedModels = new UnpricedModels({
      store: UnpricedModelFile.inDataDir(opts.dataDir, log),
      overridesFile: userPriceOverridesFile(opts.dataDir),
      log,
    });
    const management = buildManagement({ opts, store, routes, recorder, guards, unpricedModels, summaryBase, alertWebhook, retention, log });
    const proxy = buildProxy({ opts, routes, recorder, guards, unpricedModels, management, log });
    const url = await listenOrCloseAll(proxy, opts.port, { management, recorder, store, alertWebhook });
    // Thresholds crossed before this start that never alerted (a budget set or raised meanwhile);
    // the first window to follow shows them.
    guards.reviewBudgets();
    const engine = new Engine(proxy, recorder, store, routes, url, management, guards, unpricedModels, alertWebhook, retention);
    engine.keptAside = keptAside;
    retention.start();
    engine.stopPriceWatch = watchStoredPriceData(opts.dataDir, log);
    if (opts.otlp) engine.otlpExporter = exporter.current = await startOtlpExport(opts.otlp, opts.dbPath, store, recorder, log);
    return engine;
  }

  /** Sends records to an OpenTelemetry collector, when configured. */
  otlpExporter: OtlpExporter | undefined;
  private stopPriceWatch: (() => void) | undefined;

  /** Stops accepting requests, lets the last records land, saves the database. */
  async close(): Promise<void> {
    this.retention.stop();
    this.stopPriceWatch?.();
    this.management.close();
    this.alertWebhook?.close();
    await this.proxy.close();
    await this.recorder.close();
    // After the recorder: its last records are in the database, for a last export attempt.
    await this.otlpExporter?.close();
    await this.store.close();
  }
}

/** Refreshed price data, when the user fetched some; the bundled catalogue otherwise. */
function loadRefreshedPrices(dataDir: string, log: Log): void {
  const prices = loadStoredPriceData(dataDir, log);
  if (prices) log('info', `prices from ${describePrices(prices)}`);
}

/** The summary base and the guards, both read from the database at the same moment. */
async function buildGuards(store: SpendStore, opts: EngineOptions, log: Log): Promise<{ summaryBase: SummaryBase; guards: Guards }> {
  const now = Date.now();
  const summaryBase = await store.run('summary', 'base', now);
  const guards = new Guards({
    baseline: await store.run('guardBaseline', 'load', now),
    settings: opts.settings,
    alertedStore: BudgetAlertFile.inDataDir(opts.dataDir, log),
    stoppedStore: StoppedSessionFile.inDataDir(opts.dataDir, log),
    log,
  });
  return { summaryBase, guards };
}

/**
 * The webhook, subscribed to the guards' one alert stream (budget thresholds, forecasts, guard trips,
 * anomalies: every kind it raises, new ones included). Before reviewBudgets(), so alerts raised at start go out too.
 */
function startAlertWebhook(guards: Guards, options: AlertWebhookOptions | undefined, log: Log): AlertWebhook | undefined {
  if (!options?.url) return undefined;
  const webhook = new AlertWebhook(options, log);
  guards.on('alert', (alert: GuardAlert) => webhook.send(alert));
  // The URL holds its token: never in the log, not even its host.
  log('info', 'alerts are also posted to the alert webhook');
  return webhook;
}

interface EngineParts {
  opts: EngineOptions;
  routes: RouteTable;
  recorder: Recorder;
  guards: Guards;
  unpricedModels: UnpricedModels;
  log: Log;
}

function buildManagement({
  opts,
  store,
  routes,
  recorder,
  guards,
  unpricedModels,
  summaryBase,
  alertWebhook,
  retention,
  log,
}: EngineParts & { store: SpendStore; summaryBase: SummaryBase; alertWebhook: AlertWebhook | undefined; retention: Retention }): ManagementApi {
  const management: ManagementApi = new ManagementApi({
    recorder,
    summaryBase,
    secret: loadOrCreateSecret(opts.dataDir),
    recordingPaused: opts.recordingPaused,
    guards,
    prices: {
      unpricedModels,
      dataDir: opts.dataDir,
      pricesProviderOf: (provider) => routes.get(provider)?.pricesProvider,
      repriceModel: async (provider, model) => {
        const result = await store.repriceModel(opts.dataDir, provider, model);
        if (result.changed) management.resetSummary(await store.run('summary', 'base', Date.now()));
        return result;
      },
    },
    pricesProviders: routes.pricesProviders(),
    alerts: { webhook: alertWebhook },
    retentionHold: () => retention.holdView,
    log,
  });
  return management;
}

function buildProxy({ opts, routes, recorder, guards, unpricedModels, management, log }: EngineParts & { management: ManagementApi }): ProxyServer {
  const page = new DashboardPage();
  return new ProxyServer({
    routes,
    fingerprinter: KeyFingerprinter.fromSaltFile(path.join(opts.dataDir, 'key-salt')),
    onRecord: (rec, modelPriceKnown) => {
      try {
        guards.settle(rec);
      } catch (e) {
        log('error', `guards could not count ${rec.id}: ${(e as Error).message}`);
      }
      if (!management.recordingPaused) recorder.record(rec);
      // After the record is safe: an announcement is news, the record is the data.
      if (modelPriceKnown !== undefined) unpricedModels.observe(rec.provider, rec.model, modelPriceKnown);
    },
    guard: guards,
    localHandler: (req, res, url) => page.handle(req, res, url) || management.handle(req, res, url),
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    linger: opts.linger,
    log,
  });
}

/** Starts listening; when that fails, closes what was opened so far and says why. */
async function listenOrCloseAll(
  proxy: ProxyServer,
  port: number | undefined,
  opened: { management: ManagementApi; recorder: Recorder; store: SpendStore; alertWebhook: AlertWebhook | undefined },
): Promise<string> {
  try {
    return await proxy.listen(port ?? DEFAULT_PORT);
  } catch (e) {
    opened.management.close();
    opened.alertWebhook?.close();
    await opened.recorder.close();
    await opened.store.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      throw Object.assign(new Error(`port ${port} on 127.0.0.1 is already in use (is another burnrate serve running? choose another with --port)`), {
        code: 'EADDRINUSE',
      });
    throw e;
  }
}

/** Starts sending records to an OpenTelemetry collector; undefined when that failed. */
async function startOtlpExport(
  otlp: NonNullable<EngineOptions['otlp']>,
  dbPath: string | undefined,
  store: SpendStore,
  recorder: Recorder,
  log: Log,
): Promise<OtlpExporter | undefined> {
  try {
    // Loaded only when export is on: the OpenTelemetry SDK is the engine's largest module (~25 MB).
    const { OtlpExporter } = require('./export/otlpExport') as typeof import('./export/otlpExport');
    const exporter = await OtlpExporter.start({
      ...otlp,
      feed: storeFeed(store),
      cursorFile: otlpCursorFile(dbPath),
      log,
    });
    recorder.on('record', () => exporter.wake());
    log('info', `exporting records to the OpenTelemetry collector at ${otlp.endpoint}`);
    return exporter;
  } catch (e) {
    // Telemetry trouble never stops the proxy: say so and run without export.
    log('error', `OTLP export is off: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * Opens the database for writing. One that cannot be read is never overwritten: it is renamed
 * aside (`<db>.unreadable-<time>`) and a new one started, so the proxy keeps working; the caller
 * tells the user where the old file is. Its journal, readable line by line, is replayed into the new one.
 */
async function openStoreKeepingUnreadableAside(
  file: string | undefined,
  idleStopMs: number,
  log: Log,
): Promise<{ store: SpendStore; keptAside?: { file: string; reason: string } }> {
  const options = { create: true, idleStopMs, progress: (message: string) => log('info', message) };
  try {
    return { store: await SpendStore.open(file, options) };
  } catch (e) {
    if (!(e instanceof DatabaseUnreadableError) || !file) throw e;
    const aside = `${file}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      fs.renameSync(file, aside);
      // Its segments go with it: the new database would take them for left-overs.
      if (fs.existsSync(`${file}.segments`)) fs.renameSync(`${file}.segments`, `${aside}.segments`);
    } catch (renameError) {
      throw new DatabaseUnreadableError(`${e.message}; it could not be moved aside either (${(renameError as Error).message})`);
    }
    const reason = e.message.replace(/; it was left untouched$/, '');
    log('error', `${reason}. It was kept, untouched, as ${aside}; recording continues in a new database.`);
    return { store: await SpendStore.open(file, options), keptAside: { file: aside, reason } };
  }
}

/**
 * The last record the OTLP collector acknowledged, when records are exported: the running
 * exporter's position, or before it runs (retention's pass at start) the one it saved.
 */
function exportedThrough(opts: EngineOptions, exporter: OtlpExporter | undefined): number | undefined {
  if (!opts.otlp) return undefined;
  return exporter?.position?.seq ?? readCursorFile(otlpCursorFile(opts.dbPath))?.seq;
}
