/**
 * A bulk insert that builds its new segments on builder threads (an import's way) keeps every
 * record once and adds them up as one thread does: the same reports, rollups, sequence numbers and
 * files; records of days the database already has stay on the inserting thread; a rollback leaves
 * the folder as saved.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import initSqlJs from 'sql.js';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { ExportFeedQuery } from '../../src/engine/export';
import { DashboardQuery, SpendQuery } from '../../src/engine/queries';
import { makeRecord } from '../support/records';
import { DAY, fileStamps, inTimeOrder, keyOf, referenceReport, segmentFiles } from '../support/spendReference';

const NOW = Date.UTC(2026, 11, 6, 15, 20);
const TODAY = Date.UTC(2026, 11, 6);
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'];

function setup(t: TestContext): string {
  t.mock.method(Date, 'now', () => NOW);
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-bulk-')), 'spend.sqlite');
}

/** `perDay` varied records on each of `days` days ending the day before `to`, in time order. */
function days(days: number, perDay: number, to = TODAY): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let d = days; d >= 1; d--)
    for (let i = 0; i < perDay; i++) {
      const n = d * perDay + i;
      out.push(
        makeRecord({
          startedAt: to - d * DAY + Math.floor((i * DAY) / perDay) + 17,
          model: MODELS[n % 3],
          costNanos: 1_000 + ((n * 7919) % 50_000),
          inputTokens: n % 29 ? 10 + (n % 97) : 40_000,
          outputTokens: n % 13,
          costStatus: n % 11 ? 'exact' : 'unpriced',
          status: n % 17 ? 200 : 429,
          session: `s-${n % 7}`,
          user: n % 5 ? 'ana' : null,
          branch: n % 3 ? 'main' : null,
          workspace: `/w/${n % 2}`,
        }),
      );
    }
  return out;
}

const open = (file: string) => SpendDatabase.open(file, { create: true });

async function bulkInsert(db: SpendDatabase, records: RequestRecord[], builders: number): Promise<{ added: number; threads: number }> {
  const bulk = db.bulk({ builders });
  for (let i = 0; i < records.length; i += 6_000) await bulk.insert(records.slice(i, i + 6_000));
  const threads = bulk.threads;
  return { added: await bulk.commit(), threads };
}

/** What a user can read of a database: its reports, dashboard breakdowns and the export feed's order. */
function readings(db: SpendDatabase) {
  const q = new SpendQuery(db);
  const dash = new DashboardQuery(db);
  return {
    count: db.count(),
    byDay: q.report({ by: 'day' }),
    byModel: q.report({ by: 'model' }),
    bySession: q.report({ since: TODAY - 40 * DAY, by: 'session' }),
    byUser: q.report({ since: TODAY - 40 * DAY, by: 'user' }),
    byBranch: q.report({ since: TODAY - 40 * DAY, by: 'branch' }),
    dashboard: dash.data({ since: TODAY - 40 * DAY, until: NOW }, undefined, NOW),
    records: [...q.records({})].map((r) => r.id),
  };
}

test('segments built on builder threads hold every record once, as one thread builds them', async (t) => {
  const saved = days(3, 40);
  // 30 new days, two of them already in the database; 150 records given twice.
  const imported = [...days(30, 400), ...days(2, 30)];
  const twice = imported.slice(3_000, 3_150);
  const input = [...imported.slice(0, 6_000), ...twice, ...imported.slice(6_000)];
  const results = [];
  for (const builders of [0, 2]) {
    const file = setup(t);
    let db = await open(file);
    db.insert(saved);
    await db.save();
    const { added, threads } = await bulkInsert(db, input, builders);
    assert.equal(added, imported.length, `builders ${builders}: each record added once`);
    assert.equal(threads, builders);
    db.close();
    db = await open(file);
    const all = [...saved, ...imported];
    const read = readings(db);
    assert.equal(read.count, all.length);
    assert.deepEqual(read.byDay, referenceReport(all, { by: 'day' }));
    assert.deepEqual(read.byModel, referenceReport(all, { by: 'model' }));
    assert.deepEqual(
      read.records,
      inTimeOrder(all).map((r) => r.id),
    );
    const seqs = new ExportFeedQuery(db).after(null, all.length + 1).map((s) => s.seq);
    assert.equal(new Set(seqs).size, all.length, 'every record its own sequence number');
    assert.equal(new Set(segmentFiles(file).map(keyOf)).size, segmentFiles(file).length, 'one file per segment');
    // The same records again add nothing, wherever they were built.
    assert.equal((await bulkInsert(db, input, builders)).added, 0);
    assert.equal(db.count(), all.length);
    db.close();
    results.push(read);
  }
  assert.deepEqual(results[1], results[0], 'threads or not, the same database to read');
});

test('a day a bulk built keeps its ids unique: a later insert of one of its records is skipped', async (t) => {
  const file = setup(t);
  const imported = days(6, 1_000);
  let db = await open(file);
  await bulkInsert(db, imported, 2);
  db.close();
  const SQL = await initSqlJs();
  const dayFile = segmentFiles(file).find((f) => keyOf(f) === new Date(imported[0].startedAt).toISOString().slice(0, 10))!;
  const seg = new SQL.Database(fs.readFileSync(path.join(`${file}.segments`, dayFile)));
  const indexes = seg.exec("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")[0].values.flat();
  assert.ok(indexes.includes('requests_id'), `indexes: ${indexes.join(', ')}`);
  seg.close();
  db = await open(file);
  db.insert([imported[0], { ...imported[1], id: 'new-one' }]);
  assert.equal(db.count(), imported.length + 1);
  db.close();
});

test('a bulk rolled back after its builders wrote files leaves the folder and the database as saved', async (t) => {
  const file = setup(t);
  const saved = days(2, 20);
  const db = await open(file);
  db.insert(saved);
  await db.save();
  const before = fileStamps(file);
  const index = fs.readFileSync(file);
  const bulk = db.bulk({ builders: 2 });
  // Days of 16 kB records: each builder writes some out before the end.
  const big = days(40, 150, TODAY - 10 * DAY).map((r) => ({ ...r, error: 'x'.repeat(16_000) }));
  for (let i = 0; i < big.length; i += 6_000) await bulk.insert(big.slice(i, i + 6_000));
  for (let waited = 0; segmentFiles(file).length === before.size; waited += 50) {
    assert.ok(waited < 20_000, 'the builders wrote days out within 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  await bulk.rollback();
  await bulk.rollback();
  assert.deepEqual(fileStamps(file), before);
  assert.deepEqual(fs.readFileSync(file), index);
  assert.equal(db.count(), saved.length);
  assert.deepEqual(new SpendQuery(db).report({ by: 'day' }), referenceReport(saved, { by: 'day' }));
  db.close();
});
