/**
 * WebSocket transports as clients use them: the Responses API's WebSocket mode (what Codex uses by
 * default) and the Realtime API through the openai SDK's own client, each response priced exactly
 * from its reported usage; guards answering on the socket.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import WebSocket from 'ws';
import type { RequestRecord } from '../../src/engine/database';
import { filesUnder } from '../support/files';
import { nanos, useHarness } from '../support/harness';
import { closed, connectSocket, eventsUntil, exchange, GPT_41_MINI_TURN_NANOS, responseCreate, TEST_KEY } from '../support/websocketClient';

const h = useHarness();

const connect = (path: string, opts?: Parameters<typeof connectSocket>[2]) => connectSocket(h.url, path, opts);
const received = (type: string) => h.fake.sockets.received.filter((m) => m.type === type);

describe('Responses API WebSocket mode', () => {
  test('each response on one socket is one record, priced exactly; keys forwarded, tags stripped', async () => {
    const recorded = h.nextRecords(2);
    const ws = await connect('/~feature=ws-test/openai/v1/responses', { headers: { authorization: `Bearer ${TEST_KEY}`, 'x-burnrate-session': 'ws-1' } });
    const first = await exchange(ws, responseCreate(), 'response.completed');
    const second = await exchange(ws, responseCreate({ previous_response_id: first.at(-1).response.id }), 'response.completed');
    ws.close(1000);
    const recs = await recorded;

    assert.deepEqual(first.map((e) => e.type).slice(0, 2), ['response.created', 'response.in_progress']);
    assert.equal(
      first
        .filter((e) => e.type === 'response.output_text.delta')
        .map((e) => e.delta)
        .join(''),
      'Hello from fake openai.',
    );
    assert.deepEqual(second.at(-1).response.usage.input_tokens, 1200);
    for (const rec of recs) {
      assert.deepEqual(
        [rec.provider, rec.endpoint, rec.model, rec.stream, rec.status, rec.costStatus, rec.costNanos, rec.session, rec.feature],
        ['openai', 'responses', 'gpt-4.1-mini', true, 200, 'exact', GPT_41_MINI_TURN_NANOS, 'ws-1', 'ws-test'],
      );
      assert.deepEqual([rec.inputTokens, rec.cacheReadTokens, rec.outputTokens, rec.reasoningTokens], [1200, 200, 300, 50]);
      assert.match(rec.keyFingerprint ?? '', /^k_/);
    }
    const [handshake] = h.fake.calls;
    assert.equal(h.fake.calls.length, 1, 'one upgrade, no retry');
    assert.equal(handshake.path, '/openai/v1/responses');
    assert.equal(handshake.headers.authorization, `Bearer ${TEST_KEY}`);
    assert.equal(Object.keys(handshake.headers).filter((k) => k.startsWith('x-burnrate')).length, 0);
    assert.equal(received('response.create').length, 2);
  });

  test('messages reach the provider byte for byte, text and binary', async () => {
    const ws = await connect('/openai/v1/responses');
    const text = Buffer.from(responseCreate({ metadata: { note: 'ünïcode ✓' } }));
    const binary = Buffer.from([0, 1, 2, 254, 255]);
    // The provider answers a binary frame with an error event, as it does any frame that is not a JSON event.
    await exchange(ws, binary, 'error');
    await exchange(ws, text.toString('utf8'), 'response.completed');
    ws.close();
    const [bin, txt] = h.fake.sockets.received;
    assert.deepEqual([bin.isBinary, bin.data.equals(binary)], [true, true]);
    assert.deepEqual([txt.isBinary, txt.data.equals(text)], [false, true]);
  });

  test('an error event answers a bad response.create: recorded at $0 with the error, the socket stays open', async () => {
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/responses');
    const events = await exchange(ws, JSON.stringify({ type: 'response.create', input: 'no model' }), 'error');
    assert.equal(events.at(-1).error.code, 'missing_required_parameter');
    const [rec] = await recorded;
    assert.deepEqual([rec.status, rec.costNanos, rec.costStatus], [400, 0, 'exact']);
    assert.match(rec.error ?? '', /Missing required parameter/);
    await exchange(ws, responseCreate(), 'response.completed');
    ws.close();
  });

  test('a plain GET /v1/responses (no Upgrade) is still an HTTP call', async () => {
    const res = await fetch(`${h.url}/openai/v1/responses`, { headers: { authorization: `Bearer ${TEST_KEY}` } });
    assert.equal(res.status, 404);
  });
});

/** The SDK dials wss:// whatever the base URL says; the loopback proxy speaks plain ws (README "WebSocket"). */
const plainConnection = ((o: net.TcpNetConnectOpts) => net.connect({ host: o.host, port: o.port })) as typeof net.createConnection;

describe('Realtime API through the openai SDK', () => {
  /** gpt-realtime's published prices, $/MTok: text in 4, cached 0.40, out 16; audio in 32, cached 0.40, out 64. */
  const REALTIME_TURN = nanos(300 * 4 + 100 * 0.4 + 400 * 32 + 200 * 0.4 + 100 * 16 + 400 * 64);

  async function realtimeTurn(model: string): Promise<{ done: any; rec: RequestRecord }> {
    const client = new OpenAI({ apiKey: TEST_KEY, baseURL: `${h.url}/openai/v1` });
    const rt = new OpenAIRealtimeWS({ model, options: { createConnection: plainConnection } }, client);
    const events: any[] = [];
    rt.on('event', (e) => events.push(e));
    const errors: unknown[] = [];
    rt.on('error', (e) => errors.push(e));
    await new Promise<void>((resolve) => rt.socket.once('open', () => resolve()));
    const recorded = h.nextRecords();
    const done = new Promise<any>((resolve) => rt.on('response.done', resolve));
    rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } });
    rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hello.' }] } });
    rt.send({ type: 'response.create' });
    const [response, [rec]] = await Promise.all([done, recorded]);
    rt.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(
      events.slice(0, 4).map((e) => e.type),
      ['session.created', 'session.updated', 'conversation.item.created', 'response.created'],
    );
    return { done: response, rec };
  }

  test('response.done usage (text, audio, cached) priced exactly at gpt-realtime audio and text rates', async () => {
    const { done, rec } = await realtimeTurn('gpt-realtime');
    assert.equal(done.response.usage.output_token_details.audio_tokens, 400);
    assert.deepEqual(
      [rec.endpoint, rec.model, rec.inputTokens, rec.cacheReadTokens, rec.outputTokens, rec.costStatus, rec.costNanos],
      ['realtime', 'gpt-realtime', 1000, 300, 500, 'exact', REALTIME_TURN],
    );
    const [handshake] = h.fake.calls;
    assert.deepEqual([handshake.path, handshake.query.model, handshake.headers.authorization], ['/openai/v1/realtime', 'gpt-realtime', `Bearer ${TEST_KEY}`]);
  });

  test('a model the price data does not know is unpriced, never a silent $0', async () => {
    const { rec } = await realtimeTurn('gpt-realtime-unheard-of');
    assert.deepEqual([rec.model, rec.costStatus, rec.costNanos, rec.inputTokens], ['gpt-realtime-unheard-of', 'unpriced', 0, 1000]);
  });

  test('a response the server starts by itself (turn detection on committed audio) is recorded and priced too', async () => {
    const client = new OpenAI({ apiKey: TEST_KEY, baseURL: `${h.url}/openai/v1` });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: { createConnection: plainConnection } }, client);
    await new Promise<void>((resolve) => rt.socket.once('open', () => resolve()));
    const recorded = h.nextRecords();
    const done = new Promise<any>((resolve) => rt.on('response.done', resolve));
    rt.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad' } } } } });
    rt.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(9600).toString('base64') });
    rt.send({ type: 'input_audio_buffer.commit' });
    const [, [rec]] = await Promise.all([done, recorded]);
    rt.close();
    assert.deepEqual([rec.endpoint, rec.model, rec.costStatus, rec.costNanos], ['realtime', 'gpt-realtime', 'exact', REALTIME_TURN]);
    assert.equal(received('response.create').length, 0);
  });

  test('the key as a subprotocol (browser clients) is forwarded and fingerprinted; the chosen subprotocol comes back', async () => {
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/realtime?model=gpt-realtime', {
      headers: {},
      protocols: ['realtime', 'openai-insecure-api-key.sk-canary-subprotocol'],
    });
    assert.equal(ws.protocol, 'realtime');
    await eventsUntil(ws, 'session.created');
    await exchange(ws, JSON.stringify({ type: 'response.create' }), 'response.done');
    ws.close();
    const [rec] = await recorded;
    assert.match(rec.keyFingerprint ?? '', /^k_/);
    assert.equal(rec.costStatus, 'exact');
    await h.engine.recorder.flush();
    for (const file of filesUnder(h.dir)) assert.ok(!fs.readFileSync(file).includes('sk-canary-subprotocol'), `the key is in ${path.relative(h.dir, file)}`);
  });
});

describe('guards on the socket', () => {
  test('a stopped session: its response.create gets an error event, the socket is closed with the reason, the provider sees nothing', async () => {
    const ws = await connect('/openai/v1/responses', { headers: { authorization: `Bearer ${TEST_KEY}`, 'x-burnrate-session': 'ws-stop' } });
    h.engine.guards.stop('ws-stop');
    const errorEvent = new Promise<any>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    const closing = closed(ws);
    ws.send(responseCreate());
    const [event, close] = await Promise.all([errorEvent, closing]);
    assert.deepEqual([event.type, event.error.code], ['error', 'session_stopped']);
    assert.equal(close.code, 1008);
    assert.match(close.reason, /stopped/);
    assert.equal(received('response.create').length, 0);
  });

  test("over budget: the response.create gets an error event in OpenAI's shape and never reaches the provider; the socket stays open", async () => {
    // A workspace's own budget of half a turn: the first turn is admitted, the next is over budget.
    h.engine.guards.configure({
      workspace: { name: 'ws-budget', settings: { 'burnrate.budget.daily': GPT_41_MINI_TURN_NANOS / 2e9, 'burnrate.budget.onExceed': 'block' } },
    });
    const ws = await connect('/~workspace=ws-budget/openai/v1/responses');
    const recorded = h.nextRecords();
    await exchange(ws, responseCreate(), 'response.completed');
    await recorded;
    const events = await exchange(ws, responseCreate({ event_id: 'evt_client_2' }), 'error');
    const error = events.at(-1);
    assert.equal(error.error.code, 'budget_exceeded');
    assert.equal(error.error.event_id, 'evt_client_2');
    assert.match(error.error.message, /^Burn Rate: .*daily budget/);
    assert.equal(received('response.create').length, 1);
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
  });

  test('a session stopped mid-response: the socket is closed with the reason, the partial response is recorded', async () => {
    h.fake.sockets.failNext({ kind: 'stallMidResponse', afterEvents: 5 });
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/responses', { headers: { authorization: `Bearer ${TEST_KEY}`, 'x-burnrate-session': 'ws-cut' } });
    await Promise.all([new Promise((resolve) => ws.once('message', resolve)), ws.send(responseCreate())]);
    const closing = closed(ws);
    h.engine.guards.stop('ws-cut');
    const close = await closing;
    assert.equal(close.code, 1008);
    assert.match(close.reason, /stopped session "ws-cut"/);
    const [rec] = await recorded;
    assert.equal(rec.costStatus, 'estimated');
    assert.match(rec.error ?? '', /stopped session "ws-cut"/);
  });
});
