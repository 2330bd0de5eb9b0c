/**
 * Proves the fake provider is faithful enough: the official SDKs, pointed straight at it (no proxy),
 * parse its responses, streams, errors and faults exactly as they would the real services.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { FAKE_REPLY_TEXT, startFakeProvider, type FakeProvider } from '../support/fakeProvider';

let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;
let gemini: GoogleGenAI;

before(async () => {
  fake = await startFakeProvider();
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: fake.url + '/v1', maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 0 });
  gemini = new GoogleGenAI({ apiKey: 'gm-test', httpOptions: { baseUrl: fake.url } });
});
after(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

/** Reads a fetch body chunk by chunk, noting when each arrived. */
async function readTimed(res: Response): Promise<{ text: string; times: number[] }> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = '';
  const times: number[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    times.push(Date.now());
    text += dec.decode(value, { stream: true });
  }
  return { text, times };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(fake.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('OpenAI chat completions', () => {
  it('non-stream: shape, usage and echoed model', async () => {
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, 'gpt-4o-mini');
    assert.equal(r.choices[0].message.content, FAKE_REPLY_TEXT.openai);
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage?.prompt_tokens, 1200);
    assert.equal(r.usage?.completion_tokens, 300);
    assert.equal(r.usage?.total_tokens, 1500);
    assert.equal(r.usage?.prompt_tokens_details?.cached_tokens, 200);
    assert.equal(r.usage?.completion_tokens_details?.reasoning_tokens, 50);
    assert.equal(r.service_tier, 'default');
    assert.equal(fake.calls.length, 1);
    assert.equal(fake.calls[0].path, '/v1/chat/completions');
    assert.equal(fake.calls[0].headers.authorization, 'Bearer sk-test');
    assert.equal(fake.calls[0].body.model, 'gpt-4o-mini');
  });

  it('stream without include_usage: no usage anywhere', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    for await (const ch of stream) {
      chunks++;
      assert.equal(ch.object, 'chat.completion.chunk');
      assert.ok(!('usage' in ch), 'no usage key when not asked for');
      text += ch.choices[0]?.delta.content ?? '';
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, FAKE_REPLY_TEXT.openai);
    assert.equal(finish, 'stop');
    assert.ok(chunks >= 4, `several chunks, got ${chunks}`);
  });

  it('stream with include_usage: usage null on chunks, final choices:[] chunk has it', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const all = [];
    for await (const ch of stream) all.push(ch);
    const last = all[all.length - 1];
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.prompt_tokens, 1200);
    assert.equal(last.usage?.completion_tokens_details?.reasoning_tokens, 50);
    for (const ch of all.slice(0, -1)) assert.equal(ch.usage, null);
  });

  it('stream helper accumulates the final completion with usage; usage overrides apply', async () => {
    fake.setUsage({ input: 10, cachedRead: 0, output: 5, reasoning: 0, model: 'gpt-4o-mini-2024-07-18', serviceTier: 'flex', openrouterCost: 0.0123 });
    const stream = openai.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].message.content, FAKE_REPLY_TEXT.openai);
    assert.equal(final.model, 'gpt-4o-mini-2024-07-18');
    assert.equal(final.usage?.total_tokens, 15);
    assert.equal((final.usage as unknown as { cost: number }).cost, 0.0123);
  });

  it('matches on path suffix (provider mounted under a prefix)', async () => {
    const groq = new OpenAI({ apiKey: 'gsk-test', baseURL: fake.url + '/openai/v1', maxRetries: 0 });
    const r = await groq.chat.completions.create({ model: 'llama-3.3-70b', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.model, 'llama-3.3-70b');
    assert.equal(fake.calls[0].path, '/openai/v1/chat/completions');
  });
});

describe('OpenAI responses and embeddings', () => {
  it('responses non-stream', async () => {
    const r = await openai.responses.create({ model: 'gpt-4.1-mini', input: 'hi' });
    assert.equal(r.object, 'response');
    assert.equal(r.output_text, FAKE_REPLY_TEXT.openai);
    assert.equal(r.usage?.input_tokens, 1200);
    assert.equal(r.usage?.input_tokens_details.cached_tokens, 200);
    assert.equal(r.usage?.output_tokens_details.reasoning_tokens, 50);
    assert.equal(r.usage?.total_tokens, 1500);
  });

  it('responses stream: ordered events and finalResponse usage', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4.1-mini', input: 'hi' });
    const types: string[] = [];
    let deltas = '';
    stream.on('event', (e) => types.push(e.type));
    stream.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.output_text, FAKE_REPLY_TEXT.openai);
    assert.equal(deltas, FAKE_REPLY_TEXT.openai);
    assert.equal(final.usage?.output_tokens, 300);
    assert.equal(types[0], 'response.created');
    assert.equal(types[types.length - 1], 'response.completed');
    assert.ok(types.includes('response.output_text.done'));
  });

  it('responses raw stream carries sequence numbers', async () => {
    const stream = await openai.responses.create({ model: 'gpt-4.1-mini', input: 'hi', stream: true });
    const seq: number[] = [];
    for await (const e of stream) seq.push(e.sequence_number);
    assert.deepEqual(
      seq,
      seq.map((_, i) => i),
    );
  });

  it('embeddings: SDK default requests base64 and decodes it; float on request', async () => {
    const r = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    assert.equal(fake.calls[0].body.encoding_format, 'base64');
    assert.equal(r.data.length, 2);
    assert.equal(r.data[0].embedding.length, 8);
    assert.ok(r.data[0].embedding.every((x) => typeof x === 'number' && Number.isFinite(x)));
    assert.equal(r.usage.prompt_tokens, 1200);

    const f = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'a', encoding_format: 'float', dimensions: 4 });
    assert.equal(f.data[0].embedding.length, 4);
    // The base64 and float forms carry the same float32 values.
    assert.deepEqual(f.data[0].embedding, r.data[0].embedding.slice(0, 4));
  });
});

describe('Anthropic', () => {
  it('messages non-stream: input_tokens excludes cache tokens', async () => {
    fake.setUsage({ cacheWrite: 100, cacheWrite1h: 40 });
    const m = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(m.type, 'message');
    assert.equal(m.model, 'claude-sonnet-4-6');
    assert.deepEqual(m.content, [{ type: 'text', text: FAKE_REPLY_TEXT.anthropic }]);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.usage.input_tokens, 900);
    assert.equal(m.usage.cache_read_input_tokens, 200);
    assert.equal(m.usage.cache_creation_input_tokens, 100);
    assert.equal(m.usage.cache_creation?.ephemeral_5m_input_tokens, 60);
    assert.equal(m.usage.cache_creation?.ephemeral_1h_input_tokens, 40);
    assert.equal(m.usage.output_tokens, 300);
    assert.equal(fake.calls[0].path, '/v1/messages');
    assert.ok(fake.calls[0].headers['anthropic-version']);
    // @anthropic-ai/sdk 1.x sends the API key as a bearer token, older versions as x-api-key.
    const auth = fake.calls[0].headers['x-api-key'] ?? fake.calls[0].headers.authorization;
    assert.match(String(auth), /sk-ant-test$/);
  });

  it('messages stream: finalMessage usage', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    stream.on('text', (t) => (text += t));
    const m = await stream.finalMessage();
    assert.equal(text, FAKE_REPLY_TEXT.anthropic);
    assert.equal(m.usage.input_tokens, 1000);
    assert.equal(m.usage.cache_read_input_tokens, 200);
    assert.equal(m.usage.output_tokens, 300);
    assert.equal(m.stop_reason, 'end_turn');
  });

  it('messages stream with thinking and full message_delta usage', async () => {
    fake.setUsage({ anthropicDeltaFullUsage: true, cacheWrite: 100 });
    const m = await anthropic.messages
      .stream({ model: 'claude-sonnet-4-6', max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    assert.equal(m.usage.input_tokens, 900);
    assert.equal(m.usage.cache_creation_input_tokens, 100);
    assert.equal(m.usage.output_tokens_details?.thinking_tokens, 50);
  });

  it('count_tokens', async () => {
    const r = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.input_tokens, 1200);
    assert.equal(fake.calls[0].path, '/v1/messages/count_tokens');
  });
});

describe('Gemini', () => {
  it('generateContent: usage and api key header', async () => {
    const r = await gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    assert.equal(r.text, FAKE_REPLY_TEXT.gemini);
    assert.equal(r.usageMetadata?.promptTokenCount, 1200);
    assert.equal(r.usageMetadata?.cachedContentTokenCount, 200);
    assert.equal(r.usageMetadata?.candidatesTokenCount, 250);
    assert.equal(r.usageMetadata?.thoughtsTokenCount, 50);
    assert.equal(r.usageMetadata?.totalTokenCount, 1500);
    assert.equal(r.modelVersion, 'gemini-2.5-flash');
    assert.equal(fake.calls[0].path, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(fake.calls[0].headers['x-goog-api-key'], 'gm-test');
  });

  it('generateContentStream: SDK asks for alt=sse; last chunk has full usage', async () => {
    const stream = await gemini.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' });
    let text = '';
    const chunks = [];
    for await (const ch of stream) {
      chunks.push(ch);
      text += ch.text ?? '';
    }
    assert.equal(fake.calls[0].path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    assert.equal(fake.calls[0].query.alt, 'sse');
    assert.equal(text, FAKE_REPLY_TEXT.gemini);
    assert.ok(chunks.length >= 3);
    const last = chunks[chunks.length - 1];
    assert.equal(last.candidates?.[0].finishReason, 'STOP');
    assert.equal(last.usageMetadata?.candidatesTokenCount, 250);
    assert.equal(last.usageMetadata?.totalTokenCount, 1500);
  });

  it('streamGenerateContent without alt=sse is one JSON array, written in parts', async () => {
    const res = await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=gm-q', { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const arr = JSON.parse(await res.text());
    assert.ok(Array.isArray(arr) && arr.length >= 3);
    assert.equal(arr.map((c: any) => c.candidates[0].content.parts[0].text).join(''), FAKE_REPLY_TEXT.gemini);
    assert.equal(arr[arr.length - 1].usageMetadata.totalTokenCount, 1500);
    assert.equal(fake.calls[0].query.key, 'gm-q');
  });

  it('countTokens', async () => {
    const r = await gemini.models.countTokens({ model: 'gemini-2.5-flash', contents: 'hi' });
    assert.equal(r.totalTokens, 1200);
  });

  it('a 429 fault surfaces as ApiError with the Google error body', async () => {
    fake.failNext({ kind: 'status', status: 429 });
    await assert.rejects(gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 429);
      assert.match(e.message, /RESOURCE_EXHAUSTED/);
      return true;
    });
  });
});

describe('Ollama', () => {
  it('/api/chat streams NDJSON ending with done:true and counts', async () => {
    const res = await post('/api/chat', { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const last = lines[lines.length - 1];
    assert.equal(last.done, true);
    assert.equal(last.prompt_eval_count, 1200);
    assert.equal(last.eval_count, 300);
    assert.equal(lines.map((l) => l.message.content).join(''), FAKE_REPLY_TEXT.ollama);
  });

  it('/api/chat stream:false is one JSON object', async () => {
    const res = await post('/api/chat', { model: 'llama3.2', stream: false, messages: [] });
    const j = await res.json();
    assert.equal(j.done, true);
    assert.equal(j.message.content, FAKE_REPLY_TEXT.ollama);
  });
});

describe('faults', () => {
  it('gzip: SDKs decode compressed JSON and streams', async () => {
    fake.failNext({ kind: 'gzip' }, { kind: 'gzip' });
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.usage?.prompt_tokens, 1200);
    const m = await anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    assert.equal(m.usage.output_tokens, 300);
    // And it really was compressed on the wire.
    fake.failNext({ kind: 'gzip' });
    const res = await post('/v1/chat/completions', { model: 'x', messages: [] }, { 'accept-encoding': 'gzip' });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
  });

  it('500: SDK error classes carry the provider message; the call is still recorded', async () => {
    fake.failNext({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.InternalServerError);
      assert.equal(e.status, 500);
      assert.match(e.message, /The server had an error/);
      return true;
    });
    await assert.rejects(
      anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.InternalServerError);
        assert.match(e.message, /api_error/);
        return true;
      },
    );
    assert.equal(fake.calls.length, 2);
  });

  it('429 carries retry-after', async () => {
    fake.failNext({ kind: 'status', status: 429, headers: { 'retry-after': '7' } }, { kind: 'status', status: 429, headers: { 'retry-after': '3' } });
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.RateLimitError);
      assert.equal(e.headers?.get('retry-after'), '7');
      assert.equal(e.code, 'rate_limit_exceeded');
      return true;
    });
    await assert.rejects(
      anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.RateLimitError);
        assert.equal(e.headers?.get('retry-after'), '3');
        return true;
      },
    );
    assert.equal(fake.calls.length, 2, 'maxRetries: 0 means exactly one attempt each');
  });

  it('resetBeforeHeaders: the client sees a connection error, the call is recorded', async () => {
    fake.failNext({ kind: 'resetBeforeHeaders' });
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), OpenAI.APIConnectionError);
    assert.equal(fake.calls.length, 1);
  });

  it('resetMidStream: part of the stream arrives, then the body errors', async () => {
    fake.failNext({ kind: 'resetMidStream', afterEvents: 2 });
    const res = await post('/v1/messages', { model: 'claude-sonnet-4-6', max_tokens: 10, stream: true, messages: [] });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let got = '';
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got += new TextDecoder().decode(value);
      }
    });
    assert.match(got, /message_start/);
    assert.doesNotMatch(got, /message_delta/);
  });

  it('cutBeforeUsage: clean end without usage or end marker', async () => {
    fake.failNext({ kind: 'cutBeforeUsage' }, { kind: 'cutBeforeUsage' }, { kind: 'cutBeforeUsage' });
    const oa = await (await post('/v1/chat/completions', { model: 'm', stream: true, stream_options: { include_usage: true }, messages: [] })).text();
    assert.match(oa, /"finish_reason":"stop"/);
    assert.doesNotMatch(oa, /prompt_tokens|\[DONE\]/);
    const an = await (await post('/v1/messages', { model: 'm', stream: true, messages: [] })).text();
    assert.match(an, /content_block_stop/);
    assert.doesNotMatch(an, /message_delta|message_stop/);
    const gm = await (await post('/v1beta/models/g:streamGenerateContent?alt=sse', {})).text();
    assert.doesNotMatch(gm, /finishReason/);
  });

  it('slowFirstByte and stall delay the response', async () => {
    fake.failNext({ kind: 'slowFirstByte', ms: 150 });
    let t0 = Date.now();
    const slow = await post('/v1/chat/completions', { model: 'm', messages: [] });
    assert.ok(Date.now() - t0 >= 140, 'headers waited');
    await slow.text();

    fake.failNext({ kind: 'stall', ms: 150 });
    t0 = Date.now();
    const res = await post('/v1/chat/completions', { model: 'm', stream: true, messages: [] });
    assert.ok(Date.now() - t0 < 140, 'headers came at once');
    const { text, times } = await readTimed(res);
    assert.ok(times[times.length - 1] - times[0] >= 140, 'the rest came after the stall');
    assert.match(text, /\[DONE\]/);
  });

  it('reset() clears calls, faults and usage overrides', async () => {
    fake.failNext({ kind: 'status', status: 500 });
    fake.setUsage({ input: 1 });
    await post('/v1/embeddings', { model: 'm', input: 'x' });
    fake.reset();
    assert.equal(fake.calls.length, 0);
    const r = await openai.embeddings.create({ model: 'm', input: 'x' });
    assert.equal(r.usage.prompt_tokens, 1200);
  });
});
