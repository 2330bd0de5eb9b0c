/**
 * The VS Code face of Burn Rate: a thin layer over the engine (src/engine/). activate() only wires
 * things up and returns; finding, hosting or following the engine happens afterwards, so the
 * extension host never waits on the database. See README "The VS Code extension".
 */
import * as vscode from 'vscode';
import { registerCommands, handleAlert, sendGuardSettings, type SessionDeps } from './commands';
import { ContextKeys, LOG_CHANNEL_NAME } from './constants';
import { DashboardPanel } from './dashboardPanel';
import { createEngineLink, loadEngineApi, type EngineLink, type LinkState } from './link';
import { configChanges, ConfigStore } from './settings';
import { notifyState, SpendStatusBar } from './status';
import { TerminalRouting, WorkspaceBranch } from './terminals';
import { workspaceTag } from './workspaceTag';

let link: EngineLink | undefined;

/** What the followers of the engine and of the settings act on. */
interface WindowParts extends SessionDeps {
  /** Redraws the status bar. */
  render: () => void;
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel(LOG_CHANNEL_NAME, { log: true });
  const config = new ConfigStore();
  context.subscriptions.push(log, config);
  for (const problem of config.config.problems) log.warn(`setting ignored: ${problem}`);

  const warn = (message: string) => void vscode.window.showWarningMessage(message);
  const engine = (link = createEngineLink({ dataDir: context.globalStorageUri.fsPath, config, log, warn }));
  const status = new SpendStatusBar();
  const branch = new WorkspaceBranch(log);
  const terminals = new TerminalRouting(context, config, engine, log, branch);
  context.subscriptions.push(status, branch, terminals, { dispose: () => DashboardPanel.disposeCurrent() });
  registerCommands({ context, config, link: engine, terminals, log, engineApi: loadEngineApi });

  const render = () =>
    status.update(engine.state, engine.summary, config.config, `http://127.0.0.1:${engine.currentPort}`, {
      workspace: workspaceTag().workspace,
      branch: branch.name,
    });
  const parts: WindowParts = { link: engine, terminals, config, log, render };
  context.subscriptions.push(
    followAlerts(parts),
    followLinkState(parts),
    followSummary(engine, render),
    followSettings(parts),
    followBranch(branch, parts),
    // Closing the window closes the engine it hosts (saving the database); deactivate() awaits the same.
    { dispose: () => void engine.dispose() },
  );

  render();
  terminals.refresh();
  // Not awaited: activation returns now; the status bar fills in once the engine answers.
  setImmediate(() => engine.start());
  void branch.start();
}

/** Guard alerts from the engine: notified, and acted on when the user picks an action. */
function followAlerts(parts: WindowParts): vscode.Disposable {
  const off = parts.link.onDidAlert((alert) => void handleAlert(parts, alert));
  return { dispose: off };
}

/** Hosting, following or stuck: the status bar and terminals follow, the engine learns this window's limits, a stuck state is notified once. */
function followLinkState(parts: WindowParts): vscode.Disposable {
  let lastNotified: LinkState['kind'] | undefined;
  const off = parts.link.onDidChangeState((state) => {
    parts.render();
    parts.terminals.refresh();
    if (state.kind === 'owner' || state.kind === 'follower') void sendGuardSettings(parts);
    if (state.kind === lastNotified) return;
    lastNotified = state.kind;
    notifyState(state, parts.config.config.port, parts.log);
  });
  return { dispose: off };
}

/** Each summary redraws the status bar and sets the context keys the menus and the walkthrough read. */
function followSummary(engine: EngineLink, render: () => void): vscode.Disposable {
  let paused: boolean | undefined;
  let seen = false;
  const off = engine.onDidChangeSummary((s) => {
    render();
    if (s.recordingPaused !== paused) {
      paused = s.recordingPaused;
      void vscode.commands.executeCommand('setContext', ContextKeys.recordingPaused, paused);
    }
    if (!seen && s.month.requests > 0) {
      seen = true;
      void vscode.commands.executeCommand('setContext', ContextKeys.firstRequestSeen, true);
    }
  });
  return { dispose: off };
}

/** A settings change moves, restarts or retries the engine as needed, and reaches the terminals and the guards. */
function followSettings(parts: WindowParts): vscode.Disposable {
  const { link: engine, config, log } = parts;
  return config.onDidChange(({ before, after }) => {
    const changed = configChanges(before, after);
    for (const problem of after.problems) log.warn(`setting ignored: ${problem}`);
    if (changed.port) void engine.setPort(after.port);
    else if (changed.engine) void (engine.isOwner ? engine.restartHosted() : engine.retry());
    if (changed.terminal) parts.terminals.refresh();
    void sendGuardSettings(parts);
    parts.render();
  });
}

/** A branch checked out (or none) re-tags new terminals; the tooltip says which; open terminals keep theirs. */
function followBranch(branch: WorkspaceBranch, parts: WindowParts): vscode.Disposable {
  return branch.onDidChange(() => {
    parts.terminals.refresh();
    parts.render();
  });
}

export async function deactivate(): Promise<void> {
  await link?.dispose();
  link = undefined;
}
