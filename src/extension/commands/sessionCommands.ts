/**
 * Budget and guard features of the window: the alert notifications (shown by one window only; an
 * unpriced model's buttons are in priceCommands.ts), the Stop Session / Allow Session commands, and
 * sending this window's budget and guard settings to the engine.
 */
import * as vscode from 'vscode';
import { AlertActions, alertView, sessionPickItem, shouldNotify, type WindowRole } from './alerts';
import { type ConfigStore, guardSettingsUpdate } from '../settings';
import { Commands } from '../constants';
import { type DeliveredAlert, type EngineLink, allowSession, listSessions, pushGuardSettings, raiseSessionLimits, stopSession } from '../link';
import { plainState } from '../status';
import { actOnUnpricedModel } from './priceCommands';
import type { TerminalRouting } from '../terminals';
import { workspaceTag } from '../workspaceTag';

export interface SessionDeps {
  link: EngineLink;
  terminals: TerminalRouting;
  config: ConfigStore;
  log: vscode.LogOutputChannel;
}

function access(link: EngineLink): { port: number; secret: string } {
  const state = link.state;
  if ((state.kind === 'owner' || state.kind === 'follower') && link.secret) return { port: link.currentPort, secret: link.secret };
  throw new Error(plainState(state, link.currentPort).replace(/\\(.)/g, '$1'));
}

export function windowRole(link: EngineLink, terminals: TerminalRouting): WindowRole {
  return { isOwner: link.isOwner, workspace: workspaceTag().workspace, meteredSessions: terminals.meteredSessions };
}

/** Sends the user's and this workspace's budget/guard settings to the engine (on connect and on change). */
export async function sendGuardSettings({ link, config, log }: SessionDeps): Promise<void> {
  if (!((link.state.kind === 'owner' || link.state.kind === 'follower') && link.secret)) return;
  try {
    await pushGuardSettings(link.currentPort, link.secret, guardSettingsUpdate(config.userConfig, config.config, workspaceTag().workspace));
  } catch (e) {
    log.warn(`could not send budget and guard settings to the engine: ${(e as Error).message}`);
  }
}

/** Shows an alert when this window is the one to show it; every window logs it. */
export async function handleAlert(deps: SessionDeps, alert: DeliveredAlert): Promise<void> {
  const { link, terminals, log } = deps;
  const role = windowRole(link, terminals);
  if (!shouldNotify(alert, role)) return;
  // The hosting window's log has it already (from the engine).
  if (!link.isOwner) log.warn(alert.message);
  const view = alertView(alert, role);
  const show =
    view.severity === 'error'
      ? vscode.window.showErrorMessage
      : view.severity === 'warning'
        ? vscode.window.showWarningMessage
        : vscode.window.showInformationMessage;
  const pick = await show(view.text, ...view.actions);
  if (!pick) return;
  try {
    if (alert.kind === 'unpricedModel') return await actOnUnpricedModel(() => access(link), alert, pick);
    if (pick !== AlertActions.ignore) await actOnAlert(deps, pick, alert.session ?? '');
  } catch (e) {
    log.error(`${pick}: ${(e as Error).message}`);
    void vscode.window.showErrorMessage(`Burn Rate: ${(e as Error).message}`);
  }
}

/** What an alert's button does for its session. */
async function actOnAlert(deps: SessionDeps, pick: string, session: string): Promise<void> {
  const { link, terminals } = deps;
  switch (pick) {
    case AlertActions.openDashboard:
      await vscode.commands.executeCommand(Commands.openDashboard);
      break;
    case AlertActions.raiseBudget:
      await vscode.commands.executeCommand('workbench.action.openSettings', 'burnrate.budget');
      break;
    case AlertActions.stopSession:
    case AlertActions.stopAndEndTerminal: {
      const { port, secret } = access(link);
      await stopSession(port, secret, session, 'a VS Code notification');
      const ended = terminals.endMeteredTerminal(session);
      confirmStopped(deps, session, ended);
      break;
    }
    case AlertActions.endTerminal:
      terminals.endMeteredTerminal(session);
      break;
    case AlertActions.allowSession: {
      const { port, secret } = access(link);
      await allowSession(port, secret, session);
      void vscode.window.showInformationMessage(`Burn Rate: session "${session}" may go on.`);
      break;
    }
    case AlertActions.raiseLimit: {
      const { port, secret } = access(link);
      const { limits: l } = await raiseSessionLimits(port, secret, session);
      const raised = [
        l.sessionMaxTokens && `${l.sessionMaxTokens.toLocaleString('en-US')} tokens`,
        l.sessionMaxUsd && `$${l.sessionMaxUsd}`,
        l.maxRequestsPerMinute && `${l.maxRequestsPerMinute} calls/min`,
        l.maxRepeats && `${l.maxRepeats} repeats`,
      ].filter(Boolean);
      void vscode.window.showInformationMessage(`Burn Rate: session "${session}" may go on with ${raised.join(', ') || 'no limits'}.`);
      break;
    }
  }
}

/** Burn Rate: Stop Session: pick an active session; its next calls are refused and its streams cut (a metered terminal here is ended too). */
export async function stopSessionCommand(deps: SessionDeps): Promise<void> {
  const { link, terminals, log } = deps;
  const { port, secret } = access(link);
  const metered = terminals.meteredSessions;
  const sessions = (await listSessions(port, secret)).filter((s) => s.state === 'active');
  if (!sessions.length) {
    void vscode.window.showInformationMessage('Burn Rate: no active sessions today.');
    return;
  }
  const pick = await vscode.window.showQuickPick(
    sessions.map((s) => ({ ...sessionPickItem(s, metered.has(s.id)), id: s.id })),
    { title: 'Burn Rate: Stop Session', placeHolder: 'Its next calls are refused and its open streams cut', matchOnDescription: true, matchOnDetail: true },
  );
  if (!pick) return;
  await stopSession(port, secret, pick.id, 'Burn Rate: Stop Session in VS Code');
  let ended = false;
  if (metered.has(pick.id)) {
    const choice = await vscode.window.showWarningMessage(
      `Burn Rate: session "${pick.id}" stopped. End its metered terminal too (its process ends)?`,
      'End Terminal',
      'Keep Terminal',
    );
    if (choice === 'End Terminal') ended = terminals.endMeteredTerminal(pick.id);
  }
  log.info(`session ${pick.id} stopped from the command palette${ended ? ', terminal ended' : ''}`);
  if (!metered.has(pick.id)) confirmStopped(deps, pick.id, false);
}

/** Says a session is stopped, with a button to undo it (short: an information toast shows one line). */
function confirmStopped({ link, log }: SessionDeps, session: string, terminalEnded: boolean): void {
  void vscode.window
    .showInformationMessage(
      `Burn Rate: session "${session}" stopped${terminalEnded ? ' and its terminal ended' : ''}; its next calls are refused.`,
      AlertActions.allowSession,
    )
    .then(async (pick) => {
      if (pick !== AlertActions.allowSession) return;
      try {
        const { port, secret } = access(link);
        await allowSession(port, secret, session);
        void vscode.window.showInformationMessage(`Burn Rate: session "${session}" may go on.`);
      } catch (e) {
        log.error(`${pick}: ${(e as Error).message}`);
        void vscode.window.showErrorMessage(`Burn Rate: ${(e as Error).message}`);
      }
    });
}

/** Burn Rate: Allow Session: pick a stopped or tripped session and let it go on. */
export async function allowSessionCommand({ link, log }: SessionDeps): Promise<void> {
  const { port, secret } = access(link);
  const sessions = (await listSessions(port, secret)).filter((s) => s.state === 'stopped' || s.tripped.length);
  if (!sessions.length) {
    void vscode.window.showInformationMessage('Burn Rate: no stopped sessions.');
    return;
  }
  const pick = await vscode.window.showQuickPick(
    sessions.map((s) => ({ ...sessionPickItem(s, false), id: s.id })),
    { title: 'Burn Rate: Allow Session', placeHolder: 'Let a stopped session go on' },
  );
  if (!pick) return;
  await allowSession(port, secret, pick.id);
  log.info(`session ${pick.id} allowed from the command palette`);
  void vscode.window.showInformationMessage(`Burn Rate: session "${pick.id}" may go on.`);
}
