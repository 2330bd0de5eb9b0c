/**
 * The load for bench/scale.ts, in its own process so it never shares the proxy's event loop: the
 * fake provider, and closed-loop chat completions through the proxy until told to stop.
 */
import { Pool } from 'undici';
import { startFakeProvider } from '../test/support/fakeProvider';

let stop = false;

process.on('message', async (msg: { op: 'fake' } | { op: 'load'; proxy: string; concurrency: number; rate: number } | { op: 'stop' }) => {
  if (msg.op === 'fake') {
    const fake = await startFakeProvider({ port: 0 });
    setInterval(() => fake.reset(), 1_000).unref();
    process.send!({ url: fake.url });
  } else if (msg.op === 'load') {
    const pool = new Pool(msg.proxy, { connections: msg.concurrency, pipelining: 1 });
    let done = 0;
    let errors = 0;
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const one = async () => {
      try {
        const { statusCode, body: b } = await pool.request({
          path: '/openai/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
          body,
        });
        await b.text();
        if (statusCode === 200) done++;
        else errors++;
      } catch {
        errors++;
      }
    };
    if (msg.rate > 0) {
      // Open loop: a steady request rate, as agents and scripts produce it, at most `concurrency` in flight.
      let inFlight = 0;
      const started = performance.now();
      let sent = 0;
      while (!stop) {
        const due = Math.floor(((performance.now() - started) / 1000) * msg.rate);
        while (sent < due && inFlight < msg.concurrency) {
          sent++;
          inFlight++;
          void one().finally(() => inFlight--);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      while (inFlight) await new Promise((r) => setTimeout(r, 5));
    } else {
      await Promise.all(
        Array.from({ length: msg.concurrency }, async () => {
          while (!stop) await one();
        }),
      );
    }
    await pool.close();
    process.send!({ done, errors });
  } else if (msg.op === 'stop') {
    stop = true;
  }
});
process.on('disconnect', () => process.exit(0));
