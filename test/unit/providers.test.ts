import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  adapterFor,
  protocolAdapters,
  RouteTable,
  anthropicAdapter,
  countStringChars,
  hasObjectMember,
  readStringMember,
  geminiAdapter,
  NdjsonSplitter,
  ollamaAdapter,
  openaiAdapter,
  removeNullUsageMember,
  type EndpointCall,
  type ProtocolAdapter,
  type ProxiedRequest,
  type TokenUsage,
  type UsageReport,
} from '../../src/engine/providers';

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

const SSE = 'text/event-stream; charset=utf-8';
const JSON_TYPE = 'application/json';

function request(path: string, body?: unknown, options: { method?: string; query?: string } = {}): ProxiedRequest {
  const raw = body === undefined ? '' : JSON.stringify(body);
  return {
    method: options.method ?? 'POST',
    path,
    query: new URLSearchParams(options.query ?? ''),
    body,
    bodyBytes: Buffer.byteLength(raw),
  };
}

function recognised(adapter: ProtocolAdapter, req: ProxiedRequest): EndpointCall {
  const call = adapter.recognise(req);
  assert.ok(call, `${adapter.protocol} should recognise ${req.method} ${req.path}`);
  return call;
}

interface Run {
  report: UsageReport;
  /** What the client would receive: every write() result plus end()'s tail. */
  output: Buffer;
}

function feed(call: EndpointCall, status: number, contentType: string, body: Buffer, cuts: number[] = []): Run {
  const parser = call.createResponseParser(status, contentType);
  const out: Buffer[] = [];
  let from = 0;
  const points = [...new Set(cuts.filter((c) => c > 0 && c < body.length))].sort((a, b) => a - b);
  for (const point of [...points, body.length]) {
    out.push(parser.write(body.subarray(from, point)));
    from = point;
  }
  const { report, tail } = parser.end();
  out.push(tail);
  return { report, output: Buffer.concat(out) };
}

function oneByteCuts(body: Buffer): number[] {
  return Array.from({ length: body.length }, (_, i) => i);
}

/**
 * Feeds the body whole, in 1-byte chunks and cut in two at every position: the report (and the
 * client's bytes) must be the same every time. Returns the report of the whole body.
 */
function feedEverySplit(call: EndpointCall, status: number, contentType: string, body: Buffer, expectedOutput?: Buffer): UsageReport {
  const whole = feed(call, status, contentType, body);
  const want = expectedOutput ?? body;
  assert.deepEqual(whole.output.toString(), want.toString(), 'client bytes, whole body');
  const check = (cuts: number[], label: string): void => {
    const run = feed(call, status, contentType, body, cuts);
    assert.deepEqual(run.report, whole.report, `report, ${label}`);
    assert.ok(run.output.equals(want), `client bytes, ${label}`);
  };
  check(oneByteCuts(body), '1-byte chunks');
  for (let cut = 1; cut < body.length; cut++) check([cut], `cut at ${cut}`);
  return whole.report;
}

function usage(fields: Partial<TokenUsage>): TokenUsage {
  return {
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    ...fields,
  };
}

function sse(events: Array<{ event?: string; data: unknown }>): string {
  return events
    .map((e) => `${e.event === undefined ? '' : `event: ${e.event}\n`}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`)
    .join('');
}

function withEol(text: string, eol: string): Buffer {
  return Buffer.from(text.replace(/\n/g, eol));
}

const EOLS = ['\n', '\r\n', '\r'] as const;

// ---------------------------------------------------------------------------------------------
// OpenAI fixtures (modelled on the API reference's streaming examples)
// ---------------------------------------------------------------------------------------------

const chatHeader = {
  id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
  object: 'chat.completion.chunk',
  created: 1741570283,
  model: 'gpt-4o-2024-08-06',
  service_tier: 'default',
  system_fingerprint: 'fp_eb9dce56a8',
};

const chatDeltas: Array<{ delta: Record<string, unknown>; finish_reason: string | null }> = [
  { delta: { role: 'assistant', content: '', refusal: null }, finish_reason: null },
  { delta: { content: 'Hello' }, finish_reason: null },
  { delta: { content: ' wörld 😀, "usage":null is just text' }, finish_reason: null },
  // An odd number of escaped quotes: a scanner that ignores escapes loses track of strings here.
  { delta: { content: ', a 5" screen' }, finish_reason: null },
  { delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: null },
  { delta: {}, finish_reason: 'stop' },
];
const chatTextChars = 'Hello'.length + ' wörld 😀, "usage":null is just text'.length + ', a 5" screen'.length + '{"a":1}'.length;

const chatUsage = {
  prompt_tokens: 1200,
  completion_tokens: 42,
  total_tokens: 1242,
  prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 10, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};
const chatUsageNormalised = usage({ inputTokens: 1200, cacheReadTokens: 1024, outputTokens: 42, reasoningTokens: 10 });

/** The stream upstream sends when asked for usage: `"usage":null` in every chunk, then a usage-only chunk. */
function chatStreamWithUsage(): string {
  const chunks = chatDeltas.map((d) => ({
    ...chatHeader,
    choices: [{ index: 0, delta: d.delta, logprobs: null, finish_reason: d.finish_reason }],
    usage: null,
  }));
  return sse([...chunks.map((data) => ({ data })), { data: { ...chatHeader, choices: [], usage: chatUsage } }, { data: '[DONE]' }]);
}

/** The same stream as upstream sends it when not asked for usage. */
function chatStreamWithoutUsage(): string {
  const chunks = chatDeltas.map((d) => ({ ...chatHeader, choices: [{ index: 0, delta: d.delta, logprobs: null, finish_reason: d.finish_reason }] }));
  return sse([...chunks.map((data) => ({ data })), { data: '[DONE]' }]);
}

const chatRequest = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true };

describe('OpenAI adapter', () => {
  describe('recognise', () => {
    it('recognises endpoints by path suffix, with or without /v1', () => {
      const cases: Array<[string, string]> = [
        ['/v1/chat/completions', 'chat.completions'],
        ['/chat/completions', 'chat.completions'], // perplexity
        ['/openai/v1/chat/completions', 'chat.completions'],
        ['/v1/chat/completions/', 'chat.completions'],
        ['/v1/responses', 'responses'],
        ['/v1/embeddings', 'embeddings'],
        ['/v1/completions', 'completions'],
        ['/v1/responses/input_tokens', 'responses.input_tokens'],
      ];
      for (const [path, endpoint] of cases) {
        assert.equal(recognised(openaiAdapter, request(path, { model: 'm' })).endpoint, endpoint, path);
      }
      assert.equal(openaiAdapter.recognise(request('/v1/models', undefined, { method: 'GET' })), undefined);
      assert.equal(openaiAdapter.recognise(request('/v1/chat/completions', undefined, { method: 'GET' })), undefined);
      assert.equal(openaiAdapter.recognise(request('/v1/responses/resp_1/cancel', {})), undefined);
      assert.equal(openaiAdapter.recognise(request('/v1/files', {})), undefined);
    });

    it('reads model and stream from the body; only the token counter is free', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', { model: 'gpt-4o', stream: true, stream_options: { include_usage: true } }));
      assert.equal(call.requestModel, 'gpt-4o');
      assert.equal(call.stream, true);
      assert.equal(call.free, false);
      assert.equal(recognised(openaiAdapter, request('/v1/chat/completions', { model: 'gpt-4o' })).stream, false);
      assert.equal(recognised(openaiAdapter, request('/v1/responses/input_tokens', { model: 'gpt-4o' })).free, true);
      const noBody = recognised(openaiAdapter, request('/v1/chat/completions', undefined));
      assert.equal(noBody.requestModel, undefined);
      assert.equal(noBody.stream, false);
    });

    it('asks for stream usage when the client did not, keeping its other stream_options', () => {
      for (const streamOptions of [undefined, { include_usage: false }, { include_obfuscation: false }]) {
        const body = { ...chatRequest, ...(streamOptions ? { stream_options: streamOptions } : {}) };
        const call = recognised(openaiAdapter, request('/v1/chat/completions', body));
        assert.ok(call.upstreamBody);
        assert.deepEqual(JSON.parse(call.upstreamBody.toString()), {
          ...body,
          stream_options: { ...streamOptions, include_usage: true },
        });
        assert.equal(call.createResponseParser(200, SSE).rewritesBody, true);
        // Error answers are JSON: nothing to hide.
        assert.equal(call.createResponseParser(400, JSON_TYPE).rewritesBody, false);
      }
    });

    it('leaves the body alone when the client asked for usage, or for non-stream, non-chat requests', () => {
      const asked = recognised(openaiAdapter, request('/v1/chat/completions', { ...chatRequest, stream_options: { include_usage: true } }));
      assert.equal(asked.upstreamBody, undefined);
      assert.equal(asked.createResponseParser(200, SSE).rewritesBody, false);
      assert.equal(recognised(openaiAdapter, request('/v1/chat/completions', { ...chatRequest, stream: false })).upstreamBody, undefined);
      assert.equal(recognised(openaiAdapter, request('/v1/responses', { model: 'gpt-4o', stream: true })).upstreamBody, undefined);
      assert.equal(recognised(openaiAdapter, request('/v1/completions', { model: 'gpt-3.5-turbo-instruct', stream: true })).upstreamBody, undefined);
    });

    it('does not inject for providers that reject stream_options', () => {
      const adapterOfRoute = (id: string) => {
        const route = new RouteTable().get(id)!;
        return adapterFor(route.protocol, { injectStreamUsage: route.injectStreamUsage });
      };
      for (const provider of ['mistral', 'cerebras']) {
        const adapter = adapterOfRoute(provider);
        assert.ok(adapter);
        const call = recognised(adapter, request('/v1/chat/completions', chatRequest));
        assert.equal(call.upstreamBody, undefined);
        assert.equal(call.createResponseParser(200, SSE).rewritesBody, false);
      }
      assert.ok(recognised(adapterOfRoute('deepseek')!, request('/v1/chat/completions', chatRequest)).upstreamBody);
    });
  });

  describe('chat completions stream', () => {
    it('reads usage from the final usage-only chunk when the client asked for it (any split, LF/CRLF/CR)', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', { ...chatRequest, stream_options: { include_usage: true } }));
      for (const eol of EOLS) {
        const body = withEol(chatStreamWithUsage(), eol);
        const parser = call.createResponseParser(200, SSE);
        const first = body.subarray(0, 10);
        assert.equal(parser.write(first), first, 'not rewriting: write() returns the same buffer');
        const report = feedEverySplit(call, 200, SSE, body);
        assert.deepEqual(report, {
          model: 'gpt-4o-2024-08-06',
          usage: chatUsageNormalised,
          serviceTier: 'default',
          outputChars: chatTextChars,
          completed: true,
        });
      }
    });

    it('hides the injected usage: the client gets byte for byte what it would have got without it', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', chatRequest));
      assert.ok(call.upstreamBody);
      for (const eol of EOLS) {
        const upstream = withEol(chatStreamWithUsage(), eol);
        const expected = withEol(chatStreamWithoutUsage(), eol);
        assert.ok(!expected.toString().includes('"usage"'));
        const report = feedEverySplit(call, 200, SSE, upstream, expected);
        assert.deepEqual(report.usage, chatUsageNormalised);
        assert.equal(report.completed, true);
        assert.equal(report.outputChars, chatTextChars);
      }
    });

    it('hides the injected usage under any multi-way split (property)', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', chatRequest));
      const upstream = Buffer.from(chatStreamWithUsage());
      const expected = Buffer.from(chatStreamWithoutUsage());
      fc.assert(
        fc.property(fc.array(fc.nat({ max: upstream.length }), { maxLength: 30 }), (cuts) => {
          const run = feed(call, 200, SSE, upstream, cuts);
          assert.ok(run.output.equals(expected));
          assert.deepEqual(run.report.usage, chatUsageNormalised);
        }),
        { numRuns: 300 },
      );
    });

    it('forwards comments, keep-alives and usage it did not add untouched while hiding', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', chatRequest));
      // OpenRouter-style comment, and a provider that puts usage on a content chunk by itself.
      const upstream =
        ': OPENROUTER PROCESSING\n\n' +
        sse([
          { data: { ...chatHeader, choices: [{ index: 0, delta: { content: 'Hi' } }], usage: null } },
          {
            data: {
              ...chatHeader,
              choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
              usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6, cost: 0.00012 },
            },
          },
          { data: '[DONE]' },
        ]);
      const expected =
        ': OPENROUTER PROCESSING\n\n' +
        sse([
          { data: { ...chatHeader, choices: [{ index: 0, delta: { content: 'Hi' } }] } },
          {
            data: {
              ...chatHeader,
              choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
              usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6, cost: 0.00012 },
            },
          },
          { data: '[DONE]' },
        ]);
      const report = feedEverySplit(call, 200, SSE, Buffer.from(upstream), Buffer.from(expected));
      assert.deepEqual(report.usage, usage({ inputTokens: 5, outputTokens: 1 }));
      assert.equal(report.reportedCostUsd, 0.00012);
    });

    it('keeps the last usage seen and never sums (cumulative usage on every chunk)', () => {
      const call = recognised(openaiAdapter, request('/chat/completions', { model: 'sonar', stream: true, stream_options: { include_usage: true } }));
      const chunk = (content: string, completion: number) => ({
        id: 'p1',
        model: 'sonar',
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { role: 'assistant', content } }],
        usage: {
          prompt_tokens: 8,
          completion_tokens: completion,
          total_tokens: 8 + completion,
          citation_tokens: 300,
          num_search_queries: 1,
          cost: { input_tokens_cost: 0, output_tokens_cost: 0, request_cost: 0.005, total_cost: 0.00502 },
        },
      });
      const body = Buffer.from(sse([{ data: chunk('The', 1) }, { data: chunk(' sky', 2) }, { data: chunk(' is blue', 5) }]));
      const report = feedEverySplit(call, 200, SSE, body);
      assert.deepEqual(report.usage, usage({ inputTokens: 8, outputTokens: 5 }));
      assert.equal(report.reportedCostUsd, 0.00502);
      assert.equal(report.completed, false, 'no [DONE]');
    });

    it('a cut stream has no usage, is not completed, and still counts the text it saw', () => {
      for (const hide of [false, true]) {
        const body = hide ? chatRequest : { ...chatRequest, stream_options: { include_usage: true } };
        const call = recognised(openaiAdapter, request('/v1/chat/completions', body));
        const full = chatStreamWithUsage();
        const cut = Buffer.from(full.slice(0, full.indexOf('"choices":[]') - 40));
        const run = feed(call, 200, SSE, cut, [50, 300]);
        assert.equal(run.report.usage, undefined);
        assert.equal(run.report.completed, false);
        assert.ok(run.report.outputChars > 0);
        assert.equal(run.report.model, 'gpt-4o-2024-08-06');
        if (hide) {
          // The cut block's bytes are not lost: end() hands them back.
          const expected = chatStreamWithoutUsage();
          assert.ok(expected.startsWith(run.output.toString().slice(0, 200)));
        }
      }
    });

    it('counts reasoning_content (DeepSeek) and reads prompt_cache_hit_tokens', () => {
      const call = recognised(
        openaiAdapter,
        request('/v1/chat/completions', { model: 'deepseek-reasoner', stream: true, stream_options: { include_usage: true } }),
      );
      const head = { id: 'd1', object: 'chat.completion.chunk', created: 1, model: 'deepseek-reasoner', system_fingerprint: 'fp_1' };
      const body = Buffer.from(
        sse([
          {
            data: {
              ...head,
              choices: [{ index: 0, delta: { role: 'assistant', content: null, reasoning_content: 'Think' }, finish_reason: null }],
              usage: null,
            },
          },
          { data: { ...head, choices: [{ index: 0, delta: { content: 'Answer' }, finish_reason: 'stop' }], usage: null } },
          {
            data: {
              ...head,
              choices: [],
              usage: {
                prompt_tokens: 100,
                completion_tokens: 50,
                total_tokens: 150,
                prompt_cache_hit_tokens: 64,
                prompt_cache_miss_tokens: 36,
                completion_tokens_details: { reasoning_tokens: 30 },
              },
            },
          },
          { data: '[DONE]' },
        ]),
      );
      const report = feedEverySplit(call, 200, SSE, body);
      assert.deepEqual(report.usage, usage({ inputTokens: 100, cacheReadTokens: 64, outputTokens: 50, reasoningTokens: 30 }));
      assert.equal(report.outputChars, 'Think'.length + 'Answer'.length);
    });

    it("reads Groq's x_groq.usage", () => {
      const call = recognised(
        openaiAdapter,
        request('/v1/chat/completions', { model: 'llama-3.3-70b-versatile', stream: true, stream_options: { include_usage: true } }),
      );
      const body = Buffer.from(
        sse([
          {
            data: {
              id: 'g',
              object: 'chat.completion.chunk',
              model: 'llama-3.3-70b-versatile',
              choices: [{ index: 0, delta: { content: 'Yo' }, finish_reason: null }],
              x_groq: { id: 'req_1' },
            },
          },
          {
            data: {
              id: 'g',
              object: 'chat.completion.chunk',
              model: 'llama-3.3-70b-versatile',
              choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
              x_groq: { id: 'req_1', usage: { prompt_tokens: 40, completion_tokens: 2, total_tokens: 42 } },
            },
          },
          { data: '[DONE]' },
        ]),
      );
      assert.deepEqual(feedEverySplit(call, 200, SSE, body).usage, usage({ inputTokens: 40, outputTokens: 2 }));
    });

    it('records an error chunk in the stream', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', chatRequest));
      const body = Buffer.from(
        sse([
          { data: { ...chatHeader, choices: [{ index: 0, delta: { content: 'Par' } }], usage: null } },
          {
            data: {
              ...chatHeader,
              error: { code: 502, message: 'Provider returned error' },
              choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }],
            },
          },
        ]),
      );
      const run = feed(call, 200, SSE, body, [17]);
      assert.equal(run.report.error, 'Provider returned error');
      assert.equal(run.report.completed, false);
    });
  });

  describe('removeNullUsageMember', () => {
    const edit = (line: string): string | undefined => removeNullUsageMember(Buffer.from(line))?.toString();
    it('cuts the top-level member with the right comma, whatever its position and spacing', () => {
      assert.equal(edit('data: {"a":1,"usage":null}\n\n'), 'data: {"a":1}\n\n');
      assert.equal(edit('data: {"usage":null,"a":1}\n\n'), 'data: {"a":1}\n\n');
      assert.equal(edit('data: {"a":1,"usage":null,"b":2}\r\n\r\n'), 'data: {"a":1,"b":2}\r\n\r\n');
      assert.equal(edit('data: {"usage":null}\n\n'), 'data: {}\n\n');
      assert.equal(edit('data:{"a": 1, "usage": null}\n\n'), 'data:{"a": 1}\n\n');
      assert.equal(edit('data: { "usage" : null , "a": 1 }\n\n'), 'data: { "a": 1 }\n\n');
      assert.equal(edit('event: chunk\ndata: {"a":[1,{"b":"}"}],"usage":null}\n\n'), 'event: chunk\ndata: {"a":[1,{"b":"}"}]}\n\n');
    });
    it('leaves alone what is not a top-level null usage member', () => {
      assert.equal(edit('data: {"a":{"usage":null}}\n\n'), undefined, 'nested');
      assert.equal(edit('data: {"t":"\\"usage\\":null","u":1}\n\n'), undefined, 'inside a string');
      assert.equal(edit('data: {"t":"x\\\\","usage":{"prompt_tokens":1}}\n\n'), undefined, 'object value');
      assert.equal(edit('data: {"x":"usage","y":null}\n\n'), undefined, 'a value, not a key');
      assert.equal(edit('data: {"a":1}\ndata: ,"usage":null}\n\n'), undefined, 'multi-line data');
      assert.equal(edit(': "usage":null\n\n'), undefined, 'comment');
    });
    it('tracks escapes: an escaped backslash or quote does not end or start a string', () => {
      assert.equal(edit('data: {"t":"x\\\\","usage":null}\n\n'), 'data: {"t":"x\\\\"}\n\n');
      assert.equal(edit('data: {"t":"a\\",","usage":null}\n\n'), 'data: {"t":"a\\","}\n\n');
    });
  });

  describe('non-stream bodies', () => {
    it('reads chat completion usage, model and service tier (every split)', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', { model: 'gpt-4o', messages: [] }));
      assert.equal(call.stream, false);
      const body = Buffer.from(
        JSON.stringify(
          {
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1741569952,
            model: 'gpt-4o-2024-08-06',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: 'Hello! How can I assist you today?', refusal: null, annotations: [] },
                logprobs: null,
                finish_reason: 'stop',
              },
            ],
            usage: chatUsage,
            service_tier: 'flex',
          },
          null,
          2,
        ),
      );
      assert.deepEqual(feedEverySplit(call, 200, 'application/json', body), {
        model: 'gpt-4o-2024-08-06',
        usage: chatUsageNormalised,
        serviceTier: 'flex',
        outputChars: 'Hello! How can I assist you today?'.length,
        completed: true,
      });
    });

    it("adds xAI's reasoning tokens, reported beside completion_tokens, to the output", () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', { model: 'grok-4' }));
      const body = Buffer.from(
        JSON.stringify({
          model: 'grok-4',
          choices: [{ index: 0, message: { role: 'assistant', content: 'I am Grok.' }, finish_reason: 'stop' }],
          usage: {
            prompt_tokens: 700,
            completion_tokens: 50,
            total_tokens: 1070,
            prompt_tokens_details: { cached_tokens: 680 },
            completion_tokens_details: { reasoning_tokens: 320 },
          },
        }),
      );
      assert.deepEqual(
        feed(call, 200, JSON_TYPE, body).report.usage,
        usage({ inputTokens: 700, cacheReadTokens: 680, outputTokens: 370, reasoningTokens: 320 }),
      );
    });

    it('reads OpenRouter usage.cost', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', { model: 'anthropic/claude-sonnet-4' }));
      const body = Buffer.from(
        JSON.stringify({
          model: 'anthropic/claude-sonnet-4',
          choices: [],
          usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13, cost: 0.000075, is_byok: false },
        }),
      );
      const report = feed(call, 200, JSON_TYPE, body).report;
      assert.equal(report.reportedCostUsd, 0.000075);
      assert.deepEqual(report.usage, usage({ inputTokens: 10, outputTokens: 3 }));
    });

    it('reads embeddings usage (no output)', () => {
      const call = recognised(openaiAdapter, request('/v1/embeddings', { model: 'text-embedding-3-small', input: 'hi' }));
      const body = Buffer.from(
        JSON.stringify({
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2] }],
          model: 'text-embedding-3-small',
          usage: { prompt_tokens: 8, total_tokens: 8 },
        }),
      );
      assert.deepEqual(feedEverySplit(call, 200, JSON_TYPE, body), {
        model: 'text-embedding-3-small',
        usage: usage({ inputTokens: 8 }),
        outputChars: 0,
        completed: true,
      });
    });

    it('reads a Responses API body', () => {
      const call = recognised(openaiAdapter, request('/v1/responses', { model: 'o4-mini', input: 'hi' }));
      const body = Buffer.from(
        JSON.stringify({
          id: 'resp_1',
          object: 'response',
          status: 'completed',
          model: 'o4-mini-2025-04-16',
          output: [
            { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Thinking' }] },
            { type: 'message', id: 'msg_1', role: 'assistant', content: [{ type: 'output_text', text: 'Hi there', annotations: [] }] },
          ],
          service_tier: 'default',
          usage: {
            input_tokens: 37,
            input_tokens_details: { cached_tokens: 5 },
            output_tokens: 300,
            output_tokens_details: { reasoning_tokens: 256 },
            total_tokens: 337,
          },
        }),
      );
      assert.deepEqual(feedEverySplit(call, 200, JSON_TYPE, body), {
        model: 'o4-mini-2025-04-16',
        usage: usage({ inputTokens: 37, cacheReadTokens: 5, outputTokens: 300, reasoningTokens: 256 }),
        serviceTier: 'default',
        outputChars: 'Thinking'.length + 'Hi there'.length,
        completed: true,
      });
    });

    it('records nothing but completion for the free token counter', () => {
      const call = recognised(openaiAdapter, request('/v1/responses/input_tokens', { model: 'gpt-5', input: 'hi' }));
      const report = feed(call, 200, JSON_TYPE, Buffer.from('{"object":"response.input_tokens","input_tokens":11}')).report;
      assert.equal(report.usage, undefined);
      assert.equal(report.completed, true);
    });

    it('gives up on usage past the body cap instead of buffering it', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', { model: 'gpt-4o' }));
      const parser = call.createResponseParser(200, JSON_TYPE);
      const piece = Buffer.alloc(1024 * 1024, 0x20);
      parser.write(Buffer.from('{"model":"gpt-4o","choices":[],'));
      for (let i = 0; i < 40; i++) assert.equal(parser.write(piece), piece);
      parser.write(Buffer.from('"usage":{"prompt_tokens":1,"completion_tokens":1}}'));
      const { report } = parser.end();
      assert.equal(report.usage, undefined);
      assert.equal(report.completed, false);
    });
  });

  describe('Responses API stream', () => {
    const created = {
      id: 'resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654',
      object: 'response',
      created_at: 1741290958,
      status: 'in_progress',
      error: null,
      incomplete_details: null,
      instructions: 'You are a helpful assistant.',
      max_output_tokens: null,
      model: 'gpt-4.1-2025-04-14',
      output: [],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: true,
      temperature: 1.0,
      text: { format: { type: 'text' } },
      tool_choice: 'auto',
      tools: [],
      top_p: 1.0,
      truncation: 'disabled',
      usage: null,
      user: null,
      metadata: {},
    };
    const responsesUsage = {
      input_tokens: 37,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 11,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 48,
    };

    function stream(terminal: string, terminalResponse: Record<string, unknown>): Buffer {
      return Buffer.from(
        sse([
          { event: 'response.created', data: { type: 'response.created', sequence_number: 0, response: created } },
          { event: 'response.in_progress', data: { type: 'response.in_progress', sequence_number: 1, response: created } },
          {
            event: 'response.output_item.added',
            data: {
              type: 'response.output_item.added',
              sequence_number: 2,
              output_index: 0,
              item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
            },
          },
          {
            event: 'response.output_text.delta',
            data: { type: 'response.output_text.delta', sequence_number: 3, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi' },
          },
          {
            event: 'response.output_text.delta',
            data: { type: 'response.output_text.delta', sequence_number: 4, item_id: 'msg_1', output_index: 0, content_index: 0, delta: ' there! 😀' },
          },
          {
            event: 'response.output_text.done',
            data: { type: 'response.output_text.done', sequence_number: 5, item_id: 'msg_1', output_index: 0, content_index: 0, text: 'Hi there! 😀' },
          },
          { event: terminal, data: { type: terminal, sequence_number: 6, response: { ...created, ...terminalResponse } } },
        ]),
      );
    }

    it('reads usage from response.completed (every split, LF/CRLF/CR)', () => {
      const call = recognised(openaiAdapter, request('/v1/responses', { model: 'gpt-4.1', input: 'hi', stream: true }));
      for (const eol of EOLS) {
        const body = withEol(stream('response.completed', { status: 'completed', service_tier: 'default', usage: responsesUsage }).toString(), eol);
        assert.deepEqual(feedEverySplit(call, 200, SSE, body), {
          model: 'gpt-4.1-2025-04-14',
          usage: usage({ inputTokens: 37, outputTokens: 11 }),
          serviceTier: 'default',
          outputChars: 'Hi there! 😀'.length,
          completed: true,
        });
      }
    });

    it('takes the usage of response.incomplete and response.failed, and records why', () => {
      const call = recognised(openaiAdapter, request('/v1/responses', { model: 'gpt-4.1', input: 'hi', stream: true }));
      const incomplete = feed(
        call,
        200,
        SSE,
        stream('response.incomplete', { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: responsesUsage }),
      ).report;
      assert.deepEqual(incomplete.usage, usage({ inputTokens: 37, outputTokens: 11 }));
      assert.equal(incomplete.error, 'incomplete: max_output_tokens');
      const failed = feed(
        call,
        200,
        SSE,
        stream('response.failed', { status: 'failed', error: { code: 'server_error', message: 'The model failed.' }, usage: responsesUsage }),
      ).report;
      assert.deepEqual(failed.usage, usage({ inputTokens: 37, outputTokens: 11 }));
      assert.equal(failed.error, 'The model failed.');
    });

    it('records an error event and leaves a cut stream incomplete', () => {
      const call = recognised(openaiAdapter, request('/v1/responses', { model: 'gpt-4.1', input: 'hi', stream: true }));
      const full = stream('response.completed', { status: 'completed', usage: responsesUsage }).toString();
      const cut = full.slice(0, full.indexOf('event: response.completed'));
      const body = Buffer.from(
        cut + sse([{ event: 'error', data: { type: 'error', code: 'ERR_SOMETHING', message: 'Something went wrong', param: null, sequence_number: 6 } }]),
      );
      const report = feed(call, 200, SSE, body, [99]).report;
      assert.equal(report.error, 'Something went wrong');
      assert.equal(report.usage, undefined);
      assert.equal(report.completed, false);
      assert.equal(report.model, 'gpt-4.1-2025-04-14');
      assert.equal(report.outputChars, 'Hi there! 😀'.length);
    });
  });

  describe('error bodies', () => {
    it('reads error.message from a 4xx JSON body', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', chatRequest));
      const body = Buffer.from(
        JSON.stringify({ error: { message: 'Incorrect API key provided: sk-abc.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }),
      );
      const report = feedEverySplit(call, 401, JSON_TYPE, body);
      assert.equal(report.error, 'Incorrect API key provided: sk-abc.');
      assert.equal(report.usage, undefined);
      assert.equal(report.completed, false);
    });

    it("reads Mistral's 422 validation message object", () => {
      const call = recognised(adapterFor('openai', { injectStreamUsage: false })!, request('/v1/chat/completions', chatRequest));
      const body = Buffer.from(
        '{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","foo"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error","param":null,"code":null}',
      );
      assert.match(feed(call, 422, JSON_TYPE, body).report.error ?? '', /Extra inputs are not permitted/);
    });

    it('keeps a short plain-text error and ignores HTML error pages', () => {
      const call = recognised(openaiAdapter, request('/v1/chat/completions', chatRequest));
      assert.equal(feed(call, 503, 'text/plain', Buffer.from('upstream connect error\n')).report.error, 'upstream connect error');
      assert.equal(feed(call, 502, 'text/html', Buffer.from('<html><body>Bad gateway</body></html>')).report.error, 'HTTP 502');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------------------------

const anthropicStartUsage = {
  input_tokens: 25,
  cache_creation_input_tokens: 2048,
  cache_read_input_tokens: 4096,
  cache_creation: { ephemeral_5m_input_tokens: 1024, ephemeral_1h_input_tokens: 1024 },
  output_tokens: 1,
  service_tier: 'standard',
};
const anthropicNormalised = usage({
  inputTokens: 25 + 2048 + 4096,
  cacheReadTokens: 4096,
  cacheWriteTokens: 2048,
  cacheWrite1hTokens: 1024,
  outputTokens: 15,
});
const partialJson = ['{"location": "San Fra', 'ncisco, CA", "unit": "°F"}'];

/** The Messages streaming example, with thinking, text and tool-use blocks and cache usage. */
function anthropicStream(deltaUsages: Array<Record<string, unknown>>, options: { stop?: boolean } = {}): string {
  const events: Array<{ event: string; data: unknown }> = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: 'msg_01',
          type: 'message',
          role: 'assistant',
          content: [],
          model: 'claude-sonnet-4-5-20250929',
          stop_reason: null,
          stop_sequence: null,
          usage: anthropicStartUsage,
        },
      },
    },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } } },
    { event: 'ping', data: { type: 'ping' } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me think.' } } },
    {
      event: 'content_block_delta',
      data: { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' } },
    },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Héllo' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: '! "quoted" 😀' } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
    {
      event: 'content_block_start',
      data: { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: {} } },
    },
    ...partialJson.map((p) => ({
      event: 'content_block_delta',
      data: { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: p } },
    })),
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 2 } },
    ...deltaUsages.map((u) => ({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: u } })),
  ];
  if (options.stop !== false) events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return sse(events);
}
const anthropicChars = 'Let me think.'.length + 'Héllo'.length + '! "quoted" 😀'.length + partialJson.join('').length;

describe('Anthropic adapter', () => {
  it('recognises messages, count_tokens (free) and not batches', () => {
    const messages = recognised(anthropicAdapter, request('/v1/messages', { model: 'claude-sonnet-4-5', stream: true }));
    assert.deepEqual([messages.endpoint, messages.requestModel, messages.stream, messages.free], ['messages', 'claude-sonnet-4-5', true, false]);
    assert.equal(messages.upstreamBody, undefined);
    const count = recognised(anthropicAdapter, request('/v1/messages/count_tokens', { model: 'claude-sonnet-4-5' }));
    assert.deepEqual([count.endpoint, count.free, count.stream], ['count_tokens', true, false]);
    assert.equal(anthropicAdapter.recognise(request('/v1/messages/batches', { requests: [] })), undefined);
    assert.equal(anthropicAdapter.recognise(request('/v1/messages/batches/msgbatch_1/cancel', {})), undefined);
    assert.equal(anthropicAdapter.recognise(request('/v1/models', undefined, { method: 'GET' })), undefined);
  });

  it('normalises a stream: cache tokens into input, last message_delta wins (every split, LF/CRLF/CR)', () => {
    const call = recognised(anthropicAdapter, request('/v1/messages', { model: 'claude-sonnet-4-5', stream: true }));
    for (const eol of EOLS) {
      const body = withEol(anthropicStream([{ output_tokens: 15 }]), eol);
      assert.deepEqual(feedEverySplit(call, 200, SSE, body), {
        model: 'claude-sonnet-4-5-20250929',
        usage: anthropicNormalised,
        usagePartial: false,
        serviceTier: 'standard',
        outputChars: anthropicChars,
        completed: true,
      });
    }
  });

  it('takes input fields from message_delta when present, keeps message_start ones otherwise, never sums', () => {
    const call = recognised(anthropicAdapter, request('/v1/messages', { model: 'claude-sonnet-4-5', stream: true }));
    const both = feed(call, 200, SSE, Buffer.from(anthropicStream([{ output_tokens: 7 }, { output_tokens: 15 }]))).report;
    assert.deepEqual(both.usage, anthropicNormalised);
    const newer = feed(
      call,
      200,
      SSE,
      Buffer.from(
        anthropicStream([
          {
            input_tokens: 30,
            cache_creation_input_tokens: 2048,
            cache_read_input_tokens: 4096,
            output_tokens: 15,
            server_tool_use: { web_search_requests: 1 },
          },
        ]),
      ),
    ).report;
    assert.deepEqual(newer.usage, { ...anthropicNormalised, inputTokens: 30 + 2048 + 4096 });
    assert.equal(newer.usage?.cacheWrite1hTokens, 1024, 'the 1h split comes from message_start');
  });

  it('a stream cut after message_start leaves partial usage, not completed', () => {
    const call = recognised(anthropicAdapter, request('/v1/messages', { model: 'claude-sonnet-4-5', stream: true }));
    const full = anthropicStream([{ output_tokens: 15 }]);
    const cut = Buffer.from(full.slice(0, full.indexOf('event: message_delta')));
    const report = feed(call, 200, SSE, cut, [300]).report;
    assert.deepEqual(report.usage, { ...anthropicNormalised, outputTokens: 1 });
    assert.equal(report.usagePartial, true);
    assert.equal(report.completed, false);
    assert.equal(report.outputChars, anthropicChars);
  });

  it('records an error event', () => {
    const call = recognised(anthropicAdapter, request('/v1/messages', { model: 'claude-sonnet-4-5', stream: true }));
    const full = anthropicStream([]);
    const body = Buffer.from(
      full.slice(0, full.indexOf('event: message_stop')) +
        sse([{ event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }]),
    );
    const report = feed(call, 200, SSE, body).report;
    assert.equal(report.error, 'Overloaded');
    assert.equal(report.completed, false);
    assert.equal(report.usagePartial, true);
  });

  it('reads a non-stream message, and treats absent cache fields as zero', () => {
    const call = recognised(anthropicAdapter, request('/v1/messages', { model: 'claude-haiku-4-5' }));
    const body = Buffer.from(
      JSON.stringify({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5-20251001',
        content: [
          { type: 'text', text: 'Hi!' },
          { type: 'tool_use', id: 't', name: 'f', input: { a: 1 } },
        ],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 6, service_tier: 'priority' },
      }),
    );
    assert.deepEqual(feedEverySplit(call, 200, JSON_TYPE, body), {
      model: 'claude-haiku-4-5-20251001',
      usage: usage({ inputTokens: 12, outputTokens: 6 }),
      serviceTier: 'priority',
      outputChars: 'Hi!'.length + '{"a":1}'.length,
      completed: true,
    });
  });

  it('reads the 5m/1h split when only cache_creation is given', () => {
    const call = recognised(anthropicAdapter, request('/v1/messages', { model: 'claude-opus-4-1' }));
    const body = Buffer.from(
      JSON.stringify({
        model: 'claude-opus-4-1',
        content: [],
        stop_reason: 'end_turn',
        usage: { input_tokens: 3, cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 50 }, output_tokens: 1 },
      }),
    );
    assert.deepEqual(
      feed(call, 200, JSON_TYPE, body).report.usage,
      usage({ inputTokens: 153, cacheWriteTokens: 150, cacheWrite1hTokens: 50, outputTokens: 1 }),
    );
  });

  it('reports no usage for count_tokens and reads error bodies', () => {
    const count = recognised(anthropicAdapter, request('/v1/messages/count_tokens', { model: 'claude-sonnet-4-5' }));
    const counted = feed(count, 200, JSON_TYPE, Buffer.from('{"input_tokens":2095}')).report;
    assert.equal(counted.usage, undefined);
    assert.equal(counted.completed, true);
    const call = recognised(anthropicAdapter, request('/v1/messages', { model: 'claude-sonnet-4-5', stream: true }));
    const body = Buffer.from('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}');
    const report = feedEverySplit(call, 529, JSON_TYPE, body);
    assert.equal(report.error, 'Overloaded');
    assert.equal(report.completed, false);
  });
});

// ---------------------------------------------------------------------------------------------
// Gemini
// ---------------------------------------------------------------------------------------------

const geminiChunks = [
  {
    candidates: [{ content: { parts: [{ text: 'Thinking about it', thought: true }], role: 'model' }, index: 0 }],
    usageMetadata: {
      promptTokenCount: 1200,
      totalTokenCount: 1400,
      cachedContentTokenCount: 1024,
      thoughtsTokenCount: 200,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 1200 }],
    },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'r1',
  },
  {
    candidates: [{ content: { parts: [{ text: 'The quick "brown" fox' }], role: 'model' }, index: 0 }],
    usageMetadata: { promptTokenCount: 1200, candidatesTokenCount: 10, totalTokenCount: 1510, cachedContentTokenCount: 1024, thoughtsTokenCount: 300 },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'r1',
  },
  {
    candidates: [{ content: { parts: [{ text: ' jumps 😀.' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 1200, candidatesTokenCount: 40, totalTokenCount: 1540, cachedContentTokenCount: 1024, thoughtsTokenCount: 300 },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'r1',
  },
];
const geminiReport: UsageReport = {
  model: 'gemini-2.5-flash',
  usage: usage({ inputTokens: 1200, cacheReadTokens: 1024, outputTokens: 340, reasoningTokens: 300 }),
  outputChars: 'Thinking about it'.length + 'The quick "brown" fox'.length + ' jumps 😀.'.length,
  completed: true,
};

describe('Gemini adapter', () => {
  it('recognises methods and reads the model from the path', () => {
    const cases: Array<[string, string, string, boolean, boolean]> = [
      ['/v1beta/models/gemini-2.5-flash:generateContent', 'generateContent', 'gemini-2.5-flash', false, false],
      ['/v1beta/models/gemini-2.5-pro:streamGenerateContent', 'streamGenerateContent', 'gemini-2.5-pro', true, false],
      ['/v1beta/models/gemini-2.5-flash:countTokens', 'countTokens', 'gemini-2.5-flash', false, true],
      ['/v1beta/models/gemini-embedding-001:embedContent', 'embedContent', 'gemini-embedding-001', false, false],
      ['/v1beta/models/text-embedding-004:batchEmbedContents', 'embedContent', 'text-embedding-004', false, false],
      ['/v1beta/tunedModels/my-model-abc:generateContent', 'generateContent', 'my-model-abc', false, false],
      ['/v1/models/gemini%2D2.0-flash:generateContent', 'generateContent', 'gemini-2.0-flash', false, false],
    ];
    for (const [path, endpoint, model, stream, free] of cases) {
      const call = recognised(geminiAdapter, request(path, { contents: [] }));
      assert.deepEqual([call.endpoint, call.requestModel, call.stream, call.free], [endpoint, model, stream, free], path);
    }
    assert.equal(geminiAdapter.recognise(request('/v1beta/models/gemini-2.5-flash:predict', {})), undefined);
    assert.equal(geminiAdapter.recognise(request('/v1beta/models/gemini-2.5-flash', undefined, { method: 'GET' })), undefined);
    assert.equal(geminiAdapter.recognise(request('/v1beta/models', undefined, { method: 'GET' })), undefined);
    assert.equal(geminiAdapter.recognise(request('/v1beta/models/x:toString', {})), undefined);
  });

  it('reads an alt=sse stream: cumulative usage, last wins, thoughts beside candidates (every split, CRLF/LF/CR)', () => {
    const call = recognised(geminiAdapter, request('/v1beta/models/gemini-2.5-flash:streamGenerateContent', { contents: [] }, { query: 'alt=sse' }));
    for (const eol of EOLS) {
      const body = withEol(sse(geminiChunks.map((data) => ({ data }))), eol);
      assert.deepEqual(feedEverySplit(call, 200, SSE, body), geminiReport);
    }
  });

  it('reads the JSON-array stream (no alt=sse) the same way (every split)', () => {
    const call = recognised(geminiAdapter, request('/v1beta/models/gemini-2.5-flash:streamGenerateContent', { contents: [] }));
    const body = Buffer.from(`[${geminiChunks.map((c) => JSON.stringify(c, null, 2).replace(/\n/g, '\r\n')).join('\r\n,\r\n')}\r\n]`);
    assert.deepEqual(feedEverySplit(call, 200, JSON_TYPE, body), geminiReport);
  });

  it('a cut stream keeps the last usage seen but is not completed', () => {
    const call = recognised(geminiAdapter, request('/v1beta/models/gemini-2.5-flash:streamGenerateContent', { contents: [] }));
    const body = Buffer.from(
      `[${geminiChunks
        .slice(0, 2)
        .map((c) => JSON.stringify(c))
        .join(',\r\n')},\r\n{"candidates": [{"content": {"parts": [{"text": " jum`,
    );
    const report = feed(call, 200, JSON_TYPE, body, [7, 500]).report;
    assert.deepEqual(report.usage, usage({ inputTokens: 1200, cacheReadTokens: 1024, outputTokens: 310, reasoningTokens: 300 }));
    assert.equal(report.completed, false);
    assert.equal(report.outputChars, 'Thinking about it'.length + 'The quick "brown" fox'.length);
  });

  it('reads a non-stream answer with tool-use prompt tokens', () => {
    const call = recognised(geminiAdapter, request('/v1beta/models/gemini-2.5-flash:generateContent', { contents: [] }));
    const body = Buffer.from(
      JSON.stringify({
        candidates: [{ content: { parts: [{ text: 'Done.' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 5, toolUsePromptTokenCount: 50, totalTokenCount: 155 },
        modelVersion: 'gemini-2.5-flash-001',
      }),
    );
    assert.deepEqual(feedEverySplit(call, 200, JSON_TYPE, body), {
      model: 'gemini-2.5-flash-001',
      usage: usage({ inputTokens: 150, outputTokens: 5 }),
      outputChars: 5,
      completed: true,
    });
  });

  it('reads error bodies, including the array form a stream request gets', () => {
    const message = 'API key not valid. Please pass a valid API key.';
    const error = { error: { code: 400, message, status: 'INVALID_ARGUMENT' } };
    const plain = recognised(geminiAdapter, request('/v1beta/models/gemini-2.5-flash:generateContent', {}));
    assert.equal(feedEverySplit(plain, 400, JSON_TYPE, Buffer.from(JSON.stringify(error, null, 2))).error, message);
    const stream = recognised(geminiAdapter, request('/v1beta/models/gemini-2.5-flash:streamGenerateContent', {}));
    assert.equal(feed(stream, 400, JSON_TYPE, Buffer.from(JSON.stringify([error]))).report.error, message);
    const midStream = Buffer.from(
      `[${JSON.stringify(geminiChunks[0])},\r\n${JSON.stringify({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } })}]`,
    );
    assert.equal(feed(stream, 200, JSON_TYPE, midStream).report.error, 'The model is overloaded.');
  });

  it('countTokens is free and reports no usage', () => {
    const call = recognised(geminiAdapter, request('/v1beta/models/gemini-2.5-flash:countTokens', { contents: [] }));
    const report = feed(call, 200, JSON_TYPE, Buffer.from('{"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT","tokenCount": 31}]}')).report;
    assert.equal(report.usage, undefined);
    assert.equal(report.completed, true);
  });
});

// ---------------------------------------------------------------------------------------------
// Ollama
// ---------------------------------------------------------------------------------------------

const ollamaChatLines = [
  { model: 'llama3.2', created_at: '2023-08-04T08:52:19.385406455-07:00', message: { role: 'assistant', content: 'The' }, done: false },
  { model: 'llama3.2', created_at: '2023-08-04T08:52:19.485406455-07:00', message: { role: 'assistant', content: ' sky is blué 😀' }, done: false },
  {
    model: 'llama3.2',
    created_at: '2023-08-04T19:22:45.499127Z',
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    total_duration: 4883583458,
    load_duration: 1334875,
    prompt_eval_count: 26,
    prompt_eval_duration: 342546000,
    eval_count: 282,
    eval_duration: 4535599000,
  },
];

describe('Ollama adapter', () => {
  it('recognises native endpoints; streams unless stream is false', () => {
    const chat = recognised(ollamaAdapter, request('/api/chat', { model: 'llama3.2', messages: [] }));
    assert.deepEqual([chat.endpoint, chat.requestModel, chat.stream, chat.free], ['ollama.chat', 'llama3.2', true, false]);
    assert.equal(recognised(ollamaAdapter, request('/api/chat', { model: 'llama3.2', stream: false })).stream, false);
    assert.equal(recognised(ollamaAdapter, request('/api/generate', { model: 'llama3.2', prompt: 'hi' })).endpoint, 'ollama.generate');
    const embed = recognised(ollamaAdapter, request('/api/embed', { model: 'all-minilm', input: 'hi' }));
    assert.deepEqual([embed.endpoint, embed.stream], ['ollama.embed', false]);
    assert.equal(ollamaAdapter.recognise(request('/api/tags', undefined, { method: 'GET' })), undefined);
    assert.equal(ollamaAdapter.recognise(request('/api/pull', { model: 'llama3.2' })), undefined);
  });

  it('reads the NDJSON chat stream (every split, LF and CRLF)', () => {
    const call = recognised(ollamaAdapter, request('/api/chat', { model: 'llama3.2', messages: [] }));
    for (const eol of ['\n', '\r\n']) {
      const body = Buffer.from(ollamaChatLines.map((l) => JSON.stringify(l) + eol).join(''));
      assert.deepEqual(feedEverySplit(call, 200, 'application/x-ndjson', body), {
        model: 'llama3.2',
        usage: usage({ inputTokens: 26, outputTokens: 282 }),
        outputChars: 'The'.length + ' sky is blué 😀'.length,
        completed: true,
      });
    }
  });

  it('reads a generate stream, and a cut one', () => {
    const call = recognised(ollamaAdapter, request('/api/generate', { model: 'qwen3', prompt: 'hi' }));
    const lines = [
      { model: 'qwen3', response: '', thinking: 'Hmm', done: false },
      { model: 'qwen3', response: 'Hello', done: false },
      { model: 'qwen3', response: '', done: true, done_reason: 'stop', context: [1, 2, 3], prompt_eval_count: 9, eval_count: 12 },
    ];
    const body = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n'));
    const report = feedEverySplit(call, 200, 'application/x-ndjson', body);
    assert.deepEqual(report.usage, usage({ inputTokens: 9, outputTokens: 12 }));
    assert.equal(report.outputChars, 'Hmm'.length + 'Hello'.length);
    assert.equal(report.completed, true);
    const cut = feed(
      call,
      200,
      'application/x-ndjson',
      Buffer.from(
        lines
          .slice(0, 2)
          .map((l) => JSON.stringify(l))
          .join('\n'),
      ),
    ).report;
    assert.equal(cut.usage, undefined);
    assert.equal(cut.completed, false);
    assert.equal(cut.outputChars, 8);
  });

  it('reads non-stream and embed bodies, and errors', () => {
    const chat = recognised(ollamaAdapter, request('/api/chat', { model: 'llama3.2', stream: false }));
    const single = Buffer.from(JSON.stringify({ ...ollamaChatLines[2], message: { role: 'assistant', content: 'Blue.' } }));
    const report = feed(chat, 200, 'application/json; charset=utf-8', single).report;
    assert.deepEqual(report.usage, usage({ inputTokens: 26, outputTokens: 282 }));
    assert.equal(report.outputChars, 5);
    assert.equal(report.completed, true);

    const embed = recognised(ollamaAdapter, request('/api/embed', { model: 'all-minilm', input: ['a', 'b'] }));
    const embedded = feed(
      embed,
      200,
      JSON_TYPE,
      Buffer.from('{"model":"all-minilm","embeddings":[[0.01,-0.02]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}'),
    ).report;
    assert.deepEqual(embedded.usage, usage({ inputTokens: 8 }));
    assert.equal(embedded.completed, true);

    const missing = feed(chat, 404, JSON_TYPE, Buffer.from('{"error":"model \\"llama9\\" not found, try pulling it first"}')).report;
    assert.equal(missing.error, 'model "llama9" not found, try pulling it first');
    const streamed = recognised(ollamaAdapter, request('/api/chat', { model: 'llama3.2' }));
    const midStream = feed(
      streamed,
      200,
      'application/x-ndjson',
      Buffer.from(`${JSON.stringify(ollamaChatLines[0])}\n{"error":"an error was encountered while running the model"}\n`),
    ).report;
    assert.equal(midStream.error, 'an error was encountered while running the model');
    assert.equal(midStream.completed, false);
  });

  it('hands /v1 requests to the OpenAI logic, usage injection included', () => {
    const call = recognised(ollamaAdapter, request('/v1/chat/completions', { model: 'llama3.2', messages: [], stream: true }));
    assert.equal(call.endpoint, 'chat.completions');
    assert.ok(call.upstreamBody);
    const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'llama3.2', system_fingerprint: 'fp_ollama' };
    const upstream = sse([
      { data: { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }], usage: null } },
      { data: { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'stop' }], usage: null } },
      { data: { ...head, choices: [], usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 } } },
      { data: '[DONE]' },
    ]);
    const expected = sse([
      { data: { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] } },
      { data: { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'stop' }] } },
      { data: '[DONE]' },
    ]);
    const report = feedEverySplit(call, 200, SSE, Buffer.from(upstream), Buffer.from(expected));
    assert.deepEqual(report.usage, usage({ inputTokens: 11, outputTokens: 2 }));
    assert.equal(recognised(ollamaAdapter, request('/v1/embeddings', { model: 'all-minilm', input: 'x' })).endpoint, 'embeddings');
  });

  it('NdjsonSplitter skips lines over its cap', () => {
    const splitter = new NdjsonSplitter(100);
    const out = [
      ...splitter.push(Buffer.from('{"a":1}\n{"big":"')),
      ...splitter.push(Buffer.alloc(1000, 0x78)),
      ...splitter.push(Buffer.from('"}\n{"b":2}')),
      ...splitter.end(),
    ];
    assert.deepEqual(out, ['{"a":1}', '{"b":2}']);
    assert.equal(splitter.oversizedLines, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Registry and scanners
// ---------------------------------------------------------------------------------------------

describe('adapter registry', () => {
  it('maps every protocol of the route table to its adapter', () => {
    for (const protocol of ['openai', 'anthropic', 'gemini', 'ollama']) {
      assert.equal(adapterFor(protocol)?.protocol, protocol);
      assert.equal(protocolAdapters[protocol], adapterFor(protocol));
    }
    assert.equal(adapterFor('nope'), undefined);
    assert.equal(adapterFor('constructor'), undefined);
    assert.equal(adapterFor('anthropic', { injectStreamUsage: false }), protocolAdapters.anthropic);
  });
});

describe('JSON text scanners', () => {
  it('count decoded string lengths of the named members only', () => {
    const text = '{"content":"a\\"b\\u00e9\\n😀","reasoning_content":"xy","x":{"content":null},"content_type":"zz","t":"\\"content\\":\\"no\\""}';
    assert.equal(countStringChars(text, ['content']), 'a"bé\n😀'.length);
    assert.equal(countStringChars(text, ['content', 'reasoning_content']), 'a"bé\n😀'.length + 2);
    assert.equal(countStringChars('{"content": "cut off', ['content']), 'cut off'.length);
  });
  it('read string members and detect object members', () => {
    assert.equal(readStringMember('{"type":"model","model":"gpt-4o\\u00e9"}', 'model'), 'gpt-4oé');
    assert.equal(readStringMember('{"model":null}', 'model'), undefined);
    assert.equal(hasObjectMember('{"usage":null}', 'usage'), false);
    assert.equal(hasObjectMember('{"x":"usage","usage" : {"a":1}}', 'usage'), true);
  });
});
