/** The daily spend-anomaly alert (the rule is src/shared/anomaly.ts), raised once a day. */
import { randomUUID } from 'node:crypto';
import { type GuardAlert, spendAnomaly } from '../../shared';
import { nanosToUsd } from '../pricing';
import { usd } from './usd';

export class AnomalyWatch {
  private alertedDay = 0;

  /** The alert for today's spend, the first time today it is an anomaly. */
  check(todayNanos: number, trailingDays: readonly number[], dayStart: number, now: number): GuardAlert | undefined {
    if (this.alertedDay === dayStart) return undefined;
    const anomaly = spendAnomaly(
      todayNanos,
      trailingDays.reduce((a, b) => a + b, 0),
    );
    if (!anomaly) return undefined;
    this.alertedDay = dayStart;
    const { averageNanos, ratio } = anomaly;
    const message = `Spend today is ${usd(todayNanos)}, ${ratio.toFixed(1)}× the 7-day daily average of ${usd(averageNanos)}.`;
    return {
      kind: 'anomaly',
      id: randomUUID(),
      at: now,
      todayUsd: nanosToUsd(todayNanos),
      averageUsd: nanosToUsd(Math.round(averageNanos)),
      workspace: null,
      session: null,
      message,
    };
  }
}
