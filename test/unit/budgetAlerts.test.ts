/**
 * Budget alerts across engine restarts (an injected clock, the alerted thresholds in a JSON file in
 * the data dir): a budget set or raised while no engine ran alerts once for thresholds already
 * crossed; a restart with the same settings does not alert again. And the budget state every
 * window's status bar shows, counted by the engine per workspace.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { BUDGET_ALERTS_FILE, BudgetAlertFile } from '../../src/engine/database';
import { emptyBaseline, type GuardBaseline, type SpendSummary } from '../../src/engine/queries';
import { Guards, type GuardAlert } from '../../src/engine/guards';
import { usdToNanos } from '../../src/engine/pricing';
import { DEFAULT_SETTINGS, type BurnRateSettings } from '../../src/engine/settings';
import { readConfig } from '../../src/extension/settings/config';
import { statusView } from '../../src/extension/status/format';

const DAY = 24 * 3_600_000;
const JAN_15 = new Date(2025, 0, 15, 9, 0).getTime();

/** What the database would say at start: `spentUsd` today (and this month) by workspace ('' = untagged). */
function baseline(now: number, spentUsd: Record<string, number>): GuardBaseline {
  const base = emptyBaseline(now);
  for (const [ws, usd] of Object.entries(spentUsd)) {
    base.todayByWorkspace.set(ws, usdToNanos(usd));
    base.monthByWorkspace.set(ws, usdToNanos(usd));
  }
  return base;
}

/** One engine start: the guards over `dataDir`, with their alerts collected once reviewBudgets() ran (as Engine.start does). */
function start(dataDir: string, settings: Partial<BurnRateSettings>, now: number, spentUsd: Record<string, number>) {
  const guards = new Guards({ settings, baseline: baseline(now, spentUsd), now: () => now, alertedStore: BudgetAlertFile.inDataDir(dataDir) });
  const alerts: GuardAlert[] = [];
  guards.on('alert', (a: GuardAlert) => alerts.push(a));
  guards.reviewBudgets();
  return { guards, alerts };
}

const budgetAlerts = (alerts: GuardAlert[]) =>
  alerts.map((a) => (a.kind === 'budget' ? `${a.workspace ?? '*'} ${a.period} ${a.threshold} of $${a.capUsd}` : a.kind));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-alerts-'));

test('a budget set while no engine ran alerts at start for the threshold already crossed, once', () => {
  const dir = tmp();
  // $7 spent today; the user has just set a $10 daily budget: 70 % is past 50 %.
  const first = start(dir, { 'burnrate.budget.daily': 10 }, JAN_15, { '': 7 });
  assert.deepEqual(budgetAlerts(first.alerts), ['* day 0.5 of $10']);
  assert.match(first.alerts[0].message, /Daily budget: \$7\.00 of \$10\.00 spent \(70 %\)/);

  // A restart an hour later with the same settings and spend: nothing new to say.
  const again = start(dir, { 'burnrate.budget.daily': 10 }, JAN_15 + 3_600_000, { '': 7 });
  assert.deepEqual(budgetAlerts(again.alerts), []);
  // Spending on past the next threshold still alerts, once.
  again.guards.settle(record(usdToNanos(1.5), JAN_15 + 3_600_000));
  assert.deepEqual(budgetAlerts(again.alerts), ['* day 0.8 of $10']);
  const third = start(dir, { 'burnrate.budget.daily': 10 }, JAN_15 + 2 * 3_600_000, { '': 8.5 });
  assert.deepEqual(budgetAlerts(third.alerts), [], 'the 80 % alert was remembered too');
});

test('a raised (or lowered) budget alerts afresh for what it has crossed; a new day starts over', () => {
  const dir = tmp();
  start(dir, { 'burnrate.budget.daily': 10 }, JAN_15, { '': 12 }); // 120 %: the 100 % alert
  // Raised to $20 while the engine was down: $12 is 60 % of it.
  const raised = start(dir, { 'burnrate.budget.daily': 20 }, JAN_15 + 60_000, { '': 12 });
  assert.deepEqual(budgetAlerts(raised.alerts), ['* day 0.5 of $20']);
  // Back to $10: that cap's 100 % alert was given today already.
  const back = start(dir, { 'burnrate.budget.daily': 10 }, JAN_15 + 120_000, { '': 12 });
  assert.deepEqual(budgetAlerts(back.alerts), []);
  // Live, without a restart, the same rule.
  back.guards.configure({ global: { 'burnrate.budget.daily': 15 } });
  assert.deepEqual(budgetAlerts(back.alerts), ['* day 0.8 of $15']);
  // The next morning with $9 already spent (a night job): a new day, a new alert.
  const tomorrow = start(dir, { 'burnrate.budget.daily': 15 }, JAN_15 + DAY, { '': 9 });
  assert.deepEqual(budgetAlerts(tomorrow.alerts), ['* day 0.5 of $15']);
});

test("a workspace's own budget, sent by its window after each restart, alerts once", () => {
  const dir = tmp();
  const ws = { name: 'api', settings: { 'burnrate.budget.daily': 2 } as Partial<BurnRateSettings> };
  const first = start(dir, {}, JAN_15, { api: 1.8, '': 5 });
  first.guards.configure({ workspace: ws });
  assert.deepEqual(budgetAlerts(first.alerts), ['api day 0.8 of $2']);
  const restarted = start(dir, {}, JAN_15 + 60_000, { api: 1.8, '': 5 });
  restarted.guards.configure({ workspace: ws });
  assert.deepEqual(budgetAlerts(restarted.alerts), []);
});

test('the alerted thresholds are kept in a small JSON file, replaced whole; a damaged file only costs a repeated alert', () => {
  const dir = tmp();
  start(dir, { 'burnrate.budget.monthly': 100 }, JAN_15, { '': 60 });
  const file = path.join(dir, BUDGET_ALERTS_FILE);
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number; alerted: string[] };
  assert.equal(saved.version, 1);
  assert.equal(saved.alerted.length, 1);
  assert.deepEqual(fs.readdirSync(dir), [BUDGET_ALERTS_FILE], 'no temporary file left behind');

  fs.writeFileSync(file, '{"version":1,"alerted":[');
  const warnings: string[] = [];
  const store = new BudgetAlertFile(file, (_level, message) => warnings.push(message));
  assert.deepEqual(store.load(), []);
  assert.match(warnings[0], /ignoring .*budget-alerts\.json/);
  const afterDamage = start(dir, { 'burnrate.budget.monthly': 100 }, JAN_15 + 60_000, { '': 60 });
  assert.deepEqual(budgetAlerts(afterDamage.alerts), ['* month 0.5 of $100']);
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).alerted.length, 1, 'rewritten whole');
});

test('without a store (no data dir), thresholds behind at start are taken as alerted', () => {
  const guards = new Guards({ settings: { 'burnrate.budget.daily': 10 }, baseline: baseline(JAN_15, { '': 7 }), now: () => JAN_15 });
  const alerts: GuardAlert[] = [];
  guards.on('alert', (a: GuardAlert) => alerts.push(a));
  guards.reviewBudgets();
  assert.deepEqual(alerts, []);
});

test("the engine counts each workspace's budget against that workspace's spend; every window colours its status bar from that", () => {
  const { guards } = start(tmp(), { 'burnrate.budget.daily': 100 }, JAN_15, { api: 1.7, web: 0.2, '': 10 });
  guards.configure({ workspace: { name: 'api', settings: { 'burnrate.budget.daily': 2 } } });
  guards.configure({ workspace: { name: 'web', settings: { 'burnrate.budget.daily': 1 } } });
  const views = guards.budgets();
  const byScope = Object.fromEntries(views.map((b) => [`${b.workspace ?? '*'} ${b.period}`, [b.spentUsd, b.level]]));
  // All spend: $11.90 of $100 → ok. api: $1.70 of $2 (85 %) → warning. web: $0.20 of $1 → ok.
  assert.deepEqual(byScope, { '* day': [11.9, 'ok'], 'api day': [1.7, 'warning'], 'web day': [0.2, 'ok'] });

  const summary = summaryWith(11.9, views);
  const config = readConfig(((key: keyof typeof DEFAULT_SETTINGS) => ({
    defaultValue: DEFAULT_SETTINGS[key],
    globalValue: key === 'burnrate.budget.daily' ? 100 : undefined,
  })) as never);
  const owner = { kind: 'owner', url: 'u', pid: 1 } as const;
  const follower = { kind: 'follower', url: 'u', pid: 1 } as const;
  const apiWindow = statusView(follower, summary, config, 'u', { workspace: 'api' });
  const webWindow = statusView(owner, summary, config, 'u', { workspace: 'web' });
  assert.equal(apiWindow.background, 'warning', 'api is at 85 % of its own budget');
  assert.equal(webWindow.background, 'none', "web is not: another workspace's budget does not colour it");
  assert.match(apiWindow.tooltip, /today: \$11\.90 of \$100\.00 \(12 %\) · today \(api\): \$1\.70 of \$2\.00 \(85 %\)/);
  assert.doesNotMatch(webWindow.tooltip, /\(api\)/);

  // The same window's settings say $100 for all spend, and total spend is far from it; still, past
  // its workspace's cap it turns the error colour.
  guards.settle(record(usdToNanos(0.5), JAN_15, 'api'));
  assert.equal(statusView(follower, summaryWith(12.4, guards.budgets()), config, 'u', { workspace: 'api' }).background, 'error');
});

function record(costNanos: number, at: number, workspace: string | null = null) {
  return {
    id: `r-${Math.random()}`,
    startedAt: at,
    provider: 'openai',
    model: 'gpt-4o',
    endpoint: 'chat.completions',
    stream: false,
    status: 200,
    inputTokens: 10,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 10,
    reasoningTokens: 0,
    costNanos,
    costStatus: 'exact' as const,
    latencyMs: 1,
    ttftMs: 1,
    session: null,
    feature: null,
    user: null,
    trace: null,
    env: null,
    workspace,
    branch: null,
    keyFingerprint: null,
    error: null,
    serviceTier: null,
    priceSource: 'test',
    client: null,
  };
}

function summaryWith(todayUsd: number, budgets: SpendSummary['budgets']): SpendSummary {
  const totals = {
    costUsd: todayUsd,
    requests: 1,
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    unpricedRequests: 0,
  };
  return {
    at: JAN_15,
    today: totals,
    week: totals,
    month: totals,
    todayByProvider: [],
    todayByModel: [],
    todayByClient: [],
    activeSessions: [],
    activeSessionMinutes: 15,
    lastRecord: null,
    recordingPaused: false,
    budgets,
  };
}
