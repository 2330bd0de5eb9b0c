/**
 * The start-up reads (the status bar's period totals, the guards' baseline) answer whole days from
 * daily_rollup: the same figures as adding up the records by hand, and spend that retention deleted
 * still counts toward this month.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { loadGuardBaseline, SummaryQuery } from '../../src/engine/queries';
import { addLocalDays, localDayStart, localMonthStart } from '../../src/shared';
import { makeRecord } from '../support/records';

/** Local noon on Thursday 19 March 2026 (DST starts in Europe and the US around then). */
const NOW = new Date(2026, 2, 19, 12, 0).getTime();
const MONDAY = new Date(2026, 2, 16).getTime();
const MONTH = localMonthStart(NOW);

/** 400 records over the 40 days up to now, across providers, models, clients, workspaces and sessions. */
function records(): RequestRecord[] {
  const providers = ['openai', 'anthropic', 'gemini'];
  const models = ['gpt-4o', null, 'claude-haiku-4-5', 'gemini-2.5-flash'];
  const out: RequestRecord[] = [];
  for (let i = 0; i < 400; i++) {
    out.push(
      makeRecord({
        startedAt: NOW - Math.floor((i * 40 * 86_400_000) / 400) - (i % 7) * 60_000,
        provider: providers[i % 3],
        model: models[i % 4],
        client: i % 5 ? `client-${i % 3}` : null,
        workspace: i % 4 ? `ws-${i % 2}` : null,
        session: i % 6 ? `s-${i % 9}` : null,
        inputTokens: 100 + i,
        cacheReadTokens: i % 10,
        cacheWriteTokens: i % 4,
        outputTokens: 10 + (i % 13),
        reasoningTokens: i % 3,
        costNanos: 1_000 * (i + 1),
        costStatus: i % 11 ? 'exact' : 'unpriced',
      }),
    );
  }
  return out;
}

const sum = (rs: RequestRecord[], f: (r: RequestRecord) => number) => rs.reduce((a, r) => a + f(r), 0);
const totals = (rs: RequestRecord[]) => ({
  nanos: sum(rs, (r) => r.costNanos),
  requests: rs.length,
  inputTokens: sum(rs, (r) => r.inputTokens),
  cacheReadTokens: sum(rs, (r) => r.cacheReadTokens),
  cacheWriteTokens: sum(rs, (r) => r.cacheWriteTokens),
  outputTokens: sum(rs, (r) => r.outputTokens),
  reasoningTokens: sum(rs, (r) => r.reasoningTokens),
  unpricedRequests: rs.filter((r) => r.costStatus === 'unpriced').length,
});
function byKey(rs: RequestRecord[], key: (r: RequestRecord) => string | null) {
  const m = new Map<string, RequestRecord[]>();
  for (const r of rs) {
    const k = key(r) || '(none)';
    m.set(k, [...(m.get(k) ?? []), r]);
  }
  return new Map([...m].map(([k, group]) => [k, { ...totals(group), lastAt: Math.max(...group.map((r) => r.startedAt)) }]));
}

test('the period totals and today’s breakdowns equal the records added up by hand', async () => {
  const recs = records();
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(recs);
  const base = new SummaryQuery(db).base(NOW);
  const since = (t: number) => recs.filter((r) => r.startedAt >= t);
  const today = since(localDayStart(NOW));
  assert.ok(today.length > 3 && since(MONTH).length > today.length);
  assert.deepEqual(base.today, totals(today));
  assert.deepEqual(base.week, totals(since(MONDAY)));
  assert.deepEqual(base.month, totals(since(MONTH)));
  assert.deepEqual(
    new Map(base.byProvider),
    byKey(today, (r) => r.provider),
  );
  assert.deepEqual(
    new Map(base.byModel),
    byKey(today, (r) => r.model),
  );
  assert.deepEqual(
    new Map(base.byClient),
    byKey(today, (r) => r.client),
  );
  assert.deepEqual(
    new Map(base.bySession),
    byKey(
      today.filter((r) => r.session),
      (r) => r.session,
    ),
  );
});

test('the guards’ baseline (today and month by workspace, the trailing week by day, today’s sessions) equals the records added up by hand', async () => {
  const recs = records();
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(recs);
  const base = loadGuardBaseline(db.index, NOW);
  const spendByWorkspace = (rs: RequestRecord[]) => new Map([...byKey(rs, (r) => r.workspace ?? '')].map(([k, t]) => [k === '(none)' ? '' : k, t.nanos]));
  const dayStart = localDayStart(NOW);
  assert.deepEqual(base.todayByWorkspace, spendByWorkspace(recs.filter((r) => r.startedAt >= dayStart)));
  assert.deepEqual(base.monthByWorkspace, spendByWorkspace(recs.filter((r) => r.startedAt >= MONTH)));
  const week = Array.from({ length: 7 }, (_, i) => {
    const from = addLocalDays(dayStart, i - 7);
    return sum(
      recs.filter((r) => r.startedAt >= from && r.startedAt < addLocalDays(from, 1)),
      (r) => r.costNanos,
    );
  });
  assert.ok(week.every((d) => d > 0));
  assert.deepEqual(base.trailingDays, week);
  const todaysSessions = new Map<string, RequestRecord[]>();
  for (const r of recs) if (r.session && r.startedAt >= dayStart) todaysSessions.set(r.session, [...(todaysSessions.get(r.session) ?? []), r]);
  assert.ok(todaysSessions.size > 1);
  const bySession = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
  assert.deepEqual(
    [...base.sessions].sort(bySession),
    [...todaysSessions]
      .map(([id, rs]) => ({
        id,
        workspace: rs.map((r) => r.workspace).reduce<string | null>((a, w) => (w !== null && (a === null || w > a) ? w : a), null),
        requests: rs.length,
        tokens: sum(rs, (r) => r.inputTokens + r.outputTokens),
        outputTokens: sum(rs, (r) => r.outputTokens),
        nanos: sum(rs, (r) => r.costNanos),
        firstAt: Math.min(...rs.map((r) => r.startedAt)),
        lastAt: Math.max(...rs.map((r) => r.startedAt)),
      }))
      .sort(bySession),
  );
});

test('spend that retention deleted still counts toward the month and the trailing week', async () => {
  const recs = records();
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(recs);
  const monthBefore = new SummaryQuery(db).base(NOW).month;
  const baselineBefore = loadGuardBaseline(db.index, NOW);
  // Retention of one day: everything before yesterday noon goes.
  assert.ok(db.deleteBefore(NOW - 86_400_000).deleted > 100);
  assert.deepEqual(new SummaryQuery(db).base(NOW).month, monthBefore);
  const baselineAfter = loadGuardBaseline(db.index, NOW);
  assert.deepEqual(baselineAfter.monthByWorkspace, baselineBefore.monthByWorkspace);
  assert.deepEqual(baselineAfter.trailingDays, baselineBefore.trailingDays);
});
