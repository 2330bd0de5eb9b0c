/**
 * What the status bar item says and shows in its tooltip. Pure (no vscode import) so it is
 * unit-tested; statusBar.ts only copies these strings into the item.
 */
import type { SpendSummary, SummaryGroup } from '../../engine/queries';
import { forecastSentence, formatTokens, formatUsd } from '../../shared';
import type { BurnRateConfig } from '../settings';
import { Commands } from '../constants';
import type { LinkState } from '../link';

export type BudgetLevel = 'none' | 'ok' | 'warning' | 'exceeded';

export interface BudgetLine {
  period: 'today' | 'this month';
  /** Set for a workspace's own budget (over its tagged calls); undefined for the budget of all spend. */
  workspace?: string;
  spentUsd: number;
  capUsd: number;
  fraction: number;
}

export interface BudgetUse {
  level: BudgetLevel;
  lines: BudgetLine[];
}

/**
 * How close today's and this month's spend are to the caps. "warning" from the highest alert
 * threshold below 100 % (80 % by default), "exceeded" at 100 %.
 *
 * From the engine's own count when the summary carries it (so every window agrees, and a workspace's
 * own budget is compared with that workspace's spend): the budget of all spend and this window's
 * workspace's. Else (an engine without guards) from this window's settings and the total spend.
 */
export function budgetUse(summary: SpendSummary | undefined, budget: BurnRateConfig['budget'], workspace?: string): BudgetUse {
  if (summary?.budgets) {
    const mine = summary.budgets.filter((b) => b.workspace === null || b.workspace === workspace);
    const lines: BudgetLine[] = mine.map((b) => ({
      period: b.period === 'day' ? 'today' : 'this month',
      ...(b.workspace !== null ? { workspace: b.workspace } : {}),
      spentUsd: b.spentUsd,
      capUsd: b.capUsd,
      fraction: b.fraction,
    }));
    const rank = { ok: 0, warning: 1, exceeded: 2 } as const;
    const worst = mine.reduce<keyof typeof rank>((w, b) => (rank[b.level] > rank[w] ? b.level : w), 'ok');
    return { level: lines.length ? worst : 'none', lines };
  }
  const lines: BudgetLine[] = [];
  if (budget.daily > 0)
    lines.push({ period: 'today', spentUsd: summary?.today.costUsd ?? 0, capUsd: budget.daily, fraction: (summary?.today.costUsd ?? 0) / budget.daily });
  if (budget.monthly > 0)
    lines.push({
      period: 'this month',
      spentUsd: summary?.month.costUsd ?? 0,
      capUsd: budget.monthly,
      fraction: (summary?.month.costUsd ?? 0) / budget.monthly,
    });
  if (!lines.length) return { level: 'none', lines };
  const worst = Math.max(...lines.map((l) => l.fraction));
  const warnAt = Math.max(0, ...budget.alertThresholds.filter((t) => t < 1));
  const level: BudgetLevel = worst >= 1 ? 'exceeded' : warnAt > 0 && worst >= warnAt ? 'warning' : 'ok';
  return { level, lines };
}

export interface StatusView {
  text: string;
  /** Markdown for the tooltip. */
  tooltip: string;
  /** Background only for budget states. */
  background: 'none' | 'warning' | 'error';
  accessibilityLabel: string;
}

/** What this window tags its terminals' calls with. */
export interface WindowTags {
  workspace?: string;
  /** The branch checked out in the workspace's repository (none without git or on a detached HEAD). */
  branch?: string;
}

/** Everything the status bar item shows, from the link state, the last summary and the settings. */
export function statusView(state: LinkState, summary: SpendSummary | undefined, config: BurnRateConfig, proxyUrl: string, window: WindowTags = {}): StatusView {
  const budget = budgetUse(summary, config.budget, window.workspace);
  const background = budget.level === 'exceeded' ? 'error' : budget.level === 'warning' ? 'warning' : 'none';
  const running = state.kind === 'owner' || state.kind === 'follower' || (state.kind === 'connecting' && summary);
  if (!running) {
    const text = state.kind === 'connecting' ? '$(flame) …' : '$(flame) —';
    return { text, tooltip: notRunningTooltip(state, config.port), background: 'none', accessibilityLabel: `Burn Rate: ${plainState(state, config.port)}` };
  }
  const icon = summary?.recordingPaused ? '$(debug-pause)' : '$(flame)';
  const today = summary ? formatUsd(summary.today.costUsd) : '…';
  return {
    text: `${icon} ${today}`,
    tooltip: runningTooltip(state, summary, budget, proxyUrl, window.branch),
    background,
    accessibilityLabel: `Burn Rate: ${today} spent today${summary?.recordingPaused ? ', recording paused' : ''}`,
  };
}

function runningTooltip(state: LinkState, s: SpendSummary | undefined, budget: BudgetUse, proxyUrl: string, branch: string | undefined): string {
  const out: string[] = [];
  out.push(`**Burn Rate**${s?.recordingPaused ? ' · $(debug-pause) recording paused' : ''}`, '');
  if (s) {
    const row = (label: string, t: SpendSummary['today']) =>
      `| ${label} | ${formatUsd(t.costUsd)} | ${t.requests} | ${formatTokens(t.inputTokens)} / ${formatTokens(t.outputTokens)} |`;
    out.push('| | spend | requests | tokens in / out |', '|:--|--:|--:|--:|', row('Today', s.today), row('This week', s.week), row('This month', s.month), '');
    const unpriced = s.today.unpricedRequests;
    if (unpriced) out.push(`$(warning) ${unpriced} request${unpriced === 1 ? '' : 's'} today with no known price (not in the total)`, '');
    // An engine from before the forecast sends none.
    if (s.forecast) out.push(`**Forecast** · ${forecastSentence(s.forecast)}`, '');
  }
  if (budget.lines.length) {
    const label = (l: BudgetLine) => (l.workspace !== undefined ? `${l.period} (${escapeMarkdown(l.workspace)})` : l.period);
    out.push(
      `**Budget** · ${budget.lines.map((l) => `${label(l)}: ${formatUsd(l.spentUsd)} of ${formatUsd(l.capUsd)} (${Math.round(l.fraction * 100)} %)`).join(' · ')}`,
      '',
    );
  } else {
    out.push(`No budget set · [set one](command:workbench.action.openSettings?${encodeURIComponent(JSON.stringify('burnrate.budget'))})`, '');
  }
  if (s?.todayByModel.length) out.push(`**Top models today** · ${groupList(s.todayByModel.slice(0, 3))}`, '');
  // An engine from before the client dimension sends no todayByClient.
  if (s?.todayByClient?.length) out.push(`**By client today** · ${groupList(s.todayByClient.slice(0, 3))}`, '');
  if (s?.activeSessions.length) out.push(`**Active sessions** (last ${s.activeSessionMinutes} min) · ${groupList(s.activeSessions.slice(0, 5))}`, '');
  if (s?.stoppedSessions?.length) {
    const shown = s.stoppedSessions
      .slice(0, 3)
      .map((x) => escapeMarkdown(x.id))
      .join(', ');
    out.push(
      `**Stopped** · ${shown}${s.stoppedSessions.length > 3 ? ` and ${s.stoppedSessions.length - 3} more` : ''} · [Allow session](command:${Commands.allowSession})`,
      '',
    );
  }
  const where = state.kind === 'owner' ? 'served by this window' : state.kind === 'follower' ? 'served by another VS Code window' : 'reconnecting…';
  if (branch) out.push(`**Branch** · ${escapeMarkdown(branch)} · new terminals are tagged with it`, '');
  out.push(`Proxy \`${proxyUrl}\` · ${where}`, '');
  out.push(
    `[Open dashboard](command:${Commands.openDashboard}) · [Copy proxy setup](command:${Commands.copyProxySetup}) · [New metered terminal](command:${Commands.newMeteredTerminal})`,
  );
  return out.join('\n');
}

function groupList(groups: SummaryGroup[]): string {
  return groups.map((g) => `${escapeMarkdown(g.key)} ${formatUsd(g.costUsd)} (${g.requests})`).join(' · ');
}

function notRunningTooltip(state: LinkState, port: number): string {
  const lines = ['**Burn Rate**', '', plainState(state, port)];
  if (state.kind === 'blocked' || state.kind === 'external')
    lines.push('', `Choose another port in [settings](command:workbench.action.openSettings?${encodeURIComponent(JSON.stringify('burnrate.proxy.port'))}).`);
  lines.push('', `[Show log](command:${Commands.showLog})`);
  return lines.join('\n');
}

/** One sentence on why nothing is being metered. */
export function plainState(state: LinkState, port: number): string {
  switch (state.kind) {
    case 'connecting':
      return 'Starting the proxy…';
    case 'blocked':
      return `Port ${port} on 127.0.0.1 is held by another program (${escapeMarkdown(state.detail)}), so Burn Rate is not running and terminals are not routed to it.`;
    case 'external':
      return `Port ${port} is served by a Burn Rate engine started outside VS Code (e.g. \`burnrate serve\`) with its own database; its spend is not shown here (see \`burnrate report\`).`;
    case 'failed':
      return `Burn Rate could not start: ${escapeMarkdown(state.message)}`;
    case 'stopped':
      return 'Burn Rate is stopped.';
    default:
      return 'Burn Rate is running.';
  }
}

/** Text (a tag, a branch name, an error) shown in a tooltip as it is: nothing in it is markup, an entity or an icon. */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>$&~]/g, (c) => `\\${c}`);
}
