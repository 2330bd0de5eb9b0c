import table from '../../../pricing/providers.json';

/** One provider the proxy routes to: /<id>/<upstream path> → <baseUrl><upstream path>. */
export interface ProviderRoute {
  id: string;
  /** Wire protocol, naming the adapter in providers/. */
  protocol: string;
  /** Upstream base URL (origin plus an optional path prefix, no trailing slash). */
  baseUrl: string;
  /** Provider id in the price catalogue; null for free local providers. */
  pricesProvider: string | null;
  /** Environment variable SDKs read for this provider's base URL, and what follows the proxy route in it. */
  env: string;
  envSuffix: string;
  /** False for OpenAI-protocol providers that reject `stream_options` (they send stream usage unasked). */
  injectStreamUsage?: boolean;
  /** Other path forms this provider's clients send, as prefix → the provider's own prefix. */
  pathAliases?: Readonly<Record<string, string>>;
  /** OpenTelemetry `gen_ai.provider.name`, where it differs from the id. */
  otelName?: string;
}

export const DEFAULT_ROUTES: readonly ProviderRoute[] = table.providers as ProviderRoute[];

/**
 * The provider's own form of a path a client sent: the first alias whose prefix it starts with
 * (a whole segment: "/messages" matches "/messages/count_tokens", not "/messagesX") is replaced.
 */
export function canonicalPath(route: Pick<ProviderRoute, 'pathAliases'>, path: string): string {
  if (!route.pathAliases) return path;
  for (const from in route.pathAliases) {
    if (path.startsWith(from) && (path.length === from.length || path[from.length] === '/')) return route.pathAliases[from] + path.slice(from.length);
  }
  return path;
}

export class RouteTableError extends Error {}

/**
 * The route table in force: the built-in rows with base URLs replaced by the user's
 * `burnrate.upstreams` / `--upstream` overrides. Never influenced by a request.
 */
export class RouteTable {
  private readonly byId = new Map<string, ProviderRoute & { origin: string; basePath: string }>();

  constructor(overrides: Record<string, string> = {}) {
    for (const row of DEFAULT_ROUTES) this.byId.set(row.id, { ...row, ...splitBaseUrl(row.baseUrl) });
    for (const [id, url] of Object.entries(overrides)) {
      const row = this.byId.get(id);
      if (!row) throw new RouteTableError(`unknown provider "${id}" in upstream override (known: ${this.ids().join(', ')})`);
      const baseUrl = url.replace(/\/+$/, '');
      this.byId.set(id, { ...row, baseUrl, ...splitBaseUrl(baseUrl) });
    }
  }

  get(id: string): (ProviderRoute & { origin: string; basePath: string }) | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  all(): ProviderRoute[] {
    return [...this.byId.values()];
  }

  /** Catalogue provider ids, in table order, for price lookups by bare model name. */
  pricesProviders(): string[] {
    return [
      ...new Set(
        this.all()
          .map((r) => r.pricesProvider)
          .filter((p): p is string => !!p),
      ),
    ];
  }
}

function splitBaseUrl(baseUrl: string): { origin: string; basePath: string } {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new RouteTableError(`upstream base URL "${baseUrl}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RouteTableError(`upstream base URL "${baseUrl}" must be http or https`);
  if (url.search || url.hash || url.username || url.password)
    throw new RouteTableError(`upstream base URL "${baseUrl}" must not carry a query, fragment or credentials`);
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}

/** Parses "PROVIDER=URL" as given to --upstream. */
export function parseUpstreamFlag(flag: string): [string, string] {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new RouteTableError(`--upstream expects PROVIDER=URL, got "${flag}"`);
  return [flag.slice(0, eq).trim(), flag.slice(eq + 1).trim()];
}
