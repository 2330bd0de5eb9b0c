/**
 * Which window shows an alert, end to end over the events stream: a real engine (as under
 * `burnrate serve`, hosted by no window), windows following it with the extension's own client,
 * and the extension's shouldNotify deciding in each. Every alert is shown exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { shouldNotify, type WindowRole } from '../../src/extension/commands/alerts';
import { subscribeSummaries, type DeliveredAlert, type SummaryStream } from '../../src/extension/link/engineClient';
import { startHarness, type Harness } from '../support/harness';

let h: Harness;
let port: number;
let secret: string;
before(async () => {
  h = await startHarness();
  ({ port, secret } = h);
});
after(async () => {
  await h.close();
});

interface TestWindow {
  role: WindowRole;
  received: DeliveredAlert[];
  shown: DeliveredAlert[];
  stream: SummaryStream;
}

/** A VS Code window following the engine, as EngineLink does (workspace, and host instance when it hosts it). */
async function follow(workspace: string | undefined, hosts = false): Promise<TestWindow> {
  const role: WindowRole = { isOwner: hosts, workspace, meteredSessions: new Set() };
  const w = { role, received: [] as DeliveredAlert[], shown: [] as DeliveredAlert[] } as TestWindow;
  await new Promise<void>((opened) => {
    w.stream = subscribeSummaries(
      port,
      secret,
      {
        onOpen: opened,
        onSummary: () => {},
        onAlert: (a) => {
          w.received.push(a);
          if (shouldNotify(a, role)) w.shown.push(a);
        },
      },
      45_000,
      workspace,
      hosts ? h.engine.management.health.instance : undefined,
    );
  });
  return w;
}

let calls = 0;
/** One call tagged with `workspace`, past a tiny daily budget of all spend: a budget alert with no workspace. */
async function overBudget(session: string): Promise<void> {
  calls++;
  h.engine.guards.configure({ global: { 'burnrate.budget.daily': 0.000_001 * calls, 'burnrate.budget.alertThresholds': [1] } });
  await new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/~session=${session}/openai/v1`, maxRetries: 0 }).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
  });
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'timed out');
};

test('alerts raised while no window follows are shown by the first window to follow, once', async () => {
  await overBudget('nobody-watching');
  const first = await follow('api');
  await until(() => first.shown.length === 1);
  assert.equal(first.shown[0].kind, 'budget');
  assert.equal(first.shown[0].audience, 'this-window');
  const second = await follow('web');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(second.received.length, 0, 'already shown: not again');
  first.stream.close();
  second.stream.close();
  await new Promise((r) => setTimeout(r, 50));
});

test('an engine no window hosts (burnrate serve): one following window shows the alert, the others do not', async () => {
  const windows = [await follow('api'), await follow('web'), await follow(undefined)];
  await overBudget('serve-1');
  await until(() => windows.every((w) => w.received.length === 1));
  assert.deepEqual(
    windows.map((w) => w.shown.length),
    [1, 0, 0],
    'the longest-following window shows it',
  );
  windows[0].stream.close();
  await new Promise((r) => setTimeout(r, 50));
  await overBudget('serve-2');
  await until(() => windows[1].received.length === 2 && windows[2].received.length === 2);
  assert.deepEqual(
    windows.slice(1).map((w) => w.shown.length),
    [1, 0],
    'when it closes, the next one does',
  );
  for (const w of windows) w.stream.close();
  await new Promise((r) => setTimeout(r, 50));
});

test('an engine hosted by a window: that window shows it, not the first follower', async () => {
  const follower = await follow('web');
  const host = await follow('api', true);
  await overBudget('hosted-1');
  await until(() => follower.received.length === 1 && host.received.length === 1);
  assert.equal(host.received[0].audience, 'owner');
  assert.deepEqual([follower.shown.length, host.shown.length], [0, 1]);
  follower.stream.close();
  host.stream.close();
  await new Promise((r) => setTimeout(r, 50));
});

test("a workspace's alert goes to that workspace's window, hosted or not", async () => {
  const api = await follow('api');
  const web = await follow('web');
  h.engine.guards.configure({
    global: { 'burnrate.budget.daily': 0 },
    workspace: { name: 'web', settings: { 'burnrate.budget.daily': 0.000_000_1, 'burnrate.budget.alertThresholds': [1] } },
  });
  await new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/~workspace=web/openai/v1`, maxRetries: 0 }).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
  });
  await until(() => api.received.length === 1 && web.received.length === 1);
  assert.equal(web.received[0].workspace, 'web');
  assert.deepEqual([api.shown.length, web.shown.length], [0, 1]);
  api.stream.close();
  web.stream.close();
});
