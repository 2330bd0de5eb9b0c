import { COST_STATUSES, EXPORT_COLUMNS, type CostStatus, type RequestRecord } from '../database';
import { usdToNanos } from '../pricing';
import { costUsdOf } from './exportFormat';

/**
 * The inverse of exportFormat.ts: a row of `burnrate export` (a JSON line's object, or a CSV row
 * by its header) back to the record it was written from, checked column by column. Every value the
 * export writes comes back exactly, so export → import → export gives the same bytes.
 */

type Column = (typeof EXPORT_COLUMNS)[number];

/** How a column's value is written: text, nullable text, a whole number, a flag, dollars, an ISO time, a cost status. */
type Kind = 'required' | 'text' | 'count' | 'optionalCount' | 'flag' | 'usd' | 'time' | 'costStatus';

const KIND_OF: Record<Column, Kind> = {
  id: 'required',
  startedAt: 'time',
  provider: 'required',
  model: 'text',
  endpoint: 'text',
  stream: 'flag',
  status: 'count',
  inputTokens: 'count',
  cacheReadTokens: 'count',
  cacheWriteTokens: 'count',
  outputTokens: 'count',
  reasoningTokens: 'count',
  costUsd: 'usd',
  costStatus: 'costStatus',
  latencyMs: 'count',
  ttftMs: 'optionalCount',
  session: 'text',
  feature: 'text',
  user: 'text',
  trace: 'text',
  env: 'text',
  workspace: 'text',
  keyFingerprint: 'text',
  error: 'text',
  serviceTier: 'text',
  priceSource: 'text',
  client: 'text',
  branch: 'text',
};

/** A row that cannot be imported: its reason (the caller adds the line). */
export class RowError extends Error {}

export function isExportColumn(name: string): name is Column {
  return Object.hasOwn(KIND_OF, name);
}

/** A JSON line's object (as `JSON.parse` gave it) back to its record. */
export function recordFromJson(row: unknown): RequestRecord {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new RowError('not a JSON object');
  const values = row as Record<string, unknown>;
  const rec = recordFrom(values);
  let keys = 0;
  for (const key in values) if (++keys > EXPORT_COLUMNS.length || !isExportColumn(key)) throw new RowError(`unknown column "${key}"`);
  return rec;
}

/** A CSV row's cells, in the order of `columns` (its header), back to its record. */
export function recordFromCsv(columns: readonly Column[], cells: readonly string[]): RequestRecord {
  if (cells.length !== columns.length) throw new RowError(`${cells.length} column(s), the header has ${columns.length}`);
  const values: Partial<Record<Column, unknown>> = {};
  for (let i = 0; i < columns.length; i++) values[columns[i]] = csvValue(KIND_OF[columns[i]], cells[i]);
  return recordFrom(values);
}

/** A CSV cell as the JSON value the same column would hold; what is not of the column's type stays text and is refused below. */
function csvValue(kind: Kind, cell: string): unknown {
  if (cell === '') return kind === 'required' ? '' : null;
  switch (kind) {
    case 'count':
    case 'optionalCount':
    case 'usd':
      return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(cell) ? Number(cell) : cell;
    case 'flag':
      return cell === 'true' ? true : cell === 'false' ? false : cell;
    default:
      // The export puts a ' before text starting like a spreadsheet formula (csvCell); take it off.
      return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
  }
}

function recordFrom(v: Partial<Record<Column, unknown>>): RequestRecord {
  // One object literal, in the record's field order: every record gets the same shape.
  return {
    id: required('id', v.id),
    startedAt: isoTime(v.startedAt),
    provider: required('provider', v.provider),
    model: text('model', v.model),
    endpoint: text('endpoint', v.endpoint),
    stream: flag('stream', v.stream),
    status: count('status', v.status),
    inputTokens: count('inputTokens', v.inputTokens),
    cacheReadTokens: count('cacheReadTokens', v.cacheReadTokens),
    cacheWriteTokens: count('cacheWriteTokens', v.cacheWriteTokens),
    outputTokens: count('outputTokens', v.outputTokens),
    reasoningTokens: count('reasoningTokens', v.reasoningTokens),
    costNanos: nanosOfExportedUsd(v.costUsd),
    costStatus: costStatus(v.costStatus),
    latencyMs: count('latencyMs', v.latencyMs),
    ttftMs: v.ttftMs === null || v.ttftMs === undefined ? null : count('ttftMs', v.ttftMs),
    session: text('session', v.session),
    feature: text('feature', v.feature),
    user: text('user', v.user),
    trace: text('trace', v.trace),
    env: text('env', v.env),
    workspace: text('workspace', v.workspace),
    branch: text('branch', v.branch),
    keyFingerprint: text('keyFingerprint', v.keyFingerprint),
    error: text('error', v.error),
    serviceTier: text('serviceTier', v.serviceTier),
    priceSource: text('priceSource', v.priceSource),
    client: text('client', v.client),
  };
}

function wrong(column: Column, expected: string, v: unknown): RowError {
  return new RowError(v === undefined || v === null ? `${column} is missing` : `${column} must be ${expected}, got ${JSON.stringify(v)}`);
}

function required(column: Column, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw wrong(column, 'non-empty text', v);
  return v;
}

function text(column: Column, v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return null;
  throw wrong(column, 'text or null', v);
}

function count(column: Column, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw wrong(column, 'a whole number ≥ 0', v);
  return v;
}

function flag(column: Column, v: unknown): boolean {
  if (typeof v !== 'boolean') throw wrong(column, 'true or false', v);
  return v;
}

function costStatus(v: unknown): CostStatus {
  if (!(COST_STATUSES as readonly unknown[]).includes(v)) throw wrong('costStatus', `one of ${COST_STATUSES.join(', ')}`, v);
  return v as CostStatus;
}

/**
 * Dollars, as the export writes them (Number(toFixed(9)) of the nano-dollars), back to the integer
 * nano-dollars: the one whose export is this very number, so it is written again the same.
 */
function nanosOfExportedUsd(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw wrong('costUsd', 'a number of dollars', v);
  const nanos = usdToNanos(v);
  if (!Number.isSafeInteger(nanos) || costUsdOf(nanos) !== v) throw wrong('costUsd', 'dollars to at most 9 decimals (whole nano-dollars)', v);
  return nanos;
}

/** An ISO time, as the export writes it (toISOString, to the millisecond), to epoch milliseconds. */
function isoTime(v: unknown): number {
  // Exports write toISOString()'s 24 characters; an import reads millions, so the date part is
  // checked once per day (Date's own round trip) and the time of day digit by digit.
  if (typeof v !== 'string' || v.length !== 24 || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':' || v[19] !== '.' || v[23] !== 'Z') throw notIsoTime(v);
  const date = v.slice(0, 10);
  if (date !== dayOfLastTime.date) {
    const start = Date.parse(`${date}T00:00:00.000Z`);
    if (!Number.isFinite(start) || new Date(start).toISOString().slice(0, 10) !== date) throw notIsoTime(v);
    dayOfLastTime = { date, start };
  }
  const hours = digits(v, 11, 2);
  const minutes = digits(v, 14, 2);
  const seconds = digits(v, 17, 2);
  const millis = digits(v, 20, 3);
  if (!(hours < 24 && minutes < 60 && seconds < 60 && millis >= 0)) throw notIsoTime(v);
  return dayOfLastTime.start + ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis;
}

let dayOfLastTime = { date: '', start: 0 };

/** The decimal number in `length` characters of `s` from `at`; NaN if one is not a digit. */
function digits(s: string, at: number, length: number): number {
  let n = 0;
  for (let i = at; i < at + length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

function notIsoTime(v: unknown): RowError {
  return wrong('startedAt', 'an ISO time such as 2025-06-01T12:00:00.000Z', v);
}
