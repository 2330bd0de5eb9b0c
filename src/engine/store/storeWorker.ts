/**
 * The worker process that owns the sql.js database (started by SpendStore, talking over its IPC channel). sql.js runs synchronously (a snapshot of a big
 * database takes seconds), so none of it may run on the proxy's event loop: inserts, snapshots
 * and queries all happen here, one message at a time, in the order they were sent.
 */
import * as os from 'node:os';
import { SpendDatabase, type RequestRecord } from '../database';
import { repriceUnpricedModel } from '../pricing';
import { QUERY_MODULES, type QueryModuleName } from '../queries';
import type { SaveResult, StoreReply, StoreRequestMessage } from './storeProtocol';

let database: SpendDatabase | undefined;
const modules = new Map<string, Record<string, (...args: unknown[]) => unknown>>();

function open(): SpendDatabase {
  if (!database) throw new Error('the database is not open');
  return database;
}

async function handle(msg: StoreRequestMessage): Promise<unknown> {
  switch (msg.op) {
    case 'open':
      database = await SpendDatabase.open(msg.file, { create: msg.create, progress: tell, deferMigration: true });
      return { committed: open().indexCommitted };
    case 'insert':
      open().insert(msg.records);
      return undefined;
    case 'insertLines':
      open().insert(msg.lines.split('\n').map((line) => JSON.parse(line) as RequestRecord));
      return undefined;
    case 'save': {
      // A single-file database (an older Burn Rate's) was served as it is since the start; the first
      // save splits it into segments, while the proxy goes on serving (records wait in the journal).
      if (open().migrationPending) {
        database = await open().migrate();
        modules.clear();
      }
      const db = open();
      if (!db.file) return { saved: false, bytes: 0, ms: 0 } satisfies SaveResult;
      const t0 = performance.now();
      // The snapshot is taken now; writing it need not hold up the inserts and queries behind it.
      const later = db.save({ commit: msg.commit });
      return { later: later.then((bytes): SaveResult => ({ saved: true, bytes, ms: performance.now() - t0, committed: db.indexCommitted })) };
    }
    case 'query': {
      if (!Object.hasOwn(QUERY_MODULES, msg.module)) throw new Error(`no query module "${msg.module}"`);
      let mod = modules.get(msg.module);
      if (!mod)
        modules.set(msg.module, (mod = QUERY_MODULES[msg.module as QueryModuleName](open()) as unknown as Record<string, (...args: unknown[]) => unknown>));
      const method = mod[msg.method];
      if (typeof method !== 'function' || msg.method === 'constructor') throw new Error(`query module "${msg.module}" has no method "${msg.method}"`);
      return method.apply(mod, msg.args);
    }
    case 'count':
      return open().count();
    case 'prune':
      return open().deleteBefore(msg.before, msg.hold);
    case 'repriceModel':
      return repriceUnpricedModel(open(), msg.dataDir, msg.provider, msg.model);
    case 'close':
      database?.close();
      database = undefined;
      modules.clear();
      return undefined;
  }
}

// One message at a time, in order (opening loads sql.js asynchronously). Only a snapshot's file write
// runs beside the messages after it, and its reply comes when the file is in place.
let queue: Promise<void> = Promise.resolve();
process.on('message', (msg: StoreRequestMessage) => {
  queue = queue.then(async () => {
    try {
      const value = await handle(msg);
      if (value && typeof value === 'object' && 'later' in value) {
        (value.later as Promise<unknown>).then(
          (v) => reply(msg.id, v),
          (e: Error) => fail(msg.id, e),
        );
      } else reply(msg.id, value);
    } catch (e) {
      fail(msg.id, e as Error);
    }
  });
});

/** Tells the engine how a long open (a migration) goes; not an answer to any call. */
function tell(message: string): void {
  send({ id: 0, ok: true, value: { progress: message } } satisfies StoreReply);
}

function reply(id: number, value: unknown): void {
  send({ id, ok: true, value } satisfies StoreReply);
}

function fail(id: number, err: Error): void {
  send({ id, ok: false, error: { name: err.constructor?.name ?? 'Error', message: err.message } } satisfies StoreReply);
}

function send(message: StoreReply): void {
  // The engine may be gone (closed, or killed): nobody is left to answer.
  if (process.connected) process.send!(message);
}

// The engine closed the channel (done with the database, or it exited or was killed): go now.
// Everything worth keeping is in the file or the engine's journal; a snapshot still being written
// is abandoned before its rename, so it cannot replace a newer file.
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal signals the whole process group: the engine saves on SIGINT/SIGTERM and
// needs its worker for that, so the worker leaves only when the engine lets it go (above).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);

// Background work: a batch of inserts is milliseconds of CPU every few dozen milliseconds under
// load, and on a busy machine it must not delay the proxy's (or the editor's) next turn. Below-normal
// priority lets them go first; the worker catches up in between (records wait safely in the journal).
// Only ever lowered: an engine that already runs lower keeps its worker as low.
try {
  os.setPriority(Math.max(os.getPriority(), os.constants.priority.PRIORITY_BELOW_NORMAL));
} catch {
  /* not allowed here: it runs at normal priority */
}
