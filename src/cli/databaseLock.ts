/** The database's owner lock as the commands that write a database take it: `serve`, `import`. */
import { OwnerLock } from '../engine/database';

/** Another process holds the database's owner lock. */
export class DatabaseInUseError extends Error {}

/**
 * Takes `<db>.owner`, the lock a running engine (`burnrate serve`, a VS Code window) holds, or
 * throws DatabaseInUseError naming the process that holds it; `advice` says what to do about it.
 */
export function lockDatabase(dbPath: string, advice: string): OwnerLock {
  const lock = OwnerLock.tryAcquire(`${dbPath}.owner`);
  if (lock) return lock;
  const holder = OwnerLock.holder(`${dbPath}.owner`);
  throw new DatabaseInUseError(`the database ${dbPath} is in use by process ${holder?.pid ?? '?'} (a burnrate serve or a VS Code window); ${advice}`);
}
