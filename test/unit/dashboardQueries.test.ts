/**
 * Every figure the dashboard shows (src/engine/queries/dashboardQueries.ts), against records whose sums
 * are worked out by hand below. Prices are the published list prices per million tokens:
 * gpt-4o $2.50 in / $1.25 cached / $10 out; gpt-4o-mini $0.15 / $0.075 / $0.60;
 * claude-sonnet-4 $3 in / $0.30 cached read / $3.75 cache write / $15 out; claude-haiku-4-5 $1 / $0.10 / $5.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Database } from 'sql.js';
import { DashboardQuery, daysOf, type DashboardData, SpendQuery } from '../../src/engine/queries';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { baseRates, applyReprice } from '../../src/engine/pricing';
import { money } from '../../webview/format';
import { singleFileOf } from '../support/singleFile';
import { makeRecord } from '../support/records';

/** Local times: Wednesday 17 June 2026, 15:00; the week began Monday the 15th. */
const at = (day: number, hour = 12, minute = 0, month = 5) => new Date(2026, month, day, hour, minute).getTime();
const NOW = at(17, 15);
const WEEK = { since: at(15, 0), until: at(18, 0) };

let seq = 0;
function rec(r: Partial<RequestRecord>): RequestRecord {
  seq++;
  const id = `d-${String(seq).padStart(5, '0')}`;
  return makeRecord({
    id,
    startedAt: NOW,
    model: 'gpt-4o',
    inputTokens: 0,
    outputTokens: 0,
    costNanos: 0,
    latencyMs: 100,
    ttftMs: null,
    priceSource: 'test',
    ...r,
  });
}
/** $/MTok × tokens = micro-dollars; nanos are a thousand times that. */
const micro = (m: number) => Math.round(m * 1000);

async function dbWith(records: RequestRecord[]): Promise<SpendDatabase> {
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(records);
  return db;
}

test("the list prices the hand sums below use are the catalogue's", () => {
  assert.deepEqual(pick(baseRates('openai', 'gpt-4o')), [2.5, 1.25, 10]);
  assert.deepEqual(pick(baseRates('openai', 'gpt-4o-mini')), [0.15, 0.075, 0.6]);
  assert.deepEqual(pick(baseRates('anthropic', 'claude-sonnet-4-0')), [3, 0.3, 15]);
  assert.equal(baseRates('anthropic', 'claude-sonnet-4-0')?.cacheWritePerMTok, 3.75);
  assert.deepEqual(pick(baseRates('anthropic', 'claude-haiku-4-5')), [1, 0.1, 5]);
  function pick(r: ReturnType<typeof baseRates>) {
    return [r?.inputPerMTok, r?.cachedInputPerMTok, r?.outputPerMTok];
  }
});

// r1, r2: gpt-4o, 2,000 input of which 1,000 cached, 100 output: 1000×2.5 + 1000×1.25 + 100×10 = 4,750 µ$.
// r3: claude-sonnet-4, 500 in, 1,000 out: 500×3 + 1000×15 = 16,500 µ$.
// r4: gpt-4o-mini on 2 June: 100×0.15 + 10×0.6 = 21 µ$.  r5: 31 May, $1.  r6: a failed call today, $0.
const spendRecords = () => [
  rec({
    startedAt: at(17, 10),
    session: 's1',
    feature: 'summarize',
    workspace: 'alpha',
    inputTokens: 2000,
    cacheReadTokens: 1000,
    outputTokens: 100,
    costNanos: micro(4750),
  }),
  rec({
    startedAt: at(17, 10, 5),
    session: 's1',
    feature: 'summarize',
    workspace: 'alpha',
    inputTokens: 2000,
    cacheReadTokens: 1000,
    outputTokens: 100,
    costNanos: micro(4750),
  }),
  rec({
    startedAt: at(16, 9),
    provider: 'anthropic',
    model: 'claude-sonnet-4-0',
    endpoint: 'messages',
    session: 's2',
    feature: 'chat',
    workspace: 'beta',
    inputTokens: 500,
    outputTokens: 1000,
    costNanos: micro(16500),
  }),
  rec({ startedAt: at(2, 9), model: 'gpt-4o-mini', workspace: 'alpha', inputTokens: 100, outputTokens: 10, costNanos: micro(21) }),
  rec({ startedAt: at(31, 9, 0, 4), costNanos: 1_000_000_000, workspace: 'alpha' }),
  rec({ startedAt: at(17, 11), status: 500, feature: 'summarize', workspace: 'alpha', error: 'upstream 500' }),
];

test('tiles: spend today / week / month, requests, cost per request and per session, cache savings', async () => {
  const db = await dbWith(spendRecords());
  const d = new DashboardQuery(db).data(WEEK, undefined, NOW);
  assert.equal(d.tiles.todayUsd, 0.0095); // r1 + r2 + r6
  assert.equal(d.tiles.weekUsd, 0.026); // + r3
  assert.equal(d.tiles.monthUsd, 0.026021); // + r4, not r5 (May)
  assert.equal(d.tiles.requests, 4);
  assert.equal(d.tiles.costUsd, 0.026);
  assert.equal(d.tiles.avgCostPerRequestUsd, 0.0065);
  assert.equal(d.tiles.sessions, 2);
  assert.equal(d.tiles.costPerSessionUsd, 0.013); // (4750 + 4750 + 16500) µ$ / 2
  // 2,000 cache-read tokens of gpt-4o: 2000 × (2.50 − 1.25) = 2,500 µ$.
  assert.equal(d.tiles.cacheSavingsUsd, 0.0025);
  assert.equal(d.tiles.inputTokens, 4500);
  assert.equal(d.tiles.outputTokens, 1200);
  assert.deepEqual(d.workspaces, ['alpha', 'beta']);
});

test('the range total equals `burnrate report` for the same days', async () => {
  const db = await dbWith(spendRecords());
  const d = new DashboardQuery(db).data({ since: at(1, 0, 0, 4), until: at(18, 0) }, undefined, NOW);
  const report = new SpendQuery(db).report({ since: at(1, 0, 0, 4), until: at(18, 0) });
  assert.equal(d.tiles.costUsd, report.total.costUsd);
  assert.equal(d.tiles.requests, report.total.requests);
  assert.equal(d.tiles.costUsd, 1.026021);
});

test('workspace filter', async () => {
  const db = await dbWith(spendRecords());
  const d = new DashboardQuery(db).data({ ...WEEK, workspace: 'alpha' }, undefined, NOW);
  assert.equal(d.tiles.requests, 3);
  assert.equal(d.tiles.costUsd, 0.0095);
  assert.equal(d.tiles.weekUsd, 0.0095);
  assert.equal(d.tiles.monthUsd, 0.009521);
  assert.deepEqual(
    d.topSessions.map((s) => s.session),
    ['s1'],
  );
  assert.ok(d.recent.every((r) => r.workspace === 'alpha'));
});

test('daily spend stacked by provider, shares by model and provider, spend by feature', async () => {
  const db = await dbWith(spendRecords());
  const d = new DashboardQuery(db).data(WEEK, undefined, NOW);
  assert.deepEqual(d.daily.days, ['2026-06-15', '2026-06-16', '2026-06-17']);
  assert.deepEqual(d.daily.providers, [
    { provider: 'anthropic', costUsd: [0, 0.0165, 0] },
    { provider: 'openai', costUsd: [0, 0, 0.0095] },
  ]);
  assert.deepEqual(
    d.byModel.map((m) => [m.provider, m.key, m.costUsd, m.requests]),
    [
      ['anthropic', 'claude-sonnet-4-0', 0.0165, 1],
      ['openai', 'gpt-4o', 0.0095, 3],
    ],
  );
  assert.equal(d.byModel[0].share, 16500 / 26000);
  assert.deepEqual(
    d.byProvider.map((p) => [p.key, p.share]),
    [
      ['anthropic', 16500 / 26000],
      ['openai', 9500 / 26000],
    ],
  );
  assert.deepEqual(
    d.byFeature.map((f) => [f.key, f.costUsd, f.requests, f.costPerRequestUsd]),
    [
      ['chat', 0.0165, 1, 0.0165],
      ['summarize', 0.0095, 3, 0.0095 / 3],
    ],
  );
});

test('top sessions (duration, requests, tokens, cost), top requests, live feed', async () => {
  const db = await dbWith(spendRecords());
  const d = new DashboardQuery(db).data(WEEK, undefined, NOW);
  assert.deepEqual(d.topSessions, [
    { session: 's2', firstAt: at(16, 9), lastAt: at(16, 9), durationMs: 0, requests: 1, tokens: 1500, costUsd: 0.0165 },
    { session: 's1', firstAt: at(17, 10), lastAt: at(17, 10, 5), durationMs: 5 * 60_000, requests: 2, tokens: 4200, costUsd: 0.0095 },
  ]);
  assert.deepEqual(
    d.topRequests.map((r) => [r.model, r.costUsd]),
    [
      ['claude-sonnet-4-0', 0.0165],
      ['gpt-4o', 0.00475],
      ['gpt-4o', 0.00475],
      ['gpt-4o', 0],
    ],
  );
  assert.deepEqual(
    d.recent.map((r) => r.startedAt),
    [at(17, 11), at(17, 10, 5), at(17, 10), at(16, 9)],
  );
  assert.equal(d.recent[0].status, 500);
});

test("budget gauges and the anomaly banner (today above $1 and above 3x the trailing 7-day average, the engine alert's rule)", async () => {
  const db = await dbWith(spendRecords());
  const d = new DashboardQuery(db).data({ ...WEEK, workspace: 'beta' }, { dailyUsd: 0.01, monthlyUsd: 5 }, NOW);
  // Budgets count every workspace.
  assert.deepEqual(d.budget, { dailyUsd: 0.01, monthlyUsd: 5, todayUsd: 0.0095, monthUsd: 0.026021 });
  // Workspace beta spent nothing today: no banner.
  assert.equal(d.anomaly, null);
  // All workspaces: today's 9,500 µ$ is 4× the trailing average (r3 only, 16,500 µ$ / 7), but a day of a cent is below the $1 floor.
  assert.equal(new DashboardQuery(db).data(WEEK, undefined, NOW).anomaly, null);
  // Another $1.19 today: 1,199,500 µ$ against 2,357 µ$ a day.
  db.insert([rec({ startedAt: at(17, 11), costNanos: micro(1_190_000) })]);
  const all = new DashboardQuery(db).data(WEEK, undefined, NOW);
  assert.ok(all.anomaly);
  assert.equal(all.anomaly.todayUsd, 1.1995);
  assert.equal(all.anomaly.trailingAverageUsd, 0.0165 / 7);
  assert.equal(all.anomaly.ratio, micro(1_199_500) / (micro(16500) / 7));
  // Another $3 yesterday lifts the average to 3,016,500 / 7 = 430,929 µ$: 1,199,500 is below 3× that.
  db.insert([rec({ startedAt: at(16, 8), costNanos: micro(3_000_000) })]);
  assert.equal(new DashboardQuery(db).data(WEEK, undefined, NOW).anomaly, null);
});

test('leak hints, each with its dollar figure', async () => {
  const day17 = (h: number) => at(17, h);
  const sonnet = (input: number) =>
    rec({
      provider: 'anthropic',
      model: 'claude-sonnet-4-0',
      startedAt: day17(9),
      feature: 'rag',
      inputTokens: input,
      outputTokens: 50,
      costNanos: micro(input * 3 + 50 * 15),
    });
  const db = await dbWith([
    // rag: 4 uncached prompts of 2,000+ tokens (9,500 in, 200 out: 28,500 + 3,000 = 31,500 µ$).
    sonnet(3000),
    sonnet(2000),
    sonnet(2500),
    sonnet(2000),
    // write: gpt-4o, 100 in / 2,000 out three times: 250 + 20,000 = 20,250 µ$ each, output 60,000 of 60,750 µ$.
    ...[1, 2, 3].map(() => rec({ startedAt: day17(10), feature: 'write', inputTokens: 100, outputTokens: 2000, costNanos: micro(20250) })),
    // agent: gpt-4o-mini prompts of 1,000 tokens on the 16th, 3,000 on the 17th.
    ...[1, 2].map(() =>
      rec({ startedAt: at(16, 10), model: 'gpt-4o-mini', feature: 'agent', inputTokens: 1000, outputTokens: 10, costNanos: micro(1000 * 0.15 + 10 * 0.6) }),
    ),
    ...[1, 2].map(() =>
      rec({ startedAt: day17(11), model: 'gpt-4o-mini', feature: 'agent', inputTokens: 3000, outputTokens: 10, costNanos: micro(3000 * 0.15 + 10 * 0.6) }),
    ),
    // flaky: 3 rate-limited calls and one reset mid-stream that was billed 5,000 nanos.
    ...[1, 2, 3].map(() => rec({ startedAt: day17(12), model: 'gpt-4o-mini', feature: 'flaky', status: 429 })),
    rec({ startedAt: day17(12), model: 'gpt-4o-mini', feature: 'flaky', status: 0, inputTokens: 10, costNanos: 5000, costStatus: 'estimated' }),
  ]);
  const d: DashboardData = new DashboardQuery(db).data(WEEK, undefined, NOW);
  const hints = d.leaks.map((l) => [l.kind, l.feature, l.usd]);
  assert.deepEqual(hints, [
    // 60,000 µ$ of write's 60,750 µ$ is output.
    ['output-heavy', 'write', 0.06],
    // The same rag tokens on claude-haiku-4-5: 9,500×1 + 200×5 = 10,500 µ$; 31,500 − 10,500 = 21,000 µ$.
    ['cheaper-model', 'rag', 0.021],
    // 3 repeats × 2,000 tokens × (3 − 0.30) = 16,200 µ$, less one cache write of 2,000 × (3.75 − 3) = 1,500 µ$.
    ['uncached-prompts', 'rag', 0.0147],
    // The 17th's 2 prompts at the 16th's size would have been 4,000 tokens fewer: 4,000 × 0.15 = 600 µ$.
    ['context-growth', 'agent', 0.0006],
    // 4 of 15 requests failed; the billed one cost 5,000 nanos.
    ['failures', undefined, 0.000005],
  ]);
  for (const l of d.leaks) assert.match(l.title, /\$\d/, 'every hint names its dollar figure');
  // …the same figure the dashboard shows beside it.
  for (const l of d.leaks) assert.ok(l.title.includes(money(l.usd)), `${l.title} names ${money(l.usd)}`);
});

test('no hints from healthy traffic', async () => {
  const db = await dbWith(
    [1, 2, 3, 4].map(() =>
      rec({ startedAt: at(17, 9), model: 'gpt-4o-mini', feature: 'ok', inputTokens: 300, outputTokens: 20, costNanos: micro(300 * 0.15 + 20 * 0.6) }),
    ),
  );
  assert.deepEqual(new DashboardQuery(db).data(WEEK, undefined, NOW).leaks, []);
});

test('the rollup built from existing records on upgrade equals the one kept up on insert', async () => {
  const db = await dbWith(spendRecords());
  const rollups = (d: Database) => [
    d.exec('SELECT * FROM daily_rollup ORDER BY 1, 2, 3, 4, 5')[0].values,
    d.exec('SELECT * FROM session_rollup ORDER BY 1, 2, 3')[0].values,
  ];
  const live = rollups(db.index);
  // A database from before the rollups: one file of records, no rollup tables, no triggers, schema version 1.
  const single = await singleFileOf(db);
  single.exec('DROP TRIGGER requests_rollup_repriced; DROP TABLE daily_rollup; DROP TABLE session_rollup; DROP TABLE user_rollup; PRAGMA user_version = 1');
  const bytes = single.export();
  single.close();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-rollup-')), 'old.sqlite');
  fs.writeFileSync(file, bytes);
  const upgraded = await SpendDatabase.open(file, { create: false });
  assert.deepEqual(rollups(upgraded.index), live);
  assert.equal(live[1].length, 2, 'sessions s1 and s2 on their days');
  assert.equal(upgraded.index.exec('PRAGMA user_version')[0].values[0][0], 5);
  assert.equal(upgraded.count(), db.count());
  // And new records still land in the rollup.
  upgraded.insert([rec({ startedAt: at(17, 14), costNanos: 7 })]);
  assert.equal(new DashboardQuery(upgraded).data(WEEK, undefined, NOW).tiles.todayUsd, 0.009500007);
});

test('a schema-2 database keeps every rollup day, even those whose records retention deleted, and records clients from then on', async () => {
  const db = await dbWith(spendRecords());
  const before = new SpendQuery(db).report({ since: at(1, 0), until: at(18, 0), by: 'day' });
  // Schema 2: one file of records and rollups, no client column anywhere; retention has deleted the records of the 15th.
  const single = await singleFileOf(db);
  single.exec(`DROP TRIGGER requests_rollup_repriced; DROP TABLE user_rollup;
    CREATE TABLE r2 AS SELECT day, provider, model, feature, workspace, requests, cost_nanos, input_tokens, cache_read_tokens, cache_write_tokens,
      output_tokens, reasoning_tokens, unpriced_requests, failed_requests, failed_cost_nanos, long_uncached_requests, long_uncached_input_tokens,
      long_uncached_min_input, first_at, last_at FROM daily_rollup;
    DROP TABLE daily_rollup; ALTER TABLE r2 RENAME TO daily_rollup;
    ALTER TABLE requests DROP COLUMN client;
    PRAGMA user_version = 2;`);
  single.run('DELETE FROM requests WHERE started_at < ?', [at(16, 0)]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-v2-')), 'v2.sqlite');
  fs.writeFileSync(file, single.export());
  single.close();
  const upgraded = await SpendDatabase.open(file, { create: false });
  assert.equal(upgraded.index.exec('PRAGMA user_version')[0].values[0][0], 5);
  assert.deepEqual(new SpendQuery(upgraded).report({ since: at(1, 0), until: at(18, 0), by: 'day' }), before, 'every day kept, the 15th included');
  assert.deepEqual(
    new SpendQuery(upgraded).report({ since: at(1, 0), until: at(18, 0), by: 'client' }).groups.map((g) => [g.key, g.costUsd]),
    [['(none)', before.total.costUsd]],
  );

  upgraded.insert([rec({ startedAt: at(17, 14), costNanos: 7_000, client: 'claude-code' })]);
  const byClient = new SpendQuery(upgraded).report({ since: at(17, 0), until: at(18, 0), by: 'client' }).groups;
  assert.deepEqual(
    byClient.find((g) => g.key === 'claude-code'),
    {
      key: 'claude-code',
      costUsd: 0.000007,
      requests: 1,
      inputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
      unpricedRequests: 0,
    },
  );
  const d = new DashboardQuery(upgraded).data(WEEK, undefined, NOW);
  assert.ok(d.byClient.some((c) => c.key === 'claude-code' && c.requests === 1));
  assert.equal(d.recent[0].client, 'claude-code');
  // Repricing follows the new key: re-pricing the new record moves its client's row.
  applyReprice(upgraded, [
    {
      id: d.recent[0].id,
      startedAt: at(17, 14),
      provider: 'openai',
      model: 'gpt-4o',
      before: { costNanos: 7_000, costStatus: 'exact', priceSource: 'test' },
      after: { costNanos: 9_000, costStatus: 'exact', priceSource: 'new' },
    },
  ]);
  assert.equal(new DashboardQuery(upgraded).data(WEEK, undefined, NOW).byClient.find((c) => c.key === 'claude-code')!.costUsd, 0.000009);
});

test('the dashboard splits spend by client, most first, with shares', async () => {
  const db = await dbWith([
    rec({ startedAt: at(17, 9), costNanos: 3_000_000, client: 'claude-code' }),
    rec({ startedAt: at(17, 10), costNanos: 1_000_000, client: 'openai-node' }),
    rec({ startedAt: at(16, 10), costNanos: 2_000_000, client: 'claude-code' }),
    rec({ startedAt: at(16, 11), costNanos: 0, client: null }),
  ]);
  const d = new DashboardQuery(db).data(WEEK, undefined, NOW);
  assert.deepEqual(
    d.byClient.map((c) => [c.key, c.costUsd, c.requests, c.share]),
    [
      ['claude-code', 0.005, 2, 5 / 6],
      ['openai-node', 0.001, 1, 1 / 6],
      ['(none)', 0, 1, 0],
    ],
  );
});

test('days of a range are whole local days', () => {
  assert.deepEqual(daysOf(at(30, 13, 0, 4), at(2, 0)), ['2026-05-30', '2026-05-31', '2026-06-01']);
});

test('a re-priced record moves the dashboard figures by the difference, as it moves `burnrate report`', async () => {
  const records = spendRecords();
  const db = await dbWith(records);
  const [first, , , , , failed] = records;
  // r1 was priced $0.00475; re-priced to $0.01 (e.g. newer price data), and r6 (failed, $0) to $0.002.
  applyReprice(db, [
    {
      id: first.id,
      startedAt: first.startedAt,
      provider: first.provider,
      model: first.model!,
      before: { costNanos: first.costNanos, costStatus: 'exact', priceSource: 'test' },
      after: { costNanos: micro(10_000), costStatus: 'exact', priceSource: 'new' },
    },
    {
      id: failed.id,
      startedAt: failed.startedAt,
      provider: failed.provider,
      model: failed.model!,
      before: { costNanos: 0, costStatus: 'exact', priceSource: 'test' },
      after: { costNanos: micro(2_000), costStatus: 'exact', priceSource: 'new' },
    },
  ]);
  const data = new DashboardQuery(db).data(WEEK, { dailyUsd: 0, monthlyUsd: 0 }, NOW);
  const report = new SpendQuery(db).report(WEEK);
  assert.equal(data.tiles.costUsd, report.total.costUsd);
  assert.equal(Math.round(data.tiles.costUsd * 1e6), 10_000 + 4_750 + 16_500 + 2_000);
  const s1 = data.topSessions.find((s) => s.session === 's1');
  assert.equal(Math.round((s1?.costUsd ?? 0) * 1e6), 10_000 + 4_750);
  db.close();
});

test('the month-end forecast tile and the projection line: the same rule as the report, for the workspace shown', async () => {
  // $1 at noon on each of the ten days before today (7–16 June), $0.50 today; "beta" only since yesterday.
  const records = [rec({ startedAt: NOW - 3_600_000, costNanos: 500_000_000, workspace: 'alpha' })];
  for (let day = 7; day <= 16; day++) records.push(rec({ startedAt: at(day), costNanos: 1_000_000_000, workspace: 'alpha' }));
  records.push(rec({ startedAt: at(16, 13), costNanos: 1, workspace: 'beta' }));
  const db = await dbWith(records);
  const d = new DashboardQuery(db).data({ since: at(1, 0), until: at(18, 0) }, undefined, NOW);
  // 9 of today's 24 hours and 13 more days: 13.375 days at $1 (and beta's nano-dollar over 7 days) on top of $10.500000001.
  const method = 'month to date + 7-day daily average × 13.4 days left';
  assert.deepEqual(d.forecast, { monthToDateUsd: 10.500000001, projectedMonthUsd: 23.875000003, dailyAverageUsd: 1, method });
  assert.deepEqual(d.forecast, new SpendQuery(db).forecast(NOW));
  assert.deepEqual(d.daily.projection, { days: daysOf(at(17, 0), at(1, 0, 0, 6)), costUsd: 1 });
  assert.equal(d.daily.projection?.days.length, 14);
  assert.equal(d.daily.projection?.days.at(-1), '2026-06-30');
  // A range that ended before today has nothing to project onto.
  assert.equal(new DashboardQuery(db).data(WEEK_BEFORE, undefined, NOW).daily.projection, null);
  // "beta" has one whole day of history.
  const beta = new DashboardQuery(db).data({ since: at(1, 0), until: at(18, 0), workspace: 'beta' }, undefined, NOW);
  assert.deepEqual(beta.forecast, {
    monthToDateUsd: 0.000000001,
    projectedMonthUsd: null,
    dailyAverageUsd: null,
    method: 'not enough history: 1 whole day of spend, 3 needed',
  });
  assert.equal(beta.daily.projection, null);
});

const WEEK_BEFORE = { since: at(8, 0), until: at(15, 0) };
