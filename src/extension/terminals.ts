import * as vscode from 'vscode';
import { DEFAULT_ROUTES } from '../engine/routes';
import type { Tags } from '../engine/tags';
import type { ConfigStore } from './configStore';
import { Commands, Settings, StateKeys } from './constants';
import type { EngineLink, LinkState } from './engineLink';
import { meteredLaunch, newSessionId, planTerminalEnv, proxyOrigin, type EnvPlanEntry, type KeptBaseUrl } from './terminalEnv';

/** States in which the port is a Burn Rate engine (or about to be): safe to point terminals at. */
export function advertisable(state: LinkState): boolean {
  return state.kind === 'connecting' || state.kind === 'owner' || state.kind === 'follower' || state.kind === 'external';
}

/** The workspace tag for this window: the folder's (or workspace's) name. */
export function workspaceTag(): Tags {
  const name = vscode.workspace.name?.replace(/ \(Workspace\)$/, '');
  return name ? { workspace: name } : {};
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
  private readonly closeListener: vscode.Disposable;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly config: ConfigStore,
    private readonly link: EngineLink,
    private readonly log: vscode.LogOutputChannel,
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

  plan(tags: Tags = workspaceTag()): { set: EnvPlanEntry[]; kept: KeptBaseUrl[] } {
    const cfg = this.config.config;
    return planTerminalEnv({ routes: DEFAULT_ROUTES, port: this.link.currentPort, tags, processEnv: process.env, upstreams: cfg.upstreams });
  }

  /** Re-applies the variables for the current settings and engine state. */
  refresh(): void {
    const cfg = this.config.config;
    if (!cfg.terminal.injectEnv || !advertisable(this.link.state)) {
      if ([...this.collection].length) this.log.info('terminals: base-URL variables removed (proxy not available or injection turned off)');
      this.collection.clear();
      return;
    }
    const { set, kept } = this.plan();
    const wanted = new Map(set.map((e) => [e.variable, e.value]));
    const current = new Map([...this.collection].map(([variable, m]) => [variable, m.value]));
    const same = wanted.size === current.size && [...wanted].every(([k, v]) => current.get(k) === v);
    if (!same) {
      this.collection.clear();
      for (const e of set) this.collection.replace(e.variable, e.value);
      this.log.info(`terminals: ${set.length} base-URL variables point at ${proxyOrigin(this.link.currentPort)}`);
    }
    this.collection.description = new vscode.MarkdownString(
      `Burn Rate routes AI SDK calls (\`OPENAI_BASE_URL\`, \`ANTHROPIC_BASE_URL\`, …) through its local spend proxy at \`${proxyOrigin(this.link.currentPort)}\`.`,
    );
    if (this.link.state.kind === 'owner' || this.link.state.kind === 'follower') void this.tellAboutKept(kept);
  }

  /** Opens a terminal whose traffic is recorded as its own session. */
  async openMeteredTerminal(): Promise<vscode.Terminal | undefined> {
    if (!advertisable(this.link.state)) {
      void vscode.window.showErrorMessage('Burn Rate is not running, so a metered terminal would not reach it. See the log for why.', 'Show Log').then((pick) => {
        if (pick) void vscode.commands.executeCommand(Commands.showLog);
      });
      return undefined;
    }
    const session = newSessionId();
    const { set } = this.plan({ ...workspaceTag(), session });
    // BURNRATE_SESSION lets a script send the tag itself (x-burnrate-session) where a base URL cannot carry it.
    const launch = meteredLaunch({ platform: process.platform, shell: vscode.env.shell || process.env.SHELL || '', entries: set, extra: { BURNRATE_SESSION: session }, baseEnv: process.env });
    const options: vscode.TerminalOptions = {
      name: `Burn Rate: ${session}`,
      iconPath: new vscode.ThemeIcon('flame'),
      message: `Burn Rate: calls from this terminal are recorded as session "${session}".`,
      ...(launch.kind === 'envWrapper' ? { shellPath: launch.shellPath, shellArgs: launch.shellArgs } : { env: launch.env, strictEnv: true }),
    };
    const terminal = vscode.window.createTerminal(options);
    this.metered.set(session, terminal);
    terminal.show();
    this.log.info(`opened metered terminal, session ${session}`);
    return terminal;
  }

  private async tellAboutKept(kept: KeptBaseUrl[]): Promise<void> {
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
