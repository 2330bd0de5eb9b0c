/**
 * The official SDKs, pointed at the proxy exactly as a user would, against a fake provider that
 * speaks each wire protocol. Each test checks that the SDK's result is what it gets without the
 * proxy, and that the recorded cost is the reported tokens × the published price.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { FAKE_REPLY_TEXT } from '../support/fakeProvider';
import { nanos, startHarness, type Harness } from '../support/harness';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});
beforeEach(() => h.fake.reset());

const openaiVia = (base: string, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
  new OpenAI({ apiKey: 'sk-test-openai', baseURL: base, maxRetries: 0, ...extra });
const messages = [{ role: 'user' as const, content: 'hi' }];
/** The parts of an SDK result that do not change from call to call (ids and timestamps do). */
const stable = (o: unknown) =>
  JSON.parse(JSON.stringify(o, (k, v) => (k === 'id' || k === 'created' || k === 'created_at' || k === 'responseId' ? undefined : v)));

describe('OpenAI chat completions', () => {
  test('non-stream: same result as direct, cost exact to the nano-dollar', async () => {
    const direct = await openaiVia(h.fake.url + '/v1').chat.completions.create({ model: 'gpt-4o-mini', messages });
    const recorded = h.nextRecords();
    const proxied = await openaiVia(`${h.url}/openai/v1`).chat.completions.create({ model: 'gpt-4o-mini', messages });
    assert.deepEqual(stable(proxied), stable(direct));
    const [r] = await recorded;
    assert.deepEqual(
      [r.provider, r.model, r.endpoint, r.stream, r.status, r.inputTokens, r.cacheReadTokens, r.outputTokens, r.reasoningTokens, r.costStatus],
      ['openai', 'gpt-4o-mini', 'chat.completions', false, 200, 1200, 200, 300, 50, 'exact'],
    );
    // gpt-4o-mini: $0.15 / $0.075 cached / $0.60 per 1M tokens.
    assert.equal(r.costNanos, nanos(1000 * 0.15 + 200 * 0.075 + 300 * 0.6));
    assert.ok(r.keyFingerprint?.startsWith('k_'));
    assert.ok(!JSON.stringify(r).includes('sk-test-openai'));
  });

  test('stream without include_usage: proxy asks upstream for usage and the client never sees it', async () => {
    const recorded = h.nextRecords();
    const stream = await openaiVia(`${h.url}/openai/v1`).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(h.fake.calls[0].body.stream_options?.include_usage, true, 'upstream was asked for usage');
    assert.ok(
      chunks.every((c) => !('usage' in c)),
      'no chunk carries a usage member',
    );
    assert.ok(
      chunks.every((c) => c.choices.length > 0),
      'the usage-only chunk is hidden',
    );
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), FAKE_REPLY_TEXT.openai);
    // Without the proxy, the SDK would see the same chunks.
    const directChunks = [];
    for await (const c of await openaiVia(h.fake.url + '/v1').chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) directChunks.push(c);
    assert.deepEqual(stable(chunks), stable(directChunks));
    const [r] = await recorded;
    assert.deepEqual([r.stream, r.costStatus, r.inputTokens, r.outputTokens], [true, 'exact', 1200, 300]);
    assert.equal(r.costNanos, nanos(1000 * 0.15 + 200 * 0.075 + 300 * 0.6));
    assert.ok(r.ttftMs !== null && r.ttftMs <= r.latencyMs);
  });

  test('a long conversation (read lazily by the proxy) reaches the upstream whole, with usage asked for, and is priced exactly', async () => {
    // ~120 KB of history: over the size from which the proxy scans the body instead of parsing it.
    const history = Array.from({ length: 60 }, (_, i) => ({
      role: i % 2 ? ('assistant' as const) : ('user' as const),
      content: `turn ${i}: "quoted", {braces}, [brackets], back\\slash, ünïcödé ✓ ` + 'x'.repeat(2_000),
    }));
    const recorded = h.nextRecords();
    const stream = await openaiVia(`${h.url}/openai/v1`).chat.completions.create({ model: 'gpt-4o-mini', messages: history, stream: true, max_tokens: 64 });
    for await (const _chunk of stream) {
      /* read to the end */
    }
    const upstream = h.fake.calls[0].body;
    assert.deepEqual(upstream.messages, history, 'the conversation arrived byte-for-byte as sent');
    assert.deepEqual([upstream.model, upstream.max_tokens, upstream.stream_options?.include_usage], ['gpt-4o-mini', 64, true]);
    const [r] = await recorded;
    assert.deepEqual([r.model, r.costStatus], ['gpt-4o-mini', 'exact']);
    assert.equal(r.costNanos, nanos(1000 * 0.15 + 200 * 0.075 + 300 * 0.6));
  });

  test('stream with include_usage: the client gets its usage chunk, last usage wins', async () => {
    const recorded = h.nextRecords();
    const stream = openaiVia(`${h.url}/openai/v1`).chat.completions.stream({ model: 'gpt-4o-mini', messages, stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    assert.equal(final.usage?.prompt_tokens, 1200);
    const [r] = await recorded;
    assert.equal(r.costNanos, nanos(1000 * 0.15 + 200 * 0.075 + 300 * 0.6));
  });

  test('served tier and OpenRouter-reported cost', async () => {
    h.fake.setUsage({ input: 10_000, cachedRead: 0, output: 2_000, reasoning: 0, serviceTier: 'flex', model: 'gpt-5' });
    let recorded = h.nextRecords();
    await openaiVia(`${h.url}/openai/v1`).chat.completions.create({ model: 'gpt-5', messages, service_tier: 'flex' });
    let [r] = await recorded;
    // gpt-5: $1.25 in / $10 out per 1M; flex is half price.
    assert.deepEqual([r.serviceTier, r.costNanos], ['flex', nanos((10_000 * 1.25 + 2_000 * 10) / 2)]);

    h.fake.reset();
    h.fake.setUsage({ openrouterCost: 0.004321 });
    recorded = h.nextRecords();
    await openaiVia(`${h.url}/openrouter/v1`).chat.completions.create({ model: 'openai/gpt-4o', messages });
    [r] = await recorded;
    assert.deepEqual([r.provider, r.costNanos, r.priceSource], ['openrouter', 4_321_000, 'provider-reported']);
  });

  test('every OpenAI-compatible provider route is priced from its own catalogue', async () => {
    const cases: Array<[string, string, string, number, number]> = [
      // provider, base path, model, $ input, $ output per 1M tokens (cached reads where the catalogue has them below)
      ['mistral', '/mistral/v1', 'mistral-large-latest', 2, 6],
      ['groq', '/groq/v1', 'llama-3.3-70b-versatile', 0.59, 0.79],
      ['together', '/together/v1', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', 0.88, 0.88],
      ['fireworks', '/fireworks/v1', 'accounts/fireworks/models/llama-v3p1-8b-instruct', 0.2, 0.2],
      ['cerebras', '/cerebras/v1', 'llama3.1-8b', 0.1, 0.1],
    ];
    h.fake.setUsage({ input: 1000, cachedRead: 0, output: 500, reasoning: 0 });
    for (const [provider, base, model, inPrice, outPrice] of cases) {
      const recorded = h.nextRecords();
      const res = await openaiVia(h.url + base).chat.completions.create({ model, messages });
      assert.equal(res.choices[0].message.content, FAKE_REPLY_TEXT.openai);
      const [r] = await recorded;
      assert.deepEqual([r.provider, r.costStatus, r.costNanos], [provider, 'exact', nanos(1000 * inPrice + 500 * outPrice)], provider);
    }
    // DeepSeek and xAI have cached-input prices: deepseek-chat $0.28/$0.028 cached/$0.42 at every hour
    // (pricing/overrides.json: DeepSeek's prices since 2025-09-05); grok-3 $3/$0.75/$15.
    h.fake.setUsage({ input: 1000, cachedRead: 400, output: 500, reasoning: 0 });
    for (const [provider, base, model, expected] of [
      ['deepseek', '/deepseek/v1', 'deepseek-chat', 600 * 0.28 + 400 * 0.028 + 500 * 0.42],
      ['xai', '/xai/v1', 'grok-3', 600 * 3 + 400 * 0.75 + 500 * 15],
    ] as const) {
      const recorded = h.nextRecords();
      await openaiVia(h.url + base).chat.completions.create({ model, messages });
      const [r] = await recorded;
      assert.deepEqual([r.provider, r.cacheReadTokens, r.costNanos], [provider, 400, nanos(expected)], provider);
    }
  });
});

describe('OpenAI Responses API and embeddings', () => {
  test('responses, non-stream and stream', async () => {
    const client = openaiVia(`${h.url}/openai/v1`);
    let recorded = h.nextRecords();
    const direct = await openaiVia(h.fake.url + '/v1').responses.create({ model: 'gpt-4.1-mini', input: 'hi' });
    const res = await client.responses.create({ model: 'gpt-4.1-mini', input: 'hi' });
    assert.equal(res.output_text, direct.output_text);
    let [r] = await recorded;
    // gpt-4.1-mini: $0.40 / $0.10 cached / $1.60.
    const expected = nanos(1000 * 0.4 + 200 * 0.1 + 300 * 1.6);
    assert.deepEqual([r.endpoint, r.costStatus, r.reasoningTokens, r.costNanos], ['responses', 'exact', 50, expected]);

    recorded = h.nextRecords();
    const final = await client.responses.stream({ model: 'gpt-4.1-mini', input: 'hi' }).finalResponse();
    assert.equal(final.usage?.input_tokens, 1200);
    [r] = await recorded;
    assert.deepEqual([r.stream, r.costNanos], [true, expected]);
  });

  test('embeddings (base64 as the SDK asks by default)', async () => {
    const recorded = h.nextRecords();
    const direct = await openaiVia(h.fake.url + '/v1').embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    const res = await openaiVia(`${h.url}/openai/v1`).embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    assert.deepEqual(res.data, direct.data);
    const [r] = await recorded;
    assert.equal(r.endpoint, 'embeddings');
    assert.equal(r.costNanos, nanos(r.inputTokens * 0.02));
    assert.ok(r.inputTokens > 0 && r.outputTokens === 0);
  });
});

describe('Anthropic messages', () => {
  const anthropicVia = (base: string) => new Anthropic({ apiKey: 'sk-ant-test', baseURL: base, maxRetries: 0 });
  // claude-sonnet-4-5: $3 input, $3.75 5m write, $6 1h write, $0.30 read, $15 output per 1M.
  // Of 1200 input tokens: 200 read, 300 written (100 of them for 1 h), 700 plain.
  const expected = nanos(700 * 3 + 200 * 3.75 + 100 * 6 + 200 * 0.3 + 300 * 15);

  test('non-stream with cache reads and 5m/1h cache writes', async () => {
    h.fake.setUsage({ cacheWrite: 300, cacheWrite1h: 100, reasoning: 0 });
    const direct = await anthropicVia(h.fake.url).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages });
    const recorded = h.nextRecords();
    const res = await anthropicVia(`${h.url}/anthropic`).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages });
    assert.deepEqual(stable(res), stable(direct));
    const [r] = await recorded;
    assert.deepEqual(
      [r.endpoint, r.inputTokens, r.cacheReadTokens, r.cacheWriteTokens, r.outputTokens, r.costStatus, r.costNanos],
      ['messages', 1200, 200, 300, 300, 'exact', expected],
    );
  });

  test('stream: usage from message_start and message_delta, never summed', async () => {
    h.fake.setUsage({ cacheWrite: 300, cacheWrite1h: 100, reasoning: 0 });
    const recorded = h.nextRecords();
    const final = await anthropicVia(`${h.url}/anthropic`).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages }).finalMessage();
    assert.equal(final.content[0].type === 'text' && final.content[0].text, FAKE_REPLY_TEXT.anthropic);
    const [r] = await recorded;
    assert.deepEqual([r.stream, r.outputTokens, r.costNanos], [true, 300, expected]);
  });

  test('count_tokens is free', async () => {
    const recorded = h.nextRecords();
    const res = await anthropicVia(`${h.url}/anthropic`).messages.countTokens({ model: 'claude-sonnet-4-5', messages });
    assert.ok(res.input_tokens > 0);
    const [r] = await recorded;
    assert.deepEqual([r.endpoint, r.costStatus, r.costNanos], ['count_tokens', 'free', 0]);
  });
});

describe('Gemini', () => {
  const geminiVia = (base: string) => new GoogleGenAI({ apiKey: 'AIza-test-gemini', httpOptions: { baseUrl: base } });
  // gemini-2.5-flash: $0.30 input / $0.03 cached / $2.50 output (thoughts included) per 1M.
  const expected = nanos(1000 * 0.3 + 200 * 0.03 + 300 * 2.5);

  test('generateContent and generateContentStream (SSE)', async () => {
    let recorded = h.nextRecords();
    const res = await geminiVia(`${h.url}/gemini`).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    assert.equal(res.text, FAKE_REPLY_TEXT.gemini);
    let [r] = await recorded;
    assert.deepEqual(
      [r.endpoint, r.inputTokens, r.cacheReadTokens, r.outputTokens, r.reasoningTokens, r.costNanos],
      ['generateContent', 1200, 200, 300, 50, expected],
    );

    recorded = h.nextRecords();
    let text = '';
    for await (const chunk of await geminiVia(`${h.url}/gemini`).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' }))
      text += chunk.text ?? '';
    assert.equal(text, FAKE_REPLY_TEXT.gemini);
    [r] = await recorded;
    assert.deepEqual([r.endpoint, r.stream, r.costStatus, r.costNanos], ['streamGenerateContent', true, 'exact', expected]);
  });

  test('streamGenerateContent as a JSON array, key in the query string never recorded', async () => {
    const recorded = h.nextRecords();
    const res = await fetch(`${h.url}/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=AIza-canary-query-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });
    const chunks = (await res.json()) as Array<{ candidates?: Array<{ content: { parts: Array<{ text: string }> } }> }>;
    assert.equal(chunks.map((c) => c.candidates?.[0]?.content.parts[0]?.text ?? '').join(''), FAKE_REPLY_TEXT.gemini);
    const [r] = await recorded;
    assert.deepEqual([r.stream, r.costNanos], [true, expected]);
    assert.equal(h.fake.calls[0].query.key, 'AIza-canary-query-key', 'the key still reaches the provider');
    assert.ok(!JSON.stringify(r).includes('canary'));
  });
});

describe('Ollama', () => {
  test('local models are recorded as free', async () => {
    const recorded = h.nextRecords();
    const res = await fetch(`${h.url}/ollama/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', messages, stream: false }) });
    assert.equal(((await res.json()) as { message: { content: string } }).message.content, FAKE_REPLY_TEXT.ollama);
    const [r] = await recorded;
    assert.deepEqual([r.provider, r.costStatus, r.costNanos], ['ollama', 'free', 0]);
    assert.ok(r.inputTokens > 0 && r.outputTokens > 0);
  });
});

describe('attribution tags', () => {
  test('headers and path segments tag the record and never reach the provider', async () => {
    const recorded = h.nextRecords();
    const client = openaiVia(`${h.url}/~feature=summarize,session=run42/openai/v1`, {
      defaultHeaders: { 'x-burnrate-user': 'ana', 'x-burnrate-session': 'from-header' },
    });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const [r] = await recorded;
    assert.deepEqual([r.feature, r.session, r.user], ['summarize', 'from-header', 'ana']);
    assert.equal(h.fake.calls[0].path.startsWith('/openai/v1/chat/completions'), true);
    assert.ok(Object.keys(h.fake.calls[0].headers).every((k) => !k.startsWith('x-burnrate-')));
  });
});
