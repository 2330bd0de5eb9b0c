/** The daily spend-anomaly alert: today far above the trailing week's daily average, once a day. */
import { randomUUID } from 'node:crypto';
import type { GuardAlert } from '../../shared/guardTypes';
import { TRAILING_DAYS } from '../queries/guardBaseline';
import { nanosToUsd, usdToNanos } from '../pricing/pricing';
import { usd } from './usd';

/** Today above this multiple of the trailing 7-day daily average (and above the floor) alerts once a day. */
export const ANOMALY_FACTOR = 3;
export const ANOMALY_FLOOR_NANOS = usdToNanos(1);

/** The rule: a day's spend is an anomaly against the average of the days before it. */
export function isSpendAnomaly(todayNanos: number, averageNanos: number): boolean {
  return todayNanos > ANOMALY_FLOOR_NANOS && averageNanos > 0 && todayNanos > ANOMALY_FACTOR * averageNanos;
}

export class AnomalyWatch {
  private alertedDay = 0;

  /** The alert for today's spend, the first time today it is an anomaly. */
  check(todayNanos: number, trailingDays: readonly number[], dayStart: number, now: number): GuardAlert | undefined {
    if (this.alertedDay === dayStart) return undefined;
    const average = trailingDays.reduce((a, b) => a + b, 0) / TRAILING_DAYS;
    if (!isSpendAnomaly(todayNanos, average)) return undefined;
    this.alertedDay = dayStart;
    const message = `Spend today is ${usd(todayNanos)}, ${(todayNanos / average).toFixed(1)}× the 7-day daily average of ${usd(average)}.`;
    return { kind: 'anomaly', id: randomUUID(), at: now, todayUsd: nanosToUsd(todayNanos), averageUsd: nanosToUsd(Math.round(average)), workspace: null, session: null, message };
  }
}
