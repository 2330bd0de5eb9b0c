/** What the token and cost budgets share: trip once spent, and in block mode hold back a call the running ones may leave no room for. */
import { guardMeta } from '../../../shared';
import type { AdmitCall, AdmitVerdict, Trip } from './check';

export interface BudgetUse {
  guard: 'sessionMaxTokens' | 'sessionMaxUsd';
  used: number;
  /** Reserved by the session's calls still running. */
  reserved: number;
  max: number;
  show: (n: number) => string;
  /** The trip as the alert reports it (the limit as set, the use in its unit). */
  trip: Trip;
}

export function budgetVerdict({ session, limits }: AdmitCall, b: BudgetUse): AdmitVerdict | undefined {
  if (b.used >= b.max) return { trip: b.trip };
  // Not yet spent but already reserved: this call waits its turn, so parallel calls cannot overshoot.
  if (limits.onTrip === 'block' && b.used + b.reserved >= b.max) {
    const running = session.inflight.size;
    return {
      refuse: {
        code: 'session_budget_reserved',
        message: `session "${session.id}" has used ${b.show(b.used)} of its ${b.show(b.max)} limit (${guardMeta(b.guard).setting}) and ${running} call${running === 1 ? '' : 's'} still running may use the rest, so this call is refused. Try again once they finish, or raise the limit.`,
      },
    };
  }
  return undefined;
}
