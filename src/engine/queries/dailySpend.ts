/**
 * Spend per whole local day, as the guards' baseline, the status bar's summary and the forecast
 * read it: the trailing days before today and the first day on record. From daily_totals (a row a
 * day, database/rollups/coarseRollups.ts); a workspace's days from daily_rollup.
 */
import type { Database } from 'sql.js';
import { addLocalDays, ANOMALY_TRAILING_DAYS, daysBefore, FORECAST_TRAILING_DAYS, localDay, localMonthStart } from '../../shared';

/** The whole days before today that the anomaly check and the forecast average over. */
export const TRAILING_DAYS = Math.max(ANOMALY_TRAILING_DAYS, FORECAST_TRAILING_DAYS);

/** Total spend of each of the TRAILING_DAYS local days before the one starting at `dayStart`, oldest first (idle days are 0). */
export function trailingDaySpend(db: Database, dayStart: number): number[] {
  const rows = db.exec('SELECT day, cost_nanos FROM daily_totals WHERE day >= ? AND day < ?', [
    localDay(daysBefore(dayStart, TRAILING_DAYS)),
    localDay(dayStart),
  ])[0];
  const byDay = new Map((rows?.values ?? []).map(([day, nanos]) => [String(day), Number(nanos)]));
  return Array.from({ length: TRAILING_DAYS }, (_, i) => byDay.get(localDay(daysBefore(dayStart, TRAILING_DAYS - i))) ?? 0);
}

/** The local day of the first record kept (rollups outlive retention), in all or in one workspace ('' = untagged); null for none. */
export function firstRecordDay(db: Database, workspace?: string): string | null {
  const [sql, params] =
    workspace === undefined ? ['SELECT MIN(day) FROM daily_totals', []] : ['SELECT MIN(day) FROM daily_rollup WHERE workspace = ?', [workspace]];
  const day = db.exec(sql, params)[0]?.values[0]?.[0];
  return day === null || day === undefined ? null : String(day);
}

/** Spend since the 1st of the month `now` falls in, today so far included (the rollups are current with every insert). */
export function monthToDateSpend(db: Database, now: number): number {
  return Number(db.exec('SELECT COALESCE(SUM(cost_nanos), 0) FROM daily_totals WHERE day >= ?', [localDay(localMonthStart(now))])[0].values[0][0]);
}

/**
 * Moves trailing day totals (oldest first, TRAILING_DAYS long) on from the day starting at
 * `dayStart`, whose spend was `dayNanos`, to the day starting at `newDayStart`: the day that ended
 * joins, days with no traffic in between count as zero.
 */
export function rollTrailingDays(trailing: number[], dayStart: number, dayNanos: number, newDayStart: number): void {
  // Past TRAILING_DAYS + 1 days every kept figure is a zero; no need to walk a long gap day by day.
  for (let d = dayStart, i = 0; d < newDayStart && i <= TRAILING_DAYS; d = addLocalDays(d, 1), i++) {
    trailing.push(d === dayStart ? dayNanos : 0);
    if (trailing.length > TRAILING_DAYS) trailing.shift();
  }
}
