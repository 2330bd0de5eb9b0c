/** Where Burn Rate keeps its files outside VS Code: $BURNRATE_HOME, else ~/.burnrate; the database in it. */
import * as os from 'node:os';
import * as path from 'node:path';

export function defaultDataDir(): string {
  return process.env.BURNRATE_HOME || path.join(os.homedir(), '.burnrate');
}

export function defaultDbPath(dataDir = defaultDataDir()): string {
  return path.join(dataDir, 'burnrate.sqlite');
}
