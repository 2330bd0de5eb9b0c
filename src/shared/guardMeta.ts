/**
 * The runaway guards as users see them: the setting that sets each one's limit (its type and
 * default), the limit's name in a session's limits, its label and its description. The engine names
 * guards in its messages, the extension and the dashboard in their lists, package.json describes the
 * settings from this one table (test/unit/guardMeta.test.ts keeps package.json in step), and the
 * settings table (settingsTable.ts) takes the guards' rows from it. The guards' names and a session's
 * limits are typed from it. Adding a guard: a row here, its setting, and its check in
 * src/engine/guards/checks/. No node or vscode import: the dashboard app reads it too.
 */

interface GuardRow {
  guard: string;
  /** The field of SessionLimits that holds this guard's limit (0 = off). */
  limit: string;
  setting: `burnrate.guard.${string}`;
  /** Short, for lists and messages: "<label> guard". */
  label: string;
  /** The setting's description in package.json. */
  description: string;
  /** The setting's type and default in package.json (src/shared/settingsTable.ts adds scope and bounds). */
  type: 'integer' | 'number';
  default: number;
}

/** In the order the guards are checked before a call is forwarded. */
export const GUARD_META = [
  {
    guard: 'sessionMaxTokens',
    limit: 'sessionMaxTokens',
    setting: 'burnrate.guard.sessionMaxTokens',
    label: 'token budget',
    description: 'Runaway guard: most tokens (input + output) one session (agent run, script run, metered terminal) may use (0 = no limit).',
    type: 'integer',
    default: 0,
  },
  {
    guard: 'sessionMaxUsd',
    limit: 'sessionMaxUsd',
    setting: 'burnrate.guard.sessionMaxUsd',
    label: 'cost budget',
    description: 'Runaway guard: most USD one session may spend (0 = no limit).',
    type: 'number',
    default: 0,
  },
  {
    guard: 'maxRequestsPerMinute',
    limit: 'maxRequestsPerMinute',
    setting: 'burnrate.guard.maxRequestsPerMinute',
    label: 'request rate',
    description: 'Runaway guard: most requests per minute from one session (0 = no limit).',
    type: 'integer',
    default: 0,
  },
  {
    guard: 'maxRepeats',
    limit: 'maxRepeats',
    setting: 'burnrate.guard.maxRepeats',
    label: 'repeated request',
    description:
      'Runaway guard: most times one session may send the same request (same provider, path and body) within 10 minutes: an agent going round in circles (0 = no limit).',
    type: 'integer',
    default: 0,
  },
  {
    guard: 'retryStorm',
    limit: 'retryStormErrors',
    setting: 'burnrate.guard.retryStormErrors',
    label: 'retry storm',
    description:
      'Runaway guard: a retry storm is this many failed calls in a row from one session arriving on average less than a second apart, faster than any backoff (0 = off).',
    type: 'integer',
    default: 10,
  },
] as const satisfies readonly GuardRow[];

export type GuardName = (typeof GUARD_META)[number]['guard'];
export type GuardLimit = (typeof GUARD_META)[number]['limit'];
export type OnLimit = 'warn' | 'block';
/** Each guard's limit (0 = no limit) and what a trip does. */
export type SessionLimits = { [K in GuardLimit]: number } & { onTrip: OnLimit };

export interface GuardMeta extends GuardRow {
  guard: GuardName;
  limit: GuardLimit;
}

/** What every guard does when it trips (warn or block); the one burnrate.guard.* setting that is not a guard. */
export const GUARD_ON_TRIP_SETTING = 'burnrate.guard.onTrip';

const BY_GUARD = new Map<GuardName, GuardMeta>(GUARD_META.map((m) => [m.guard, m]));

export function guardMeta(guard: GuardName): GuardMeta {
  return BY_GUARD.get(guard)!;
}

/** The guard's label; its name for a guard this table does not know (an engine newer than the page). */
export function guardLabel(guard: GuardName): string {
  return BY_GUARD.get(guard)?.label ?? guard;
}

/** A session's limits with each guard's read by `limitOf` (in table order), and what a trip does. */
export function sessionLimits(limitOf: (m: GuardMeta) => number, onTrip: OnLimit): SessionLimits {
  const limits = {} as SessionLimits;
  for (const m of GUARD_META) limits[m.limit] = limitOf(m);
  limits.onTrip = onTrip;
  return limits;
}
