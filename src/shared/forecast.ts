/**
 * The month-end forecast as every face shows it (status bar tooltip, dashboard, `burnrate report`,
 * the budget alert): its shape, its rule's constants and its one sentence. The arithmetic is
 * src/engine/queries/forecast.ts. Types and text only, no Node, so the dashboard app shares it.
 */
import { formatUsd, type UsdStyle } from './format';

/** The whole local days before today whose average paces the rest of the month. */
export const FORECAST_TRAILING_DAYS = 7;
/** Fewer whole days of history than this and there is no forecast, only "not enough history". */
export const FORECAST_MIN_HISTORY_DAYS = 3;
/** The forecast alert fires only while the month's spend is below this share of the budget: before the 50 % alert, while there is time to act. */
export const FORECAST_ALERT_BEFORE_FRACTION = 0.5;

/** The forecast as served (`report --json`'s "forecast", the summary, the dashboard). */
export interface MonthForecastView {
  monthToDateUsd: number;
  /** Null with fewer than FORECAST_MIN_HISTORY_DAYS whole days of history. */
  projectedMonthUsd: number | null;
  /** The trailing days' daily average; null when projectedMonthUsd is. */
  dailyAverageUsd: number | null;
  /** How the figure was reached, in words, shown beside it. */
  method: string;
}

/** "On pace for $412.50 this month", or "Month-end forecast: not enough history". */
export function forecastHeadline(f: MonthForecastView, style: UsdStyle = 'cents'): string {
  return f.projectedMonthUsd === null ? 'Month-end forecast: not enough history' : `On pace for ${formatUsd(f.projectedMonthUsd, style)} this month`;
}

/** The headline with its method: "On pace for $412.50 this month (month to date + …)", or "Month-end forecast: not enough history: …". */
export function forecastSentence(f: MonthForecastView, style: UsdStyle = 'cents'): string {
  // Without a figure the method is the whole story ("not enough history: …").
  return f.projectedMonthUsd === null ? `Month-end forecast: ${f.method}` : `${forecastHeadline(f, style)} (${f.method})`;
}
