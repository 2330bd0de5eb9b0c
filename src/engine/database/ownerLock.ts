import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * "This process writes that database": a lock file beside the database, created exclusively.
 *
 * Several processes may want to host the engine on one database (VS Code windows, each with its own
 * extension host). Only one may: the database is held in memory and saved whole, so a second writer
 * would overwrite the first one's records. A process that takes over from another must also wait
 * until the other has finished its last save and closed its journal, or records written during that
 * shutdown would be missing from the new owner's copy. The lock is released after that last save;
 * a lock whose process has died (crash, kill -9) is taken over, and its journal is then replayed.
 */
export class OwnerLock {
  private constructor(
    readonly file: string,
    private readonly token: string,
  ) {}

  /** Takes the lock, or returns undefined while a live process holds it. */
  static tryAcquire(file: string): OwnerLock | undefined {
    const token = randomUUID();
    const content = JSON.stringify({ pid: process.pid, token, at: new Date().toISOString() });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
        return new OwnerLock(file, token);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readHolder(file);
      if (holder ? isAlive(holder.pid) : isFresh(file)) return undefined;
      // The holder died without releasing (or the file is torn): take it over, once.
      staleRemove(file, holder?.token);
    }
    return undefined;
  }

  /** Waits up to `timeoutMs` for the lock, checking every `intervalMs`. */
  static async acquire(file: string, timeoutMs: number, intervalMs = 100, shouldStop: () => boolean = () => false): Promise<OwnerLock | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lock = OwnerLock.tryAcquire(file);
      if (lock || Date.now() >= deadline || shouldStop()) return lock;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** The process holding the lock on `file`, if any. */
  static holder(file: string): { pid: number } | undefined {
    const h = readHolder(file);
    return h && isAlive(h.pid) ? { pid: h.pid } : undefined;
  }

  release(): void {
    // Only ever remove our own lock, never one a successor wrote after a takeover.
    if (readHolder(this.file)?.token === this.token) {
      try {
        fs.unlinkSync(this.file);
      } catch {
        /* already gone */
      }
    }
  }
}

function readHolder(file: string): { pid: number; token: string } | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: unknown; token?: unknown };
    return typeof parsed.pid === 'number' && typeof parsed.token === 'string' ? { pid: parsed.pid, token: parsed.token } : undefined;
  } catch {
    return undefined;
  }
}

function staleRemove(file: string, token: string | undefined): void {
  // Re-read first: another process may have replaced the stale lock in the meantime.
  if (readHolder(file)?.token !== token) return;
  try {
    fs.unlinkSync(file);
  } catch {
    /* someone else removed it */
  }
}

/** An unreadable lock file that is only moments old is one another process is still writing. */
function isFresh(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < 5_000;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
