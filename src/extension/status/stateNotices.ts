/** The notification shown when the link to the engine gets stuck (port blocked, taken, failed), with the way out. */
import * as vscode from 'vscode';
import { Commands, Settings } from '../constants';
import type { LinkState } from '../link';
import { plainState } from './format';

export function notifyState(state: LinkState, port: number, log: vscode.LogOutputChannel): void {
  const text = plainState(state, port).replace(/\\(.)/g, '$1').replace(/`/g, '');
  const openPortSetting = () => vscode.commands.executeCommand('workbench.action.openSettings', Settings.port);
  switch (state.kind) {
    case 'blocked':
      void vscode.window.showWarningMessage(`Burn Rate: ${text}`, 'Change Port', 'Show Log').then((pick) => {
        if (pick === 'Change Port') void openPortSetting();
        else if (pick === 'Show Log') log.show();
      });
      break;
    case 'external':
      void vscode.window.showInformationMessage(`Burn Rate: ${text}`, 'Change Port').then((pick) => {
        if (pick) void openPortSetting();
      });
      break;
    case 'failed':
      void vscode.window.showErrorMessage(`Burn Rate: ${text}`, 'Show Log').then((pick) => {
        if (pick) void vscode.commands.executeCommand(Commands.showLog);
      });
      break;
  }
}
