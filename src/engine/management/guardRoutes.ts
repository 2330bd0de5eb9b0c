/**
 * The management API's budget and guard routes (list, stop, allow and raise sessions; settings),
 * answered from the in-memory guards. management.ts dispatches to them, reads the body and sends the answer.
 */
import { GUARD_META, type GuardLimit, type ManagementRouteName } from '../../shared';
import type { Guards } from '../guards';
import { SettingsError, validateSettings, type BurnRateSettings } from '../settings';

export interface RouteAnswer {
  status: number;
  body: unknown;
}

/** A route's JSON body as fields (none when it was missing or not an object). */
export type BodyFields = Record<string, unknown>;

export function bodyFields(body: unknown): BodyFields {
  return (typeof body === 'object' && body !== null ? body : {}) as BodyFields;
}

const RAISABLE: readonly GuardLimit[] = GUARD_META.map((m) => m.limit);
/** Only budget and guard keys may be changed live; traffic-redirecting ones need a restart from the owner's own settings. */
const LIVE_KEY = /^burnrate\.(budget|guard)\./;

export const bad = (message: string): RouteAnswer => ({ status: 400, body: { error: { type: 'bad_request', message } } });
export const notFound = (message: string): RouteAnswer => ({ status: 404, body: { error: { type: 'not_found', message } } });

type GuardRouteAnswer = (guards: Guards, body: BodyFields) => RouteAnswer;

/** Each budget and guard route's answer, by its name in ManagementRoutes (management.ts dispatches to them). */
export const GUARD_ROUTE_ANSWERS = {
  sessions: (guards) => ({ status: 200, body: { sessions: guards.listSessions() } }),
  guards: (guards) => ({ status: 200, body: { ...guards.settings(), budgets: guards.budgets() } }),
  sessionStop: (guards, b) => {
    const session = sessionOf(b);
    if (!session) return bad('expected {"session": "<id>"}');
    const text = (v: unknown, max: number) => (typeof v === 'string' && v ? v.slice(0, max) : undefined);
    guards.stop(session, text(b.reason, 200) ?? 'stopped by the user', text(b.by, 100) ?? 'the management API');
    return { status: 200, body: guards.session(session) };
  },
  sessionAllow: (guards, b) => {
    const session = sessionOf(b);
    if (!session) return bad('expected {"session": "<id>"}');
    if (!guards.allow(session)) return notFound(`no session "${session}"`);
    return { status: 200, body: guards.session(session) };
  },
  sessionRaise: raiseSession,
  settings: applyLiveSettings,
} satisfies Partial<Record<ManagementRouteName, GuardRouteAnswer>>;

export type GuardRouteName = keyof typeof GUARD_ROUTE_ANSWERS;

function sessionOf(b: BodyFields): string | undefined {
  return typeof b.session === 'string' && b.session.length > 0 && b.session.length <= 200 ? b.session : undefined;
}

function raiseSession(guards: Guards, b: BodyFields): RouteAnswer {
  const session = sessionOf(b);
  if (!session) return bad('expected {"session": "<id>", "limits"?: {…}}');
  const limits: Partial<Record<(typeof RAISABLE)[number], number>> = {};
  if (b.limits !== undefined) {
    if (typeof b.limits !== 'object' || b.limits === null) return bad('"limits" must be an object');
    for (const [k, v] of Object.entries(b.limits)) {
      if (!(RAISABLE as readonly string[]).includes(k)) return bad(`unknown limit "${k}" (known: ${RAISABLE.join(', ')})`);
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return bad(`limit "${k}" must be a number ≥ 0`);
      limits[k as (typeof RAISABLE)[number]] = v;
    }
  }
  if (!guards.raise(session, limits)) return notFound(`no session "${session}"`);
  return { status: 200, body: guards.session(session) };
}

function applyLiveSettings(guards: Guards, b: BodyFields): RouteAnswer {
  try {
    const update: Parameters<Guards['configure']>[0] = {};
    if (b.global !== undefined) update.global = liveSettings(b.global, 'global');
    if (b.workspace !== undefined) {
      const w = b.workspace as Record<string, unknown> | null;
      if (typeof w !== 'object' || w === null || typeof w.name !== 'string' || !w.name) return bad('"workspace" must be {"name": string, "settings": {…}}');
      update.workspace = { name: w.name.slice(0, 200), settings: liveSettings(w.settings ?? {}, `workspace "${w.name}"`) };
    }
    guards.configure(update);
  } catch (e) {
    if (e instanceof SettingsError) return bad(e.message);
    throw e;
  }
  return { status: 200, body: { ...guards.settings(), budgets: guards.budgets() } };
}

function liveSettings(value: unknown, where: string): Partial<BurnRateSettings> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SettingsError(`${where}: settings must be an object of burnrate.budget.* / burnrate.guard.* keys`);
  for (const key of Object.keys(value)) {
    if (!LIVE_KEY.test(key)) throw new SettingsError(`${where}: "${key}" cannot be changed here (only burnrate.budget.* and burnrate.guard.*)`);
  }
  return validateSettings(value as Record<string, unknown>, where);
}
