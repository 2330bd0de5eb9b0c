/** The range's biggest spenders: the top sessions, and the most expensive requests. */
import { formatTokens } from '../../src/shared';
import { h, table } from '../dom';
import { duration, money } from '../format';
import type { DashboardData } from '../protocol';
import { requestRow } from './liveFeed';

export class TopSessions {
  readonly element = h('div');

  render(d: DashboardData): void {
    this.element.replaceChildren(
      table(
        ['session', 'duration', 'requests', 'tokens', 'cost'],
        d.topSessions.map((s) => [s.session, duration(s.durationMs), s.requests.toLocaleString('en-US'), formatTokens(s.tokens), money(s.costUsd)]),
        { numeric: [1, 2, 3, 4], empty: 'No tagged sessions in this range.', testId: 'sessions' },
      ),
    );
  }
}

export class TopRequests {
  readonly element = h('div');

  render(d: DashboardData): void {
    this.element.replaceChildren(
      table(
        ['time', 'model', 'feature', 'in / out', 'status', 'cost'],
        d.topRequests.slice(0, 5).map((r) => requestRow(r)),
        { numeric: [3, 4, 5], empty: 'No requests in this range.', testId: 'top-requests' },
      ),
    );
  }
}
