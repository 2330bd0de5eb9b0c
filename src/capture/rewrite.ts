/** Which proxy route a provider call goes to. Pure; bundled into the Node preload. */
import type { CaptureRoute } from './protocol';

export interface CaptureMap {
  /** The proxy's origin and tag segment, no trailing slash. */
  proxy: string;
  routes: readonly CaptureRoute[];
}

/**
 * The proxy URL for a call to `url`, or undefined to leave the call alone: it is for none of the
 * captured upstreams (other hosts, the proxy itself, a path outside the upstream's prefix).
 * https://api.mistral.ai/v1/chat/completions → <proxy>/mistral/v1/chat/completions.
 */
export function captureTarget(map: CaptureMap, url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  for (const route of map.routes) {
    const base = upstreamOf(route);
    if (!base || u.origin !== base.origin) continue;
    const rest = u.pathname.slice(base.prefix.length);
    if (!u.pathname.startsWith(base.prefix) || (rest && !rest.startsWith('/'))) continue;
    return `${map.proxy}/${route.provider}${rest}${u.search}`;
  }
  return undefined;
}

/** Each route's upstream, parsed once: this runs on every fetch and http(s) request of the process. */
const upstreams = new WeakMap<CaptureRoute, { origin: string; prefix: string } | null>();

function upstreamOf(route: CaptureRoute): { origin: string; prefix: string } | null {
  let base = upstreams.get(route);
  if (base === undefined) {
    try {
      const u = new URL(route.upstream);
      base = { origin: u.origin, prefix: u.pathname.replace(/\/+$/, '') };
    } catch {
      base = null;
    }
    upstreams.set(route, base);
  }
  return base;
}
