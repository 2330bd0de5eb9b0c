/**
 * WebSocket frames through the proxy: relayed unchanged both ways (big, fragmented, binary, pings,
 * close codes, compression, back-pressure), faults on either side recorded as what they were, and the
 * upgrade path refusing what HTTP refuses before any provider is asked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { useHarness } from '../support/harness';
import { closed, connectSocket, eventsUntil, exchange, GPT_41_MINI_TURN_NANOS, responseCreate, TEST_KEY } from '../support/websocketClient';

// Anthropic's route leads nowhere (port 1 is never listened on), for the unreachable provider.
const h = useHarness({ upstreams: { anthropic: 'http://127.0.0.1:1' } });

const connect = (path: string, opts?: Parameters<typeof connectSocket>[2]) => connectSocket(h.url, path, opts);
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
};
const received = (type: string) => h.fake.sockets.received.filter((m) => m.type === type);

describe('frame faults', () => {
  for (const [code, how] of [
    [1011, 'closes the socket'],
    [1006, 'drops the connection'],
  ] as const) {
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

  test('a response.create the provider never started, then the socket closes: recorded at $0, not estimated', async () => {
    h.fake.sockets.failNext({ kind: 'stallMidResponse', afterEvents: 0 });
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/responses');
    ws.send(responseCreate());
    await until(() => received('response.create').length === 1);
    ws.close();
    const [rec] = await recorded;
    assert.deepEqual([rec.costNanos, rec.costStatus], [0, 'exact']);
    assert.match(rec.error ?? '', /started no response/);
  });

  test('a client that does not read holds the provider back (back-pressure), and then gets every message', async () => {
    const ws = await connect('/openai/v1/responses', { perMessageDeflate: false });
    const upstream = h.fake.sockets.connections[0];
    const messages = Array.from({ length: 64 }, () => randomBytes(1024 * 1024));
    ws.pause();
    for (const m of messages) upstream.send(m);
    // The proxy stops reading the provider once a few MB wait for the client: the rest waits at the provider.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(upstream.bufferedAmount > 32 * 1024 * 1024, `only ${upstream.bufferedAmount} bytes left at the provider`);
    const got: Buffer[] = [];
    const all = new Promise<void>((resolve) => ws.on('message', (d: Buffer) => got.push(d) === messages.length && resolve()));
    ws.resume();
    await all;
    assert.ok(got.every((d, i) => d.equals(messages[i])));
    ws.close();
  });

  test('10 MB messages pass both ways intact', async () => {
    const tenMb = 10 * 1024 * 1024;
    h.fake.sockets.failNext({ kind: 'bigDelta', bytes: tenMb });
    const recorded = h.nextRecords();
    const ws = await connect('/openai/v1/responses');
    const big = Buffer.from(responseCreate({ input: 'y'.repeat(tenMb) }));
    const events = await exchange(ws, big, 'response.completed');
    ws.close();
    assert.ok(received('response.create')[0].data.equals(big));
    assert.equal(events.find((e) => e.type === 'response.output_text.delta').delta.length, tenMb);
    const [rec] = await recorded;
    assert.deepEqual([rec.costStatus, rec.costNanos], ['exact', GPT_41_MINI_TURN_NANOS]);
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
    assert.equal(
      events
        .filter((e) => e.type === 'response.output_text.delta')
        .map((e) => e.delta)
        .join(''),
      'Hello from fake openai.',
    );
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
    await exchange(deflating, responseCreate(), 'response.completed');
    deflating.close();
    plain.close();
  });

  test('a refused upgrade reaches the client as sent and is recorded once, unpriced', async () => {
    h.fake.sockets.failNext({ kind: 'refuseUpgrade', status: 403, headers: { 'x-request-id': 'req_refused' } });
    const recorded = h.nextRecords();
    const error = await connect('/openai/v1/responses').then(
      () => assert.fail('opened'),
      (e) => e,
    );
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

  test('a provider that cannot be reached: a 502 in its error shape, one record at $0', async () => {
    const recorded = h.nextRecords();
    const error = await connect('/anthropic/v1/messages').then(
      () => assert.fail('opened'),
      (e) => e,
    );
    assert.equal(error.status, 502);
    assert.equal(JSON.parse(error.body).error.type, 'api_error');
    const [rec] = await recorded;
    assert.deepEqual([rec.status, rec.costNanos], [0, 0]);
    assert.match(rec.error ?? '', /websocket upgrade failed: ECONNREFUSED/);
  });

  test('an upgrade on a path the provider does not serve gets its 404', async () => {
    const error = await connect('/openai/v1/chat/completions').then(
      () => assert.fail('opened'),
      (e) => e,
    );
    assert.equal(error.status, 404);
    assert.match(JSON.parse(error.body).error.message, /Invalid URL/);
  });
});

/** An upgrade request written byte for byte; resolves with the status line. */
function rawUpgrade(target: string, headers: string[]): Promise<string> {
  const port = h.port;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(
        [
          `GET ${target} HTTP/1.1`,
          ...headers,
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          `Authorization: Bearer ${TEST_KEY}`,
          '',
          '',
        ].join('\r\n'),
      ),
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
      const line = await rawUpgrade(
        target,
        headers.map((x) => x ?? host()),
      );
      assert.match(line, new RegExp(`^HTTP/1.1 ${status} `));
      assert.equal(h.fake.calls.length, 0);
    });
  }

  test('a well-formed raw upgrade is accepted (the refusals above are not an artefact)', async () => {
    assert.match(await rawUpgrade('/openai/v1/responses', [host()]), /^HTTP\/1.1 101 /);
  });

  test('an Upgrade that is not WebSocket is refused with a message', async () => {
    const line = await new Promise<string>((resolve) => {
      const socket = net.connect(h.port, '127.0.0.1', () =>
        socket.write(`GET /openai/v1/models HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`),
      );
      let reply = '';
      socket.on('data', (d) => (reply += d));
      socket.on('close', () => resolve(reply));
    });
    assert.match(line, /^HTTP\/1.1 400 [\s\S]*only WebSocket upgrades are relayed/);
  });
});
