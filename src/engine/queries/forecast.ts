/**
 * The month-end forecast's arithmetic, one pure function for every face and the budget alert:
 *
 *   projected = month to date + daily average × days left
 *
 * - daily average: the spend of the FORECAST_TRAILING_DAYS whole local days before today (today is
 *   partial, so it is not in the average), divided by the number of those days there is history
 *   for (3 to 7: a young install averages over the days it has);
 * - days left: the part of today not yet elapsed (a fraction of today's real length: 23 h or 25 h on
 *   a DST day) plus every whole day after today to the month's end. Today's spend so far is already
 *   in the month to date, so nothing is counted twice;
 * - history: whole local days from the first day with a record to yesterday. Fewer than
 *   FORECAST_MIN_HISTORY_DAYS and there is no figure, only "not enough history".
 *
 * Money stays integer nano-dollars until forecastView turns it into dollars.
 */
import { addLocalDays, DAY_MS, FORECAST_MIN_HISTORY_DAYS, FORECAST_TRAILING_DAYS, localDay, localDayStart, type MonthForecastView } from '../../shared';
import { nanosToUsd } from '../pricing';

export interface ForecastInput {
  now: number;
  /** Spend since the 1st of this month 00:00 local, today so far included. */
  monthToDateNanos: number;
  /** Spend of each whole local day before today, oldest first, yesterday last (at least FORECAST_TRAILING_DAYS of them). */
  trailingDays: readonly number[];
  /** The local day (YYYY-MM-DD) of the first record there is, or null for none. */
  firstRecordDay: string | null;
}

export interface MonthForecast {
  monthToDateNanos: number;
  /** Null without enough history (as projectedNanos). */
  dailyAverageNanos: number | null;
  projectedNanos: number | null;
  /** The rest of today (a fraction) plus the whole days after it in this month. */
  daysLeft: number;
  /** Whole local days from the first record to yesterday. */
  historyDays: number;
  /** The trailing days the average is over (0 without enough history). */
  averagedDays: number;
  enoughHistory: boolean;
  method: string;
}

export function monthForecast({ now, monthToDateNanos, trailingDays, firstRecordDay }: ForecastInput): MonthForecast {
  const daysLeft = daysLeftInMonth(now);
  const historyDays = firstRecordDay === null ? 0 : Math.max(0, calendarDaysBetween(firstRecordDay, localDay(now)));
  if (historyDays < FORECAST_MIN_HISTORY_DAYS) {
    const method = `not enough history: ${historyDays} whole day${historyDays === 1 ? '' : 's'} of spend, ${FORECAST_MIN_HISTORY_DAYS} needed`;
    return { monthToDateNanos, dailyAverageNanos: null, projectedNanos: null, daysLeft, historyDays, averagedDays: 0, enoughHistory: false, method };
  }
  const averagedDays = Math.min(FORECAST_TRAILING_DAYS, historyDays);
  const trailingNanos = trailingDays.slice(-averagedDays).reduce((a, b) => a + b, 0);
  // One rounding, of the whole projection, so it does not drift from the average times the days.
  const projectedNanos = monthToDateNanos + Math.round((trailingNanos * daysLeft) / averagedDays);
  const which = averagedDays < FORECAST_TRAILING_DAYS ? `${averagedDays}-day daily average (all the history there is)` : `${averagedDays}-day daily average`;
  return {
    monthToDateNanos,
    dailyAverageNanos: Math.round(trailingNanos / averagedDays),
    projectedNanos,
    daysLeft,
    historyDays,
    averagedDays,
    enoughHistory: true,
    method: `month to date + ${which} × ${daysLeft.toFixed(1)} days left`,
  };
}

/** The forecast in dollars, as every face serves it. */
export function forecastView(f: MonthForecast): MonthForecastView {
  return {
    monthToDateUsd: nanosToUsd(f.monthToDateNanos),
    projectedMonthUsd: f.projectedNanos === null ? null : nanosToUsd(f.projectedNanos),
    dailyAverageUsd: f.dailyAverageNanos === null ? null : nanosToUsd(f.dailyAverageNanos),
    method: f.method,
  };
}

/** The not-yet-elapsed fraction of today (of its real length) plus the whole local days after it in this month. */
export function daysLeftInMonth(now: number): number {
  const today = localDayStart(now);
  const tomorrow = addLocalDays(now, 1);
  const d = new Date(now);
  const daysInMonth = new Date(d.getFullYear(), d.getMonth() + 1, 0).getDate();
  return (tomorrow - now) / (tomorrow - today) + (daysInMonth - d.getDate());
}

/** Calendar days from one YYYY-MM-DD to another (negative when `to` is earlier); DST does not enter. */
function calendarDaysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}
