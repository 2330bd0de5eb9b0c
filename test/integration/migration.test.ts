/**
 * Opening a single-file database (schema 4) splits it into the index and segments layout: the same
 * records, totals, rollups and export feed, the original kept byte for byte; a migration killed
 * mid-way resumes; newer files are refused untouched; readers never write.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { DatabaseFromNewerVersionError, SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { ExportFeedQuery } from '../../src/engine/export';
import { SpendQuery } from '../../src/engine/queries';
import { SpendStore } from '../../src/engine/store';
import { runCli } from '../support/cliProcess';
import { makeRecord } from '../support/records';
import { DAY, HOUR, rollupRows, spendHistory, writeSingleFile } from '../support/singleFile';
import { fileStamps, inTimeOrder, referenceReport, segmentFiles } from '../support/spendReference';

const NOW = Date.UTC(2026, 11, 6, 13, 45);
const TODAY = Date.UTC(2026, 11, 6);
/** 70 days of 45 records and today's every 7 minutes; retention deleted the first 10 days. */
const ALL = spendHistory(NOW, 70, 45);
const CUT = TODAY - 60 * DAY + 5 * HOUR;
const KEPT = ALL.filter((r) => r.startedAt >= CUT);

/** A single-file database in a folder of its own, the clock at NOW. */
async function oldDatabase(t: TestContext, records = ALL): Promise<string> {
  t.mock.method(Date, 'now', () => NOW);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-migrate-')), 'spend.sqlite');
  await writeSingleFile(file, records, { deletedBefore: CUT });
  return file;
}

const folder = (file: string) => fs.readdirSync(path.dirname(file)).sort();

/** Asserts what a user would check after a migration: records, reports whole-day and partial, rollups, the feed. */
function assertSameSpend(db: SpendDatabase, rollups: Record<string, unknown[][]>): void {
  const q = new SpendQuery(db);
  assert.equal(db.count(), KEPT.length);
  for (const by of ['day', 'model', 'session', 'user'] as const) assert.deepEqual(q.report({ by }), referenceReport(ALL, { by }), `all time by ${by}`);
  // A range's whole days come from the rollups (retention's deleted days included); its partial days from the records.
  assert.deepEqual(q.report({ since: 1, by: 'day' }), referenceReport(ALL, { by: 'day' }));
  const ranges = [
    { since: CUT - HOUR, until: TODAY - 59 * DAY + 30 * 60_000 },
    { since: TODAY - 2 * DAY + 7 * HOUR + 1, until: NOW - HOUR },
    { since: TODAY + HOUR + 1 },
  ];
  for (const range of ranges)
    for (const by of ['day', 'model'] as const) assert.deepEqual(q.report({ ...range, by }), referenceReport(KEPT, { ...range, by }), JSON.stringify(range));
  assert.deepEqual(rollupRows(db.index), rollups);
  assert.deepEqual([...q.records({ pageSize: 1_000 })], inTimeOrder(KEPT));
  // The feed keeps the original's rowids: an exporter's cursor still points where it did.
  const seqOf = new Map(ALL.map((r, i) => [r.id, i + 1]));
  const feed = new ExportFeedQuery(db);
  assert.deepEqual(
    feed.after(null, 100_000).map((s) => [s.seq, s.record.id]),
    KEPT.map((r) => [seqOf.get(r.id), r.id]),
  );
  const last = KEPT[KEPT.length - 1];
  assert.deepEqual(feed.latest(), { seq: seqOf.get(last.id), id: last.id });
  assert.equal(feed.seqOf(KEPT[100].id, seqOf.get(KEPT[100].id)!), seqOf.get(KEPT[100].id));
}

/** The rollup rows of the single file, read as it is. */
async function originalRollups(file: string): Promise<Record<string, unknown[][]>> {
  const db = await SpendDatabase.open(file, { create: false, readOnly: true });
  const rows = rollupRows(db.index);
  db.close();
  return rows;
}

test('a single-file database is split into segments with the same records, totals, rollups and feed; the original is kept', async (t) => {
  const file = await oldDatabase(t);
  const original = fs.readFileSync(file);
  const rollups = await originalRollups(file);
  const told: string[] = [];
  const db = await SpendDatabase.open(file, { create: false, progress: (m) => told.push(m) });
  assertSameSpend(db, rollups);
  db.close();
  assert.match(told[0], new RegExp(`splitting .* \\(${KEPT.length} records\\) into \\d+ time segment`));
  assert.match(told[told.length - 1], /migrated .*totals checked.* kept as spend\.sqlite\.single-file/);
  assert.deepEqual(fs.readFileSync(`${file}.single-file`), original);
  assert.deepEqual(folder(file), ['spend.sqlite', 'spend.sqlite.segments', 'spend.sqlite.single-file']);
  // Ended days are one file each, today is by quarter of an hour (records every 7 minutes until 13:45).
  const keys = segmentFiles(file).map((n) => n.slice(0, n.indexOf('.')));
  assert.equal(keys.filter((k) => !k.includes('T')).length, 60);
  assert.deepEqual(
    keys.filter((k) => k.includes('T')),
    Array.from({ length: 13 * 4 + 3 }, (_, q) => `2026-12-06T${String(Math.floor(q / 4)).padStart(2, '0')}-${String((q % 4) * 15).padStart(2, '0')}`),
  );

  const stamps = fileStamps(file);
  const again: string[] = [];
  const reopened = await SpendDatabase.open(file, { create: false, progress: (m) => again.push(m) });
  assertSameSpend(reopened, rollups);
  reopened.close();
  assert.deepEqual(again, [], 'migrated once');
  assert.deepEqual(fileStamps(file), stamps);
});

test('a migration that fails writing a segment leaves the original; the next open resumes, keeping what it wrote', async (t) => {
  const file = await oldDatabase(t);
  const original = fs.readFileSync(file);
  const rollups = await originalRollups(file);
  // The fortieth day's temp file cannot be made: the migration stops there.
  const blocker = path.join(`${file}.segments`, `${new Date(TODAY - 30 * DAY).toISOString().slice(0, 10)}.0.c.sqlite.tmp-${process.pid}`);
  fs.mkdirSync(blocker, { recursive: true });
  fs.writeFileSync(`${file}.migrating`, 'a stale half-written index');
  await assert.rejects(SpendDatabase.open(file, { create: false }));
  assert.deepEqual(fs.readFileSync(file), original);
  assert.ok(!fs.existsSync(`${file}.single-file`));
  const written = fileStamps(file);
  written.delete(path.basename(blocker));
  assert.equal(written.size, 30, 'the days before the failing one were written');
  fs.rmdirSync(blocker);

  const db = await SpendDatabase.open(file, { create: false });
  assertSameSpend(db, rollups);
  db.close();
  const after = fileStamps(file);
  for (const [name, stamp] of written) assert.equal(after.get(name), stamp, `${name} was kept, not rewritten`);
  assert.deepEqual(fs.readFileSync(`${file}.single-file`), original);
  assert.deepEqual(folder(file), ['spend.sqlite', 'spend.sqlite.segments', 'spend.sqlite.single-file']);
});

test('a migration killed between its two renames is completed at the next open', async (t) => {
  const file = await oldDatabase(t);
  const original = fs.readFileSync(file);
  const rollups = await originalRollups(file);
  (await SpendDatabase.open(file, { create: false })).close();
  // As if killed after the original was renamed aside, before the new index took its place.
  fs.renameSync(file, `${file}.migrating`);
  const db = await SpendDatabase.open(file, { create: false });
  assertSameSpend(db, rollups);
  db.close();
  assert.deepEqual(fs.readFileSync(`${file}.single-file`), original);
  assert.deepEqual(folder(file), ['spend.sqlite', 'spend.sqlite.segments', 'spend.sqlite.single-file']);
});

test('segment files a killed migration left damaged are rewritten, not trusted', async (t) => {
  const file = await oldDatabase(t);
  const rollups = await originalRollups(file);
  const done = await oldDatabase(t);
  (await SpendDatabase.open(done, { create: false })).close();
  const good = (day: number) => fs.readFileSync(path.join(`${done}.segments`, `${new Date(TODAY - day * DAY).toISOString().slice(0, 10)}.0.c.sqlite`));
  const put = (day: number, bytes: Uint8Array) =>
    fs.writeFileSync(path.join(`${file}.segments`, `${new Date(TODAY - day * DAY).toISOString().slice(0, 10)}.0.c.sqlite`), bytes);
  fs.mkdirSync(`${file}.segments`);
  put(3, Buffer.from('not sqlite'));
  put(4, good(4).subarray(0, 4096));
  // Flipped bytes in records: the same count and cost, another model.
  put(5, Buffer.from(good(5).toString('latin1').replaceAll('gpt-4o-mini', 'gpt-4o-maxi'), 'latin1'));
  // Another day's records under this day's name.
  put(6, good(7));
  const db = await SpendDatabase.open(file, { create: false });
  assertSameSpend(db, rollups);
  db.close();
});

test('a database from a newer Burn Rate is refused and left untouched', async (t) => {
  for (const version of [6, 99]) {
    const file = await oldDatabase(t);
    await writeSingleFile(file, ALL.slice(0, 50), { version });
    const bytes = fs.readFileSync(file);
    for (const readOnly of [false, true]) await assert.rejects(SpendDatabase.open(file, { create: true, readOnly }), DatabaseFromNewerVersionError);
    assert.deepEqual(fs.readFileSync(file), bytes);
    assert.deepEqual(folder(file), ['spend.sqlite']);
  }
});

test('a reader opens a single-file database as it is and writes nothing', async (t) => {
  const file = await oldDatabase(t);
  const before = fs.statSync(file);
  const bytes = fs.readFileSync(file);
  const db = await SpendDatabase.open(file, { create: false, readOnly: true, progress: () => assert.fail('no migration') });
  assertSameSpend(db, rollupRows(db.index));
  assert.deepEqual(rollupRows(db.index).daily_rollup.length > 0, true);
  db.insert([ALL[0], { ...ALL[1], id: 'journalled-1', startedAt: NOW }]);
  assert.equal(await db.save(), 0);
  db.close();
  assert.deepEqual(fs.readFileSync(file), bytes);
  assert.equal(fs.statSync(file).mtimeMs, before.mtimeMs);
  assert.deepEqual(folder(file), ['spend.sqlite']);
});

test('burnrate report prints the same totals from the single file and after its migration', async () => {
  const now = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-migrate-cli-'));
  const file = path.join(dir, 'spend.sqlite');
  const records: RequestRecord[] = spendHistory(now, 20, 30);
  await writeSingleFile(file, records, { deletedBefore: now - 15 * DAY });
  const env = { ...process.env, BURNRATE_HOME: dir };
  const reports = () =>
    [
      ['--by', 'day'],
      ['--by', 'model'],
      ['--since', new Date(now - 16 * DAY - 5 * HOUR).toISOString(), '--by', 'model'],
      ['--since', new Date(now - 20 * HOUR + 1).toISOString()],
    ].map((args) => {
      const r = runCli(env, 'report', '--db', file, '--json', ...args);
      assert.equal(r.status, 0, r.stderr);
      // The forecast moves with the clock (the part of today left): the totals are what must not.
      const { forecast: _forecast, ...totals } = JSON.parse(r.stdout) as { forecast: unknown };
      return totals;
    });
  const before = reports();
  assert.deepEqual(folder(file), ['spend.sqlite'], 'report does not migrate');
  assert.deepEqual(before[0], referenceReport(records, { since: 0, by: 'day' }));
  (await SpendDatabase.open(file, { create: false })).close();
  assert.deepEqual(reports(), before);
});

test('a server serves a single-file database as it is from its start, and splits it at its first save', async (t) => {
  const file = await oldDatabase(t);
  const original = fs.readFileSync(file);
  const told: string[] = [];
  const store = await SpendStore.open(file, { create: true, progress: (m) => told.push(m) });
  t.after(() => store.close());
  // Answered at once from the single file, which nothing has written yet.
  assert.equal(await store.count(), KEPT.length);
  assert.deepEqual(await store.report({ by: 'model' }), referenceReport(ALL, { by: 'model' }));
  assert.deepEqual(fs.readFileSync(file), original);
  assert.ok(!fs.existsSync(`${file}.segments`));
  // Single files are from before branches: a record on one is served from the file, and kept by the split.
  const late = makeRecord({ startedAt: NOW - 60_000, costNanos: 123_456, branch: 'feature/login-fix' });
  await store.insert([late]);
  assert.deepEqual(await store.report({ by: 'branch' }), referenceReport([...ALL, late], { by: 'branch' }));
  const saved = await store.save();
  assert.ok(saved.saved);
  assert.deepEqual(fs.readFileSync(`${file}.single-file`), original, 'the original is kept as it was');
  assert.match(told.join('\n'), /migrated .*totals checked/);
  assert.equal(await store.count(), KEPT.length + 1);
  assert.deepEqual(await store.report({ by: 'model' }), referenceReport([...ALL, late], { by: 'model' }));
  assert.deepEqual(await store.report({ by: 'branch' }), referenceReport([...ALL, late], { by: 'branch' }));
  await store.close();
  const reopened = await SpendDatabase.open(file, { create: false });
  assert.equal(reopened.count(), KEPT.length + 1);
  assert.deepEqual(new SpendQuery(reopened).report({ since: 1 }), referenceReport([...ALL, late], { since: 1 }));
  assert.deepEqual([...new SpendQuery(reopened).records({})], inTimeOrder([...KEPT, late]));
  reopened.close();
});
