/**
 * The load generator: a child process that runs closed-loop loads (see LoadSpec) on request from
 * bench.ts over IPC. It lives in its own process so its CPU is the same for every target and never
 * shares an event loop with the proxy being measured.
 */
import { Pool } from 'undici';
import { percentile, type LoadReply, type LoadRequest, type LoadResult, type LoadSpec } from './shared';

const DONE = 'data: [DONE]';

async function run(spec: LoadSpec): Promise<LoadResult> {
  // One connection per worker, no pipelining: what an SDK with C requests in flight does.
  const pool = new Pool(spec.origin, {
    connections: spec.concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  let sent = 0;
  let errors = 0;
  let firstError: string | null = null;
  const fail = (message: string) => {
    errors++;
    firstError ??= message.slice(0, 300);
  };

  const one = async (timed: boolean): Promise<void> => {
    sent++;
    const t0 = performance.now();
    let first = -1;
    try {
      const { statusCode, body } = await pool.request({ path: spec.path, method: 'POST', headers: spec.headers, body: spec.body });
      // Only the last chunk and a little of the one before are kept: enough to find [DONE] even
      // when it straddles two chunks, without holding whole bodies.
      let last: Buffer | undefined;
      let before: Buffer | undefined;
      let text = '';
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (first < 0) first = performance.now();
        if (last) before = last.subarray(-64);
        last = chunk;
        if (statusCode !== 200 && text.length < 300) text += chunk.toString('utf8');
      }
      const end = performance.now();
      if (statusCode !== 200) return fail(`HTTP ${statusCode}: ${text}`);
      if (spec.stream && !((before ? before.toString('latin1') : '') + (last ? last.toString('latin1') : '')).includes(DONE)) {
        return fail('stream did not end with data: [DONE]');
      }
      if (timed) {
        latencies.push(end - t0);
        ttfbs.push((first < 0 ? end : first) - t0);
      }
    } catch (e) {
      fail(`${(e as NodeJS.ErrnoException).code ?? 'error'}: ${(e as Error).message}`);
      // Do not spin on a dead target.
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  try {
    // Untimed: opens all C connections first, so connect time never lands in the percentiles.
    await Promise.all(Array.from({ length: spec.concurrency }, () => one(false)));
    const start = performance.now();
    const deadline = start + spec.durationMs;
    await Promise.all(
      Array.from({ length: spec.concurrency }, async () => {
        while (performance.now() < deadline) await one(true);
      }),
    );
    const elapsedMs = performance.now() - start;
    const lat = Float64Array.from(latencies).sort();
    const tt = Float64Array.from(ttfbs).sort();
    return {
      sent,
      measured: lat.length,
      errors,
      firstError,
      elapsedMs,
      rps: elapsedMs > 0 ? (lat.length * 1000) / elapsedMs : 0,
      p50: percentile(lat, 0.5),
      p99: percentile(lat, 0.99),
      ttfbP50: percentile(tt, 0.5),
      ttfbP99: percentile(tt, 0.99),
    };
  } finally {
    await pool.close().catch(() => undefined);
  }
}

process.on('message', (msg: LoadRequest) => {
  const reply = (r: Omit<LoadReply, 'id'>, then?: () => void) => process.send!({ id: msg.id, ...r } satisfies LoadReply, undefined, {}, then);
  if (msg.op === 'close') return void reply({ ok: true }, () => process.exit(0));
  run(msg.spec).then(
    (result) => reply({ ok: true, result }),
    (e: Error) => reply({ ok: false, error: e.message }),
  );
});
// The parent is gone (crash, Ctrl-C): never linger.
process.on('disconnect', () => process.exit(0));
