/**
 * The HTTP side of a WebSocket upgrade: checking the client's handshake before the provider is
 * asked, answering refusals on the raw socket, and passing the provider's own answers on.
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { proxyError, type ProxyErrorResponse } from '../../http';
import { errorBodyMessage, parseJson } from '../../providers';

/** RFC 6455 §4.1: a 16-byte nonce in base64. */
const CLIENT_KEY = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 7230 token characters, as a subprotocol must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A refused upgrade's body is passed on whole; this much of it is read for the record's note. */
const NOTE_BODY_BYTES = 64 * 1024;

/** Headers of the provider's answers that belong to its own connection or handshake, not to the client's. */
const HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'trailer',
  'upgrade',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'content-length',
]);

/**
 * Refuses a handshake the provider would refuse too, before it is asked: the same checks the ws
 * server makes when it completes the client's side, so a socket is never opened upstream for nothing.
 */
export function handshakeRefusal(req: http.IncomingMessage): ProxyErrorResponse | undefined {
  const refuse = (message: string) => proxyError(undefined, 400, 'bad_websocket_handshake', message);
  if (String(req.headers.upgrade).toLowerCase() !== 'websocket')
    return refuse('only WebSocket upgrades are relayed; send this request without an Upgrade header');
  if (req.method !== 'GET') return refuse('a WebSocket handshake is a GET');
  if (!CLIENT_KEY.test(String(req.headers['sec-websocket-key'] ?? ''))) return refuse('missing or invalid Sec-WebSocket-Key');
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return refuse('unsupported Sec-WebSocket-Version (13 is)');
  if (!offeredSubprotocols(req).every((p) => TOKEN.test(p))) return refuse('invalid Sec-WebSocket-Protocol');
  return undefined;
}

/** The subprotocols the client offers, in its order. */
export function offeredSubprotocols(req: http.IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (!header) return [];
  return header.split(',').map((p) => p.trim());
}

/** Answers an upgrade with one of the proxy's own errors and closes the connection. */
export function refuseUpgrade(socket: Duplex, e: ProxyErrorResponse): void {
  if (socket.destroyed) return;
  const headers = { ...e.headers, 'content-length': String(Buffer.byteLength(e.body)), connection: 'close' };
  const head = [`HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status] ?? ''}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${head.join('\r\n')}\r\n\r\n${e.body}`);
}

/**
 * Passes the provider's answer to a handshake it did not accept (401, 404, 426, …) on to the client:
 * its status, headers and body as sent, then the connection is closed (the body runs to the close).
 * `done` receives a note for the record once the answer is passed on or cut.
 */
export function answerRefusedUpgrade(socket: Duplex, res: http.IncomingMessage, done: (note: string) => void): void {
  const head = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}`];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (!HOP_HEADERS.has(res.rawHeaders[i].toLowerCase())) head.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  }
  head.push('Connection: close');
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  const sample: Buffer[] = [];
  let sampled = 0;
  res.on('data', (chunk: Buffer) => {
    if (sampled < NOTE_BODY_BYTES) sample.push(chunk);
    sampled += chunk.length;
  });
  const note = (cut: boolean) => {
    // A compressed body is passed on, not read.
    const readable = !res.headers['content-encoding'] || res.headers['content-encoding'] === 'identity';
    const message = readable ? errorBodyMessage(parseJson(Buffer.concat(sample).toString('utf8'))) : undefined;
    return `websocket upgrade refused by the provider: HTTP ${res.statusCode}${message ? `: ${message}` : ''}${cut ? ' (answer cut short)' : ''}`;
  };
  let ended = false;
  const end = (cut: boolean) => {
    if (ended) return;
    ended = true;
    if (cut) socket.destroy();
    done(note(cut));
  };
  res.pipe(socket);
  res.once('end', () => end(false));
  res.once('error', () => end(true));
  res.once('close', () => end(!res.complete));
}

/** The provider's 101 headers worth passing on to the client's 101 (request ids, rate limits, …). */
export function upstreamHandshakeHeaders(headers: http.IncomingHttpHeaders | undefined): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_HEADERS.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(`${name}: ${v}`);
  }
  return out;
}
