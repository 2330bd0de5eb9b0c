/** The tiles: spend today, this week and month, the month-end forecast, the range's spend, requests and averages, cache savings, and unpriced requests. */
import { forecastHeadline, formatTokens } from '../../src/shared';
import { h } from '../dom';
import { money } from '../format';
import type { DashboardData } from '../protocol';
import { unpricedTile } from './pricing/unpricedTile';

export class TilesView {
  readonly element = h('section', { class: 'tiles', 'data-testid': 'tiles' });

  /** `refreshPrices`: the host's Refresh Prices, where it has one (VS Code). */
  constructor(private readonly refreshPrices?: () => void) {}

  /** `rangeLabel` names the filter's range under the range's figures. */
  render(d: DashboardData, rangeLabel: string): void {
    const t = d.tiles;
    this.element.replaceChildren(
      tile('today', 'Spent today', money(t.todayUsd), ''),
      tile('week', 'This week', money(t.weekUsd), 'since Monday'),
      tile('month', 'This month', money(t.monthUsd), ''),
      forecastTile(d.forecast),
      tile(
        'cost',
        `Spend · ${rangeLabel}`,
        money(t.costUsd),
        t.unpricedRequests ? `${t.unpricedRequests} unpriced` : `${formatTokens(t.inputTokens)} in / ${formatTokens(t.outputTokens)} out`,
      ),
      tile('requests', 'Requests', t.requests.toLocaleString('en-US'), rangeLabel),
      tile('per-request', 'Per request', money(t.avgCostPerRequestUsd), 'average'),
      tile('per-session', 'Per session', money(t.costPerSessionUsd), `${t.sessions} session${t.sessions === 1 ? '' : 's'}`),
      tile('cache', 'Saved by cache', money(t.cacheSavingsUsd), 'cache reads vs. full input price'),
      unpricedTile(d, this.refreshPrices) ?? '',
    );
  }
}

/** "On pace for" the projected month, its method underneath (the rule: src/engine/queries/forecast.ts). */
function forecastTile(f: DashboardData['forecast']): HTMLElement {
  const projected = f.projectedMonthUsd === null ? '—' : money(f.projectedMonthUsd);
  const element = tile('forecast', 'Month-end forecast', projected, f.method);
  element.title = forecastHeadline(f, 'detail');
  return element;
}

function tile(id: string, label: string, value: string, sub: string): HTMLElement {
  return h(
    'div',
    { class: 'tile', 'data-testid': `tile-${id}` },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    h('div', { class: 'sub muted' }, sub),
  );
}
