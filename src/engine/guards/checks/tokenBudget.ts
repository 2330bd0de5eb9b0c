/** The session's token budget (burnrate.guard.sessionMaxTokens): input + output tokens of all its calls. */
import type { SessionCheck } from './check';
import { budgetVerdict } from './sessionBudget';

const tokens = (n: number) => `${n.toLocaleString('en-US')} tokens`;

export const tokenBudget: SessionCheck = {
  guard: 'sessionMaxTokens',
  admit: (call) => {
    const { session: s, limits } = call;
    const max = limits.sessionMaxTokens;
    return budgetVerdict(call, {
      guard: 'sessionMaxTokens',
      used: s.tokens,
      reserved: s.reservedTokens,
      max,
      show: tokens,
      trip: { limit: max, value: s.tokens },
    });
  },
  settle: ({ session: s, limits }) =>
    limits.sessionMaxTokens > 0 && s.tokens >= limits.sessionMaxTokens ? { limit: limits.sessionMaxTokens, value: s.tokens } : undefined,
  describe: (limit, value) => `used ${value.toLocaleString('en-US')} tokens, reaching its limit of ${limit.toLocaleString('en-US')}`,
};
