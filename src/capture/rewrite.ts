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
    let base: URL;
    try {
      base = new URL(route.upstream);
    } catch {
      continue;
    }
    if (u.origin !== base.origin) continue;
    const prefix = base.pathname.replace(/\/+$/, '');
    const rest = u.pathname.slice(prefix.length);
    if (!u.pathname.startsWith(prefix) || (rest && !rest.startsWith('/'))) continue;
    return `${map.proxy}/${route.provider}${rest}${u.search}`;
  }
  return undefined;
}
