/** `burnrate import`: the records of a `burnrate export` file (a backup, another machine's) added to a database. */
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { BUILDER_THREADS, SpendDatabase, type RequestRecord } from '../../engine/database';
import { defaultDbPath } from '../../engine/dataDir';
import { ExportParser, ImportRowError, type ExportFormat } from '../../engine/export';
import { parse, UsageError } from '../args';
import { exitZeroAfter, type Command } from '../command';
import { lockDatabase } from '../databaseLock';

/** A file that cannot be imported (a bad row, an unreadable file); nothing of it was imported. */
export class ImportError extends Error {}

export const importCommand: Command = {
  name: 'import',
  synopsis: '[--db FILE] [--format csv|jsonl] FILE|-',
  summary:
    "Adds the records of a `burnrate export` file (CSV or JSON lines; - reads stdin) to the database, by\nrecord id: restores a backup, merges another machine's. A file with a bad row imports nothing.",
  run: exitZeroAfter(importRecords),
  longRunning: true,
};

/** Records inserted at a time (one transaction, one rollup update). */
const BATCH = 20_000;

/** A file smaller than this (some thousands of records) is imported on this thread alone: starting threads would take longer. */
const BUILDERS_FROM_BYTES = 4 << 20;

async function importRecords(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { db: { type: 'string' }, format: { type: 'string' } }, 1);
  const source = positionals[0];
  if (source === undefined) throw new UsageError('import expects a file written by burnrate export (or - for stdin)');
  const flag = values.format as string | undefined;
  if (flag !== undefined && flag !== 'csv' && flag !== 'jsonl') throw new UsageError('--format expects csv or jsonl');
  const format = (flag as ExportFormat | undefined) ?? formatOfName(source);
  const input = openInput(source);
  const dbPath = (values.db as string | undefined) ?? defaultDbPath();
  const lock = lockDatabase(dbPath, 'stop it, then import again');
  try {
    const builders = input.bytes !== undefined && input.bytes < BUILDERS_FROM_BYTES ? 0 : BUILDER_THREADS;
    const { added, read } = await importInto(dbPath, input.stream, new ExportParser(format), source === '-' ? 'stdin' : source, builders);
    const already = read - added;
    process.stdout.write(`imported ${added} record(s) into ${dbPath}; ${already} ${already === 1 ? 'was' : 'were'} already there\n`);
  } finally {
    lock.release();
  }
}

function formatOfName(file: string): ExportFormat | undefined {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  return undefined;
}

/** The file (or stdin) to read, and its size when known. */
function openInput(source: string): { stream: Readable; bytes?: number } {
  if (source === '-') return { stream: process.stdin };
  try {
    const fd = fs.openSync(source, 'r');
    const stat = fs.fstatSync(fd);
    return { stream: fs.createReadStream(source, { fd, highWaterMark: 1 << 20 }), bytes: stat.isFile() ? stat.size : undefined };
  } catch (e) {
    throw new ImportError(`cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Streams the file into the database in batches inside one transaction (the segments it adds built
 * on threads of their own meanwhile), then saves it (temp file, fsync, rename). A bad row rolls it
 * all back before anything is saved: nothing of the file is kept.
 */
async function importInto(dbPath: string, input: Readable, parser: ExportParser, name: string, builders: number): Promise<{ added: number; read: number }> {
  const database = await SpendDatabase.open(dbPath, { create: true });
  // What the open brought up to date (records of a save the index missed, a table an older index lacked) is saved first: a rollback returns to the files.
  if (!database.indexCommitted) await database.save({ commit: true });
  const bulk = database.bulk({ builders });
  const progress = new Progress(name);
  let read = 0;
  let batch: RequestRecord[] = [];
  const take = async (records: RequestRecord[], last = false) => {
    batch = batch.length ? batch.concat(records) : records;
    read += records.length;
    if (batch.length >= BATCH || last) {
      const full = batch;
      batch = [];
      await bulk.insert(full);
    }
    progress.update(read);
  };
  try {
    await readAll(input, parser, take, name);
    progress.update(read, 'saving the database');
    const added = await bulk.commit();
    progress.done();
    return { added, read };
  } finally {
    await bulk.rollback();
    progress.done();
    database.close();
  }
}

async function readAll(input: Readable, parser: ExportParser, take: (records: RequestRecord[], last?: boolean) => Promise<void>, name: string): Promise<void> {
  try {
    input.setEncoding('utf8');
    for await (const chunk of input) await take(parser.push(chunk as string));
    await take(parser.end(), true);
  } catch (e) {
    if (e instanceof ImportRowError) throw new ImportError(`${name} ${e.message}; nothing was imported`);
    if ((e as NodeJS.ErrnoException).code) throw new ImportError(`cannot read ${name}: ${(e as Error).message}; nothing was imported`);
    throw e;
  }
}

/** One line on a terminal's stderr: records read and the rate; nothing when stderr is not a terminal. */
class Progress {
  private readonly start = performance.now();
  private shownAt = 0;
  private shown = false;

  constructor(private readonly name: string) {}

  update(read: number, then?: string): void {
    if (!process.stderr.isTTY) return;
    const now = performance.now();
    if (now - this.shownAt < 200 && !then) return;
    this.shownAt = now;
    const rate = Math.round(read / Math.max((now - this.start) / 1000, 0.001));
    const line = `importing ${this.name}: ${read.toLocaleString('en-US')} records read (${rate.toLocaleString('en-US')}/s)${then ? `; ${then}…` : ''}`;
    process.stderr.write(`\r${line}\x1b[K`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
