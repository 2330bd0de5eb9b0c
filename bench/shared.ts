/** Messages between bench.ts and its child processes (loadgen.ts, host.ts), and small helpers. */

/** One closed-loop run: `concurrency` workers, each sending its next request when the last completes. */
export interface LoadSpec {
  /** Origin of the target, e.g. http://127.0.0.1:40123. */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Streams are checked to end with the SSE [DONE] marker, so a proxy cannot win by cutting them. */
  stream: boolean;
  concurrency: number;
  durationMs: number;
}

export interface LoadResult {
  /** Every request sent, the untimed connection-opening ones included (for the records check). */
  sent: number;
  /** Requests completed inside the timed window. */
  measured: number;
  errors: number;
  firstError: string | null;
  elapsedMs: number;
  rps: number;
  /** Full request latency (send → last body byte), ms. */
  p50: number;
  p99: number;
  /** Send → first body byte, ms. */
  ttfbP50: number;
  ttfbP99: number;
}

export type HostRole = 'fake' | 'bare' | 'burnrate';

export type HostRequest =
  | { id: number; op: 'start'; role: HostRole; upstream?: string; dir?: string; saveIntervalMs?: number; storeIdleStopMs?: number }
  /** Memory and record counters, without side effects. */
  | { id: number; op: 'stats' }
  /** Burn Rate only: save the database now, so the next periodic save does not land in another target's run. */
  | { id: number; op: 'settle' }
  /** Burn Rate only: resolves once every record so far is in the database (its worker has caught up). */
  | { id: number; op: 'drain' }
  | { id: number; op: 'close' };

export interface HostReply {
  id: number;
  ok: boolean;
  error?: string;
  url?: string;
  rss?: number;
  heapUsed?: number;
  /** 'record' events the recorder emitted. */
  records?: number;
  /** Rows in the database file, re-opened after the engine closed. */
  rows?: number;
  /** Records the recorder reported it could not keep. */
  dropped?: number;
  /** Journal lines left behind after close (should be 0: everything saved). */
  journalLeft?: number;
  saveMs?: number;
  dbBytes?: number;
  /** Burn Rate only: whether the database worker runs (it stops when idle). */
  storeWorkerRunning?: boolean;
  /** Burn Rate only: the database worker process, while it runs (its memory and CPU are Burn Rate's too). */
  storeWorkerPid?: number;
  /** Burn Rate only: whether the price library has been loaded (at the first price). */
  priceLibraryLoaded?: boolean;
}

export type LoadRequest = { id: number; op: 'run'; spec: LoadSpec } | { id: number; op: 'close' };
export interface LoadReply {
  id: number;
  ok: boolean;
  error?: string;
  result?: LoadResult;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[(s.length - 1) >> 1] : NaN;
}
