import type { RequestRecord } from '../database';
import { isExportColumn, recordFromCsv, recordFromJson, RowError } from './importFormat';

export type ExportFormat = 'csv' | 'jsonl';

/** A line of an import file that cannot be imported: where, and why. */
export class ImportRowError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/**
 * Reads a `burnrate export` file (CSV or JSON lines) as it streams in: `push` each piece of text,
 * get back the records completed by it; `end` at the end. A bad row throws ImportRowError with its
 * line (for a CSV record spanning lines, the line it starts on). The format, when not given, is
 * taken from the first character: `{` is JSON lines, anything else CSV.
 */
export class ExportParser {
  private pending = '';
  /** Line number of the first line in `pending`. */
  private line = 1;
  private started = false;
  private columns: ReturnType<typeof csvHeaderColumns> | undefined;

  constructor(private format: ExportFormat | undefined) {}

  /** The format, once known (given, or taken from the first character). */
  get detectedFormat(): ExportFormat | undefined {
    return this.format;
  }

  push(text: string): RequestRecord[] {
    if (!this.started) {
      if (!text) return [];
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.format ??= text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
    }
    this.pending += text;
    return this.takeLines(false);
  }

  end(): RequestRecord[] {
    const records = this.takeLines(true);
    if (this.pending) throw new ImportRowError(this.line, 'a quoted field is never closed');
    return records;
  }

  /** Parses the complete lines (CSV: complete records) in `pending`, keeping the rest. */
  private takeLines(atEnd: boolean): RequestRecord[] {
    const records: RequestRecord[] = [];
    const text = this.pending;
    const csv = this.format === 'csv';
    let start = 0;
    let scanned = 0;
    let quotes = 0;
    for (;;) {
      let nl = text.indexOf('\n', scanned);
      if (nl < 0) {
        if (!atEnd || start >= text.length) break;
        nl = text.length;
      }
      if (csv) {
        // A CSV record ends at a line break outside quotes: after an even number of quote marks.
        quotes += countQuotes(text, scanned, nl);
        if (quotes % 2 === 1) {
          if (nl >= text.length) break;
          scanned = nl + 1;
          continue;
        }
      }
      const rec = this.row(text.slice(start, nl));
      if (rec) records.push(rec);
      this.line += quotes ? countLines(text, start, nl) + 1 : 1;
      start = scanned = nl + 1;
      quotes = 0;
    }
    this.pending = start >= text.length ? '' : start ? text.slice(start) : text;
    return records;
  }

  private row(text: string): RequestRecord | undefined {
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (!text.trim()) return undefined;
    try {
      if (this.format === 'jsonl') return recordFromJson(parseJson(text));
      const cells = splitCsvRecord(text);
      if (!this.columns) {
        this.columns = csvHeaderColumns(cells);
        return undefined;
      }
      return recordFromCsv(this.columns, cells);
    } catch (e) {
      if (e instanceof RowError) throw new ImportRowError(this.line, e.message);
      throw e;
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RowError(`not valid JSON (${(e as Error).message})`);
  }
}

/** The header row: export column names, each once, with id among them. */
function csvHeaderColumns(cells: string[]) {
  const columns = cells.map((c) => c.trim());
  for (const c of columns) if (!isExportColumn(c)) throw new RowError(`the header names an unknown column "${c}" (is this a burnrate export?)`);
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) throw new RowError(`the header names column "${c}" twice`);
    seen.add(c);
  }
  return columns.filter(isExportColumn);
}

/**
 * One CSV record (which may span lines) as its fields, the export's escaping undone: a field
 * holding `,`, `"` or a line break is in double quotes, a quote inside it doubled.
 */
export function splitCsvRecord(text: string): string[] {
  if (!text.includes('"')) return text.split(',');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) !== 34 /* " */) {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      const field = text.slice(i, end);
      if (field.includes('"')) throw new RowError(`a quote mark inside the unquoted field ${fields.length + 1}`);
      fields.push(field);
      if (comma < 0) return fields;
      i = comma + 1;
      continue;
    }
    let value = '';
    let from = i + 1;
    for (;;) {
      const q = text.indexOf('"', from);
      if (q < 0) throw new RowError(`field ${fields.length + 1}: a quoted field is never closed`);
      value += text.slice(from, q);
      if (text.charCodeAt(q + 1) === 34) {
        value += '"';
        from = q + 2;
        continue;
      }
      i = q + 1;
      break;
    }
    fields.push(value);
    if (i === text.length) return fields;
    if (text.charCodeAt(i) !== 44 /* , */) throw new RowError(`field ${fields.length}: text after its closing quote`);
    i++;
  }
}

function countQuotes(text: string, from: number, to: number): number {
  let n = 0;
  for (let q = text.indexOf('"', from); q >= 0 && q < to; q = text.indexOf('"', q + 1)) n++;
  return n;
}

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let q = text.indexOf('\n', from); q >= 0 && q < to; q = text.indexOf('\n', q + 1)) n++;
  return n;
}
