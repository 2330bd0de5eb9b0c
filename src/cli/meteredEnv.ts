/** What `burnrate run` and `burnrate env` share: their flags, the proxy check and the environment. */
import * as path from 'node:path';
import { probe } from '../engine/management';
import { newSessionId, planMeteredEnv, pointsAtProxy, proxyOrigin, type MeteredEnvPlan } from '../engine/meter';
import { CAPTURE_ENV } from '../capture';
import { DEFAULT_PORT } from '../engine/proxy';
import { DEFAULT_ROUTES } from '../engine/providers';
import { takePathTags, type Tags } from '../engine/attribution';
import { intFlag, UsageError, type Values } from './args';
import { checkedOutBranch } from './gitBranch';

export const METERED_FLAGS = {
  port: { type: 'string', short: 'p' },
  session: { type: 'string' },
  feature: { type: 'string' },
  user: { type: 'string' },
  branch: { type: 'string' },
  'no-intercept': { type: 'boolean' },
} as const;
/** METERED_FLAGS as the help text shows them. */
export const METERED_SYNOPSIS = '[--port N] [--session S] [--feature F] [--user U] [--branch B] [--no-intercept]';

/** Exit status when no Burn Rate proxy answers on the port (sysexits' EX_UNAVAILABLE). */
export const NO_PROXY_EXIT = 69;

export class NoProxyError extends Error {}

/** The metered environment for these flags, once a Burn Rate proxy has answered on the port. */
export async function meteredEnvironment(values: Values, sessionPrefix: string): Promise<MeteredEnvPlan> {
  const inherited = parentMeter(process.env);
  const port = intFlag(values, 'port', 1) ?? inherited.port ?? DEFAULT_PORT;
  if (port > 65535) throw new UsageError(`--port expects 1-65535, got ${port}`);
  await requireProxy(port);
  // --session names the session outright; without it the run's own id is the session of calls
  // that bring no conversation id of their own (an agent's conversations stay apart).
  const named = values.session as string | undefined;
  const tags: Tags = { ...inherited.tags, ...(named ? { session: named } : { run: newSessionId(new Date(), Math.random, sessionPrefix) }) };
  if (values.feature !== undefined) tags.feature = values.feature as string;
  if (values.user !== undefined) tags.user = values.user as string;
  setBranch(tags, values.branch !== undefined ? (values.branch as string) || null : checkedOutBranch(process.cwd()));
  return planMeteredEnv({
    routes: DEFAULT_ROUTES,
    port,
    tags,
    parentEnv: process.env,
    // The running proxy's upstream overrides are not known here: a base URL of the user's own is kept.
    upstreams: {},
    intercept: !values['no-intercept'],
    // dist/capture, beside the bundled cli.js.
    captureDir: path.join(__dirname, 'capture'),
  });
}

/**
 * --branch, else the branch checked out in the working directory; a detached HEAD (or `--branch ''`)
 * drops one inherited from a metered terminal; outside a repository the inherited one stays.
 */
function setBranch(tags: Tags, branch: string | null | undefined): void {
  if (branch === null) delete tags.branch;
  else if (branch !== undefined) tags.branch = branch;
}

/**
 * Inside a metered terminal (or another `burnrate run`): its proxy port and tags other than the
 * session (workspace, feature, …) carry over, so the run is still attributed to its workspace.
 */
function parentMeter(env: NodeJS.ProcessEnv): { port?: number; tags: Tags } {
  const base = env[CAPTURE_ENV.proxy];
  if (!base) return { tags: {} };
  try {
    const url = new URL(base);
    const port = Number(url.port);
    if (!pointsAtProxy(base, port)) return { tags: {} };
    const { session: _session, run: _run, ...tags } = takePathTags(url.pathname).tags;
    return { port, tags };
  } catch {
    return { tags: {} };
  }
}

async function requireProxy(port: number): Promise<void> {
  const answer = await probe(port);
  const where = proxyOrigin(port).replace('http://', '');
  const start = `start one with \`burnrate serve${port === DEFAULT_PORT ? '' : ` --port ${port}`}\` or open VS Code with Burn Rate`;
  switch (answer.kind) {
    case 'burnrate':
      return;
    case 'free':
      throw new NoProxyError(`no Burn Rate proxy on ${where}; ${start}`);
    case 'foreign':
      throw new NoProxyError(`what listens on ${where} is not a Burn Rate proxy (${answer.detail}); ${start}, or pick its port with --port`);
    case 'unknown':
      throw new NoProxyError(`no answer from a Burn Rate proxy on ${where} (${answer.detail}); ${start}`);
  }
}
