import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DatabaseUnreadableError } from './db';
import type { SpendReport, GroupBy, RecordCursor } from './queries';
import type { QueryMethod, QueryMethodName, QueryModuleName } from './queryModules';
import type { RequestRecord } from './record';
import type { SaveResult, StoreReply, StoreRequest, StoreRequestMessage } from './storeProtocol';

export type { SaveResult } from './storeProtocol';

/** The store's worker stopped (crashed or ran out of memory); what was journalled is still on disk. */
export class StoreStoppedError extends Error {}

/** How long a file-backed store's worker may sit idle before it is stopped (the engine's default). */
export const DEFAULT_STORE_IDLE_STOP_MS = 30_000;

export interface SpendStoreOptions {
  create: boolean;
  /**
   * Stop the worker after this long without a call (file-backed stores only; 0 or undefined: never).
   * A worker costs ~50 MB (its own V8, sql.js's wasm, the database in memory); while no AI script
   * runs there is nothing for it to do. The next call starts a new one on the same file.
   */
  idleStopMs?: number;
}

type Waiter = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** One worker thread and the calls it has not answered yet. */
interface WorkerLink {
  worker: Worker;
  pending: Map<number, Waiter>;
  /** A restarted worker that could not reopen the file: the calls queued behind its open fail with this. */
  openError?: Error;
}

/**
 * The spend database, owned by a worker thread (storeWorker.ts) so sql.js never runs on the
 * proxy's event loop: inserts, snapshots and queries are messages, answered in the order sent.
 * A query therefore sees every insert sent before it.
 *
 * A file-backed store with `idleStopMs` lets its worker go when idle: once the owner's
 * `beforeIdleStop` (the recorder: flush and save) has put everything in the file and no call came
 * meanwhile, the worker ends; the next call starts a new one that reopens the file first. Calls are
 * only ever sent to one worker at a time, and a worker is only stopped with no call outstanding, so
 * the order guarantee holds across restarts.
 */
export class SpendStore {
  private nextId = 1;
  private link: WorkerLink | undefined;
  private stopped: Error | undefined;
  private readonly idleStopMs: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleStopping = false;
  /** Mutating calls sent (inserts, prunes), and how many of them the last successful save covers. */
  private mutationsSent = 0;
  private mutationsSaved = 0;
  /** Calls other than saves: one arriving while the owner saves before a stop abandons the stop. */
  private activity = 0;
  /**
   * Set by the store's owner (the Recorder): makes everything durable in the file before the worker
   * stops, resolving true when nothing is left to save. Without one, only a fully saved store stops.
   */
  beforeIdleStop: (() => Promise<boolean>) | undefined;
  /** Workers started so far, the first included. */
  workerStarts = 0;

  private constructor(readonly file: string | undefined, opts: SpendStoreOptions) {
    this.idleStopMs = file ? (opts.idleStopMs ?? 0) : 0;
  }

  /**
   * Opens the database at `file` in a new worker (undefined: in memory only). A file that is not a
   * readable Burn Rate database rejects with DatabaseUnreadableError and is left untouched.
   */
  static async open(file: string | undefined, opts: SpendStoreOptions): Promise<SpendStore> {
    const store = new SpendStore(file, opts);
    try {
      await store.startWorker(opts.create);
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  /** Whether a worker (and the database in memory) is running now. */
  get workerRunning(): boolean {
    return this.link !== undefined;
  }

  /** True when inserts or deletions were sent since the last snapshot that covers them. */
  get hasUnsavedChanges(): boolean {
    return this.mutationsSaved !== this.mutationsSent;
  }

  insert(records: readonly RequestRecord[]): Promise<void> {
    if (!records.length) return Promise.resolve();
    return this.call({ op: 'insert', records: records as RequestRecord[] }) as Promise<void>;
  }

  /** Inserts records given as JSON lines, one record per line (no empty lines). */
  insertLines(lines: readonly string[]): Promise<void> {
    if (!lines.length) return Promise.resolve();
    return this.call({ op: 'insertLines', lines: lines.join('\n') }) as Promise<void>;
  }

  /** Snapshots the database to its file atomically (temp file, fsync, rename), in the worker. */
  save(): Promise<SaveResult> {
    const covers = this.mutationsSent;
    return (this.call({ op: 'save' }) as Promise<SaveResult>).then((result) => {
      if (result.saved) this.mutationsSaved = Math.max(this.mutationsSaved, covers);
      return result;
    });
  }

  count(): Promise<number> {
    return this.call({ op: 'count' }) as Promise<number>;
  }

  /** Deletes records that started before `before` (epoch ms); resolves with how many. */
  deleteBefore(before: number): Promise<number> {
    return this.call({ op: 'prune', before }) as Promise<number>;
  }

  /** Runs a method of a query module (queryModules.ts) in the worker. */
  run<N extends QueryModuleName, M extends QueryMethodName<N>>(module: N, method: M, ...args: Parameters<QueryMethod<N, M>>): Promise<ReturnType<QueryMethod<N, M>>> {
    return this.call({ op: 'query', module, method, args }) as Promise<ReturnType<QueryMethod<N, M>>>;
  }

  report(opts: { since?: number; until?: number; by?: GroupBy }): Promise<SpendReport> {
    return this.run('spend', 'report', opts);
  }

  /** Records in time order, fetched a page at a time. */
  async *records(opts: { since?: number; until?: number; workspace?: string; pageSize?: number } = {}): AsyncGenerator<RequestRecord> {
    const pageSize = opts.pageSize ?? 2_000;
    let after: RecordCursor | undefined;
    for (;;) {
      const page = await this.run('spend', 'page', { ...opts, pageSize, after });
      yield* page;
      if (page.length < pageSize) return;
      after = { startedAt: page[page.length - 1].startedAt, id: page[page.length - 1].id };
    }
  }

  /** Closes the database and ends the worker. Does not save: the recorder saves first. */
  async close(): Promise<void> {
    this.clearIdleTimer();
    const link = this.link;
    if (link && !this.stopped) await this.call({ op: 'close' }).catch(() => undefined);
    this.stopped ??= new StoreStoppedError('the database is closed');
    this.link = undefined;
    if (link) await link.worker.terminate();
  }

  private call(request: StoreRequest): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    this.clearIdleTimer();
    if (request.op !== 'save') this.activity++;
    if (request.op === 'insert' || request.op === 'insertLines' || request.op === 'prune') this.mutationsSent++;
    // A sleeping store wakes: the new worker reopens the file, then answers this call.
    if (!this.link) void this.startWorker(true).catch(() => undefined);
    return this.send(this.link!, request);
  }

  private send(link: WorkerLink, request: StoreRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      link.pending.set(id, { resolve, reject });
      this.refWhileBusy(link);
      link.worker.postMessage({ ...request, id });
    });
  }

  /** Starts a worker and opens the file in it; calls sent meanwhile queue behind the open. */
  private startWorker(create: boolean): Promise<unknown> {
    const link: WorkerLink = { worker: startWorker(), pending: new Map() };
    this.link = link;
    this.workerStarts++;
    const { worker } = link;
    worker.on('message', (reply: StoreReply) => {
      const waiter = link.pending.get(reply.id);
      if (!waiter) return;
      link.pending.delete(reply.id);
      this.refWhileBusy(link);
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(link.openError ?? (reply.error.name === 'DatabaseUnreadableError' ? new DatabaseUnreadableError(reply.error.message) : new Error(reply.error.message)));
      if (link !== this.link) {
        // A worker that failed to reopen the file: gone once it has answered what was queued on it.
        if (!link.pending.size) void worker.terminate();
      } else if (!link.pending.size) this.armIdleStop();
    });
    const crashed = (e: Error) => {
      const error = new StoreStoppedError(`the database worker stopped: ${e.message}`);
      if (link === this.link) this.stopped ??= error;
      for (const w of link.pending.values()) w.reject(link === this.link ? this.stopped! : error);
      link.pending.clear();
    };
    worker.on('error', crashed);
    worker.on('exit', (code) => crashed(new Error(`exit code ${code}`)));
    worker.unref();
    const opened = this.send(link, { op: 'open', file: this.file, create });
    opened.catch((e: Error) => {
      link.openError = e;
      if (link === this.link) this.link = undefined;
      if (!link.pending.size) void worker.terminate();
    });
    return opened;
  }

  /** The worker keeps the process alive only while a caller awaits it (a CLI must not exit mid-query). */
  private refWhileBusy(link: WorkerLink): void {
    if (link.pending.size) link.worker.ref();
    else link.worker.unref();
  }

  private armIdleStop(): void {
    if (!this.idleStopMs || this.idleStopping || this.stopped) return;
    this.clearIdleTimer();
    this.idleTimer = setTimeout(() => void this.stopIfIdle(), this.idleStopMs);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /**
   * Lets the worker go once everything it holds is in the file. The owner saves first; any call
   * other than that save arriving meanwhile (a record, a query) keeps the worker, to try again later.
   */
  private async stopIfIdle(): Promise<void> {
    const link = this.link;
    if (!link || link.pending.size || this.stopped || this.idleStopping) return;
    this.idleStopping = true;
    const activity = this.activity;
    try {
      const ready = this.beforeIdleStop ? await this.beforeIdleStop() : true;
      if (!ready || this.activity !== activity || this.hasUnsavedChanges || link !== this.link || link.pending.size || this.stopped) return;
      this.link = undefined;
      // Nothing is outstanding on it and nothing unsaved: its 'close' answer is not worth waiting for.
      link.worker.postMessage({ op: 'close', id: this.nextId++ } satisfies StoreRequestMessage);
      void link.worker.terminate();
    } catch {
      /* the owner's save failed: it reports that itself; the worker stays, and so does every record */
    } finally {
      this.idleStopping = false;
      if (this.link && !this.link.pending.size) this.armIdleStop();
    }
  }
}
function startWorker(): Worker {
  // Bundles (dist/) ship storeWorker.js beside the built script; from source, load the TypeScript
  // through tsx, the loader the tests and scripts already run under.
  const bundled = path.join(__dirname, 'storeWorker.js');
  if (fs.existsSync(bundled)) return new Worker(bundled);
  const source = path.join(__dirname, 'storeWorker.ts');
  const typescriptLoader = 'tsx/cjs'; // a development dependency, never in a bundle
  return new Worker(`require(${JSON.stringify(require.resolve(typescriptLoader))}); require(${JSON.stringify(source)});`, { eval: true });
}
