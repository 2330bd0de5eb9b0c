/**
 * A file-backed store lets its database worker go when idle and starts a new one at the next call.
 * Nothing recorded may be lost across that, and a query still sees every insert sent before it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { SpendQuery } from '../../src/engine/queries';
import { readJournalRecords, Recorder, SpendStore } from '../../src/engine/store';
import { makeRecord } from '../support/records';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-idle-'));

/** Polls until `check` holds; fails with `what` after a generous while (never a timing assertion). */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

/** What `burnrate report` reads while an engine runs: the database file plus its journal. */
async function readLikeReport(file: string): Promise<string[]> {
  const journalled = readJournalRecords(file);
  const db = await SpendDatabase.open(file, { create: journalled.length > 0 });
  db.insert(journalled);
  const ids = new SpendQuery(db).page({ pageSize: 100_000 }).map((r) => r.id);
  db.close();
  return ids.sort();
}

async function openRecorded(file: string, idleStopMs = 20): Promise<{ store: SpendStore; recorder: Recorder }> {
  const store = await SpendStore.open(file, { create: true, idleStopMs });
  const recorder = await Recorder.open(store, { saveIntervalMs: 0 });
  return { store, recorder };
}

const ids = (recs: readonly RequestRecord[]) => recs.map((r) => r.id).sort();

test('an idle file-backed store stops its worker with everything saved, and the next insert and query start a new one', async () => {
  const file = path.join(tmp(), 'spend.sqlite');
  const { store, recorder } = await openRecorded(file);
  const first = [makeRecord({ costNanos: 3 }), makeRecord({ costNanos: 5 })];
  for (const r of first) recorder.record(r);
  await until('the worker stops', () => !store.workerRunning);
  assert.equal(store.workerStarts, 1);
  // Asleep: the file alone holds every record, as `burnrate report` reads it.
  assert.deepEqual(readJournalRecords(file), []);
  const onDisk = await SpendDatabase.open(file, { create: false });
  assert.equal(onDisk.count(), 2);
  onDisk.close();

  const second = [makeRecord({ costNanos: 7 }), makeRecord({ costNanos: 11 })];
  for (const r of second) recorder.record(r);
  await recorder.flush();
  assert.equal(store.workerStarts, 2);
  assert.equal(await store.count(), 4);
  assert.equal((await store.report({})).total.costUsd, 26e-9);
  assert.deepEqual(await readLikeReport(file), ids([...first, ...second]));

  // A query alone wakes it too, and sees what was saved.
  await until('the worker stops again', () => !store.workerRunning);
  assert.equal((await store.run('spend', 'report', {})).total.requests, 4);
  assert.equal(store.workerStarts, 3);
  await recorder.close();
  await store.close();
});

test('a query sent to a sleeping store sees the inserts sent before it, without waiting for them', async () => {
  const file = path.join(tmp(), 'spend.sqlite');
  const store = await SpendStore.open(file, { create: true, idleStopMs: 20 });
  await store.insert([makeRecord()]);
  await store.save();
  await until('the worker stops', () => !store.workerRunning);
  const recs = [makeRecord(), makeRecord(), makeRecord()];
  const inserted = store.insert(recs);
  // Not awaited: the count goes out right behind the insert, to the same new worker.
  assert.equal(await store.count(), 4);
  await inserted;
  await store.close();
});

test('records arriving while the store saves before a stop keep the worker, and none is lost', async () => {
  const file = path.join(tmp(), 'spend.sqlite');
  const { store, recorder } = await openRecorded(file);
  const all: RequestRecord[] = [makeRecord()];
  recorder.record(all[0]);
  // Records (and a query) land right in the middle of each of the next stop attempts.
  const saveBeforeStop = store.beforeIdleStop!;
  let attempts = 0;
  let queried: Promise<number> | undefined;
  store.beforeIdleStop = () => {
    attempts++;
    const saved = saveBeforeStop();
    if (attempts <= 3) {
      const rec = makeRecord({ costNanos: attempts });
      all.push(rec);
      recorder.record(rec);
    }
    if (attempts === 4) queried = store.count();
    return saved;
  };
  await until('the worker stops', () => !store.workerRunning);
  assert.equal(attempts, 5, 'each attempt with a record or query arriving during its save was abandoned');
  assert.equal(await queried, 4);
  assert.equal(store.workerStarts, 1, 'abandoned stops leave the same worker running');
  assert.deepEqual(await readLikeReport(file), ids(all));
  await recorder.close();
  await store.close();
  const db = await SpendDatabase.open(file, { create: false });
  assert.equal(db.count(), 4);
  db.close();
});

test('deletions by retention are saved before the worker stops', async () => {
  const file = path.join(tmp(), 'spend.sqlite');
  const { store, recorder } = await openRecorded(file);
  const old = makeRecord({ startedAt: Date.now() - 500 * 86_400_000 });
  const recent = makeRecord();
  recorder.record(old);
  recorder.record(recent);
  await until('the worker stops', () => !store.workerRunning);
  assert.equal((await store.deleteBefore(Date.now() - 400 * 86_400_000)).deleted, 1);
  await until('the worker stops after the deletion', () => !store.workerRunning);
  assert.deepEqual(await readLikeReport(file), [recent.id]);
  await recorder.close();
  await store.close();
});

test('an in-memory store keeps its worker: it would have nothing to reopen', async () => {
  const store = await SpendStore.open(undefined, { create: true, idleStopMs: 1 });
  await store.insert([makeRecord()]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(store.workerRunning, true);
  assert.equal(await store.count(), 1);
  await store.close();
});

test('a store whose file became unreadable while asleep fails the calls with why, and recovers when it is readable again', async () => {
  const file = path.join(tmp(), 'spend.sqlite');
  const { store, recorder } = await openRecorded(file);
  recorder.record(makeRecord());
  await until('the worker stops', () => !store.workerRunning);
  const good = fs.readFileSync(file);
  fs.writeFileSync(file, 'not a database any more');
  await assert.rejects(store.count(), /not a readable Burn Rate database/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'not a database any more', 'left untouched');
  fs.writeFileSync(file, good);
  assert.equal(await store.count(), 1);
  await recorder.close();
  await store.close();
});
