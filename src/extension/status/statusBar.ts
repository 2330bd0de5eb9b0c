import * as vscode from 'vscode';
import type { SpendSummary } from '../../engine/queries';
import type { BurnRateConfig } from '../settings';
import { Commands, STATUS_ITEM_ID } from '../constants';
import type { LinkState } from '../link';
import { statusView, type WindowTags } from './format';

/** The one status bar item: today's spend; the tooltip has the rest; a click opens the dashboard. */
export class SpendStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'Burn Rate: AI spend today';
    this.item.command = Commands.openDashboard;
    this.item.text = '$(flame) …';
    this.item.show();
  }

  /** `window`: this window's tags (its workspace, whose own budget the item shows beside the budget of all spend; the branch new terminals get). */
  update(state: LinkState, summary: SpendSummary | undefined, config: BurnRateConfig, proxyUrl: string, window: WindowTags = {}): void {
    const view = statusView(state, summary, config, proxyUrl, window);
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = { enabledCommands: [...Object.values(Commands), 'workbench.action.openSettings'] };
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: view.accessibilityLabel, role: 'button' };
    this.item.backgroundColor =
      view.background === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.background === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
