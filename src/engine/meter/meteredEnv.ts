/**
 * The metered environment, one home: every variable a metered terminal or a `burnrate run` child
 * gets. Base-URL variables for the clients that read them, and the capture hooks for those that
 * read none (a Node preload, Python's sitecustomize, a `codex` shim on PATH). Pure: no vscode, no I/O.
 */
import * as path from 'node:path';
import { CAPTURE_ENV, CAPTURE_FILES, formatCaptureRoutes, type CaptureRoute } from '../../capture';
import type { ProviderRoute } from '../providers';
import type { Tags } from '../attribution';
import { ENGINE_HOST as LOOPBACK_HOST } from '../management';
import { planBaseUrls, taggedProxyBase, type EnvPlanEntry, type KeptBaseUrl } from './baseUrls';

/** How a variable is put into an environment whose own value may differ from the planner's parent env. */
export type VariableEdit = { kind: 'replace' } | { kind: 'prepend' | 'append'; part: string };

export interface MeteredVariable {
  variable: string;
  /** The whole value, composed with the parent environment's own value. */
  value: string;
  /** For environmentVariableCollection: replace, or prepend/append `part` (separator included). */
  edit: VariableEdit;
}

export interface MeteredEnvPlan {
  /** Everything to set, base URLs first. */
  variables: MeteredVariable[];
  /** Every provider's base-URL variable, for setup snippets ("Copy Proxy Setup") used where no hook runs. */
  baseUrls: EnvPlanEntry[];
  /** Base URLs of the user's own, left alone (their provider is then not captured either). */
  kept: KeptBaseUrl[];
}

export interface MeteredEnvOptions {
  routes: readonly Pick<ProviderRoute, 'id' | 'env' | 'envSuffix' | 'baseUrl'>[];
  port: number;
  tags: Tags;
  /** The environment the metered one derives from (the extension host's, the CLI's). */
  parentEnv: Record<string, string | undefined>;
  /** `burnrate.upstreams`: the provider routes' upstreams in force. */
  upstreams: Record<string, string>;
  /** False: base-URL variables only, no capture hooks (`burnrate.terminal.intercept`, `--no-intercept`). */
  intercept: boolean;
  /** Absolute path of the built capture folder (dist/capture). */
  captureDir: string;
  platform?: NodeJS.Platform;
}

/**
 * Base-URL variables left out while the capture hooks are on: the hooks meter their clients, which
 * call the provider's public host without them. GOOGLE_GEMINI_BASE_URL makes Gemini CLI switch to
 * its "gateway" sign-in, which it refuses without a settings file ("Invalid auth method selected");
 * @google/genai, Gemini CLI and Python's google-genai are captured at generativelanguage.googleapis.com.
 */
export const LEFT_TO_CAPTURE = new Set(['GOOGLE_GEMINI_BASE_URL']);

export function planMeteredEnv(opts: MeteredEnvOptions): MeteredEnvPlan {
  const { set, kept } = planBaseUrls({ routes: opts.routes, port: opts.port, tags: opts.tags, processEnv: opts.parentEnv, upstreams: opts.upstreams });
  const injected = opts.intercept ? set.filter((e) => !LEFT_TO_CAPTURE.has(e.variable)) : set;
  const variables: MeteredVariable[] = injected.map((e) => replaced(e.variable, e.value));
  // Lets a script send the tag itself (x-burnrate-session) where a base URL cannot carry it.
  const session = opts.tags.session ?? opts.tags.run;
  if (session) variables.push(replaced('BURNRATE_SESSION', session));
  if (opts.intercept) variables.push(...captureVariables(opts, set));
  variables.push(...proxyBypass(opts));
  return { variables, baseUrls: set, kept };
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'];

/**
 * With an HTTP proxy of the user's in the environment, Python (httpx, requests, urllib), curl and
 * others would send calls for http://127.0.0.1:PORT to that proxy, which cannot reach the user's
 * loopback: 127.0.0.1 is added to NO_PROXY and no_proxy (each keeping its own value, or else the
 * other's, since Python lets no_proxy hide NO_PROXY).
 */
function proxyBypass(opts: MeteredEnvOptions): MeteredVariable[] {
  const env = opts.parentEnv;
  if (!PROXY_VARIABLES.some((name) => env[name] || env[name.toLowerCase()])) return [];
  const names = (opts.platform ?? process.platform) === 'win32' ? ['NO_PROXY'] : ['NO_PROXY', 'no_proxy'];
  return names
    .map((name) => {
      const own = env[name] ?? env[name === 'NO_PROXY' ? 'no_proxy' : 'NO_PROXY'];
      const variable = joined(name, own, LOOPBACK_HOST, ',', 'append');
      // Taken from the other spelling: set whole, not appended to a value this variable does not have.
      return variable && env[name] === undefined ? replaced(name, variable.value) : variable;
    })
    .filter((v): v is MeteredVariable => v !== undefined);
}

/**
 * The capture hooks' variables. Only the providers whose base URL this environment points at the
 * proxy are captured (a user's own base URL is left alone), and only at their public API host from
 * the route table: that is where a client with no base URL of its own sends its calls. The proxy
 * route then forwards them to the upstream in force, as it does for the base-URL variables.
 */
function captureVariables(opts: MeteredEnvOptions, metered: readonly EnvPlanEntry[]): MeteredVariable[] {
  const platform = opts.platform ?? process.platform;
  const pathApi = platform === 'win32' ? path.win32 : path.posix;
  const listSeparator = platform === 'win32' ? ';' : ':';
  const routes: CaptureRoute[] = [];
  for (const entry of metered) {
    const route = opts.routes.find((r) => r.id === entry.provider);
    if (route) routes.push({ provider: route.id, upstream: route.baseUrl.replace(/\/+$/, '') });
  }
  if (!routes.length) return [];
  const env = opts.parentEnv;
  const pathVariable = platform === 'win32' ? (Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'Path') : 'PATH';
  const hooks = [
    replaced(CAPTURE_ENV.proxy, taggedProxyBase(opts.port, opts.tags)),
    replaced(CAPTURE_ENV.routes, formatCaptureRoutes(routes)),
    joined('NODE_OPTIONS', env.NODE_OPTIONS, `--require ${nodeOptionValue(pathApi.join(opts.captureDir, CAPTURE_FILES.nodePreload))}`, ' ', 'append'),
    joined('PYTHONPATH', env.PYTHONPATH, pathApi.join(opts.captureDir, CAPTURE_FILES.pythonDir), listSeparator, 'prepend'),
    joined(pathVariable, env[pathVariable], pathApi.join(opts.captureDir, CAPTURE_FILES.shimDir), listSeparator, 'prepend'),
  ];
  return hooks.filter((v): v is MeteredVariable => v !== undefined);
}

function replaced(variable: string, value: string): MeteredVariable {
  return { variable, value, edit: { kind: 'replace' } };
}

/**
 * Adds `item` to a list-valued variable, keeping the user's own value. An unset or empty variable
 * gets the item alone: a stray separator would add an empty PATH/PYTHONPATH entry, i.e. the current
 * directory. An item already there (a `burnrate run` inside a metered terminal) is not added twice.
 */
function joined(variable: string, own: string | undefined, item: string, separator: string, where: 'prepend' | 'append'): MeteredVariable | undefined {
  if (!own) return replaced(variable, item);
  if (own.split(separator).includes(item) || (separator === ' ' && own.includes(item))) return undefined;
  const value = where === 'prepend' ? `${item}${separator}${own}` : `${own}${separator}${item}`;
  return { variable, value, edit: { kind: where, part: where === 'prepend' ? `${item}${separator}` : `${separator}${item}` } };
}

/** A path as one NODE_OPTIONS word: Node splits that variable on spaces and honours "…" with \-escapes. */
export function nodeOptionValue(file: string): string {
  return /[\s"]/.test(file) ? `"${file.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : file;
}

/** The variables as a plain record (what `burnrate run` adds to its own environment). */
export function meteredEnvRecord(plan: MeteredEnvPlan): Record<string, string> {
  return Object.fromEntries(plan.variables.map((v) => [v.variable, v.value]));
}

/** A short, readable, unique-enough session id: "term-0612-3f9a" for a metered terminal, "run-…" for `burnrate run`. */
export function newSessionId(now = new Date(), random = Math.random, prefix = 'term'): string {
  const hhmm = `${String(now.getHours()).padStart(2, '0')}${String(now.getMinutes()).padStart(2, '0')}`;
  const rand = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${prefix}-${hhmm}-${rand}`;
}
