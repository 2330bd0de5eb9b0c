/**
 * Today's sessions with their spend and state, stoppable and re-allowed from the dashboard, and the
 * list of recent budget / guard / anomaly alerts. Both only draw what they are given; app.ts
 * fetches and calls the host.
 */
import { formatTokens, guardLabel } from '../../src/shared';
import { h, table } from '../dom';
import { money, time } from '../format';
import type { GuardAlert, SessionAction, SessionView } from '../protocol';

const MAX_ROWS = 50;

export class SessionsView {
  readonly element = h('div', { 'data-testid': 'session-list' });
  /** Sessions with an action on the way: their buttons stay disabled until the answer. */
  private readonly busy = new Set<string>();
  private last: SessionView[] = [];
  private workspace = '';

  constructor(private readonly act: (action: SessionAction, session: string) => Promise<void>) {}

  update(sessions: SessionView[], workspace: string): void {
    this.last = sessions;
    this.workspace = workspace;
    const shown = workspace ? sessions.filter((s) => s.workspace === workspace) : sessions;
    // Stopped and tripped sessions first: they are the ones waiting for a decision.
    const ordered = [...shown].sort((a, b) => attention(b) - attention(a) || b.lastAt - a.lastAt);
    const rows = ordered
      .slice(0, MAX_ROWS)
      .map((s) => [
        h(
          'span',
          { class: 'session-id', title: s.id },
          s.id,
          s.explicit ? null : h('span', { class: 'muted' }, ' (inferred)'),
          s.workspace ? h('div', { class: 'muted' }, s.workspace) : null,
        ),
        this.stateCell(s),
        time(s.lastAt),
        s.requests.toLocaleString('en-US'),
        formatTokens(s.tokens),
        money(s.costUsd),
        String(s.inFlight),
        s.blockedCalls ? h('span', { class: 'error' }, String(s.blockedCalls)) : '0',
        this.buttons(s),
      ]);
    this.element.replaceChildren(
      table(['session', 'state', 'last call', 'requests', 'tokens', 'cost', 'in flight', 'blocked', ''], rows, {
        numeric: [3, 4, 5, 6, 7],
        empty: workspace ? `No session of ${workspace} today.` : 'No session today yet.',
        testId: 'live-sessions',
      }),
      ordered.length > MAX_ROWS ? h('p', { class: 'muted' }, `${ordered.length - MAX_ROWS} older sessions not shown.`) : '',
    );
    for (const [tr, s] of zipRows(this.element, ordered)) tr.dataset.session = s.id;
  }

  private stateCell(s: SessionView): Node {
    const tripped = s.tripped.map(guardLabel).join(', ');
    if (s.state === 'stopped') {
      return h(
        'span',
        { class: 'state stopped', title: s.stoppedReason ?? '' },
        'stopped',
        h('div', { class: 'muted' }, tripped ? `${tripped} guard` : (s.stoppedReason ?? '')),
      );
    }
    return h(
      'span',
      { class: `state ${tripped ? 'tripped' : 'active'}` },
      tripped ? 'over a limit' : 'active',
      tripped ? h('div', { class: 'muted' }, `${tripped} guard`) : null,
    );
  }

  private buttons(s: SessionView): Node {
    const box = h('span', { class: 'session-actions' });
    const add = (action: SessionAction, label: string, title: string, secondary: boolean) => {
      const b = h('button', { type: 'button', class: secondary ? 'secondary' : '', title, 'data-action': action }, label);
      b.disabled = this.busy.has(s.id);
      b.addEventListener('click', () => void this.run(action, s.id));
      box.append(b);
    };
    if (s.state === 'active') add('stop', 'Stop', 'Refuse its next calls and cut its open streams', true);
    else add('allow', 'Allow', 'Let it go on; its guards start counting afresh', false);
    if (s.tripped.length) add('raise', 'Raise limit', 'Double each tripped limit for this session and let it go on', true);
    return box;
  }

  private async run(action: SessionAction, session: string): Promise<void> {
    this.busy.add(session);
    this.update(this.last, this.workspace);
    try {
      await this.act(action, session);
    } finally {
      this.busy.delete(session);
      this.update(this.last, this.workspace);
    }
  }
}

function attention(s: SessionView): number {
  return s.state === 'stopped' ? 2 : s.tripped.length ? 1 : 0;
}

function zipRows(root: Element, sessions: SessionView[]): Array<[HTMLTableRowElement, SessionView]> {
  const trs = [...root.querySelectorAll<HTMLTableRowElement>('tbody tr')];
  return sessions.slice(0, trs.length).map((s, i) => [trs[i], s]);
}

/** The most recent alerts, newest first, each shown once (alerts carry a unique id). */
export class AlertList {
  static readonly MAX = 5;
  readonly element = h('section', { class: 'alerts', 'data-testid': 'alerts', role: 'log' });

  constructor(
    private alerts: GuardAlert[],
    private readonly changed: (alerts: GuardAlert[]) => void,
  ) {
    this.element.setAttribute('aria-live', 'polite');
    this.render();
  }

  add(alert: GuardAlert): void {
    if (this.alerts.some((a) => a.id === alert.id)) return;
    this.alerts = [alert, ...this.alerts].sort((a, b) => b.at - a.at).slice(0, AlertList.MAX);
    this.render();
    this.changed(this.alerts);
  }

  private render(): void {
    this.element.hidden = !this.alerts.length;
    const dismiss = h('button', { type: 'button', class: 'secondary dismiss', title: 'Dismiss these alerts' }, 'Dismiss');
    dismiss.addEventListener('click', () => {
      this.alerts = [];
      this.render();
      this.changed(this.alerts);
    });
    this.element.replaceChildren(
      h('div', { class: 'alerts-head' }, h('strong', null, 'Alerts'), dismiss),
      h(
        'ul',
        null,
        ...this.alerts.map((a) => h('li', { class: `alert ${a.kind}`, 'data-kind': a.kind }, h('span', { class: 'muted' }, time(a.at)), ' ', shortMessage(a))),
      ),
    );
  }
}

/** The alert's message without the "how to go on" tail meant for API users: the buttons are right here. */
function shortMessage(a: GuardAlert): string {
  return a.message.replace(/\s*To let it go on:.*$/s, ' Allow or Raise limit in Sessions lets it go on.');
}
