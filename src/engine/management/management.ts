import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type * as http from 'node:http';
import {
  MANAGEMENT_PREFIX,
  ManagementRoutes,
  ManagementRoutes as R,
  routeKey,
  type AlertAudience,
  type EngineHealth,
  type ManagementRouteName,
  type Budget,
  type DashboardData,
  type RetentionHoldView,
} from '../../shared';
import { csvHeader, csvLine, jsonLine } from '../export';
import { ALERT_ROUTE_ANSWERS, type AlertRouteContext } from './alertRoutes';
import { estimateCost } from './costEstimate';
import { bodyFields, GUARD_ROUTE_ANSWERS, type BodyFields, type RouteAnswer } from './guardRoutes';
import type { GuardAlert, Guards } from '../guards';
import { PRICE_ROUTE_ANSWERS, type PriceRouteContext } from './priceRoutes';
import { readDashboardRange, readFilter, readWhatIfQuery } from './rangeQuery';
import { listPrices } from '../pricing';
import type { RequestRecord } from '../database';
import type { Recorder } from '../store';
import { SummaryTracker, type SpendSummary, type SummaryBase } from '../queries';

declare const BURNRATE_VERSION: string | undefined;
const VERSION = typeof BURNRATE_VERSION === 'string' ? BURNRATE_VERSION : 'dev';

export interface ManagementOptions {
  recorder: Recorder;
  /** The period totals at start (SummaryQuery.base, run in the store's worker). */
  summaryBase: SummaryBase;
  secret: string;
  recordingPaused?: boolean;
  /** Budgets and guards: their routes, and their alerts as `alert` events on the events stream. */
  guards?: Guards;
  /** Models without a price: their routes, and their announcements as `alert` events too. */
  prices?: PriceRouteContext;
  /** The alert webhook, for its test alert. */
  alerts?: AlertRouteContext;
  /** Records retention keeps for the OTLP collector, shown on the dashboard. */
  retentionHold?: () => RetentionHoldView | null;
  /** Catalogue providers of the route table, for the price table and estimates. */
  pricesProviders?: string[];
  /** How long to gather records before pushing one summary (keeps bursts cheap). */
  pushDelayMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

const HEARTBEAT_MS = 15_000;
const MAX_PENDING_ALERTS = 20;
const PENDING_ALERT_MAX_AGE_MS = 60 * 60_000;

/**
 * The engine's management API: health, a pushed spend summary, pause/resume and export. Served on
 * the proxy's own port (the proxy has already refused foreign Hosts and web-page Origins).
 */
export class ManagementApi {
  readonly health: EngineHealth = { service: 'burnrate', version: VERSION, pid: process.pid, instance: randomUUID(), startedAt: Date.now() };
  private readonly secretDigest: Buffer;
  private readonly tracker: SummaryTracker;
  private readonly subscribers = new Set<http.ServerResponse>();
  /** The workspace each following window shows (?workspace= on the events stream), to address alerts. */
  private readonly subscriberWorkspaces = new Map<http.ServerResponse, string>();
  /** The stream of the window hosting this engine (?host=<instance>), if it follows. */
  private hostSubscriber: http.ServerResponse | undefined;
  /** Alerts raised while no window followed (at start, or under `burnrate serve`): the next window to follow shows them. */
  private pendingAlerts: GuardAlert[] = [];
  private readonly heartbeat: NodeJS.Timeout;
  private pushTimer: NodeJS.Timeout | undefined;
  private midnightTimer: NodeJS.Timeout | undefined;
  private paused: boolean;
  private closed = false;
  private readonly onRecord = (rec: RequestRecord) => {
    this.tracker.add(rec);
    this.schedulePush();
  };
  private readonly onAlert = (alert: GuardAlert) => {
    if (this.closed) return;
    if (!this.subscribers.size) {
      this.pendingAlerts.push(alert);
      if (this.pendingAlerts.length > MAX_PENDING_ALERTS) this.pendingAlerts.shift();
      return;
    }
    // Every window receives every alert (a metered terminal's window shows its session's); the
    // audience says which one shows it: a window of the alert's workspace when one follows, else the
    // window hosting the engine, else (no window hosts it: `burnrate serve`) the longest-following window.
    const audience = alert.workspace !== null && [...this.subscriberWorkspaces.values()].includes(alert.workspace) ? 'workspace' : 'owner';
    const designated = audience === 'owner' && !this.hostSubscriber ? this.subscribers.values().next().value : undefined;
    for (const res of this.subscribers) {
      this.write(res, alertEvent(alert, res === designated ? 'this-window' : audience));
    }
  };
  private readonly onBudgets = () => this.schedulePush();

  constructor(private readonly opts: ManagementOptions) {
    this.secretDigest = digest(opts.secret);
    this.paused = !!opts.recordingPaused;
    this.tracker = new SummaryTracker(opts.summaryBase);
    opts.recorder.on('record', this.onRecord);
    opts.guards?.on('alert', this.onAlert);
    opts.prices?.unpricedModels.on('alert', this.onAlert);
    opts.guards?.on('budgets', this.onBudgets);
    // A stopped, allowed or refused session: windows refetch the session list on the next summary.
    opts.guards?.on('sessions', this.onBudgets);
    this.heartbeat = setInterval(() => this.broadcast(': ping\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.scheduleMidnight();
  }

  get recordingPaused(): boolean {
    return this.paused;
  }

  setRecordingPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.opts.log?.('info', paused ? 'recording paused: requests are forwarded but not recorded' : 'recording resumed');
    this.push();
  }

  /** Starts the live totals again from the database (after past records were repriced). */
  resetSummary(base: SummaryBase): void {
    this.tracker.reset(base);
    this.schedulePush();
  }

  summary(): SpendSummary {
    const summary = this.tracker.snapshot(this.paused);
    // Budget use as the guards count it (per workspace too), so every window colours its status bar alike.
    if (this.opts.guards) {
      summary.budgets = this.opts.guards.budgets();
      summary.stoppedSessions = this.opts.guards.stoppedSessions();
    }
    return summary;
  }

  /** Serves /_burnrate/* requests; returns false for everything else (provider routes). */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
    if (!url.pathname.startsWith(MANAGEMENT_PREFIX)) return false;
    const key = `${req.method} ${url.pathname}`;
    // Health alone needs no secret: it tells a Burn Rate engine from another program holding the port.
    if (key !== routeKey(R.health) && !this.authorised(req)) {
      sendJson(res, 401, { error: { type: 'unauthorized', message: 'the management API needs the per-install secret (Authorization: Bearer …)' } });
      return true;
    }
    const handler = this.routeHandlers.get(key);
    if (handler) handler(req, res, url);
    else notFoundRoute(req, res, url);
    return true;
  }

  /** Every route of ManagementRoutes with its handler, by "METHOD path"; a new route needs its row there and its handler here. */
  private readonly routeHandlers = routeTable({
    health: (_req, res) => sendJson(res, 200, this.health),
    summary: (_req, res) => sendJson(res, 200, this.summary()),
    events: (req, res, url) => this.subscribe(req, res, url.searchParams.get('workspace'), url.searchParams.get('host') === this.health.instance),
    recording: (req, res) => this.answerRecording(req, res),
    export: (_req, res, url) =>
      void this.export(url, res).catch((e: Error) => {
        this.opts.log?.('error', `export failed: ${e.message}`);
        res.destroy();
      }),
    dashboard: (_req, res, url) => this.answerDashboard(url, res),
    whatIf: (_req, res, url) => this.answerWhatIf(url, res),
    prices: (_req, res, url) => sendJson(res, 200, listPrices(this.opts.pricesProviders ?? [], url.searchParams.get('q')?.trim() || undefined)),
    estimate: (_req, res, url) => {
      const estimate = estimateCost(url.searchParams, this.opts.pricesProviders ?? []);
      if (typeof estimate === 'string') badRequest(res, estimate);
      else sendJson(res, 200, estimate);
    },
    ...answeringFromBody(GUARD_ROUTE_ANSWERS, () => this.opts.guards),
    ...answeringFromBody(PRICE_ROUTE_ANSWERS, () => this.opts.prices),
    ...answeringFromBody(ALERT_ROUTE_ANSWERS, () => this.opts.alerts ?? { webhook: undefined }),
  });

  private answerRecording(req: http.IncomingMessage, res: http.ServerResponse): void {
    void readSmallJson(req).then((body) => {
      const paused = (body as { paused?: unknown } | undefined)?.paused;
      if (typeof paused !== 'boolean') return sendJson(res, 400, { error: { type: 'bad_request', message: 'expected {"paused": true|false}' } });
      this.setRecordingPaused(paused);
      sendJson(res, 200, this.summary());
    });
  }

  private answerDashboard(url: URL, res: http.ServerResponse): void {
    const filter = readDashboardRange(url);
    if (typeof filter === 'string') return badRequest(res, filter);
    this.answerFromStore(res, async (store): Promise<DashboardData> => ({
      ...(await store.run('dashboard', 'data', filter, this.budgetFor(filter.workspace))),
      retentionHold: this.opts.retentionHold?.() ?? null,
    }));
  }

  private answerWhatIf(url: URL, res: http.ServerResponse): void {
    const query = readWhatIfQuery(url, this.opts.pricesProviders ?? []);
    if (typeof query === 'string') return badRequest(res, query);
    this.answerFromStore(res, (store) => store.run('dashboard', 'whatIf', query.range, query.model));
  }

  /** Answers with a figure from the store's worker, once the records still queued for the next batch insert are in. */
  private answerFromStore(res: http.ServerResponse, figure: (store: Recorder['store']) => Promise<unknown>): void {
    const { recorder } = this.opts;
    void recorder
      .flush()
      .then(() => figure(recorder.store))
      .then(
        (data) => sendJson(res, 200, data),
        (e: Error) => sendJson(res, 503, { error: { type: 'store_unavailable', message: `the dashboard could not be computed: ${e.message}` } }),
      );
  }

  /** Ends every event stream (so windows following this engine notice at once) and stops timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.recorder.off('record', this.onRecord);
    this.opts.guards?.off('alert', this.onAlert);
    this.opts.prices?.unpricedModels.off('alert', this.onAlert);
    this.opts.guards?.off('budgets', this.onBudgets);
    this.opts.guards?.off('sessions', this.onBudgets);
    clearInterval(this.heartbeat);
    if (this.pushTimer) clearTimeout(this.pushTimer);
    if (this.midnightTimer) clearTimeout(this.midnightTimer);
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
    this.subscriberWorkspaces.clear();
    this.hostSubscriber = undefined;
  }

  /** The budgets in force for the dashboard's gauges: a workspace's own when it set one, else everyone's. */
  private budgetFor(workspace: string | undefined): Budget {
    const settings = this.opts.guards?.settings();
    if (!settings) return { dailyUsd: 0, monthlyUsd: 0 };
    const policy = (workspace && settings.workspaces[workspace]) || settings.global;
    return { dailyUsd: policy.budget.daily, monthlyUsd: policy.budget.monthly };
  }

  private authorised(req: http.IncomingMessage): boolean {
    const auth = req.headers.authorization;
    const given = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    return given.length > 0 && timingSafeEqual(digest(given), this.secretDigest);
  }

  private subscribe(req: http.IncomingMessage, res: http.ServerResponse, workspace: string | null, isHost: boolean): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    this.subscribers.add(res);
    if (workspace) this.subscriberWorkspaces.set(res, workspace);
    if (isHost) this.hostSubscriber = res;
    res.write(summaryEvent(this.summary()));
    // What no window was there to show goes to this one (only recent ones: an old guard trip is news no more).
    const recent = Date.now() - PENDING_ALERT_MAX_AGE_MS;
    for (const alert of this.pendingAlerts.splice(0)) {
      if (alert.at >= recent) this.write(res, alertEvent(alert, workspace !== null && alert.workspace === workspace ? 'workspace' : 'this-window'));
    }
    const drop = () => {
      this.subscribers.delete(res);
      this.subscriberWorkspaces.delete(res);
      if (this.hostSubscriber === res) this.hostSubscriber = undefined;
    };
    req.on('close', drop);
    res.on('close', drop);
  }

  private schedulePush(): void {
    if (this.pushTimer || this.closed) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      this.push();
    }, this.opts.pushDelayMs ?? 100);
    this.pushTimer.unref();
  }

  private push(): void {
    if (this.closed || !this.subscribers.size) return;
    this.broadcast(summaryEvent(this.summary()));
  }

  private broadcast(chunk: string): void {
    for (const res of this.subscribers) this.write(res, chunk);
  }

  private write(res: http.ServerResponse, chunk: string): void {
    if (!res.writableEnded && !res.destroyed) res.write(chunk);
  }

  private scheduleMidnight(): void {
    // "Today" restarts at local midnight even when no request arrives to say so.
    const delay = Math.min(this.tracker.nextRollOver() - Date.now() + 1_000, 2 ** 31 - 1);
    this.midnightTimer = setTimeout(
      () => {
        this.push();
        this.scheduleMidnight();
      },
      Math.max(delay, 1_000),
    );
    this.midnightTimer.unref();
  }

  private async export(url: URL, res: http.ServerResponse): Promise<void> {
    const format = url.searchParams.get('format') ?? 'csv';
    if (format !== 'csv' && format !== 'jsonl') return sendJson(res, 400, { error: { type: 'bad_request', message: 'format must be csv or jsonl' } });
    const filter = readFilter(url);
    if (typeof filter === 'string') return badRequest(res, filter);
    const { since, until, workspace } = filter;
    await this.opts.recorder.flush();
    res.writeHead(200, { 'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    const write = (s: string) => (res.write(s) ? Promise.resolve() : new Promise<void>((r) => res.once('drain', () => r())));
    if (format === 'csv') await write(csvHeader());
    for await (const rec of this.opts.recorder.store.records({ since, until, workspace })) {
      if (res.destroyed) return;
      await write(format === 'csv' ? csvLine(rec) : jsonLine(rec));
    }
    res.end();
  }
}

type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

/** The dispatch table: each declared route's "METHOD path" to its handler (a name without one does not compile). */
function routeTable(handlers: { readonly [N in ManagementRouteName]: RouteHandler }): ReadonlyMap<string, RouteHandler> {
  return new Map((Object.keys(ManagementRoutes) as ManagementRouteName[]).map((name) => [routeKey(ManagementRoutes[name]), handlers[name]]));
}

/**
 * Handlers for routes answered from their JSON body (guardRoutes.ts, priceRoutes.ts): each reads the
 * body and sends the answer; without the part they need (no guards, no price context) they are unknown routes.
 */
function answeringFromBody<N extends string, Part>(
  answers: Record<N, (part: Part, body: BodyFields) => RouteAnswer | Promise<RouteAnswer>>,
  partOf: () => Part | undefined,
): Record<N, RouteHandler> {
  const handlers = {} as Record<N, RouteHandler>;
  for (const name of Object.keys(answers) as N[]) {
    const answer = answers[name];
    handlers[name] = (req, res, url) => {
      const part = partOf();
      if (part === undefined) return notFoundRoute(req, res, url);
      void readSmallJson(req, 64 * 1024).then(async (body) => {
        const { status, body: answerBody } = await answer(part, bodyFields(body));
        sendJson(res, status, answerBody);
      });
    };
  }
  return handlers;
}

function notFoundRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
  sendJson(res, 404, { error: { type: 'not_found', message: `no management route ${req.method} ${url.pathname}` } });
}

function badRequest(res: http.ServerResponse, message: string): void {
  sendJson(res, 400, { error: { type: 'bad_request', message } });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function alertEvent(alert: GuardAlert, audience: AlertAudience): string {
  return `event: alert\ndata: ${JSON.stringify({ ...alert, audience })}\n\n`;
}

function summaryEvent(summary: SpendSummary): string {
  return `event: summary\ndata: ${JSON.stringify(summary)}\n\n`;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readSmallJson(req: http.IncomingMessage, max = 4096): Promise<unknown> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('end', () => {
      if (size > max) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', () => resolve(undefined));
  });
}
