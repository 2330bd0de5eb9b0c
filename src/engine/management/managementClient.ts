/**
 * The one way the extension and the CLI call the engine's management API on 127.0.0.1: a route of
 * src/shared/managementRoutes.ts with its typed parameters, answered with its typed result.
 * No vscode import.
 */
import * as http from 'node:http';
import { ENGINE_HOST } from './managementProtocol';
import { routeUrl, type ManagementRoute, type ParamsOf, type ResultOf } from '../../shared';

export class ManagementError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Where the engine listens and the secret it asks for. */
export interface EngineAccess {
  port: number;
  secret: string;
}

/** Calls `route` (a GET's parameters as its query, a POST's as its JSON body) and resolves with the engine's JSON answer. */
export function callRoute<R extends ManagementRoute>(access: EngineAccess, route: R, params: ParamsOf<R>, timeoutMs = 5_000): Promise<ResultOf<R>> {
  const isGet = route.method === 'GET';
  const text = isGet ? '' : JSON.stringify(params);
  const path = isGet ? routeUrl(route as ManagementRoute<'GET'>, params as Record<string, unknown>) : route.path;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: ENGINE_HOST,
        port: access.port,
        path,
        method: route.method,
        agent: false,
        timeout: timeoutMs,
        headers: {
          authorization: `Bearer ${access.secret}`,
          accept: 'application/json',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = out ? JSON.parse(out) : undefined;
          } catch {
            parsed = undefined;
          }
          if (res.statusCode !== 200) {
            const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? out.slice(0, 200);
            return reject(new ManagementError(`the engine answered ${res.statusCode}: ${message}`, res.statusCode));
          }
          if (parsed === undefined) return reject(new ManagementError(`the engine answered ${res.statusCode} without JSON`, res.statusCode));
          resolve(parsed as ResultOf<R>);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new ManagementError('the engine did not answer in time')));
    req.on('error', reject);
    req.end(text);
  });
}
