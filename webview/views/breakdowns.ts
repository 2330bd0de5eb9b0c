/** Where the range's spend went: the tables by feature, by client and by git branch (the top 12 of each). */
import { formatTokens } from '../../src/shared';
import { h, table } from '../dom';
import { money, percent } from '../format';
import type { DashboardData } from '../protocol';

const ROWS = 12;

export class FeatureBreakdown {
  readonly element = h('div');

  render(d: DashboardData): void {
    this.element.replaceChildren(
      table(
        ['feature', 'cost', 'share', 'requests', 'per request', 'output'],
        d.byFeature
          .slice(0, ROWS)
          .map((f) => [
            f.key,
            money(f.costUsd),
            percent(f.share),
            f.requests.toLocaleString('en-US'),
            money(f.costPerRequestUsd),
            formatTokens(f.outputTokens),
          ]),
        { numeric: [1, 2, 3, 4, 5], empty: 'No requests in this range.', testId: 'features' },
      ),
    );
  }
}

export class ClientBreakdown {
  readonly element = h('div');

  render(d: DashboardData): void {
    this.element.replaceChildren(
      table(
        ['client', 'cost', 'share', 'requests'],
        d.byClient.slice(0, ROWS).map((c) => [c.key, money(c.costUsd), percent(c.share), c.requests.toLocaleString('en-US')]),
        { numeric: [1, 2, 3], empty: 'No requests in this range.', testId: 'clients' },
      ),
    );
  }
}

export class BranchBreakdown {
  readonly element = h('div');

  render(d: DashboardData): void {
    this.element.replaceChildren(
      table(
        ['branch', 'cost', 'share', 'requests'],
        // An engine from before branches sends no byBranch.
        (d.byBranch ?? []).slice(0, ROWS).map((b) => [b.key, money(b.costUsd), percent(b.share), b.requests.toLocaleString('en-US')]),
        { numeric: [1, 2, 3], empty: 'No requests in this range.', testId: 'branches' },
      ),
    );
  }
}
