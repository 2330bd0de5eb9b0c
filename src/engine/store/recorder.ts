import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RequestRecord } from '../database';
import type { SpendStore } from './spendStore';

export interface RecorderOptions {
  /** How often the database is snapshotted to its file when it has new records (0: only on save()/close()). */
  saveIntervalMs?: number;
  /**
   * A snapshot of a big database takes a while (in the worker, but still CPU and disk): the next
   * periodic one waits at least this many times as long as the last one took. Default 20 (≤ 5 % busy).
   */
  saveBackoffFactor?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Records reach the database worker at most this late (queries send what is waiting first). */
const BATCH_MS = 50;
/** A batch this big goes at once, so a burst never queues more than this in memory. */
const MAX_BATCH_RECORDS = 1_000;

/**
 * Takes finished request records and makes them durable without holding up the proxy:
 * each record is appended to a journal file at once (one small synchronous write, so a response that
 * completed has its record on disk), sent to the store's worker in batches, and the database file is
 * snapshotted there now and then. At start the journal is replayed, so a killed process loses no
 * record it had journalled.
 *
 * Recording trouble never reaches the proxy: a journal that cannot be written (full disk) leaves
 * records in the in-memory database until a snapshot succeeds; the log says how many were affected
 * and when writing works again.
 *
 * Emits "record" (RequestRecord) for each record, in the order they were recorded, once it is
 * journalled and queryable (shortly after the response it describes is complete).
 */
export class Recorder extends EventEmitter {
  /**
   * Records not yet sent to the worker, as their journal lines ("…\n"), encoded once for the journal
   * and the worker alike. Bytes, not strings: a Buffer's contents live outside the JS heap, so the
   * young-generation GC does not copy them while they wait for the next batch.
   */
  private pendingLines: Buffer[] = [];
  /** Records whose 'record' event is due (see record()). */
  private toAnnounce: RequestRecord[] = [];
  private batchTimer: NodeJS.Timeout | undefined;
  /** Batches sent to the worker and not yet answered. */
  private insertsInFlight = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private dirty = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private nextPeriodicSaveAt = 0;
  private journalFd: number | undefined;
  private journalFailedSince: number | undefined;
  private journalRetryAt = 0;
  /** A failed write may have left part of a line: the next one starts on a line of its own. */
  private journalNeedsNewline = false;
  private saveFailures = 0;
  private closed = false;
  private readonly log: NonNullable<RecorderOptions['log']>;
  /** Records that could not be inserted into the database (worker failure); reported, never thrown at the proxy. */
  droppedCount = 0;
  /** Records that could not be journalled while the journal was failing (kept in memory until a snapshot). */
  unjournalledCount = 0;
  /** The last snapshot: its size and how long it took. */
  lastSave: { bytes: number; ms: number; at: number } | undefined;

  private constructor(
    readonly store: SpendStore,
    private readonly opts: RecorderOptions,
  ) {
    super();
    this.log = opts.log ?? (() => {});
    // Whoever asks the database anything sees every record recorded before the question.
    store.beforeCall = () => this.sendPending();
  }

  /** Opens the recorder on a store, replaying any journal a previous process left behind. */
  static async open(store: SpendStore, opts: RecorderOptions = {}): Promise<Recorder> {
    const recorder = new Recorder(store, opts);
    await recorder.replayJournals();
    recorder.openJournal();
    store.beforeIdleStop = () => recorder.saveBeforeIdleStop();
    const interval = opts.saveIntervalMs ?? 5_000;
    if (store.file && interval > 0) {
      recorder.saveTimer = setInterval(() => {
        if (Date.now() >= recorder.nextPeriodicSaveAt) void recorder.save();
      }, interval);
      recorder.saveTimer.unref();
    }
    return recorder;
  }

  private get journalFile(): string | undefined {
    return this.store.file ? `${this.store.file}.journal` : undefined;
  }

  /** Records one finished request. Never throws: recording trouble must not fail a proxied call. */
  record(rec: RequestRecord): void {
    if (this.closed) return;
    const line = Buffer.from(JSON.stringify(rec) + '\n', 'utf8');
    this.appendToJournal(line);
    this.pendingLines.push(line);
    // Records go to the worker as JSON lines in batches, a few times a second: each message wakes
    // the worker and its answer wakes this thread, which cost the proxy more than the records
    // themselves (see README, "Speed"). Durability does not wait for this: the journal line
    // above is already written, and every query sends what is pending before it asks (the store's
    // beforeCall hook), so the record is queryable from now on.
    if (this.pendingLines.length >= MAX_BATCH_RECORDS) this.sendPending();
    else if (!this.batchTimer) this.batchTimer = setTimeout(() => this.sendPending(), BATCH_MS);
    // Listeners hear of it once the proxy has finished with the response (not on its path), and
    // the record object is not kept beyond that: objects that outlive a young-generation GC are
    // copied by it, which made its pauses several times longer.
    this.toAnnounce.push(rec);
    if (this.toAnnounce.length === 1) setImmediate(this.announce);
  }

  private readonly announce = (): void => {
    const records = this.toAnnounce;
    this.toAnnounce = [];
    for (const rec of records) this.emit('record', rec);
  };

  /** Sends queued records to the database; resolves once every record recorded so far is queryable. */
  flush(): Promise<void> {
    this.sendPending();
    return this.inFlight;
  }

  /** Posts the queued records to the worker now (without waiting for it). */
  private sendPending(): void {
    if (this.batchTimer) {
      clearTimeout(this.batchTimer);
      this.batchTimer = undefined;
    }
    if (!this.pendingLines.length) return;
    const lines = this.pendingLines;
    this.pendingLines = [];
    this.insertsInFlight++;
    // The store answers in order, so this settles after every earlier batch.
    this.inFlight = this.store
      .insertLines(lines)
      .then(
        () => {
          this.dirty = true;
        },
        (e: Error) => {
          // Still in the journal: the next start replays them.
          this.droppedCount += lines.length;
          this.log('error', `could not insert ${lines.length} record(s): ${e.message}`);
        },
      )
      .finally(() => {
        this.insertsInFlight--;
      });
  }

  /**
   * Snapshots the database file. The journal is rotated first, so records that arrive while the
   * snapshot is being written stay journalled until the next one.
   */
  save(): Promise<void> {
    if (this.saving) return this.saving;
    this.saving = this.saveNow().finally(() => {
      this.saving = undefined;
    });
    return this.saving;
  }

  private async saveNow(): Promise<void> {
    await this.flush();
    if (!this.dirty || !this.store.file) return;
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
    const unjournalled = this.unjournalledCount;
    try {
      const result = await this.store.save();
      this.lastSave = { bytes: result.bytes, ms: result.ms, at: Date.now() };
      this.nextPeriodicSaveAt = Date.now() + result.ms * (this.opts.saveBackoffFactor ?? 20);
      await fs.promises.rm(rotated, { force: true });
      if (this.saveFailures) this.log('info', `saved ${this.store.file} again after ${this.saveFailures} failed attempt(s); no record was lost`);
      this.saveFailures = 0;
      if (unjournalled) {
        this.log('info', `the ${unjournalled} record(s) that could not be journalled are now saved in the database`);
        this.unjournalledCount -= unjournalled;
      }
    } catch (e) {
      this.dirty = true;
      this.saveFailures++;
      if (this.saveFailures === 1) {
        this.log('error', `could not save ${this.store.file}: ${(e as Error).message} (records stay in memory and in the journal; retrying)`);
      }
    }
  }

  /**
   * Before the store lets its idle worker go: every record, and any deletion made directly on the
   * store (retention), goes into the database file. True when nothing is left unsaved; a record
   * arriving meanwhile makes it false, and the worker stays.
   */
  private async saveBeforeIdleStop(): Promise<boolean> {
    if (this.closed) return true;
    if (this.store.hasUnsavedChanges) this.dirty = true;
    await this.save();
    return !this.pendingLines.length && !this.insertsInFlight && !this.dirty;
  }

  /** Flushes, saves and closes the journal. The store is closed by its owner. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.saveTimer) clearInterval(this.saveTimer);
    if (this.saving) await this.saving;
    await this.save();
    this.closed = true;
    this.closeJournal();
    if (this.unjournalledCount) this.log('error', `${this.unjournalledCount} record(s) could be neither journalled nor saved and are lost`);
  }

  private openJournal(): void {
    const journal = this.journalFile;
    if (!journal || this.journalFd !== undefined) return;
    try {
      fs.mkdirSync(path.dirname(journal), { recursive: true });
      this.journalFd = fs.openSync(journal, 'a', 0o600);
    } catch (e) {
      this.journalFd = undefined;
      this.journalFailed(e as Error);
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

  /** Appends one line (ending in a newline) to the journal. */
  private appendToJournal(line: Buffer): void {
    if (!this.journalFile) return;
    if (this.journalFailedSince !== undefined) {
      // Try again now and then, not on every record of a burst.
      if (Date.now() < this.journalRetryAt) return void this.unjournalledCount++;
      this.closeJournal();
      this.openJournal();
    }
    if (this.journalFd === undefined) return void this.unjournalledCount++;
    try {
      // A synchronous append of one line: once the response is complete, a kill -9 cannot lose it.
      if (this.journalNeedsNewline) fs.writeSync(this.journalFd, '\n');
      fs.writeSync(this.journalFd, line);
      this.journalNeedsNewline = false;
    } catch (e) {
      this.unjournalledCount++;
      this.journalFailed(e as Error);
      return;
    }
    if (this.journalFailedSince !== undefined) {
      this.log(
        'info',
        `the journal is writable again; ${this.unjournalledCount} record(s) written meanwhile were kept in memory and go into the next snapshot`,
      );
      this.journalFailedSince = undefined;
      void this.save();
    }
  }

  private journalFailed(e: Error): void {
    this.journalNeedsNewline = true;
    this.journalRetryAt = Date.now() + 1_000;
    if (this.journalFailedSince !== undefined) return;
    this.journalFailedSince = Date.now();
    this.log('error', `could not write the journal: ${e.message}; requests are still served and recorded in memory, retrying every second`);
  }

  private async replayJournals(): Promise<void> {
    if (!this.store.file) return;
    const records = readJournalRecords(this.store.file);
    if (!records.length) return;
    await this.store.insert(records);
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
