/**
 * Posts the engine's alerts to the team's chat (burnrate.alerts.webhookUrl): queued in memory,
 * one post at a time, each with a timeout, retried with exponential backoff and jitter on network
 * errors, 429 (honouring Retry-After) and 5xx. A proxied call only ever enqueues: nothing on the
 * request path waits for the receiver. The URL holds a token: it is never logged, nor any error
 * that quotes it (webhookPayload.ts scrubs them).
 */
import type { AlertTestAnswer } from '../../shared';
import { deliveryError, testAlert, webhookPayload, type WebhookAlert } from './webhookPayload';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface AlertWebhookOptions {
  url: string;
  /** Posts of one alert at most (the first and its retries). */
  attempts?: number;
  /** The delay before the first retry; each next one doubles, jittered between half and all of it. */
  firstRetryMs?: number;
  /** The longest wait before a retry, Retry-After included. */
  maxRetryMs?: number;
  /** How long one post may take. */
  timeoutMs?: number;
  /** Alerts waiting at most; when full the oldest is dropped. */
  maxQueued?: number;
  /** Tests pass their own clock-free pieces: the HTTP client, the timer and the jitter. */
  fetch?: typeof fetch;
  setTimer?: (run: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
  random?: () => number;
}

/** What one post came to: delivered, or why not and whether another try may succeed. */
type Outcome = { ok: true; status: number } | { ok: false; reason: string; retry: boolean; status?: number; retryAfterMs?: number };

interface Queued {
  alert: WebhookAlert;
  attempts: number;
}

/** Ids already queued or sent, kept this many: the same alert raised twice is posted once. */
const REMEMBERED_IDS = 1_000;

export class AlertWebhook {
  private readonly queue: Queued[] = [];
  private readonly seen = new Set<string>();
  private draining = false;
  private closed = false;
  private wake: { timer: unknown; resolve: () => void } | undefined;
  private readonly url: string;
  private readonly opts: Required<Omit<AlertWebhookOptions, 'url'>>;

  constructor(
    { url, ...options }: AlertWebhookOptions,
    private readonly log: Log,
  ) {
    this.url = url;
    this.opts = {
      attempts: 6,
      firstRetryMs: 3_000,
      maxRetryMs: 120_000,
      timeoutMs: 10_000,
      maxQueued: 100,
      fetch: (...args) => fetch(...args),
      setTimer: (run, ms) => setTimeout(run, ms).unref(),
      clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
      random: Math.random,
      ...options,
    };
  }

  /** Queues an alert for posting and returns at once; an id already queued or sent is not posted again. */
  send(alert: WebhookAlert): void {
    if (this.closed || this.seen.has(alert.id)) return;
    this.remember(alert.id);
    this.queue.push({ alert, attempts: 0 });
    if (this.queue.length > this.opts.maxQueued) {
      const dropped = this.queue.shift()!;
      this.log('warn', `alert webhook: ${this.opts.maxQueued} alerts waiting, the oldest (${dropped.alert.kind}) was dropped`);
    }
    // Off the caller's stack: alerts are raised on the proxy's path.
    setImmediate(() => void this.drain());
  }

  /** Posts the test alert once, now (no queue, no retry), and says how it went. */
  async sendTest(now = Date.now()): Promise<AlertTestAnswer> {
    const outcome = await this.post(testAlert(now));
    if (outcome.ok) {
      this.log('info', `alert webhook: test alert delivered (${outcome.status})`);
      return { delivered: true, status: outcome.status };
    }
    this.log('warn', `alert webhook: test alert not delivered: ${outcome.reason}`);
    return { delivered: false, reason: outcome.reason, status: outcome.status };
  }

  /** Stops posting; alerts still waiting are dropped (and said so). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.wake) {
      this.opts.clearTimer(this.wake.timer);
      this.wake.resolve();
    }
    if (this.queue.length) this.log('warn', `alert webhook: ${this.queue.length} alert(s) not delivered before shutdown`);
    this.queue.length = 0;
  }

  /** Posts the queued alerts in order, each until delivered, refused for good, or out of attempts. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.closed && this.queue.length) {
        const item = this.queue[0];
        const outcome = await this.post(item.alert);
        item.attempts++;
        if (this.closed) return;
        const done = outcome.ok || !outcome.retry || item.attempts >= this.opts.attempts;
        if (done) {
          this.settle(item, outcome);
          continue;
        }
        const delay = this.retryDelay(item.attempts, outcome.retryAfterMs);
        this.log('warn', `alert webhook: ${item.alert.kind} alert not delivered (${outcome.reason}); retry ${item.attempts} in ${Math.round(delay / 1000)} s`);
        await this.sleep(delay);
      }
    } finally {
      this.draining = false;
    }
  }

  private settle(item: Queued, outcome: Outcome): void {
    const at = this.queue.indexOf(item);
    // Dropped meanwhile when the queue overflowed.
    if (at >= 0) this.queue.splice(at, 1);
    if (outcome.ok) this.log('info', `alert webhook: ${item.alert.kind} alert delivered`);
    else this.log('warn', `alert webhook: gave up on a ${item.alert.kind} alert after ${item.attempts} attempt(s): ${outcome.reason}`);
  }

  private async post(alert: WebhookAlert): Promise<Outcome> {
    try {
      const res = await this.opts.fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(webhookPayload(alert)),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        redirect: 'error',
      });
      // The body is not needed; reading it frees the connection.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, status: res.status };
      const retry = res.status === 429 || res.status >= 500;
      return {
        ok: false,
        reason: `the receiver answered ${res.status}`,
        retry,
        status: res.status,
        retryAfterMs: retryAfterMs(res.headers.get('retry-after')),
      };
    } catch (e) {
      return { ok: false, reason: deliveryError(e, this.url), retry: true };
    }
  }

  /** Exponential from firstRetryMs, jittered between half and all of it; the receiver's Retry-After when longer. */
  private retryDelay(attempt: number, retryAfter: number | undefined): number {
    const backoff = this.opts.firstRetryMs * 2 ** (attempt - 1);
    const jittered = backoff / 2 + (this.opts.random() * backoff) / 2;
    return Math.min(Math.max(jittered, retryAfter ?? 0), this.opts.maxRetryMs);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.opts.setTimer(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = { timer, resolve };
    });
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > REMEMBERED_IDS) this.seen.delete(this.seen.values().next().value as string);
  }
}

/** Retry-After in seconds or as an HTTP date, in milliseconds. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
