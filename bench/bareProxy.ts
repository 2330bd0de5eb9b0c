/**
 * The floor for a Node proxy: node:http in, undici out (the same client stack and Agent settings
 * as Burn Rate), the response body streamed straight through chunk by chunk. No parsing, no
 * recording, no checks beyond dropping hop-by-hop headers. Whatever Burn Rate adds above this is
 * its own cost.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

export interface BareProxy {
  url: string;
  close(): Promise<void>;
}

function strip(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** Forwards every request on 127.0.0.1:port (0 = any free port) to the same path on `upstream`. */
export async function startBareProxy(upstream: string, port = 0): Promise<BareProxy> {
  const origin = new URL(upstream).origin;
  const agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0, connect: { timeout: 15_000 } });
  const server = http.createServer((req, res) => {
    const send = (body: Buffer | undefined) =>
      agent
        .request({ origin, path: req.url!, method: req.method as Dispatcher.HttpMethod, headers: strip(req.headers), body })
        .then((up) => {
          res.writeHead(up.statusCode, strip(up.headers));
          // Plain listeners: stream.pipeline (an AbortController per call) measured ~1.4x the CPU per request.
          up.body.on('data', (chunk: Buffer) => {
            if (!res.write(chunk)) {
              up.body.pause();
              res.once('drain', () => up.body.resume());
            }
          });
          up.body.once('end', () => res.end());
          up.body.once('error', () => res.destroy());
        })
        .catch(() => {
          if (!res.headersSent) res.writeHead(502).end();
          else res.destroy();
        });
    if (req.method === 'GET' || req.method === 'HEAD') return void send(undefined);
    // Buffered, not streamed: undici then writes head and body in one writev, and an API request
    // body is small. Passing `req` through as a stream measured ~1.5x the CPU per request.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => void send(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await agent.close().catch(() => undefined);
    },
  };
}
