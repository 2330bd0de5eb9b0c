import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type * as http from 'node:http';
import { csvHeader, csvLine, jsonLine } from './exportFormat';
import { MANAGEMENT_PREFIX, MANAGEMENT_ROUTES, type EngineHealth } from './managementProtocol';
import type { RequestRecord } from './record';
import type { Recorder } from './recorder';
import { SummaryTracker, type SpendSummary, type SummaryBase } from './summary';

declare const BURNRATE_VERSION: string | undefined;
const VERSION = typeof BURNRATE_VERSION === 'string' ? BURNRATE_VERSION : 'dev';

export { loadOrCreateSecret, readSecret, MANAGEMENT_ROUTES, type EngineHealth } from './managementProtocol';

export interface ManagementOptions {
  recorder: Recorder;
  /** The period totals at start (SummaryQuery.base, run in the store's worker). */
  summaryBase: SummaryBase;
  secret: string;
  recordingPaused?: boolean;
  /** How long to gather records before pushing one summary (keeps bursts cheap). */
  pushDelayMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

const HEARTBEAT_MS = 15_000;

/**
 * The engine's management API: health, a pushed spend summary, pause/resume and export. Served on
 * the proxy's own port (the proxy has already refused foreign Hosts and web-page Origins).
 */
export class ManagementApi {
  readonly health: EngineHealth = { service: 'burnrate', version: VERSION, pid: process.pid, instance: randomUUID(), startedAt: Date.now() };
  private readonly secretDigest: Buffer;
  private readonly tracker: SummaryTracker;
  private readonly subscribers = new Set<http.ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private pushTimer: NodeJS.Timeout | undefined;
  private midnightTimer: NodeJS.Timeout | undefined;
  private paused: boolean;
  private closed = false;
  private readonly onRecord = (rec: RequestRecord) => {
    this.tracker.add(rec);
    this.schedulePush();
  };

  constructor(private readonly opts: ManagementOptions) {
    this.secretDigest = digest(opts.secret);
    this.paused = !!opts.recordingPaused;
    this.tracker = new SummaryTracker(opts.summaryBase);
    opts.recorder.on('record', this.onRecord);
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

  summary(): SpendSummary {
    return this.tracker.snapshot(this.paused);
  }

  /** Serves /_burnrate/* requests; returns false for everything else (provider routes). */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
    if (!url.pathname.startsWith(MANAGEMENT_PREFIX)) return false;
    const route = url.pathname;
    if (route === MANAGEMENT_ROUTES.health && req.method === 'GET') {
      sendJson(res, 200, this.health);
      return true;
    }
    if (!this.authorised(req)) {
      sendJson(res, 401, { error: { type: 'unauthorized', message: 'the management API needs the per-install secret (Authorization: Bearer …)' } });
      return true;
    }
    switch (`${req.method} ${route}`) {
      case `GET ${MANAGEMENT_ROUTES.summary}`:
        sendJson(res, 200, this.summary());
        break;
      case `GET ${MANAGEMENT_ROUTES.events}`:
        this.subscribe(req, res);
        break;
      case `POST ${MANAGEMENT_ROUTES.recording}`:
        void readSmallJson(req).then((body) => {
          const paused = (body as { paused?: unknown } | undefined)?.paused;
          if (typeof paused !== 'boolean') return sendJson(res, 400, { error: { type: 'bad_request', message: 'expected {"paused": true|false}' } });
          this.setRecordingPaused(paused);
          sendJson(res, 200, this.summary());
        });
        break;
      case `GET ${MANAGEMENT_ROUTES.export}`:
        void this.export(url, res).catch((e: Error) => {
          this.opts.log?.('error', `export failed: ${e.message}`);
          res.destroy();
        });
        break;
      default:
        sendJson(res, 404, { error: { type: 'not_found', message: `no management route ${req.method} ${route}` } });
    }
    return true;
  }

  /** Ends every event stream (so windows following this engine notice at once) and stops timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.recorder.off('record', this.onRecord);
    clearInterval(this.heartbeat);
    if (this.pushTimer) clearTimeout(this.pushTimer);
    if (this.midnightTimer) clearTimeout(this.midnightTimer);
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
  }

  private authorised(req: http.IncomingMessage): boolean {
    const auth = req.headers.authorization;
    const given = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    return given.length > 0 && timingSafeEqual(digest(given), this.secretDigest);
  }

  private subscribe(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    this.subscribers.add(res);
    res.write(summaryEvent(this.summary()));
    const drop = () => this.subscribers.delete(res);
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
    for (const res of this.subscribers) {
      if (!res.writableEnded && !res.destroyed) res.write(chunk);
    }
  }

  private scheduleMidnight(): void {
    // "Today" restarts at local midnight even when no request arrives to say so.
    const delay = Math.min(this.tracker.nextRollOver() - Date.now() + 1_000, 2 ** 31 - 1);
    this.midnightTimer = setTimeout(() => {
      this.push();
      this.scheduleMidnight();
    }, Math.max(delay, 1_000));
    this.midnightTimer.unref();
  }

  private async export(url: URL, res: http.ServerResponse): Promise<void> {
    const format = url.searchParams.get('format') ?? 'csv';
    if (format !== 'csv' && format !== 'jsonl') return sendJson(res, 400, { error: { type: 'bad_request', message: 'format must be csv or jsonl' } });
    const sinceParam = url.searchParams.get('since');
    const since = sinceParam === null ? undefined : Number(sinceParam);
    if (since !== undefined && !Number.isFinite(since)) return sendJson(res, 400, { error: { type: 'bad_request', message: 'since must be epoch milliseconds' } });
    await this.opts.recorder.flush();
    res.writeHead(200, { 'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    const write = (s: string) => (res.write(s) ? Promise.resolve() : new Promise<void>((r) => res.once('drain', () => r())));
    if (format === 'csv') await write(csvHeader());
    for await (const rec of this.opts.recorder.store.records({ since })) {
      if (res.destroyed) return;
      await write(format === 'csv' ? csvLine(rec) : jsonLine(rec));
    }
    res.end();
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
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
