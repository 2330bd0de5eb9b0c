/**
 * Every session check, one per guard, in the order of the guard table (src/shared/guardMeta.ts). A new
 * guard: its row there, its limit in SessionLimits and its settings, and its check here.
 */
import { type GuardName, GUARD_META, type GuardMeta } from '../../../shared';
import type { SessionCheck } from './check';
import { costBudget } from './costBudget';
import { repeatedRequest } from './repeatedRequest';
import { requestRate } from './requestRate';
import { retryStorm } from './retryStorm';
import { tokenBudget } from './tokenBudget';

export type { AdmitCall, AdmitVerdict, SessionCheck, SettledCall, Trip } from './check';
export { REPEAT_WINDOW_MS } from './repeatedRequest';
export { RETRY_STORM_MEAN_GAP_MS } from './retryStorm';

/** Typed by guard name, so a guard without a check does not compile. */
const CHECKS: Record<GuardName, SessionCheck> = {
  sessionMaxTokens: tokenBudget,
  sessionMaxUsd: costBudget,
  maxRequestsPerMinute: requestRate,
  maxRepeats: repeatedRequest,
  retryStorm,
};

export interface GuardCheck {
  meta: GuardMeta;
  check: SessionCheck;
}

export const SESSION_CHECKS: readonly GuardCheck[] = GUARD_META.map((meta) => ({ meta, check: CHECKS[meta.guard] }));

export function checkFor(guard: GuardName): SessionCheck {
  return CHECKS[guard];
}
