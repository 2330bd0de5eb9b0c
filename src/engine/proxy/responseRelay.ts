/**
 * The HTTP relay phase: moves an upstream response to the client as it arrives, with a side copy
 * through the provider adapter's usage parser, and with back-pressure from the client.
 */
import type * as http from 'node:http';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { ResponseParser, UsageReport } from '../providers';

/** Hop-by-hop response headers (RFC 9110 §7.6.1): the proxy's own connection decides them. */
const RESPONSE_HEADERS_NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'trailer', 'upgrade']);

/**
 * Moves the response body to the client and a copy through the adapter's parser. Raw bytes are
 * forwarded untouched (compressed ones included) unless the parser rewrites the body, in which
 * case the decoded, rewritten bytes are forwarded instead.
 */
export class BodyPipe {
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

/**
 * Moves the upstream body through the pipe until it ends, fails or the client is gone; resolves with
 * the stream's error, if any. Plain listeners rather than `for await`: async iteration of a stream
 * costs a promise per chunk and an end-of-stream watcher per response.
 */
export function relayBody(body: Readable, pipe: BodyPipe, clientGone: () => boolean, onChunk: () => void): Promise<Error | undefined> {
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

/** `decoded`: the body goes out decompressed; `resized`: the body may differ in length from upstream's. */
export function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
  body: { decoded: boolean; resized: boolean },
): http.OutgoingHttpHeaders {
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
