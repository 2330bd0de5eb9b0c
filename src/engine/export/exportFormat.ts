import { nanosToUsd } from '../pricing';
import { EXPORT_COLUMNS, type RequestRecord } from '../database';

/**
 * One exported row per request, in the columns `burnrate export` writes (README "The CLI"). The
 * management API's export (what the VS Code extension's Export CSV saves) uses these, so a CSV from
 * either face has the same header and cells.
 */
export function exportRow(rec: RequestRecord): Record<(typeof EXPORT_COLUMNS)[number], unknown> {
  const { costNanos, startedAt, ...rest } = rec;
  return { ...rest, startedAt: new Date(startedAt).toISOString(), costUsd: costUsdOf(costNanos) };
}

export function csvHeader(): string {
  return EXPORT_COLUMNS.join(',') + '\n';
}

export function csvLine(rec: RequestRecord): string {
  const row = exportRow(rec);
  return EXPORT_COLUMNS.map((c) => csvCell(row[c])).join(',') + '\n';
}

/**
 * JSON.stringify(exportRow(rec)) + newline, written out directly: the same keys in the same order,
 * without building two objects per record (an export of a million records spent most of its time there).
 */
export function jsonLine(rec: RequestRecord): string {
  let line = '{';
  for (const key in rec) {
    if (key === 'costNanos' || key === 'startedAt') continue;
    const value = rec[key as keyof RequestRecord];
    if (value !== undefined) line += `"${key}":${JSON.stringify(value)},`;
  }
  return `${line}"startedAt":"${new Date(rec.startedAt).toISOString()}","costUsd":${costUsdOf(rec.costNanos)}}\n`;
}

/** A cost as the export writes it: dollars, to the nano-dollar. */
export function costUsdOf(costNanos: number): number {
  return Number(nanosToUsd(costNanos).toFixed(9));
}

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  // Quote what CSV needs quoted; prefix formula starters so spreadsheets do not execute tags.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
