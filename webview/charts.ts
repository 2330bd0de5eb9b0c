/** The dashboard's two charts, drawn with chart.js in the theme's colours, without animation. */
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import { money } from './format';

Chart.register(
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  CategoryScale,
  LinearScale,
  DoughnutController,
  ArcElement,
  Tooltip,
  Legend,
);

/** The forecast's pace on the daily chart: which days, at what daily spend. */
export interface DailyProjection {
  days: string[];
  costUsd: number;
}

function css(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function palette(): string[] {
  return Array.from({ length: 8 }, (_, i) =>
    css(`--chart-${i + 1}`, ['#e8590c', '#1c7ed6', '#37b24d', '#ae3ec9', '#f59f00', '#0ca678', '#d6336c', '#495057'][i]),
  );
}

function themeDefaults(): void {
  Chart.defaults.color = css('--muted', '#666');
  Chart.defaults.borderColor = css('--grid', 'rgba(128,128,128,0.2)');
  Chart.defaults.font.family = css('--font', 'system-ui, sans-serif');
  Chart.defaults.animation = false;
}

export class DailyChart {
  private chart: Chart<'bar' | 'line', Array<number | null>, string> | undefined;
  constructor(private readonly canvas: HTMLCanvasElement) {}

  /** Drops the chart so the next update draws it again in the current theme's colours. */
  reset(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }

  /** `projection`: a dashed line at the forecast's daily average from today to the month's end, the days after today added to the axis. */
  update(days: string[], series: Array<{ label: string; values: number[] }>, projection: DailyProjection | null = null): void {
    themeDefaults();
    const colours = palette();
    const allDays = [...days, ...(projection?.days.filter((d) => !days.includes(d)) ?? [])];
    const datasets: Array<ChartDataset<'bar' | 'line', Array<number | null>>> = series.map((s, i) => ({
      type: 'bar' as const,
      label: s.label,
      data: s.values,
      backgroundColor: colours[i % colours.length],
      borderWidth: 0,
      maxBarThickness: 48,
    }));
    if (projection) datasets.push(projectionDataset(allDays, projection));
    const labels = allDays.map((d) => d.slice(5));
    if (!this.chart) {
      this.chart = new Chart<'bar' | 'line', Array<number | null>, string>(this.canvas, {
        type: 'bar',
        data: { labels, datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => money(Number(v)) } } },
          plugins: {
            legend: { position: 'bottom', labels: { boxWidth: 12 } },
            tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${money(Number(c.raw))}` } },
          },
        },
      });
    } else {
      this.chart.data.labels = labels;
      this.chart.data.datasets = datasets;
      this.chart.update();
    }
  }
}

/** Its own stack, so the line is not added on top of the bars. */
function projectionDataset(days: string[], projection: DailyProjection): ChartDataset<'line', Array<number | null>> {
  return {
    type: 'line',
    label: 'forecast: daily average to month end',
    data: days.map((d) => (projection.days.includes(d) ? projection.costUsd : null)),
    stack: 'forecast',
    borderColor: css('--muted', '#888'),
    backgroundColor: 'transparent',
    borderDash: [6, 4],
    borderWidth: 2,
    pointRadius: 0,
    spanGaps: false,
  };
}

export class ShareChart {
  private chart: Chart<'doughnut'> | undefined;
  constructor(private readonly canvas: HTMLCanvasElement) {}

  reset(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }

  update(slices: Array<{ label: string; value: number }>): void {
    themeDefaults();
    const colours = palette();
    const data = {
      labels: slices.map((s) => s.label),
      datasets: [{ data: slices.map((s) => s.value), backgroundColor: slices.map((_, i) => colours[i % colours.length]), borderWidth: 0 }],
    };
    if (!this.chart) {
      this.chart = new Chart(this.canvas, {
        type: 'doughnut',
        data,
        options: {
          responsive: true,
          maintainAspectRatio: false,
          cutout: '55%',
          plugins: { legend: { position: 'right', labels: { boxWidth: 12 } }, tooltip: { callbacks: { label: (c) => `${c.label}: ${money(Number(c.raw))}` } } },
        },
      });
    } else {
      this.chart.data = data;
      this.chart.update();
    }
  }
}
