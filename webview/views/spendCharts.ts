/** The two charts: daily spend stacked by provider (with the forecast's pace to the month's end), and each model's share of the range's spend. */
import { DailyChart, ShareChart } from '../charts';
import { h } from '../dom';
import type { DashboardData } from '../protocol';

/** The models the share chart names; the rest make one "other" slice. */
const NAMED_MODELS = 7;

export class DailySpendChart {
  private readonly canvas = h('canvas', { id: 'daily-chart', 'aria-label': 'Daily spend by provider' });
  private readonly chart = new DailyChart(this.canvas);
  readonly element = h('div', { class: 'chart' }, this.canvas);

  render(d: DashboardData): void {
    this.chart.update(
      d.daily.days,
      d.daily.providers.map((p) => ({ label: p.provider, values: p.costUsd })),
      d.daily.projection,
    );
  }

  /** Forgets the drawn chart, so the next render draws it anew in the current theme's colours. */
  reset(): void {
    this.chart.reset();
  }
}

export class ModelShareChart {
  private readonly canvas = h('canvas', { id: 'model-chart', 'aria-label': 'Share by model' });
  private readonly chart = new ShareChart(this.canvas);
  readonly element = h('div', { class: 'chart' }, this.canvas);

  render(d: DashboardData): void {
    const top = d.byModel.slice(0, NAMED_MODELS);
    const other = d.byModel.slice(NAMED_MODELS).reduce((s, m) => s + m.costUsd, 0);
    this.chart.update([...top.map((m) => ({ label: m.key, value: m.costUsd })), ...(other > 0 ? [{ label: 'other', value: other }] : [])]);
  }

  /** Forgets the drawn chart, so the next render draws it anew in the current theme's colours. */
  reset(): void {
    this.chart.reset();
  }
}
