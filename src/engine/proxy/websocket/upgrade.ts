/**
 * WebSocket on every proxy route: an HTTP/1.1 `Upgrade: websocket` request is screened and routed
 * like any HTTP call (same Host/Origin/absolute-form/dot-segment refusals, same tags, keys forwarded
 * and only fingerprinted), then the provider is asked first. Its 101 completes the client's handshake
 * with the same subprotocol and compression, and frames are relayed both ways; any other answer goes
 * back to the client as sent and is recorded once, unpriced. Metered transports (Responses WebSocket
 * mode, Realtime) get one record per response from a side copy of their messages.
 */
import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { proxyError } from '../../http';
import { recordExchange, type Exchange, type RecordSink } from '../exchangeRecord';
import { forwardHeaders } from '../forwardHeaders';
import { findApiKey, findSubprotocolKey, type KeyFingerprinter, type Tags } from '../../attribution';
import { socketProtocolFor, type RouteTable } from '../../providers';
import { LOOPBACK_HOST, matchProviderRoute, screenRequest, type ResolvedRoute } from '../requestScreen';
import { isUnreachable } from '../upstreamFailure';
import { answerRefusedUpgrade, handshakeRefusal, offeredSubprotocols, refuseUpgrade, upstreamHandshakeHeaders } from './handshake';
import { relayFrames } from './relay';
import { SocketMeter } from './socketMeter';

export interface WebSocketProxyOptions {
  routes: RouteTable;
  fingerprinter: KeyFingerprinter;
  sink: RecordSink;
  /** The proxy's port, once it listens (for the Host check). */
  port: () => number;
  /** Largest message relayed, either way (the HTTP body cap). */
  maxPayload: number;
}

/** The provider's handshake answer must come within this; the socket is then open as long as both ends want. */
const HANDSHAKE_TIMEOUT_MS = 60_000;
/** On shutdown, sockets get this long for their closing handshakes before they are dropped. */
const SHUTDOWN_GRACE_MS = 1_000;

/** One client upgrade on its way to the provider. */
interface PendingUpgrade {
  req: http.IncomingMessage;
  socket: Duplex;
  head: Buffer;
  url: URL;
  route: ResolvedRoute;
  tags: Tags;
  client: string | null;
  upstreamPath: string;
  keyFingerprint: string | null;
  startedAt: number;
  t0: number;
}

/** What the provider's 101 chose, for the client's own 101. */
interface UpstreamAccept {
  protocol: string;
  headers: http.IncomingHttpHeaders;
}

export class WebSocketProxy {
  /** The client side speaks compression only when the provider agreed to it too (each hop negotiates its own parameters). */
  private readonly plain: WebSocketServer;
  private readonly deflating: WebSocketServer;
  private readonly accepted = new WeakMap<http.IncomingMessage, UpstreamAccept>();
  private readonly live = new Set<{ client: WebSocket; upstream: WebSocket }>();
  /** Provider sides still in their handshake. */
  private readonly connecting = new Set<WebSocket>();

  constructor(private readonly opts: WebSocketProxyOptions) {
    const server = (perMessageDeflate: boolean) => {
      const wss = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate,
        maxPayload: opts.maxPayload,
        // Pings are the far end's to answer, and text is the far end's to validate: relayed as they come.
        autoPong: false,
        skipUTF8Validation: true,
        handleProtocols: (_offered, req) => this.accepted.get(req)?.protocol || false,
      });
      wss.on('headers', (headers, req) => headers.push(...upstreamHandshakeHeaders(this.accepted.get(req)?.headers)));
      return wss;
    };
    this.plain = server(false);
    this.deflating = server(true);
  }

  /** The http.Server's 'upgrade' handler. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that drops mid-handshake must not take the process down.
    socket.on('error', () => undefined);
    const port = this.opts.port();
    const refusal = screenRequest(req, port) ?? handshakeRefusal(req);
    if (refusal) return refuseUpgrade(socket, refusal);
    const url = new URL(req.url!, `http://${LOOPBACK_HOST}:${port}`);
    const match = matchProviderRoute(url.pathname, req.headers, this.opts.routes);
    if (match.kind === 'index')
      return refuseUpgrade(socket, proxyError(undefined, 404, 'not_found', 'WebSocket upgrades are served on provider routes: /<provider>/<path>'));
    if (match.kind === 'refused') return refuseUpgrade(socket, match.error);
    const { route, tags, client, upstreamPath } = match;
    const keyFingerprint = this.opts.fingerprinter.fingerprint(findApiKey(req.headers, url.searchParams) ?? findSubprotocolKey(offeredSubprotocols(req)));
    this.connect({ req, socket, head, url, route, tags, client, upstreamPath, keyFingerprint, startedAt: Date.now(), t0: performance.now() });
  }

  /** Closes every open socket (going away), recording what was still running as cut. */
  close(): void {
    for (const upstream of this.connecting) upstream.terminate();
    for (const { client, upstream } of this.live) {
      for (const ws of [client, upstream]) {
        ws.close(1001, 'Burn Rate is shutting down');
        setTimeout(() => ws.terminate(), SHUTDOWN_GRACE_MS).unref();
      }
    }
  }

  /** Opens the provider's side first: its answer decides what the client gets. */
  private connect(p: PendingUpgrade): void {
    const { route, req, socket } = p;
    const target = `${route.origin.replace(/^http/, 'ws')}${route.basePath}${p.upstreamPath}${p.url.search}`;
    let upstream: WebSocket;
    try {
      upstream = new WebSocket(target, offeredSubprotocols(req), {
        headers: forwardHeaders(req.headers, HANDSHAKE_HEADERS_SET_BY_WS),
        perMessageDeflate: /\bpermessage-deflate\b/i.test(String(req.headers['sec-websocket-extensions'] ?? '')),
        maxPayload: this.opts.maxPayload,
        autoPong: false,
        skipUTF8Validation: true,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        followRedirects: false,
      });
    } catch (e) {
      return refuseUpgrade(socket, proxyError(route.protocol, 400, 'bad_handshake', `cannot open the upstream WebSocket: ${(e as Error).message}`));
    }
    this.connecting.add(upstream);
    let settled = false;
    const settle = () => {
      const first = !settled;
      settled = true;
      socket.off('close', clientGone);
      this.connecting.delete(upstream);
      return first;
    };
    // The client hung up before the provider answered: nothing was asked of it, so nothing is recorded.
    const clientGone = () => settle() && upstream.terminate();
    socket.once('close', clientGone);

    let upstreamHeaders: http.IncomingHttpHeaders = {};
    upstream.once('upgrade', (res) => (upstreamHeaders = res.headers));
    upstream.once('open', () => settle() && this.accept(p, upstream, upstreamHeaders));
    upstream.once('unexpected-response', (_request, res) => {
      if (!settle()) return;
      answerRefusedUpgrade(socket, res, (note) => {
        this.recordFailedUpgrade(p, res.statusCode ?? 0, note, false);
        upstream.terminate();
      });
    });
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (!settle()) return;
      // A provider that cannot be reached gets the same 502 as over HTTP; a dropped handshake is dropped on.
      if (isUnreachable(e))
        refuseUpgrade(socket, proxyError(route.protocol, 502, 'upstream_unreachable', `could not reach ${route.id} at ${route.origin} (${e.code})`, true));
      else socket.destroy();
      this.recordFailedUpgrade(p, 0, `websocket upgrade failed: ${e.code ?? 'error'}: ${e.message}`, true);
    });
  }

  /** The provider said 101: the client's handshake is completed with what it chose, then frames flow. */
  private accept(p: PendingUpgrade, upstream: WebSocket, headers: http.IncomingHttpHeaders): void {
    this.accepted.set(p.req, { protocol: upstream.protocol, headers });
    const server = upstream.extensions.includes('permessage-deflate') ? this.deflating : this.plain;
    let client: WebSocket | undefined;
    server.handleUpgrade(p.req, p.socket, p.head, (ws) => (client = ws));
    // The handshake is checked before the provider is asked, so this is only a client gone meanwhile.
    if (!client) return void upstream.close(1001, 'client went away');
    this.relay(p, client, upstream);
  }

  private relay(p: PendingUpgrade, client: WebSocket, upstream: WebSocket): void {
    const pair = { client, upstream };
    this.live.add(pair);
    const warn = (m: string) => this.opts.sink.log('warn', `${p.route.id} websocket: ${m}`);
    const protocol = socketProtocolFor(p.route.protocol, p.upstreamPath);
    const meter = protocol
      ? new SocketMeter(
          {
            protocol,
            routeProtocol: p.route.protocol,
            providerId: p.route.id,
            pricesProvider: p.route.pricesProvider,
            path: p.upstreamPath,
            tags: p.tags,
            client: p.client,
            keyFingerprint: p.keyFingerprint,
            userAgent: p.req.headers['user-agent'],
            model: p.url.searchParams.get('model') ?? undefined,
            toClient: (text) => client.readyState === WebSocket.OPEN && client.send(text),
            close: (code, reason) => {
              client.close(code, reason);
              upstream.close(1000, reason);
            },
          },
          this.opts.sink,
        )
      : undefined;
    relayFrames(client, upstream, meter, warn);
    let ended = false;
    const closed = (side: 'client' | 'upstream') => (code: number) => {
      if (ended) return;
      ended = true;
      this.live.delete(pair);
      meter?.socketClosed(side === 'client' ? `client closed the socket (${code}) mid-response` : `upstream closed the socket (${code}) mid-response`);
    };
    client.once('close', closed('client'));
    upstream.once('close', closed('upstream'));
  }

  /** A handshake the provider did not accept: one record of what it was, never priced. */
  private recordFailedUpgrade(p: PendingUpgrade, status: number, note: string, neverAnswered: boolean): void {
    const exchange: Exchange = {
      id: randomUUID(),
      startedAt: p.startedAt,
      t0: p.t0,
      providerId: p.route.id,
      pricesProvider: p.route.pricesProvider,
      // Not a metered call: a GET that asked for a socket, recorded as the GET it was.
      call: undefined,
      method: 'GET',
      path: p.upstreamPath,
      tags: p.tags,
      client: p.client,
      keyFingerprint: p.keyFingerprint,
      requestBytes: 0,
      status,
      ttftMs: null,
      neverAnswered,
    };
    recordExchange(this.opts.sink, exchange, undefined, !neverAnswered, note);
  }
}

/** The handshake headers the ws client writes itself for the provider's side. */
const HANDSHAKE_HEADERS_SET_BY_WS: ReadonlySet<string> = new Set([
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
]);
