import type * as http from 'node:http';
import { isTagHeader } from '../attribution';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and headers the proxy sets itself. */
const REQUEST_HEADERS_NOT_FORWARDED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'content-length',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'via',
]);

/**
 * The client's request headers as sent upstream: all but hop-by-hop ones, the proxy's own and the
 * x-burnrate-* tags. `alsoDrop`: headers the caller sets itself (the WebSocket handshake's).
 */
export function forwardHeaders(headers: http.IncomingHttpHeaders, alsoDrop?: ReadonlySet<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // for…in over Node's own header object: no [name, value] pair arrays allocated per header.
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || REQUEST_HEADERS_NOT_FORWARDED.has(name) || isTagHeader(name) || alsoDrop?.has(name)) continue;
    out[name] = value;
  }
  return out;
}
