/**
 * The first phases of every proxied request, HTTP or WebSocket upgrade: screen (refuse what a
 * loopback proxy must never serve) and route (/<tags>/<provider>/<upstream path> → a route-table row).
 */
import type * as http from 'node:http';
import { identifyClient, headerTags, takePathTags, TagError, type Tags } from '../attribution';
import { proxyError, type ProxyErrorResponse } from '../http';
import { DASHBOARD_PAGE_ROUTES, MANAGEMENT_PREFIX } from '../../shared';
import { canonicalPath, type RouteTable } from '../providers';

export const LOOPBACK_HOST = '127.0.0.1';

/** A route-table row as the proxy forwards to it. */
export type ResolvedRoute = NonNullable<ReturnType<RouteTable['get']>>;

/** Refuses what a loopback proxy must never serve (see README "Security"). */
export function screenRequest(req: http.IncomingMessage, port: number): ProxyErrorResponse | undefined {
  if (!req.url?.startsWith('/')) return proxyError(undefined, 400, 'absolute_target', 'absolute-form request targets are refused: this is not an open proxy');
  let hostCount = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].length === 4 && req.rawHeaders[i].toLowerCase() === 'host') hostCount++;
  const host = req.headers.host?.toLowerCase();
  if (hostCount !== 1 || (host !== `${LOOPBACK_HOST}:${port}` && host !== `localhost:${port}`)) {
    return proxyError(undefined, 421, 'bad_host', `Host must be ${LOOPBACK_HOST}:${port}`);
  }
  if (req.headers.origin !== undefined && !isOwnPage(req, port))
    return proxyError(undefined, 403, 'origin_refused', 'requests from web pages (with an Origin header) are refused');
  if (/(^|\/)\.\.?(\/|$)/.test(req.url.split('?')[0])) return proxyError(undefined, 400, 'bad_path', 'dot segments are not allowed in the path');
  return undefined;
}

/**
 * Browsers send Origin on the dashboard page's own requests (POSTs, streamed fetches). Only this
 * engine's own origin, and only on the page and the management routes; never on provider routes.
 */
function isOwnPage(req: http.IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  if (origin !== `http://${LOOPBACK_HOST}:${port}` && origin !== `http://localhost:${port}`) return false;
  // The path as the handlers will see it (URL-normalised), so no encoded dot segment leads elsewhere.
  const pathname = new URL(req.url!, `http://${LOOPBACK_HOST}:${port}`).pathname;
  return pathname.startsWith(MANAGEMENT_PREFIX) || (DASHBOARD_PAGE_ROUTES as readonly string[]).includes(pathname);
}

export type RouteMatch =
  /** `client`: which tool or SDK is calling (see clientIdentity.ts). */
  | { kind: 'provider'; tags: Tags; client: string | null; route: ResolvedRoute; upstreamPath: string }
  /** The bare root: the proxy's own index page. */
  | { kind: 'index' }
  | { kind: 'refused'; error: ProxyErrorResponse };

/**
 * Splits off the tag segments and the provider; header tags win over path tags, and the caller's
 * own conversation id (see clientIdentity.ts) stands in for a missing session tag. The upstream path is
 * the provider's own form of the one the client sent (its route's path aliases).
 */
export function matchProviderRoute(pathname: string, headers: http.IncomingHttpHeaders, routes: RouteTable): RouteMatch {
  let tags: Tags;
  let rest: string;
  try {
    ({ tags, rest } = takePathTags(pathname));
  } catch (e) {
    return { kind: 'refused', error: proxyError(undefined, 400, 'bad_tag', (e as TagError).message) };
  }
  const slash = rest.indexOf('/', 1);
  const providerId = slash === -1 ? rest.slice(1) : rest.slice(1, slash);
  const route = routes.get(providerId);
  if (!route) {
    if (rest === '/' || rest === '') return { kind: 'index' };
    const known = routes.ids().join(', ');
    return {
      kind: 'refused',
      error: proxyError(undefined, 404, 'unknown_provider', `unknown provider "${providerId}". Routes are /<provider>/<path> with provider one of: ${known}`),
    };
  }
  Object.assign(tags, headerTags(headers));
  // The session: a tag, else the agent's own conversation id, else the metered terminal or run.
  const identity = identifyClient(headers);
  tags.session ||= identity.conversation ?? tags.run;
  const upstreamPath = canonicalPath(route, slash === -1 ? '/' : rest.slice(slash));
  return { kind: 'provider', tags, client: identity.client, route, upstreamPath };
}
