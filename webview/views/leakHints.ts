/** The leak hints: spend that looks wasted (repeated uncached prompts, runaway output, growing context, failing calls), each with what it cost. */
import { h } from '../dom';
import { money } from '../format';
import type { DashboardData } from '../protocol';

export class LeakHints {
  readonly element = h('div', { 'data-testid': 'leaks' });

  render(d: DashboardData): void {
    this.element.replaceChildren(
      d.leaks.length
        ? h(
            'ul',
            { class: 'leaks' },
            ...d.leaks.map((l) =>
              h(
                'li',
                { 'data-kind': l.kind },
                h('div', { class: 'leak-title' }, h('span', { class: 'usd' }, money(l.usd)), ' ', l.title),
                h('div', { class: 'muted' }, l.detail),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No leaks found in this range: no repeated uncached prompts, runaway output, growing context or failing calls.'),
    );
  }
}
