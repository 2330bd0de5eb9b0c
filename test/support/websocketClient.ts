/**
 * A WebSocket client for the integration tests (the ws package, as Codex-style clients speak it):
 * open a socket through the proxy, wait for server events, and the events the tests send.
 */
import WebSocket from 'ws';
import { nanos } from './harness';

export const TEST_KEY = 'sk-test-websocket';
/** One fake Responses turn on gpt-4.1-mini at its published prices, $/MTok: input 0.40, cached input 0.10, output 1.60. */
export const GPT_41_MINI_TURN_NANOS = nanos((1200 - 200) * 0.4 + 200 * 0.1 + 300 * 1.6);

/** Opens `path` on the proxy at `baseUrl`; rejects with the status, headers and body of a refused upgrade. */
export function connectSocket(baseUrl: string, path: string, opts: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<WebSocket> {
  const { protocols, ...options } = opts;
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, protocols ?? [], { headers: { authorization: `Bearer ${TEST_KEY}` }, ...options });
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

/** The server events the socket receives until (and with) the first of type `last`; an error event or a close first rejects. */
export function eventsUntil(ws: WebSocket, last: string): Promise<any[]> {
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
    ws.once('close', (code, reason) =>
      reject(Object.assign(new Error(`closed ${code} before ${last}: ${reason}`), { code, reason: reason.toString(), events })),
    );
  });
}

/** Sends `event` (a string as text, a Buffer as binary) and resolves with the server events up to `last`. */
export async function exchange(ws: WebSocket, event: string | Buffer, last: string): Promise<any[]> {
  const events = eventsUntil(ws, last);
  ws.send(event);
  return events;
}

export const closed = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

export const responseCreate = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'response.create', model: 'gpt-4.1-mini', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }], ...extra });
