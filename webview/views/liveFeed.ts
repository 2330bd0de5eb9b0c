/** The live feed: the latest requests as they are recorded, whatever the range. */
import { formatTokens } from '../../src/shared';
import { h, table } from '../dom';
import { money, time } from '../format';
import type { DashboardData } from '../protocol';

type RequestRow = DashboardData['recent'][number];

/** One request as a table row. The half-width card of top requests has no room for the client; the full-width feed has. */
export function requestRow(r: RequestRow, withClient = false): Array<Node | string> {
  return [
    time(r.startedAt),
    r.model ?? r.provider,
    ...(withClient ? [r.client ?? ''] : []),
    r.feature ?? '',
    `${formatTokens(r.inputTokens)} / ${formatTokens(r.outputTokens)}`,
    r.status >= 400 || r.status === 0 ? h('span', { class: 'error' }, r.status ? String(r.status) : 'failed') : String(r.status),
    r.costStatus === 'unpriced' ? h('span', { class: 'muted' }, 'unpriced') : `${money(r.costUsd)}${r.costStatus === 'estimated' ? '*' : ''}`,
  ];
}

export class LiveFeed {
  readonly element = h('div');

  render(d: DashboardData): void {
    this.element.replaceChildren(
      table(
        ['time', 'model', 'client', 'feature', 'in / out', 'status', 'cost'],
        d.recent.map((r) => requestRow(r, true)),
        { numeric: [4, 5, 6], empty: 'Waiting for the first request…', testId: 'feed' },
      ),
    );
  }
}
