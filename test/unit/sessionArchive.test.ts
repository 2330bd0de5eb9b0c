/**
 * Session rollups of ended months leave the index for a file per month: the index every start and
 * face reads stays the size of two months of sessions, and every answer stays what it was. The
 * reference is the same records in a database held in memory only, which never archives.
 * Time is faked through Date.now, which is where the store reads it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { applyReprice } from '../../src/engine/pricing';
import { DashboardQuery, SpendQuery } from '../../src/engine/queries';
import { makeRecord } from '../support/records';
import { referenceReport, segmentFiles } from '../support/spendReference';

/** December 6th, 2026, mid-afternoon local time: November stays in the index, October and before are archived. */
const NOW = new Date(2026, 11, 6, 15, 20).getTime();
const at = (month: number, day: number, hour = 12) => new Date(2026, month, day, hour).getTime();

function setup(t: TestContext): string {
  t.mock.method(Date, 'now', () => NOW);
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-archive-')), 'spend.sqlite');
}

/** Sessions in September to December, one of them across the night from September 30th to October 1st, some records without a session. */
function history(): RequestRecord[] {
  const out: RequestRecord[] = [];
  const days = [at(8, 3), at(8, 17), at(8, 30, 23), at(9, 1, 1), at(9, 12), at(9, 31), at(10, 2), at(10, 28), at(11, 1), at(11, 6, 9)];
  days.forEach((start, d) => {
    for (let i = 0; i < 12; i++) {
      const session = i % 5 === 4 ? null : d === 3 ? 'night-session' : `s-${d}-${i % 4}`;
      out.push(makeRecord({ startedAt: start + i * 60_000, session, costNanos: 1_000 + ((d * 31 + i * 7919) % 90_000), inputTokens: 10 + i, outputTokens: i }));
    }
  });
  return out.map((r) => (r.session === 's-2-0' ? { ...r, session: 'night-session' } : r));
}

async function memoryCopy(records: readonly RequestRecord[]): Promise<SpendDatabase> {
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(records);
  return db;
}

/** The months archived (their files) and the first day of session rows left in the index. */
function layout(file: string, db: SpendDatabase): { months: string[]; firstIndexedDay: unknown } {
  const months = segmentFiles(file)
    .filter((f) => f.startsWith('sessions-'))
    .map((f) => f.slice('sessions-'.length, 'sessions-'.length + 7));
  return { months, firstIndexedDay: db.index.exec('SELECT MIN(day) FROM session_rollup')[0].values[0][0] };
}

const dashboard = (db: SpendDatabase, since: number) => new DashboardQuery(db).data({ since, until: NOW }, undefined, NOW);

test('sessions of months before the previous one move to a file per month; reports and the dashboard answer as before', async (t) => {
  const file = setup(t);
  const records = history();
  const reference = await memoryCopy(records);
  let db = await SpendDatabase.open(file, { create: true });
  db.insert(records);
  await db.save();
  assert.deepEqual(layout(file, db), { months: ['2026-09', '2026-10'], firstIndexedDay: '2026-11-02' });
  db.close();

  for (const readOnly of [false, true]) {
    db = await SpendDatabase.open(file, { create: false, readOnly });
    for (const since of [undefined, at(8, 30, 0), at(9, 1, 0), at(10, 1, 0)]) {
      assert.deepEqual(new SpendQuery(db).report({ since, by: 'session' }), referenceReport(records, { since, by: 'session' }), `since ${since}`);
    }
    for (const since of [at(8, 1, 0), at(9, 20, 0), at(10, 20, 0)]) {
      const { tiles, topSessions } = dashboard(db, since);
      const expected = dashboard(reference, since);
      assert.deepEqual({ tiles, topSessions }, { tiles: expected.tiles, topSessions: expected.topSessions }, `dashboard since ${since}`);
    }
    db.close();
  }
  // The night session has rows in September's file and October's: counted once, its cost whole.
  const nightRecords = records.filter((r) => r.session === 'night-session');
  assert.deepEqual([...new Set(nightRecords.map((r) => new Date(r.startedAt).getMonth()))], [8, 9]);
  const night = dashboard(reference, at(8, 1, 0)).topSessions.find((s) => s.session === 'night-session');
  assert.equal(night?.requests, nightRecords.length);
  reference.close();
});

test('a record of an archived month counts at once, and joins its month’s file at the next save', async (t) => {
  const file = setup(t);
  const records = history();
  let db = await SpendDatabase.open(file, { create: true });
  db.insert(records);
  await db.save();
  const late = makeRecord({ startedAt: at(8, 17, 18), session: 's-1-0', costNanos: 777_777 });
  db.insert([late]);
  const all = [...records, late];
  assert.deepEqual(new SpendQuery(db).report({ by: 'session' }), referenceReport(all, { by: 'session' }));
  await db.save({ commit: true });
  assert.deepEqual(layout(file, db), { months: ['2026-09', '2026-10'], firstIndexedDay: '2026-11-02' });
  db.close();
  db = await SpendDatabase.open(file, { create: false });
  assert.deepEqual(new SpendQuery(db).report({ by: 'session' }), referenceReport(all, { by: 'session' }));
  db.close();
});

test('repricing records of an archived month moves their sessions’ cost; the month is archived again', async (t) => {
  const file = setup(t);
  const records = history();
  let db = await SpendDatabase.open(file, { create: true });
  db.insert(records);
  await db.save();
  const target = records.find((r) => r.session === 's-0-1')!;
  const after = { costNanos: target.costNanos + 5_000_000, costStatus: 'exact' as const, priceSource: 'test' };
  applyReprice(db, [
    { id: target.id, startedAt: target.startedAt, provider: target.provider, model: target.model!, before: { ...target, priceSource: null }, after },
  ]);
  const repriced = records.map((r) => (r.id === target.id ? { ...r, costNanos: after.costNanos } : r));
  assert.deepEqual(new SpendQuery(db).report({ by: 'session' }), referenceReport(repriced, { by: 'session' }));
  await db.save();
  assert.deepEqual(layout(file, db), { months: ['2026-09', '2026-10'], firstIndexedDay: '2026-11-02' });
  db.close();
  db = await SpendDatabase.open(file, { create: false });
  assert.deepEqual(new SpendQuery(db).report({ by: 'session' }), referenceReport(repriced, { by: 'session' }));
  db.close();
});

test('a reader whose month file the owner replaced meanwhile reads the newest version', async (t) => {
  const file = setup(t);
  const records = history();
  const owner = await SpendDatabase.open(file, { create: true });
  owner.insert(records);
  await owner.save();
  const reader = await SpendDatabase.open(file, { create: false, readOnly: true });
  const late = makeRecord({ startedAt: at(8, 3, 18), session: 'late-session', costNanos: 123_456 });
  owner.insert([late]);
  await owner.save({ commit: true });
  const sessions = new SpendQuery(reader).report({ since: at(8, 1, 0), until: at(9, 1, 0), by: 'session' }).groups.map((g) => g.key);
  assert.ok(sessions.includes('late-session'), sessions.join(', '));
  reader.close();
  owner.close();
});
