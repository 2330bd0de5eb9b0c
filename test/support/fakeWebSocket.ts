/**
 * The fake provider's WebSocket transports, on the same server as its HTTP API: the Responses API's
 * WebSocket mode (`GET /v1/responses` + Upgrade; `response.create` in, the HTTP stream's events out,
 * one response at a time) and the Realtime API (`/v1/realtime?model=…`; `session.created` first,
 * `response.done` with text/audio/cached usage). Like the real API it upgrades only those paths
 * (others get OpenAI's 404), wants a key (header or `openai-insecure-api-key.` subprotocol), and
 * answers an invalid event with an `error` event. Faults are switchable per upgrade or per response.
 *
 * Built on the `ws` package (frames, fragmentation, compression), which the fake shares with the
 * engine; the tests' clients bring their own WebSocket code where they have it (the openai SDK, Codex).
 */
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { openaiError, openaiResponseEvents, type FakeUsage, type RecordedCall } from './fakeProvider';
import { servedByMountedProvider } from './providerPaths';

export type SocketFault =
  /** The upgrade is answered with this status and an OpenAI error body, not 101. */
  | { kind: 'refuseUpgrade'; status: number; headers?: Record<string, string> }
  /** The next response stops after this many events and the socket is closed with `code` (or dropped: 1006). */
  | { kind: 'closeMidResponse'; afterEvents?: number; code: number }
  /** The next response stops after this many events and waits (for a test that closes the client). */
  | { kind: 'stallMidResponse'; afterEvents?: number }
  /** The next response's text is one delta of this many bytes. */
  | { kind: 'bigDelta'; bytes: number }
  /** The next response is sent as fragmented frames (one event in several continuation frames). */
  | { kind: 'fragmented' };

export interface ReceivedMessage {
  path: string;
  type: string | undefined;
  data: Buffer;
  isBinary: boolean;
}

export interface RealtimeUsage {
  textInput: number;
  audioInput: number;
  cachedText: number;
  cachedAudio: number;
  textOutput: number;
  audioOutput: number;
}

export const DEFAULT_REALTIME_USAGE: Readonly<RealtimeUsage> = Object.freeze({
  textInput: 400,
  audioInput: 600,
  cachedText: 100,
  cachedAudio: 200,
  textOutput: 100,
  audioOutput: 400,
});

export interface FakeSockets {
  /** Client messages the fake received, in order. */
  received: ReceivedMessage[];
  /** The fake's end of every socket it accepted, newest last (tests ping, close or inspect them). */
  connections: WebSocket[];
  /** Pings the fake received (it answers them with pongs, as servers do). */
  pings: Buffer[];
  failNext(...faults: SocketFault[]): void;
  setRealtimeUsage(u: Partial<RealtimeUsage>): void;
  reset(): void;
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

const WS_PATHS = /\/v1\/(responses|realtime)$/;
const KEY_SUBPROTOCOL = 'openai-insecure-api-key.';

export function createFakeSockets(shared: { calls: RecordedCall[]; usage: () => FakeUsage; nextId: () => number }): FakeSockets {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: true,
    maxPayload: 256 * 1024 * 1024,
    handleProtocols: (offered) => (offered.has('realtime') ? 'realtime' : false),
  });
  const state: Omit<FakeSockets, 'failNext' | 'setRealtimeUsage' | 'reset' | 'handleUpgrade' | 'close'> = { received: [], connections: [], pings: [] };
  let faults: SocketFault[] = [];
  let realtimeUsage: RealtimeUsage = { ...DEFAULT_REALTIME_USAGE };
  const takeFault = <K extends SocketFault['kind']>(...kinds: K[]): Extract<SocketFault, { kind: K }> | undefined => {
    const at = faults.findIndex((f) => (kinds as string[]).includes(f.kind));
    return at === -1 ? undefined : (faults.splice(at, 1)[0] as Extract<SocketFault, { kind: K }>);
  };

  function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake.local');
    const path = url.pathname.replace(/\/+$/, '');
    shared.calls.push({ method: 'GET', path, query: Object.fromEntries(url.searchParams), headers: { ...req.headers }, body: '' });
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const keyed =
      /^Bearer \S+/.test(String(req.headers.authorization ?? '')) || protocols.some((p) => p.startsWith(KEY_SUBPROTOCOL) && p.length > KEY_SUBPROTOCOL.length);
    const refusal = takeFault('refuseUpgrade');
    if (servedByMountedProvider(path) === false || !WS_PATHS.test(path)) return answer(socket, 404, openaiError(404, `Invalid URL (GET ${url.pathname})`));
    if (refusal) return answer(socket, refusal.status, openaiError(refusal.status), refusal.headers);
    if (!keyed) return answer(socket, 401, openaiError(401));
    wss.handleUpgrade(req, socket, head, (ws) => {
      state.connections.push(ws);
      ws.on('ping', (data: Buffer) => state.pings.push(data));
      if (path.endsWith('/realtime')) realtime(ws, path, url.searchParams.get('model') ?? 'gpt-realtime');
      else responses(ws, path);
    });
  }

  function receive(ws: WebSocket, path: string, onEvent: (event: any) => void): void {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      let event: any;
      try {
        event = JSON.parse(data.toString('utf8'));
      } catch {
        event = undefined;
      }
      state.received.push({ path, type: typeof event?.type === 'string' ? event.type : undefined, data, isBinary });
      if (!event || typeof event.type !== 'string') return sendError(ws, 'invalid_json', 'The server could not parse the event as JSON.');
      onEvent(event);
    });
  }

  /** Responses WebSocket mode: each response.create carries the create body's fields beside its type. */
  function responses(ws: WebSocket, path: string): void {
    receive(ws, path, (event) => {
      if (event.type !== 'response.create') return sendError(ws, 'unknown_event', `Unknown event type: ${event.type}`, event.event_id);
      const body = { ...event, type: undefined };
      if (typeof body.model !== 'string') return sendError(ws, 'missing_required_parameter', "Missing required parameter: 'model'.", event.event_id);
      if (body.generate === false) {
        // A warm-up: a response id to chain from, no output, nothing used.
        const idle = { ...shared.usage(), input: 0, cachedRead: 0, output: 0, reasoning: 0 };
        const { events } = openaiResponseEvents({ path, query: {}, body, usage: idle, id: shared.nextId() }, '');
        const completed = events.at(-1) as { response: { output: unknown[] } };
        completed.response.output = [];
        return void play(ws, [events[0], events.at(-1)!]);
      }
      const big = takeFault('bigDelta');
      const { events } = openaiResponseEvents({ path, query: {}, body, usage: shared.usage(), id: shared.nextId() }, big ? 'x'.repeat(big.bytes) : undefined);
      void play(ws, events);
    });
  }

  function realtime(ws: WebSocket, path: string, model: string): void {
    const session = { type: 'realtime', object: 'realtime.session', id: `sess_fake${shared.nextId()}`, model, output_modalities: ['audio'], instructions: '' };
    let eventNo = 0;
    const eventId = () => `event_fake${++eventNo}`;
    ws.send(JSON.stringify({ type: 'session.created', event_id: eventId(), session }));
    receive(ws, path, (event) => {
      switch (event.type) {
        case 'session.update':
          Object.assign(session, event.session ?? {});
          return ws.send(JSON.stringify({ type: 'session.updated', event_id: eventId(), session }));
        case 'conversation.item.create':
          return ws.send(
            JSON.stringify({
              type: 'conversation.item.created',
              event_id: eventId(),
              previous_item_id: null,
              item: { id: `item_fake${shared.nextId()}`, ...event.item, status: 'completed' },
            }),
          );
        case 'response.create':
          return void play(ws, realtimeResponse(shared.nextId(), eventId, realtimeUsage));
        case 'input_audio_buffer.append':
          return;
        case 'input_audio_buffer.commit': {
          ws.send(
            JSON.stringify({ type: 'input_audio_buffer.committed', event_id: eventId(), previous_item_id: null, item_id: `item_fake${shared.nextId()}` }),
          );
          // With turn detection on, the server answers the committed speech by itself (no response.create).
          const turnDetection = (session as { audio?: { input?: { turn_detection?: unknown } } }).audio?.input?.turn_detection;
          return void (turnDetection && play(ws, realtimeResponse(shared.nextId(), eventId, realtimeUsage)));
        }
        default:
          return sendError(ws, 'unknown_event', `Invalid value: '${event.type}'`, event.event_id);
      }
    });
  }

  /** Sends a response's events, applying the next per-response fault. */
  async function play(ws: WebSocket, events: Array<Record<string, unknown>>): Promise<void> {
    const fault = takeFault('closeMidResponse', 'stallMidResponse', 'fragmented');
    const stopAt = fault && fault.kind !== 'fragmented' ? (fault.afterEvents ?? 2) : events.length;
    for (let i = 0; i < events.length && ws.readyState === WebSocket.OPEN; i++) {
      if (i === stopAt) {
        if (fault?.kind !== 'closeMidResponse') return;
        // Let the partial response reach the client before the connection goes.
        await new Promise((resolve) => setTimeout(resolve, 20));
        return fault.code === 1006 ? ws.terminate() : ws.close(fault.code, 'fake provider closed mid-response');
      }
      const text = JSON.stringify(events[i]);
      if (fault?.kind === 'fragmented') {
        const third = Math.ceil(text.length / 3);
        for (let at = 0; at < text.length; at += third) ws.send(text.slice(at, at + third), { fin: at + third >= text.length });
      } else {
        ws.send(text);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  return {
    ...state,
    failNext: (...f) => void faults.push(...f),
    setRealtimeUsage: (u) => void (realtimeUsage = { ...realtimeUsage, ...u }),
    reset() {
      state.received.length = 0;
      state.pings.length = 0;
      state.connections.length = 0;
      faults = [];
      realtimeUsage = { ...DEFAULT_REALTIME_USAGE };
    },
    handleUpgrade,
    close() {
      for (const ws of state.connections) ws.terminate();
      wss.close();
    },
  };
}

function sendError(ws: WebSocket, code: string, message: string, eventId?: string): void {
  ws.send(
    JSON.stringify({
      type: 'error',
      event_id: `event_err${Date.now()}`,
      status: 400,
      error: { type: 'invalid_request_error', code, message, param: null, event_id: eventId ?? null },
    }),
  );
}

/** An HTTP answer instead of a 101, as an API gateway gives it. */
function answer(socket: Duplex, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Error'}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(text)}`,
    'connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
}

/** A Realtime response (GA event names): created, a transcript and audio, then done with its usage. */
function realtimeResponse(id: number, eventId: () => string, u: RealtimeUsage): Array<Record<string, unknown>> {
  const responseId = `resp_fake${id}`;
  const itemId = `item_fake${id}`;
  const transcript = 'Hello from fake realtime.';
  const item = (status: string) => ({
    id: itemId,
    object: 'realtime.item',
    type: 'message',
    status,
    role: 'assistant',
    content: [{ type: 'output_audio', transcript }],
  });
  const response = (status: string, output: unknown[], usage: unknown) => ({
    object: 'realtime.response',
    id: responseId,
    status,
    status_details: null,
    output,
    conversation_id: 'conv_fake',
    output_modalities: ['audio'],
    max_output_tokens: 'inf',
    audio: { output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' } },
    usage,
    metadata: null,
  });
  const usage = {
    total_tokens: u.textInput + u.audioInput + u.textOutput + u.audioOutput,
    input_tokens: u.textInput + u.audioInput,
    output_tokens: u.textOutput + u.audioOutput,
    input_token_details: {
      text_tokens: u.textInput,
      audio_tokens: u.audioInput,
      image_tokens: 0,
      cached_tokens: u.cachedText + u.cachedAudio,
      cached_tokens_details: { text_tokens: u.cachedText, audio_tokens: u.cachedAudio, image_tokens: 0 },
    },
    output_token_details: { text_tokens: u.textOutput, audio_tokens: u.audioOutput },
  };
  return [
    { type: 'response.created', event_id: eventId(), response: response('in_progress', [], null) },
    { type: 'response.output_item.added', event_id: eventId(), response_id: responseId, output_index: 0, item: item('in_progress') },
    ...transcript.split(' ').map((w, i) => ({
      type: 'response.output_audio_transcript.delta',
      event_id: eventId(),
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: i ? ` ${w}` : w,
    })),
    {
      type: 'response.output_audio.delta',
      event_id: eventId(),
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: Buffer.alloc(4800).toString('base64'),
    },
    { type: 'response.output_audio.done', event_id: eventId(), response_id: responseId, item_id: itemId, output_index: 0, content_index: 0 },
    { type: 'response.output_item.done', event_id: eventId(), response_id: responseId, output_index: 0, item: item('completed') },
    { type: 'response.done', event_id: eventId(), response: response('completed', [item('completed')], usage) },
  ];
}
