import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { proxyError, type ProxyErrorResponse, headerValue } from '../http';
import { recordExchange, type Exchange, type RecordSink } from './exchangeRecord';
import type { ProxyGuard } from '../guards';
import { forwardHeaders } from './forwardHeaders';
import { findApiKey, type KeyFingerprinter } from '../attribution';
import { parseJson, readBody } from './requestBody';
import { adapterFor, type RouteTable, type EndpointCall, type ResponseParser, type UsageReport } from '../providers';
import { DEFAULT_LINGER, refuseBeforeBody, type LingerBound } from './lingeringClose';
import { LOOPBACK_HOST, matchProviderRoute, screenRequest, type RouteMatch } from './requestScreen';
import { BodyPipe, relayBody, responseHeaders } from './responseRelay';
import { Agent } from './upstreamAgent';
import { isUnreachable } from './upstreamFailure';
import { WebSocketProxy } from './websocket';

export { LOOPBACK_HOST } from './requestScreen';
export const DEFAULT_PORT = 8390;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ProxyOptions {
  routes: RouteTable;
  fingerprinter: KeyFingerprinter;
  /** Receives every finished exchange, and whether the price data knew its model (costing.ts modelPriceKnown). Must not throw. */
  onRecord: RecordSink['onRecord'];
  maxBodyBytes?: number;
  /** What is still read of a body refused before it was read, so the client reads the answer (DEFAULT_LINGER). */
  linger?: LingerBound;
  /** Extra routes served by the engine itself (dashboard, management API), tried before providers. */
  localHandler?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Budgets and runaway guards: asked before each call is forwarded (see guards/). */
  guard?: ProxyGuard;
}

/**
 * The loopback proxy: /<provider>/<upstream path> → the provider's configured base URL.
 * Streams responses through as they arrive while the provider's adapter reads the usage off
 * a side copy; records one RequestRecord per upstream call (see exchangeRecord.ts).
 */
export class ProxyServer {
  private readonly server: http.Server;
  private readonly agent: Agent;
  private readonly maxBodyBytes: number;
  private readonly linger: LingerBound;
  private readonly log: NonNullable<ProxyOptions['log']>;
  private port = 0;
  private readonly sockets: WebSocketProxy;

  constructor(private readonly opts: ProxyOptions) {
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.linger = opts.linger ?? DEFAULT_LINGER;
    this.log = opts.log ?? (() => {});
    // Long generations can take minutes before the first byte; the client's own timeout governs.
    this.agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0, connect: { timeout: 15_000 } });
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: Error) => {
        this.log('error', `proxy failure: ${e.message}`);
        if (!res.headersSent) sendError(res, proxyError(undefined, 500, 'proxy_error', `internal error: ${e.message}`));
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 65_000;
    // Upgrade requests (WebSocket) on provider routes: screened and routed as above, then relayed.
    const sockets = new WebSocketProxy({
      routes: opts.routes,
      fingerprinter: opts.fingerprinter,
      sink: { onRecord: opts.onRecord, guard: opts.guard, log: this.log },
      port: () => this.port,
      maxPayload: this.maxBodyBytes,
    });
    this.server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head));
    this.sockets = sockets;
  }

  /** Listens on 127.0.0.1:port (0 = any free port). Resolves with the base URL. */
  listen(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, LOOPBACK_HOST, () => {
        this.server.off('error', onError);
        this.port = (this.server.address() as AddressInfo).port;
        resolve(this.url);
      });
    });
  }

  get url(): string {
    return `http://${LOOPBACK_HOST}:${this.port}`;
  }

  async close(): Promise<void> {
    // Upgraded sockets hold the server open until they close: asked to go first.
    this.sockets.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      // Give in-flight streams a moment, then cut what is left so shutdown is never held hostage.
      setTimeout(() => this.server.closeAllConnections(), 2_000).unref();
    });
    await this.agent.close().catch(() => undefined);
  }

  /** One request, in phases over one exchange: screen → route → read → admit → forward → relay → record. */
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const refusal = screenRequest(req, this.port);
    if (refusal) return refuseBeforeBody(req, res, refusal, this.linger);

    const url = new URL(req.url!, this.url);
    if (this.opts.localHandler?.(req, res, url)) return;

    const match = matchProviderRoute(url.pathname, req.headers, this.opts.routes);
    if (match.kind === 'index') return sendIndex(res, this.url, this.opts.routes.ids());
    if (match.kind === 'refused') return refuseBeforeBody(req, res, match.error, this.linger);

    const call = await this.read(req, res, url, match);
    if (!call) return;
    const link = this.watchClient(res, call.exchange);
    if (!this.admit(req, res, match, call, link)) return;
    // Read by now: dropped so the parsed body does not outlive this point while the call waits on
    // the upstream (objects alive across a young-generation GC are copied, and promoted by a second).
    call.json = undefined;
    const upstream = await this.forward(req, res, url, match, call, link);
    if (upstream) await this.relay(res, match, call.exchange, call.endpoint, upstream, link);
  }

  /** Reads the body and lets the provider's adapter recognise the call; undefined when answered already. */
  private async read(req: http.IncomingMessage, res: http.ServerResponse, url: URL, match: ProviderMatch): Promise<ReadCall | undefined> {
    const { route, upstreamPath } = match;
    const startedAt = Date.now();
    const t0 = performance.now();
    const body = await readBody(req, this.maxBodyBytes);
    if (body === 'too-large') {
      const limit = `request body exceeds the proxy's ${Math.round(this.maxBodyBytes / 1048576)} MiB limit`;
      refuseBeforeBody(req, res, proxyError(route.protocol, 413, 'request_too_large', limit), this.linger);
      return undefined;
    }
    if (body === 'aborted') return undefined;

    const adapter = adapterFor(route.protocol, { injectStreamUsage: route.injectStreamUsage });
    let endpoint: EndpointCall | undefined;
    const json = parseJson(body, req.headers['content-type']);
    try {
      endpoint = adapter?.recognise({ method: req.method!, path: upstreamPath, query: url.searchParams, body: json, bodyBytes: body.length });
    } catch (e) {
      // The proxy is never stricter than the provider: an odd body is forwarded as it came.
      this.log('warn', `${route.id}: could not read request: ${(e as Error).message}`);
    }
    const exchange: Exchange = {
      id: randomUUID(),
      startedAt,
      t0,
      providerId: route.id,
      pricesProvider: route.pricesProvider,
      call: endpoint,
      method: req.method!,
      path: upstreamPath,
      tags: match.tags,
      client: match.client,
      keyFingerprint: this.opts.fingerprinter.fingerprint(findApiKey(req.headers, url.searchParams)),
      requestBytes: body.length,
      status: 0,
      ttftMs: null,
    };
    return { exchange, body, json, endpoint };
  }

  /** Cancels the upstream call when the client goes away, and ends the guards' reservation with the response. */
  private watchClient(res: http.ServerResponse, exchange: Exchange): ClientLink {
    // An EventEmitter, which undici accepts as a signal: an AbortController costs ~10 µs per request
    // (EventTarget), this about 1 µs.
    const link: ClientLink = { cancel: new UpstreamCancel(), gone: false };
    res.once('close', () => {
      if (exchange.ticket) this.opts.guard!.release(exchange.ticket);
      if (!res.writableFinished) {
        link.gone = true;
        link.cancel.abort();
      }
    });
    return link;
  }

  /** A call the guards refuse never reaches the upstream; an admitted one is settled by its record. */
  private admit(req: http.IncomingMessage, res: http.ServerResponse, match: ProviderMatch, call: ReadCall, link: ClientLink): boolean {
    const guard = this.opts.guard;
    if (!guard) return true;
    const { route } = match;
    const { exchange, endpoint } = call;
    const admission = guard.admit({
      callId: exchange.id,
      protocol: route.protocol,
      providerId: route.id,
      pricesProvider: route.pricesProvider,
      model: endpoint?.requestModel,
      stream: endpoint?.stream ?? false,
      path: match.upstreamPath,
      body: call.body,
      json: call.json,
      tags: exchange.tags,
      keyFingerprint: exchange.keyFingerprint,
      userAgent: req.headers['user-agent'],
      cut: (reason) => {
        link.cutNote = reason;
        link.gone = true;
        link.cancel.abort();
        res.destroy();
      },
    });
    if (!admission.allowed) {
      sendError(res, admission.error);
      return false;
    }
    exchange.ticket = admission.ticket;
    return true;
  }

  /** Sends the call upstream; undefined when no response came (recorded, and answered as it happened). */
  private async forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    match: ProviderMatch,
    call: ReadCall,
    link: ClientLink,
  ): Promise<Dispatcher.ResponseData | undefined> {
    const { route } = match;
    const { exchange, body, endpoint } = call;
    try {
      return await this.agent.request({
        origin: route.origin,
        path: route.basePath + match.upstreamPath + url.search,
        method: req.method as Dispatcher.HttpMethod,
        headers: forwardHeaders(req.headers),
        body: endpoint?.upstreamBody ?? (body.length ? body : undefined),
        signal: link.cancel,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (link.gone) {
        this.finish(exchange, undefined, false, link.cutNote ?? 'client closed the connection before the response');
        return undefined;
      }
      if (isUnreachable(err)) {
        sendError(res, proxyError(route.protocol, 502, 'upstream_unreachable', `could not reach ${route.id} at ${route.origin} (${err.code})`, true));
      } else {
        // The upstream dropped the connection: the client sees the same.
        res.destroy();
      }
      exchange.neverAnswered = true;
      this.finish(exchange, undefined, false, `upstream ${err.code ?? 'error'}: ${err.message}`);
      return undefined;
    }
  }

  /** Streams the response to the client while the adapter reads its usage, then records it. */
  private async relay(
    res: http.ServerResponse,
    match: ProviderMatch,
    exchange: Exchange,
    endpoint: EndpointCall | undefined,
    upstream: Dispatcher.ResponseData,
    link: ClientLink,
  ): Promise<void> {
    const { route } = match;
    exchange.status = upstream.statusCode;
    const contentType = headerValue(upstream.headers['content-type']) ?? '';
    const encoding = (headerValue(upstream.headers['content-encoding']) ?? 'identity').toLowerCase();
    let parser: ResponseParser | undefined;
    try {
      parser = endpoint?.createResponseParser(upstream.statusCode, contentType);
    } catch (e) {
      this.log('warn', `${route.id}: cannot read response: ${(e as Error).message}`);
    }
    const pipe = new BodyPipe(res, parser, encoding, (m) => this.log('warn', `${route.id}: ${m}`));
    const headers = responseHeaders(upstream.headers, { decoded: pipe.forwardsDecoded, resized: !!parser?.rewritesBody });
    // With a content-length the client is done at the last byte, not at res.end(): the last bytes wait
    // until the record is journalled, so a response the client has whole always has its record.
    if (headers['content-length'] !== undefined) pipe.holdLastByte = true;
    res.writeHead(upstream.statusCode, headers);

    const relayed = await relayBody(
      upstream.body,
      pipe,
      () => link.gone,
      () => {
        if (exchange.ttftMs === null) exchange.ttftMs = Math.round(performance.now() - exchange.t0);
      },
    );
    const streamError = relayed && !link.gone ? `upstream stream failed: ${relayed.message}` : undefined;
    const report = await pipe.end();
    if (link.gone) {
      upstream.body.destroy();
      return this.finish(exchange, report, false, link.cutNote ?? 'client closed the connection mid-response');
    }
    if (streamError) {
      res.destroy();
      return this.finish(exchange, report, false, streamError);
    }
    // Journal first, then complete the response: a finished response always has its record.
    this.finish(exchange, report, true, report?.error);
    pipe.releaseHeldByte();
    res.end();
  }

  private finish(ex: Exchange, report: UsageReport | undefined, finished: boolean, error: string | undefined): void {
    recordExchange({ onRecord: this.opts.onRecord, guard: this.opts.guard, log: this.log }, ex, report, finished, error);
  }
}

type ProviderMatch = Extract<RouteMatch, { kind: 'provider' }>;

/** The request as read: its exchange (what will be recorded), the body, and its parsed top level until admitted. */
interface ReadCall {
  exchange: Exchange;
  body: Buffer;
  json: unknown;
  endpoint: EndpointCall | undefined;
}

/** The client's side of a call: the upstream call's cancel switch, and whether (and why) the client is gone. */
interface ClientLink {
  cancel: UpstreamCancel;
  gone: boolean;
  /** The guards' reason when they cut the call. */
  cutNote?: string;
}

/** An upstream call's cancel switch, in the EventEmitter shape undici accepts as `signal`. */
class UpstreamCancel extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** An answer after the body is read (refusals before it: refuseBeforeBody). */
function sendError(res: http.ServerResponse, e: ProxyErrorResponse): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(e.status, e.headers);
  res.end(e.body);
}

function sendIndex(res: http.ServerResponse, base: string, providers: string[]): void {
  const lines = [
    'Burn Rate proxy is running.',
    '',
    'Point your SDKs at a provider route, for example:',
    `  OPENAI_BASE_URL=${base}/openai/v1`,
    `  ANTHROPIC_BASE_URL=${base}/anthropic`,
    '',
    `Providers: ${providers.join(', ')}`,
    'Spend so far: burnrate report',
  ];
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(lines.join('\n') + '\n');
}
