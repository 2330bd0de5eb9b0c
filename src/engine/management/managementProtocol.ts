/**
 * Where the management API listens and its secret, shared by the engine (management.ts) and its
 * clients (the VS Code extension, the CLI). Node built-ins only, so a client does not load the
 * engine to talk to it. The routes themselves are in src/shared/managementRoutes.ts.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The engine only ever listens here (the same as proxy.ts LOOPBACK_HOST). */
export const ENGINE_HOST = '127.0.0.1';

export const SECRET_FILE = 'management-secret';

/**
 * The per-install secret the management API asks for (Authorization: Bearer <secret>). Kept in the
 * data directory, mode 0600, so only the user's own programs (their VS Code windows, their CLI)
 * can read spend data or pause recording; created on first use, race-free between processes.
 */
export function loadOrCreateSecret(dataDir: string): string {
  const existing = readSecret(dataDir);
  if (existing) return existing;
  const file = path.join(dataDir, SECRET_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const secret = readSecret(dataDir);
  if (!secret) throw new Error(`could not read the management secret in ${file}`);
  return secret;
}

export function readSecret(dataDir: string): string | undefined {
  try {
    const s = fs.readFileSync(path.join(dataDir, SECRET_FILE), 'utf8').trim();
    return s.length >= 32 ? s : undefined;
  } catch {
    return undefined;
  }
}
