/**
 * The month-end forecast alert: once a month, when the forecast of all spend (src/engine/queries/
 * forecast.ts) first goes over the monthly budget, while the month's spend is still below
 * FORECAST_ALERT_BEFORE_FRACTION of it: a warning while there is time to act, before the 50 % alert.
 */
import { FORECAST_ALERT_BEFORE_FRACTION, forecastHeadline, type GuardAlert } from '../../shared';
import { forecastView, type MonthForecast } from '../queries';
import { usdToNanos } from '../pricing';
import { usd } from './usd';

/** Whether the forecast calls for the alert now (not counting whether it was given this month already). */
export function forecastOverBudget(forecast: MonthForecast, capUsd: number): boolean {
  const cap = usdToNanos(capUsd);
  return cap > 0 && forecast.projectedNanos !== null && forecast.projectedNanos > cap && forecast.monthToDateNanos < FORECAST_ALERT_BEFORE_FRACTION * cap;
}

/** `id`: stable, the same for the same month and cap wherever it is raised (as the thresholds' ids). */
export function forecastAlert(id: string, forecast: MonthForecast, capUsd: number, at: number): GuardAlert {
  const view = forecastView(forecast);
  const message = `${forecastHeadline(view)}, over your ${usd(usdToNanos(capUsd))} monthly budget (${forecast.method}); ${usd(forecast.monthToDateNanos)} spent so far.`;
  return {
    kind: 'forecast',
    id,
    at,
    capUsd,
    monthToDateUsd: view.monthToDateUsd,
    projectedMonthUsd: view.projectedMonthUsd ?? 0,
    dailyAverageUsd: view.dailyAverageUsd ?? 0,
    method: view.method,
    workspace: null,
    session: null,
    message,
  };
}
