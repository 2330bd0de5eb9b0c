/** What a spend database should answer, computed by hand from the records put in; and its files on disk. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs from 'sql.js';
import type { RequestRecord } from '../../src/engine/database';
import { nanosToUsd } from '../../src/engine/pricing';
import type { GroupBy, SpendReport, Totals } from '../../src/engine/queries';
import { localDay } from '../../src/shared';

export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** The report SpendQuery should give for these records: totals, and groups as the CLI orders them. */
export function referenceReport(records: readonly RequestRecord[], opts: { since?: number; until?: number; by?: GroupBy } = {}): SpendReport {
  const inRange = records.filter((r) => (opts.since === undefined || r.startedAt >= opts.since) && (opts.until === undefined || r.startedAt < opts.until));
  const sums = new Map<string, RequestRecord[]>();
  for (const r of inRange) {
    const key = opts.by === 'day' ? localDay(r.startedAt) : opts.by ? String(r[opts.by] ?? '') || '(none)' : '';
    sums.set(key, [...(sums.get(key) ?? []), r]);
  }
  const groups = opts.by ? [...sums].map(([key, rs]) => ({ key, ...totalsOf(rs) })) : [];
  if (opts.by === 'day') groups.sort((a, b) => (a.key < b.key ? -1 : 1));
  else groups.sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests || a.key.localeCompare(b.key));
  return { total: totalsOf(inRange), groups };
}

function totalsOf(rs: readonly RequestRecord[]): Totals {
  const sum = (f: (r: RequestRecord) => number) => rs.reduce((n, r) => n + f(r), 0);
  return {
    costUsd: nanosToUsd(sum((r) => r.costNanos)),
    requests: rs.length,
    inputTokens: sum((r) => r.inputTokens),
    cacheReadTokens: sum((r) => r.cacheReadTokens),
    cacheWriteTokens: sum((r) => r.cacheWriteTokens),
    outputTokens: sum((r) => r.outputTokens),
    reasoningTokens: sum((r) => r.reasoningTokens),
    unpricedRequests: rs.filter((r) => r.costStatus === 'unpriced').length,
  };
}

/** Records in the order `records()` pages them: by start time, then id. */
export function inTimeOrder(records: readonly RequestRecord[]): RequestRecord[] {
  return [...records].sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The segment files beside a database at `file`, by name. */
export function segmentFiles(file: string): string[] {
  try {
    return fs.readdirSync(`${file}.segments`).sort();
  } catch {
    return [];
  }
}

/** A segment file's key ('2026-12-06' or '2026-12-06T13'), from its name `<key>.<generation>.sqlite`. */
export const keyOf = (name: string): string => name.slice(0, name.indexOf('.'));

/** Name, size, mtime and inode of each file in the segments folder: what a save that did not touch a file leaves as it was. */
export function fileStamps(file: string): Map<string, string> {
  const dir = `${file}.segments`;
  return new Map(
    segmentFiles(file).map((name) => {
      const s = fs.statSync(path.join(dir, name));
      return [name, `${s.size}/${s.mtimeMs}/${s.ino}`];
    }),
  );
}

/** A UTC day or hour key as the store names segments. */
/** The segment key of a time: its UTC day ('2026-12-06'), or its UTC quarter of an hour ('2026-12-06T13-45'). */
export function keyAt(at: number, unit: 'day' | 'slice'): string {
  const iso = new Date(at).toISOString();
  return unit === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 13)}-${String(Math.floor(Number(iso.slice(14, 16)) / 15) * 15).padStart(2, '0')}`;
}

/** What the records of each segment file are, read straight from the files. */
export async function filesContent(file: string): Promise<Map<string, { ids: string[]; starts: number[] }>> {
  const SQL = await initSqlJs();
  const out = new Map<string, { ids: string[]; starts: number[] }>();
  for (const name of segmentFiles(file)) {
    const db = new SQL.Database(fs.readFileSync(path.join(`${file}.segments`, name)));
    const rows = db.exec('SELECT id, started_at FROM requests ORDER BY id')[0]?.values ?? [];
    out.set(keyOf(name), { ids: rows.map((r) => String(r[0])), starts: rows.map((r) => Number(r[1])) });
    db.close();
  }
  return out;
}
