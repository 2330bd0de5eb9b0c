/**
 * Which budget thresholds have alerted in the current day and month, kept in the data directory so
 * that an engine restart (or another window taking over) does not alert them again, while a budget
 * set or raised while no engine ran still alerts for thresholds already crossed. No vscode import.
 */
import * as path from 'node:path';
import { readStateFile, writeStateFile } from './stateFile';

export const BUDGET_ALERTS_FILE = 'budget-alerts.json';

/** Where the guards keep what they alerted; a key names scope, period, period start, cap and threshold. */
export interface AlertedStore {
  load(): string[];
  save(keys: string[]): void;
}

interface FileShape {
  version: 1;
  alerted: string[];
}

/** A small JSON file in the data directory (see stateFile.ts). */
export class BudgetAlertFile implements AlertedStore {
  constructor(
    readonly file: string,
    private readonly log: (level: 'warn', message: string) => void = () => {},
  ) {}

  static inDataDir(dataDir: string, log?: (level: 'warn', message: string) => void): BudgetAlertFile {
    return new BudgetAlertFile(path.join(dataDir, BUDGET_ALERTS_FILE), log);
  }

  load(): string[] {
    const parsed = readStateFile(this.file, this.log) as Partial<FileShape> | undefined;
    if (parsed === undefined) return [];
    if (!Array.isArray(parsed?.alerted)) {
      // A damaged file costs at most a repeated alert; it is rewritten at the next one.
      this.log('warn', `ignoring ${this.file}: no "alerted" list`);
      return [];
    }
    return parsed.alerted.filter((k): k is string => typeof k === 'string');
  }

  save(keys: string[]): void {
    const body: FileShape = { version: 1, alerted: keys };
    writeStateFile(this.file, body, this.log);
  }
}
