/**
 * The guards' bookkeeping with an injected clock: budget alerts once per threshold per period,
 * the anomaly alert once a day, retry storms told from backoff, inferred sessions split by idle gaps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyBaseline, TRAILING_DAYS } from '../../src/engine/queries';
import { Guards, maxOutputTokens, SESSION_IDLE_GAP_MS, type AdmitRequest, type GuardAlert } from '../../src/engine/guards';
import { usdToNanos } from '../../src/engine/pricing';
import type { RequestRecord } from '../../src/engine/database';
import type { BurnRateSettings } from '../../src/engine/settings';
import { makeRecord } from '../support/records';

let seq = 0;
function rec(r: Partial<RequestRecord>): RequestRecord {
  seq++;
  return makeRecord({ id: `g-${seq}`, startedAt: 0, costNanos: 0, priceSource: 'test', ...r });
}

function setup(settings: Partial<BurnRateSettings>, start = new Date(2025, 0, 15, 9, 0).getTime(), baseline = emptyBaseline(start)) {
  let now = start;
  const guards = new Guards({ settings, baseline, now: () => now });
  const alerts: GuardAlert[] = [];
  guards.on('alert', (a: GuardAlert) => alerts.push(a));
  return {
    guards,
    alerts,
    advance(ms: number) {
      now += ms;
    },
    spend(usd: number, extra: Partial<RequestRecord> = {}) {
      guards.settle(rec({ startedAt: now, costNanos: usdToNanos(usd), ...extra }));
    },
  };
}

const thresholds = (alerts: GuardAlert[]) => alerts.map((a) => (a.kind === 'budget' ? `${a.period}:${a.threshold}` : a.kind));

test('daily budget: each threshold alerts once per day, and again the next day', () => {
  const g = setup({ 'burnrate.budget.daily': 10 });
  g.spend(3); // 30 %
  assert.deepEqual(thresholds(g.alerts), []);
  g.spend(3); // 60 %
  g.spend(3); // 90 %
  g.spend(3); // 120 %
  g.spend(3); // 150 %
  assert.deepEqual(thresholds(g.alerts), ['day:0.5', 'day:0.8', 'day:1']);
  assert.match(g.alerts[0].message, /Daily budget: \$6\.00 of \$10\.00 spent \(60 %\)/);
  assert.match(g.alerts[2].message, /still go through/);
  g.advance(24 * 3_600_000);
  g.spend(6);
  assert.deepEqual(thresholds(g.alerts), ['day:0.5', 'day:0.8', 'day:1', 'day:0.5'], 'a new day, a new 50 % alert');
});

test('monthly budget: a jump past several thresholds gives one alert, the highest', () => {
  const g = setup({ 'burnrate.budget.monthly': 100, 'burnrate.budget.alertThresholds': [0.5, 0.8, 1] });
  g.spend(85);
  assert.deepEqual(thresholds(g.alerts), ['month:0.8']);
  g.spend(5);
  assert.deepEqual(thresholds(g.alerts), ['month:0.8']);
  g.advance(20 * 24 * 3_600_000); // into February
  g.spend(60);
  assert.deepEqual(thresholds(g.alerts), ['month:0.8', 'month:0.5']);
});

test('spend already past a threshold at start does not alert again; a new budget setting does', () => {
  const start = new Date(2025, 0, 15, 9, 0).getTime();
  const base = emptyBaseline(start);
  base.todayByWorkspace.set('', usdToNanos(7));
  base.monthByWorkspace.set('', usdToNanos(7));
  const g = setup({ 'burnrate.budget.daily': 10 }, start, base);
  g.spend(0.5);
  assert.deepEqual(thresholds(g.alerts), []);
  g.guards.configure({ global: { 'burnrate.budget.daily': 8 } });
  assert.deepEqual(thresholds(g.alerts), ['day:0.8'], '7 of a new $8 cap: 93 %');
});

test('block mode: the budget blocks with parallel reservations counted', () => {
  const g = setup({ 'burnrate.budget.daily': 0.01, 'burnrate.budget.onExceed': 'block' });
  const admit = (): ReturnType<Guards['admit']> =>
    g.guards.admit({
      protocol: 'openai',
      providerId: 'openai',
      pricesProvider: 'openai',
      model: 'gpt-4o',
      stream: false,
      path: '/v1/chat/completions',
      body: Buffer.alloc(4_000),
      json: { max_tokens: 500 },
      tags: { session: 's' },
      keyFingerprint: null,
      userAgent: 'x',
      cut: () => {},
    } satisfies AdmitRequest);
  // gpt-4o: 1,000 input tokens ($2.50/M) + 500 output ($10/M) ≈ $0.0075 reserved each.
  const a = admit();
  const b = admit();
  assert.ok(a.allowed && b.allowed);
  const third = admit();
  assert.equal(third.allowed, false);
  assert.ok(!third.allowed && third.error.status === 403 && /daily budget of \$0\.01 is used up/.test(third.error.body));
  assert.equal(!third.allowed && third.error.headers['x-should-retry'], 'false');
  g.guards.release(a.ticket);
  g.guards.release(b.ticket);
  g.guards.release(b.ticket); // twice: no effect
  assert.equal(admit().allowed, true, 'the reservations were given back');
});

test('anomaly: today above 3× the 7-day average (and above $1) alerts once a day', () => {
  const start = new Date(2025, 0, 15, 9, 0).getTime();
  const base = emptyBaseline(start);
  base.trailingDays = new Array(TRAILING_DAYS).fill(usdToNanos(0.5));
  const g = setup({}, start, base);
  g.spend(1.2); // above the floor but below 3 × $0.50
  assert.deepEqual(thresholds(g.alerts), []);
  g.spend(0.5); // $1.70 > $1.50
  g.spend(5);
  assert.deepEqual(thresholds(g.alerts), ['anomaly']);
  assert.match(g.alerts[0].message, /3\.4× the 7-day daily average of \$0\.50/);
  g.advance(24 * 3_600_000);
  g.spend(0.9); // the average now includes yesterday's $6.70: quiet
  assert.deepEqual(thresholds(g.alerts), ['anomaly']);
});

test('retry storm: failures faster than any backoff trip; exponential backoff does not', () => {
  const g = setup({ 'burnrate.guard.retryStormErrors': 5 });
  // An SDK backing off: 0.5 s, 1 s, 2 s, 4 s, 8 s… between failures.
  for (let i = 0, gap = 500; i < 8; i++, gap *= 2) {
    g.advance(gap);
    g.guards.settle(rec({ session: 'backoff', status: 429 }));
  }
  assert.deepEqual(thresholds(g.alerts), []);
  for (let i = 0; i < 5; i++) {
    g.advance(150);
    g.guards.settle(rec({ session: 'hammer', status: 503 }));
  }
  assert.deepEqual(thresholds(g.alerts), ['guard']);
  assert.equal(g.alerts[0].session, 'hammer');
  assert.match(g.alerts[0].message, /retry storm/);
  // A client that went away is not an upstream failure.
  for (let i = 0; i < 6; i++) {
    g.advance(100);
    g.guards.settle(rec({ session: 'aborts', status: 0, error: 'client closed the connection mid-response' }));
  }
  assert.equal(g.alerts.length, 1);
});

test('inferred sessions: one per key + client + workspace, a new one after an idle gap', () => {
  const g = setup({});
  const admit = (key: string, ua: string, workspace?: string) => {
    const tags: Record<string, string> = workspace ? { workspace } : {};
    const a = g.guards.admit({
      protocol: 'openai',
      providerId: 'openai',
      pricesProvider: 'openai',
      model: 'gpt-4o',
      stream: false,
      path: '/v1/x',
      body: Buffer.from('{}'),
      json: {},
      tags,
      keyFingerprint: key,
      userAgent: ua,
      cut: () => {},
    });
    assert.equal(tags.session, a.session, 'the inferred id is written into the tags (and so the record)');
    return a.session;
  };
  const first = admit('k1', 'OpenAI/JS 6');
  g.advance(10 * 60_000);
  assert.equal(admit('k1', 'OpenAI/JS 6'), first);
  assert.notEqual(admit('k2', 'OpenAI/JS 6'), first);
  assert.notEqual(admit('k1', 'python-httpx'), first);
  assert.notEqual(admit('k1', 'OpenAI/JS 6', 'proj'), first);
  g.advance(SESSION_IDLE_GAP_MS + 1);
  assert.notEqual(admit('k1', 'OpenAI/JS 6'), first);
});

test('a workspace setting can only tighten the global one', () => {
  const g = setup({ 'burnrate.guard.sessionMaxTokens': 1_000, 'burnrate.budget.daily': 5 });
  g.guards.configure({
    workspace: { name: 'w', settings: { 'burnrate.guard.sessionMaxTokens': 50_000, 'burnrate.budget.daily': 2, 'burnrate.guard.onTrip': 'block' } },
  });
  const p = g.guards.settings().workspaces.w;
  assert.deepEqual([p.guard.sessionMaxTokens, p.budget.daily, p.guard.onTrip], [1_000, 2, 'block']);
});

test('max output tokens from each protocol', () => {
  assert.equal(maxOutputTokens({ max_tokens: 300 }), 300);
  assert.equal(maxOutputTokens({ max_completion_tokens: 200, max_tokens: 300 }), 200);
  assert.equal(maxOutputTokens({ max_output_tokens: 99 }), 99);
  assert.equal(maxOutputTokens({ generationConfig: { maxOutputTokens: 64 } }), 64);
  assert.equal(maxOutputTokens({ options: { num_predict: 32 } }), 32);
  assert.equal(maxOutputTokens({ messages: [] }), undefined);
  assert.equal(maxOutputTokens('not json'), undefined);
});
