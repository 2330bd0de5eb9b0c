import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { SpendSummary } from '../engine/summary';
import { Commands, DASHBOARD_VIEW_TYPE } from './constants';
import type { EngineLink, LinkState } from './engineLink';
import { plainState } from './format';

/** Messages between the dashboard webview (media/dashboard.js) and the extension. */
export type ToDashboard = { type: 'summary'; summary: SpendSummary | null; state: LinkState['kind']; note: string; proxyUrl: string };
export type FromDashboard = { type: 'ready' } | { type: 'command'; command: (typeof DASHBOARD_COMMANDS)[number] };

/** The only commands the webview may ask for. */
const DASHBOARD_COMMANDS = [Commands.exportCsv, Commands.copyProxySetup, Commands.newMeteredTerminal] as const;

/**
 * A small interim dashboard: today's totals by provider and model, live. (The full dashboard app in
 * webview/ replaces it.) Strict CSP: no inline script without the nonce, resources only from media/.
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
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')],
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
      panel.webview.onDidReceiveMessage((m: FromDashboard) => this.receive(m)),
    );
    const offSummary = link.onDidChangeSummary(() => this.post());
    const offState = link.onDidChangeState(() => this.post());
    this.disposables.push({ dispose: () => (offSummary(), offState()) });
  }

  private receive(m: FromDashboard): void {
    if (m?.type === 'ready') {
      this.ready = true;
      this.post();
    } else if (m?.type === 'command' && (DASHBOARD_COMMANDS as readonly string[]).includes(m.command)) {
      void vscode.commands.executeCommand(m.command);
    }
  }

  private post(): void {
    if (!this.ready) return;
    const state = this.link.state;
    const message: ToDashboard = {
      type: 'summary',
      summary: this.link.summary ?? null,
      state: state.kind,
      note: plainState(state, this.port()).replace(/\\(.)/g, '$1').replace(/`/g, ''),
      proxyUrl: `http://127.0.0.1:${this.port()}`,
    };
    void this.panel.webview.postMessage(message);
  }

  private html(extensionUri: vscode.Uri): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'dashboard.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'dashboard.css'));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Burn Rate</title>
</head>
<body>
<header>
  <h1>Burn Rate <span id="state" class="muted"></span></h1>
  <div class="actions">
    <button data-command="${Commands.exportCsv}">Export CSV</button>
    <button data-command="${Commands.copyProxySetup}" class="secondary">Copy proxy setup</button>
    <button data-command="${Commands.newMeteredTerminal}" class="secondary">New metered terminal</button>
  </div>
</header>
<p id="note" class="muted"></p>
<section class="cards">
  <div class="card"><div class="label">Today</div><div class="value" id="today">…</div><div class="sub" id="today-sub"></div></div>
  <div class="card"><div class="label">This week</div><div class="value" id="week">…</div><div class="sub" id="week-sub"></div></div>
  <div class="card"><div class="label">This month</div><div class="value" id="month">…</div><div class="sub" id="month-sub"></div></div>
</section>
<h2>Today by provider</h2>
<table id="by-provider"><thead><tr><th>provider</th><th>cost</th><th>requests</th><th>input</th><th>output</th><th>unpriced</th></tr></thead><tbody></tbody></table>
<h2>Today by model</h2>
<table id="by-model"><thead><tr><th>model</th><th>cost</th><th>requests</th><th>input</th><th>output</th><th>unpriced</th></tr></thead><tbody></tbody></table>
<h2>Active sessions</h2>
<table id="sessions"><thead><tr><th>session</th><th>cost today</th><th>requests</th><th>input</th><th>output</th><th>unpriced</th></tr></thead><tbody></tbody></table>
<footer class="muted" id="footer"></footer>
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
