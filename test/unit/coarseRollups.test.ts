/**
 * Reports over months read month_rollup for the whole months of their range and daily_rollup or
 * daily_totals for the days around them: the figures are the records' own, whatever the range's
 * edges, after a reprice, and from an index saved before these tables existed. Local months and
 * days, in a time zone behind UTC.
 */
process.env.TZ = 'America/New_York';

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import initSqlJs from 'sql.js';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { applyReprice } from '../../src/engine/pricing';
import { SpendQuery, type GroupBy } from '../../src/engine/queries';
import { runCli } from '../support/cliProcess';
import { makeRecord } from '../support/records';
import { referenceReport } from '../support/spendReference';

const at = (y: number, m: number, d: number, h = 0) => new Date(y, m - 1, d, h).getTime();

/** Four local months and a bit, across a year's end: varied tags, some at the first and last hours of a month. */
function history(): RequestRecord[] {
  const records: RequestRecord[] = [];
  const models = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'];
  for (let i = 0; i < 400; i++) {
    const startedAt = at(2025, 11, 10) + Math.floor((i * (at(2026, 2, 20) - at(2025, 11, 10))) / 400) + (i % 7) * 3_600_000;
    records.push(
      makeRecord({
        startedAt,
        provider: i % 5 ? 'openai' : 'anthropic',
        model: models[i % 3],
        feature: i % 4 ? `feature-${i % 4}` : null,
        workspace: ['api', 'web', null][i % 3],
        client: i % 2 ? 'claude-code' : null,
        session: i % 6 ? `session-${i % 9}` : null,
        user: i % 3 ? 'ana' : null,
        costNanos: 1_000 + ((i * 7919) % 50_000),
        inputTokens: 10 + (i % 97),
        cacheReadTokens: i % 5,
        outputTokens: i % 13,
        reasoningTokens: i % 3,
        costStatus: i % 11 ? 'exact' : 'unpriced',
      }),
    );
  }
  // Midnight of a month's first day and the last millisecond of a month, local time.
  records.push(makeRecord({ startedAt: at(2026, 1, 1), costNanos: 77 }), makeRecord({ startedAt: at(2025, 12, 1) - 1, costNanos: 88 }));
  return records;
}

const RANGES: Array<{ since?: number; until?: number }> = [
  {},
  { since: at(2025, 11, 15), until: at(2026, 2, 10) },
  { since: at(2025, 12, 1), until: at(2026, 1, 1) },
  { since: at(2025, 12, 1) },
  { until: at(2026, 1, 17) },
  { since: at(2026, 1, 5), until: at(2026, 1, 20) },
  { since: at(2025, 11, 30), until: at(2026, 2, 1) },
  { since: at(2025, 11, 12, 13), until: at(2026, 2, 3, 9) },
];
const BY: Array<GroupBy | undefined> = [undefined, 'provider', 'model', 'feature', 'workspace', 'client', 'day', 'session', 'user'];

function assertReportsMatch(db: SpendDatabase, records: readonly RequestRecord[]): void {
  const q = new SpendQuery(db);
  for (const range of RANGES)
    for (const by of BY) assert.deepEqual(q.report({ ...range, by }), referenceReport(records, { ...range, by }), `${JSON.stringify(range)} by ${by}`);
}

const FIGURES = 'requests, cost_nanos, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, unpriced_requests';
const SUMS = FIGURES.split(', ')
  .map((c) => `SUM(${c})`)
  .join(', ');

/** month_rollup's rows as daily_rollup's rows add up per local month, daily_totals' as they add up per day. */
function assertCoarseRollupsAreSumsOfDays(db: SpendDatabase): void {
  const key = 'provider, model, feature, workspace, client';
  const months = db.index.exec(`SELECT month, ${key}, ${FIGURES} FROM month_rollup ORDER BY 1, 2, 3, 4, 5, 6`)[0].values;
  const monthsOfDays = db.index.exec(`SELECT substr(day, 1, 7), ${key}, ${SUMS} FROM daily_rollup GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`)[0]
    .values;
  assert.deepEqual(months, monthsOfDays);
  assert.deepEqual(new Set(months.map((row) => row[0])), new Set(['2025-11', '2025-12', '2026-01', '2026-02']));
  const days = db.index.exec(`SELECT day, ${FIGURES} FROM daily_totals ORDER BY day`)[0].values;
  assert.deepEqual(days, db.index.exec(`SELECT day, ${SUMS} FROM daily_rollup GROUP BY day ORDER BY day`)[0].values);
}

test('reports over months, whole or cut at any day or hour, are the records’ own figures, by every grouping', async () => {
  const records = history();
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(records.slice(0, 250));
  db.insert(records.slice(250));
  assertCoarseRollupsAreSumsOfDays(db);
  assertReportsMatch(db, records);
  db.close();
});

test('a reprice moves the months and day totals with their days', async () => {
  const records = history();
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(records);
  const unpriced = records.filter((r) => r.costStatus === 'unpriced');
  applyReprice(
    db,
    unpriced.map((r, i) => ({
      id: r.id,
      startedAt: r.startedAt,
      provider: r.provider,
      model: r.model!,
      before: { costNanos: r.costNanos, costStatus: r.costStatus, priceSource: r.priceSource },
      after: { costNanos: 5_000 + i, costStatus: 'exact', priceSource: 'test' },
    })),
  );
  const after = records.map((r) => {
    const i = unpriced.indexOf(r);
    return i < 0 ? r : { ...r, costNanos: 5_000 + i, costStatus: 'exact' as const, priceSource: 'test' };
  });
  assertCoarseRollupsAreSumsOfDays(db);
  assertReportsMatch(db, after);
  db.close();
});

test('an index saved before the coarse rollups existed gets them at the next open, filled from its days; its owner saves them, an import too', async () => {
  const records = history();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-months-')), 'spend.sqlite');
  const db = await SpendDatabase.open(file, { create: true });
  db.insert(records);
  await db.save({ commit: true });
  db.close();
  const SQL = await initSqlJs();
  const older = new SQL.Database(fs.readFileSync(file));
  for (const table of ['month_rollup', 'daily_totals'])
    older.exec(`DROP TRIGGER ${table}_insert; DROP TRIGGER ${table}_update; DROP TRIGGER ${table}_delete; DROP TABLE ${table}`);
  fs.writeFileSync(file, older.export());
  older.close();

  // A reader fills it in memory and leaves the file alone; the owner fills it and writes it.
  const before = fs.readFileSync(file);
  const reader = await SpendDatabase.open(file, { create: false, readOnly: true });
  assertReportsMatch(reader, records);
  reader.close();
  assert.deepEqual(fs.readFileSync(file), before);
  // `burnrate import` opens it as its owner: the filled table is saved before the import's own transaction.
  const imported = runCli({ ...process.env, BURNRATE_HOME: path.dirname(file) }, 'import', '-', '--db', file);
  assert.equal(imported.status, 0, imported.stderr);
  const owner = await SpendDatabase.open(file, { create: false });
  assertCoarseRollupsAreSumsOfDays(owner);
  owner.close();
  const saved = new SQL.Database(fs.readFileSync(file));
  assert.equal(saved.exec("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'month_rollup%' OR name LIKE 'daily_totals%'")[0].values[0][0], 8);
  saved.close();
  const reopened = await SpendDatabase.open(file, { create: false, readOnly: true });
  assertReportsMatch(reopened, records);
  reopened.close();
});
