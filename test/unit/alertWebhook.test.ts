/**
 * The alert webhook (burnrate.alerts.webhookUrl) against a real HTTP receiver on 127.0.0.1: one POST
 * per alert (budget threshold, guard trip, anomaly), none again after a restart; retried with
 * backoff through a receiver that is down, then 503s; not retried on a 4xx; a full queue drops the
 * oldest; the URL never in a log line; a workspace cannot set it. Backoff runs on an injected timer
 * (the delays asked for are recorded, each waited 1 ms), never on real long sleeps.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { AlertWebhook, scrubUrl, type AlertWebhookOptions } from '../../src/engine/alerts';
import { BudgetAlertFile } from '../../src/engine/database';
import { Guards, type GuardAlert } from '../../src/engine/guards';
import { emptyBaseline, TRAILING_DAYS } from '../../src/engine/queries';
import { usdToNanos } from '../../src/engine/pricing';
import { type BurnRateSettings } from '../../src/engine/settings';
import { validateSetting } from '../../src/shared';
import { readConfig, type Inspect } from '../../src/extension/settings/config';
import { testAlertView } from '../../src/extension/commands/alerts';
import { makeRecord } from '../support/records';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';

const JAN_15 = new Date(2025, 0, 15, 9, 0).getTime();
const logLines: string[] = [];
const receivers: WebhookReceiver[] = [];
const log = (level: string, message: string) => logLines.push(`${level}: ${message}`);

after(async () => {
  for (const r of receivers) await r.close().catch(() => {});
  // Whatever happened above, no log line held the URL, its token or its host and port.
  for (const r of receivers) {
    for (const line of logLines) {
      assert.ok(!line.includes(r.token) && !line.includes(`127.0.0.1:${r.port}`) && !line.includes('/services/'), `a log line holds the URL: ${line}`);
    }
  }
  assert.ok(logLines.length > 0, 'the webhook logged what it did');
});

async function receiver(): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

/** A webhook whose retry delays are recorded and each waited 1 ms. */
function webhook(url: string, opts: Partial<AlertWebhookOptions> = {}) {
  const delays: number[] = [];
  const hook = new AlertWebhook(
    {
      url,
      setTimer: (run, ms) => {
        delays.push(ms);
        return setTimeout(run, 1);
      },
      random: () => 1,
      ...opts,
    },
    log,
  );
  return { hook, delays };
}

/** The guards over a data dir, as Engine.start wires them: every alert to the webhook. */
function guardsWithWebhook(dataDir: string, hook: AlertWebhook, settings: Partial<BurnRateSettings>, now: () => number, spentTodayUsd = 0) {
  const baseline = emptyBaseline(now());
  baseline.trailingDays = new Array(TRAILING_DAYS).fill(usdToNanos(0.5));
  // What the database holds at start: today's spend so far, untagged.
  baseline.todayByWorkspace.set('', usdToNanos(spentTodayUsd));
  baseline.monthByWorkspace.set('', usdToNanos(spentTodayUsd));
  const guards = new Guards({ settings, baseline, now, alertedStore: BudgetAlertFile.inDataDir(dataDir), log });
  const alerts: GuardAlert[] = [];
  guards.on('alert', (a: GuardAlert) => {
    alerts.push(a);
    hook.send(a);
  });
  guards.reviewBudgets();
  return { guards, alerts };
}

const settle = (guards: Guards, usd: number, session: string | null = null) =>
  guards.settle(makeRecord({ startedAt: JAN_15, costNanos: usdToNanos(usd), session }));

test('one POST per alert (budget threshold, guard trip, anomaly), Slack-shaped; none again after a restart', async () => {
  const r = await receiver();
  const { hook } = webhook(r.url);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-webhook-'));
  const settings = { 'burnrate.budget.daily': 10, 'burnrate.guard.sessionMaxUsd': 2 };
  const now = () => JAN_15;
  const first = guardsWithWebhook(dir, hook, settings, now);
  settle(first.guards, 2.5, 'agent-1'); // session over $2: a guard trip; $2.50 > 3 × $0.50: the anomaly
  settle(first.guards, 3); // $5.50 of $10: the 50 % threshold
  settle(first.guards, 0.01); // nothing new
  assert.deepEqual(first.alerts.map((a) => a.kind).sort(), ['anomaly', 'budget', 'guard']);
  const posts = await r.received(3);
  assert.deepEqual(posts.map((p) => p.body.burnrate.kind).sort(), ['anomaly', 'budget', 'guard']);
  for (const p of posts) {
    assert.equal(p.contentType, 'application/json');
    assert.match(p.body.text, /^Burn Rate: /);
    assert.equal(p.body.text, `Burn Rate: ${p.body.burnrate.message}`);
  }
  const budget = posts.find((p) => p.body.burnrate.kind === 'budget')!.body;
  assert.match(budget.text, /Daily budget: \$5\.50 of \$10\.00 spent \(55 %\)/);
  assert.equal(budget.burnrate.threshold, 0.5);
  assert.equal(budget.burnrate.capUsd, 10);
  assert.equal(posts.find((p) => p.body.burnrate.kind === 'guard')!.body.burnrate.session, 'agent-1');

  // The same alert raised again (a second listener, a replay) is not posted twice.
  for (const a of first.alerts) hook.send(a);
  // A restart (or another window taking over) the same day: the threshold and the anomaly are remembered.
  const { hook: hook2 } = webhook(r.url);
  const second = guardsWithWebhook(dir, hook2, settings, now, 5.51);
  settle(second.guards, 0.01);
  assert.deepEqual(second.alerts, []);
  const { hook: hook3 } = webhook(r.url);
  hook3.send({ kind: 'test', id: 'marker', at: JAN_15, message: 'marker' });
  await r.received(4);
  assert.deepEqual(
    r.posts.map((p) => p.body.burnrate.kind),
    [...posts.map((p) => p.body.burnrate.kind), 'test'],
    'nothing but the marker after the first three',
  );
  for (const h of [hook, hook2, hook3]) h.close();
});

test('a receiver that is down, then 503s, gets the alert once, retried with growing backoff', async () => {
  const r = await receiver();
  await r.stop(); // refused
  r.answer = (n) => (n === 0 ? { status: 503, retryAfter: '0' } : 'accept');
  const delays: number[] = [];
  const hook = new AlertWebhook(
    {
      url: r.url,
      // Two refused attempts, then the receiver is up again (503 once, then it accepts).
      setTimer: (run, ms) => void (delays.push(ms) === 2 ? r.start().then(run) : setTimeout(run, 1)),
      random: () => 1,
    },
    log,
  );
  hook.send({ kind: 'budget', id: 'budget:x', at: JAN_15, message: 'Daily budget: $8.00 of $10.00 spent (80 %).' });
  await r.received(2);
  await waitFor(() => logLines.some((l) => l.includes('budget alert delivered')));
  assert.deepEqual(
    r.posts.map((p) => p.body.burnrate.id),
    ['budget:x', 'budget:x'],
    'the 503 and the delivery',
  );
  // random() = 1: each wait is the whole backoff, doubling from 3 s.
  assert.deepEqual(delays, [3_000, 6_000, 12_000]);
  assert.ok(logLines.some((l) => /alert webhook: budget alert not delivered \(network error ECONNREFUSED\); retry 1 in 3 s/.test(l)));
  assert.ok(logLines.some((l) => /not delivered \(the receiver answered 503\)/.test(l)));
  hook.close();
});

test('429 waits as long as Retry-After asks (within the cap); a 4xx other than 429 is not retried', async () => {
  const r = await receiver();
  r.answer = (n) => (n === 0 ? { status: 429, retryAfter: '30' } : n === 1 ? 'accept' : { status: 404 });
  const { hook, delays } = webhook(r.url);
  hook.send({ kind: 'anomaly', id: 'anomaly:1', at: JAN_15, message: 'Spend today is high.' });
  await r.received(2);
  hook.send({ kind: 'guard', id: 'guard:1', at: JAN_15, message: 'Session tripped.' });
  await r.received(3);
  await waitFor(() => logLines.some((l) => l.includes('gave up on a guard alert after 1 attempt(s): the receiver answered 404')));
  assert.deepEqual(delays, [30_000], 'one retry, after Retry-After, none after the 404');
  hook.close();
});

test('a full queue drops the oldest alert and says so', async () => {
  const r = await receiver();
  r.answer = () => 'hang';
  const { hook } = webhook(r.url, { maxQueued: 2, timeoutMs: 60_000 });
  for (let i = 0; i < 4; i++) hook.send({ kind: 'guard', id: `g${i}`, at: JAN_15, message: `trip ${i}` });
  assert.equal(logLines.filter((l) => l.includes('2 alerts waiting, the oldest (guard) was dropped')).length, 2);
  const [first] = await r.received(1);
  assert.equal(first.body.burnrate.id, 'g2', 'the two newest were kept');
  hook.close();
  assert.ok(logLines.some((l) => l.includes('alert webhook: 2 alert(s) not delivered before shutdown')));
});

test('the test alert: delivered, or why not, without the URL', async () => {
  const r = await receiver();
  const { hook } = webhook(r.url);
  assert.deepEqual(await hook.sendTest(JAN_15), { delivered: true, status: 200 });
  assert.equal(r.posts[0].body.burnrate.kind, 'test');
  r.answer = () => ({ status: 500 });
  const failed = await hook.sendTest(JAN_15);
  assert.deepEqual(failed, { delivered: false, status: 500, reason: 'the receiver answered 500' });
  assert.equal(r.posts.length, 2, 'the test alert is not retried');
  await r.stop();
  const down = await hook.sendTest(JAN_15);
  assert.equal(down.delivered, false);
  // Refused, or the pooled connection found closed.
  assert.match(down.reason ?? '', /^network error (ECONNREFUSED|UND_ERR_SOCKET)$/);
  hook.close();
  // What Send Test Alert then shows in VS Code.
  assert.equal(testAlertView({ delivered: true, status: 200 }).text, 'Burn Rate: test alert delivered to the alert webhook.');
  assert.deepEqual(testAlertView(failed), { ok: false, text: 'Burn Rate: test alert not delivered: the receiver answered 500.' });
});

test('errors that quote the webhook URL are scrubbed of it and of its host and path', () => {
  const url = 'https://hooks.slack.com/services/T0/B0/abcdefSECRET';
  const text = `request to ${url} failed; getaddrinfo ENOTFOUND hooks.slack.com; path /services/T0/B0/abcdefSECRET`;
  const scrubbed = scrubUrl(text, url);
  assert.ok(!scrubbed.includes('SECRET') && !scrubbed.includes('hooks.slack.com'), scrubbed);
  assert.match(scrubbed, /ENOTFOUND <alert webhook>/);
});

test('the webhook URL comes from user settings only; a bad one is not echoed in the problem', () => {
  const inspect = ((key: string) =>
    key === 'burnrate.alerts.webhookUrl'
      ? { defaultValue: '', workspaceValue: 'https://evil.example/collect', workspaceFolderValue: 'https://evil.example/x' }
      : undefined) as Inspect;
  assert.equal(readConfig(inspect).alertWebhookUrl, '', 'a workspace cannot set it');
  const user = ((key: string) =>
    key === 'burnrate.alerts.webhookUrl'
      ? { defaultValue: '', globalValue: 'https://hooks.slack.com/services/T/B/x', workspaceValue: 'https://evil.example/' }
      : undefined) as Inspect;
  assert.equal(readConfig(user).alertWebhookUrl, 'https://hooks.slack.com/services/T/B/x', "the user's, whatever the workspace says");
  const bad = validateSetting('burnrate.alerts.webhookUrl', 'hooks.slack.com/services/T/B/typoSECRET');
  assert.equal(bad.value, undefined);
  assert.ok(!bad.problems.join(' ').includes('SECRET'), bad.problems.join(' '));
});

async function waitFor(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 2));
}
