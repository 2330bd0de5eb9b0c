import type { ExportHold, RetentionOutcome } from '../database';
import { DAY_MS, type RetentionHoldView } from '../../shared';
import type { SpendStore } from './spendStore';

/**
 * How much longer than retention a record the OTLP collector has not acknowledged is kept: a
 * month, long enough to outlast a collector outage, short enough that one that never comes back
 * does not keep every record forever.
 */
export const UNEXPORTED_GRACE_DAYS = 30;

export interface RetentionOptions {
  store: SpendStore;
  /** Keep records this many days (0: forever). */
  days: number;
  /**
   * The sequence number of the last record the OTLP collector acknowledged; undefined when records
   * are not exported (or export has nothing to send yet), and then retention waits for nothing.
   */
  exportedThrough: () => number | undefined;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/**
 * Deletes records older than the retention period, once at start and then daily. Retention waits
 * for the exporter: a record the collector has not acknowledged is kept past retention, for up to
 * UNEXPORTED_GRACE_DAYS more, and the pass says so in the log and on the dashboard.
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private held: { keptRecords: number; oldestKeptAt: number | null; newestKeptSeq: number } | undefined;

  constructor(private readonly opts: RetentionOptions) {}

  /** One pass, as at `now`. Never throws: a failed pass is logged and the next one tries again. */
  async pass(now = Date.now()): Promise<RetentionOutcome | undefined> {
    const { days, store, log } = this.opts;
    if (days <= 0) return undefined;
    const before = now - days * DAY_MS;
    const through = this.opts.exportedThrough();
    const hold: ExportHold | undefined = through === undefined ? undefined : { exportedThrough: through, hardBefore: before - UNEXPORTED_GRACE_DAYS * DAY_MS };
    try {
      const outcome = await store.deleteBefore(before, hold);
      this.report(outcome);
      return outcome;
    } catch (e) {
      log('warn', `retention: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Passes daily from now on. */
  start(): void {
    if (this.opts.days <= 0) return;
    this.timer = setInterval(() => void this.pass(), DAY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** What the last pass kept for the collector, while the collector has still not acknowledged all of it; null otherwise. */
  get holdView(): RetentionHoldView | null {
    const through = this.opts.exportedThrough();
    if (!this.held || through === undefined || through >= this.held.newestKeptSeq) return null;
    const { keptRecords, oldestKeptAt } = this.held;
    return { keptRecords, oldestKeptAt, deletedAfterDays: this.opts.days + UNEXPORTED_GRACE_DAYS };
  }

  private report(outcome: RetentionOutcome): void {
    const { days, log } = this.opts;
    const exported = outcome.deleted - outcome.droppedUnexported;
    if (exported) log('info', `deleted ${exported} record(s) older than ${days} days (retention)`);
    if (outcome.droppedUnexported) {
      log(
        'error',
        `retention deleted ${outcome.droppedUnexported} record(s) the OTLP collector never acknowledged: they were older than ${days + UNEXPORTED_GRACE_DAYS} days (retention + ${UNEXPORTED_GRACE_DAYS}), and are lost to the team's telemetry`,
      );
    }
    this.held = outcome.keptUnexported
      ? { keptRecords: outcome.keptUnexported, oldestKeptAt: outcome.oldestKeptAt, newestKeptSeq: outcome.newestKeptSeq }
      : undefined;
    if (outcome.keptUnexported) {
      const since = outcome.oldestKeptAt === null ? '' : ` (the oldest from ${new Date(outcome.oldestKeptAt).toISOString().slice(0, 10)})`;
      log(
        'warn',
        `retention kept ${outcome.keptUnexported} record(s) the OTLP collector has not acknowledged${since}; they are deleted once exported, or anyway after ${days + UNEXPORTED_GRACE_DAYS} days`,
      );
    }
  }
}
