import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { JsonArrayStream, JsonArrayStreamOptions } from '../../src/engine/streams';

function split(input: Buffer, cuts: number[], options?: JsonArrayStreamOptions): { elements: string[]; stream: JsonArrayStream } {
  const stream = new JsonArrayStream(options);
  const elements: string[] = [];
  let from = 0;
  const points = [...new Set(cuts.filter((c) => c > 0 && c < input.length))].sort((a, b) => a - b);
  for (const point of [...points, input.length]) {
    elements.push(...stream.push(input.subarray(from, point)));
    from = point;
  }
  elements.push(...stream.end());
  return { elements, stream };
}

function oneByteCuts(input: Buffer): number[] {
  return Array.from({ length: input.length }, (_, i) => i);
}

/** A Gemini streamGenerateContent body without alt=sse: pretty-printed elements, `\r\n,\r\n` between them. */
const geminiChunks = [
  {
    candidates: [{ content: { parts: [{ text: 'The {quick} [brown] "fox" \\ jumps é😀' }], role: 'model' }, index: 0 }],
    usageMetadata: { promptTokenCount: 1200, candidatesTokenCount: 12, totalTokenCount: 1212, cachedContentTokenCount: 1024 },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'abc',
  },
  {
    candidates: [{ content: { parts: [{ text: ' over the lazy dog.' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: {
      promptTokenCount: 1200,
      candidatesTokenCount: 40,
      totalTokenCount: 1540,
      cachedContentTokenCount: 1024,
      thoughtsTokenCount: 300,
    },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'abc',
  },
];
const geminiBody = Buffer.from(`[${geminiChunks.map((c) => JSON.stringify(c, null, 2).replace(/\n/g, '\r\n')).join('\r\n,\r\n')}\r\n]`);

describe('JsonArrayStream', () => {
  it('yields each element of a Gemini stream body, in every 2-way split and in 1-byte chunks', () => {
    const expected = geminiChunks;
    const check = (cuts: number[]): void => {
      const { elements, stream } = split(geminiBody, cuts);
      assert.deepEqual(
        elements.map((e) => JSON.parse(e) as unknown),
        expected,
      );
      assert.equal(stream.done, true);
    };
    check([]);
    check(oneByteCuts(geminiBody));
    for (let cut = 1; cut < geminiBody.length; cut++) check([cut]);
  });

  it('returns each element as soon as it is complete', () => {
    const stream = new JsonArrayStream();
    assert.deepEqual(stream.push(Buffer.from('[{"a":1}')), ['{"a":1}']);
    assert.deepEqual(stream.push(Buffer.from(',{"b":"}')), []);
    assert.deepEqual(stream.push(Buffer.from('"}')), ['{"b":"}"}']);
    assert.equal(stream.done, false);
    assert.deepEqual(stream.push(Buffer.from(']')), []);
    assert.equal(stream.done, true);
  });

  it('handles scalars, strings, nested arrays, escapes, BOM and trailing bytes', () => {
    const input = Buffer.from('\uFEFF [1, -2.5e3 ,"a\\"]\\\\", [[]], {"x":[{"y":"]"}]}, true,null] \r\n');
    const { elements, stream } = split(input, oneByteCuts(input));
    assert.deepEqual(elements, ['1', '-2.5e3', '"a\\"]\\\\"', '[[]]', '{"x":[{"y":"]"}]}', 'true', 'null']);
    assert.equal(stream.done, true);
  });

  it('returns a bare object body (an error answer) as one element', () => {
    const input = Buffer.from('{"error":{"code":400,"message":"API key not valid."}}\n');
    for (const cuts of [[], oneByteCuts(input)]) {
      const { elements, stream } = split(input, cuts);
      assert.deepEqual(elements, ['{"error":{"code":400,"message":"API key not valid."}}']);
      assert.equal(stream.done, true);
    }
  });

  it('drops the unfinished element of a cut stream', () => {
    const cut = geminiBody.subarray(0, geminiBody.length - 40);
    const { elements, stream } = split(cut, [100]);
    assert.equal(elements.length, 1);
    assert.equal(stream.done, false);
  });

  it('skips an element over the cap without holding it, and keeps the others', () => {
    const big = JSON.stringify({ text: 'x'.repeat(10_000) });
    const input = Buffer.from(`[{"a":1},${big},{"b":2}]`);
    for (const cuts of [[], [50, 5000], oneByteCuts(input)]) {
      const { elements, stream } = split(input, cuts, { maxElementBytes: 1000 });
      assert.deepEqual(elements, ['{"a":1}', '{"b":2}']);
      assert.equal(stream.oversizedElements, 1);
      assert.equal(stream.done, true);
    }
  });

  it('does not grow with a huge element', () => {
    const stream = new JsonArrayStream({ maxElementBytes: 1024 * 1024 });
    stream.push(Buffer.from('[{"text":"'));
    const piece = Buffer.alloc(64 * 1024, 0x78);
    for (let i = 0; i < 1600; i++) assert.deepEqual(stream.push(piece), []);
    assert.deepEqual(stream.push(Buffer.from('"},{"ok":true}]')), ['{"ok":true}']);
    assert.equal(stream.oversizedElements, 1);
    assert.equal(stream.done, true);
  });

  describe('properties', () => {
    // JSON-safe values: what survives a stringify/parse round trip (no -0).
    const element = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    const whitespace = fc.constantFrom('', ' ', '\n', '\r\n', '\r', '\t', ' \r\n ');
    const cuts = fc.array(fc.nat({ max: 3000 }), { maxLength: 15 });

    it('any split, any whitespace between and inside elements, with or without BOM: the elements written', () => {
      fc.assert(
        fc.property(
          fc.array(element, { maxLength: 8 }),
          fc.array(whitespace, { minLength: 1, maxLength: 10 }),
          fc.boolean(),
          fc.boolean(),
          cuts,
          (values, spaces, pretty, bom, points) => {
            let w = 0;
            const ws = (): string => spaces[w++ % spaces.length];
            const texts = values.map((v) => (pretty ? JSON.stringify(v, null, 2).replace(/\n/g, ws() || '\n') : JSON.stringify(v)));
            const body = `${bom ? '\uFEFF' : ''}${ws()}[${ws()}${texts.map((t) => t + ws()).join(`,${ws()}`)}]${ws()}`;
            const input = Buffer.from(body);
            const whole = split(input, []);
            const pieces = split(input, points);
            assert.deepEqual(pieces.elements, whole.elements);
            assert.deepEqual(
              pieces.elements.map((e) => JSON.parse(e) as unknown),
              values,
            );
            assert.equal(pieces.stream.done, true);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('elements over the cap are skipped whatever the split', () => {
      fc.assert(
        fc.property(fc.array(element, { maxLength: 8 }), cuts, (values, points) => {
          const cap = 40;
          const texts = values.map((v) => JSON.stringify(v));
          const input = Buffer.from(`[${texts.join(',')}]`);
          const { elements, stream } = split(input, points, { maxElementBytes: cap });
          const kept = texts.filter((t) => Buffer.byteLength(t) <= cap);
          assert.deepEqual(elements, kept);
          assert.equal(stream.oversizedElements, texts.length - kept.length);
        }),
        { numRuns: 500 },
      );
    });
  });
});
