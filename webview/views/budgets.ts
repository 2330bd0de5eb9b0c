/** Spend against what was expected: the anomaly banner (today far above the usual day) and the daily and monthly budget gauges. */
import { h } from '../dom';
import { money, percent } from '../format';
import type { DashboardData } from '../protocol';

export class AnomalyBanner {
  readonly element = h('div', { class: 'banner', role: 'alert', 'data-testid': 'anomaly' });

  render(d: DashboardData): void {
    this.element.hidden = !d.anomaly;
    this.element.replaceChildren();
    if (d.anomaly) {
      this.element.append(
        h('strong', null, `Today is running ${d.anomaly.ratio.toFixed(1)}x the usual spend: `),
        `${money(d.anomaly.todayUsd)} so far against ${money(d.anomaly.trailingAverageUsd)} a day over the last 7 days.`,
      );
    }
  }
}

export class BudgetGauges {
  readonly element = h('section', { class: 'gauges', 'data-testid': 'budget' });

  render(d: DashboardData): void {
    this.element.replaceChildren(
      gauge('daily', 'Daily budget', d.budget.todayUsd, d.budget.dailyUsd),
      gauge('monthly', 'Monthly budget', d.budget.monthUsd, d.budget.monthlyUsd),
    );
  }
}

/** A bar filled to the share of the budget spent: amber from 80 %, red once over. */
function gauge(id: string, label: string, spent: number, budget: number): HTMLElement {
  if (!budget)
    return h(
      'div',
      { class: 'gauge none', 'data-testid': `gauge-${id}` },
      h('span', { class: 'label' }, label),
      h('span', { class: 'muted' }, `no ${id} budget set`),
    );
  const fraction = spent / budget;
  const fill = h('div', { class: `fill ${fraction >= 1 ? 'over' : fraction >= 0.8 ? 'near' : ''}` });
  fill.style.width = `${Math.min(100, fraction * 100)}%`;
  return h(
    'div',
    { class: 'gauge', 'data-testid': `gauge-${id}` },
    h('span', { class: 'label' }, label),
    h('div', { class: 'bar' }, fill),
    h('span', { class: 'figure' }, `${money(spent)} of ${money(budget)} (${percent(fraction)})`),
  );
}
