/**
 * The sessions the user stopped (or a guard stopped, in block mode), kept in the data directory so
 * a stop holds across engine restarts, window reloads and takeovers until the session is allowed
 * again. No vscode import.
 */
import * as path from 'node:path';
import { readStateFile, writeStateFile, type StateFileLog } from './stateFile';

export const STOPPED_SESSIONS_FILE = 'stopped-sessions.json';

/** A stop as it is kept: which session, why, when, and who stopped it. */
export interface StoppedSession {
  id: string;
  reason: string;
  /** The guard that stopped it, when one did. */
  guard?: string;
  /** Epoch ms. */
  at: number;
  /** Where the stop came from: "VS Code", "the dashboard", "the management API", "the … guard". */
  by: string;
}

export interface StoppedStore {
  load(): StoppedSession[];
  save(stopped: StoppedSession[]): void;
}

interface FileShape {
  version: 1;
  stopped: StoppedSession[];
}

/** A small JSON file in the data directory (see stateFile.ts). */
export class StoppedSessionFile implements StoppedStore {
  constructor(
    readonly file: string,
    private readonly log: StateFileLog = () => {},
  ) {}

  static inDataDir(dataDir: string, log?: StateFileLog): StoppedSessionFile {
    return new StoppedSessionFile(path.join(dataDir, STOPPED_SESSIONS_FILE), log);
  }

  load(): StoppedSession[] {
    const parsed = readStateFile(this.file, this.log) as Partial<FileShape> | undefined;
    if (parsed === undefined) return [];
    if (!Array.isArray(parsed.stopped)) {
      this.log('warn', `ignoring ${this.file}: no "stopped" list`);
      return [];
    }
    return parsed.stopped.filter(isStop);
  }

  save(stopped: StoppedSession[]): void {
    const body: FileShape = { version: 1, stopped };
    writeStateFile(this.file, body, this.log);
  }
}

function isStop(v: unknown): v is StoppedSession {
  const s = v as Partial<StoppedSession> | null;
  return typeof s?.id === 'string' && s.id.length > 0 && typeof s.reason === 'string' && typeof s.at === 'number' && typeof s.by === 'string';
}
