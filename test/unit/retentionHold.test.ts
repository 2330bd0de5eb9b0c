/**
 * Retention waiting for the OTLP export, at the database: past retention, only records up to the
 * collector's acknowledged position go, unless past the hard bound; a segment holding a record not
 * acknowledged is never dropped whole. Time is faked through Date.now, where the store reads it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { ExportFeedQuery } from '../../src/engine/export';
import { SpendQuery } from '../../src/engine/queries';
import { makeRecord } from '../support/records';
import { DAY, HOUR, filesContent, inTimeOrder, keyAt } from '../support/spendReference';

const NOW = Date.UTC(2026, 11, 6, 15, 20);
const TODAY = Date.UTC(2026, 11, 6);

test('past retention, records the collector has not acknowledged are kept, those past the bound are not', async (t) => {
  t.mock.method(Date, 'now', () => NOW);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-hold-')), 'spend.sqlite');
  const all: RequestRecord[] = [];
  for (let d = 1; d <= 6; d++) for (let i = 0; i < 4; i++) all.push(makeRecord({ startedAt: TODAY - d * DAY + i * 5 * HOUR + 17 }));
  let db = await SpendDatabase.open(file, { create: true });
  // Newest days first, then the older ones, in two transactions: insertion order is not time order.
  db.insert(all.slice(0, 12));
  db.insert(all.slice(12).reverse());
  await db.save();
  const seqOf = new Map(new ExportFeedQuery(db).after(null, 1000).map((s) => [s.record.id, s.seq]));
  const before = TODAY - 2 * DAY;
  const hold = { exportedThrough: seqOf.get(all[20].id)!, hardBefore: TODAY - 5 * DAY + 12 * HOUR };
  const unacked = (r: RequestRecord) => seqOf.get(r.id)! > hold.exportedThrough;
  const goes = (r: RequestRecord) => r.startedAt < before && (!unacked(r) || r.startedAt < hold.hardBefore);
  const kept = all.filter((r) => !goes(r));
  const held = kept.filter((r) => r.startedAt < before);
  assert.ok(held.length > 0 && all.some((r) => goes(r) && unacked(r)), 'the case has records held and records dropped unexported');

  const outcome = db.deleteBefore(before, hold);
  assert.deepEqual(outcome, {
    deleted: all.length - kept.length,
    keptUnexported: held.length,
    oldestKeptAt: Math.min(...held.map((r) => r.startedAt)),
    newestKeptSeq: Math.max(...held.map((r) => seqOf.get(r.id)!)),
    droppedUnexported: all.filter((r) => goes(r) && unacked(r)).length,
  });
  await db.save();
  db.close();

  db = await SpendDatabase.open(file, { create: true });
  assert.deepEqual([...new SpendQuery(db).records({})], inTimeOrder(kept));
  // Days whose every record went are dropped whole; a day holding one kept record stays on disk.
  const days = new Set((await filesContent(file)).keys());
  for (const r of all.filter((x) => x.startedAt < before))
    assert.equal(
      days.has(keyAt(r.startedAt, 'day')),
      kept.some((k) => keyAt(k.startedAt, 'day') === keyAt(r.startedAt, 'day')),
    );
  // Once the collector has acknowledged everything, the next pass deletes the rest.
  const rest = db.deleteBefore(before, { exportedThrough: Math.max(...seqOf.values()), hardBefore: hold.hardBefore });
  assert.equal(rest.deleted, held.length);
  assert.equal(rest.keptUnexported, 0);
  db.close();
});
