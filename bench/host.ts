/**
 * Hosts one server in its own process, driven by bench.ts over IPC: the fake provider, the bare
 * proxy or the real Burn Rate engine. Memory is measured here, in the process that serves.
 * bench.ts bundles this file with esbuild, so no TypeScript loader thread inflates the RSS.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { SpendDatabase } from '../src/engine/database';
import { Engine } from '../src/engine/engine';
import { priceLibraryLoaded } from '../src/engine/pricing';
import { readJournalRecords } from '../src/engine/store';
import type { startFakeProvider as StartFakeProvider } from '../test/support/fakeProvider';
import type { startBareProxy as StartBareProxy } from './bareProxy';
import type { HostReply, HostRequest } from './shared';

// Each role loads only its own code (the bundle holds all three): the Burn Rate process's memory
// must not include the fake's or the bare proxy's modules (the bare proxy loads all of undici).
const startFakeProvider: typeof StartFakeProvider = (...args) =>
  (require('../test/support/fakeProvider') as { startFakeProvider: typeof StartFakeProvider }).startFakeProvider(...args);
const startBareProxy: typeof StartBareProxy = (...args) => (require('./bareProxy') as { startBareProxy: typeof StartBareProxy }).startBareProxy(...args);

let closeServer: (() => Promise<void>) | undefined;
let engine: Engine | undefined;
let dbPath: string | undefined;
let records = 0;

/**
 * test/support/fakeProvider.ts (line ~582) treats a response with `res.socket === null` as
 * abandoned. But Node leaves res.socket null while the previous response on the same keep-alive
 * connection is still finishing, and the fake's JSON body is complete (content-length) one tick
 * before it calls res.end(): a client in another process sends its next request into that window
 * and the fake never answers it (a 30 s headers timeout every few dozen requests). Until the fake
 * is fixed, its handler is only called once the response owns the socket.
 */
async function startFakeWaitingForSocket(): Promise<Awaited<ReturnType<typeof startFakeProvider>>> {
  // The module object itself (an ES namespace import is read-only); the fake reads it live.
  const httpModule = require('node:http') as { createServer: unknown };
  const original = http.createServer;
  httpModule.createServer = (handler: http.RequestListener) =>
    original((req, res) => {
      if (res.socket) handler(req, res);
      else res.once('socket', () => handler(req, res));
    });
  try {
    return await startFakeProvider({ port: 0 });
  } finally {
    httpModule.createServer = original;
  }
}

function memory(): Pick<HostReply, 'rss' | 'heapUsed'> {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

async function handle(msg: HostRequest): Promise<Omit<HostReply, 'id' | 'ok'>> {
  switch (msg.op) {
    case 'start': {
      if (msg.role === 'fake') {
        const fake = await startFakeWaitingForSocket();
        // The fake keeps every call for tests to inspect; under load that is an ever-growing array.
        setInterval(() => fake.reset(), 1_000).unref();
        closeServer = () => fake.close();
        return { url: fake.url };
      }
      if (msg.role === 'bare') {
        const bare = await startBareProxy(msg.upstream!);
        closeServer = () => bare.close();
        return { url: bare.url };
      }
      dbPath = path.join(msg.dir!, 'spend.sqlite');
      engine = await Engine.start({
        port: 0,
        dbPath,
        dataDir: msg.dir!,
        upstreams: { openai: msg.upstream! },
        saveIntervalMs: msg.saveIntervalMs,
        storeIdleStopMs: msg.storeIdleStopMs,
      });
      engine.recorder.on('record', () => records++);
      return { url: engine.url };
    }
    case 'stats':
      return {
        ...memory(),
        records,
        storeWorkerRunning: engine?.store.workerRunning,
        storeWorkerPid: engine?.store.workerPid,
        priceLibraryLoaded: priceLibraryLoaded(),
      };
    case 'drain':
      await engine?.recorder.flush();
      return {};
    case 'settle': {
      if (!engine) return {};
      const t0 = performance.now();
      await engine.recorder.save();
      return { saveMs: performance.now() - t0, dbBytes: fs.statSync(dbPath!).size, ...memory(), records };
    }
    case 'close': {
      if (closeServer) await closeServer();
      if (!engine) return {};
      await engine.close();
      // Count what actually reached the file, from a fresh open, like `burnrate report` would.
      const db = await SpendDatabase.open(dbPath!, { create: false });
      const rows = db.count();
      db.close();
      return { records, rows, dropped: engine.recorder.droppedCount, journalLeft: readJournalRecords(dbPath!).length };
    }
  }
}

process.on('message', (msg: HostRequest) => {
  handle(msg).then(
    (r) =>
      process.send!({ id: msg.id, ok: true, ...r } satisfies HostReply, undefined, {}, () => {
        if (msg.op === 'close') process.exit(0);
      }),
    (e: Error) => process.send!({ id: msg.id, ok: false, error: e.stack ?? e.message } satisfies HostReply),
  );
});
process.on('disconnect', () => process.exit(0));
