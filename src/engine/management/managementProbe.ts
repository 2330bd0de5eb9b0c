/**
 * Is a Burn Rate engine on the port? GET /_burnrate/health, asked by the extension's windows and by
 * `burnrate run` / `burnrate env`. Node built-ins only: a client does not load the engine to ask.
 */
import * as http from 'node:http';
import { ManagementRoutes, type EngineHealth } from '../../shared';
import { ENGINE_HOST as LOOPBACK_HOST } from './managementProtocol';

export type Probe =
  | { kind: 'burnrate'; health: EngineHealth }
  | { kind: 'free' }
  /** Something that is not a Burn Rate engine answers on the port. */
  | { kind: 'foreign'; detail: string }
  /** No answer in time: a busy engine or a stuck program; ask again before concluding. */
  | { kind: 'unknown'; detail: string };

/** Asks GET /_burnrate/health: tells "free", "a Burn Rate engine" and "something else" apart. */
export function probe(port: number, timeoutMs = 1_500): Promise<Probe> {
  return new Promise((resolve) => {
    const req = http.get({ host: LOOPBACK_HOST, port, path: ManagementRoutes.health.path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size < 64 * 1024) chunks.push(c);
      });
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<EngineHealth>;
          if (res.statusCode === 200 && body.service === 'burnrate' && typeof body.instance === 'string')
            return resolve({ kind: 'burnrate', health: body as EngineHealth });
        } catch {
          /* not JSON: not us */
        }
        resolve({
          kind: 'foreign',
          detail: `it answered HTTP ${res.statusCode}${res.headers.server ? ` from "${String(res.headers.server).slice(0, 40)}"` : ''}`,
        });
      });
      res.on('error', () => resolve({ kind: 'foreign', detail: 'it dropped the connection' }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ kind: 'unknown', detail: `no answer within ${timeoutMs} ms` });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') resolve({ kind: 'free' });
      else if (e.code === 'ECONNRESET' || e.code === 'EPIPE') resolve({ kind: 'foreign', detail: 'it dropped the connection' });
      else resolve({ kind: 'unknown', detail: e.code ?? e.message });
    });
  });
}
