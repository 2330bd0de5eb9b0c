import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DatabaseUnreadableError } from './db';
import type { SpendReport, GroupBy, RecordCursor } from './queries';
import type { QueryMethod, QueryMethodName, QueryModuleName } from './queryModules';
import type { RequestRecord } from './record';
import type { SaveResult, StoreReply, StoreRequest } from './storeProtocol';

export type { SaveResult } from './storeProtocol';

/** The store's worker stopped (crashed or ran out of memory); what was journalled is still on disk. */
export class StoreStoppedError extends Error {}

/**
 * The spend database, owned by a worker thread (storeWorker.ts) so sql.js never runs on the
 * proxy's event loop: inserts, snapshots and queries are messages, answered in the order sent.
 * A query therefore sees every insert sent before it.
 */
export class SpendStore {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stopped: Error | undefined;
  /**
   * Called before any request other than an insert is sent (the recorder sends its queued records
   * there), so a query sees every record recorded before it was asked.
   */
  beforeCall: (() => void) | undefined;

  private constructor(private readonly worker: Worker, readonly file: string | undefined) {
    worker.on('message', (reply: StoreReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      this.refWhileBusy();
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(reply.error.name === 'DatabaseUnreadableError' ? new DatabaseUnreadableError(reply.error.message) : new Error(reply.error.message));
    });
    const stop = (e: Error) => {
      this.stopped ??= new StoreStoppedError(`the database worker stopped: ${e.message}`);
      for (const w of this.pending.values()) w.reject(this.stopped);
      this.pending.clear();
    };
    worker.on('error', stop);
    worker.on('exit', (code) => stop(new Error(`exit code ${code}`)));
    worker.unref();
  }

  /**
   * Opens the database at `file` in a new worker (undefined: in memory only). A file that is not a
   * readable Burn Rate database rejects with DatabaseUnreadableError and is left untouched.
   */
  static async open(file: string | undefined, opts: { create: boolean }): Promise<SpendStore> {
    const store = new SpendStore(startWorker(), file);
    try {
      await store.call({ op: 'open', file, create: opts.create });
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
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
    return this.call({ op: 'save' }) as Promise<SaveResult>;
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
    if (!this.stopped) await this.call({ op: 'close' }).catch(() => undefined);
    this.stopped ??= new StoreStoppedError('the database is closed');
    await this.worker.terminate();
  }

  private call(request: StoreRequest): Promise<unknown> {
    if (request.op !== 'insert' && request.op !== 'insertLines') this.beforeCall?.();
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.refWhileBusy();
      this.worker.postMessage({ ...request, id });
    });
  }

  /** The worker keeps the process alive only while a caller awaits it (a CLI must not exit mid-query). */
  private refWhileBusy(): void {
    if (this.pending.size) this.worker.ref();
    else this.worker.unref();
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
