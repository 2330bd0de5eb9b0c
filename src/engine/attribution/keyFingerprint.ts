import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { headerValue } from '../http';

/**
 * Tells API keys apart without keeping them: an HMAC of the key under a per-install secret salt,
 * so records show "the same key" without the key (or a dictionary-checkable hash of it) on disk.
 */
export class KeyFingerprinter {
  private readonly cache = new Map<string, string>();

  constructor(private readonly salt: Buffer) {}

  /** Loads the salt from `file`, creating it (mode 0600) on first use. */
  static fromSaltFile(file: string): KeyFingerprinter {
    let salt: Buffer;
    try {
      salt = fs.readFileSync(file);
      if (salt.length < 16) throw new Error('short salt');
    } catch {
      salt = randomBytes(32);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, salt, { mode: 0o600 });
    }
    return new KeyFingerprinter(salt);
  }

  fingerprint(key: string | undefined): string | null {
    if (!key) return null;
    let fp = this.cache.get(key);
    if (fp === undefined) {
      fp = 'k_' + createHmac('sha256', this.salt).update(key).digest('hex').slice(0, 16);
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(key, fp);
    }
    return fp;
  }
}

/** The API key a request carries, wherever its protocol puts it. */
export function findApiKey(headers: Record<string, string | string[] | undefined>, query: URLSearchParams): string | undefined {
  const auth = headerValue(headers['authorization']);
  if (auth) return auth.replace(/^Bearer\s+/i, '');
  return headerValue(headers['x-api-key']) ?? headerValue(headers['x-goog-api-key']) ?? headerValue(headers['api-key']) ?? query.get('key') ?? undefined;
}

/** Browsers cannot set headers on a WebSocket: the Realtime API takes the key as a subprotocol instead. */
const KEY_SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.';

/** The API key a WebSocket handshake carries in its subprotocols, if any. */
export function findSubprotocolKey(protocols: readonly string[]): string | undefined {
  const offered = protocols.find((p) => p.startsWith(KEY_SUBPROTOCOL_PREFIX));
  return offered?.slice(KEY_SUBPROTOCOL_PREFIX.length) || undefined;
}
