/** `burnrate export`: one row per request, as CSV or JSON lines, to stdout or a file. */
import * as fs from 'node:fs';
import { csvHeader, csvLine, jsonLine } from '../../engine/export';
import { parseSince } from '../../engine/queries';
import { parse, UsageError } from '../args';
import { exitZeroAfter, writeOut, type Command } from '../command';
import { openForReading } from '../readDatabase';

export const exportCommand: Command = {
  name: 'export',
  synopsis: '[--db FILE] --format csv|jsonl [--since …] [--out FILE]',
  summary: 'One row per request, as CSV or JSON lines.',
  run: exitZeroAfter(exportRecords),
  longRunning: true,
};

/** Characters written at a time. */
const CHUNK_CHARS = 64 * 1024;

async function exportRecords(args: string[]): Promise<void> {
  const { values } = parse(args, { db: { type: 'string' }, since: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } });
  const format = values.format;
  if (format !== 'csv' && format !== 'jsonl') throw new UsageError('--format expects csv or jsonl');
  const since = values.since ? parseSince(values.since as string) : undefined;
  const query = await openForReading(values.db);
  const out = values.out ? fs.createWriteStream(values.out as string) : process.stdout;
  // Waits on backpressure: an export of a large database must not buffer it all in memory. Stops
  // when stdout's reader has gone (`burnrate export … | head`).
  // Rows go out in chunks of about 64 KB: a write (and a wait) per row cost more than the rows.
  let chunk = format === 'csv' ? csvHeader() : '';
  for (const rec of query.records({ since })) {
    chunk += format === 'csv' ? csvLine(rec) : jsonLine(rec);
    if (chunk.length < CHUNK_CHARS) continue;
    if (!(await writeOut(out, chunk))) break;
    chunk = '';
  }
  if (chunk) await writeOut(out, chunk);
  if (out !== process.stdout) await new Promise<void>((r) => out.end(r));
}
