/** The daily spend-anomaly alert (the rule is src/shared/anomaly.ts), raised once a day. */
import { type GuardAlert, spendAnomaly } from '../../shared';
import { nanosToUsd } from '../pricing';
import { usd } from './usd';

/** Where "alerted today" is kept across restarts (the budgets' alerted store). */
export interface DailyAlertMemory {
  alertedToday(name: string): boolean;
  markAlertedToday(name: string): void;
}

const ALERT_NAME = 'anomaly';

export class AnomalyWatch {
  /** The day known to be alerted, so that most calls skip the memory and the rule. */
  private alertedDay = 0;

  constructor(private readonly memory: DailyAlertMemory) {}

  /** The alert for today's spend, the first time today it is an anomaly. */
  check(todayNanos: number, trailingDays: readonly number[], dayStart: number, now: number): GuardAlert | undefined {
    if (this.alertedDay === dayStart) return undefined;
    if (this.memory.alertedToday(ALERT_NAME)) {
      this.alertedDay = dayStart;
      return undefined;
    }
    const anomaly = spendAnomaly(
      todayNanos,
      trailingDays.reduce((a, b) => a + b, 0),
    );
    if (!anomaly) return undefined;
    this.alertedDay = dayStart;
    // Remembered before the alert goes out, as the budget thresholds are.
    this.memory.markAlertedToday(ALERT_NAME);
    const { averageNanos, ratio } = anomaly;
    const message = `Spend today is ${usd(todayNanos)}, ${ratio.toFixed(1)}× the 7-day daily average of ${usd(averageNanos)}.`;
    return {
      kind: 'anomaly',
      // Stable: the day's one anomaly alert has one id wherever it is raised.
      id: `anomaly:${dayStart}`,
      at: now,
      todayUsd: nanosToUsd(todayNanos),
      averageUsd: nanosToUsd(Math.round(averageNanos)),
      workspace: null,
      session: null,
      message,
    };
  }
}
