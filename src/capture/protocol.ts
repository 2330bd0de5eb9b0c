/**
 * What a metered environment tells the capture hooks (the Node preload, Python's sitecustomize and
 * the Codex shim), declared once. No imports: the preload bundles this file into every Node process
 * of a metered terminal. The Python and shell hooks read the same names (see their headers).
 */

/** The environment variables the capture hooks read. */
export const CAPTURE_ENV = {
  /** The proxy's origin and tag segment: http://127.0.0.1:8390/~session=run-1200-ab12 */
  proxy: 'BURNRATE_PROXY',
  /** Space-separated PROVIDER=UPSTREAM_BASE pairs: which upstreams are sent to which proxy route. */
  routes: 'BURNRATE_CAPTURE',
  /** Set to anything: the hooks say on stderr why they did nothing, once. */
  debug: 'BURNRATE_DEBUG',
} as const;

/** Where the hooks live inside the built package's capture folder (dist/capture/). */
export const CAPTURE_FILES = {
  nodePreload: 'preload.js',
  pythonDir: 'python',
  shimDir: 'bin',
} as const;

export interface CaptureRoute {
  provider: string;
  /** The upstream base URL the route forwards to: origin plus an optional path prefix. */
  upstream: string;
}

export function formatCaptureRoutes(routes: readonly CaptureRoute[]): string {
  return routes.map((r) => `${r.provider}=${r.upstream}`).join(' ');
}

export function parseCaptureRoutes(text: string): CaptureRoute[] {
  const routes: CaptureRoute[] = [];
  for (const pair of text.split(/\s+/)) {
    const eq = pair.indexOf('=');
    if (eq > 0) routes.push({ provider: pair.slice(0, eq), upstream: pair.slice(eq + 1).replace(/\/+$/, '') });
  }
  return routes;
}
