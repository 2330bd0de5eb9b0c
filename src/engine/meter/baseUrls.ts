/**
 * The providers' base-URL variables that point SDKs at the proxy. Pure: no vscode, no I/O.
 * The variables come from the route table (pricing/providers.json `env` + `envSuffix`).
 */
import { ENGINE_HOST as LOOPBACK_HOST } from '../management';
import type { ProviderRoute } from '../providers';
import type { Tags } from '../attribution';

/**
 * Variables never injected. OLLAMA_HOST is also the address `ollama serve` binds to: pointing it at
 * the proxy in every terminal would stop Ollama itself from starting there. (Ollama is local and free;
 * its route stays available for clients configured by hand.)
 */
export const NOT_INJECTED = new Set(['OLLAMA_HOST']);

export type EnvRoute = Pick<ProviderRoute, 'id' | 'env' | 'envSuffix'>;

/** The path segment carrying attribution tags: "~workspace=my%20app,session=t1". Empty without tags. */
export function tagSegment(tags: Tags): string {
  const pairs = Object.entries(tags)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`);
  return pairs.length ? `~${pairs.join(',')}` : '';
}

export function proxyOrigin(port: number): string {
  return `http://${LOOPBACK_HOST}:${port}`;
}

/** The proxy's origin plus the tag segment: what every route of a metered environment starts with. */
export function taggedProxyBase(port: number, tags: Tags = {}): string {
  const seg = tagSegment(tags);
  return `${proxyOrigin(port)}${seg ? `/${seg}` : ''}`;
}

/** The base URL an SDK should use for `route`: http://127.0.0.1:8390/~workspace=x/openai/v1. */
export function proxyBaseUrl(port: number, route: EnvRoute, tags: Tags = {}): string {
  return `${taggedProxyBase(port, tags)}/${route.id}${route.envSuffix}`;
}

/** True when `value` already points at this proxy (e.g. the user exported it in their shell profile). */
export function pointsAtProxy(value: string, port: number): boolean {
  try {
    const u = new URL(value);
    return (u.hostname === LOOPBACK_HOST || u.hostname === 'localhost') && Number(u.port) === port;
  } catch {
    return false;
  }
}

/**
 * The upstream that routes a user's own base URL through the proxy unchanged: their URL without the
 * part the proxy route adds back (`envSuffix`, e.g. "/v1"). Undefined when it cannot be expressed
 * (not http(s), credentials or a query in it, or it does not end with the suffix).
 */
export function upstreamForBaseUrl(value: string, envSuffix: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash || u.username || u.password) return undefined;
  const pathname = u.pathname.replace(/\/+$/, '');
  if (envSuffix && !pathname.endsWith(envSuffix)) return undefined;
  return `${u.origin}${pathname.slice(0, pathname.length - envSuffix.length)}`;
}

export interface EnvPlanEntry {
  variable: string;
  provider: string;
  value: string;
}

export interface KeptBaseUrl {
  variable: string;
  provider: string;
  /** The user's own value, left in place. */
  value: string;
  /** The `burnrate.upstreams` entry that would route it through the proxy, when there is one. */
  upstream: string | undefined;
}

/**
 * Every provider's base-URL variable pointing at the proxy, except where the user's environment
 * already sets one of their own (kept, and reported so we can offer to route it through). A user's
 * URL counts as routed once `burnrate.upstreams` sends that provider to it.
 */
export function planBaseUrls(opts: {
  routes: readonly EnvRoute[];
  port: number;
  tags: Tags;
  processEnv: Record<string, string | undefined>;
  upstreams: Record<string, string>;
}): { set: EnvPlanEntry[]; kept: KeptBaseUrl[] } {
  const set: EnvPlanEntry[] = [];
  const kept: KeptBaseUrl[] = [];
  for (const route of opts.routes) {
    if (!route.env || NOT_INJECTED.has(route.env)) continue;
    const own = opts.processEnv[route.env]?.trim();
    const value = proxyBaseUrl(opts.port, route, opts.tags);
    if (own && !pointsAtProxy(own, opts.port)) {
      const upstream = upstreamForBaseUrl(own, route.envSuffix);
      const configured = opts.upstreams[route.id]?.replace(/\/+$/, '');
      if (!upstream || configured !== upstream) {
        kept.push({ variable: route.env, provider: route.id, value: own, upstream });
        continue;
      }
    }
    set.push({ variable: route.env, provider: route.id, value });
  }
  return { set, kept };
}
