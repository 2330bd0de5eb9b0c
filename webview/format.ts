/** How figures are written in the dashboard. */
import { formatUsd } from '../src/shared';

/** Money as the dashboard writes it: small sums to three significant digits. */
export function money(usd: number): string {
  return formatUsd(usd, 'detail');
}

export function percent(fraction: number): string {
  if (!fraction) return '0%';
  const p = fraction * 100;
  return p < 1 ? '<1%' : `${Math.round(p)}%`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function time(at: number): string {
  const d = new Date(at);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
