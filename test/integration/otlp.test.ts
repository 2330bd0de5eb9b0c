/**
 * Real SDK traffic through the proxy, exported to a real OTLP/HTTP receiver: what a team's
 * collector gets for each call, tagged by feature and session.
 */
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startHarness, type Harness } from '../support/harness';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlpReceiver';

let h: Harness;
let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
  h = await startHarness({
    otlp: { endpoint: receiver.url, headers: { 'x-team-token': 'secret-team-token' }, initialBackoffMs: 20, maxBackoffMs: 200, exportTimeoutMs: 1000 },
  });
});
after(async () => {
  await h.close();
  await receiver.close();
});

describe('OTLP export of proxied SDK calls', () => {
  test('OpenAI and Anthropic calls arrive as spans matching their records, never with the API key', async () => {
    const recorded = h.nextRecords(3);
    const openai = new OpenAI({ apiKey: 'sk-canary-otlp-key', baseURL: `${h.url}/~feature=summarize,session=run7/openai/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const _ of stream) {
      /* drain */
    }
    const anthropic = new Anthropic({
      apiKey: 'sk-ant-canary-otlp-key',
      baseURL: `${h.url}/anthropic`,
      maxRetries: 0,
      defaultHeaders: { 'x-burnrate-feature': 'triage' },
    });
    await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    const records = await recorded;
    const spans = await receiver.waitForSpans(3);

    assert.equal(spans.length, 3);
    for (const rec of records) {
      const span = spans.find((s) => s.attributes['burnrate.record_id'] === rec.id);
      assert.ok(span, `a span for record ${rec.id}`);
      assert.equal(span.name, `chat ${rec.model}`);
      assert.equal(span.attributes['gen_ai.request.model'], rec.model);
      assert.equal(span.attributes['gen_ai.usage.input_tokens'], rec.inputTokens);
      assert.equal(span.attributes['gen_ai.usage.output_tokens'], rec.outputTokens);
      assert.equal(span.attributes['gen_ai.usage.cache_read.input_tokens'], rec.cacheReadTokens);
      assert.equal(span.attributes['gen_ai.usage.reasoning.output_tokens'], rec.reasoningTokens);
      assert.equal(span.attributes['burnrate.cost_nanos'], rec.costNanos);
      assert.equal(span.attributes['burnrate.cost_status'], 'exact');
      assert.equal(span.startMs, rec.startedAt);
      assert.ok(rec.costNanos > 0);
    }
    const openaiSpans = spans.filter((s) => s.attributes['gen_ai.provider.name'] === 'openai');
    assert.equal(openaiSpans.length, 2);
    assert.ok(openaiSpans.every((s) => s.attributes['burnrate.feature'] === 'summarize' && s.attributes['burnrate.session'] === 'run7'));
    const claude = spans.find((s) => s.attributes['gen_ai.provider.name'] === 'anthropic')!;
    assert.equal(claude.attributes['burnrate.feature'], 'triage');
    assert.ok(receiver.headers.every((hd) => hd['x-team-token'] === 'secret-team-token'));
    const everything = JSON.stringify(receiver.traceRequests);
    assert.ok(!everything.includes('canary-otlp-key'), 'API keys never reach the collector');
  });
});

describe('burnrate serve --otlp-endpoint', () => {
  test('the CLI exports what it proxies, and says where', async () => {
    const { spawn } = await import('node:child_process');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const cliReceiver = await startOtlpReceiver();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-otlp-cli-'));
    const child = spawn(
      process.execPath,
      [
        path.resolve(__dirname, '../../dist/cli.js'),
        'serve',
        '--port',
        '0',
        '--db',
        path.join(dir, 'spend.sqlite'),
        '--upstream',
        `openai=${h.fake.url}`,
        '--otlp-endpoint',
        cliReceiver.url,
        '--otlp-protocol',
        'http/json',
        '--otlp-header',
        'authorization=Bearer cli-token',
      ],
      { env: { ...process.env, BURNRATE_HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m && out.includes('exporting to')) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    assert.match(out, new RegExp(`exporting to OpenTelemetry collector: ${cliReceiver.url} \\(http/json\\)`));
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${url}/~feature=cli-export/openai/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const [span] = await cliReceiver.waitForSpans(1);
    assert.equal(span.attributes['burnrate.feature'], 'cli-export');
    assert.equal(span.attributes['gen_ai.request.model'], 'gpt-4o-mini');
    assert.equal(cliReceiver.headers[0].authorization, 'Bearer cli-token');
    const exit = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    assert.equal(await exit, 0);
    await cliReceiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
