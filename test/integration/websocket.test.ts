/**
 * WebSocket on every route, as clients use it: the Responses API's WebSocket mode (what Codex uses
 * by default) and the Realtime API through the openai SDK's own client, each response priced exactly
 * from its reported usage; frames relayed unchanged both ways (big, fragmented, binary, pings, close
 * codes, compression); the upgrade path refusing what HTTP refuses; guards answering on the socket.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import WebSocket from 'ws';
import type { RequestRecord } from '../../src/engine/record';
import { startHarness, nanos, type Harness } from '../support/harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});
beforeEach(async () => {
  await h.engine.recorder.flush();
  h.engine.guards.configure({ global: {} });
  h.fake.reset();
  h.records.length = 0;
});

const KEY = 'sk-test-websocket';
/** gpt-4.1-mini's published prices, $/MTok: input 0.40, cached input 0.10, output 1.60. */
const GPT_41_MINI_TURN = nanos((1200 - 200) * 0.4 + 200 * 0.1 + 300 * 1.6);

function connect(path: string, opts: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<WebSocket> {
  const { protocols, ...options } = opts;
  const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}${path}`, protocols ?? [], { headers: { authorization: `Bearer ${KEY}` }, ...options });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
    ws.once('error', reject);
  });
}

/** The server events the socket receives until (and with) the first of type `last`. */
function eventsUntil(ws: WebSocket, last: string): Promise<any[]> {
  const events: any[] = [];
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const event = JSON.parse(data.toString('utf8'));
      events.push(event);
      if (event.type === last) {
        ws.off('message', onMessage);
        resolve(events);
      } else if (event.type === 'error') {
        ws.off('message', onMessage);
        reject(Object.assign(new Error(`error event before ${last}: ${event.error?.message}`), { events }));
      }
    };
    ws.on('message', onMessage);
    ws.once('close', (code, reason) => reject(Object.assign(new Error(`closed ${code} before ${last}: ${reason}`), { code, reason: reason.toString(), events })));
  });
}

const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
const responseCreate = (extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'response.create', model: 'gpt-4.1-mini', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }], ...extra });
const received = (type: string) => h.fake.sockets.received.filter((m) => m.type === type);

describe('Responses API WebSocket mode', () => {
  test('each response on one socket is one record, priced exactly; keys forwarded, tags stripped', async () => {
    const recorded = h.nextRecords(2);
    const ws = await connect('/~feature=ws-test/openai/v1/responses', { headers: { authorization: `Bearer ${KEY}`, 'x-burnrate-session': 'ws-1' } });
    const first = await Promise.all([eventsUntil(ws, 'response.completed'), ws.send(responseCreate())]).then(([e]) => e);
    const second = await Promise.all([eventsUntil(ws, 'response.completed'), ws.send(responseCreate({ previous_response_id: first.at(-1).response.id }))]).then(([e]) => e);
    ws.close(1000);
    const recs = await recorded;

    assert.deepEqual(first.map((e) => e.type).slice(0, 2), ['response.created', 'response.in_progress']);
    assert.equal(first.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''), 'Hello from fake openai.');
    assert.deepEqual(second.at(-1).response.usage.input_tokens, 1200);
    for (const rec of recs) {
      assert.deepEqual(
        [rec.provider, rec.endpoint, rec.model, rec.stream, rec.status, rec.costStatus, rec.costNanos, rec.session, rec.feature],
        ['openai', 'responses', 'gpt-4.1-mini', true, 200, 'exact', GPT_41_MINI_TURN, 'ws-1', 'ws-test'],
      );
      assert.deepEqual([rec.inputTokens, rec.cacheReadTokens, rec.outputTokens, rec.reasoningTokens], [1200, 200, 300, 50]);
      assert.match(rec.keyFingerprint ?? '', /^k_/);
    }
    const [handshake] = h.fake.calls;
    assert.equal(h.fake.calls.length, 1, 'one upgrade, no retry');
    assert.equal(handshake.path, '/openai/v1/responses');
    assert.equal(handshake.headers.authorization, `Bearer ${KEY}`);
    assert.equal(Object.keys(handshake.headers).filter((k) => k.startsWith('x-burnrate')).length, 0);
    assert.equal(received('response.create').length, 2);
  });

  test('messages reach the provider byte for byte, text and binary', async () => {
    const ws = await connect('/openai/v1/responses');
    const text = Buffer.from(responseCreate({ metadata: { note: 'ünïcode ✓' } }));
    const binary = Buffer.from([0, 1, 2, 254, 255]);
    // The provider answers a binary frame with an error event, as it does any frame that is not a JSON event.
    await Promise.all([eventsUntil(ws, 'error'), ws.send(binary, { binary: true })]);
    await Promise.all([eventsUntil(ws, 'response.completed'), ws.send(text, { binary: false })]);
    ws.close();
    const [bin, txt] = h.fake.sockets.received;
    assert.deepEqual([bin.isBinary, bin.data.equals(binary)], [true, true]);
    assert.deepEqual([txt.isBinary, txt.data.equals(text)], [false, true]);
  });

  test('an error event answers a bad response.create: recorded at $0 with the error, the socket stays open', async () => {
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/responses');
    const events = await Promise.all([eventsUntil(ws, 'error'), ws.send(JSON.stringify({ type: 'response.create', input: 'no model' }))]).then(([e]) => e);
    assert.equal(events.at(-1).error.code, 'missing_required_parameter');
    const [rec] = await recorded;
    assert.deepEqual([rec.status, rec.costNanos, rec.costStatus], [400, 0, 'exact']);
    assert.match(rec.error ?? '', /Missing required parameter/);
    await Promise.all([eventsUntil(ws, 'response.completed'), ws.send(responseCreate())]);
    ws.close();
  });

  test('a plain GET /v1/responses (no Upgrade) is still an HTTP call', async () => {
    const res = await fetch(`${h.url}/openai/v1/responses`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(res.status, 404);
  });
});

describe('Realtime API through the openai SDK', () => {
  /** gpt-realtime's published prices, $/MTok: text in 4, cached 0.40, out 16; audio in 32, cached 0.40, out 64. */
  const REALTIME_TURN = nanos(300 * 4 + 100 * 0.4 + 400 * 32 + 200 * 0.4 + 100 * 16 + 400 * 64);

  async function realtimeTurn(model: string): Promise<{ done: any; rec: RequestRecord }> {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${h.url}/openai/v1` });
    // The SDK dials wss:// whatever the base URL says; the loopback proxy speaks plain ws (README "WebSocket").
    const rt = new OpenAIRealtimeWS({ model, options: { createConnection: ((o: net.TcpNetConnectOpts) => net.connect({ host: o.host, port: o.port })) as typeof net.createConnection } }, client);
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
    assert.deepEqual(events.slice(0, 4).map((e) => e.type), ['session.created', 'session.updated', 'conversation.item.created', 'response.created']);
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
    assert.deepEqual([handshake.path, handshake.query.model, handshake.headers.authorization], ['/openai/v1/realtime', 'gpt-realtime', `Bearer ${KEY}`]);
  });

  test('a model the price data does not know is unpriced, never a silent $0', async () => {
    const { rec } = await realtimeTurn('gpt-realtime-unheard-of');
    assert.deepEqual([rec.model, rec.costStatus, rec.costNanos, rec.inputTokens], ['gpt-realtime-unheard-of', 'unpriced', 0, 1000]);
  });

  test('the key as a subprotocol (browser clients) is forwarded and fingerprinted; the chosen subprotocol comes back', async () => {
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/realtime?model=gpt-realtime', { headers: {}, protocols: ['realtime', 'openai-insecure-api-key.sk-canary-subprotocol'] });
    assert.equal(ws.protocol, 'realtime');
    await eventsUntil(ws, 'session.created');
    await Promise.all([eventsUntil(ws, 'response.done'), ws.send(JSON.stringify({ type: 'response.create' }))]);
    ws.close();
    const [rec] = await recorded;
    assert.match(rec.keyFingerprint ?? '', /^k_/);
    assert.equal(rec.costStatus, 'exact');
  });
});

describe('frame faults', () => {
  for (const [code, how] of [[1011, 'closes the socket'], [1006, 'drops the connection']] as const) {
    test(`the provider ${how} mid-response: the client gets ${code}, the response is recorded as estimated`, async () => {
      h.fake.sockets.failNext({ kind: 'closeMidResponse', afterEvents: 5, code });
      const recorded = h.nextRecords();
      const ws = await connect('/openai/v1/responses');
      const closing = closed(ws);
      ws.send(responseCreate());
      assert.equal((await closing).code, code);
      const [rec] = await recorded;
      assert.equal(rec.costStatus, 'estimated');
      assert.match(rec.error ?? '', new RegExp(`upstream closed the socket \\(${code}\\)`));
      assert.ok(rec.outputTokens > 0, 'output counted from the streamed text');
    });
  }

  test('the client closes mid-response: the provider gets its close code and reason, the response is estimated', async () => {
    h.fake.sockets.failNext({ kind: 'stallMidResponse', afterEvents: 5 });
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/responses');
    await Promise.all([new Promise((resolve) => ws.once('message', resolve)), ws.send(responseCreate())]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const upstream = h.fake.sockets.connections[0];
    const upstreamClosed = closed(upstream);
    ws.close(4001, 'user pressed stop');
    assert.deepEqual(await upstreamClosed, { code: 4001, reason: 'user pressed stop' });
    const [rec] = await recorded;
    assert.equal(rec.costStatus, 'estimated');
    assert.match(rec.error ?? '', /client closed the socket \(4001\)/);
  });

  test('10 MB messages pass both ways intact', async () => {
    const tenMb = 10 * 1024 * 1024;
    h.fake.sockets.failNext({ kind: 'bigDelta', bytes: tenMb });
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/responses');
    const big = Buffer.from(responseCreate({ input: 'y'.repeat(tenMb) }));
    const events = await Promise.all([eventsUntil(ws, 'response.completed'), ws.send(big)]).then(([e]) => e);
    ws.close();
    assert.ok(received('response.create')[0].data.equals(big));
    assert.equal(events.find((e) => e.type === 'response.output_text.delta').delta.length, tenMb);
    const [rec] = await recorded;
    assert.deepEqual([rec.costStatus, rec.costNanos], ['exact', GPT_41_MINI_TURN]);
  });

  test('fragmented messages are reassembled: the provider and the client each get whole messages', async () => {
    h.fake.sockets.failNext({ kind: 'fragmented' });
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/responses');
    const done = eventsUntil(ws, 'response.completed');
    const text = responseCreate();
    const third = Math.ceil(text.length / 3);
    for (let at = 0; at < text.length; at += third) ws.send(text.slice(at, at + third), { fin: at + third >= text.length });
    const events = await done;
    ws.close();
    assert.equal(received('response.create')[0].data.toString(), text);
    assert.equal(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''), 'Hello from fake openai.');
    assert.equal((await recorded)[0].costStatus, 'exact');
  });

  test('pings and pongs pass through both ways, answered by the far end', async () => {
    const ws = await connect('/openai/v1/responses');
    const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('from-client'));
    assert.equal((await pong).toString(), 'from-client');
    assert.deepEqual(h.fake.sockets.pings.map(String), ['from-client']);
    const upstream = h.fake.sockets.connections[0];
    const ping = new Promise<Buffer>((resolve) => ws.once('ping', resolve));
    const upstreamPong = new Promise<Buffer>((resolve) => upstream.once('pong', resolve));
    upstream.ping(Buffer.from('from-provider'));
    assert.equal((await ping).toString(), 'from-provider');
    assert.equal((await upstreamPong).toString(), 'from-provider');
    const closing = closed(ws);
    upstream.close(4002, 'provider says bye');
    assert.deepEqual(await closing, { code: 4002, reason: 'provider says bye' });
  });

  test('permessage-deflate is negotiated end to end: on both hops when the client offers it, on neither when not', async () => {
    const deflating = await connect('/openai/v1/responses', { perMessageDeflate: true });
    const plain = await connect('/openai/v1/responses', { perMessageDeflate: false });
    assert.match(deflating.extensions, /permessage-deflate/);
    assert.equal(plain.extensions, '');
    const [upDeflating, upPlain] = h.fake.sockets.connections;
    assert.match(upDeflating.extensions, /permessage-deflate/);
    assert.equal(upPlain.extensions, '');
    await Promise.all([eventsUntil(deflating, 'response.completed'), deflating.send(responseCreate())]);
    deflating.close();
    plain.close();
  });

  test('a refused upgrade reaches the client as sent and is recorded once, unpriced', async () => {
    h.fake.sockets.failNext({ kind: 'refuseUpgrade', status: 403, headers: { 'x-request-id': 'req_refused' } });
    const recorded = h.nextRecords();
    const error = await connect('/openai/v1/responses').then(() => assert.fail('opened'), (e) => e);
    assert.equal(error.status, 403);
    assert.equal(error.headers['x-request-id'], 'req_refused');
    assert.equal(JSON.parse(error.body).error.type, 'invalid_request_error');
    const [rec] = await recorded;
    await h.engine.recorder.flush();
    assert.deepEqual([rec.status, rec.costNanos, rec.endpoint], [403, 0, 'GET /v1/responses']);
    assert.notEqual(rec.costStatus, 'estimated');
    assert.match(rec.error ?? '', /websocket upgrade refused by the provider: HTTP 403/);
    assert.equal(h.records.length, 1);
    assert.equal(h.fake.calls.length, 1);
  });

  test('an upgrade on a path the provider does not serve gets its 404', async () => {
    const error = await connect('/openai/v1/chat/completions').then(() => assert.fail('opened'), (e) => e);
    assert.equal(error.status, 404);
    assert.match(JSON.parse(error.body).error.message, /Invalid URL/);
  });
});

/** An upgrade request written byte for byte; resolves with the status line. */
function rawUpgrade(target: string, headers: string[]): Promise<string> {
  const port = h.port;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write([`GET ${target} HTTP/1.1`, ...headers, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', `Authorization: Bearer ${KEY}`, '', ''].join('\r\n')),
    );
    let reply = '';
    socket.on('data', (d) => {
      reply += d;
      // A 101 keeps the connection open: its status line is enough.
      if (reply.includes('\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(reply.split('\r\n')[0]));
  });
}

describe('the upgrade path refuses what HTTP refuses', () => {
  const host = () => `Host: 127.0.0.1:${h.port}`;
  for (const [name, target, headers, status] of [
    ['a foreign Host (DNS rebinding)', '/openai/v1/responses', ['Host: evil.example:443'], 421],
    ['an Origin header (a web page)', '/openai/v1/responses', [null, 'Origin: https://evil.example'], 403],
    ['an absolute-form target (open proxy)', 'http://evil.example/v1/responses', [null], 400],
    ['dot segments', '/openai/v1/../../evil/v1/responses', [null], 400],
    ['an unknown provider', '/evil.example/v1/responses', [null], 404],
  ] as const) {
    test(`${name}: ${status}, nothing reaches any upstream`, async () => {
      const line = await rawUpgrade(target, headers.map((x) => x ?? host()));
      assert.match(line, new RegExp(`^HTTP/1.1 ${status} `));
      assert.equal(h.fake.calls.length, 0);
    });
  }

  test('a well-formed raw upgrade is accepted (the refusals above are not an artefact)', async () => {
    assert.match(await rawUpgrade('/openai/v1/responses', [host()]), /^HTTP\/1.1 101 /);
  });

  test('an Upgrade that is not WebSocket is refused with a message', async () => {
    const line = await new Promise<string>((resolve) => {
      const socket = net.connect(h.port, '127.0.0.1', () => socket.write(`GET /openai/v1/models HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`));
      let reply = '';
      socket.on('data', (d) => (reply += d));
      socket.on('close', () => resolve(reply));
    });
    assert.match(line, /^HTTP\/1.1 400 [\s\S]*only WebSocket upgrades are relayed/);
  });
});

describe('guards on the socket', () => {
  test('a stopped session: its response.create gets an error event, the socket is closed with the reason, the provider sees nothing', async () => {
    const ws = await connect('/openai/v1/responses', { headers: { authorization: `Bearer ${KEY}`, 'x-burnrate-session': 'ws-stop' } });
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

  test('over budget: the response.create gets an error event in OpenAI\'s shape and never reaches the provider; the socket stays open', async () => {
    // A workspace's own budget of half a turn: the first turn is admitted, the next is over budget.
    h.engine.guards.configure({ workspace: { name: 'ws-budget', settings: { 'burnrate.budget.daily': GPT_41_MINI_TURN / 2e9, 'burnrate.budget.onExceed': 'block' } } });
    const ws = await connect('/~workspace=ws-budget/openai/v1/responses');
    const recorded = h.nextRecords();
    await Promise.all([eventsUntil(ws, 'response.completed'), ws.send(responseCreate())]);
    await recorded;
    const events = await Promise.all([eventsUntil(ws, 'error'), ws.send(responseCreate({ event_id: 'evt_client_2' }))]).then(([e]) => e);
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
    const ws = await connect('/openai/v1/responses', { headers: { authorization: `Bearer ${KEY}`, 'x-burnrate-session': 'ws-cut' } });
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
