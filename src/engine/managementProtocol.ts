/**
 * The management API's names and secret, shared by the engine (management.ts) and its clients (the
 * VS Code extension). Node built-ins only, so a client does not load the engine to talk to it.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The engine only ever listens here (the same as proxy.ts LOOPBACK_HOST). */
export const ENGINE_HOST = '127.0.0.1';

/** Routes the engine serves itself, beside the provider routes. */
export const MANAGEMENT_PREFIX = '/_burnrate/';
export const MANAGEMENT_ROUTES = {
  /** GET, no secret: tells a Burn Rate engine from another program holding the port. */
  health: '/_burnrate/health',
  /** GET: the current SpendSummary. */
  summary: '/_burnrate/summary',
  /**
   * GET ?workspace=<name>&host=<instance>: server-sent events, one `summary` event now and one after
   * every change; an `alert` event (GuardAlert + `audience`, see AlertAudience) per budget or guard
   * alert and per model announced as having no price. `host` is the engine's instance id when the
   * window hosts this engine.
   */
  events: '/_burnrate/events',
  /** POST {"paused": boolean}: stop or resume recording (requests are still forwarded). */
  recording: '/_burnrate/recording',
  /** GET ?format=csv|jsonl&since=<epoch ms>&until=<epoch ms>&workspace=<name>: one row per request, as `burnrate export`. */
  export: '/_burnrate/export',
  /** GET: sessions seen today with their spend, state (active/stopped), tripped guards and limits. */
  sessions: '/_burnrate/sessions',
  /** POST {"session": id}: refuse the session's next calls and cut its open streams. */
  sessionStop: '/_burnrate/sessions/stop',
  /** POST {"session": id}: let a stopped or tripped session go on. */
  sessionAllow: '/_burnrate/sessions/allow',
  /** POST {"session": id, "limits"?: {sessionMaxTokens?, sessionMaxUsd?, maxRequestsPerMinute?, maxRepeats?, retryStormErrors?}}: raise its limits (default: double each tripped one) and allow it. */
  sessionRaise: '/_burnrate/sessions/raise',
  /** GET: the budget and guard settings in force and each budget's use. */
  guards: '/_burnrate/guards',
  /** POST {"global"?: {settings}, "workspace"?: {"name", "settings"}}: apply burnrate.budget.* / burnrate.guard.* settings live. */
  settings: '/_burnrate/settings',
  /** GET ?since=<epoch ms>&until=<epoch ms>&workspace=<name>: every figure of the dashboard (DashboardData). */
  dashboard: '/_burnrate/dashboard',
  /** GET ?q=<text>: the price table (PriceRow[], USD per million tokens). */
  prices: '/_burnrate/prices',
  /** GET ?model=&inputTokens=&outputTokens=&cachedTokens=&requestsPerDay=: a cost estimate (CostEstimate). */
  estimate: '/_burnrate/estimate',
  /** GET: {announced, ignored}: models announced as having no price (and not priced since), and those never to be announced again. */
  unpricedModels: '/_burnrate/prices/unpriced',
  /** POST {"provider", "model"}: never announce this model's missing price again. */
  unpricedModelIgnore: '/_burnrate/prices/unpriced/ignore',
  /**
   * POST {"provider", "model", "inputPerMTok", "outputPerMTok", "cachedInputPerMTok"?} (USD per 1M
   * tokens): a price in the user's price-overrides.json, in force at once, and the model's past
   * unpriced calls repriced with it (PriceOverrideAnswer).
   */
  priceOverride: '/_burnrate/prices/override',
  /** POST {"provider", "model"}: reprices the model's unpriced history with the prices in force (after a refresh); answers `{repriced}` as above. */
  repriceModel: '/_burnrate/prices/reprice',
} as const;

/**
 * Which window shows an alert: "workspace": the window(s) of the alert's workspace; "owner": the window
 * hosting the engine; "this-window": the receiving window (no window hosts the engine, e.g. under
 * `burnrate serve`, and none of the alert's workspace follows; or it was raised while no window followed).
 */
export type AlertAudience = 'workspace' | 'owner' | 'this-window';

/** The dashboard page `burnrate serve` serves on its own port (no secret: it holds no data). */
export const DASHBOARD_PAGE_ROUTES = ['/', '/dashboard.js', '/dashboard.css'] as const;

export type { CostEstimate } from '../shared/dashboardTypes';

/** What repricing a model's unpriced history came to (POST /_burnrate/prices/reprice, and within the override's answer). */
export interface ModelRepriceAnswer {
  /** Null when the history could not be repriced (`repriceError`; `burnrate reprice` does it later). */
  repriced: { records: number; beforeUsd: number; afterUsd: number } | null;
  repriceError?: string;
}

/** What POST /_burnrate/prices/override answers: where the price was saved, and the model's past unpriced calls repriced with it. */
export interface PriceOverrideAnswer extends ModelRepriceAnswer {
  file: string;
  pricesProvider: string;
}

export const SECRET_FILE = 'management-secret';

/** What GET /_burnrate/health answers. Nothing secret: any local program may ask. */
export interface EngineHealth {
  service: 'burnrate';
  version: string;
  pid: number;
  /** Random per engine start: tells a restarted engine from the one a window was following. */
  instance: string;
  startedAt: number;
}

/**
 * The per-install secret the management API asks for (Authorization: Bearer <secret>). Kept in the
 * data directory, mode 0600, so only the user's own programs (their VS Code windows, their CLI)
 * can read spend data or pause recording; created on first use, race-free between processes.
 */
export function loadOrCreateSecret(dataDir: string): string {
  const existing = readSecret(dataDir);
  if (existing) return existing;
  const file = path.join(dataDir, SECRET_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const secret = readSecret(dataDir);
  if (!secret) throw new Error(`could not read the management secret in ${file}`);
  return secret;
}

export function readSecret(dataDir: string): string | undefined {
  try {
    const s = fs.readFileSync(path.join(dataDir, SECRET_FILE), 'utf8').trim();
    return s.length >= 32 ? s : undefined;
  } catch {
    return undefined;
  }
}
