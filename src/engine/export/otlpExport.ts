import { createHash } from 'node:crypto';
import * as os from 'node:os';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Attributes, type Counter, type Histogram } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter as OTLPMetricExporterJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, TracerProvider, type IdGenerator, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { writeFileAtomic, type RequestRecord } from '../database';
import { readCursorFile, type SavedCursor } from './exportCursor';
import type { ExportCursor, RecordFeed, SequencedRecord } from './exportFeed';
import { BurnRateAttr, GenAi, genAiSpanName, recordMetricAttributes, recordSpanAttributes } from './genAiAttributes';
import { nanosToUsd } from '../pricing';

import { otlpBaseUrl, type OtlpProtocol } from './otlpConfig';

// The settings side lives in otlpConfig.ts, so checking them never loads the OpenTelemetry SDK.
export { OTLP_PROTOCOLS, OtlpConfigError, otlpBaseUrl, type OtlpProtocol } from './otlpConfig';

export interface OtlpExportOptions {
  /** The collector's OTLP/HTTP base URL, e.g. http://collector:4318 (/v1/traces and /v1/metrics are added). */
  endpoint: string;
  /** Sent with every export request, e.g. an Authorization header. Never logged. */
  headers?: Record<string, string>;
  protocol?: OtlpProtocol;
  /** Where records are read from, in insertion order. */
  feed: RecordFeed;
  /** File holding the position of the last record the collector acknowledged; none keeps it in memory. */
  cursorFile?: string;
  /** Records per export request. */
  batchSize?: number;
  /** Backoff after a failed export: starts here, doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often the metrics are pushed. */
  metricIntervalMs?: number;
  /** Time allowed for one export request (the OTLP exporter's own retries included). */
  exportTimeoutMs?: number;
  /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES is read too). */
  resourceAttributes?: Attributes;
  serviceVersion?: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/**
 * Sends every recorded request to an OpenTelemetry collector over OTLP/HTTP: one span per record
 * (GenAI semantic conventions plus Burn Rate's cost and tags) and GenAI token-usage and cost metrics.
 *
 * Delivery is driven by a persisted cursor over the records in insertion order, never by the live
 * stream itself: new records only wake the sender, which then reads what follows the cursor. So a
 * record is sent once whether it arrived live or was caught up after an outage or a restart, memory
 * holds one batch at most, and the proxy never waits on the collector. The cursor moves (and is
 * saved) only when the collector has acknowledged a batch; a failed batch is retried with
 * exponential backoff. Span ids are derived from the record id, so if an acknowledgement is lost in
 * transit and the batch is sent again, the collector receives the same spans, not new ones.
 */
export class OtlpExporter {
  private cursor: ExportCursor | null = null;
  private readonly traceExporter: OTLPTraceExporterJson | OTLPTraceExporterProto;
  private readonly tracerProvider: TracerProvider;
  private readonly meterProvider: MeterProvider;
  private readonly collected: ReadableSpan[] = [];
  private readonly idGenerator = new RecordIdGenerator();
  private readonly tokenUsage: Histogram;
  private readonly operationDuration: Histogram;
  private readonly cost: Counter;
  private readonly requests: Counter;
  private readonly log: NonNullable<OtlpExportOptions['log']>;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private closing = false;
  private stopped = false;
  private failingSince: number | undefined;
  private failedAttempts = 0;
  /** Records the collector has acknowledged since start. */
  sentCount = 0;
  /** Export requests that succeeded since start. */
  exportRequests = 0;
  lastError: string | undefined;

  private constructor(private readonly opts: OtlpExportOptions & { baseUrl: string }) {
    this.log = opts.log ?? (() => {});
    const timeoutMillis = opts.exportTimeoutMs ?? 10_000;
    const metricIntervalMs = opts.metricIntervalMs ?? 60_000;
    const common = { headers: { ...opts.headers }, timeoutMillis };
    const json = opts.protocol === 'http/json';
    const tracesUrl = `${opts.baseUrl}/v1/traces`;
    const metricsUrl = `${opts.baseUrl}/v1/metrics`;
    this.traceExporter = json ? new OTLPTraceExporterJson({ ...common, url: tracesUrl }) : new OTLPTraceExporterProto({ ...common, url: tracesUrl });
    const metricExporter = json ? new OTLPMetricExporterJson({ ...common, url: metricsUrl }) : new OTLPMetricExporterProto({ ...common, url: metricsUrl });

    const resource = resourceFromAttributes({
      'service.name': 'burnrate',
      'service.version': opts.serviceVersion ?? 'dev',
      'host.name': os.hostname(),
      'user.name': safeUserName(),
    })
      .merge(detectResources({ detectors: [envDetector] }))
      .merge(resourceFromAttributes(opts.resourceAttributes ?? {}));

    const collector: SpanProcessor = {
      onStart: () => {},
      onEnd: (span) => void this.collected.push(span),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    this.tracerProvider = new TracerProvider({ resource, idGenerator: this.idGenerator, sampler: new AlwaysOnSampler(), spanProcessors: [collector] });
    this.meterProvider = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: metricExporter,
          exportIntervalMillis: metricIntervalMs,
          exportTimeoutMillis: Math.min(timeoutMillis, metricIntervalMs),
        }),
      ],
    });
    const meter = this.meterProvider.getMeter('burnrate', opts.serviceVersion);
    this.tokenUsage = meter.createHistogram(GenAi.tokenUsageMetric, {
      unit: '{token}',
      description: 'Number of input and output tokens used',
      advice: { explicitBucketBoundaries: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] },
    });
    this.operationDuration = meter.createHistogram(GenAi.operationDurationMetric, {
      unit: 's',
      description: 'GenAI operation duration',
      advice: { explicitBucketBoundaries: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] },
    });
    this.cost = meter.createCounter(BurnRateAttr.costMetric, {
      unit: 'USD',
      description: 'Spend on AI API calls, priced from the usage the provider reported',
    });
    this.requests = meter.createCounter(BurnRateAttr.requestsMetric, { unit: '{request}', description: 'AI API calls made through Burn Rate' });
  }

  /** Starts exporting from the saved cursor (or, the first time, from the records that follow now). */
  static async start(opts: OtlpExportOptions): Promise<OtlpExporter> {
    const exporter = new OtlpExporter({ ...opts, baseUrl: otlpBaseUrl(opts.endpoint) });
    await exporter.restoreCursor();
    exporter.loop = exporter.run();
    return exporter;
  }

  /** Where the next export starts: the last acknowledged record. */
  get position(): ExportCursor | null {
    return this.cursor;
  }

  /** New records are in the feed: look for them now (cheap; call it for every record). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Sends what is left for up to `drainMs` (a collector that is down does not hold up the exit),
   * then pushes the last metrics and stops. Records not sent are sent at the next start.
   */
  async close(drainMs = 2_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.wake();
    const loop = this.loop ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([loop, new Promise<void>((r) => (timer = setTimeout(r, drainMs)))]);
    clearTimeout(timer);
    this.stopped = true;
    this.wake();
    await withTimeout(this.meterProvider.shutdown(), Math.min(drainMs, 1_000)).catch(() => {});
    await withTimeout(this.traceExporter.shutdown(), 500).catch(() => {});
    await withTimeout(this.tracerProvider.shutdown(), 500).catch(() => {});
  }

  private async restoreCursor(): Promise<void> {
    const saved = readCursorFile(this.opts.cursorFile);
    if (saved) {
      // A renumbered table (VACUUM) moves rows: follow the record the cursor names.
      const seq = await this.opts.feed.seqOf(saved.id, saved.seq);
      this.cursor = { seq: seq ?? saved.seq, id: saved.id };
      if (seq !== undefined && seq !== saved.seq) this.log('warn', `OTLP export: records were renumbered; resuming after record ${saved.id}`);
      return;
    }
    // First start: export what is recorded from now on, not the whole history.
    this.cursor = (await this.opts.feed.latest()) ?? { seq: 0, id: '' };
    await this.saveCursor();
  }

  private async saveCursor(): Promise<void> {
    if (!this.opts.cursorFile || !this.cursor) return;
    const saved: SavedCursor = { ...this.cursor, endpoint: this.opts.baseUrl, updatedAt: new Date().toISOString() };
    await writeFileAtomic(this.opts.cursorFile, Buffer.from(JSON.stringify(saved) + '\n'));
  }

  private async run(): Promise<void> {
    const batchSize = this.opts.batchSize ?? 256;
    while (!this.stopped) {
      this.woken = false;
      let batch: SequencedRecord[];
      try {
        batch = await this.opts.feed.after(this.cursor, batchSize);
      } catch (e) {
        this.log('error', `OTLP export: could not read records: ${(e as Error).message}`);
        if (this.closing) return;
        await this.sleep(this.backoffMs(++this.failedAttempts), false);
        continue;
      }
      if (!batch.length) {
        if (this.closing) return;
        await this.sleep(undefined, true);
        continue;
      }
      const result = await this.send(batch.map((b) => b.record));
      if (result.code === ExportResultCode.SUCCESS) {
        const last = batch[batch.length - 1];
        this.cursor = { seq: last.seq, id: last.record.id };
        try {
          await this.saveCursor();
        } catch (e) {
          this.log('warn', `OTLP export: could not save the export position: ${(e as Error).message}`);
        }
        for (const { record } of batch) this.recordMetrics(record);
        this.sentCount += batch.length;
        this.exportRequests++;
        if (this.failingSince !== undefined) {
          this.log(
            'info',
            `OTLP export to ${this.opts.baseUrl} works again after ${this.failedAttempts} failed attempt(s); catching up from the local records`,
          );
        }
        this.failingSince = undefined;
        this.failedAttempts = 0;
        this.lastError = undefined;
        continue;
      }
      this.failedAttempts++;
      this.lastError = result.error?.message ?? 'export failed';
      if (this.failingSince === undefined) {
        this.failingSince = Date.now();
        this.log('warn', `OTLP export to ${this.opts.baseUrl} failed (${this.lastError}); retrying with backoff, records wait in the local database`);
      }
      if (this.closing) return;
      await this.sleep(this.backoffMs(this.failedAttempts), false);
    }
  }

  private send(records: RequestRecord[]): Promise<ExportResult> {
    const tracer = this.tracerProvider.getTracer('burnrate', this.opts.serviceVersion);
    this.collected.length = 0;
    for (const rec of records) {
      this.idGenerator.current = rec;
      const span = tracer.startSpan(
        genAiSpanName(rec),
        { kind: SpanKind.CLIENT, startTime: rec.startedAt, attributes: recordSpanAttributes(rec) },
        ROOT_CONTEXT,
      );
      if (rec.status === 0 || rec.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: rec.error ?? `HTTP ${rec.status}` });
      span.end(rec.startedAt + Math.max(0, rec.latencyMs));
    }
    this.idGenerator.current = undefined;
    const spans = this.collected.splice(0);
    return new Promise((resolve) => {
      try {
        this.traceExporter.export(spans, resolve);
      } catch (e) {
        resolve({ code: ExportResultCode.FAILED, error: e as Error });
      }
    });
  }

  private recordMetrics(rec: RequestRecord): void {
    const attrs = recordMetricAttributes(rec);
    this.tokenUsage.record(rec.inputTokens, { ...attrs, [GenAi.tokenType]: 'input' });
    this.tokenUsage.record(rec.outputTokens, { ...attrs, [GenAi.tokenType]: 'output' });
    this.operationDuration.record(Math.max(0, rec.latencyMs) / 1000, attrs);
    this.cost.add(nanosToUsd(rec.costNanos), attrs);
    this.requests.add(1, attrs);
  }

  private backoffMs(attempt: number): number {
    const initial = this.opts.initialBackoffMs ?? 1_000;
    const max = this.opts.maxBackoffMs ?? 300_000;
    const base = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
    // Jitter, so a team's machines do not all retry at the same instant after a collector outage.
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  /** Waits for `ms` (or forever when undefined); new records end the wait only when `wakeable`. */
  private sleep(ms: number | undefined, wakeable: boolean): Promise<void> {
    if (this.stopped || (wakeable && this.woken)) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.wakeUp = () => {
        if (wakeable || this.stopped || this.closing) done();
      };
    });
  }
}

/** Trace and span ids from the record id (a W3C trace id in x-burnrate-trace is used as the trace id). */
class RecordIdGenerator implements IdGenerator {
  current: RequestRecord | undefined;

  generateTraceId(): string {
    const trace = this.current?.trace?.toLowerCase();
    if (trace && /^[0-9a-f]{32}$/.test(trace) && !/^0+$/.test(trace)) return trace;
    return digest(`trace:${this.current?.id ?? Math.random()}`, 32);
  }

  generateSpanId(): string {
    return digest(`span:${this.current?.id ?? Math.random()}`, 16);
  }
}

function digest(text: string, hexChars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}
