/**
 * The unpriced-requests tile: calls to models with no known price are recorded but left out of every
 * dollar figure, so the dashboard counts them where the totals are, names the models and says how
 * to price them. Shown only when there are some.
 */
import { h } from '../../dom';
import type { DashboardData } from '../../protocol';

/** The tile, or null when every request in the range is priced. `refresh`: the host's Refresh Prices, where it has one (VS Code). */
export function unpricedTile(d: DashboardData, refresh?: () => void): HTMLElement | null {
  const count = d.tiles.unpricedRequests;
  if (!count) return null;
  const models = d.byModel
    .filter((m) => m.unpricedRequests > 0)
    .sort((a, b) => b.unpricedRequests - a.unpricedRequests)
    .map((m) => `${m.provider} ${m.key} (${m.unpricedRequests.toLocaleString('en-US')})`);
  const tile = h(
    'div',
    { class: 'tile unpriced', 'data-testid': 'tile-unpriced', role: 'status' },
    h('div', { class: 'label' }, 'Unpriced requests'),
    h('div', { class: 'value' }, count.toLocaleString('en-US')),
    h(
      'div',
      { class: 'sub' },
      `Not in the totals: no price known for ${models.join(', ')}. Refresh prices, or set a price (the notification's Set a Price, or price-overrides.json in the data folder), then burnrate reprice.`,
    ),
  );
  if (refresh) {
    const button = h('button', { type: 'button', class: 'secondary' }, 'Refresh prices');
    button.addEventListener('click', refresh);
    tile.append(button);
  }
  return tile;
}
