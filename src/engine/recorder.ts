import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SpendDatabase } from './db';
import type { RequestRecord } from './record';

export interface RecorderOptions {
  /** How often the in-memory database is saved to its file when it has new records. */
  saveIntervalMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/**
 * Takes finished request records and makes them durable without holding up the proxy:
 * each record is appended to a journal file at once (one small write), inserted into the
 * in-memory database in batches, and the database file is rewritten atomically now and then.
 * At start the journal is replayed, so a killed process loses no record it had journalled.
 *
 * Emits "record" (RequestRecord) after each record is queryable.
 */
export class Recorder extends EventEmitter {
  private pending: RequestRecord[] = [];
  private flushScheduled = false;
  private dirty = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private journalFd: number | undefined;
  private journalFailed = false;
  private closed = false;
  private readonly log: NonNullable<RecorderOptions['log']>;
  /** Records that could not be journalled or inserted; reported, never thrown at the proxy. */
  droppedCount = 0;

  private constructor(readonly database: SpendDatabase, private readonly opts: RecorderOptions) {
    super();
    this.log = opts.log ?? (() => {});
  }

  /** Opens the recorder on a database, replaying any journal a previous process left behind. */
  static async open(database: SpendDatabase, opts: RecorderOptions = {}): Promise<Recorder> {
    const recorder = new Recorder(database, opts);
    await recorder.replayJournals();
    recorder.openJournal();
    const interval = opts.saveIntervalMs ?? 5_000;
    if (database.file && interval > 0) {
      recorder.saveTimer = setInterval(() => void recorder.save(), interval);
      recorder.saveTimer.unref();
    }
    return recorder;
  }

  private get journalFile(): string | undefined {
    return this.database.file ? `${this.database.file}.journal` : undefined;
  }

  /** Records one finished request. Never throws: recording trouble must not fail a proxied call. */
  record(rec: RequestRecord): void {
    if (this.closed) return;
    this.appendToJournal(rec);
    this.pending.push(rec);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Inserts queued records into the database now. */
  flush(): void {
    this.flushScheduled = false;
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.database.insert(batch);
      this.dirty = true;
    } catch (e) {
      this.droppedCount += batch.length;
      this.log('error', `could not insert ${batch.length} record(s): ${(e as Error).message}`);
      return;
    }
    for (const rec of batch) this.emit('record', rec);
  }

  /**
   * Saves the database file. The journal is rotated first, so records that arrive while the
   * snapshot is being written stay journalled until the next save.
   */
  save(): Promise<void> {
    if (this.saving) return this.saving;
    this.flush();
    if (!this.dirty || !this.database.file) return Promise.resolve();
    const journal = this.journalFile!;
    const rotated = `${journal}.saving`;
    this.closeJournal();
    try {
      if (fs.existsSync(journal)) {
        if (fs.existsSync(rotated)) {
          // A previous save failed: keep its records too.
          fs.appendFileSync(rotated, fs.readFileSync(journal));
          fs.unlinkSync(journal);
        } else fs.renameSync(journal, rotated);
      }
    } catch (e) {
      this.log('warn', `could not rotate journal: ${(e as Error).message}`);
    }
    this.openJournal();
    this.dirty = false;
    this.saving = this.database
      .save()
      .then(() => fs.promises.rm(rotated, { force: true }))
      .catch((e: Error) => {
        this.dirty = true;
        this.log('error', `could not save ${this.database.file}: ${e.message} (records are kept in the journal)`);
      })
      .finally(() => {
        this.saving = undefined;
      });
    return this.saving;
  }

  /** Flushes, saves and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.saveTimer) clearInterval(this.saveTimer);
    if (this.saving) await this.saving;
    await this.save();
    this.closed = true;
    this.closeJournal();
  }

  private openJournal(): void {
    const journal = this.journalFile;
    if (!journal || this.journalFd !== undefined) return;
    try {
      fs.mkdirSync(path.dirname(journal), { recursive: true });
      this.journalFd = fs.openSync(journal, 'a', 0o600);
      this.journalFailed = false;
    } catch (e) {
      this.journalFd = undefined;
      this.reportJournalFailure(e as Error);
    }
  }

  private closeJournal(): void {
    if (this.journalFd === undefined) return;
    try {
      fs.closeSync(this.journalFd);
    } catch {
      /* already gone */
    }
    this.journalFd = undefined;
  }

  private appendToJournal(rec: RequestRecord): void {
    if (this.journalFd === undefined) return;
    try {
      // A synchronous append of one line: once the response is complete, a kill -9 cannot lose it.
      fs.writeSync(this.journalFd, JSON.stringify(rec) + '\n');
    } catch (e) {
      this.reportJournalFailure(e as Error);
    }
  }

  private reportJournalFailure(e: Error): void {
    if (this.journalFailed) return;
    this.journalFailed = true;
    this.log('error', `could not write the journal: ${e.message}; records stay in memory until the next save`);
  }

  private async replayJournals(): Promise<void> {
    if (!this.database.file) return;
    const records = readJournalRecords(this.database.file);
    if (!records.length) return;
    this.database.insert(records);
    this.dirty = true;
    this.log('info', `replayed ${records.length} journalled record(s)`);
    await this.save();
  }
}

/**
 * Records journalled beside `dbFile` and not yet saved into it (a running or killed proxy's).
 * A last line cut short by a crash mid-write is skipped: its response had not completed.
 */
export function readJournalRecords(dbFile: string): RequestRecord[] {
  const records: RequestRecord[] = [];
  for (const file of [`${dbFile}.journal.saving`, `${dbFile}.journal`]) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line) as RequestRecord);
      } catch {
        /* partial line */
      }
    }
  }
  return records;
}
