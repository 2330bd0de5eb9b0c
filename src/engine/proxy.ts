import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Dispatcher } from 'undici';
import { identifyClient } from './clientIdentity';
import { costExchange } from './costing';
import { proxyError, type ProxyErrorResponse } from './errors';
import type { GuardTicket, ProxyGuard } from './guards';
import { findApiKey, type KeyFingerprinter } from './keyFingerprint';
import { parseJsonLazily } from './lazyJson';
import { DASHBOARD_PAGE_ROUTES, MANAGEMENT_PREFIX } from './managementProtocol';
import { adapterFor } from './providers';
import type { RequestRecord } from './record';
import { canonicalPath, type RouteTable } from './routes';
import { headerTags, isTagHeader, takePathTags, TagError, type Tags } from './tags';
import { Agent } from './upstreamAgent';
import type { EndpointCall, ResponseParser, UsageReport } from './usage';

export const LOOPBACK_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8390;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ProxyOptions {
  routes: RouteTable;
  fingerprinter: KeyFingerprinter;
  /** Receives every finished exchange, and whether the price data knew its model (costing.ts modelPriceKnown). Must not throw. */
  onRecord: (record: RequestRecord, modelPriceKnown: boolean | undefined) => void;
  maxBodyBytes?: number;
  /** Extra routes served by the engine itself (dashboard, management API), tried before providers. */
  localHandler?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Budgets and runaway guards: asked before each call is forwarded (see guards.ts). */
  guard?: ProxyGuard;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and headers the proxy sets itself. */
const REQUEST_HEADERS_NOT_FORWARDED = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'expect', 'content-length', 'forwarded', 'x-forwarded-for',
  'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'via',
]);
const RESPONSE_HEADERS_NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'trailer', 'upgrade']);

/**
 * The loopback proxy: /<provider>/<upstream path> → the provider's configured base URL.
 * Streams responses through as they arrive while the provider's adapter reads the usage off
 * a side copy; records one RequestRecord per upstream call.
 */
export class ProxyServer {
  private readonly server: http.Server;
  private readonly agent: Agent;
  private readonly maxBodyBytes: number;
  private readonly log: NonNullable<ProxyOptions['log']>;
  private port = 0;

  constructor(private readonly opts: ProxyOptions) {
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
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
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      // Give in-flight streams a moment, then cut what is left so shutdown is never held hostage.
      setTimeout(() => this.server.closeAllConnections(), 2_000).unref();
    });
    await this.agent.close().catch(() => undefined);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const refusal = this.checkRequest(req);
    if (refusal) return sendError(res, refusal, true);

    const url = new URL(req.url!, this.url);
    if (this.opts.localHandler?.(req, res, url)) return;

    let tags: Tags;
    let rest: string;
    try {
      ({ tags, rest } = takePathTags(url.pathname));
    } catch (e) {
      return sendError(res, proxyError(undefined, 400, 'bad_tag', (e as TagError).message), true);
    }
    const slash = rest.indexOf('/', 1);
    const providerId = slash === -1 ? rest.slice(1) : rest.slice(1, slash);
    const route = this.opts.routes.get(providerId);
    if (!route) {
      if (rest === '/' || rest === '') return sendIndex(res, this.url, this.opts.routes.ids());
      return sendError(
        res,
        proxyError(undefined, 404, 'unknown_provider', `unknown provider "${providerId}". Routes are /<provider>/<path> with provider one of: ${this.opts.routes.ids().join(', ')}`),
        true,
      );
    }
    Object.assign(tags, headerTags(req.headers));
    // The session: a tag, else the agent's own conversation id, else the metered terminal or run.
    const identity = identifyClient(req.headers);
    tags.session ||= identity.conversation ?? tags.run;
    const upstreamPath = canonicalPath(route, slash === -1 ? '/' : rest.slice(slash));

    const startedAt = Date.now();
    const t0 = performance.now();
    const body = await readBody(req, this.maxBodyBytes);
    if (body === 'too-large') {
      return sendError(res, proxyError(route.protocol, 413, 'request_too_large', `request body exceeds the proxy's ${Math.round(this.maxBodyBytes / 1048576)} MiB limit`), true);
    }
    if (body === 'aborted') return;

    const adapter = adapterFor(route.protocol, { injectStreamUsage: route.injectStreamUsage });
    let call: EndpointCall | undefined;
    let json = parseJson(body, req.headers['content-type']);
    try {
      call = adapter?.recognise({ method: req.method!, path: upstreamPath, query: url.searchParams, body: json, bodyBytes: body.length });
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
      call,
      method: req.method!,
      path: upstreamPath,
      tags,
      client: identity.client,
      keyFingerprint: this.opts.fingerprinter.fingerprint(findApiKey(req.headers, url.searchParams)),
      requestBytes: body.length,
      status: 0,
      ttftMs: null,
    };

    // Cancels the upstream call when the client goes away. An EventEmitter, which undici accepts as a
    // signal: an AbortController costs ~10 µs per request (EventTarget), this about 1 µs.
    const controller = new UpstreamCancel();
    let clientGone = false;
    let cutNote: string | undefined;
    res.once('close', () => {
      if (exchange.ticket) this.opts.guard!.release(exchange.ticket);
      if (!res.writableFinished) {
        clientGone = true;
        controller.abort();
      }
    });

    // A call the guards refuse never reaches the upstream; an admitted one is settled by its record.
    const guard = this.opts.guard;
    if (guard) {
      const admission = guard.admit({
        protocol: route.protocol, providerId: route.id, pricesProvider: route.pricesProvider, model: call?.requestModel,
        stream: call?.stream ?? false, path: upstreamPath, body, json, tags, keyFingerprint: exchange.keyFingerprint, userAgent: req.headers['user-agent'],
        cut: (reason) => {
          cutNote = reason;
          clientGone = true;
          controller.abort();
          res.destroy();
        },
      });
      if (!admission.allowed) return sendError(res, admission.error);
      exchange.ticket = admission.ticket;
    }
    // Read by now: dropped so the parsed body does not outlive this point while the call waits on
    // the upstream (objects alive across a young-generation GC are copied, and promoted by a second).
    json = undefined;

    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await this.agent.request({
        origin: route.origin,
        path: route.basePath + upstreamPath + url.search,
        method: req.method as Dispatcher.HttpMethod,
        headers: forwardHeaders(req.headers),
        body: call?.upstreamBody ?? (body.length ? body : undefined),
        signal: controller,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (clientGone) return this.finish(exchange, undefined, false, cutNote ?? 'client closed the connection before the response');
      if (isUnreachable(err)) {
        sendError(res, proxyError(route.protocol, 502, 'upstream_unreachable', `could not reach ${route.id} at ${route.origin} (${err.code})`, true));
      } else {
        // The upstream dropped the connection: the client sees the same.
        res.destroy();
      }
      exchange.neverAnswered = true;
      return this.finish(exchange, undefined, false, `upstream ${err.code ?? 'error'}: ${err.message}`);
    }

    exchange.status = upstream.statusCode;
    const contentType = headerValue(upstream.headers['content-type']) ?? '';
    const encoding = (headerValue(upstream.headers['content-encoding']) ?? 'identity').toLowerCase();
    let parser: ResponseParser | undefined;
    try {
      parser = call?.createResponseParser(upstream.statusCode, contentType);
    } catch (e) {
      this.log('warn', `${route.id}: cannot read response: ${(e as Error).message}`);
    }
    const pipe = new BodyPipe(res, parser, encoding, (m) => this.log('warn', `${route.id}: ${m}`));
    const headers = responseHeaders(upstream.headers, { decoded: pipe.forwardsDecoded, resized: !!parser?.rewritesBody });
    // With a content-length the client is done at the last byte, not at res.end(): the last bytes wait
    // until the record is journalled, so a response the client has whole always has its record.
    if (headers['content-length'] !== undefined) pipe.holdLastByte = true;
    res.writeHead(upstream.statusCode, headers);

    const relayed = await relayBody(upstream.body, pipe, () => clientGone, () => {
      if (exchange.ttftMs === null) exchange.ttftMs = Math.round(performance.now() - t0);
    });
    const streamError = relayed && !clientGone ? `upstream stream failed: ${relayed.message}` : undefined;
    const report = await pipe.end();
    if (clientGone) {
      upstream.body.destroy();
      return this.finish(exchange, report, false, cutNote ?? 'client closed the connection mid-response');
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

  /** Refuses what a loopback proxy must never serve (see README "Security"). */
  private checkRequest(req: http.IncomingMessage): ProxyErrorResponse | undefined {
    if (!req.url?.startsWith('/')) return proxyError(undefined, 400, 'absolute_target', 'absolute-form request targets are refused: this is not an open proxy');
    let hostCount = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].length === 4 && req.rawHeaders[i].toLowerCase() === 'host') hostCount++;
    const host = req.headers.host?.toLowerCase();
    if (hostCount !== 1 || (host !== `${LOOPBACK_HOST}:${this.port}` && host !== `localhost:${this.port}`)) {
      return proxyError(undefined, 421, 'bad_host', `Host must be ${LOOPBACK_HOST}:${this.port}`);
    }
    if (req.headers.origin !== undefined && !this.isOwnPage(req)) return proxyError(undefined, 403, 'origin_refused', 'requests from web pages (with an Origin header) are refused');
    if (/(^|\/)\.\.?(\/|$)/.test(req.url.split('?')[0])) return proxyError(undefined, 400, 'bad_path', 'dot segments are not allowed in the path');
    return undefined;
  }

  /**
   * Browsers send Origin on the dashboard page's own requests (POSTs, streamed fetches). Only this
   * engine's own origin, and only on the page and the management routes; never on provider routes.
   */
  private isOwnPage(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin !== `http://${LOOPBACK_HOST}:${this.port}` && origin !== `http://localhost:${this.port}`) return false;
    // The path as the handlers will see it (URL-normalised), so no encoded dot segment leads elsewhere.
    const pathname = new URL(req.url!, this.url).pathname;
    return pathname.startsWith(MANAGEMENT_PREFIX) || (DASHBOARD_PAGE_ROUTES as readonly string[]).includes(pathname);
  }

  private finish(ex: Exchange, report: UsageReport | undefined, finished: boolean, error: string | undefined): void {
    // Its reservation ends where its real use is counted (the guards settle the record).
    if (ex.ticket) this.opts.guard!.release(ex.ticket);
    try {
      const cost = costExchange({
        pricesProvider: ex.pricesProvider,
        requestModel: ex.call?.requestModel,
        free: ex.call?.free ?? ex.method === 'GET',
        metered: !!ex.call,
        report,
        status: ex.status,
        requestBytes: ex.requestBytes,
        finished,
        neverAnswered: ex.neverAnswered,
        at: new Date(ex.startedAt),
      });
      const { usage } = cost;
      this.opts.onRecord({
        id: ex.id,
        startedAt: ex.startedAt,
        provider: ex.providerId,
        model: cost.model,
        endpoint: ex.call?.endpoint ?? `${ex.method} ${ex.path}`.slice(0, 120),
        stream: ex.call?.stream ?? false,
        status: ex.status,
        inputTokens: usage.inputTokens,
        cacheReadTokens: usage.cacheReadTokens,
        cacheWriteTokens: usage.cacheWriteTokens,
        outputTokens: usage.outputTokens,
        reasoningTokens: usage.reasoningTokens,
        costNanos: cost.costNanos,
        costStatus: cost.costStatus,
        latencyMs: Math.round(performance.now() - ex.t0),
        ttftMs: ex.ttftMs,
        session: ex.tags.session ?? null,
        feature: ex.tags.feature ?? null,
        user: ex.tags.user ?? null,
        trace: ex.tags.trace ?? null,
        env: ex.tags.env ?? null,
        workspace: ex.tags.workspace ?? null,
        keyFingerprint: ex.keyFingerprint,
        error: joinNotes(error, cost.note),
        serviceTier: cost.serviceTier,
        priceSource: cost.priceSource,
        client: ex.client,
      }, cost.modelPriceKnown);
    } catch (e) {
      this.log('error', `could not record ${ex.providerId} ${ex.path}: ${(e as Error).message}`);
    }
  }
}

interface Exchange {
  id: string;
  startedAt: number;
  t0: number;
  providerId: string;
  pricesProvider: string | null;
  call: EndpointCall | undefined;
  method: string;
  path: string;
  tags: Tags;
  client: string | null;
  keyFingerprint: string | null;
  requestBytes: number;
  status: number;
  ttftMs: number | null;
  /** The guards' reservation, while the call is admitted and unsettled. */
  ticket?: GuardTicket;
  /** No response came from the upstream (see CostInput.neverAnswered). */
  neverAnswered?: boolean;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The upstream could not be reached at all (no connection, no name, no TLS session): answered with a 502. */
function isUnreachable(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return UNREACHABLE_CODES.has(code) || code === 'EPROTO' || /^(ERR_TLS_|ERR_SSL_)|CERT/.test(code);
}

/**
 * Moves the response body to the client and a copy through the adapter's parser. Raw bytes are
 * forwarded untouched (compressed ones included) unless the parser rewrites the body, in which
 * case the decoded, rewritten bytes are forwarded instead.
 */
class BodyPipe {
  private readonly decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined;
  private decoderDone: Promise<void> | undefined;
  private parserBroken = false;
  readonly forwardsDecoded: boolean;
  /** Keep the last byte forwarded as-is back until releaseHeldByte() (see ProxyServer.handle). */
  holdLastByte = false;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly parser: ResponseParser | undefined,
    encoding: string,
    private readonly warn: (message: string) => void,
  ) {
    this.decoder = parser ? createDecoder(encoding) : undefined;
    this.forwardsDecoded = !!parser?.rewritesBody && !!this.decoder;
    if (this.decoder) {
      this.decoder.on('data', (decoded: Buffer) => {
        const out = this.parse(decoded);
        if (this.forwardsDecoded && out.length) this.res.write(out);
      });
      this.decoderDone = new Promise((resolve) => {
        this.decoder!.once('end', resolve);
        this.decoder!.once('error', (e) => {
          this.warn(`could not decode ${encoding} response body: ${e.message}`);
          this.parserBroken = true;
          resolve();
        });
      });
    }
  }

  /** Returns false when the client is not keeping up. */
  write(raw: Buffer): boolean {
    if (this.decoder) {
      if (!this.parserBroken) this.decoder.write(raw);
      return this.forwardsDecoded ? !this.res.writableNeedDrain : this.forward(raw);
    }
    if (!this.parser) return this.forward(raw);
    const out = this.parse(raw);
    if (this.parser.rewritesBody) return out.length ? this.res.write(out) : true;
    return this.forward(raw);
  }

  /**
   * Writes bytes that go to the client as the upstream sent them, holding the last ones back if
   * asked. A small body is held whole and goes out with the end of the response: one socket write
   * for the response instead of one per upstream chunk plus one for the held-back byte.
   */
  private forward(raw: Buffer): boolean {
    if (!this.holdLastByte || !raw.length) return raw.length ? this.res.write(raw) : true;
    this.held.push(raw);
    this.heldBytes += raw.length;
    if (this.heldBytes <= HOLD_WHOLE_BODY_BYTES) return true;
    // A big body flows on, always one chunk behind.
    let ok = true;
    for (let i = 0; i < this.held.length - 1; i++) ok = this.res.write(this.held[i]);
    this.held = [raw];
    this.heldBytes = raw.length;
    return ok;
  }

  /** Writes what was held back (a response that is then ended in the same tick goes out in one write). */
  releaseHeldByte(): void {
    if (!this.res.destroyed) for (const chunk of this.held) this.res.write(chunk);
    this.held = [];
    this.heldBytes = 0;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  /** Ends parsing; writes any bytes the parser held back. Returns the usage report. */
  async end(): Promise<UsageReport | undefined> {
    if (!this.parser) return undefined;
    if (this.decoder) {
      this.decoder.end();
      await this.decoderDone;
    }
    try {
      const { report, tail } = this.parser.end();
      if (this.parser.rewritesBody && tail.length && !this.res.destroyed) this.res.write(tail);
      return report;
    } catch (e) {
      this.warn(`could not read usage: ${(e as Error).message}`);
      return undefined;
    }
  }

  private parse(chunk: Buffer): Buffer {
    if (this.parserBroken) return chunk;
    try {
      return this.parser!.write(chunk);
    } catch (e) {
      // A parser fault must never cost the client its bytes.
      this.parserBroken = true;
      this.warn(`stopped reading usage: ${(e as Error).message}`);
      return chunk;
    }
  }
}

function createDecoder(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

/** A response body up to this size is held whole until its record is journalled (see BodyPipe.forward). */
const HOLD_WHOLE_BODY_BYTES = 64 * 1024;

/** An upstream call's cancel switch, in the EventEmitter shape undici accepts as `signal`. */
class UpstreamCancel extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/**
 * Moves the upstream body through the pipe until it ends, fails or the client is gone; resolves with
 * the stream's error, if any. Plain listeners rather than `for await`: async iteration of a stream
 * costs a promise per chunk and an end-of-stream watcher per response.
 */
function relayBody(body: Readable, pipe: BodyPipe, clientGone: () => boolean, onChunk: () => void): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (error?: Error) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      resolve(error);
    };
    const onData = (chunk: Buffer) => {
      try {
        onChunk();
        if (!pipe.write(chunk)) {
          body.pause();
          void pipe.drained().then(() => (clientGone() ? done() : body.resume()));
        } else if (clientGone()) done();
      } catch (e) {
        done(e as Error);
      }
    };
    const onEnd = () => done();
    const onError = (e: Error) => done(e);
    // Closed without 'end' or 'error': cut short, as `for await` would report it.
    const onClose = () => done(body.readableEnded ? undefined : new Error('premature close'));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    // Refuse before reading a byte; the connection is closed so the rest is never buffered.
    req.socket.setTimeout(5_000);
    req.resume();
    return Promise.resolve('too-large');
  }
  // Plain listeners, not `for await` (see relayBody): the common request body is one small chunk.
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too-large' | 'aborted') => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAborted);
      req.off('close', onAborted);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        finish('too-large');
        req.resume();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    const onAborted = () => finish('aborted');
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onAborted);
    req.once('close', onAborted);
  });
}

function parseJson(body: Buffer, contentType: string | undefined): unknown {
  if (!body.length) return undefined;
  if (contentType && !contentType.includes('json') && body[0] !== 0x7b) return undefined;
  // Only the small top-level fields are read on the proxy's path; the conversation is never parsed.
  return parseJsonLazily(body);
}

function forwardHeaders(headers: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // for…in over Node's own header object: no [name, value] pair arrays allocated per header.
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || REQUEST_HEADERS_NOT_FORWARDED.has(name) || isTagHeader(name)) continue;
    out[name] = value;
  }
  return out;
}

/** `decoded`: the body goes out decompressed; `resized`: the body may differ in length from upstream's. */
function responseHeaders(headers: Record<string, string | string[] | undefined>, body: { decoded: boolean; resized: boolean }): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || RESPONSE_HEADERS_NOT_FORWARDED.has(name)) continue;
    if (body.decoded && name === 'content-encoding') continue;
    if ((body.decoded || body.resized) && name === 'content-length') continue;
    out[name] = value;
  }
  return out;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function joinNotes(...notes: Array<string | undefined>): string | null {
  const present = notes.filter((n): n is string => !!n);
  return present.length ? present.join('; ').slice(0, 500) : null;
}

function sendError(res: http.ServerResponse, e: ProxyErrorResponse, close = false): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(e.status, { ...e.headers, ...(close ? { connection: 'close' } : {}) });
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
