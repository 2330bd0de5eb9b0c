/** The extension's alert logic: which window shows an alert, what it says and offers; the settings a window sends. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GuardAlert } from '../../src/engine/guards';
import { AlertActions, alertView, shouldNotify, type WindowRole } from '../../src/extension/commands/alerts';
import { readConfig, type Inspect } from '../../src/extension/settings/config';
import type { DeliveredAlert } from '../../src/extension/link/engineClient';
import { guardSettingsUpdate } from '../../src/extension/settings/guardSettings';

const base = { id: 'a1', at: 0, message: 'Session "s" used 4,500 tokens, reaching its limit of 4,000.' };
const guardAlert = (over: Partial<Extract<GuardAlert, { kind: 'guard' }>> = {}, audience: DeliveredAlert['audience'] = 'owner'): DeliveredAlert => ({
  ...base,
  kind: 'guard',
  guard: 'sessionMaxTokens',
  limit: 4000,
  value: 4500,
  action: 'warn',
  session: 's',
  workspace: null,
  ...over,
  audience,
});
const budgetAlert = (workspace: string | null, audience: DeliveredAlert['audience'], threshold = 0.8): DeliveredAlert => ({
  ...base,
  kind: 'budget',
  period: 'day',
  threshold,
  capUsd: 10,
  spentUsd: 8,
  onExceed: 'warn',
  workspace,
  session: null,
  message: 'Daily budget: $8.00 of $10.00 spent (80 %).',
  audience,
});
const role = (r: Partial<WindowRole>): WindowRole => ({ isOwner: false, workspace: undefined, meteredSessions: new Set(), ...r });

test('exactly one of the windows shows each alert', () => {
  const owner = role({ isOwner: true, workspace: 'api' });
  const web = role({ workspace: 'web', meteredSessions: new Set(['term-1']) });
  const other = role({ workspace: 'docs' });
  const windows = [owner, web, other];
  const shownBy = (a: DeliveredAlert) => windows.filter((w) => shouldNotify(a, w));
  // All traffic's budget, an anomaly, a session of no followed workspace: the hosting window.
  assert.deepEqual(shownBy(budgetAlert(null, 'owner')), [owner]);
  assert.deepEqual(shownBy(guardAlert({ workspace: 'gone' }, 'owner')), [owner]);
  // A workspace's budget: that workspace's window.
  assert.deepEqual(shownBy(budgetAlert('web', 'workspace')), [web]);
  // A metered terminal's session: the window that opened the terminal.
  assert.deepEqual(shownBy(guardAlert({ session: 'term-1', workspace: 'web' }, 'workspace')), [web]);
});

test('a warn-mode trip offers Stop Session / Raise Limit / Ignore; a metered terminal can be ended for real', () => {
  const v = alertView(guardAlert(), role({}));
  assert.equal(v.severity, 'warning');
  assert.deepEqual(v.actions, [AlertActions.stopSession, AlertActions.raiseLimit, AlertActions.ignore]);
  assert.equal(v.text, base.message);
  const metered = alertView(guardAlert({ session: 'term-1' }), role({ meteredSessions: new Set(['term-1']) }));
  assert.deepEqual(metered.actions, [AlertActions.stopAndEndTerminal, AlertActions.raiseLimit, AlertActions.ignore]);
});

test('a block-mode trip is an error offering Allow Session and Raise Limit', () => {
  const message =
    'Session "s" used 4,500 tokens, reaching its limit of 4,000. Its calls are refused and its open streams cut. To let it go on: "Burn Rate: Allow Session" in VS Code, `burnrate sessions allow s`, POST /_burnrate/sessions/allow {"session":"s"}, or raise burnrate.guard.sessionMaxTokens.';
  const v = alertView(guardAlert({ action: 'block', message }), role({}));
  assert.equal(v.severity, 'error');
  assert.equal(
    v.text,
    'Session "s" used 4,500 tokens, reaching its limit of 4,000. Its calls are refused and its open streams cut. Allow Session lets it go on; Raise Limit doubles its limit for this session.',
  );
  assert.deepEqual(v.actions, [AlertActions.allowSession, AlertActions.raiseLimit]);
});

test('budget alerts: warning below 100 %, error at it, with the numbers and Open Dashboard / Raise Budget', () => {
  const v = alertView(budgetAlert(null, 'owner'), role({ isOwner: true }));
  assert.equal(v.severity, 'warning');
  assert.equal(v.text, 'Daily budget: $8.00 of $10.00 spent (80\u00a0%).', 'the notification names its source; the figure stays on one line');
  assert.deepEqual(v.actions, [AlertActions.openDashboard, AlertActions.raiseBudget]);
  assert.equal(alertView(budgetAlert(null, 'owner', 1), role({})).severity, 'error');
});

test("a window sends the user's limits for all traffic and only what its workspace tightened", () => {
  const inspect = (user: Record<string, unknown>, workspace: Record<string, unknown>): Inspect =>
    ((key: string) => ({ globalValue: user[key], workspaceValue: workspace[key] })) as Inspect;
  const userOnly = readConfig(inspect({ 'burnrate.budget.daily': 20, 'burnrate.guard.sessionMaxTokens': 100_000 }, {}));
  const effective = readConfig(
    inspect({ 'burnrate.budget.daily': 20, 'burnrate.guard.sessionMaxTokens': 100_000 }, { 'burnrate.budget.daily': 5, 'burnrate.guard.onTrip': 'block' }),
  );
  const update = guardSettingsUpdate(userOnly, effective, 'proj');
  assert.equal(update.global['burnrate.budget.daily'], 20);
  assert.equal(update.global['burnrate.guard.sessionMaxTokens'], 100_000);
  assert.deepEqual(update.workspace, { name: 'proj', settings: { 'burnrate.budget.daily': 5, 'burnrate.guard.onTrip': 'block' } });
  assert.equal(
    guardSettingsUpdate(userOnly, userOnly, 'proj').workspace?.settings &&
      Object.keys(guardSettingsUpdate(userOnly, userOnly, 'proj').workspace!.settings).length,
    0,
  );
});
