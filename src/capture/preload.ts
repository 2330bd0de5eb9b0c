/**
 * The Node capture hook, loaded into every Node process of a metered environment with
 * `NODE_OPTIONS=--require …/preload.js`. Calls to the route table's provider upstreams (as listed in
 * BURNRATE_CAPTURE) made with global `fetch` or `node:http`/`node:https` are sent to the matching
 * proxy route instead, for clients that read no base-URL variable. Every other call is untouched.
 *
 * Runs before the user's program: it must be tiny, dependency-free, and never throw into it. Any
 * failure leaves the process as it was (one stderr line with BURNRATE_DEBUG set).
 */
import type * as Http from 'node:http';
import { CAPTURE_ENV, parseCaptureRoutes } from './protocol';
import { captureTarget, type CaptureMap } from './rewrite';

function debug(message: string): void {
  if (process.env[CAPTURE_ENV.debug]) process.stderr.write(`burnrate capture: ${message}\n`);
}

function patchFetch(map: CaptureMap): void {
  const original = globalThis.fetch;
  if (typeof original !== 'function') return;
  const captured: typeof fetch = function fetch(input, init) {
    let to: string | undefined;
    try {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : (input as Request).url;
      to = captureTarget(map, url);
      // A Request keeps its method, headers, body, signal and duplex when re-addressed.
      if (to) input = typeof input === 'string' || input instanceof URL ? to : new Request(to, input as Request);
    } catch (e) {
      debug(`fetch left as it was: ${(e as Error).message}`);
    }
    return original(input, init);
  };
  globalThis.fetch = captured;
}

type RequestFn = typeof Http.request;

/** The arguments of http(s).request/get as one options object (what Node itself does with them). */
function requestOptions(args: unknown[], defaultProtocol: string): { options: Http.RequestOptions & { href?: string }; callback: unknown } | undefined {
  const [first, second] = args;
  let third = args[2];
  let options: Record<string, unknown>;
  if (typeof first === 'string' || first instanceof URL) {
    const u = new URL(String(first));
    options = { protocol: u.protocol, hostname: u.hostname, port: u.port, path: u.pathname + u.search };
    if (typeof second === 'object' && second !== null) options = { ...options, ...(second as object) };
    else third = second;
  } else if (typeof first === 'object' && first !== null) {
    options = { ...(first as object) };
    third = second;
  } else return undefined;
  options.protocol ??= defaultProtocol;
  return { options: options as Http.RequestOptions, callback: third };
}

function originalUrl(o: Http.RequestOptions): string {
  const host = o.hostname ?? (o.host ?? 'localhost').replace(/:\d+$/, '');
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${o.protocol}//${bracketed}${o.port ? `:${o.port}` : ''}${o.path ?? '/'}`;
}

/** `options` re-addressed to the proxy route: plain http on loopback, no TLS agent, no Host of its own. */
function toProxy(options: Http.RequestOptions, to: string): Http.RequestOptions {
  const u = new URL(to);
  const headers = Array.isArray(options.headers) ? options.headers : { ...(options.headers as Record<string, unknown> | undefined) };
  if (!Array.isArray(headers)) for (const name of Object.keys(headers)) if (name.toLowerCase() === 'host') delete headers[name];
  const { agent: _agent, host: _host, createConnection: _cc, servername: _sn, ...rest } = options as Http.RequestOptions & { servername?: string };
  return { ...rest, protocol: 'http:', hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers: headers as Http.OutgoingHttpHeaders };
}

function patchRequestModule(map: CaptureMap, mod: { request: RequestFn; get: RequestFn }, protocol: string, httpRequest: RequestFn): void {
  const original = mod.request;
  const captured = function request(this: unknown, ...args: unknown[]) {
    try {
      const parsed = requestOptions(args, protocol);
      const to = parsed && captureTarget(map, originalUrl(parsed.options));
      if (parsed && to) {
        const rerouted = toProxy(parsed.options, to);
        return parsed.callback ? httpRequest(rerouted, parsed.callback as () => void) : httpRequest(rerouted);
      }
    } catch (e) {
      debug(`http request left as it was: ${(e as Error).message}`);
    }
    return (original as (...a: unknown[]) => Http.ClientRequest).apply(this, args);
  } as RequestFn;
  mod.request = captured;
  // get() calls the module's own request, not the export: it is wrapped the same way.
  mod.get = function get(this: unknown, ...args: unknown[]) {
    const req = (captured as (...a: unknown[]) => Http.ClientRequest).apply(this, args);
    req.end();
    return req;
  } as RequestFn;
}

function install(): void {
  const proxy = process.env[CAPTURE_ENV.proxy];
  const routes = parseCaptureRoutes(process.env[CAPTURE_ENV.routes] ?? '');
  if (!proxy || !routes.length) return;
  const map: CaptureMap = { proxy: proxy.replace(/\/+$/, ''), routes };
  patchFetch(map);
  const http = require('node:http') as typeof Http & { get: RequestFn };
  const https = require('node:https') as { request: RequestFn; get: RequestFn };
  const httpRequest = http.request;
  patchRequestModule(map, http, 'http:', httpRequest);
  patchRequestModule(map, https, 'https:', httpRequest);
  // `import { request } from 'node:https'` sees the patched functions too.
  (require('node:module') as { syncBuiltinESMExports(): void }).syncBuiltinESMExports();
}

try {
  install();
} catch (e) {
  debug(`not installed: ${(e as Error).message}`);
}
