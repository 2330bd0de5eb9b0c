/**
 * The Burn Rate dashboard app: the same code in the VS Code panel and on the `burnrate serve` page.
 * It asks its host for pre-aggregated figures (one request per render), redraws on new records,
 * and keeps the filter (and the last figures, for an instant repaint) across hide/show.
 */
import { localDay } from '../src/shared';
import { formatTokens } from '../src/shared';
import { DailyChart, ShareChart } from './charts';
import { h, table } from './dom';
import { duration, money, percent, time } from './format';
import { pickHost } from './hosts';
import { PricesView } from './pricesView';
import type { AppCommand, DashboardData, FilterQuery, GuardAlert, SessionAction } from './protocol';
import { AlertList, SessionsView } from './sessions';
import { unpricedTile } from './unpricedTile';

type RangeKind = 'today' | '7d' | '30d' | 'month' | 'custom';
interface AppState {
  range: RangeKind;
  from: string;
  to: string;
  workspace: string;
  data?: DashboardData;
  /** Recent alerts, kept across hide/show (they arrive only once). */
  alerts?: GuardAlert[];
}

const RANGES: Array<[RangeKind, string]> = [['today', 'Today'], ['7d', '7 d'], ['30d', '30 d'], ['month', 'This month'], ['custom', 'Custom']];
const host = pickHost();
document.body.classList.add(host.kind === 'vscode' ? 'in-vscode' : 'page');

const saved = host.getState<AppState>();
const state: AppState = { range: 'today', from: localDay(Date.now() - 6 * 86_400_000), to: localDay(Date.now()), workspace: '', ...saved };

function dayStart(d: Date, offset = 0): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + offset).getTime();
}

/** The filter's whole local days. */
function currentFilter(): FilterQuery {
  const now = new Date();
  const tomorrow = dayStart(now, 1);
  let since: number;
  let until = tomorrow;
  switch (state.range) {
    case 'today': since = dayStart(now); break;
    case '7d': since = dayStart(now, -6); break;
    case '30d': since = dayStart(now, -29); break;
    case 'month': since = new Date(now.getFullYear(), now.getMonth(), 1).getTime(); break;
    case 'custom': {
      const [fy, fm, fd] = state.from.split('-').map(Number);
      const [ty, tm, td] = state.to.split('-').map(Number);
      since = new Date(fy, fm - 1, fd).getTime();
      until = new Date(ty, tm - 1, td + 1).getTime();
      if (!(until > since)) until = since + 86_400_000;
      break;
    }
  }
  return { since, until, ...(state.workspace ? { workspace: state.workspace } : {}) };
}

// ---- layout, built once -------------------------------------------------------------------------

const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
const rangeButtons = RANGES.map(([kind, label]) => {
  const b = h('button', { class: 'range', 'data-range': kind, type: 'button' }, label);
  b.addEventListener('click', () => {
    state.range = kind;
    changedFilter();
  });
  return b;
});
const fromInput = h('input', { type: 'date', 'aria-label': 'From' });
const toInput = h('input', { type: 'date', 'aria-label': 'To' });
fromInput.value = state.from;
toInput.value = state.to;
for (const input of [fromInput, toInput]) {
  input.addEventListener('change', () => {
    state.from = fromInput.value || state.from;
    state.to = toInput.value || state.to;
    state.range = 'custom';
    changedFilter();
  });
}
const customBox = h('span', { class: 'custom' }, fromInput, ' – ', toInput);
const workspaceSelect = h('select', { 'aria-label': 'Workspace' });
workspaceSelect.addEventListener('change', () => {
  state.workspace = workspaceSelect.value;
  changedFilter();
});
const exportCsv = h('button', { type: 'button', class: 'secondary' }, 'Export CSV');
const exportJsonl = h('button', { type: 'button', class: 'secondary' }, 'Export JSONL');
exportCsv.addEventListener('click', () => void exportAs('csv'));
exportJsonl.addEventListener('click', () => void exportAs('jsonl'));
const liveDot = h('span', { class: 'live', title: 'live' });
const statusLine = h('p', { class: 'status muted', role: 'status' });

const commandButtons: HTMLButtonElement[] = [];
if (host.kind === 'vscode') {
  for (const [command, label] of [['burnrate.copyProxySetup', 'Copy proxy setup'], ['burnrate.newMeteredTerminal', 'New metered terminal']] as Array<[AppCommand, string]>) {
    const b = h('button', { type: 'button', class: 'secondary' }, label);
    b.addEventListener('click', () => void host.request('command', { command }).catch(showError));
    commandButtons.push(b);
  }
}

const banner = h('div', { class: 'banner', role: 'alert', 'data-testid': 'anomaly' });
const tilesBox = h('section', { class: 'tiles', 'data-testid': 'tiles' });
const gaugesBox = h('section', { class: 'gauges', 'data-testid': 'budget' });
const dailyCanvas = h('canvas', { id: 'daily-chart', 'aria-label': 'Daily spend by provider' });
const modelCanvas = h('canvas', { id: 'model-chart', 'aria-label': 'Share by model' });
const dailyChart = new DailyChart(dailyCanvas);
const modelChart = new ShareChart(modelCanvas);
const featuresBox = h('div');
const clientsBox = h('div');
const leaksBox = h('div', { 'data-testid': 'leaks' });
const alertList = new AlertList(state.alerts ?? [], (alerts) => {
  state.alerts = alerts;
  host.setState(state);
});
const liveSessions = new SessionsView(actOnSession);
const sessionsBox = h('div');
const requestsBox = h('div');
const feedBox = h('div');


const pricesView = new PricesView(host, showError);

const card = (title: string, ...body: Array<Node | string>) => h('section', { class: 'card' }, h('h2', null, title), ...body);

app.replaceChildren(
  h('header', null,
    h('h1', null, 'Burn Rate ', liveDot),
    h('div', { class: 'filters' }, h('span', { class: 'segmented' }, ...rangeButtons), customBox, workspaceSelect),
    h('div', { class: 'actions' }, exportCsv, exportJsonl, ...commandButtons),
  ),
  statusLine,
  banner,
  alertList.element,
  tilesBox,
  gaugesBox,
  card('Sessions today', liveSessions.element),
  h('div', { class: 'grid two' },
    card('Daily spend by provider', h('div', { class: 'chart' }, dailyCanvas)),
    card('Share by model', h('div', { class: 'chart' }, modelCanvas)),
  ),
  h('div', { class: 'grid two' }, card('Spend by feature', featuresBox), card('Spend by client', clientsBox)),
  card('Leak hints', leaksBox),
  h('div', { class: 'grid two' }, card('Top sessions', sessionsBox), card('Most expensive requests', requestsBox)),
  card('Live feed', feedBox),
  pricesView.element,
);

// ---- rendering ----------------------------------------------------------------------------------

function render(d: DashboardData): void {
  for (const b of rangeButtons) b.classList.toggle('selected', b.dataset.range === state.range);
  customBox.hidden = state.range !== 'custom';

  const options = ['', ...d.workspaces];
  if (state.workspace && !options.includes(state.workspace)) options.push(state.workspace);
  workspaceSelect.replaceChildren(...options.map((w) => {
    const o = h('option', { value: w }, w || 'All workspaces');
    o.selected = w === state.workspace;
    return o;
  }));

  banner.hidden = !d.anomaly;
  banner.replaceChildren();
  if (d.anomaly) {
    banner.append(h('strong', null, `Today is running ${d.anomaly.ratio.toFixed(1)}x the usual spend: `),
      `${money(d.anomaly.todayUsd)} so far against ${money(d.anomaly.trailingAverageUsd)} a day over the last 7 days.`);
  }

  const t = d.tiles;
  const rangeLabel = RANGES.find(([k]) => k === state.range)?.[1] ?? '';
  const tile = (id: string, label: string, value: string, sub: string) =>
    h('div', { class: 'tile', 'data-testid': `tile-${id}` }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), h('div', { class: 'sub muted' }, sub));
  tilesBox.replaceChildren(
    tile('today', 'Spent today', money(t.todayUsd), ''),
    tile('week', 'This week', money(t.weekUsd), 'since Monday'),
    tile('month', 'This month', money(t.monthUsd), ''),
    tile('cost', `Spend · ${rangeLabel}`, money(t.costUsd), t.unpricedRequests ? `${t.unpricedRequests} unpriced` : `${formatTokens(t.inputTokens)} in / ${formatTokens(t.outputTokens)} out`),
    tile('requests', 'Requests', t.requests.toLocaleString('en-US'), rangeLabel),
    tile('per-request', 'Per request', money(t.avgCostPerRequestUsd), 'average'),
    tile('per-session', 'Per session', money(t.costPerSessionUsd), `${t.sessions} session${t.sessions === 1 ? '' : 's'}`),
    tile('cache', 'Saved by cache', money(t.cacheSavingsUsd), 'cache reads vs. full input price'),
    unpricedTile(d, host.kind === 'vscode' ? () => void host.request('command', { command: 'burnrate.refreshPrices' }).catch(showError) : undefined) ?? '',
  );

  const gauge = (id: string, label: string, spent: number, budget: number) => {
    if (!budget) return h('div', { class: 'gauge none', 'data-testid': `gauge-${id}` }, h('span', { class: 'label' }, label), h('span', { class: 'muted' }, `no ${id} budget set`));
    const fraction = spent / budget;
    const fill = h('div', { class: `fill ${fraction >= 1 ? 'over' : fraction >= 0.8 ? 'near' : ''}` });
    fill.style.width = `${Math.min(100, fraction * 100)}%`;
    return h('div', { class: 'gauge', 'data-testid': `gauge-${id}` }, h('span', { class: 'label' }, label), h('div', { class: 'bar' }, fill),
      h('span', { class: 'figure' }, `${money(spent)} of ${money(budget)} (${percent(fraction)})`));
  };
  gaugesBox.replaceChildren(gauge('daily', 'Daily budget', d.budget.todayUsd, d.budget.dailyUsd), gauge('monthly', 'Monthly budget', d.budget.monthUsd, d.budget.monthlyUsd));

  dailyChart.update(d.daily.days, d.daily.providers.map((p) => ({ label: p.provider, values: p.costUsd })));
  const topModels = d.byModel.slice(0, 7);
  const otherModels = d.byModel.slice(7).reduce((s, m) => s + m.costUsd, 0);
  modelChart.update([...topModels.map((m) => ({ label: m.key, value: m.costUsd })), ...(otherModels > 0 ? [{ label: 'other', value: otherModels }] : [])]);

  featuresBox.replaceChildren(table(['feature', 'cost', 'share', 'requests', 'per request', 'output'],
    d.byFeature.slice(0, 12).map((f) => [f.key, money(f.costUsd), percent(f.share), f.requests.toLocaleString('en-US'), money(f.costPerRequestUsd), formatTokens(f.outputTokens)]),
    { numeric: [1, 2, 3, 4, 5], empty: 'No requests in this range.', testId: 'features' }));
  clientsBox.replaceChildren(table(['client', 'cost', 'share', 'requests'],
    d.byClient.slice(0, 12).map((c) => [c.key, money(c.costUsd), percent(c.share), c.requests.toLocaleString('en-US')]),
    { numeric: [1, 2, 3], empty: 'No requests in this range.', testId: 'clients' }));

  leaksBox.replaceChildren(d.leaks.length
    ? h('ul', { class: 'leaks' }, ...d.leaks.map((l) => h('li', { 'data-kind': l.kind }, h('div', { class: 'leak-title' }, h('span', { class: 'usd' }, money(l.usd)), ' ', l.title), h('div', { class: 'muted' }, l.detail))))
    : h('p', { class: 'muted' }, 'No leaks found in this range: no repeated uncached prompts, runaway output, growing context or failing calls.'));

  sessionsBox.replaceChildren(table(['session', 'duration', 'requests', 'tokens', 'cost'],
    d.topSessions.map((s) => [s.session, duration(s.durationMs), s.requests.toLocaleString('en-US'), formatTokens(s.tokens), money(s.costUsd)]),
    { numeric: [1, 2, 3, 4], empty: 'No tagged sessions in this range.', testId: 'sessions' }));

  // The half-width card of top requests has no room for the client; the full-width feed has.
  const requestRow = (r: DashboardData['recent'][number], withClient = false) => [
    time(r.startedAt), r.model ?? r.provider, ...(withClient ? [r.client ?? ''] : []), r.feature ?? '', `${formatTokens(r.inputTokens)} / ${formatTokens(r.outputTokens)}`,
    r.status >= 400 || r.status === 0 ? h('span', { class: 'error' }, r.status ? String(r.status) : 'failed') : String(r.status),
    r.costStatus === 'unpriced' ? h('span', { class: 'muted' }, 'unpriced') : `${money(r.costUsd)}${r.costStatus === 'estimated' ? '*' : ''}`,
  ];
  requestsBox.replaceChildren(table(['time', 'model', 'feature', 'in / out', 'status', 'cost'], d.topRequests.slice(0, 5).map((r) => requestRow(r)), { numeric: [3, 4, 5], empty: 'No requests in this range.', testId: 'top-requests' }));
  feedBox.replaceChildren(table(['time', 'model', 'client', 'feature', 'in / out', 'status', 'cost'], d.recent.map((r) => requestRow(r, true)), { numeric: [4, 5, 6], empty: 'Waiting for the first request…', testId: 'feed' }));
  statusLine.textContent = `${d.filter.firstDay === d.filter.lastDay ? d.filter.firstDay : `${d.filter.firstDay} – ${d.filter.lastDay}`}${d.filter.workspace ? ` · workspace ${d.filter.workspace}` : ''} · updated ${new Date(d.generatedAt).toLocaleTimeString()}`;
  document.body.dataset.loaded = 'true';
}

// ---- data flow ----------------------------------------------------------------------------------

let generation = 0;
async function refresh(): Promise<void> {
  const mine = ++generation;
  try {
    const data = await host.request('dashboard', currentFilter());
    if (mine !== generation) return;
    state.data = data;
    render(data);
    host.setState(state);
  } catch (e) {
    showError(e);
  }
}

let sessionsGeneration = 0;
async function refreshSessions(): Promise<void> {
  const mine = ++sessionsGeneration;
  try {
    const sessions = await host.request('sessions', {});
    if (mine === sessionsGeneration) liveSessions.update(sessions, state.workspace);
  } catch (e) {
    showError(e);
  }
}

async function actOnSession(action: SessionAction, session: string): Promise<void> {
  try {
    const after = await host.request('session', { action, session });
    statusLine.textContent = `Session ${session} ${after.state === 'stopped' ? 'stopped: its next calls are refused' : action === 'raise' ? 'limits raised; it goes on' : 'allowed to go on'}.`;
  } catch (e) {
    showError(e);
  }
  await refreshSessions();
}

function changedFilter(): void {
  host.setState({ ...state, data: undefined });
  for (const b of rangeButtons) b.classList.toggle('selected', b.dataset.range === state.range);
  customBox.hidden = state.range !== 'custom';
  void refresh();
  void refreshSessions();
}

function showError(e: unknown): void {
  statusLine.textContent = `Could not load: ${(e as Error).message}`;
  statusLine.classList.add('error');
  setTimeout(() => statusLine.classList.remove('error'), 5_000);
}

async function exportAs(format: 'csv' | 'jsonl'): Promise<void> {
  try {
    const { saved } = await host.request('export', { ...currentFilter(), format });
    if (saved) statusLine.textContent = `Exported ${saved}`;
  } catch (e) {
    showError(e);
  }
}

let changeTimer: ReturnType<typeof setTimeout> | undefined;
host.onChanged(() => {
  // A burst of requests makes one refetch.
  clearTimeout(changeTimer);
  changeTimer = setTimeout(() => {
    void refresh();
    void refreshSessions();
  }, 300);
});
host.onAlert((alert) => {
  alertList.add(alert);
  void refreshSessions();
});
host.onConnection((s) => {
  liveDot.classList.toggle('on', s.live);
  liveDot.title = s.live ? 'live' : s.note;
  if (!s.live && s.note) statusLine.textContent = s.note;
  if (s.live) {
    void refresh();
    void refreshSessions();
  }
});

// A theme change (VS Code swaps the body's vscode-light/-dark class; the page follows the system)
// redraws the charts, whose colours are read from CSS variables when drawn.
const redrawInTheme = () => {
  dailyChart.reset();
  modelChart.reset();
  if (state.data) render(state.data);
};
new MutationObserver(redrawInTheme).observe(document.body, { attributes: true, attributeFilter: ['class'] });
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', redrawInTheme);

if (state.data) render(state.data);
host.start();
void refresh();
void refreshSessions();
pricesView.start();
