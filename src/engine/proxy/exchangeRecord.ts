/**
 * The last phase of every proxied exchange, HTTP call or WebSocket response: price what it used and
 * hand one RequestRecord to the recorder, settling its guard reservation.
 */
import { costExchange } from '../pricing';
import type { GuardTicket, ProxyGuard } from '../guards';
import type { RequestRecord } from '../database';
import type { Tags } from '../attribution';
import type { EndpointCall, UsageReport } from '../providers';

/** What the record needs of a recognised endpoint (an adapter's EndpointCall, or a WebSocket response). */
export type ExchangeCall = Pick<EndpointCall, 'endpoint' | 'requestModel' | 'stream' | 'free'>;

export interface Exchange {
  id: string;
  startedAt: number;
  t0: number;
  providerId: string;
  pricesProvider: string | null;
  call: ExchangeCall | undefined;
  method: string;
  path: string;
  tags: Tags;
  /** Which tool or SDK made the call. */
  client: string | null;
  keyFingerprint: string | null;
  requestBytes: number;
  status: number;
  ttftMs: number | null;
  /** The guards' reservation, while the call is admitted and unsettled. */
  ticket?: GuardTicket;
  /** No response came from the upstream (see CostInput.neverAnswered). */
  neverAnswered?: boolean;
}

export interface RecordSink {
  /** Receives every finished exchange, and whether the price data knew its model (costing.ts modelPriceKnown). Must not throw. */
  onRecord: (record: RequestRecord, modelPriceKnown: boolean | undefined) => void;
  guard?: ProxyGuard;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Prices and records one exchange; `finished`: it ended normally (not cut or aborted). Never throws. */
export function recordExchange(sink: RecordSink, ex: Exchange, report: UsageReport | undefined, finished: boolean, error: string | undefined): void {
  // Its reservation ends where its real use is counted (the guards settle the record).
  if (ex.ticket) sink.guard?.release(ex.ticket);
  try {
    const cost = costExchange({
      pricesProvider: ex.pricesProvider,
      requestModel: ex.call?.requestModel,
      free: ex.call?.free ?? ex.method === 'GET',
      metered: !!ex.call,
      report,
      status: ex.status,
      requestBytes: ex.requestBytes,
      finished,
      neverAnswered: ex.neverAnswered,
      at: new Date(ex.startedAt),
    });
    const { usage } = cost;
    sink.onRecord(
      {
        id: ex.id,
        startedAt: ex.startedAt,
        provider: ex.providerId,
        model: cost.model,
        endpoint: ex.call?.endpoint ?? `${ex.method} ${ex.path}`.slice(0, 120),
        stream: ex.call?.stream ?? false,
        status: ex.status,
        inputTokens: usage.inputTokens,
        cacheReadTokens: usage.cacheReadTokens,
        cacheWriteTokens: usage.cacheWriteTokens,
        outputTokens: usage.outputTokens,
        reasoningTokens: usage.reasoningTokens,
        costNanos: cost.costNanos,
        costStatus: cost.costStatus,
        latencyMs: Math.round(performance.now() - ex.t0),
        ttftMs: ex.ttftMs,
        session: ex.tags.session ?? null,
        feature: ex.tags.feature ?? null,
        user: ex.tags.user ?? null,
        trace: ex.tags.trace ?? null,
        env: ex.tags.env ?? null,
        workspace: ex.tags.workspace ?? null,
        branch: ex.tags.branch ?? null,
        keyFingerprint: ex.keyFingerprint,
        error: joinNotes(error, cost.note),
        serviceTier: cost.serviceTier,
        priceSource: cost.priceSource,
        client: ex.client,
      },
      cost.modelPriceKnown,
    );
  } catch (e) {
    sink.log('error', `could not record ${ex.providerId} ${ex.path}: ${(e as Error).message}`);
  }
}

function joinNotes(...notes: Array<string | undefined>): string | null {
  const present = notes.filter((n): n is string => !!n);
  return present.length ? present.join('; ').slice(0, 500) : null;
}
