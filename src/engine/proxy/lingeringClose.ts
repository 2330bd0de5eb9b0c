/**
 * Refusals sent before the request body is read (foreign Host, Origin, unknown provider, a body over
 * the cap), closed the way nginx closes them: the whole answer goes out at once, then the rest of
 * the body is read and thrown away, up to a bound, before the connection closes. Closing at once
 * makes a client that is still uploading fail its write (EPIPE, ECONNRESET) before it reads the
 * answer: the SDK reports "Connection error." instead of the 413 and its message.
 */
import type * as http from 'node:http';
import type { ProxyErrorResponse } from '../http';
import { DEFAULT_SETTINGS } from '../../shared';

/** How much of a refused request's body is still read (and discarded) after the answer, and for how long. */
export interface LingerBound {
  /** Bytes read after the answer; a client that sends more is cut. */
  bytes: number;
  /** Time after the answer; a body that has not ended by then is cut. */
  ms: number;
}

/**
 * The defaults of burnrate.proxy.lingerMb and lingerSeconds. 128 MiB is twice the default body cap:
 * a body up to twice the cap is read whole, so a client that writes its whole body before reading
 * (Python's http.client and httpx do) still gets the answer; SDKs on fetch read the answer as soon
 * as it comes and stop. Discarding costs no memory, and little time: measured against
 * `burnrate serve` on a busy 2-core machine, a client pushing a declared 200 MiB body is answered in
 * 10-30 ms and cut after 128 MiB at 0.15-0.35 s; the openai SDK's 80 MB body is answered with the
 * 413 in 0.5-0.8 s, building the body included. Ten seconds leaves a loaded machine thirty times that.
 */
export const DEFAULT_LINGER: LingerBound = {
  bytes: DEFAULT_SETTINGS['burnrate.proxy.lingerMb'] * 1024 * 1024,
  ms: DEFAULT_SETTINGS['burnrate.proxy.lingerSeconds'] * 1000,
};

/**
 * Answers `e` with `Connection: close` while the request body is still unread, then reads the rest of
 * it until it ends (the connection then closes cleanly), or cuts the connection past the bound.
 * The answer carries its length, so the client has all of it before the response is ended.
 */
export function refuseBeforeBody(req: http.IncomingMessage, res: http.ServerResponse, e: ProxyErrorResponse, bound: LingerBound): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(e.status, { ...e.headers, 'content-length': String(Buffer.byteLength(e.body)), connection: 'close' });
  // Written, not ended: Node closes a `Connection: close` response's socket as soon as it is ended.
  res.write(e.body);
  if (req.readableEnded) return void res.end();
  let discarded = 0;
  const settle = (cut: boolean) => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    res.off('close', onClose);
    if (cut) res.destroy();
    else res.end();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bound.bytes) settle(true);
  };
  const onEnd = () => settle(false);
  const onClose = () => settle(true);
  const timer = setTimeout(() => settle(true), bound.ms);
  timer.unref();
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('close', onClose);
  res.once('close', onClose);
  req.resume();
}
