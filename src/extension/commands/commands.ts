import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as EngineApi from '../../engine/api';
import type { ConfigStore } from '../settings';
import { Commands, type CommandId } from '../constants';
import { DashboardPanel } from '../dashboardPanel';
import { callRoute, downloadExport, setRecordingPaused, type EngineLink } from '../link';
import { formatUsd, ManagementRoutes } from '../../shared';
import { testAlertView } from './alerts';
import { plainState } from '../status';
import { allowSessionCommand, stopSessionCommand } from './sessionCommands';
import type { TerminalRouting } from '../terminals';
import { setupSnippet, type SnippetFormat } from '../../engine/meter';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  config: ConfigStore;
  link: EngineLink;
  terminals: TerminalRouting;
  log: vscode.LogOutputChannel;
  engineApi: () => typeof EngineApi;
}

/** Registers every command; each registration goes into context.subscriptions. */
export function registerCommands(deps: CommandDeps): void {
  const { context, link, log } = deps;
  const handlers: Record<CommandId, () => unknown> = {
    [Commands.openDashboard]: () => DashboardPanel.show(context.extensionUri, link, () => link.currentPort),
    [Commands.copyProxySetup]: () => copyProxySetup(deps),
    [Commands.newMeteredTerminal]: () => deps.terminals.openMeteredTerminal(),
    [Commands.pauseRecording]: () => setPaused(deps, true),
    [Commands.resumeRecording]: () => setPaused(deps, false),
    [Commands.exportCsv]: () => exportCsv(deps),
    [Commands.estimateCost]: () => estimateCost(deps),
    [Commands.showLog]: () => log.show(),
    [Commands.stopSession]: () => stopSessionCommand(deps),
    [Commands.allowSession]: () => allowSessionCommand(deps),
    [Commands.refreshPrices]: () => refreshPrices(deps),
    [Commands.sendTestAlert]: () => sendTestAlert(deps),
  };
  for (const [id, run] of Object.entries(handlers)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async () => {
        try {
          // The result goes back to executeCommand's caller (Refresh Prices: the price data fetched).
          return await run();
        } catch (e) {
          log.error(`${id}: ${(e as Error).message}`);
          void vscode.window.showErrorMessage(`Burn Rate: ${(e as Error).message}`);
        }
      }),
    );
  }
}

/** The engine's management secret, or an explanation of why there is none. */
function managementAccess(link: EngineLink): { port: number; secret: string } {
  const state = link.state;
  if ((state.kind === 'owner' || state.kind === 'follower') && link.secret) return { port: link.currentPort, secret: link.secret };
  throw new Error(plainState(state, link.currentPort).replace(/\\(.)/g, '$1'));
}

async function copyProxySetup({ terminals, link }: CommandDeps): Promise<void> {
  const formats: Array<vscode.QuickPickItem & { format: SnippetFormat }> = [
    { label: 'bash / zsh', description: "export OPENAI_BASE_URL='…'", format: 'sh' },
    { label: '.env file', description: 'OPENAI_BASE_URL=…', format: 'dotenv' },
    { label: 'fish', description: "set -gx OPENAI_BASE_URL '…'", format: 'fish' },
    { label: 'PowerShell', description: "$env:OPENAI_BASE_URL = '…'", format: 'powershell' },
  ];
  const pick = await vscode.window.showQuickPick(formats, { title: 'Burn Rate: Copy Proxy Setup', placeHolder: 'Where will you paste it?' });
  if (!pick) return;
  const { baseUrls: set } = terminals.plan();
  const workspace = vscode.workspace.name;
  const snippet = setupSnippet(pick.format, set, workspace ? `calls tagged workspace=${workspace}` : undefined);
  await vscode.env.clipboard.writeText(snippet);
  void vscode.window.showInformationMessage(`Burn Rate: copied ${set.length} base-URL variables for ${pick.label} (proxy on 127.0.0.1:${link.currentPort}).`);
}

async function setPaused({ link, log }: CommandDeps, paused: boolean): Promise<void> {
  const { port, secret } = managementAccess(link);
  const summary = await setRecordingPaused(port, secret, paused);
  log.info(summary.recordingPaused ? 'recording paused' : 'recording resumed');
  void vscode.window.showInformationMessage(
    summary.recordingPaused
      ? 'Burn Rate: recording paused in every window. Requests still go through the proxy but are not recorded.'
      : 'Burn Rate: recording resumed.',
  );
}

async function exportCsv({ link, log }: CommandDeps): Promise<void> {
  const { port, secret } = managementAccess(link);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const name = `burnrate-${new Date().toISOString().slice(0, 10)}.csv`;
  const target = await vscode.window.showSaveDialog({
    title: 'Burn Rate: Export CSV',
    defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
    filters: { CSV: ['csv'] },
    saveLabel: 'Export',
  });
  if (!target) return;
  if (target.scheme !== 'file') throw new Error('the export can only be written to a local file');
  const bytes = await downloadExport(port, secret, target.fsPath, { format: 'csv' });
  log.info(`exported ${bytes} bytes to ${target.fsPath}`);
  const open = await vscode.window.showInformationMessage(`Burn Rate: exported to ${path.basename(target.fsPath)}.`, 'Open');
  if (open) await vscode.window.showTextDocument(target);
}

/** Has the engine post a test alert to burnrate.alerts.webhookUrl (the engine holds the URL) and says how it went. */
async function sendTestAlert({ link, log }: CommandDeps): Promise<void> {
  const access = managementAccess(link);
  // Longer than the engine's own timeout for one post, so its answer says why.
  const answer = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Burn Rate: sending a test alert…' }, () =>
    callRoute(access, ManagementRoutes.alertTest, {}, 20_000),
  );
  const view = testAlertView(answer);
  log[view.ok ? 'info' : 'warn'](view.text);
  void (view.ok ? vscode.window.showInformationMessage(view.text) : vscode.window.showWarningMessage(view.text));
}

async function estimateCost({ engineApi }: CommandDeps): Promise<void> {
  const api = engineApi();
  const providers = new api.RouteTable().pricesProviders();
  const rows = api.listPrices(providers);
  const items = rows.map((r) => ({
    label: r.model,
    description: r.provider,
    detail: `in $${r.inputPerMTok ?? '-'} · out $${r.outputPerMTok ?? '-'}${r.cachedInputPerMTok !== undefined ? ` · cached $${r.cachedInputPerMTok}` : ''} per 1M tokens`,
    row: r,
  }));
  const model = await vscode.window.showQuickPick(items, { title: 'Burn Rate: Estimate Cost (1/3)', placeHolder: 'Model', matchOnDescription: true });
  if (!model) return;
  const number = (title: string, value: string) =>
    vscode.window.showInputBox({
      title,
      value,
      validateInput: (v) => (/^\d+$/.test(v.trim()) ? undefined : 'A whole number of tokens'),
    });
  const input = await number(`Burn Rate: Estimate Cost (2/3): input tokens for ${model.label}`, '1000');
  if (input === undefined) return;
  const output = await number(`Burn Rate: Estimate Cost (3/3): output tokens for ${model.label}`, '500');
  if (output === undefined) return;
  const quote = api.priceUsage(model.row.provider, model.row.model, {
    inputTokens: Number(input),
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: Number(output),
    reasoningTokens: 0,
  });
  const usd = api.nanosToUsd(quote.costNanos);
  void vscode.window.showInformationMessage(
    `${model.row.provider} ${model.label}: ${formatUsd(usd)} per request (${usd.toFixed(6)} USD) for ${input} input and ${output} output tokens; ` +
      `${formatUsd(usd * 1000)} per 1,000 requests. Prices: ${quote.source}.`,
  );
}

/**
 * Fetches the price library's latest published prices into the extension's data directory. The
 * engine in this window uses them at once; an engine hosted by another window picks them up
 * within a minute. Offline, the prices in use stay and the message says so.
 */
async function refreshPrices({ context, config, engineApi, log }: CommandDeps) {
  const api = engineApi();
  const dataDir = context.globalStorageUri.fsPath;
  const info = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Burn Rate: fetching the latest prices…' }, () =>
    api.refreshPriceData({ dataDir, url: config.config.pricesDataUrl || undefined }),
  );
  log.info(`prices refreshed: ${api.describePrices(info)}`);
  void vscode.window.showInformationMessage(
    `Burn Rate: prices updated (${info.models} models from ${info.providers} providers, data of ${(info.publishedAt ?? info.fetchedAt).slice(0, 10)}). ` +
      'New requests are priced with them; local overrides still win.',
  );
  return info;
}
