/**
 * Budgets and runaway guards as a user meets them: the official SDKs in loops through the proxy
 * against the fake provider. A tripped session's calls never reach the upstream, the SDK does not
 * retry them, other sessions go on, parallel calls cannot overshoot, each detector trips on its
 * pattern and stays quiet on a normal workload.
 */
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { GuardAlert } from '../../src/engine/guards';
import { MANAGEMENT_ROUTES } from '../../src/shared';
import type { RequestRecord } from '../../src/engine/database';
import { DEFAULT_SETTINGS, type BurnRateSettings } from '../../src/engine/settings';
import { subscribeSummaries } from '../../src/extension/link/engineClient';
import { startHarness, type Harness } from '../support/harness';

let h: Harness;
let port: number;
let secret: string;
const alerts: GuardAlert[] = [];
const records: RequestRecord[] = [];
before(async () => {
  h = await startHarness();
  ({ port, secret } = h);
  h.engine.guards.on('alert', (a: GuardAlert) => alerts.push(a));
  h.engine.recorder.on('record', (r: RequestRecord) => records.push(r));
});
after(async () => {
  await h.close();
});
beforeEach(async () => {
  // Records of the previous test still on their way to the database must not count for this one.
  await h.engine.recorder.flush();
  h.fake.reset();
  alerts.length = 0;
  records.length = 0;
});

/** Applies settings for all traffic, the rest at their defaults (as a settings file would). */
function configure(settings: Partial<BurnRateSettings>): void {
  h.engine.guards.configure({ global: settings });
}

// Default SDK retries on purpose: the tests check that the SDKs do not retry a blocked call.
const openai = (session: string) => new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/openai/v1`, defaultHeaders: { 'x-burnrate-session': session } });
const anthropic = (session: string) => new Anthropic({ apiKey: 'sk-ant-test', baseURL: `${h.url}/~session=${session}/anthropic` });
const messages = [{ role: 'user' as const, content: 'hi' }];
const chat = (session: string, content = 'hi') => openai(session).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

/** Calls until one is refused; returns how many went through and the refusal. */
async function untilRefused(call: () => Promise<unknown>, max = 50): Promise<{ succeeded: number; error: Error & { status?: number; headers?: Headers } }> {
  for (let i = 0; i < max; i++) {
    try {
      await call();
    } catch (e) {
      return { succeeded: i, error: e as Error & { status?: number } };
    }
  }
  throw new Error(`no call was refused in ${max} calls`);
}

function management(method: 'GET' | 'POST', route: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: route,
        method,
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        let out = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (out += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: out ? JSON.parse(out) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const upstreamCalls = () => h.fake.calls.length;

describe('session token and cost budgets', () => {
  test('a session is stopped at its token budget; the blocked call never reaches the upstream and is not retried; other sessions go on', async () => {
    configure({ 'burnrate.guard.sessionMaxTokens': 4_000, 'burnrate.guard.onTrip': 'block' });
    // Each call: 1,200 input + 300 output tokens at the fake.
    const { succeeded, error } = await untilRefused(() => chat('tok-1'));
    assert.equal(succeeded, 3, '1,500 tokens a call: the third reaches 4,500 ≥ 4,000 and trips');
    assert.ok(error instanceof OpenAI.PermissionDeniedError, `got ${error.constructor.name}`);
    assert.equal(error.status, 403);
    assert.match(error.message, /session "tok-1"/);
    assert.match(error.message, /burnrate\.guard\.sessionMaxTokens/);
    assert.match(error.message, /Allow Session|sessions\/allow/);
    assert.equal(upstreamCalls(), 3, 'the refused call never reached the upstream');
    const view = h.engine.guards.session('tok-1')!;
    assert.equal(view.blockedCalls, 1, 'the SDK (default maxRetries 2) did not retry the refusal');
    assert.equal(view.state, 'stopped');
    assert.equal(view.tokens, 4_500);

    // Another session is not affected.
    const other = await chat('tok-2');
    assert.equal(other.choices[0].message.content, 'Hello from fake openai.');
    assert.equal(upstreamCalls(), 4);

    const tripAlerts = alerts.filter((a) => a.kind === 'guard');
    assert.equal(tripAlerts.length, 1);
    assert.deepEqual([tripAlerts[0].session, tripAlerts[0].kind === 'guard' && tripAlerts[0].guard], ['tok-1', 'sessionMaxTokens']);
  });

  test('cost budget with the Anthropic SDK: stops once the session has spent its limit, no retry', async () => {
    configure({ 'burnrate.guard.sessionMaxUsd': 0.01, 'burnrate.guard.onTrip': 'block' });
    const client = anthropic('usd-1');
    const { succeeded, error } = await untilRefused(() => client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 300, messages }));
    assert.ok(error instanceof Anthropic.PermissionDeniedError, `got ${error.constructor.name}`);
    assert.match(error.message, /burnrate\.guard\.sessionMaxUsd/);
    await h.engine.recorder.flush();
    const spent = records.filter((r) => r.session === 'usd-1').map((r) => r.costNanos);
    assert.equal(spent.length, succeeded);
    const total = spent.reduce((a, b) => a + b, 0);
    assert.ok(total >= 10_000_000, 'stopped only once the limit was reached');
    assert.ok(total - spent[spent.length - 1] < 10_000_000, 'and not one call later');
    assert.equal(upstreamCalls(), succeeded);
    assert.equal(h.engine.guards.session('usd-1')!.blockedCalls, 1, 'the Anthropic SDK did not retry');
  });

  test('ten parallel calls overshoot the token budget by at most one request', async () => {
    configure({ 'burnrate.guard.sessionMaxTokens': 10_000, 'burnrate.guard.onTrip': 'block' });
    // A prompt whose size matches the tokens the fake reports (about 4 characters a token), with a max_tokens cap.
    h.fake.setUsage({ input: 1_200, cachedRead: 0, output: 300, reasoning: 0 });
    const prompt = 'lorem ipsum '.repeat(400);
    const client = openai('par-1');
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 300, messages: [{ role: 'user', content: prompt }] }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected');
    assert.ok(refused.length > 0, 'some calls were refused');
    assert.ok(refused.every((r) => (r as PromiseRejectedResult).reason instanceof OpenAI.PermissionDeniedError));
    const used = h.engine.guards.session('par-1')!.tokens;
    assert.equal(used, ok * 1_500);
    assert.ok(used <= 10_000 + 1_500, `used ${used} tokens: more than one request past the limit`);
    assert.equal(upstreamCalls(), ok);
  });

  test('warn mode forwards every call and alerts once', async () => {
    configure({ 'burnrate.guard.sessionMaxTokens': 2_000, 'burnrate.guard.onTrip': 'warn' });
    for (let i = 0; i < 4; i++) await chat('warn-1');
    assert.equal(upstreamCalls(), 4);
    const trips = alerts.filter((a) => a.kind === 'guard' && a.session === 'warn-1');
    assert.equal(trips.length, 1);
    assert.match(trips[0].message, /still go through/);
    assert.equal(h.engine.guards.session('warn-1')!.state, 'active');
  });
});

describe('detectors', () => {
  test('request rate: a while-loop script is stopped past maxRequestsPerMinute; a normal pace is not', async () => {
    configure({ 'burnrate.guard.maxRequestsPerMinute': 10, 'burnrate.guard.onTrip': 'block' });
    for (let i = 0; i < 8; i++) await chat('rate-normal', `question ${i}`);
    assert.equal(alerts.length, 0, 'eight calls under a limit of ten: quiet');
    const { succeeded, error } = await untilRefused(() => chat('rate-loop'));
    assert.equal(succeeded, 10);
    assert.match(error.message, /calls within a minute/);
    assert.match(error.message, /burnrate\.guard\.maxRequestsPerMinute/);
    assert.equal(h.engine.guards.session('rate-loop')!.blockedCalls, 1);
  });

  test('repeats: the same request again and again trips; a growing conversation does not', async () => {
    configure({ 'burnrate.guard.maxRepeats': 3, 'burnrate.guard.onTrip': 'block' });
    // A normal agent: each turn sends the conversation so far, so no two requests are the same.
    const convo: Array<{ role: 'user' | 'assistant'; content: string }> = [];
    for (let i = 0; i < 8; i++) {
      convo.push({ role: 'user', content: `step ${i}` });
      const r = await openai('agent-ok').chat.completions.create({ model: 'gpt-4o-mini', messages: convo });
      convo.push({ role: 'assistant', content: r.choices[0].message.content ?? '' });
    }
    assert.equal(alerts.length, 0);
    const { succeeded, error } = await untilRefused(() => chat('agent-loop', 'try again'));
    assert.equal(succeeded, 3);
    assert.match(error.message, /same request 4 times/);
  });

  test('retry storm: failures in a tight loop trip; failures among successes do not', async () => {
    configure({ 'burnrate.guard.retryStormErrors': 5, 'burnrate.guard.onTrip': 'block' });
    const noRetry = new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/~session=storm-ok/openai/v1`, maxRetries: 0 });
    for (let i = 0; i < 6; i++) {
      h.fake.failNext({ kind: 'status', status: 500 });
      await assert.rejects(noRetry.chat.completions.create({ model: 'gpt-4o-mini', messages }));
      await noRetry.chat.completions.create({ model: 'gpt-4o-mini', messages });
    }
    assert.equal(alerts.length, 0, 'every failure followed by a success: quiet');

    h.fake.failNext(...Array.from({ length: 20 }, () => ({ kind: 'status' as const, status: 429, headers: { 'retry-after': '0' } })));
    const looping = new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/~session=storm-1/openai/v1`, maxRetries: 0 });
    let refusal: Error | undefined;
    for (let i = 0; i < 20 && !refusal; i++) {
      try {
        await looping.chat.completions.create({ model: 'gpt-4o-mini', messages });
      } catch (e) {
        if (e instanceof OpenAI.PermissionDeniedError) refusal = e;
      }
    }
    assert.ok(refusal, 'the storm was stopped');
    assert.match(refusal.message, /retry storm/);
    assert.equal(upstreamCalls(), 12 + 5, 'five failures reached the upstream, then nothing');
  });
});

describe('stopping and allowing sessions', () => {
  test('stop and allow through the management API', async () => {
    configure({});
    await chat('mgmt-1');
    const listed = await management('GET', MANAGEMENT_ROUTES.sessions);
    const row = listed.body.sessions.find((s: { id: string }) => s.id === 'mgmt-1');
    assert.deepEqual([row.state, row.requests, row.tokens], ['active', 1, 1_500]);
    assert.ok(row.costUsd > 0);

    assert.equal((await management('POST', MANAGEMENT_ROUTES.sessionStop, { session: 'mgmt-1' })).body.state, 'stopped');
    await assert.rejects(chat('mgmt-1'), (e: Error) => e instanceof OpenAI.PermissionDeniedError && /stopped by the user/.test(e.message));
    assert.equal(upstreamCalls(), 1);
    await chat('mgmt-2');

    assert.equal((await management('POST', MANAGEMENT_ROUTES.sessionAllow, { session: 'mgmt-1' })).body.state, 'active');
    await chat('mgmt-1');
    assert.equal(upstreamCalls(), 3);

    assert.equal((await management('POST', MANAGEMENT_ROUTES.sessionAllow, { session: 'nope' })).status, 404);
    assert.equal((await management('POST', MANAGEMENT_ROUTES.sessionStop, {})).status, 400);
  });

  test('raise limit: a tripped session gets double its limit and goes on', async () => {
    configure({ 'burnrate.guard.sessionMaxTokens': 3_000, 'burnrate.guard.onTrip': 'block' });
    const first = await untilRefused(() => chat('raise-1'));
    assert.equal(first.succeeded, 2);
    const raised = await management('POST', MANAGEMENT_ROUTES.sessionRaise, { session: 'raise-1' });
    assert.equal(raised.body.limits.sessionMaxTokens, 6_000);
    const second = await untilRefused(() => chat('raise-1'));
    assert.equal(second.succeeded, 2, 'two more calls reach 6,000 tokens');
  });

  test('an open stream is cut when its session is stopped', async () => {
    configure({});
    h.fake.failNext({ kind: 'stall', ms: 5_000 });
    const stream = await openai('cut-1').chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const recorded = h.nextRecords();
    const it = stream[Symbol.asyncIterator]();
    const firstChunk = await it.next();
    assert.equal(firstChunk.done, false);
    await management('POST', MANAGEMENT_ROUTES.sessionStop, { session: 'cut-1' });
    await assert.rejects(async () => {
      for (let r = await it.next(); !r.done; r = await it.next());
    });
    const [rec] = await recorded;
    assert.equal(rec.session, 'cut-1');
    assert.match(rec.error ?? '', /stopped session "cut-1"/);
    assert.equal(rec.costStatus, 'estimated');
  });
});

describe('workspace budgets', () => {
  test('block mode: once the daily budget is spent, calls are refused with how to go on; warn mode alerts and forwards', async () => {
    // gpt-4o-mini at the fake's usage: $0.000345 a call. A workspace's own budget of $0.001.
    configure({});
    h.engine.guards.configure({ workspace: { name: 'proj-a', settings: { 'burnrate.budget.daily': 0.001, 'burnrate.budget.onExceed': 'block' } } });
    const inWorkspace = new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/~workspace=proj-a/openai/v1` });
    const { succeeded, error } = await untilRefused(() => inWorkspace.chat.completions.create({ model: 'gpt-4o-mini', messages }));
    assert.equal(succeeded, 3);
    assert.ok(error instanceof OpenAI.PermissionDeniedError);
    assert.match(error.message, /workspace "proj-a"'s daily budget/);
    assert.match(error.message, /burnrate\.budget\.daily/);
    const budgetAlerts = alerts.filter((a) => a.kind === 'budget');
    assert.deepEqual(
      budgetAlerts.map((a) => a.kind === 'budget' && a.threshold),
      [0.5, 1],
      'one alert per threshold crossed (0.8 was passed in the same call as 1)',
    );
    assert.ok(budgetAlerts.every((a) => a.workspace === 'proj-a'));
    // Another workspace is not limited by proj-a's budget.
    await new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/~workspace=proj-b/openai/v1` }).chat.completions.create({ model: 'gpt-4o-mini', messages });
    h.engine.guards.configure({ workspace: { name: 'proj-a', settings: {} } });

    // Warn mode: the same budget alerts, and every call goes through.
    alerts.length = 0;
    h.fake.reset();
    h.engine.guards.configure({ workspace: { name: 'proj-w', settings: { 'burnrate.budget.daily': 0.001 } } });
    const warned = new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/~workspace=proj-w/openai/v1` });
    for (let i = 0; i < 5; i++) await warned.chat.completions.create({ model: 'gpt-4o-mini', messages });
    assert.equal(upstreamCalls(), 5);
    assert.deepEqual(
      alerts.map((a) => a.kind === 'budget' && a.threshold),
      [0.5, 1],
    );
    assert.match(
      alerts[1].message,
      /Workspace "proj-w": daily budget: \$0\.00104 of \$0\.00100|Workspace "proj-w": daily budget: .* spent \(103 %\)\. Calls still go through/,
    );
    h.engine.guards.configure({ workspace: { name: 'proj-w', settings: {} } });
  });

  test('settings arrive live through the management API and alerts reach every window on the events stream', async () => {
    const events: GuardAlert[] = [];
    const received: string[] = [];
    const stream = subscribeSummaries(port, secret, { onSummary: () => received.push('summary'), onAlert: (a) => events.push(a) });
    const bad = await management('POST', MANAGEMENT_ROUTES.settings, { global: { 'burnrate.proxy.port': 1 } });
    assert.equal(bad.status, 400);
    const answer = await management('POST', MANAGEMENT_ROUTES.settings, {
      global: { 'burnrate.guard.maxRequestsPerMinute': 2, 'burnrate.guard.onTrip': 'warn' },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.global.guard.maxRequestsPerMinute, 2);
    for (let i = 0; i < 3; i++) await chat('sse-1');
    // (Alerts of earlier tests, raised while no window followed, arrive first: the first window to follow shows them.)
    while (!events.some((e) => e.session === 'sse-1')) await new Promise((r) => setTimeout(r, 20));
    stream.close();
    const trip = events.find((e) => e.session === 'sse-1')!;
    assert.equal(trip.kind, 'guard');
    assert.equal(upstreamCalls(), 3, 'warn mode forwarded all three');
    configure(DEFAULT_SETTINGS);
  });
});

describe('inferred sessions', () => {
  test('untagged calls from one key and client share an inferred session, recorded in the session column', async () => {
    configure({});
    const client = new OpenAI({ apiKey: 'sk-inferred-key', baseURL: `${h.url}/openai/v1` });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    await new OpenAI({ apiKey: 'sk-another-key', baseURL: `${h.url}/openai/v1` }).chat.completions.create({ model: 'gpt-4o-mini', messages });
    while (records.length < 3) await new Promise((r) => setTimeout(r, 10));
    const [a, b, c] = records.map((r) => r.session);
    assert.match(a!, /^auto-[0-9a-f]{6}-\d{8}-\d{4}$/);
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.ok(!h.fake.calls.some((call) => JSON.stringify(call.headers).includes('auto-')), 'the inferred tag is not sent upstream');
  });
});
