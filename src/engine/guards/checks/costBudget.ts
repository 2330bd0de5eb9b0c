/** The session's cost budget (burnrate.guard.sessionMaxUsd): what all its calls cost. */
import { formatUsd } from '../../../shared';
import { nanosToUsd, usdToNanos } from '../../pricing';
import { usd } from '../usd';
import type { SessionCheck } from './check';
import { budgetVerdict } from './sessionBudget';

export const costBudget: SessionCheck = {
  guard: 'sessionMaxUsd',
  admit: (call) => {
    const { session: s, limits } = call;
    const trip = { limit: limits.sessionMaxUsd, value: nanosToUsd(s.nanos) };
    return budgetVerdict(call, { guard: 'sessionMaxUsd', used: s.nanos, reserved: s.reservedNanos, max: usdToNanos(limits.sessionMaxUsd), show: usd, trip });
  },
  settle: ({ session: s, limits }) =>
    limits.sessionMaxUsd > 0 && s.nanos >= usdToNanos(limits.sessionMaxUsd) ? { limit: limits.sessionMaxUsd, value: nanosToUsd(s.nanos) } : undefined,
  describe: (limit, value) => `spent ${formatUsd(value, 'detail')}, reaching its limit of ${formatUsd(limit)}`,
};
