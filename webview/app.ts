/**
 * The Burn Rate dashboard app: the same code in the VS Code panel and on the `burnrate serve` page.
 * It asks its host for pre-aggregated figures (one request per render), redraws on new records,
 * and keeps the filter (and the last figures, for an instant repaint) across hide/show.
 * Each section of the panel is a view (views/) that draws what it is given.
 */
import { card, h } from './dom';
import { defaultFilter, filterQuery, rangeLabel, type FilterState } from './filter';
import type { DashboardHost } from './hosts';
import type { AppCommand, DashboardData, GuardAlert, SessionAction } from './protocol';
import { branchBreakdown, clientBreakdown, FeatureBreakdown } from './views/breakdowns';
import { AnomalyBanner, BudgetGauges } from './views/budgets';
import { RetentionHoldBanner } from './views/retentionHold';
import { DashboardHeader } from './views/header';
import { LeakHints } from './views/leakHints';
import { LiveFeed } from './views/liveFeed';
import { PricesView } from './views/pricing/pricesView';
import { AlertList, SessionsView } from './views/sessions';
import { DailySpendChart, ModelShareChart } from './views/spendCharts';
import { StatusLine } from './views/statusLine';
import { TilesView } from './views/tiles';
import { TopRequests, TopSessions } from './views/topSpend';
import { WhatIfPicker } from './views/pricing/whatIfPicker';

/** What the host keeps across hide/show. */
interface AppState extends FilterState {
  data?: DashboardData;
  /** Recent alerts, kept across hide/show (they arrive only once). */
  alerts?: GuardAlert[];
}

export class DashboardApp {
  private readonly state: AppState;
  private readonly status = new StatusLine();
  private readonly header: DashboardHeader;
  private readonly banner = new AnomalyBanner();
  private readonly retentionHold = new RetentionHoldBanner();
  private readonly alertList: AlertList;
  private readonly tiles: TilesView;
  private readonly gauges = new BudgetGauges();
  private readonly liveSessions = new SessionsView((action, session) => this.actOnSession(action, session));
  private readonly dailySpend = new DailySpendChart();
  private readonly modelShare = new ModelShareChart();
  private readonly features = new FeatureBreakdown();
  private readonly clients = clientBreakdown();
  private readonly branches = branchBreakdown();
  private readonly leaks = new LeakHints();
  private readonly topSessions = new TopSessions();
  private readonly topRequests = new TopRequests();
  private readonly feed = new LiveFeed();
  private readonly prices: PricesView;
  private readonly whatIf: WhatIfPicker;
  /** Each fetch's number: an answer that a later fetch overtook is dropped. */
  private generation = 0;
  private sessionsGeneration = 0;
  private changeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: DashboardHost) {
    this.state = { ...defaultFilter(), ...host.getState<AppState>() };
    const showError = (e: unknown) => this.status.showError(e);
    const command = host.kind === 'vscode' ? (id: AppCommand) => void host.request('command', { command: id }).catch(showError) : undefined;
    this.header = new DashboardHeader(this.state, { filterChanged: () => this.changedFilter(), exportAs: (format) => void this.exportAs(format), command });
    this.alertList = new AlertList(this.state.alerts ?? [], (alerts) => {
      this.state.alerts = alerts;
      host.setState(this.state);
    });
    this.tiles = new TilesView(command && (() => command('burnrate.refreshPrices')));
    this.prices = new PricesView(host, showError);
    this.whatIf = new WhatIfPicker(host, () => filterQuery(this.state));
  }

  /** Lays the panel out in `root`, draws the last figures at once, then connects to the host and fetches. */
  start(root: HTMLElement): void {
    document.body.classList.add(this.host.kind === 'vscode' ? 'in-vscode' : 'page');
    root.replaceChildren(...this.layout());
    this.listenToHost();
    this.redrawOnThemeChange();
    if (this.state.data) this.render(this.state.data);
    this.host.start();
    void this.refresh();
    void this.refreshSessions();
    this.prices.start();
  }

  private layout(): HTMLElement[] {
    return [
      this.header.element,
      this.status.element,
      this.banner.element,
      this.retentionHold.element,
      this.alertList.element,
      this.tiles.element,
      this.gauges.element,
      card('Sessions today', this.liveSessions.element),
      h('div', { class: 'grid two' }, card('Daily spend by provider', this.dailySpend.element), card('Share by model', this.modelShare.element)),
      h('div', { class: 'grid two' }, card('Spend by feature', this.features.element), card('Spend by client', this.clients.element)),
      card('Spend by branch', this.branches.element),
      card('Leak hints', this.leaks.element),
      card('What if', this.whatIf.element),
      h('div', { class: 'grid two' }, card('Top sessions', this.topSessions.element), card('Most expensive requests', this.topRequests.element)),
      card('Live feed', this.feed.element),
      this.prices.element,
    ];
  }

  private render(d: DashboardData): void {
    this.header.render(d);
    this.banner.render(d);
    this.retentionHold.render(d);
    this.tiles.render(d, rangeLabel(this.state.range));
    this.gauges.render(d);
    this.dailySpend.render(d);
    this.modelShare.render(d);
    this.features.render(d);
    this.clients.render(d);
    this.branches.render(d);
    this.leaks.render(d);
    this.whatIf.render(d);
    this.topSessions.render(d);
    this.topRequests.render(d);
    this.feed.render(d);
    this.status.render(d);
    document.body.dataset.loaded = 'true';
  }

  private async refresh(): Promise<void> {
    const mine = ++this.generation;
    try {
      const data = await this.host.request('dashboard', filterQuery(this.state));
      if (mine !== this.generation) return;
      this.state.data = data;
      this.render(data);
      this.host.setState(this.state);
    } catch (e) {
      this.status.showError(e);
    }
  }

  private async refreshSessions(): Promise<void> {
    const mine = ++this.sessionsGeneration;
    try {
      const sessions = await this.host.request('sessions', {});
      if (mine === this.sessionsGeneration) this.liveSessions.update(sessions, this.state.workspace);
    } catch (e) {
      this.status.showError(e);
    }
  }

  private refreshAll(): void {
    void this.refresh();
    void this.refreshSessions();
  }

  private async actOnSession(action: SessionAction, session: string): Promise<void> {
    try {
      const after = await this.host.request('session', { action, session });
      this.status.say(
        `Session ${session} ${after.state === 'stopped' ? 'stopped: its next calls are refused' : action === 'raise' ? 'limits raised; it goes on' : 'allowed to go on'}.`,
      );
    } catch (e) {
      this.status.showError(e);
    }
    await this.refreshSessions();
  }

  private changedFilter(): void {
    this.host.setState({ ...this.state, data: undefined });
    this.header.showSelection();
    this.refreshAll();
  }

  private async exportAs(format: 'csv' | 'jsonl'): Promise<void> {
    try {
      const { saved } = await this.host.request('export', { ...filterQuery(this.state), format });
      if (saved) this.status.say(`Exported ${saved}`);
    } catch (e) {
      this.status.showError(e);
    }
  }

  private listenToHost(): void {
    this.host.onChanged(() => {
      // A burst of requests makes one refetch.
      clearTimeout(this.changeTimer);
      this.changeTimer = setTimeout(() => this.refreshAll(), 300);
    });
    this.host.onAlert((alert) => {
      this.alertList.add(alert);
      void this.refreshSessions();
    });
    this.host.onConnection((s) => {
      this.header.showConnection(s);
      if (!s.live && s.note) this.status.say(s.note);
      if (s.live) this.refreshAll();
    });
  }

  /**
   * A theme change (VS Code swaps the body's vscode-light/-dark class; the page follows the system)
   * redraws the charts, whose colours are read from CSS variables when drawn.
   */
  private redrawOnThemeChange(): void {
    const redraw = () => {
      this.dailySpend.reset();
      this.modelShare.reset();
      if (this.state.data) this.render(this.state.data);
    };
    new MutationObserver(redraw).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', redraw);
  }
}
