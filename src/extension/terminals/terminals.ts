import * as vscode from 'vscode';
import { newSessionId, planMeteredEnv, proxyOrigin, type MeteredEnvPlan, type MeteredVariable } from '../../engine/meter';
import { DEFAULT_ROUTES } from '../../engine/providers';
import type { Tags } from '../../engine/attribution';
import type { ConfigStore } from '../settings';
import { Commands, Settings, StateKeys } from '../constants';
import { workspaceTag } from '../workspaceTag';
import type { EngineLink, LinkState } from '../link';
import { stableCaptureDir } from './captureHooks';
import type { WorkspaceBranch } from './gitBranch';
import { meteredLaunch } from './terminalEnv';

/** States in which the port is a Burn Rate engine (or about to be): safe to point terminals at. */
export function advertisable(state: LinkState): boolean {
  return state.kind === 'connecting' || state.kind === 'owner' || state.kind === 'follower' || state.kind === 'external';
}

/**
 * Puts the providers' base-URL variables into new integrated terminals through the window's
 * environmentVariableCollection (as the built-in git extension does for GIT_ASKPASS), and takes them
 * out again when nothing that is Burn Rate listens on the port.
 */
export class TerminalRouting implements vscode.Disposable {
  private readonly collection: vscode.GlobalEnvironmentVariableCollection;
  private keptAsked = new Set<string>();
  /** Metered terminals this window opened, by session id: Stop Session can end their process. */
  private readonly metered = new Map<string, vscode.Terminal>();
  /** The capture hooks' folder, copied once per activation (see stableCaptureDir). */
  private captureDir: string | undefined;
  private readonly closeListener: vscode.Disposable;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly config: ConfigStore,
    private readonly link: EngineLink,
    private readonly log: vscode.LogOutputChannel,
    /** The branch checked out: new terminals are tagged with it, metered or not. */
    private readonly branch: WorkspaceBranch,
  ) {
    this.collection = context.environmentVariableCollection;
    this.closeListener = vscode.window.onDidCloseTerminal((t) => {
      for (const [session, terminal] of this.metered) if (terminal === t) this.metered.delete(session);
    });
  }

  /** Sessions of the metered terminals open in this window. */
  get meteredSessions(): ReadonlySet<string> {
    return new Set(this.metered.keys());
  }

  /** Ends a metered terminal's process (disposing the terminal kills it). False when it is not this window's. */
  endMeteredTerminal(session: string): boolean {
    const terminal = this.metered.get(session);
    if (!terminal) return false;
    this.metered.delete(session);
    terminal.dispose();
    this.log.info(`ended the metered terminal of session ${session}`);
    return true;
  }

  /** The tags of calls from this window's new terminals: its workspace and the branch checked out. */
  windowTags(): Tags {
    const branch = this.branch.name;
    return { ...workspaceTag(), ...(branch ? { branch } : {}) };
  }

  plan(tags: Tags = this.windowTags()): MeteredEnvPlan {
    const cfg = this.config.config;
    return planMeteredEnv({
      routes: DEFAULT_ROUTES,
      port: this.link.currentPort,
      tags,
      parentEnv: process.env,
      upstreams: cfg.upstreams,
      intercept: cfg.terminal.intercept,
      captureDir: (this.captureDir ??= stableCaptureDir(this.context.extensionPath, this.context.globalStorageUri.fsPath)),
    });
  }

  /** Re-applies the variables for the current settings and engine state. */
  refresh(): void {
    const cfg = this.config.config;
    if (!cfg.terminal.injectEnv || !advertisable(this.link.state)) {
      if ([...this.collection].length) this.log.info('terminals: base-URL variables removed (proxy not available or injection turned off)');
      this.collection.clear();
      return;
    }
    const { variables, kept } = this.plan();
    if (!sameVariables(this.collection, variables)) {
      this.collection.clear();
      // prepend/append keep the terminal's own PATH, PYTHONPATH and NODE_OPTIONS.
      for (const v of variables) {
        if (v.edit.kind === 'replace') this.collection.replace(v.variable, v.value);
        else this.collection[v.edit.kind](v.variable, v.edit.part);
      }
      this.log.info(
        `terminals: ${variables.length} variables point at ${proxyOrigin(this.link.currentPort)}${this.config.config.terminal.intercept ? ' (capture hooks on)' : ''}`,
      );
    }
    this.collection.description = new vscode.MarkdownString(
      `Burn Rate routes AI SDK calls (\`OPENAI_BASE_URL\`, \`ANTHROPIC_BASE_URL\`, …) through its local spend proxy at \`${proxyOrigin(this.link.currentPort)}\`` +
        (this.config.config.terminal.intercept
          ? ', and sends clients that ignore those variables there too (`NODE_OPTIONS`, `PYTHONPATH`, a `codex` wrapper on `PATH`).'
          : '.'),
    );
    if (this.link.state.kind === 'owner' || this.link.state.kind === 'follower') void this.tellAboutKept(kept);
  }

  /** Opens a terminal whose traffic is recorded as its own session. */
  async openMeteredTerminal(): Promise<vscode.Terminal | undefined> {
    if (!advertisable(this.link.state)) {
      void vscode.window
        .showErrorMessage('Burn Rate is not running, so a metered terminal would not reach it. See the log for why.', 'Show Log')
        .then((pick) => {
          if (pick) void vscode.commands.executeCommand(Commands.showLog);
        });
      return undefined;
    }
    const session = newSessionId();
    // The terminal's session for calls that bring none of their own (an agent's conversations stay apart).
    const tags = { ...this.windowTags(), run: session };
    const { variables } = this.plan(tags);
    const launch = meteredLaunch({ platform: process.platform, shell: vscode.env.shell || process.env.SHELL || '', entries: variables, baseEnv: process.env });
    const options: vscode.TerminalOptions = {
      name: `Burn Rate: ${session}`,
      iconPath: new vscode.ThemeIcon('flame'),
      message: `Burn Rate: calls from this terminal are recorded as session "${session}"${tags.branch ? ` on branch "${tags.branch}"` : ''} (an agent's conversations keep their own ids).`,
      ...(launch.kind === 'envWrapper' ? { shellPath: launch.shellPath, shellArgs: launch.shellArgs } : { env: launch.env, strictEnv: true }),
    };
    const terminal = vscode.window.createTerminal(options);
    this.metered.set(session, terminal);
    terminal.show();
    this.log.info(`opened metered terminal, session ${session}${tags.branch ? `, branch ${tags.branch}` : ''}`);
    return terminal;
  }

  private async tellAboutKept(kept: MeteredEnvPlan['kept']): Promise<void> {
    const dismissed = new Set(this.context.globalState.get<string[]>(StateKeys.keptBaseUrlsDismissed, []));
    const fresh = kept.filter((k) => !dismissed.has(`${k.variable}=${k.value}`) && !this.keptAsked.has(`${k.variable}=${k.value}`));
    if (!fresh.length) return;
    for (const k of fresh) this.keptAsked.add(`${k.variable}=${k.value}`);
    const names = fresh.map((k) => k.variable).join(', ');
    const routable = fresh.filter((k) => k.upstream);
    const message =
      `Your environment already sets ${fresh.map((k) => `${k.variable}=${k.value}`).join(', ')}. ` +
      `Burn Rate left ${fresh.length === 1 ? 'it' : 'them'} as ${fresh.length === 1 ? 'it is' : 'they are'} in new terminals, so those calls are not metered.` +
      (routable.length ? ` Route ${routable.length === 1 ? 'it' : 'them'} through Burn Rate (same upstream, now metered)?` : '');
    const ROUTE = 'Route Through Burn Rate';
    const KEEP = 'Keep Mine';
    const pick = await vscode.window.showInformationMessage(message, ...(routable.length ? [ROUTE] : []), KEEP);
    if (pick === ROUTE) {
      const upstreams = { ...this.config.config.upstreams };
      for (const k of routable) upstreams[k.provider] = k.upstream!;
      await vscode.workspace.getConfiguration().update(Settings.upstreams, upstreams, vscode.ConfigurationTarget.Global);
      this.log.info(`routing ${routable.map((k) => k.variable).join(', ')} through the proxy (burnrate.upstreams updated)`);
    } else if (pick === KEEP) {
      await this.context.globalState.update(StateKeys.keptBaseUrlsDismissed, [...dismissed, ...fresh.map((k) => `${k.variable}=${k.value}`)]);
      this.log.info(`keeping the user's own ${names}`);
    }
  }

  dispose(): void {
    // The collection belongs to the extension context.
    this.closeListener.dispose();
  }
}

/** True when the collection already holds exactly these variables and edits. */
function sameVariables(collection: vscode.GlobalEnvironmentVariableCollection, variables: readonly MeteredVariable[]): boolean {
  const current = new Map([...collection].map(([variable, m]) => [variable, m]));
  if (current.size !== variables.length) return false;
  const kinds = {
    replace: vscode.EnvironmentVariableMutatorType.Replace,
    prepend: vscode.EnvironmentVariableMutatorType.Prepend,
    append: vscode.EnvironmentVariableMutatorType.Append,
  };
  return variables.every((v) => {
    const m = current.get(v.variable);
    return !!m && m.type === kinds[v.edit.kind] && m.value === (v.edit.kind === 'replace' ? v.value : v.edit.part);
  });
}
