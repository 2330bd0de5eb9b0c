/**
 * Small JSON files in the data directory that remember what the engine already said (budget alerts,
 * unpriced-model announcements) or what the user chose. Read leniently: a missing file is nothing, a
 * damaged one is reported and read as nothing (it costs at most a repeated message). Replaced
 * atomically (written beside, then renamed over), so a crash never leaves half of one. No vscode import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type StateFileLog = (level: 'warn', message: string) => void;

/** The file's parsed JSON; undefined when it is missing, unreadable or not JSON (the last two are logged). */
export function readStateFile(file: string, log: StateFileLog): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log('warn', `could not read ${file}: ${(e as Error).message}`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    log('warn', `ignoring ${file}: ${(e as Error).message}`);
    return undefined;
  }
}

/** Replaces the file with `body` as JSON (mode 0600); trouble is logged, never thrown. Returns whether it was written. */
export function writeStateFile(file: string, body: unknown, log: StateFileLog): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
    return true;
  } catch (e) {
    log('warn', `could not save ${file}: ${(e as Error).message}`);
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* nothing to clean */
    }
    return false;
  }
}
