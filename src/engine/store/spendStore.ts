import { fork, type ChildProcess } from 'node:child_process';
import { DatabaseFromNewerVersionError, DatabaseUnreadableError, workerScript, type ExportHold, type RequestRecord, type RetentionOutcome } from '../database';
import type { RecordFeed } from '../export';
import type { ModelRepriceResult } from '../pricing';
import type { SpendReport, GroupBy, RecordCursor, QueryMethod, QueryMethodName, QueryModuleName } from '../queries';
import type { SaveResult, StoreReply, StoreRequest, StoreRequestMessage } from './storeProtocol';

export type { SaveResult } from './storeProtocol';

/** The errors the worker's open may end with that callers tell apart, by name. */
const ERROR_CLASSES: Record<string, new (message: string) => Error> = { DatabaseUnreadableError, DatabaseFromNewerVersionError };

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
  /** Told how a long open goes (a single-file database migrated into segments). */
  progress?: (message: string) => void;
}

type Waiter = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** One worker process and the calls it has not answered yet. */
interface WorkerLink {
  worker: ChildProcess;
  pending: Map<number, Waiter>;
  /** Whether the open, the first call on every worker, has been answered. */
  answered?: boolean;
  /** A worker that could not open the file: the calls queued behind its open fail with this. */
  openError?: Error;
}

/**
 * The spend database, owned by a worker process (storeWorker.ts) so sql.js never runs on the
 * proxy's event loop: inserts, snapshots and queries are messages, answered in the order sent.
 * A query therefore sees every insert sent before it.
 *
 * A process rather than a worker thread: when a thread that compiled sql.js's WebAssembly ends,
 * most of the ~40 MB it used stays in the process (V8's compiler threads keep their malloc arenas),
 * and grows with each restart; a process that exits gives all of it back.
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
  /**
   * Called before any request other than an insert is sent (the recorder sends its queued records
   * there), so a query sees every record recorded before it was asked.
   */
  beforeCall: (() => void) | undefined;
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
  private readonly progress: ((message: string) => void) | undefined;
  /** The next save writes the index too, whether due or not (see `commitIndex`). */
  private commitNextSave = false;
  /** Whether the worker's index on disk names everything saved (see SpendDatabase.indexCommitted). */
  private indexCommitted = true;
  /** Workers started so far, the first included. */
  workerStarts = 0;

  private constructor(
    readonly file: string | undefined,
    opts: SpendStoreOptions,
  ) {
    this.idleStopMs = file ? (opts.idleStopMs ?? 0) : 0;
    this.progress = opts.progress;
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

  /** The worker process's id while one runs (for memory and CPU figures). */
  get workerPid(): number | undefined {
    return this.link?.worker.pid;
  }

  /** True when inserts or deletions were sent since the last snapshot that covers them. */
  get hasUnsavedChanges(): boolean {
    return this.mutationsSaved !== this.mutationsSent;
  }

  insert(records: readonly RequestRecord[]): Promise<void> {
    if (!records.length) return Promise.resolve();
    return this.call({ op: 'insert', records: records as RequestRecord[] }) as Promise<void>;
  }

  /** Inserts records given as JSON lines, each ending in a newline (a journal line as the recorder wrote it). */
  insertLines(lines: readonly Buffer[]): Promise<void> {
    if (!lines.length) return Promise.resolve();
    const bytes = Buffer.concat(lines);
    // Without the last line's newline: the worker splits on newlines.
    return this.call({ op: 'insertLines', lines: bytes.toString('utf8', 0, bytes.length - 1) }) as Promise<void>;
  }

  /** Snapshots the database to its file atomically (temp file, fsync, rename), in the worker. */
  save(): Promise<SaveResult> {
    const covers = this.mutationsSent;
    const commit = this.commitNextSave;
    this.commitNextSave = false;
    return (this.call({ op: 'save', commit }) as Promise<SaveResult>).then((result) => {
      this.indexCommitted = result.committed ?? true;
      if (result.saved) this.mutationsSaved = Math.max(this.mutationsSaved, covers);
      return result;
    });
  }

  count(): Promise<number> {
    return this.call({ op: 'count' }) as Promise<number>;
  }

  /** Deletes records that started before `before` (epoch ms), but those `hold` spares (retention.ts); resolves with what it did. */
  async deleteBefore(before: number, hold?: ExportHold): Promise<RetentionOutcome> {
    const savedBefore = !this.hasUnsavedChanges;
    const outcome = (await this.call({ op: 'prune', before, hold })) as RetentionOutcome;
    this.unchangedBy(outcome.deleted === 0, savedBefore);
    return outcome;
  }

  /** Reprices `provider`'s `model` over its unpriced history with the prices in force (the user's overrides in `dataDir` included). */
  async repriceModel(dataDir: string, provider: string, model: string): Promise<ModelRepriceResult> {
    const savedBefore = !this.hasUnsavedChanges;
    const result = (await this.call({ op: 'repriceModel', dataDir, provider, model })) as ModelRepriceResult;
    this.unchangedBy(result.changed === 0, savedBefore);
    return result;
  }

  /**
   * A mutation that changed nothing (a retention pass with nothing old enough, a reprice with
   * nothing to reprice) leaves a saved file saved, so it costs no snapshot of the whole database;
   * unless another mutation was sent meanwhile.
   */
  private unchangedBy(changedNothing: boolean, savedBefore: boolean): void {
    if (changedNothing && savedBefore && this.mutationsSent === this.mutationsSaved + 1) this.mutationsSaved = this.mutationsSent;
  }

  /**
   * Writes the index if saves since it left newer segment versions for the next open to take in
   * (before the worker stops, or the store closes), so the next worker starts with nothing to do.
   * True when the index names everything saved.
   */
  private async commitIndex(): Promise<boolean> {
    if (this.indexCommitted || !this.file) return true;
    this.commitNextSave = true;
    await this.save();
    return this.indexCommitted;
  }

  /** Runs a method of a query module (queryModules.ts) in the worker. */
  run<N extends QueryModuleName, M extends QueryMethodName<N>>(
    module: N,
    method: M,
    ...args: Parameters<QueryMethod<N, M>>
  ): Promise<ReturnType<QueryMethod<N, M>>> {
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
    if (this.link && !this.stopped) await this.commitIndex().catch(() => undefined);
    const link = this.link;
    if (link && !this.stopped) await this.call({ op: 'close' }).catch(() => undefined);
    this.stopped ??= new StoreStoppedError('the database is closed');
    this.link = undefined;
    if (link) await endWorker(link.worker);
  }

  private call(request: StoreRequest): Promise<unknown> {
    if (request.op !== 'insert' && request.op !== 'insertLines') this.beforeCall?.();
    if (this.stopped) return Promise.reject(this.stopped);
    this.clearIdleTimer();
    if (request.op !== 'save') this.activity++;
    if (request.op === 'insert' || request.op === 'insertLines' || request.op === 'prune' || request.op === 'repriceModel') this.mutationsSent++;
    // A sleeping store wakes: the new worker reopens the file, then answers this call.
    if (!this.link) {
      try {
        void this.startWorker(true).catch(() => undefined);
      } catch (e) {
        // No process could be started (out of memory, too many processes): this call fails, the next one tries again.
        return Promise.reject(new StoreStoppedError(`could not start the database worker: ${(e as Error).message}`));
      }
    }
    return this.send(this.link!, request);
  }

  private send(link: WorkerLink, request: StoreRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      link.pending.set(id, { resolve, reject });
      this.refWhileBusy(link);
      link.worker.send({ ...request, id } satisfies StoreRequestMessage, (e: Error | null) => {
        if (!e || !link.pending.has(id)) return;
        link.pending.delete(id);
        reject(this.stopped ?? new StoreStoppedError(`the database worker stopped: ${e.message}`));
      });
    });
  }

  /** Starts a worker and opens the file in it; calls sent meanwhile queue behind the open. */
  private startWorker(create: boolean): Promise<unknown> {
    const link: WorkerLink = { worker: startWorker(), pending: new Map() };
    this.link = link;
    this.workerStarts++;
    const { worker } = link;
    worker.on('message', (reply: StoreReply) => {
      if (reply.id === 0 && reply.ok) return this.progress?.((reply.value as { progress: string }).progress);
      const waiter = link.pending.get(reply.id);
      if (!waiter) return;
      link.pending.delete(reply.id);
      this.refWhileBusy(link);
      const error = reply.ok ? undefined : (link.openError ?? new (ERROR_CLASSES[reply.error.name] ?? Error)(reply.error.message));
      if (!link.answered) {
        // The first answer is the open's (it goes first and the worker answers in order). If it
        // failed, the calls queued behind it fail with the same reason, and the next call starts afresh.
        link.answered = true;
        if (error) {
          link.openError = error;
          if (link === this.link) this.link = undefined;
        }
      }
      if (reply.ok && !error) waiter.resolve(reply.value);
      else waiter.reject(error!);
      if (link !== this.link) {
        // A worker that failed to reopen the file: gone once it has answered what was queued on it.
        if (!link.pending.size) void endWorker(worker);
      } else if (!link.pending.size) this.armIdleStop();
    });
    const crashed = (e: Error) => {
      const error = new StoreStoppedError(`the database worker stopped: ${e.message}`);
      if (link === this.link) this.stopped ??= error;
      for (const w of link.pending.values()) w.reject(link === this.link ? this.stopped! : error);
      link.pending.clear();
    };
    worker.on('error', crashed);
    worker.on('exit', (code, signal) => crashed(new Error(`exit ${signal ?? `code ${code}`}`)));
    this.refWhileBusy(link);
    return this.send(link, { op: 'open', file: this.file, create }).then((opened) => {
      this.indexCommitted = (opened as { committed: boolean }).committed;
      return opened;
    });
  }

  /** The worker keeps the process alive only while a caller awaits it (a CLI must not exit mid-query). */
  private refWhileBusy(link: WorkerLink): void {
    const channel = link.worker.channel as { ref(): void; unref(): void } | null | undefined;
    if (link.pending.size) {
      link.worker.ref();
      channel?.ref();
    } else {
      link.worker.unref();
      channel?.unref();
    }
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
      const ready = (this.beforeIdleStop ? await this.beforeIdleStop() : true) && (await this.commitIndex());
      if (!ready || this.activity !== activity || this.hasUnsavedChanges || link !== this.link || link.pending.size || this.stopped) return;
      this.link = undefined;
      // Nothing is outstanding on it and nothing unsaved: it can simply go.
      void endWorker(link.worker);
    } catch {
      /* the owner's save failed: it reports that itself; the worker stays, and so does every record */
    } finally {
      this.idleStopping = false;
      if (this.link && !this.link.pending.size) this.armIdleStop();
    }
  }
}

/** The feed over the engine's database, which lives in the store's worker process. */
export function storeFeed(store: SpendStore): RecordFeed {
  return {
    after: (cursor, limit) => store.run('exportFeed', 'after', cursor, limit),
    latest: () => store.run('exportFeed', 'latest'),
    seqOf: (id, near) => store.run('exportFeed', 'seqOf', id, near),
  };
}

function startWorker(): ChildProcess {
  // Its own flags, never the host's (an inspector port or a profiler would clash); in VS Code the
  // host is Electron, which runs a script as plain Node with ELECTRON_RUN_AS_NODE.
  const options = {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'] as Array<'ignore' | 'inherit' | 'ipc'>,
    serialization: 'advanced' as const,
    env: process.versions.electron ? { ...process.env, ELECTRON_RUN_AS_NODE: '1' } : process.env,
  };
  const { file, execArgv } = workerScript(__dirname, 'storeWorker', 'storeWorker.ts');
  return fork(file, [], { ...options, execArgv });
}

/** Ends a worker process: it exits when its channel closes; killed if it has not within a few seconds. */
function endWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Kept alive until it has gone, so a closing CLI waits for its database to close.
    worker.ref();
    const killer = setTimeout(() => worker.kill('SIGKILL'), 5_000);
    killer.unref();
    worker.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    if (worker.connected) worker.disconnect();
    else worker.kill('SIGKILL');
  });
}
