/**
 * Repeated identical requests (burnrate.guard.maxRepeats): the same provider, path and body sent again
 * and again within a window, an agent going round in circles. A growing conversation differs each time.
 */
import { createHash } from 'node:crypto';
import type { Session } from '../sessions';
import type { SessionCheck } from './check';

/** Repeats are counted among calls at most this far apart. */
export const REPEAT_WINDOW_MS = 10 * 60_000;
/** Distinct requests remembered per session; the oldest goes first. */
const MAX_REPEAT_KEYS = 500;

export const repeatedRequest: SessionCheck = {
  guard: 'maxRepeats',
  admit: ({ req, session: s, limits, now }) => {
    const key = createHash('sha1').update(req.providerId).update('\0').update(req.path).update('\0').update(req.body).digest('base64');
    const seen = s.repeats.get(key);
    const count = seen && now - seen.lastAt <= REPEAT_WINDOW_MS ? seen.count : 0;
    return {
      trip: count >= limits.maxRepeats ? { limit: limits.maxRepeats, value: count + 1 } : undefined,
      onAdmitted: () => remember(s, key, now),
    };
  },
  reset: (s) => s.repeats.clear(),
  describe: (limit, value) => `sent the same request ${value} times, over its limit of ${limit} (an agent going round in circles?)`,
};

function remember(s: Session, key: string, now: number): void {
  const seen = s.repeats.get(key);
  if (seen && now - seen.lastAt <= REPEAT_WINDOW_MS) {
    seen.count++;
    seen.lastAt = now;
    return;
  }
  // Re-inserted so the map's order stays oldest first.
  s.repeats.delete(key);
  s.repeats.set(key, { count: 1, lastAt: now });
  if (s.repeats.size > MAX_REPEAT_KEYS) s.repeats.delete(s.repeats.keys().next().value!);
}
