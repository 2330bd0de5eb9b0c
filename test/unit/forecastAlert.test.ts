/**
 * The month-end forecast alert on an injected clock (New York time): with a monthly budget it fires
 * once a month, when the forecast first goes over the budget while the month's spend is below half
 * of it, and so before the 50 % threshold alert; a restart does not repeat it; a new month can.
 */
process.env.TZ = 'America/New_York';

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { BudgetAlertFile } from '../../src/engine/database';
import { Guards, type GuardAlert } from '../../src/engine/guards';
import { usdToNanos } from '../../src/engine/pricing';
import { emptyBaseline } from '../../src/engine/queries';
import { alertView } from '../../src/extension/commands/alerts';
import { makeRecord } from '../support/records';

const HOUR = 3_600_000;
/** 9:00 on 10 January 2025: 15 of today's 24 hours and 21 more days are left, 21.625 days. */
const JAN_10 = new Date(2025, 0, 10, 9).getTime();

/** An engine start at `now` with a $100 monthly budget, $3 on each of the 7 days before today and `monthUsd` spent this month. */
function start(dir: string, now: number, monthUsd: number, firstRecordDay: string | null = '2024-11-20') {
  const clock = { now };
  const base = emptyBaseline(now);
  base.trailingDays = new Array(7).fill(usdToNanos(3));
  base.monthByWorkspace.set('', usdToNanos(monthUsd));
  base.firstRecordDay = firstRecordDay;
  const guards = new Guards({
    settings: { 'burnrate.budget.monthly': 100 },
    baseline: base,
    now: () => clock.now,
    alertedStore: BudgetAlertFile.inDataDir(dir),
  });
  const alerts: GuardAlert[] = [];
  guards.on('alert', (a: GuardAlert) => alerts.push(a));
  guards.reviewBudgets();
  const spend = (usd: number) => guards.settle(makeRecord({ startedAt: clock.now, costNanos: usdToNanos(usd) }));
  return { guards, alerts, clock, spend };
}

/** The budget and forecast alerts in order (a day of several times the trailing average also brings the anomaly alert). */
const kinds = (alerts: GuardAlert[]) => alerts.filter((a) => a.kind !== 'anomaly').map((a) => (a.kind === 'budget' ? `budget ${a.threshold}` : a.kind));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-forecast-'));

test('the forecast alert fires once, when the forecast first goes over the budget, before the 50 % alert', () => {
  const dir = tmp();
  // $20 + $3 × 21.625 = $84.88: under the $100 budget.
  const e = start(dir, JAN_10, 20);
  assert.deepEqual(kinds(e.alerts), []);
  e.spend(10); // $94.88
  assert.deepEqual(kinds(e.alerts), []);
  e.spend(10); // $104.88, with $40 spent: over the budget while there is time to act
  assert.deepEqual(kinds(e.alerts), ['forecast']);
  const alert = e.alerts.find((a) => a.kind === 'forecast')!;
  assert.equal(alert.kind, 'forecast');
  assert.equal(alert.kind === 'forecast' && alert.projectedMonthUsd, 40 + 3 * 21.625);
  // Stable, as the thresholds' ids: the month's one forecast alert (for this cap) has one id wherever it is raised.
  assert.match(alert.id, /^budget:\|month\|\d+\|100\|forecast$/);
  assert.equal(
    alert.message,
    'On pace for $104.88 this month, over your $100.00 monthly budget (month to date + 7-day daily average × 21.6 days left); $40.00 spent so far.',
  );
  assert.deepEqual(alertView({ ...alert, audience: 'owner' }, { isOwner: true, workspace: undefined, meteredSessions: new Set() }), {
    severity: 'warning',
    text: alert.message,
    actions: ['Open Dashboard', 'Raise Budget'],
  });
  e.spend(1);
  e.clock.now += 5 * HOUR;
  e.spend(1);
  assert.deepEqual(kinds(e.alerts), ['forecast'], 'once');
  e.spend(10); // $52: the 50 % alert comes after
  assert.deepEqual(kinds(e.alerts), ['forecast', 'budget 0.5']);

  // A restart the same month: remembered, not repeated.
  const again = start(dir, JAN_10 + 8 * HOUR, 45);
  assert.deepEqual(kinds(again.alerts), []);
  // A new month: the forecast may alert again.
  const feb = start(dir, new Date(2025, 1, 2, 9).getTime(), 10);
  assert.deepEqual(kinds(feb.alerts), []);
  feb.spend(30); // $40 + $3 × (0.625 + 26)
  assert.deepEqual(kinds(feb.alerts), ['forecast']);
});

test('no forecast alert once half the budget is spent, nor without enough history', () => {
  // Already $50 of $100: the 50 % alert says it; the forecast has nothing to add.
  const late = start(tmp(), JAN_10, 50);
  late.spend(20);
  assert.deepEqual(kinds(late.alerts), ['budget 0.5']);
  // Two whole days of history: however high the spend, no projection to alert on.
  const young = start(tmp(), JAN_10, 40, '2025-01-08');
  young.spend(5);
  assert.deepEqual(kinds(young.alerts), []);
  // Three days: enough ($45 + $3 × 21.625 > $100).
  const three = start(tmp(), JAN_10, 40, '2025-01-07');
  assert.deepEqual(kinds(three.alerts), ['forecast']);
});

test('a crossing at start (budget set while no engine ran) alerts once; without a store it is taken as behind', () => {
  const dir = tmp();
  assert.deepEqual(kinds(start(dir, JAN_10, 40).alerts), ['forecast']);
  assert.deepEqual(kinds(start(dir, JAN_10 + HOUR, 40).alerts), []);
  const base = emptyBaseline(JAN_10);
  base.trailingDays = new Array(7).fill(usdToNanos(3));
  base.monthByWorkspace.set('', usdToNanos(40));
  base.firstRecordDay = '2024-11-20';
  const storeless = new Guards({ settings: { 'burnrate.budget.monthly': 100 }, baseline: base, now: () => JAN_10 });
  const alerts: GuardAlert[] = [];
  storeless.on('alert', (a: GuardAlert) => alerts.push(a));
  storeless.reviewBudgets();
  storeless.settle(makeRecord({ startedAt: JAN_10, costNanos: usdToNanos(1) }));
  assert.deepEqual(kinds(alerts), []);
});
