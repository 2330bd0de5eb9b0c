import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { APP_COMMANDS, isAppMessage, SESSION_ACTIONS, type AppMessage, type HostMessage, type HostRequests, type RequestMessage } from '../../webview/protocol';
import { DASHBOARD_VIEW_TYPE } from './constants';
import { ManagementRoutes as R } from '../shared';
import { downloadExport, allowSession, listSessions, raiseSessionLimits, stopSession, type EngineLink, callRoute } from './link';
import { plainState } from './status';

/** The dashboard's figures may take a while over a long range. */
const QUERY_TIMEOUT_MS = 15_000;

/**
 * The dashboard panel: the app built from webview/ (dist/webview), fed by the engine's management
 * API through this window's EngineLink, so it shows the same figures whether this window hosts the
 * engine or follows another's. Strict nonce CSP; resources only from dist/webview and media/.
 */
export class DashboardPanel implements vscode.Disposable {
  private static current: DashboardPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;

  static show(extensionUri: vscode.Uri, link: EngineLink, port: () => number): void {
    if (DashboardPanel.current) {
      DashboardPanel.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, 'Burn Rate', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
    });
    DashboardPanel.current = new DashboardPanel(panel, extensionUri, link, port);
  }

  static disposeCurrent(): void {
    DashboardPanel.current?.dispose();
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly link: EngineLink,
    private readonly port: () => number,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    panel.webview.html = this.html(extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (isAppMessage(m)) void this.receive(m);
      }),
    );
    const offSummary = link.onDidChangeSummary(() => this.post({ type: 'changed' }));
    const offState = link.onDidChangeState(() => this.postConnection());
    // Every alert the window receives, whichever window shows it as a notification.
    const offAlert = link.onDidAlert(({ audience: _, ...alert }) => this.post({ type: 'alert', alert }));
    this.disposables.push({ dispose: () => (offSummary(), offState(), offAlert()) });
  }

  private async receive(m: AppMessage): Promise<void> {
    if (m.type === 'ready') {
      this.ready = true;
      this.postConnection();
      return;
    }
    try {
      const result = await this.answer(m);
      void this.panel.webview.postMessage({ type: 'response', id: m.id, ok: true, result } satisfies HostMessage);
    } catch (e) {
      void this.panel.webview.postMessage({ type: 'response', id: m.id, ok: false, error: (e as Error).message } satisfies HostMessage);
    }
  }

  private async answer(m: RequestMessage): Promise<unknown> {
    const access = this.access();
    const { port, secret } = access;
    // The webview's parameters are taken field by field, as the route declares them.
    switch (m.method) {
      case 'dashboard': {
        const p = m.params as HostRequests['dashboard']['params'];
        return callRoute(
          access,
          R.dashboard,
          { since: Number(p.since), until: Number(p.until), workspace: p.workspace ? String(p.workspace) : undefined },
          QUERY_TIMEOUT_MS,
        );
      }
      case 'whatIf': {
        const p = m.params as HostRequests['whatIf']['params'];
        const q = { since: Number(p.since), until: Number(p.until), workspace: p.workspace ? String(p.workspace) : undefined, model: String(p.model) };
        return callRoute(access, R.whatIf, q, QUERY_TIMEOUT_MS);
      }
      case 'prices':
        return callRoute(access, R.prices, { q: String((m.params as HostRequests['prices']['params']).q ?? '') }, QUERY_TIMEOUT_MS);
      case 'estimate': {
        const p = m.params as HostRequests['estimate']['params'];
        const q = {
          model: String(p.model),
          inputTokens: Number(p.inputTokens),
          cachedTokens: Number(p.cachedTokens),
          outputTokens: Number(p.outputTokens),
          requestsPerDay: Number(p.requestsPerDay),
        };
        return callRoute(access, R.estimate, q, QUERY_TIMEOUT_MS);
      }
      case 'export':
        return this.export(m.params as HostRequests['export']['params'], port, secret);
      case 'command': {
        const command = (m.params as HostRequests['command']['params']).command;
        // Only the commands the app is meant to run, whatever the webview asks.
        if (!(APP_COMMANDS as readonly string[]).includes(command)) throw new Error(`command ${String(command)} is not available to the dashboard`);
        await vscode.commands.executeCommand(command);
        return null;
      }
      case 'sessions':
        return listSessions(port, secret);
      case 'session': {
        const { action, session } = m.params as HostRequests['session']['params'];
        // Only the session routes, for one session named by a plain string.
        if (!(SESSION_ACTIONS as readonly string[]).includes(action)) throw new Error(`the dashboard cannot ${String(action)} a session`);
        if (typeof session !== 'string' || !session || session.length > 200) throw new Error('no session named');
        if (action === 'stop') return stopSession(port, secret, session, 'the dashboard in VS Code');
        if (action === 'allow') return allowSession(port, secret, session);
        return raiseSessionLimits(port, secret, session);
      }
    }
  }

  private async export(p: HostRequests['export']['params'], port: number, secret: string): Promise<HostRequests['export']['result']> {
    const format = p.format === 'jsonl' ? 'jsonl' : 'csv';
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `burnrate-${new Date(p.since).toISOString().slice(0, 10)}${p.workspace ? `-${p.workspace.replace(/[^\w.-]+/g, '_')}` : ''}.${format}`;
    const target = await vscode.window.showSaveDialog({
      title: `Burn Rate: Export ${format.toUpperCase()}`,
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: format === 'csv' ? { CSV: ['csv'] } : { 'JSON lines': ['jsonl'] },
      saveLabel: 'Export',
    });
    if (!target) return { saved: null };
    if (target.scheme !== 'file') throw new Error('the export can only be written to a local file');
    await downloadExport(port, secret, target.fsPath, { format, since: p.since, until: p.until, workspace: p.workspace });
    return { saved: path.basename(target.fsPath) };
  }

  private access(): { port: number; secret: string } {
    const state = this.link.state;
    if ((state.kind === 'owner' || state.kind === 'follower') && this.link.secret) return { port: this.link.currentPort, secret: this.link.secret };
    throw new Error(plainState(state, this.port()).replace(/\\(.)/g, '$1').replace(/`/g, ''));
  }

  private postConnection(): void {
    const state = this.link.state;
    const live = state.kind === 'owner' || state.kind === 'follower';
    this.post({ type: 'connection', state: { live, note: live ? '' : plainState(state, this.port()).replace(/\\(.)/g, '$1').replace(/`/g, '') } });
  }

  private post(message: HostMessage): void {
    // Before the app's `ready`, messages would be lost; it asks for everything once ready.
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private html(extensionUri: vscode.Uri): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const app = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(app, 'dashboard.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(app, 'dashboard.css'));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource} data:; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Burn Rate</title>
</head>
<body class="in-vscode">
<div id="app"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  dispose(): void {
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
