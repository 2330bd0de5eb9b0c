/**
 * The usage readers fuzzed the way streams arrive off the network: any split, LF/CR/CRLF mixed line
 * by line, a BOM, comments, pings and keep-alives between events, and long lines. Whatever the
 * shape, the usage read is the same and the client gets every byte untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { anthropicAdapter, geminiAdapter, openaiAdapter, type EndpointCall, type UsageReport } from '../../src/engine/providers';

function call(adapter: typeof openaiAdapter, path: string, body: unknown, query = ''): EndpointCall {
  const c = adapter.recognise({ method: 'POST', path, query: new URLSearchParams(query), body, bodyBytes: JSON.stringify(body).length });
  assert.ok(c);
  return c;
}

function feed(c: EndpointCall, contentType: string, body: Buffer, cuts: number[]): { report: UsageReport; output: Buffer } {
  const parser = c.createResponseParser(200, contentType);
  const out: Buffer[] = [];
  let from = 0;
  for (const point of [...new Set(cuts.filter((p) => p > 0 && p < body.length))].sort((a, b) => a - b).concat(body.length)) {
    out.push(parser.write(body.subarray(from, point)));
    from = point;
  }
  const { report, tail } = parser.end();
  return { report, output: Buffer.concat([...out, tail]) };
}

const anthropicEvents = [
  [
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-sonnet-4-5-20250929',
        stop_reason: null,
        usage: { input_tokens: 1200, cache_creation_input_tokens: 300, cache_read_input_tokens: 500, output_tokens: 1 },
      },
    },
  ],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Héllo, wörld 😀' } }],
  ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' and "more"\\n' } }],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 42 } }],
  ['message_stop', { type: 'message_stop' }],
] as const;

const openaiChunks = [
  {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
  },
  {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta: { content: 'Hé 😀 "x"' }, finish_reason: null }],
  },
  { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
  {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [],
    usage: {
      prompt_tokens: 900,
      completion_tokens: 77,
      total_tokens: 977,
      prompt_tokens_details: { cached_tokens: 128 },
      completion_tokens_details: { reasoning_tokens: 10 },
    },
  },
];

/** What may come between events: nothing, a comment, a ping, a keep-alive, or a long comment line. */
const filler = fc.oneof(
  fc.constant(''),
  fc.constant(': keep-alive'),
  fc.constant(': OPENROUTER PROCESSING'),
  fc.nat({ max: 200_000 }).map((n) => `: ${'z'.repeat(n)}`),
);
const eol = fc.constantFrom('\n', '\r', '\r\n');
const cuts = fc.array(fc.nat({ max: 4_000 }), { maxLength: 25 });

/** Writes SSE blocks (each a list of lines) with a line ending drawn per line; fillers become blocks of their own. */
function sse(blocks: string[][], fillers: string[], endings: string[], bom: boolean): Buffer {
  let i = 0;
  let previous = '';
  const next = () => {
    // A CR followed by an LF ending would read as one CRLF: that stream has a line fewer, not the same one.
    let e = endings[i++ % endings.length];
    if (previous === '\r' && e === '\n') e = '\r';
    return (previous = e);
  };
  let text = bom ? '\uFEFF' : '';
  blocks.forEach((lines, k) => {
    const f = fillers[k % Math.max(1, fillers.length)];
    if (f) text += f + next() + next();
    for (const line of lines) text += line + next();
    text += next();
  });
  return Buffer.from(text);
}

describe('stream usage readers under fuzzing', () => {
  it('Anthropic messages: any split, mixed line endings, BOM, fillers and long lines give the same usage, bytes untouched', () => {
    const c = call(anthropicAdapter, '/v1/messages', { model: 'claude-sonnet-4-5', stream: true, max_tokens: 100, messages: [] });
    const blocks = anthropicEvents.map(([name, data]) => [`event: ${name}`, `data: ${JSON.stringify(data)}`]);
    const reference = feed(c, 'text/event-stream', sse(blocks, [], ['\n'], false), []).report;
    assert.deepEqual([reference.usage?.inputTokens, reference.usage?.outputTokens, reference.completed], [2000, 42, true]);
    fc.assert(
      fc.property(fc.array(filler, { maxLength: 8 }), fc.array(eol, { minLength: 1, maxLength: 30 }), fc.boolean(), cuts, (fillers, endings, bom, points) => {
        const body = sse(blocks, fillers, endings, bom);
        const run = feed(c, 'text/event-stream', body, points);
        assert.deepEqual(run.report, reference);
        assert.ok(run.output.equals(body));
      }),
      { numRuns: 150 },
    );
  });

  it('OpenAI chat stream with injected usage: the client gets the stream without it, whatever the shape', () => {
    const c = call(openaiAdapter, '/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [] });
    const withUsage = [...openaiChunks.map((ch) => [`data: ${JSON.stringify(ch)}`]), ['data: [DONE]']];
    const reference = feed(c, 'text/event-stream', sse(withUsage, [], ['\n'], false), []).report;
    assert.deepEqual(
      [reference.usage?.inputTokens, reference.usage?.cacheReadTokens, reference.usage?.outputTokens, reference.usage?.reasoningTokens],
      [900, 128, 77, 10],
    );
    fc.assert(
      fc.property(fc.array(filler, { maxLength: 6 }), fc.array(eol, { minLength: 1, maxLength: 30 }), fc.boolean(), cuts, (fillers, endings, bom, points) => {
        const run = feed(c, 'text/event-stream', sse(withUsage, fillers, endings, bom), points);
        assert.deepEqual(run.report, reference);
        assert.ok(!run.output.includes('"usage"'), 'the injected usage chunk is hidden');
        assert.ok(run.output.includes('Hé 😀'), 'the content is kept');
      }),
      { numRuns: 150 },
    );
  });

  it('Gemini JSON-array stream: any split, whitespace and BOM give the same usage, bytes untouched', () => {
    const c = call(geminiAdapter, '/v1beta/models/gemini-2.5-flash:streamGenerateContent', { contents: [] });
    const element = (text: string, usage?: object) =>
      JSON.stringify({
        candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }],
        ...(usage ? { usageMetadata: usage } : {}),
        modelVersion: 'gemini-2.5-flash',
      });
    const elements = [
      element('Hé'),
      element(' 😀 [ ] { } "x"'),
      element('', { promptTokenCount: 700, candidatesTokenCount: 30, thoughtsTokenCount: 12, cachedContentTokenCount: 64, totalTokenCount: 742 }),
    ];
    const reference = feed(c, 'application/json', Buffer.from(`[${elements.join(',')}]`), []).report;
    assert.deepEqual([reference.usage?.inputTokens, reference.usage?.outputTokens, reference.usage?.reasoningTokens], [700, 42, 12]);
    const space = fc.array(fc.constantFrom(' ', '\n', '\r\n', '\t'), { maxLength: 4 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.array(space, { minLength: 8, maxLength: 8 }), fc.boolean(), cuts, (ws, bom, points) => {
        const body = Buffer.from(`${bom ? '\uFEFF' : ''}${ws[0]}[${ws[1]}${elements.map((e, i) => e + ws[2 + i]).join(`,${ws[6]}`)}]${ws[7]}`);
        const run = feed(c, 'application/json', body, points);
        assert.deepEqual(run.report, reference);
        assert.ok(run.output.equals(body));
      }),
      { numRuns: 300 },
    );
  });
});
