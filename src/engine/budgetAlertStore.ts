/**
 * Which budget thresholds have alerted in the current day and month, kept in the data directory so
 * that an engine restart (or another window taking over) does not alert them again, while a budget
 * set or raised while no engine ran still alerts for thresholds already crossed. No vscode import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

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

/** A small JSON file, replaced atomically (written beside, then renamed over) so a crash never leaves half of it. */
export class BudgetAlertFile implements AlertedStore {
  constructor(
    readonly file: string,
    private readonly log: (level: 'warn', message: string) => void = () => {},
  ) {}

  static inDataDir(dataDir: string, log?: (level: 'warn', message: string) => void): BudgetAlertFile {
    return new BudgetAlertFile(path.join(dataDir, BUDGET_ALERTS_FILE), log);
  }

  load(): string[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log('warn', `could not read ${this.file}: ${(e as Error).message}`);
      return [];
    }
    try {
      const parsed = JSON.parse(text) as Partial<FileShape>;
      if (!Array.isArray(parsed.alerted)) throw new Error('no "alerted" list');
      return parsed.alerted.filter((k): k is string => typeof k === 'string');
    } catch (e) {
      // A damaged file costs at most a repeated alert; it is rewritten at the next one.
      this.log('warn', `ignoring ${this.file}: ${(e as Error).message}`);
      return [];
    }
  }

  save(keys: string[]): void {
    const body: FileShape = { version: 1, alerted: keys };
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(tmp, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o600 });
      fs.renameSync(tmp, this.file);
    } catch (e) {
      this.log('warn', `could not save ${this.file}: ${(e as Error).message}`);
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* nothing to clean */
      }
    }
  }
}
