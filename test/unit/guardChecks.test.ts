/** The guard checks through the facade: calls the guards cut themselves are known by id, not by their note. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Guards, type AdmitRequest, type GuardAlert } from '../../src/engine/guards';
import type { RequestRecord } from '../../src/engine/database';
import { makeRecord } from '../support/records';

function call(callId: string, cuts: string[]): AdmitRequest {
  return {
    callId,
    protocol: 'openai',
    providerId: 'openai',
    pricesProvider: 'openai',
    model: 'gpt-4o-mini',
    stream: true,
    path: '/v1/chat/completions',
    body: Buffer.from(callId),
    json: {},
    tags: { session: 'agent' },
    keyFingerprint: null,
    userAgent: 'x',
    cut: (note) => cuts.push(note),
  };
}

function failed(id: string, error: string): RequestRecord {
  return makeRecord({
    id,
    startedAt: 0,
    stream: true,
    status: 0,
    inputTokens: 0,
    outputTokens: 0,
    costNanos: 0,
    costStatus: 'estimated',
    ttftMs: null,
    session: 'agent',
    error,
    priceSource: null,
  });
}

test('streams cut by a stop are not failures of the session; the same notes on calls the guards did not cut are', () => {
  let now = Date.UTC(2025, 0, 15, 9);
  const guards = new Guards({ settings: { 'burnrate.guard.retryStormErrors': 3 }, now: () => now });
  const alerts: GuardAlert[] = [];
  guards.on('alert', (a: GuardAlert) => alerts.push(a));
  const cuts: string[] = [];
  const ids = ['c1', 'c2', 'c3', 'c4'];
  const tickets = ids.map((id) => guards.admit(call(id, cuts)));
  assert.ok(tickets.every((t) => t.allowed));
  guards.stop('agent', 'stopped by the user');
  assert.equal(cuts.length, 4);
  assert.match(cuts[0], /stopped session "agent"/);
  for (const [i, id] of ids.entries()) {
    now += 10;
    if (tickets[i].allowed) guards.release(tickets[i].ticket);
    guards.settle(failed(id, cuts[i]));
  }
  assert.equal(alerts.length, 0);
  guards.allow('agent');
  for (const id of ['x1', 'x2', 'x3']) {
    now += 10;
    guards.settle(failed(id, cuts[0]));
  }
  assert.deepEqual(
    alerts.map((a) => a.kind === 'guard' && a.guard),
    ['retryStorm'],
  );
});
