/** Where the range's spend went: the tables by feature, by client and by git branch (the top 12 of each). */
import { formatTokens, type ShareRow } from '../../src/shared';
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

/** The range's spend by one tag (client, git branch): cost, share of the range, requests. */
export class ShareBreakdown {
  readonly element = h('div');

  constructor(
    private readonly column: string,
    /** The rows; undefined from an engine from before the tag (branches came later). */
    private readonly rowsOf: (d: DashboardData) => ShareRow[] | undefined,
    private readonly testId: string,
  ) {}

  render(d: DashboardData): void {
    this.element.replaceChildren(
      table(
        [this.column, 'cost', 'share', 'requests'],
        (this.rowsOf(d) ?? []).slice(0, ROWS).map((r) => [r.key, money(r.costUsd), percent(r.share), r.requests.toLocaleString('en-US')]),
        { numeric: [1, 2, 3], empty: 'No requests in this range.', testId: this.testId },
      ),
    );
  }
}

export const clientBreakdown = () => new ShareBreakdown('client', (d) => d.byClient, 'clients');
export const branchBreakdown = () => new ShareBreakdown('branch', (d) => d.byBranch, 'branches');
