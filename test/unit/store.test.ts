import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { DatabaseUnreadableError, SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { applyReprice } from '../../src/engine/pricing';
import { parseSince, SpendQuery } from '../../src/engine/queries';
import { readJournalRecords, Recorder, SpendStore } from '../../src/engine/store';
import { makeRecord } from '../support/records';
import { singleFileOf } from '../support/singleFile';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-store-'));

/** An unpriced record given a price (as `burnrate reprice --apply` does). */
const repriced = (r: RequestRecord, costNanos: number): Parameters<typeof applyReprice>[1][number] => ({
  id: r.id,
  startedAt: r.startedAt,
  provider: r.provider,
  model: r.model!,
  before: { costNanos: r.costNanos, costStatus: r.costStatus, priceSource: r.priceSource },
  after: { costNanos, costStatus: 'exact', priceSource: 'test' },
});

test('report sums integer nano-dollars exactly and groups by tag, untagged as (none)', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  // 0.1 + 0.2 style amounts: float sums would drift, integer sums do not.
  db.insert([
    makeRecord({ costNanos: 100_000_000, feature: 'summarize', inputTokens: 10 }),
    makeRecord({ costNanos: 200_000_000, feature: 'summarize', cacheReadTokens: 5, inputTokens: 20 }),
    makeRecord({ costNanos: 0, feature: null, costStatus: 'unpriced', model: 'mystery' }),
  ]);
  const q = new SpendQuery(db);
  const r = q.report({ by: 'feature' });
  assert.equal(r.total.costUsd, 0.3);
  assert.equal(r.total.requests, 3);
  assert.equal(r.total.unpricedRequests, 1);
  assert.deepEqual(
    r.groups.map((g) => [g.key, g.costUsd, g.requests, g.inputTokens, g.cacheReadTokens]),
    [
      ['summarize', 0.3, 2, 30, 5],
      ['(none)', 0, 1, 100, 0],
    ],
  );
  assert.deepEqual(
    q.report({ by: 'model' }).groups.map((g) => g.key),
    ['gpt-4o-mini', 'mystery'],
  );
});

test('report --since filters by time; by day uses local calendar days in order', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  const now = new Date(2026, 10, 22, 15, 0, 0).getTime();
  db.insert([
    makeRecord({ startedAt: now - 3 * 86_400_000, costNanos: 1_000 }),
    makeRecord({ startedAt: now - 3_600_000, costNanos: 2_000 }),
    makeRecord({ startedAt: now, costNanos: 4_000 }),
  ]);
  const q = new SpendQuery(db);
  assert.equal(q.report({ since: now - 86_400_000 }).total.requests, 2);
  assert.deepEqual(
    q.report({ by: 'day' }).groups.map((g) => [g.key, g.costUsd]),
    [
      ['2026-11-19', 0.000001],
      ['2026-11-22', 0.000006],
    ],
  );
});

test('reports over whole days come from the daily rollup: the same figures as a scan, and days retention deleted stay', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  const day = (d: number, h = 12) => new Date(2026, 10, d, h, 0, 0).getTime();
  db.insert([
    makeRecord({ startedAt: day(1), costNanos: 7_000, model: 'gpt-4o', feature: 'chat', inputTokens: 40, outputTokens: 4 }),
    makeRecord({ startedAt: day(20, 9), costNanos: 1_000, feature: 'chat', reasoningTokens: 3, outputTokens: 9 }),
    makeRecord({ startedAt: day(20, 23), costNanos: 2_000, feature: null, cacheWriteTokens: 8, inputTokens: 50 }),
    makeRecord({ startedAt: day(21), costNanos: 0, model: 'mystery', costStatus: 'unpriced' }),
  ]);
  const q = new SpendQuery(db);
  const wholeDays = { since: new Date(2026, 10, 20).getTime(), until: new Date(2026, 10, 22).getTime() };
  // The same range one millisecond off midnight is answered by scanning the records.
  const scanned = { since: wholeDays.since, until: wholeDays.until - 1 };
  for (const by of ['model', 'feature', 'provider', 'workspace', 'day'] as const) {
    assert.deepEqual(q.report({ ...wholeDays, by }), q.report({ ...scanned, by }), `by ${by}`);
  }
  assert.deepEqual(q.report(wholeDays).total, q.report(scanned).total);
  assert.deepEqual(
    q
      .report({ ...wholeDays, by: 'feature' })
      .groups.map((g) => [g.key, g.costUsd, g.requests, g.outputTokens, g.reasoningTokens, g.cacheWriteTokens, g.unpricedRequests]),
    [
      ['(none)', 0.000002, 2, 10 + 10, 0, 8, 1],
      ['chat', 0.000001, 1, 9, 3, 0, 0],
    ],
  );
  // Retention deletes the 1st's record; all-time and monthly reports still count that day.
  assert.equal(db.deleteBefore(day(2)).deleted, 1);
  assert.equal(q.report({ since: 0 }).total.costUsd, 0.00001);
  assert.deepEqual(
    q.report({ since: new Date(2026, 10, 1).getTime(), by: 'model' }).groups.map((g) => [g.key, g.requests]),
    [
      ['gpt-4o', 1],
      ['gpt-4o-mini', 2],
      ['mystery', 1],
    ],
  );
  db.close();
});

test('parseSince understands relative spans, calendar words and ISO dates, and refuses the rest', () => {
  const now = new Date(2026, 10, 22, 15, 30); // a Sunday
  assert.equal(parseSince('24h', now), now.getTime() - 86_400_000);
  assert.equal(parseSince('7d', now), now.getTime() - 7 * 86_400_000);
  assert.equal(parseSince('today', now), new Date(2026, 10, 22).getTime());
  assert.equal(parseSince('week', now), new Date(2026, 10, 16).getTime());
  assert.equal(parseSince('month', now), new Date(2026, 10, 1).getTime());
  assert.equal(parseSince('2026-11-01', now), new Date(2026, 10, 1).getTime());
  assert.equal(parseSince('2026-11-01T10:00:00Z', now), Date.UTC(2026, 10, 1, 10));
  assert.throws(() => parseSince('yesterday-ish', now), /--since expects/);
});

test('a file that is not a readable database is refused and left byte-for-byte untouched', async () => {
  const dir = tmp();
  const file = path.join(dir, 'spend.sqlite');
  const garbage = Buffer.from('this is not sqlite at all, but it is somebody’s data');
  fs.writeFileSync(file, garbage);
  await assert.rejects(SpendDatabase.open(file, { create: true }), DatabaseUnreadableError);
  assert.deepEqual(fs.readFileSync(file), garbage);
  await assert.rejects(SpendDatabase.open(path.join(dir, 'missing.sqlite'), { create: false }), /no database at/);
});

test('records journalled by a process that died before saving are replayed, none twice', async () => {
  const dir = tmp();
  const file = path.join(dir, 'spend.sqlite');
  const store1 = await SpendStore.open(file, { create: true });
  const rec1 = await Recorder.open(store1, { saveIntervalMs: 0 });
  const first = makeRecord({ costNanos: 5 });
  rec1.record(first);
  await rec1.save();
  const unsaved = [makeRecord({ costNanos: 7 }), makeRecord({ costNanos: 11 })];
  for (const r of unsaved) rec1.record(r);
  // No save, no close: as if killed with SIGKILL. A torn last line is what a crash mid-write leaves.
  fs.appendFileSync(`${file}.journal`, '{"id":"torn');
  assert.equal(readJournalRecords(file).length, 2);
  await rec1.flush();
  await store1.close();

  const store2 = await SpendStore.open(file, { create: true });
  const rec2 = await Recorder.open(store2, { saveIntervalMs: 0 });
  assert.equal(await store2.count(), 3);
  assert.equal((await store2.report({})).total.costUsd, 23e-9);
  await rec2.close();
  await store2.close();
  // After a clean close the database file alone holds everything and the journal is empty.
  const db3 = await SpendDatabase.open(file, { create: false });
  assert.equal(db3.count(), 3);
  assert.equal(readJournalRecords(file).length, 0);
});

test('recorder emits each record once it is queryable, in order', async () => {
  const store = await SpendStore.open(undefined, { create: true });
  const recorder = await Recorder.open(store);
  const seen: string[] = [];
  const all = new Promise<void>((resolve) => recorder.on('record', (r: RequestRecord) => seen.push(r.id) === 3 && resolve()));
  const recs = [makeRecord(), makeRecord(), makeRecord()];
  recorder.record(recs[0]);
  await new Promise((r) => setImmediate(r));
  recorder.record(recs[1]);
  recorder.record(recs[2]);
  await all;
  assert.deepEqual(
    seen,
    recs.map((r) => r.id),
  );
  assert.equal(await store.count(), 3);
  await store.close();
});

test('the store runs query modules in its worker and pages through records in time order', async () => {
  const store = await SpendStore.open(undefined, { create: true });
  const t = Date.now();
  const recs = Array.from({ length: 25 }, (_, i) => makeRecord({ startedAt: t - i * 1000, costNanos: i }));
  await store.insert(recs);
  const paged: string[] = [];
  for await (const r of store.records({ pageSize: 7 })) paged.push(r.id);
  assert.deepEqual(
    paged,
    [...recs].sort((a, b) => a.startedAt - b.startedAt).map((r) => r.id),
  );
  assert.equal((await store.run('spend', 'report', { since: t - 4_500 })).total.requests, 5);
  assert.equal((await store.run('summary', 'base', t)).today.requests, recs.filter((r) => r.startedAt >= parseSince('today', new Date(t))).length);
  await assert.rejects(store.run('nope' as 'spend', 'report', {}), /no query module "nope"/);
  assert.equal((await store.deleteBefore(t - 19_500)).deleted, 5);
  assert.equal(await store.count(), 20);
  await store.close();
});

test('the database worker runs below normal priority, so its inserts never hold up the proxy', async () => {
  const ownPriority = os.getPriority();
  const store = await SpendStore.open(undefined, { create: true });
  await store.insert([makeRecord()]);
  const pid = store.workerPid!;
  assert.notEqual(pid, process.pid, 'the database lives in a process of its own');
  assert.equal(os.getPriority(pid), Math.max(ownPriority, os.constants.priority.PRIORITY_BELOW_NORMAL));
  assert.equal(os.getPriority(), ownPriority, "the engine's own priority is left alone");
  await store.close();
});

test('an unreadable database is refused by the store too, and left untouched', async () => {
  const file = path.join(tmp(), 'spend.sqlite');
  fs.writeFileSync(file, 'not a database');
  await assert.rejects(SpendStore.open(file, { create: true }), DatabaseUnreadableError);
  assert.equal(fs.readFileSync(file, 'utf8'), 'not a database');
});

test('report by day matches each record’s local calendar day, and its total the sum of its groups', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  const start = new Date(2026, 0, 1).getTime();
  // Pseudo-random instants over a year (DST changes included), some right at local midnight.
  const recs = Array.from({ length: 400 }, (_, i) =>
    makeRecord({
      startedAt: i % 10 ? start + ((i * 2_654_435_761) % (365 * 86_400_000)) : new Date(2026, i % 12, 1 + (i % 28)).getTime() - (i % 20 ? 0 : 1),
      costNanos: 1_000 + i,
    }),
  );
  db.insert(recs);
  const expected = new Map<string, number>();
  for (const r of recs) {
    const d = new Date(r.startedAt);
    const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    expected.set(day, (expected.get(day) ?? 0) + 1);
  }
  const report = new SpendQuery(db).report({ by: 'day' });
  assert.deepEqual(
    report.groups.map((g) => [g.key, g.requests]),
    [...expected].sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  assert.equal(report.total.requests, 400);
  assert.equal(
    Math.round(report.total.costUsd * 1e9),
    recs.reduce((s, r) => s + r.costNanos, 0),
  );
  assert.deepEqual(report.total, new SpendQuery(db).report({}).total);
});

test('a retention pass or reprice that changes nothing leaves a saved database saved: no snapshot of the whole file for it', async () => {
  const dir = tmp();
  const store = await SpendStore.open(path.join(dir, 'spend.sqlite'), { create: true });
  const t = Date.now();
  await store.insert([makeRecord({ startedAt: t - 60_000 }), makeRecord({ startedAt: t })]);
  assert.equal(store.hasUnsavedChanges, true);
  assert.equal((await store.save()).saved, true);
  assert.equal(store.hasUnsavedChanges, false);
  // Nothing older than a year, no unpriced calls of this model: nothing changes, nothing to save.
  assert.equal((await store.deleteBefore(t - 365 * 86_400_000)).deleted, 0);
  assert.equal((await store.repriceModel(dir, 'openai', 'gpt-4o-mini')).changed, 0);
  assert.equal(store.hasUnsavedChanges, false);
  // One record deleted: the file is behind until the next save.
  assert.equal((await store.deleteBefore(t - 30_000)).deleted, 1);
  assert.equal(store.hasUnsavedChanges, true);
  // With an insert not yet saved, a pass that deletes nothing does not hide it.
  await store.save();
  await store.insert([makeRecord({ startedAt: t })]);
  assert.equal((await store.deleteBefore(t - 365 * 86_400_000)).deleted, 0);
  assert.equal(store.hasUnsavedChanges, true);
  await store.close();
});

test('report --by session over whole days reads the session rollup: the same figures as a scan, untagged included, repriced too', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  const day = (d: number, h = 12) => new Date(2026, 10, d, h, 0, 0).getTime();
  const unpriced = makeRecord({ startedAt: day(21, 23), session: 'b', costNanos: 0, model: 'mystery', costStatus: 'unpriced', inputTokens: 7 });
  db.insert([
    makeRecord({ startedAt: day(20, 9), session: 'a', workspace: 'w1', costNanos: 1_000, inputTokens: 10, cacheReadTokens: 2, outputTokens: 3 }),
    makeRecord({ startedAt: day(20, 10), session: 'a', workspace: 'w2', costNanos: 2_000, cacheWriteTokens: 5, reasoningTokens: 1 }),
    unpriced,
    makeRecord({ startedAt: day(21, 8), session: null, costNanos: 4_000, outputTokens: 11 }),
    makeRecord({ startedAt: day(21, 9), session: '', costNanos: 8_000, inputTokens: 1 }),
  ]);
  const q = new SpendQuery(db);
  const wholeDays = { since: new Date(2026, 10, 20).getTime(), until: new Date(2026, 10, 22).getTime(), by: 'session' as const };
  const scanned = { ...wholeDays, until: wholeDays.until - 1 };
  assert.deepEqual(q.report(wholeDays), q.report(scanned));
  assert.deepEqual(
    q
      .report(wholeDays)
      .groups.map((g) => [
        g.key,
        g.costUsd,
        g.requests,
        g.inputTokens,
        g.cacheReadTokens,
        g.cacheWriteTokens,
        g.outputTokens,
        g.reasoningTokens,
        g.unpricedRequests,
      ]),
    [
      ['(none)', 0.000012, 2, 101, 0, 0, 21, 0, 0],
      ['a', 0.000003, 2, 110, 2, 5, 13, 1, 0],
      ['b', 0, 1, 7, 0, 0, 10, 0, 1],
    ],
  );
  // The unpriced call gets a price: the session rollup moves with it.
  applyReprice(db, [repriced(unpriced, 5_000)]);
  assert.deepEqual(q.report(wholeDays), q.report(scanned));
  assert.deepEqual(
    q.report(wholeDays).groups.find((g) => g.key === 'b'),
    {
      key: 'b',
      costUsd: 0.000005,
      requests: 1,
      inputTokens: 7,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 10,
      reasoningTokens: 0,
      unpricedRequests: 0,
    },
  );
  // Retention deletes those days' records: the whole-day report by session still has them, as by any other key.
  const before = q.report(wholeDays);
  assert.equal(db.deleteBefore(new Date(2026, 10, 22).getTime()).deleted, 5);
  assert.deepEqual(q.report(wholeDays), before);
  db.close();
});

test('a schema-3 database gains the session rollup’s token columns, filled from its records', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  const t = new Date(2026, 10, 20, 12).getTime();
  db.insert([
    makeRecord({ startedAt: t, session: 'a', user: 'dev', inputTokens: 10, outputTokens: 3, cacheReadTokens: 1 }),
    makeRecord({ startedAt: t + 1, session: 'a', user: 'dev', costStatus: 'unpriced', reasoningTokens: 4 }),
  ]);
  const live = db.index.exec('SELECT * FROM session_rollup')[0];
  // Schema 3: one file with the records, session_rollup without the token columns, the reprice trigger of then.
  const single = await singleFileOf(db);
  single.exec(`DROP TRIGGER requests_rollup_repriced; DROP TABLE user_rollup;
    CREATE TABLE s3 (day TEXT NOT NULL, session TEXT NOT NULL, workspace TEXT NOT NULL, requests INTEGER NOT NULL, cost_nanos INTEGER NOT NULL,
      tokens INTEGER NOT NULL, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, PRIMARY KEY (day, session, workspace)) WITHOUT ROWID;
    INSERT INTO s3 SELECT day, session, workspace, requests, cost_nanos, tokens, first_at, last_at FROM session_rollup;
    DROP TABLE session_rollup; ALTER TABLE s3 RENAME TO session_rollup;
    PRAGMA user_version = 3;`);
  const file = path.join(tmp(), 'v3.sqlite');
  const bytes = single.export();
  single.close();
  fs.writeFileSync(file, bytes);
  const byName = (r: typeof live) => Object.fromEntries(r.columns.map((c, i) => [c, r.values[0][i]]));
  // A reader beside the owner reads it as it is, and leaves the file alone.
  const asItIs = await SpendDatabase.open(file, { create: false, readOnly: true });
  assert.deepEqual(byName(asItIs.index.exec('SELECT * FROM session_rollup')[0]), byName(live));
  asItIs.close();
  assert.deepEqual(fs.readFileSync(file), Buffer.from(bytes));
  const upgraded = await SpendDatabase.open(file, { create: false });
  assert.equal(upgraded.index.exec('PRAGMA user_version')[0].values[0][0], 5);
  assert.equal(upgraded.count(), 2);
  assert.deepEqual(fs.readFileSync(`${file}.single-file`), Buffer.from(bytes), 'the single file is kept aside as it was');
  const after = upgraded.index.exec('SELECT * FROM session_rollup')[0];
  assert.deepEqual(byName(after), byName(live));
  assert.deepEqual(byName(after).unpriced_requests, 1);
  // The user rollup is made from the records.
  assert.deepEqual(upgraded.index.exec('SELECT user, requests FROM user_rollup')[0]?.values, [['dev', 2]]);
  // New records keep adding to the migrated table.
  upgraded.insert([makeRecord({ startedAt: t + 2, session: 'a', inputTokens: 100 })]);
  assert.equal(byName(upgraded.index.exec('SELECT * FROM session_rollup')[0]).input_tokens, 10 + 100 + 100);
  upgraded.close();
  db.close();
});

test('paging in time order keeps records that share a start time together across page boundaries', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  const t = Date.now();
  // 3 records at each of 7 instants: pages of 2 split every instant.
  const recs = Array.from({ length: 21 }, (_, i) => makeRecord({ startedAt: t - Math.floor(i / 3) * 1000 }));
  db.insert(recs);
  const paged = [...new SpendQuery(db).records({ pageSize: 2 })].map((r) => r.id);
  const expected = [...recs].sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id)).map((r) => r.id);
  assert.deepEqual(paged, expected);
  db.close();
});

test('report --by user over whole days reads the user rollup: the same figures as a scan, after repricing and retention too', async () => {
  const db = await SpendDatabase.open(undefined, { create: true });
  const day = (d: number, h = 12) => new Date(2026, 10, d, h, 0, 0).getTime();
  const unpriced = makeRecord({ startedAt: day(21, 23), user: 'bo', costNanos: 0, costStatus: 'unpriced', cacheWriteTokens: 4 });
  db.insert([
    makeRecord({ startedAt: day(20, 9), user: 'ana', costNanos: 1_000, inputTokens: 10, cacheReadTokens: 2 }),
    makeRecord({ startedAt: day(21, 10), user: 'ana', costNanos: 2_000, reasoningTokens: 1 }),
    unpriced,
    makeRecord({ startedAt: day(21, 8), user: null, costNanos: 4_000 }),
  ]);
  const q = new SpendQuery(db);
  const wholeDays = { since: new Date(2026, 10, 20).getTime(), until: new Date(2026, 10, 22).getTime(), by: 'user' as const };
  const scanned = { ...wholeDays, until: wholeDays.until - 1 };
  assert.deepEqual(q.report(wholeDays), q.report(scanned));
  assert.deepEqual(
    q
      .report(wholeDays)
      .groups.map((g) => [g.key, g.costUsd, g.requests, g.inputTokens, g.cacheReadTokens, g.cacheWriteTokens, g.reasoningTokens, g.unpricedRequests]),
    [
      ['(none)', 0.000004, 1, 100, 0, 0, 0, 0],
      ['ana', 0.000003, 2, 110, 2, 0, 1, 0],
      ['bo', 0, 1, 100, 0, 4, 0, 1],
    ],
  );
  applyReprice(db, [repriced(unpriced, 6_000)]);
  assert.deepEqual(q.report(wholeDays), q.report(scanned));
  const before = q.report(wholeDays);
  assert.equal(db.deleteBefore(new Date(2026, 10, 22).getTime()).deleted, 4);
  assert.deepEqual(q.report(wholeDays), before);
  db.close();
});
