/** The banner shown while retention keeps records the team's OpenTelemetry collector has not acknowledged (an export outage past retention). */
import { h } from '../dom';
import type { DashboardData } from '../protocol';

export class RetentionHoldBanner {
  readonly element = h('div', { class: 'banner', role: 'alert', 'data-testid': 'retention-hold' });

  render(d: DashboardData): void {
    const hold = d.retentionHold;
    this.element.hidden = !hold;
    this.element.replaceChildren();
    if (!hold) return;
    const since = hold.oldestKeptAt === null ? '' : `, the oldest from ${new Date(hold.oldestKeptAt).toLocaleDateString()}`;
    this.element.append(
      h(
        'strong',
        null,
        `Retention kept ${hold.keptRecords} record${hold.keptRecords === 1 ? '' : 's'} the OpenTelemetry collector has not acknowledged${since}. `,
      ),
      `They are deleted once exported, or anyway after ${hold.deletedAfterDays} days: check the collector.`,
    );
  }
}
