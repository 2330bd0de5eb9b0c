/** The session's request rate (burnrate.guard.maxRequestsPerMinute): calls admitted in the last minute. */
import type { SessionCheck } from './check';

const MINUTE_MS = 60_000;

export const requestRate: SessionCheck = {
  guard: 'maxRequestsPerMinute',
  admit: ({ session: s, limits, now }) => {
    while (s.recent.length && s.recent[0] <= now - MINUTE_MS) s.recent.shift();
    const max = limits.maxRequestsPerMinute;
    return {
      trip: s.recent.length >= max ? { limit: max, value: s.recent.length + 1 } : undefined,
      onAdmitted: () => s.recent.push(now),
    };
  },
  reset: (s) => {
    s.recent = [];
  },
  describe: (limit, value) => `made ${value} calls within a minute, over its limit of ${limit}`,
};
