/**
 * The VS Code face of Burn Rate: a thin layer over the engine (src/engine/). activate() only wires
 * things up and returns; finding, hosting or following the engine happens afterwards, so the
 * extension host never waits on the database. See README "The VS Code extension".
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as EngineApi from '../engine/api';
import { readSecret } from '../engine/management';
import type { RequestRecord } from '../engine/database';
import { registerCommands } from './commands';
import { configChanges } from './settings';
import { ConfigStore } from './settings';
import { Commands, ContextKeys, LOG_CHANNEL_NAME, Settings } from './constants';
import { DashboardPanel } from './dashboardPanel';
import { EngineLink, type LinkState } from './link';
import { formatUsd } from '../shared';
import { plainState } from './status';
import { guardSettingsUpdate } from './settings';
import { handleAlert, sendGuardSettings } from './commands';
import { SpendStatusBar } from './status';
import { TerminalRouting, workspaceTag } from './terminals';

let link: EngineLink | undefined;

/** The engine bundle (dist/engine.js), loaded the first time it is needed, not at activation. */
let engineApi: typeof EngineApi | undefined;
function loadEngineApi(): typeof EngineApi {
  // A computed path keeps esbuild from bundling the engine into this file.
  engineApi ??= require(path.join(__dirname, 'engine.js')) as typeof EngineApi;
  return engineApi;
}

/** Where `burnrate serve` keeps its data (as src/engine/engine.ts defaultDataDir), to follow a CLI engine too. */
function cliDataDir(): string {
  return process.env.BURNRATE_HOME || path.join(os.homedir(), '.burnrate');
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel(LOG_CHANNEL_NAME, { log: true });
  const config = new ConfigStore();
  context.subscriptions.push(log, config);
  for (const problem of config.config.problems) log.warn(`setting ignored: ${problem}`);

  const dataDir = context.globalStorageUri.fsPath;
  const dbPath = path.join(dataDir, 'burnrate.sqlite');
  const engineLog = (level: 'info' | 'warn' | 'error', message: string) => log[level](message);

  link = new EngineLink({
    port: config.config.port,
    lockFile: `${dbPath}.owner`,
    secrets: () => [readSecret(dataDir), readSecret(cliDataDir())].filter((s): s is string => !!s),
    log: engineLog,
    workspace: workspaceTag().workspace,
    host: async (port, { recordingPaused }) => {
      const cfg = config.config;
      const api = loadEngineApi();
      const engine = await api.Engine.start({
        port,
        dbPath,
        dataDir,
        upstreams: cfg.upstreams,
        maxBodyBytes: cfg.maxBodyMb * 1024 * 1024,
        otlp: cfg.otlp,
        retentionDays: cfg.retentionDays,
        recordingPaused,
        // Limits for all traffic from the start; each window then sends its own workspace's (sendGuardSettings).
        settings: guardSettingsUpdate(config.userConfig, cfg, undefined).global,
        log: engineLog,
      });
      engine.recorder.on('record', (r: RequestRecord) => {
        // No keys, no bodies: what was called and what it cost.
        const cost = r.costStatus === 'unpriced' ? 'unpriced' : `${formatUsd(api.nanosToUsd(r.costNanos))}${r.costStatus === 'estimated' ? ' (estimated)' : ''}`;
        log.debug(`${r.provider} ${r.model ?? '?'} ${r.endpoint} ${r.status} in=${r.inputTokens} out=${r.outputTokens} ${cost}${r.session ? ` session=${r.session}` : ''}`);
      });
      log.info(`engine started on ${engine.url}, database ${dbPath}`);
      if (engine.keptAside) {
        void vscode.window.showWarningMessage(`Burn Rate could not read its database (${engine.keptAside.reason}). It was kept, untouched, as ${engine.keptAside.file}; new requests are recorded in a fresh database.`);
      }
      return { instance: engine.management.health.instance, close: () => engine.close() };
    },
  });
  const engine = link;

  const status = new SpendStatusBar();
  const terminals = new TerminalRouting(context, config, engine, log);
  context.subscriptions.push(status, terminals, { dispose: () => DashboardPanel.disposeCurrent() });
  registerCommands({ context, config, link: engine, terminals, log, engineApi: loadEngineApi });
  const sessionDeps = { link: engine, terminals, config, log };
  const offAlert = engine.onDidAlert((alert) => void handleAlert(sessionDeps, alert));

  const proxyUrl = () => `http://127.0.0.1:${engine.currentPort}`;
  const render = () => status.update(engine.state, engine.summary, config.config, proxyUrl(), workspaceTag().workspace);
  let lastNotified: LinkState['kind'] | undefined;

  const offState = engine.onDidChangeState((state) => {
    render();
    terminals.refresh();
    if (state.kind === 'owner' || state.kind === 'follower') void sendGuardSettings(sessionDeps);
    if (state.kind === lastNotified) return;
    lastNotified = state.kind;
    notifyState(state, config.config.port, log);
  });
  let paused: boolean | undefined;
  let seen = false;
  const offSummary = engine.onDidChangeSummary((s) => {
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
  context.subscriptions.push(
    { dispose: () => (offState(), offSummary(), offAlert()) },
    config.onDidChange(({ before, after }) => {
      const changed = configChanges(before, after);
      for (const problem of after.problems) log.warn(`setting ignored: ${problem}`);
      if (changed.port) void engine.setPort(after.port);
      else if (changed.engine) void (engine.isOwner ? engine.restartHosted() : engine.retry());
      if (changed.terminal) terminals.refresh();
      void sendGuardSettings(sessionDeps);
      render();
    }),
    // Closing the window closes the engine it hosts (saving the database); deactivate() awaits the same.
    { dispose: () => void engine.dispose() },
  );

  render();
  terminals.refresh();
  // Not awaited: activation returns now; the status bar fills in once the engine answers.
  setImmediate(() => engine.start());
}

function notifyState(state: LinkState, port: number, log: vscode.LogOutputChannel): void {
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

export async function deactivate(): Promise<void> {
  await link?.dispose();
  link = undefined;
}
