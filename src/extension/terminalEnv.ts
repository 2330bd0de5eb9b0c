/**
 * Which base-URL variables terminals get, and the setup snippets. Pure (no vscode import).
 * The variables come from the route table (pricing/providers.json `env` + `envSuffix`).
 */
import { ENGINE_HOST as LOOPBACK_HOST } from '../engine/managementProtocol';
import type { ProviderRoute } from '../engine/routes';
import type { Tags } from '../engine/tags';

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

/** The base URL an SDK should use for `route`: http://127.0.0.1:8390/~workspace=x/openai/v1. */
export function proxyBaseUrl(port: number, route: EnvRoute, tags: Tags = {}): string {
  const seg = tagSegment(tags);
  return `${proxyOrigin(port)}${seg ? `/${seg}` : ''}/${route.id}${route.envSuffix}`;
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
 * What new terminals get: every provider's base-URL variable pointing at the proxy, except where the
 * user's environment already sets one of their own (kept, and reported so we can offer to route it
 * through). A user's URL counts as routed once `burnrate.upstreams` sends that provider to it.
 */
export function planTerminalEnv(opts: {
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

export type SnippetFormat = 'sh' | 'fish' | 'powershell' | 'dotenv';

/** The variables as a snippet to paste into a shell, a profile or a .env file. */
export function setupSnippet(format: SnippetFormat, entries: readonly EnvPlanEntry[], note?: string): string {
  const lines = [`# Burn Rate: route AI SDK calls through the local spend proxy${note ? ` (${note})` : ''}`];
  for (const e of entries) {
    switch (format) {
      case 'sh':
        lines.push(`export ${e.variable}='${e.value}'`);
        break;
      case 'fish':
        lines.push(`set -gx ${e.variable} '${e.value}'`);
        break;
      case 'powershell':
        lines.push(`$env:${e.variable} = '${e.value}'`);
        break;
      case 'dotenv':
        lines.push(`${e.variable}=${e.value}`);
        break;
    }
  }
  return lines.join('\n') + '\n';
}

/** How to start a metered terminal so its session-tagged variables win over the window-wide ones. */
export type MeteredLaunch =
  | { kind: 'envWrapper'; shellPath: string; shellArgs: string[] }
  | { kind: 'strictEnv'; env: Record<string, string> };

/**
 * VS Code applies extensions' environmentVariableCollections after a terminal's own `env`, and on
 * remote hosts (SSH, WSL, containers, code-server) it drops `strictEnv` too, so a terminal cannot
 * out-vote the window-wide variables through its options. On POSIX the metered terminal therefore
 * starts `/usr/bin/env VAR=value… <the user's shell>`: env sets the session's variables last, then
 * becomes the shell. On Windows (local terminals honour strictEnv) it uses strictEnv.
 */
export function meteredLaunch(opts: {
  platform: NodeJS.Platform;
  shell: string;
  entries: readonly EnvPlanEntry[];
  extra: Record<string, string>;
  baseEnv: Record<string, string | undefined>;
}): MeteredLaunch {
  const assignments = [...opts.entries.map((e) => [e.variable, e.value] as const), ...Object.entries(opts.extra)];
  if (opts.platform === 'win32') {
    return { kind: 'strictEnv', env: { ...strictTerminalEnv(opts.baseEnv, opts.entries), ...opts.extra } };
  }
  const shell = opts.shell || '/bin/sh';
  // A login shell on macOS, as VS Code's own default profiles there are.
  const login = opts.platform === 'darwin' && /\/(ba|z)sh$/.test(shell) ? ['-l'] : [];
  return { kind: 'envWrapper', shellPath: '/usr/bin/env', shellArgs: [...assignments.map(([k, v]) => `${k}=${v}`), shell, ...login] };
}

/**
 * Environment for a terminal created with `strictEnv` (the metered terminal on Windows: its own
 * session tag must win over the window-wide variables). Starts from the extension host's environment minus the
 * variables that only make sense inside the extension host.
 */
export function strictTerminalEnv(base: Record<string, string | undefined>, entries: readonly EnvPlanEntry[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || EXTENSION_HOST_ONLY.test(k)) continue;
    env[k] = v;
  }
  for (const e of entries) env[e.variable] = e.value;
  return env;
}

const EXTENSION_HOST_ONLY = /^(ELECTRON_RUN_AS_NODE|ELECTRON_NO_ATTACH_CONSOLE|ELECTRON_NO_ASAR|VSCODE_(?!GIT_).*|APPLICATION_INSIGHTS_NO_.*)$/;

/** A short, readable, unique-enough id for a metered terminal's session: "term-0612-3f9a". */
export function newSessionId(now = new Date(), random = Math.random): string {
  const hhmm = `${String(now.getHours()).padStart(2, '0')}${String(now.getMinutes()).padStart(2, '0')}`;
  const rand = Math.floor(random() * 0x10000).toString(16).padStart(4, '0');
  return `term-${hhmm}-${rand}`;
}
