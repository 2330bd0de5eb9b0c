/**
 * The engine's management routes that are more than one JSON request (the events stream, the export
 * download) and pause/resume; everything else goes through managementClient.ts. Every window talks
 * to the engine this way, the window hosting it included. No vscode import.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { SpendSummary } from '../../engine/queries';
import { type GuardAlert, ManagementRoutes, routeUrl, type AlertAudience, type ExportQuery } from '../../shared';
import { callRoute, ENGINE_HOST as LOOPBACK_HOST, ManagementError } from '../../engine/management';

/** An alert as the events stream delivers it: which window should show it (see alerts.ts). */
export type DeliveredAlert = GuardAlert & { audience: AlertAudience };

export type StreamEnd = 'ended' | 'unauthorized' | 'error';

export interface SummaryStream {
  /** Resolves when the stream is over: the engine closed it, it went silent, or it was refused. */
  readonly done: Promise<StreamEnd>;
  close(): void;
}

/**
 * Subscribes to GET /_burnrate/events: `onOpen` once the engine accepted the secret, then
 * `onSummary` for the current summary and for every change. A stream silent for longer than
 * `idleMs` (the engine sends a heartbeat every 15 s) counts as ended.
 */
export function subscribeSummaries(
  port: number,
  secret: string,
  handlers: { onOpen?: () => void; onSummary: (s: SpendSummary) => void; onAlert?: (a: DeliveredAlert) => void },
  idleMs = 45_000,
  workspace?: string,
  /** The engine's instance id, when this window hosts it (alerts for the host come to this stream). */
  hostInstance?: string,
): SummaryStream {
  let finish!: (end: StreamEnd) => void;
  const done = new Promise<StreamEnd>((r) => (finish = r));
  let settled = false;
  const end = (e: StreamEnd) => {
    if (!settled) {
      settled = true;
      finish(e);
    }
  };
  const eventsPath = routeUrl(ManagementRoutes.events, { workspace, host: hostInstance });
  const req = http.get(
    { host: LOOPBACK_HOST, port, path: eventsPath, agent: false, headers: { authorization: `Bearer ${secret}`, accept: 'text/event-stream' } },
    (res) => {
      if (res.statusCode === 401) {
        res.resume();
        return end('unauthorized');
      }
      if (res.statusCode !== 200) {
        res.resume();
        return end('error');
      }
      handlers.onOpen?.();
      const parser = new SseReader((event, data) => {
        if (event !== 'summary' && event !== 'alert') return;
        try {
          if (event === 'alert') handlers.onAlert?.(JSON.parse(data) as DeliveredAlert);
          else handlers.onSummary(JSON.parse(data) as SpendSummary);
        } catch {
          /* a torn event: the next one will do */
        }
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        req.setTimeout(idleMs);
        parser.push(chunk);
      });
      res.on('end', () => end('ended'));
      res.on('close', () => end('ended'));
      res.on('error', () => end('ended'));
    },
  );
  req.setTimeout(idleMs, () => req.destroy());
  req.on('error', () => end(settled ? 'ended' : 'error'));
  req.on('close', () => end('ended'));
  return { done, close: () => req.destroy() };
}

/** Minimal text/event-stream reader: `event:` and `data:` fields, comments ignored. */
export class SseReader {
  private buffer = '';

  constructor(private readonly onEvent: (event: string, data: string) => void) {}

  push(chunk: string): void {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length) this.onEvent(event, data.join('\n'));
    }
  }
}

/** POST recording: stop or resume recording; answers the summary afterwards. */
export async function setRecordingPaused(port: number, secret: string, paused: boolean): Promise<SpendSummary> {
  return (await callRoute({ port, secret }, ManagementRoutes.recording, { paused })) as SpendSummary;
}

/** GET export into `file` (a stream of rows, not JSON). Resolves with the bytes written. */
export function downloadExport(port: number, secret: string, file: string, opts: ExportQuery): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: LOOPBACK_HOST, port, path: routeUrl(ManagementRoutes.export, opts), agent: false, headers: { authorization: `Bearer ${secret}` } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new ManagementError(`the engine answered ${res.statusCode}`, res.statusCode));
        }
        const out = fs.createWriteStream(file, { mode: 0o600 });
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.pipe(out);
        out.on('finish', () => resolve(bytes));
        out.on('error', reject);
        res.on('error', reject);
        res.on('aborted', () => reject(new ManagementError('the export was cut short')));
      },
    );
    req.on('error', reject);
  });
}
