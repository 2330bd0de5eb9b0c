/**
 * The messages between the dashboard app and its host, declared once for both sides: the VS Code
 * panel (src/extension/dashboardPanel.ts relays them to the engine) and the page `burnrate serve`
 * serves (webview/hosts.ts answers them with fetch). Types only: no runtime code from either side.
 */
import type {
  CostEstimate,
  DashboardData,
  PriceRow,
  GuardAlert,
  SessionView,
  ExportFormat,
  FilterQuery,
  ManagementRoutes,
  ParamsOf,
  ResultOf,
  SessionAction,
  WhatIfAnswer,
} from '../src/shared';

export { SESSION_ACTIONS } from '../src/shared';
export type { EstimateQuery, FilterQuery, SessionAction, WhatIfQuery } from '../src/shared';
export type { CostEstimate, DashboardData, GuardAlert, PriceRow, SessionView, WhatIfAnswer };

/** A host request answered by one management route: that route's parameters and answer. */
type RouteRequest<R> = { params: ParamsOf<R>; result: ResultOf<R> };

/** Extension commands the panel may ask for (the host checks this list). */
export const APP_COMMANDS = ['burnrate.copyProxySetup', 'burnrate.newMeteredTerminal', 'burnrate.refreshPrices'] as const;
export type AppCommand = (typeof APP_COMMANDS)[number];

/** What the app may ask of its host, with the reply each gets. */
export interface HostRequests {
  dashboard: RouteRequest<typeof ManagementRoutes.dashboard>;
  /** The range shown priced at another model (the what-if picker). */
  whatIf: RouteRequest<typeof ManagementRoutes.whatIf>;
  prices: { params: { q: string }; result: PriceRow[] };
  estimate: RouteRequest<typeof ManagementRoutes.estimate>;
  /** In VS Code: a save dialog (saved = file name, null when cancelled). On the page: a download. */
  export: { params: FilterQuery & { format: ExportFormat }; result: { saved: string | null } };
  command: { params: { command: AppCommand }; result: null };
  /** Today's sessions, most recent first (GET /_burnrate/sessions). */
  sessions: { params: Record<string, never>; result: SessionView[] };
  /** Stop, allow or raise the limits of one session; the reply is the session afterwards. */
  session: { params: { action: SessionAction; session: string }; result: SessionView };
}
export type RequestMethod = keyof HostRequests;
/** Every method, so a host refuses anything else (the compiler keeps this list complete). */
const REQUEST_METHODS: Record<RequestMethod, true> = {
  dashboard: true,
  whatIf: true,
  prices: true,
  estimate: true,
  export: true,
  command: true,
  sessions: true,
  session: true,
};

export type RequestMessage<M extends RequestMethod = RequestMethod> = { type: 'request'; id: number; method: M; params: HostRequests[M]['params'] };

/** App → host. `ready` is the handshake: the host posts nothing before it. */
export type AppMessage = { type: 'ready' } | RequestMessage;

export type ConnectionState = { live: boolean; note: string };

/** Host → app. */
export type HostMessage =
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: string }
  /** New records: refetch. */
  | { type: 'changed' }
  /** A budget, guard or anomaly alert from the engine. */
  | { type: 'alert'; alert: GuardAlert }
  | { type: 'connection'; state: ConnectionState };

export function isAppMessage(m: unknown): m is AppMessage {
  if (typeof m !== 'object' || m === null) return false;
  const msg = m as { type?: unknown; id?: unknown; method?: unknown; params?: unknown };
  if (msg.type === 'ready') return true;
  return (
    msg.type === 'request' &&
    typeof msg.id === 'number' &&
    typeof msg.method === 'string' &&
    Object.hasOwn(REQUEST_METHODS, msg.method) &&
    typeof msg.params === 'object' &&
    msg.params !== null
  );
}
