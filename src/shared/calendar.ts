/** The user's local calendar: days and months start at local midnight, and a day is not always 24 h (DST). */

/** 24 hours in ms: a UTC day (the store's day segments), a retention day; a local day is not always this long. */
export const DAY_MS = 86_400_000;

/** Local midnight of the day `at` falls in. */
export function localDayStart(at: number): number {
  const d = new Date(at);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Local midnight of the first day of the month `at` falls in. */
export function localMonthStart(at: number): number {
  const d = new Date(at);
  return new Date(d.getFullYear(), d.getMonth(), 1).getTime();
}

/** Local midnight of the first day of the month after the one `at` falls in: where this month ends. */
export function nextLocalMonthStart(at: number): number {
  const d = new Date(at);
  return new Date(d.getFullYear(), d.getMonth() + 1, 1).getTime();
}

/** Local midnight `days` calendar days after the day of `at` (negative: before; not ± 24 h, so DST-safe). */
export function addLocalDays(at: number, days: number): number {
  const d = new Date(at);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days).getTime();
}

/** The start of the local day `days` days before the one starting at `dayStart`. */
export function daysBefore(dayStart: number, days: number): number {
  return addLocalDays(dayStart, -days);
}

/** The local calendar day of an instant, as YYYY-MM-DD. */
export function localDay(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
