/** A request's body, read up to the cap, and the little of its JSON the proxy looks at. */
import type * as http from 'node:http';
import { parseJsonLazily } from './lazyJson';

/** The whole body, or 'too-large' past `max` bytes (the rest left unread, never buffered: see lingeringClose.ts), or 'aborted'. */
export function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  // Refused before reading a byte.
  if (Number.isFinite(declared) && declared > max) return Promise.resolve('too-large');
  // Plain listeners, not `for await` (see relayBody in responseRelay.ts): the common request body is one small chunk.
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
      if (size > max) return finish('too-large');
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

export function parseJson(body: Buffer, contentType: string | undefined): unknown {
  if (!body.length) return undefined;
  if (contentType && !contentType.includes('json') && body[0] !== 0x7b) return undefined;
  // Only the small top-level fields are read on the proxy's path; the conversation is never parsed.
  return parseJsonLazily(body);
}
