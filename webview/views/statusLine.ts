/** The line under the header: what the figures cover and when they were made, or the outcome of the last action, or an error. */
import { h } from '../dom';
import type { DashboardData } from '../protocol';

export class StatusLine {
  readonly element = h('p', { class: 'status muted', role: 'status' });

  say(text: string): void {
    this.element.textContent = text;
  }

  /** The error's message, highlighted for a few seconds. */
  showError(e: unknown): void {
    this.element.textContent = `Could not load: ${(e as Error).message}`;
    this.element.classList.add('error');
    setTimeout(() => this.element.classList.remove('error'), 5_000);
  }

  render(d: DashboardData): void {
    const days = d.filter.firstDay === d.filter.lastDay ? d.filter.firstDay : `${d.filter.firstDay} – ${d.filter.lastDay}`;
    this.element.textContent = `${days}${d.filter.workspace ? ` · workspace ${d.filter.workspace}` : ''} · updated ${new Date(d.generatedAt).toLocaleTimeString()}`;
  }
}
