/**
 * Moves frames between the client's socket and the provider's, unchanged: text stays text, binary
 * stays binary, pings and pongs are passed on (both sockets are made with autoPong off, so the far
 * end answers them), close codes and reasons are passed on. A tap sees each text message for metering
 * and may hold back a client message (a refused response.create); a fault in it never costs a frame.
 */
import WebSocket from 'ws';

export interface FrameTap {
  /** A client text message; false keeps it from the provider. */
  fromClient(data: Buffer): boolean;
  fromUpstream(data: Buffer): void;
}

/** Past this many bytes queued for one side, the other side's reading is paused until they drain. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const LOW_WATER_BYTES = 1024 * 1024;

/** Close codes that may not be sent in a close frame (RFC 6455 §7.4.1); the far side is dropped instead. */
function sendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

export function relayFrames(client: WebSocket, upstream: WebSocket, tap: FrameTap | undefined, warn: (message: string) => void): void {
  const tapped = (read: () => boolean): boolean => {
    try {
      return read();
    } catch (e) {
      warn(`stopped reading a websocket message: ${(e as Error).message}`);
      return true;
    }
  };
  client.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && tap && !tapped(() => tap.fromClient(data))) return;
    forward(client, upstream, data, isBinary);
  });
  upstream.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && tap) tapped(() => (tap.fromUpstream(data), true));
    forward(upstream, client, data, isBinary);
  });
  for (const [from, to] of [
    [client, upstream],
    [upstream, client],
  ] as const) {
    from.on('ping', (data: Buffer) => to.readyState === WebSocket.OPEN && to.ping(data));
    from.on('pong', (data: Buffer) => to.readyState === WebSocket.OPEN && to.pong(data));
    from.on('close', (code: number, reason: Buffer) => passClose(to, code, reason));
    // A socket error is followed by its close, which is passed on.
    from.on('error', (e: Error) => warn(`websocket ${from === client ? 'client' : 'upstream'} error: ${e.message}`));
  }
}

function forward(from: WebSocket, to: WebSocket, data: Buffer, isBinary: boolean): void {
  if (to.readyState !== WebSocket.OPEN) return;
  to.send(data, { binary: isBinary }, () => {
    // Each frame's callback runs once it is written: the last one while paused finds the queue drained.
    if (from.isPaused && to.bufferedAmount < LOW_WATER_BYTES) from.resume();
  });
  if (to.bufferedAmount > HIGH_WATER_BYTES && !from.isPaused) from.pause();
}

function passClose(to: WebSocket, code: number, reason: Buffer): void {
  if (to.readyState === WebSocket.CLOSED || to.readyState === WebSocket.CLOSING) return;
  if (to.readyState === WebSocket.CONNECTING) return to.terminate();
  if (code === 1005) return to.close();
  if (!sendableCode(code)) return to.terminate();
  to.close(code, reason);
}
