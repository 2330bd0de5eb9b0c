/**
 * The alert webhook in a real engine, as a user meets it: an official SDK through the proxy crosses
 * a budget threshold and the team's webhook gets one POST, under the extension's engine and under
 * `burnrate serve --config`; a receiver that never answers holds up no proxied call; the test alert
 * route says how it went; no log line (nor serve's stderr) holds the URL.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { ManagementRoutes } from '../../src/shared';
import { callRoute } from '../../src/engine/management';
import { exited, startServe } from '../support/cliProcess';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';
import { startHarness } from '../support/harness';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';

const messages = [{ role: 'user' as const, content: 'hi' }];
let receiver: WebhookReceiver;
let fake: FakeProvider;
before(async () => {
  receiver = await startWebhookReceiver();
  fake = await startFakeProvider();
});
after(async () => {
  await receiver.close();
  await fake.close();
});

const leaks = (text: string) => [receiver.token, `127.0.0.1:${receiver.port}`, '/services/'].filter((s) => text.includes(s));

test('a hanging receiver holds up no proxied call; the alert is posted once; the test alert reports; no URL in the log', async () => {
  receiver.posts.length = 0;
  receiver.answer = () => 'hang';
  const logLines: string[] = [];
  const h = await startHarness({
    // A daily budget of a hundredth of a cent: the first call crosses every threshold.
    settings: { 'burnrate.budget.daily': 0.00001 },
    alertWebhook: { url: receiver.url, timeoutMs: 60_000 },
    log: (level, message) => logLines.push(`${level}: ${message}`),
  });
  try {
    const openai = new OpenAI({ apiKey: 'sk-webhook', baseURL: `${h.url}/openai/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const [post] = await receiver.received(1);
    assert.equal(post.body.burnrate.kind, 'budget');
    assert.match(post.body.text, /^Burn Rate: Daily budget: .* spent/);
    // The webhook's post is still waiting for an answer, and calls go through all the same.
    for (let i = 0; i < 3; i++) {
      const answer = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
      assert.ok(answer.choices.length > 0);
    }
    assert.equal(receiver.posts.length, 1, 'one alert, one post: the later calls crossed no new threshold');

    receiver.answer = () => 'accept';
    const answer = await callRoute({ port: h.port, secret: h.secret }, ManagementRoutes.alertTest, {}, 20_000);
    assert.deepEqual(answer, { delivered: true, status: 200 });
    assert.equal(receiver.posts.at(-1)!.body.burnrate.kind, 'test');
  } finally {
    await h.close();
  }
  assert.ok(logLines.some((l) => l.includes('alerts are also posted to the alert webhook')));
  assert.deepEqual(leaks(logLines.join('\n')), []);
});

test('without a webhook the test alert route says how to set one', async () => {
  const h = await startHarness();
  try {
    const answer = await callRoute({ port: h.port, secret: h.secret }, ManagementRoutes.alertTest, {});
    assert.equal(answer.delivered, false);
    assert.match(answer.reason ?? '', /burnrate\.alerts\.webhookUrl/);
  } finally {
    await h.close();
  }
});

test('burnrate serve --config posts the budget alert to the webhook, and its stderr never shows the URL', async () => {
  receiver.posts.length = 0;
  receiver.answer = () => 'accept';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-serve-webhook-'));
  const config = path.join(dir, 'burnrate.json');
  fs.writeFileSync(config, JSON.stringify({ burnrate: { budget: { daily: 0.00001 }, alerts: { webhookUrl: receiver.url } } }));
  const env = { ...process.env, BURNRATE_HOME: dir };
  const serve = await startServe(env, ['--port', '0', '--db', path.join(dir, 'spend.sqlite'), '--config', config, '--upstream', `openai=${fake.url}`]);
  try {
    const openai = new OpenAI({ apiKey: 'sk-serve-webhook', baseURL: `${serve.url}/openai/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const [post] = await receiver.received(1);
    assert.equal(post.body.burnrate.kind, 'budget');
    assert.equal(post.body.burnrate.capUsd, 0.00001);
  } finally {
    serve.child.kill('SIGINT');
    await exited(serve.child);
  }
  assert.match(serve.stderr(), /alerts are also posted to the alert webhook/);
  assert.match(serve.stderr(), /budget alert delivered/);
  assert.deepEqual(leaks(serve.stderr() + serve.stdout()), []);
});
