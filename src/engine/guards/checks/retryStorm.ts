/**
 * Retry storms (burnrate.guard.retryStormErrors): N failed calls in a row arriving faster than any
 * backoff would send them. Calls the guards cut and calls the client dropped are not failures.
 */
import type { SessionCheck } from './check';

/** A retry storm: N failures in a row arriving on average faster than this apart (any backoff is slower). */
export const RETRY_STORM_MEAN_GAP_MS = 1_000;

export const retryStorm: SessionCheck = {
  guard: 'retryStorm',
  settle: ({ rec, session: s, limits, now, cutByGuard }) => {
    // The proxy's note for a call whose client hung up (proxy.ts).
    const clientLeft = rec.error?.startsWith('client closed') ?? false;
    const failed = (rec.status >= 400 || rec.status === 0) && !cutByGuard && !clientLeft;
    if (!failed) {
      s.failures = [];
      return undefined;
    }
    s.failures.push(now);
    const n = limits.retryStormErrors;
    if (n <= 0) return undefined;
    if (s.failures.length > n) s.failures.splice(0, s.failures.length - n);
    // n failures in a row whose spacing averages under a second: nothing is backing off.
    const storm = s.failures.length >= n && (now - s.failures[0]) / Math.max(1, n - 1) < RETRY_STORM_MEAN_GAP_MS;
    return storm ? { limit: n, value: s.failures.length } : undefined;
  },
  reset: (s) => {
    s.failures = [];
  },
  describe: (_limit, value) => `had ${value} failed calls in a row, less than a second apart on average: a retry storm`,
};
