/**
 * The spend-anomaly rule, one for the engine's alert and the dashboard's banner: today's spend
 * above ANOMALY_FACTOR × the daily average of the ANOMALY_TRAILING_DAYS days before it, and above
 * ANOMALY_FLOOR_NANOS (a day of a few cents is not news, however it compares).
 */

export const ANOMALY_FACTOR = 3;
export const ANOMALY_TRAILING_DAYS = 7;
/** $1, in nano-dollars. */
export const ANOMALY_FLOOR_NANOS = 1_000_000_000;

export interface SpendAnomaly {
  todayNanos: number;
  /** The trailing days' average, unrounded (days with no traffic count as zero). */
  averageNanos: number;
  /** todayNanos / averageNanos. */
  ratio: number;
}

/** Today's spend against the total of the trailing days before it: the anomaly, or null. */
export function spendAnomaly(todayNanos: number, trailingTotalNanos: number): SpendAnomaly | null {
  const averageNanos = trailingTotalNanos / ANOMALY_TRAILING_DAYS;
  if (todayNanos <= ANOMALY_FLOOR_NANOS || averageNanos <= 0 || todayNanos <= ANOMALY_FACTOR * averageNanos) return null;
  return { todayNanos, averageNanos, ratio: todayNanos / averageNanos };
}
