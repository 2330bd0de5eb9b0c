/**
 * The segmented store as a user sees it: records land in day and hour files, a save writes only
 * what changed, ended days are compacted, interrupted saves and stray files leave the last saved
 * state, retention drops whole files, the export feed follows insertion order, bulk imports are
 * all or nothing. Time is faked through Date.now, which is where the store reads it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { ExportFeedQuery } from '../../src/engine/export';
import { SpendQuery } from '../../src/engine/queries';
import { SpendStore } from '../../src/engine/store';
import initSqlJs from 'sql.js';
import { makeRecord } from '../support/records';
import { DAY, HOUR, fileStamps, filesContent, inTimeOrder, keyAt, keyOf, referenceReport, segmentFiles } from '../support/spendReference';

/** A Sunday afternoon, UTC: today's segments are hours, earlier days are days. */
const NOW = Date.UTC(2026, 11, 6, 15, 20);
const TODAY = Date.UTC(2026, 11, 6);
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'];

function setup(t: TestContext, now = NOW): { file: string; clock: { now: number } } {
  const clock = { now };
  t.mock.method(Date, 'now', () => clock.now);
  return { file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-seg-')), 'spend.sqlite'), clock };
}

/** A record with a varied model, cost and tokens (i picks them). */
function rec(startedAt: number, i: number, extra: Partial<RequestRecord> = {}): RequestRecord {
  return makeRecord({
    startedAt,
    model: MODELS[i % 3],
    costNanos: 1_000 + ((i * 7919) % 50_000),
    inputTokens: 10 + (i % 97),
    outputTokens: i % 13,
    costStatus: i % 11 ? 'exact' : 'unpriced',
    ...extra,
  });
}

/** `perDay` records on each of the `days` ended days before today, spread over the day's hours. */
function history(days: number, perDay: number, from = TODAY): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let d = 1; d <= days; d++) for (let i = 0; i < perDay; i++) out.push(rec(from - d * DAY + Math.floor((i * DAY) / perDay) + 17, d * perDay + i));
  return out;
}

const open = (file: string, readOnly = false) => SpendDatabase.open(file, { create: true, readOnly });
const reportAll = (db: SpendDatabase, by?: 'model' | 'day') => new SpendQuery(db).report({ by });

test('records of ended days go to day files and today’s to hour files; a reopen reports and pages them as put in', async (t) => {
  const { file } = setup(t);
  const today = [TODAY + 5 * 60_000, TODAY + 9 * HOUR + 1, TODAY + 14 * HOUR + 59 * 60_000, TODAY + 15 * HOUR + 60_000, NOW - 1].map((at, i) => rec(at, i));
  const past = history(4, 9);
  const all = [...past, ...today];
  let db = await open(file);
  // Inserted out of time order, in two transactions.
  db.insert([...all].reverse().slice(0, 20));
  db.insert([...all].reverse().slice(20));
  await db.save();
  const expectedKeys = new Map<string, RequestRecord[]>();
  for (const r of all) {
    const key = r.startedAt >= TODAY ? keyAt(r.startedAt, 'slice') : keyAt(r.startedAt, 'day');
    expectedKeys.set(key, [...(expectedKeys.get(key) ?? []), r]);
  }
  const content = await filesContent(file);
  assert.deepEqual([...content.keys()].sort(), [...expectedKeys.keys()].sort());
  for (const [key, rs] of expectedKeys) assert.deepEqual(content.get(key)!.ids, rs.map((r) => r.id).sort(), key);
  db.close();

  for (const readOnly of [false, true]) {
    db = await open(file, readOnly);
    const q = new SpendQuery(db);
    assert.equal(db.count(), all.length);
    assert.deepEqual(q.report({ by: 'model' }), referenceReport(all, { by: 'model' }));
    assert.deepEqual(q.report({ by: 'day' }), referenceReport(all, { by: 'day' }));
    // Partial ranges (never a midnight) scan the records, across day and hour segments.
    const ranges = [
      { since: TODAY - 2 * DAY + 22 * HOUR + 1, until: TODAY + 9 * HOUR + 30 * 60_000 },
      { since: TODAY - 3 * DAY - 1, until: TODAY - DAY + 1 },
      { since: TODAY + 15 * HOUR + 1 },
    ];
    for (const range of ranges) {
      for (const by of [undefined, 'model', 'day'] as const)
        assert.deepEqual(q.report({ ...range, by }), referenceReport(all, { ...range, by }), JSON.stringify({ range, by }));
      assert.deepEqual(
        [...q.records({ ...range, pageSize: 3 })],
        inTimeOrder(all.filter((r) => r.startedAt >= range.since && r.startedAt < (range.until ?? Infinity))),
      );
    }
    assert.deepEqual([...q.records({ pageSize: 7 })], inTimeOrder(all));
    db.close();
  }
});

test('a save after inserting into the live hour writes that hour’s file alone; the index follows once the saves since add up to its size', async (t) => {
  const { file } = setup(t);
  const db = await open(file);
  db.insert(history(60, 40));
  db.insert([rec(NOW - 60_000, 1)]);
  await db.save();
  const live = keyAt(NOW, 'slice');
  const indexStamp = () => `${fs.statSync(file).mtimeMs}/${fs.statSync(file).ino}`;
  const indexSize = fs.statSync(file).size;
  let sinceIndex = 0;
  for (let i = 10; ; i++) {
    const before = fileStamps(file);
    const indexBefore = indexStamp();
    db.insert([rec(NOW - 30_000 + i, i)]);
    const bytes = await db.save();
    const after = fileStamps(file);
    const added = [...after.keys()].filter((name) => !before.has(name));
    assert.deepEqual(added.map(keyOf), [live], 'one new file: the live hour’s next version');
    for (const [name, stamp] of before) if (after.has(name)) assert.equal(after.get(name), stamp, `${name} untouched`);
    const liveSize = fs.statSync(path.join(`${file}.segments`, added[0])).size;
    const historyBytes = [...after].filter(([n]) => keyOf(n) !== live).reduce((n, [name]) => n + fs.statSync(path.join(`${file}.segments`, name)).size, 0);
    assert.ok(liveSize * 20 < historyBytes, `saved ${liveSize} bytes of segments beside ${historyBytes} of history`);
    sinceIndex += liveSize;
    if (sinceIndex < indexSize) {
      assert.equal(bytes, liveSize, 'the index, which grows with the history, is not rewritten yet');
      assert.equal(indexStamp(), indexBefore);
      continue;
    }
    assert.equal(bytes, liveSize + fs.statSync(file).size, 'then the index is written too');
    assert.notEqual(indexStamp(), indexBefore);
    const keys = [...after.keys()].filter((name) => after.has(name) && fs.existsSync(path.join(`${file}.segments`, name))).map(keyOf);
    assert.deepEqual(segmentFiles(file).map(keyOf), [...new Set(keys)], 'and the versions it no longer names are gone');
    break;
  }
  db.close();
});

test('live-hour versions saved after the index are taken in at the next open: no record lost, rollups equal to the records', async (t) => {
  const { file } = setup(t);
  let db = await open(file);
  const past = history(30, 40);
  db.insert(past);
  await db.save();
  // A record a save until the live hour has a version on disk that the index does not name (the
  // index is written once the saves since add up to its size, which then leaves one version).
  const today: RequestRecord[] = [];
  const liveVersions = () => segmentFiles(file).filter((n) => keyOf(n) === keyAt(NOW, 'slice')).length;
  while (liveVersions() < 2) {
    assert.ok(today.length < 10, 'the live hour was saved without the index');
    today.push(rec(NOW - 50_000 + today.length, 100 + today.length));
    db.insert(today.slice(-1));
    await db.save();
  }
  db.close(); // as a kill would leave it: no last save
  for (const readOnly of [true, false]) {
    db = await open(file, readOnly);
    assert.equal(db.count(), past.length + today.length);
    assert.deepEqual(reportAll(db, 'model'), referenceReport([...past, ...today], { by: 'model' }));
    assert.deepEqual(new SpendQuery(db).report({ since: 1, by: 'model' }), referenceReport([...past, ...today], { since: 1, by: 'model' }));
    db.close();
  }
  assert.equal(segmentFiles(file).filter((n) => keyOf(n) === keyAt(NOW, 'slice')).length, 1, 'the owner kept the newest version only');
});

test('an ended day’s slice files become one day file at the next save; later records of that day join it', async (t) => {
  const { file, clock } = setup(t, Date.UTC(2026, 11, 6, 22, 40));
  const day = TODAY;
  const hours = [20 * HOUR + 10 * 60_000, 21 * HOUR + 30 * 60_000, 22 * HOUR + 5 * 60_000, 22 * HOUR + 14 * 60_000, 22 * HOUR + 39 * 60_000].map((o, i) =>
    rec(day + o, i),
  );
  let db = await open(file);
  db.insert(hours);
  await db.save();
  assert.deepEqual(segmentFiles(file).map(keyOf), ['2026-12-06T20-00', '2026-12-06T21-30', '2026-12-06T22-00', '2026-12-06T22-30']);

  clock.now = day + DAY + 5 * 60_000;
  const tomorrow = rec(day + DAY + 60_000, 4);
  db.insert([tomorrow]);
  await db.save();
  assert.deepEqual(segmentFiles(file).map(keyOf), ['2026-12-06', '2026-12-07T00-00']);
  const late = rec(day + 23 * HOUR + 59 * 60_000, 5);
  db.insert([late]);
  // Committed: the version it replaces is removed once an index names the new one.
  await db.save({ commit: true });
  assert.deepEqual(segmentFiles(file).map(keyOf), ['2026-12-06', '2026-12-07T00-00']);
  const all = [...hours, tomorrow, late];
  assert.deepEqual((await filesContent(file)).get('2026-12-06')!.ids, [...hours, late].map((r) => r.id).sort());
  db.close();

  db = await open(file);
  assert.equal(db.count(), all.length);
  assert.deepEqual([...new SpendQuery(db).records({ pageSize: 2 })], inTimeOrder(all));
  assert.deepEqual(new SpendQuery(db).report({ by: 'day' }), referenceReport(all, { by: 'day' }));
  // Compaction kept each record's place in insertion order.
  assert.deepEqual(
    new ExportFeedQuery(db).after(null, 100).map((s) => [s.seq, s.record.id]),
    all.map((r, i) => [i + 1, r.id]),
  );
  db.close();
});

test('stray segment and temp files are deleted by the owner at open, not by a reader', async (t) => {
  const { file } = setup(t);
  const all = [...history(3, 5), rec(NOW - 1, 1)];
  let db = await open(file);
  db.insert(all);
  await db.save();
  db.close();
  const named = segmentFiles(file);
  const dir = `${file}.segments`;
  // Copies of a real segment under names the index does not give: one of an interrupted save that
  // was writing the index too (`.c`, newer), one older than the version named; counted, they would
  // double records. And a temp file a killed write left.
  fs.copyFileSync(path.join(dir, named[0]), path.join(dir, `${keyOf(named[0])}.99.c.sqlite`));
  fs.copyFileSync(path.join(dir, named[1]), path.join(dir, `${keyOf(named[1])}.0.sqlite`));
  fs.writeFileSync(path.join(dir, `${named[1]}.tmp-4242`), 'half a file');
  const withStrays = segmentFiles(file);

  db = await open(file, true);
  assert.equal(db.count(), all.length);
  assert.deepEqual(reportAll(db, 'model'), referenceReport(all, { by: 'model' }));
  assert.deepEqual(new SpendQuery(db).report({ since: 1 }), referenceReport(all, { since: 1 }));
  db.close();
  assert.deepEqual(segmentFiles(file), withStrays);

  db = await open(file);
  assert.deepEqual(segmentFiles(file), named);
  assert.equal(db.count(), all.length);
  assert.deepEqual([...new SpendQuery(db).records({})], inTimeOrder(all));
  db.close();
});

test('a save interrupted before the index is written reopens to the previous save, rollups equal to records', async (t) => {
  const { file } = setup(t);
  const saved = [...history(3, 6), rec(NOW - 2 * HOUR, 1)];
  let db = await open(file);
  db.insert(saved);
  await db.save();
  const files = segmentFiles(file);
  const index = fs.readFileSync(file);
  db.insert([...history(5, 4, TODAY - 3 * DAY), rec(NOW - 1, 2), rec(TODAY - DAY + 1, 3)]);
  // The index's temp file cannot be made: the segments are written, the index is not.
  const blocker = `${file}.tmp-${process.pid}`;
  fs.mkdirSync(blocker);
  await assert.rejects(db.save());
  db.close();
  fs.rmdirSync(blocker);
  assert.deepEqual(fs.readFileSync(file), index);
  assert.ok(segmentFiles(file).length > files.length, 'the new segments were written');

  for (const readOnly of [true, false]) {
    db = await open(file, readOnly);
    const q = new SpendQuery(db);
    assert.equal(db.count(), saved.length);
    for (const by of ['model', 'day'] as const) {
      assert.deepEqual(q.report({ by }), referenceReport(saved, { by }), `rollups by ${by}`);
      assert.deepEqual(q.report({ by, since: 1 }), referenceReport(saved, { by, since: 1 }), `records by ${by}`);
    }
    assert.deepEqual([...q.records({})], inTimeOrder(saved));
    db.close();
  }
  assert.deepEqual(segmentFiles(file), files);
});

test('retention drops whole segment files, counts what it deleted, and keeps the daily totals', async (t) => {
  const { file } = setup(t);
  const all = [...history(9, 10), rec(NOW - 1, 1)];
  let db = await open(file);
  db.insert(all);
  await db.save();
  const rollupRows = () => db.index.exec('SELECT * FROM daily_rollup ORDER BY 1, 2, 3, 4, 5, 6')[0].values;
  const rowsBefore = rollupRows();
  const cut = TODAY - 5 * DAY + 6 * HOUR + 30 * 60_000;
  const kept = all.filter((r) => r.startedAt >= cut);
  assert.equal(db.deleteBefore(cut).deleted, all.length - kept.length);
  await db.save();
  const cutDay = keyAt(cut, 'day');
  const content = await filesContent(file);
  assert.deepEqual(
    [...content.keys()].filter((k) => k < cutDay),
    [],
    'whole days before the cut are gone from disk',
  );
  assert.deepEqual(
    content.get(cutDay)!.ids,
    kept
      .filter((r) => keyAt(r.startedAt, 'day') === cutDay)
      .map((r) => r.id)
      .sort(),
  );
  db.close();

  db = await open(file);
  assert.equal(db.count(), kept.length);
  assert.deepEqual(rollupRows(), rowsBefore);
  assert.deepEqual(reportAll(db, 'day'), referenceReport(all, { by: 'day' }), 'all-time totals keep the deleted days');
  // A range counts its whole days from the rollups (deleted days included); only its partial days are scanned.
  assert.deepEqual(new SpendQuery(db).report({ since: 1, by: 'model' }), referenceReport(all, { by: 'model' }));
  const partial = { since: cut - HOUR, until: cut + HOUR };
  assert.deepEqual(new SpendQuery(db).report({ ...partial, by: 'model' }), referenceReport(kept, { ...partial, by: 'model' }));
  assert.deepEqual([...new SpendQuery(db).records({})], inTimeOrder(kept));
  assert.deepEqual([...new SpendQuery(db).records({})], inTimeOrder(kept));
  assert.equal(db.deleteBefore(cut).deleted, 0);
  db.close();
});

test('the export feed reads records across segments in insertion order, before and after a reopen', async (t) => {
  const { file } = setup(t);
  const batches = [
    [rec(NOW - 1, 0), rec(TODAY - 3 * DAY + 5, 1), rec(TODAY + HOUR, 2), rec(TODAY - DAY + 7, 3)],
    [rec(TODAY - 3 * DAY + 9, 4), rec(NOW - 2, 5), rec(TODAY - 10 * DAY, 6)],
    [rec(TODAY + 3 * HOUR, 7), rec(TODAY - 3 * DAY + 1, 8)],
  ];
  const inserted = batches.flat();
  let db = await open(file);
  for (const b of batches) db.insert(b);
  const check = () => {
    const feed = new ExportFeedQuery(db);
    const read: Array<[number, string]> = [];
    for (let page = feed.after(null, 3); page.length; page = feed.after({ seq: page[page.length - 1].seq, id: page[page.length - 1].record.id }, 3)) {
      assert.ok(page.length <= 3);
      read.push(...page.map((s): [number, string] => [s.seq, s.record.id]));
    }
    assert.deepEqual(
      read,
      inserted.map((r, i) => [i + 1, r.id]),
    );
    assert.deepEqual(feed.latest(), { seq: inserted.length, id: inserted[inserted.length - 1].id });
    assert.deepEqual(feed.after(null, 100)[4].record, inserted[4]);
    inserted.forEach((r, i) => assert.equal(feed.seqOf(r.id, i + 1), i + 1, r.id));
    assert.equal(feed.seqOf('no-such-record', 1), undefined);
  };
  check();
  await db.save();
  db.close();
  db = await open(file, true);
  check();
  db.close();
  db = await open(file);
  const more = rec(TODAY - 3 * DAY + 2, 9);
  db.insert([more]);
  inserted.push(more);
  check();
  db.close();
});

test('a bulk insert spills to files as it goes; rollback leaves the database and its folder as they were saved', async (t) => {
  const { file } = setup(t);
  const saved = history(5, 4);
  const unsaved = [rec(NOW - 1, 1), rec(TODAY - 2 * DAY + 3, 2)];
  const db = await open(file);
  db.insert(saved);
  await db.save();
  db.insert(unsaved);
  // A rollback returns to what the files hold: changes waiting for a save must be saved first.
  assert.throws(() => db.bulk(), /saved first/);
  await db.save();
  const before = fileStamps(file);
  const index = fs.readFileSync(file);
  const big = (i: number) => rec(TODAY - 400 * DAY + i * 37 * 60_000, i, { error: 'x'.repeat(16_000) });
  const bulk = db.bulk();
  let n = 0;
  while (segmentFiles(file).length === before.size) {
    assert.ok(n < 20_000, 'spilled within 20,000 records of 16 kB');
    await bulk.insert(Array.from({ length: 500 }, () => big(n++)));
  }
  await bulk.rollback();
  await bulk.rollback();
  assert.deepEqual(fileStamps(file), before);
  assert.deepEqual(fs.readFileSync(file), index);
  const expected = [...saved, ...unsaved];
  assert.equal(db.count(), expected.length);
  assert.deepEqual(reportAll(db, 'day'), referenceReport(expected, { by: 'day' }));
  assert.deepEqual([...new SpendQuery(db).records({})], inTimeOrder(expected));
  await db.save();
  db.close();
  const reopened = await open(file);
  assert.equal(reopened.count(), expected.length);
  assert.deepEqual([...new SpendQuery(reopened).records({})], inTimeOrder(expected));
  reopened.close();
});

test('a committed bulk insert keeps every record once; the same records again add nothing', async (t) => {
  const { file } = setup(t);
  const saved = [...history(3, 4), rec(NOW - 1, 1)];
  const imported = history(40, 30, TODAY - 30 * DAY);
  let db = await open(file);
  db.insert(saved);
  await db.save();
  for (const expectAdded of [imported.length, 0]) {
    const bulk = db.bulk();
    await bulk.insert(imported.slice(0, 500));
    await bulk.insert(imported.slice(500));
    assert.equal(await bulk.commit(), expectAdded);
    assert.equal(await bulk.commit(), expectAdded);
    await bulk.rollback();
  }
  db.close();
  db = await open(file);
  const all = [...saved, ...imported];
  assert.equal(db.count(), all.length);
  assert.deepEqual(reportAll(db, 'day'), referenceReport(all, { by: 'day' }));
  assert.deepEqual(new SpendQuery(db).report({ since: 1, by: 'model' }), referenceReport(all, { by: 'model' }));
  assert.deepEqual(
    new ExportFeedQuery(db).after(null, 5).map((s) => s.record.id),
    saved.slice(0, 5).map((r) => r.id),
  );
  assert.deepEqual(new Set(segmentFiles(file).map(keyOf)).size, segmentFiles(file).length, 'one file per segment');
  db.close();
});

test('a reader whose segment file the owner replaced meanwhile reads the new version', async (t) => {
  const { file } = setup(t);
  const first = [...history(2, 3), rec(NOW - 2, 1)];
  const owner = await open(file);
  owner.insert(first);
  await owner.save();
  const reader = await open(file, true);
  const later = [rec(NOW - 1, 2), rec(TODAY + 15 * HOUR, 3)];
  owner.insert(later);
  // Committed, so the version the reader's index names is removed.
  await owner.save({ commit: true });
  // The owner's journal read before its save, as the CLI reads it: the records land in the newest version, once.
  reader.insert(later);
  const range = { since: TODAY + HOUR + 1 };
  assert.deepEqual(new SpendQuery(reader).report(range), referenceReport([...first, ...later], range));
  assert.deepEqual([...new SpendQuery(reader).records(range)], inTimeOrder([...first, ...later].filter((r) => r.startedAt >= range.since)));
  reader.close();
  owner.close();
});

test('a reader whose segments the owner compacted or dropped meanwhile reads what the owner has now', async (t) => {
  const { file, clock } = setup(t, TODAY + 23 * HOUR + 30 * 60_000);
  const records = [rec(TODAY - 3 * DAY + 1, 0), rec(TODAY + 22 * HOUR + 1, 1), rec(TODAY + 23 * HOUR + 1, 2), rec(TODAY + 23 * HOUR + 2, 3)];
  const owner = await open(file);
  owner.insert(records);
  await owner.save();
  const reader = await open(file, true);
  clock.now = TODAY + DAY + 60_000;
  owner.deleteBefore(TODAY - DAY);
  await owner.save();
  assert.deepEqual(segmentFiles(file).map(keyOf), [keyAt(TODAY, 'day')]);
  const kept = records.slice(1);
  const droppedHour = { since: TODAY - 3 * DAY + 1, until: TODAY - 3 * DAY + HOUR };
  assert.deepEqual(new SpendQuery(reader).report({ ...droppedHour, by: 'model' }), referenceReport([], { ...droppedHour, by: 'model' }));
  assert.deepEqual([...new SpendQuery(reader).records({ pageSize: 2 })], inTimeOrder(kept));
  reader.close();
  owner.close();
});

test('a store that lets its idle worker go, or closes, leaves an index naming everything it saved', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-seg-')), 'spend.sqlite');
  const store = await SpendStore.open(file, { create: true, idleStopMs: 300 });
  const now = Date.now();
  const live = keyAt(now, 'slice');
  const versionsOfLive = () => segmentFiles(file).filter((n) => keyOf(n) === live).length;
  await store.insert(history(30, 40, Math.floor(now / DAY) * DAY));
  await store.insert([rec(now - 2_000, 1)]);
  await store.save();
  for (const [i, end] of [
    [2, () => waitFor(() => !store.workerRunning)],
    [3, () => store.close()],
  ] as const) {
    await store.insert([rec(now - 1_000 + i, i)]);
    await store.save();
    assert.equal(versionsOfLive(), 2, 'a save of new records alone leaves the index as it was');
    await end();
    assert.equal(versionsOfLive(), 1, 'the index was written before the worker went');
  }
  const db = await SpendDatabase.open(file, { create: false });
  assert.equal(db.count(), 30 * 40 + 3);
  db.close();
});

async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(done(), 'in time');
}

test('an hour merged into its day and left on disk by a crash before its removal is not counted again', async (t) => {
  const { file, clock } = setup(t, TODAY + 22 * HOUR);
  const hours = [rec(TODAY + 21 * HOUR + 1, 1), rec(TODAY + 21 * HOUR + 2, 2)];
  let db = await open(file);
  db.insert([...history(20, 30), hours[0]]);
  await db.save();
  db.insert([hours[1]]);
  await db.save();
  const dir = `${file}.segments`;
  const hourFile = segmentFiles(file)
    .filter((n) => keyOf(n) === keyAt(hours[0].startedAt, 'slice'))
    .pop()!;
  assert.doesNotMatch(hourFile, /\.c\.sqlite$/, 'the hour was last saved without the index');
  const kept = fs.readFileSync(path.join(dir, hourFile));
  clock.now = TODAY + DAY + HOUR;
  await db.save();
  assert.ok(!fs.existsSync(path.join(dir, hourFile)), 'merged into its day');
  db.close();
  fs.writeFileSync(path.join(dir, hourFile), kept);
  const all = [...history(20, 30), ...hours];
  db = await open(file);
  assert.equal(db.count(), all.length);
  assert.deepEqual(reportAll(db, 'model'), referenceReport(all, { by: 'model' }));
  assert.deepEqual(new SpendQuery(db).report({ since: 1, until: TODAY + DAY - 1, by: 'day' }), referenceReport(all, { by: 'day' }));
  assert.ok(!fs.existsSync(path.join(dir, hourFile)), 'the left-over is removed');
  db.close();
});

test('a whole-hour segment of a version before slices keeps taking its hour’s records, and joins its day with the slices', async (t) => {
  const { file, clock } = setup(t, Date.UTC(2026, 11, 6, 20, 50));
  const first = rec(TODAY + 20 * HOUR + 10 * 60_000, 0);
  let db = await open(file);
  db.insert([first]);
  await db.save({ commit: true });
  db.close();
  // As an older version left it: the hour's records in '2026-12-06T20', the index naming that file.
  const dir = `${file}.segments`;
  const [written] = segmentFiles(file);
  fs.renameSync(path.join(dir, written), path.join(dir, written.replace('T20-00', 'T20')));
  const SQL = await initSqlJs();
  const index = new SQL.Database(fs.readFileSync(file));
  index.run("UPDATE segments SET key = '2026-12-06T20', end = start + ?, file = ?", [HOUR, written.replace('T20-00', 'T20')]);
  fs.writeFileSync(file, index.export());
  index.close();

  db = await open(file);
  const sameHour = rec(TODAY + 20 * HOUR + 50 * 60_000, 1);
  const nextHour = rec(TODAY + 21 * HOUR + 5 * 60_000, 2);
  db.insert([sameHour, nextHour]);
  await db.save({ commit: true });
  assert.deepEqual(segmentFiles(file).map(keyOf), ['2026-12-06T20', '2026-12-06T21-00']);
  assert.deepEqual((await filesContent(file)).get('2026-12-06T20')!.ids, [first, sameHour].map((r) => r.id).sort());
  clock.now = TODAY + DAY + 60_000;
  db.insert([rec(TODAY + DAY + 1, 3)]);
  await db.save({ commit: true });
  assert.deepEqual(segmentFiles(file).map(keyOf), ['2026-12-06', '2026-12-07T00-00']);
  assert.deepEqual((await filesContent(file)).get('2026-12-06')!.ids, [first, sameHour, nextHour].map((r) => r.id).sort());
  assert.deepEqual([...new SpendQuery(db).records({ since: TODAY, until: TODAY + DAY })], inTimeOrder([first, sameHour, nextHour]));
  db.close();
});
