/** What the status bar item shows (src/extension/status/format.ts): pure, no VS Code. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Totals, SpendSummary } from '../../src/engine/queries';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { readConfig } from '../../src/extension/settings/config';
import { budgetUse, statusView } from '../../src/extension/status/format';
import { formatTokens, formatUsd } from '../../src/shared';

const totals = (costUsd: number, requests = 1): Totals => ({
  costUsd,
  requests,
  inputTokens: 1200,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  outputTokens: 300,
  reasoningTokens: 0,
  unpricedRequests: 0,
});
const summary = (today: number, month = today, extra: Partial<SpendSummary> = {}): SpendSummary => ({
  at: Date.now(),
  today: totals(today, 3),
  week: totals(today, 3),
  month: totals(month, 9),
  todayByProvider: [{ key: 'openai', ...totals(today, 3) }],
  todayByModel: [
    { key: 'gpt-4o', ...totals(today * 0.75, 2) },
    { key: 'gpt-4o-mini', ...totals(today * 0.25, 1) },
  ],
  todayByClient: [
    { key: 'claude-code', ...totals(today * 0.6, 2) },
    { key: 'openai-node', ...totals(today * 0.4, 1) },
  ],
  activeSessions: [{ key: 'run_42', ...totals(0.5) }],
  activeSessionMinutes: 15,
  lastRecord: null,
  recordingPaused: false,
  ...extra,
});
const config = (over: Record<string, unknown> = {}) =>
  readConfig(((key: keyof typeof DEFAULT_SETTINGS) => ({ defaultValue: DEFAULT_SETTINGS[key], globalValue: over[key] })) as never);
const owner = { kind: 'owner', url: 'http://127.0.0.1:8390', pid: 1 } as const;

test('formatUsd: cents once there are cents, three significant digits below a cent', () => {
  assert.equal(formatUsd(0), '$0.00');
  assert.equal(formatUsd(4.2137), '$4.21');
  assert.equal(formatUsd(0.000345), '$0.000345');
  assert.equal(formatUsd(0.0031234), '$0.00312');
  assert.equal(formatUsd(0.01), '$0.01');
  assert.equal(formatUsd(1234.567), '$1234.57');
  assert.equal(formatUsd(123456.7), '$123,457');
  assert.equal(formatTokens(950), '950');
  assert.equal(formatTokens(12_345), '12.3k');
  assert.equal(formatTokens(4_560_000), '4.56M');
});

test("the item shows today's spend with a flame; the tooltip has week, month, models, sessions and the proxy URL", () => {
  const v = statusView(owner, summary(4.21, 12.5), config(), 'http://127.0.0.1:8390');
  assert.equal(v.text, '$(flame) $4.21');
  assert.equal(v.background, 'none');
  for (const part of [
    'Today',
    'This week',
    'This month',
    '$12.50',
    'gpt\\-4o',
    'run\\_42',
    'http://127.0.0.1:8390',
    'served by this window',
    'No budget set',
    'command:burnrate.openDashboard',
  ]) {
    assert.ok(v.tooltip.includes(part), `tooltip has ${part}:\n${v.tooltip}`);
  }
  assert.match(statusView({ kind: 'follower', url: '', pid: 2 }, summary(1), config(), 'u').tooltip, /another VS Code window/);
  assert.equal(statusView(owner, summary(1, 1, { recordingPaused: true }), config(), 'u').text, '$(debug-pause) $1.00');
});

test('the tooltip says which clients spent today, most first', () => {
  const v = statusView(owner, summary(10), config(), 'u');
  assert.match(v.tooltip, /By client today\*\* · claude\\-code \$6\.00 \(2\) · openai\\-node \$4\.00 \(1\)/);
});

test('the tooltip has the month-end forecast with its method, or says there is not enough history', () => {
  const method = 'month to date + 7-day daily average × 16.5 days left';
  const paced = summary(2, 30, { forecast: { monthToDateUsd: 30, projectedMonthUsd: 63, dailyAverageUsd: 2, method } });
  assert.ok(statusView(owner, paced, config(), 'u').tooltip.includes(`**Forecast** · On pace for $63.00 this month (${method})`));
  const young = summary(2, 2, {
    forecast: { monthToDateUsd: 2, projectedMonthUsd: null, dailyAverageUsd: null, method: 'not enough history: 1 whole day of spend, 3 needed' },
  });
  assert.ok(statusView(owner, young, config(), 'u').tooltip.includes('**Forecast** · Month-end forecast: not enough history: 1 whole day of spend, 3 needed'));
  assert.doesNotMatch(statusView(owner, summary(2), config(), 'u').tooltip, /Forecast/);
});

test('the tooltip names the stopped sessions, kept across restarts, with a way to allow one', () => {
  const stopped = summary(2, 2, { stoppedSessions: [{ id: 'agent_7', reason: 'looping' }] });
  assert.ok(statusView(owner, stopped, config(), 'u').tooltip.includes('**Stopped** · agent\\_7 · [Allow session](command:burnrate.allowSession)'));
  const many = summary(2, 2, { stoppedSessions: ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, reason: null })) });
  assert.match(statusView(owner, many, config(), 'u').tooltip, /\*\*Stopped\*\* · a, b, c and 2 more/);
  assert.doesNotMatch(statusView(owner, summary(2), config(), 'u').tooltip, /Stopped/);
});

test('background only for budget states: warning from the highest threshold below 100 %, error past it', () => {
  assert.equal(statusView(owner, summary(7.9), config({ 'burnrate.budget.daily': 10 }), 'u').background, 'none');
  assert.equal(statusView(owner, summary(8), config({ 'burnrate.budget.daily': 10 }), 'u').background, 'warning');
  assert.equal(statusView(owner, summary(10), config({ 'burnrate.budget.daily': 10 }), 'u').background, 'error');
  assert.equal(statusView(owner, summary(1, 95), config({ 'burnrate.budget.monthly': 100 }), 'u').background, 'warning');
  assert.equal(statusView(owner, summary(6), config({ 'burnrate.budget.daily': 10, 'burnrate.budget.alertThresholds': [0.5, 1] }), 'u').background, 'warning');
  const use = budgetUse(summary(5, 50), config({ 'burnrate.budget.daily': 10, 'burnrate.budget.monthly': 200 }).budget);
  assert.deepEqual(
    use.lines.map((l) => [l.period, l.fraction]),
    [
      ['today', 0.5],
      ['this month', 0.25],
    ],
  );
  assert.match(statusView(owner, summary(5, 50), config({ 'burnrate.budget.daily': 10 }), 'u').tooltip, /today: \$5\.00 of \$10\.00 \(50 %\)/);
});

test('when Burn Rate is not running the item says so and never shows a budget colour', () => {
  const blocked = statusView({ kind: 'blocked', detail: 'it answered HTTP 404' }, undefined, config({ 'burnrate.budget.daily': 1 }), 'u');
  assert.equal(blocked.text, '$(flame) —');
  assert.equal(blocked.background, 'none');
  assert.match(blocked.tooltip, /held by another program/);
  assert.equal(statusView({ kind: 'connecting' }, undefined, config(), 'u').text, '$(flame) …');
  assert.equal(statusView({ kind: 'connecting' }, summary(2), config(), 'u').text, '$(flame) $2.00', 'reconnecting keeps the last amount');
  assert.match(statusView({ kind: 'failed', message: 'db broken' }, undefined, config(), 'u').tooltip, /could not start: db broken/);
});
