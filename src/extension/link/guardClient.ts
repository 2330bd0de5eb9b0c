/** The engine's session, guard and price routes, as the extension calls them (see src/engine/management/guardRoutes.ts, priceRoutes.ts). No vscode import. */
import {
  type SessionView,
  ManagementRoutes as R,
  type ModelRepriceAnswer,
  type PriceOverride,
  type PriceOverrideAnswer,
  type RaisableLimits,
} from '../../shared';
import type { LimitSettings } from '../settings';
import { callRoute } from '../../engine/management';

export async function listSessions(port: number, secret: string): Promise<SessionView[]> {
  return (await callRoute({ port, secret }, R.sessions, {})).sessions;
}

/** `by`: where the user stopped it (kept with the stop). */
export function stopSession(port: number, secret: string, session: string, by: string): Promise<SessionView> {
  return callRoute({ port, secret }, R.sessionStop, { session, by });
}

export function allowSession(port: number, secret: string, session: string): Promise<SessionView> {
  return callRoute({ port, secret }, R.sessionAllow, { session });
}

export function raiseSessionLimits(port: number, secret: string, session: string, limits?: RaisableLimits): Promise<SessionView> {
  return callRoute({ port, secret }, R.sessionRaise, { session, limits });
}

export function pushGuardSettings(
  port: number,
  secret: string,
  update: { global: LimitSettings; workspace?: { name: string; settings: LimitSettings } },
): Promise<unknown> {
  return callRoute({ port, secret }, R.settings, update);
}

/** Never announce this model's missing price again. */
export function ignoreUnpricedModel(port: number, secret: string, provider: string, model: string): Promise<unknown> {
  return callRoute({ port, secret }, R.unpricedModelIgnore, { provider, model });
}

/** Writes a price for the model into the engine's price-overrides.json (USD per million tokens); in force at once, and the model's unpriced history repriced. */
export function setModelPrice(port: number, secret: string, price: PriceOverride): Promise<PriceOverrideAnswer> {
  return callRoute({ port, secret }, R.priceOverride, price);
}

/** Reprices the model's unpriced history with the prices in force (after a refresh). */
export function repriceModelHistory(port: number, secret: string, provider: string, model: string): Promise<ModelRepriceAnswer> {
  return callRoute({ port, secret }, R.repriceModel, { provider, model });
}
