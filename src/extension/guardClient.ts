/** The engine's session, guard and price routes, as the extension calls them (see src/engine/guardRoutes.ts, priceRoutes.ts). No vscode import. */
import * as http from 'node:http';
import type { SessionLimits, SessionView } from '../engine/guards';
import { ENGINE_HOST, MANAGEMENT_ROUTES, type ModelRepriceAnswer, type PriceOverrideAnswer } from '../engine/managementProtocol';
import { ManagementError } from './engineClient';
import type { LimitSettings } from './guardSettings';

function call<T>(port: number, secret: string, method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = http.request(
      { host: ENGINE_HOST, port, path: route, method, agent: false, timeout: 5_000, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
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
          resolve(parsed as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new ManagementError('the engine did not answer in time')));
    req.on('error', reject);
    req.end(text);
  });
}

export async function listSessions(port: number, secret: string): Promise<SessionView[]> {
  return (await call<{ sessions: SessionView[] }>(port, secret, 'GET', MANAGEMENT_ROUTES.sessions)).sessions;
}

export function stopSession(port: number, secret: string, session: string): Promise<SessionView> {
  return call(port, secret, 'POST', MANAGEMENT_ROUTES.sessionStop, { session });
}

export function allowSession(port: number, secret: string, session: string): Promise<SessionView> {
  return call(port, secret, 'POST', MANAGEMENT_ROUTES.sessionAllow, { session });
}

export function raiseSessionLimits(port: number, secret: string, session: string, limits?: Partial<Omit<SessionLimits, 'onTrip'>>): Promise<SessionView> {
  return call(port, secret, 'POST', MANAGEMENT_ROUTES.sessionRaise, { session, limits });
}

export function pushGuardSettings(port: number, secret: string, update: { global: LimitSettings; workspace?: { name: string; settings: LimitSettings } }): Promise<unknown> {
  return call(port, secret, 'POST', MANAGEMENT_ROUTES.settings, update);
}

/** Never announce this model's missing price again. */
export function ignoreUnpricedModel(port: number, secret: string, provider: string, model: string): Promise<unknown> {
  return call(port, secret, 'POST', MANAGEMENT_ROUTES.unpricedModelIgnore, { provider, model });
}

/** Writes a price for the model into the engine's price-overrides.json (USD per million tokens); in force at once, and the model's unpriced history repriced. */
export function setModelPrice(
  port: number,
  secret: string,
  price: { provider: string; model: string; inputPerMTok: number; cachedInputPerMTok?: number; outputPerMTok: number },
): Promise<PriceOverrideAnswer> {
  return call(port, secret, 'POST', MANAGEMENT_ROUTES.priceOverride, price);
}

/** Reprices the model's unpriced history with the prices in force (after a refresh). */
export function repriceModelHistory(port: number, secret: string, provider: string, model: string): Promise<ModelRepriceAnswer> {
  return call(port, secret, 'POST', MANAGEMENT_ROUTES.repriceModel, { provider, model });
}
