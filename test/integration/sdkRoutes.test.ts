/**
 * Each client that reads a base-URL variable, given exactly the variables a metered terminal gets
 * and nothing else (no base URL in code): its call must reach the provider's real path through the
 * proxy (the fake, mounted per provider, 404s any other path) and be priced exactly.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { ChatAnthropic } from '@langchain/anthropic';
import { ChatOpenAI } from '@langchain/openai';
import { generateText } from 'ai';
import Groq from 'groq-sdk';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { planBaseUrls } from '../../src/engine/meter';
import type { FakeUsage } from '../support/fakeProvider';
import { nanos, startHarness, type Harness } from '../support/harness';

let h: Harness;
const savedEnv = { ...process.env };
before(async () => {
  h = await startHarness();
  // The metered environment, as a terminal gets it; no base URL of the user's own.
  for (const route of DEFAULT_ROUTES) delete process.env[route.env];
  const { set } = planBaseUrls({ routes: DEFAULT_ROUTES, port: h.port, tags: {}, processEnv: {}, upstreams: {} });
  for (const e of set) process.env[e.variable] = e.value;
});
after(async () => {
  process.env = savedEnv;
  await h.close();
});
beforeEach(() => h.fake.reset());

const messages = [{ role: 'user' as const, content: 'hi' }];

interface ClientCase {
  client: string;
  /** Makes one call, configured only by the environment. */
  call: () => Promise<unknown>;
  /** The path the real provider serves, as the fake (mounted under the provider id) saw it. */
  upstreamPath: string;
  provider: string;
  model: string;
  /** Expected cost in micro-dollars from the fake's usage and the published prices. */
  microDollars: number;
  /** The record's `client`, read from the headers the SDK sends. */
  recordedClient: string;
  usage?: Partial<FakeUsage>;
}

// The fake's default usage: 1,200 input tokens (200 of them cache reads), 300 output (50 reasoning).
const GPT_4O_MINI = 1000 * 0.15 + 200 * 0.075 + 300 * 0.6;
const CLAUDE_HAIKU_4_5 = 1000 * 1 + 200 * 0.1 + 300 * 5;
const GEMINI_2_5_FLASH = 1000 * 0.3 + 200 * 0.03 + 300 * 2.5;

const CASES: ClientCase[] = [
  {
    client: 'openai (official SDK)',
    call: () => new OpenAI({ apiKey: 'sk-test', maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages }),
    upstreamPath: '/openai/v1/chat/completions',
    provider: 'openai',
    model: 'gpt-4o-mini',
    microDollars: GPT_4O_MINI,
    recordedClient: 'openai-node',
  },
  {
    client: '@anthropic-ai/sdk',
    call: () => new Anthropic({ apiKey: 'sk-ant-test', maxRetries: 0 }).messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages }),
    upstreamPath: '/anthropic/v1/messages',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    microDollars: CLAUDE_HAIKU_4_5,
    recordedClient: 'anthropic-node',
  },
  {
    client: '@google/genai',
    call: () => new GoogleGenAI({ apiKey: 'AIza-test' }).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }),
    upstreamPath: '/gemini/v1beta/models/gemini-2.5-flash:generateContent',
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    microDollars: GEMINI_2_5_FLASH,
    recordedClient: 'google-genai',
  },
  {
    client: 'groq-sdk (appends /openai/v1 to GROQ_BASE_URL)',
    call: () => new Groq({ apiKey: 'gsk-test', maxRetries: 0 }).chat.completions.create({ model: 'llama-3.3-70b-versatile', messages }),
    upstreamPath: '/groq/openai/v1/chat/completions',
    provider: 'groq',
    model: 'llama-3.3-70b-versatile',
    // No cache reads: the catalogue has no cached-input price for this model.
    usage: { cachedRead: 0 },
    microDollars: 1200 * 0.59 + 300 * 0.79,
    recordedClient: 'groq-node',
  },
  {
    client: 'Vercel AI SDK, OpenAI provider (Responses API)',
    call: () => generateText({ model: createOpenAI({ apiKey: 'sk-test' })('gpt-4o-mini'), prompt: 'hi', maxRetries: 0 }),
    upstreamPath: '/openai/v1/responses',
    provider: 'openai',
    model: 'gpt-4o-mini',
    microDollars: GPT_4O_MINI,
    recordedClient: 'ai-sdk',
  },
  {
    client: 'Vercel AI SDK, Anthropic provider (calls <base>/messages)',
    call: () => generateText({ model: createAnthropic({ apiKey: 'sk-ant-test' })('claude-haiku-4-5'), prompt: 'hi', maxRetries: 0 }),
    upstreamPath: '/anthropic/v1/messages',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    microDollars: CLAUDE_HAIKU_4_5,
    recordedClient: 'ai-sdk',
  },
  {
    client: 'LangChain ChatOpenAI',
    call: () => new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'sk-test', maxRetries: 0 }).invoke('hi'),
    upstreamPath: '/openai/v1/chat/completions',
    provider: 'openai',
    model: 'gpt-4o-mini',
    microDollars: GPT_4O_MINI,
    recordedClient: 'langchain',
  },
  {
    // LangChain's Anthropic client sends only the Anthropic SDK's own headers.
    client: 'LangChain ChatAnthropic',
    call: () => new ChatAnthropic({ model: 'claude-haiku-4-5', apiKey: 'sk-ant-test', maxRetries: 0 }).invoke('hi'),
    upstreamPath: '/anthropic/v1/messages',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    microDollars: CLAUDE_HAIKU_4_5,
    recordedClient: 'anthropic-node',
  },
];

describe('clients configured only by the metered environment reach the provider path it serves', () => {
  for (const c of CASES) {
    test(c.client, async () => {
      if (c.usage) h.fake.setUsage(c.usage);
      const recorded = h.nextRecords();
      await c.call();
      assert.equal(h.fake.calls.length, 1, 'one upstream call');
      assert.equal(h.fake.calls[0].path, c.upstreamPath);
      const [r] = await recorded;
      assert.deepEqual([r.provider, r.model, r.status, r.costStatus], [c.provider, c.model, 200, 'exact']);
      assert.equal(r.costNanos, nanos(c.microDollars));
      assert.equal(r.client, c.recordedClient);
    });
  }
});

describe('path forms', () => {
  test('a path the provider does not serve is answered by the provider (404), recorded, and costs nothing', async () => {
    const recorded = h.nextRecords();
    const res = await fetch(`${h.url}/groq/v1/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer gsk-test' },
      body: JSON.stringify({ model: 'llama-3.3-70b-versatile', messages }),
    });
    assert.equal(res.status, 404);
    const [r] = await recorded;
    assert.deepEqual([r.status, r.costNanos], [404, 0]);
  });

  test('the older forms keep working: /groq/v1/… and /anthropic/v1/…', async () => {
    await new OpenAI({ apiKey: 'gsk-test', baseURL: `${h.url}/groq/v1`, maxRetries: 0 }).chat.completions.create({
      model: 'llama-3.3-70b-versatile',
      messages,
    });
    await new Anthropic({ apiKey: 'sk-ant-test', baseURL: `${h.url}/anthropic`, maxRetries: 0 }).messages.countTokens({ model: 'claude-haiku-4-5', messages });
    await fetch(`${h.url}/anthropic/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', messages }),
    });
    assert.deepEqual(
      h.fake.calls.map((c) => c.path),
      ['/groq/openai/v1/chat/completions', '/anthropic/v1/messages/count_tokens', '/anthropic/v1/messages/count_tokens'],
    );
  });
});
