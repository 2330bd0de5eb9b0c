import * as vscode from 'vscode';
import type { BurnRateSettings } from '../../shared';
import { readConfig, type BurnRateConfig } from './config';

/** The one typed settings snapshot, reloaded by the one onDidChangeConfiguration listener. */
export class ConfigStore implements vscode.Disposable {
  private current: BurnRateConfig = ConfigStore.read();
  private readonly emitter = new vscode.EventEmitter<{ before: BurnRateConfig; after: BurnRateConfig }>();
  private readonly listener: vscode.Disposable;
  readonly onDidChange = this.emitter.event;

  constructor() {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('burnrate')) return;
      const before = this.current;
      this.current = ConfigStore.read();
      this.emitter.fire({ before, after: this.current });
    });
  }

  get config(): BurnRateConfig {
    return this.current;
  }

  /** The settings as the user set them, without this workspace's values: the limits for all traffic. */
  get userConfig(): BurnRateConfig {
    const c = vscode.workspace.getConfiguration();
    return readConfig((key) => {
      const i = c.inspect<BurnRateSettings[typeof key]>(key);
      return i && { defaultValue: i.defaultValue, globalValue: i.globalValue };
    });
  }

  private static read(): BurnRateConfig {
    const c = vscode.workspace.getConfiguration();
    return readConfig((key) => c.inspect(key));
  }

  dispose(): void {
    this.listener.dispose();
    this.emitter.dispose();
  }
}
