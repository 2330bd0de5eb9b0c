/**
 * The engine's management API, declared once: each route's method, path, parameters (the query of
 * a GET, the JSON body of a POST) and answer. The engine serves these (src/engine/management/management.ts,
 * guardRoutes.ts, priceRoutes.ts); the extension (src/extension/link/managementClient.ts) and the
 * served dashboard page (webview/hosts.ts) call them. Every route but health needs the
 * per-install secret as a Bearer token.
 */
import type { CostEstimate, DashboardData, PriceRow, WhatIfAnswer } from './dashboardTypes';
import type { SessionLimits, SessionView } from './guardTypes';

export type HttpMethod = 'GET' | 'POST';

/** One route. `types` is never set: it carries the parameter and answer types to both sides. */
export interface ManagementRoute<M extends HttpMethod = HttpMethod, Params = unknown, Result = unknown> {
  readonly method: M;
  readonly path: string;
  readonly types?: { params: Params; result: Result };
}

export type ParamsOf<R> = R extends ManagementRoute<HttpMethod, infer P, unknown> ? P : never;
export type ResultOf<R> = R extends ManagementRoute<HttpMethod, unknown, infer A> ? A : never;

const get = <Params, Result>(path: string): ManagementRoute<'GET', Params, Result> => ({ method: 'GET', path });
const post = <Params, Result>(path: string): ManagementRoute<'POST', Params, Result> => ({ method: 'POST', path });

/** Routes the engine serves itself, beside the provider routes. */
export const MANAGEMENT_PREFIX = '/_burnrate/';

/** The dashboard page `burnrate serve` serves on its own port (no secret: it holds no data). */
export const DASHBOARD_PAGE_ROUTES = ['/', '/dashboard.js', '/dashboard.css'] as const;

/** Whole local days: since = first day's midnight, until = the midnight after the last day. */
export interface FilterQuery {
  since: number;
  until: number;
  workspace?: string;
}

/** The dashboard's range priced at another model: a model id (gpt-4o-mini) or provider/model. */
export interface WhatIfQuery extends FilterQuery {
  model: string;
}

export interface EstimateQuery {
  model: string;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  requestsPerDay: number;
}

export type ExportFormat = 'csv' | 'jsonl';

/** One row per request, as `burnrate export`; without since/until, every record. */
export interface ExportQuery {
  format: ExportFormat;
  since?: number;
  until?: number;
  workspace?: string;
}

/** A model of a provider (its route id, e.g. "openai"). */
export interface ModelKey {
  provider: string;
  model: string;
}

/** A price in the user's price-overrides.json, USD per million tokens. */
export interface PriceOverride extends ModelKey {
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok?: number;
}

/** The limits a session's raise may set (default: double each tripped one). */
export type RaisableLimits = Partial<Omit<SessionLimits, 'onTrip'>>;

/** burnrate.budget.* and burnrate.guard.* settings, applied live, for everyone and for one workspace. */
export interface LiveSettingsUpdate {
  global?: Record<string, unknown>;
  workspace?: { name: string; settings: Record<string, unknown> };
}

/** What GET health answers. Nothing secret: any local program may ask. */
export interface EngineHealth {
  service: 'burnrate';
  version: string;
  pid: number;
  /** Random per engine start: tells a restarted engine from the one a window was following. */
  instance: string;
  startedAt: number;
}

/** What repricing a model's unpriced history came to (repriceModel, and within the override's answer). */
export interface ModelRepriceAnswer {
  /** Null when the history could not be repriced (`repriceError`; `burnrate reprice` does it later). */
  repriced: { records: number; beforeUsd: number; afterUsd: number } | null;
  repriceError?: string;
}

/** What priceOverride answers: where the price was saved, and the model's past unpriced calls repriced with it. */
export interface PriceOverrideAnswer extends ModelRepriceAnswer {
  file: string;
  pricesProvider: string;
}

/** What sending the test alert to burnrate.alerts.webhookUrl came to. */
export interface AlertTestAnswer {
  delivered: boolean;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why it was not delivered (no webhook set, the receiver's refusal, a network error); never the URL. */
  reason?: string;
}

/**
 * Which window shows an alert: "workspace": the window(s) of the alert's workspace; "owner": the window
 * hosting the engine; "this-window": the receiving window (no window hosts the engine, e.g. under
 * `burnrate serve`, and none of the alert's workspace follows; or it was raised while no window followed).
 */
export type AlertAudience = 'workspace' | 'owner' | 'this-window';

type NoParams = Record<string, never>;

/**
 * The routes. Answers typed `unknown` are engine shapes the faces read through the engine's own
 * types (the SpendSummary of src/engine/queries/summary.ts, the guards' settings, the unpriced-model state).
 */
export const ManagementRoutes = {
  /** No secret: tells a Burn Rate engine from another program holding the port. */
  health: get<NoParams, EngineHealth>('/_burnrate/health'),
  /** The current SpendSummary. */
  summary: get<NoParams, unknown>('/_burnrate/summary'),
  /**
   * Server-sent events, one `summary` event now and one after every change; an `alert` event
   * (GuardAlert + `audience`, see AlertAudience) per budget or guard alert and per model announced
   * as having no price. `host` is the engine's instance id when the window hosts this engine.
   */
  events: get<{ workspace?: string; host?: string }, never>('/_burnrate/events'),
  /** Stop or resume recording (requests are still forwarded); answers the SpendSummary. */
  recording: post<{ paused: boolean }, unknown>('/_burnrate/recording'),
  /** CSV or JSON lines, not JSON. */
  export: get<ExportQuery, never>('/_burnrate/export'),
  /** Sessions seen today with their spend, state (active/stopped), tripped guards and limits. */
  sessions: get<NoParams, { sessions: SessionView[] }>('/_burnrate/sessions'),
  /** Refuse the session's next calls and cut its open streams. */
  /** `by`: where the stop comes from ("VS Code", "the dashboard"), kept with it. */
  sessionStop: post<{ session: string; reason?: string; by?: string }, SessionView>('/_burnrate/sessions/stop'),
  /** Let a stopped or tripped session go on. */
  sessionAllow: post<{ session: string }, SessionView>('/_burnrate/sessions/allow'),
  /** Raise its limits (default: double each tripped one) and allow it. */
  sessionRaise: post<{ session: string; limits?: RaisableLimits }, SessionView>('/_burnrate/sessions/raise'),
  /** The budget and guard settings in force and each budget's use. */
  guards: get<NoParams, unknown>('/_burnrate/guards'),
  /** Apply burnrate.budget.* / burnrate.guard.* settings live; answers as guards. */
  settings: post<LiveSettingsUpdate, unknown>('/_burnrate/settings'),
  /** Every figure of the dashboard. */
  dashboard: get<FilterQuery, DashboardData>('/_burnrate/dashboard'),
  /** The range's usage at another model's list prices beside its actual cost; 400 for a model with no known price. */
  whatIf: get<WhatIfQuery, WhatIfAnswer>('/_burnrate/what-if'),
  /** The price table (USD per million tokens). */
  prices: get<{ q?: string }, PriceRow[]>('/_burnrate/prices'),
  /** A cost estimate. */
  estimate: get<EstimateQuery, CostEstimate>('/_burnrate/estimate'),
  /** {announced, ignored}: models announced as having no price (and not priced since), and those never to be announced again. */
  unpricedModels: get<NoParams, unknown>('/_burnrate/prices/unpriced'),
  /** Never announce this model's missing price again; answers as unpricedModels. */
  unpricedModelIgnore: post<ModelKey, unknown>('/_burnrate/prices/unpriced/ignore'),
  /** A price in the user's price-overrides.json, in force at once, and the model's past unpriced calls repriced with it. */
  priceOverride: post<PriceOverride, PriceOverrideAnswer>('/_burnrate/prices/override'),
  /** Reprices the model's unpriced history with the prices in force (after a refresh). */
  repriceModel: post<ModelKey, ModelRepriceAnswer>('/_burnrate/prices/reprice'),
  /** Posts a test alert to burnrate.alerts.webhookUrl now (once, no retry) and says how it went. */
  alertTest: post<NoParams, AlertTestAnswer>('/_burnrate/alerts/test'),
} as const;

export type ManagementRouteName = keyof typeof ManagementRoutes;

/** Each route's path by name. */
export const MANAGEMENT_ROUTES = Object.fromEntries(Object.entries(ManagementRoutes).map(([name, r]) => [name, r.path])) as {
  readonly [N in ManagementRouteName]: string;
};

/** What the dashboard may do to a session, and the route of each. */
export const SESSION_ACTION_ROUTES = {
  stop: ManagementRoutes.sessionStop,
  allow: ManagementRoutes.sessionAllow,
  raise: ManagementRoutes.sessionRaise,
} as const;
export type SessionAction = keyof typeof SESSION_ACTION_ROUTES;
export const SESSION_ACTIONS = Object.keys(SESSION_ACTION_ROUTES) as SessionAction[];

/** "GET /_burnrate/summary": how the engine matches a request to a route. */
export function routeKey(route: ManagementRoute): string {
  return `${route.method} ${route.path}`;
}

/** The path and query of a GET route: parameters left out when undefined or empty. */
export function routeUrl<R extends ManagementRoute<'GET'>>(route: R, params?: ParamsOf<R>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries((params ?? {}) as Record<string, unknown>)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const q = query.toString();
  return q ? `${route.path}?${q}` : route.path;
}
