/** The guards' public face: the facade, what the proxy and the management API exchange with it, and its constants. */
export { Guards, type GuardsOptions } from './guards';
export type { Admission, AdmitRequest, GuardTicket, ProxyGuard } from './types';
export { policyFromSettings, type BudgetPolicy, type GuardPolicy } from './policy';
export { SESSION_IDLE_GAP_MS } from './sessions';
export { maxOutputTokens } from './estimate';
export { REPEAT_WINDOW_MS, RETRY_STORM_MEAN_GAP_MS } from './checks';
export type { BudgetView, GuardAlert, GuardName, OnLimit, SessionLimits, SessionView } from '../../shared';
