import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SseEvent, SseParser, SseParserOptions } from '../../src/engine/streams';

/** Feeds `input` cut at `cuts` (sorted or not, out-of-range ignored); returns every item, end() included. */
function parse(input: Buffer, cuts: number[] = [], options?: SseParserOptions): SseEvent[] {
  const parser = new SseParser(options);
  const points = [...new Set(cuts.filter((c) => c > 0 && c < input.length))].sort((a, b) => a - b);
  const events: SseEvent[] = [];
  let from = 0;
  for (const point of [...points, input.length]) {
    events.push(...parser.push(input.subarray(from, point)));
    from = point;
  }
  events.push(...parser.end());
  return events;
}

function oneByteCuts(input: Buffer): number[] {
  return Array.from({ length: input.length }, (_, i) => i);
}

/** The fields a consumer reads, without the raw bytes (which differ by line ending). */
function fields(events: SseEvent[]): Array<{ event?: string; data: string }> {
  return events.filter((e) => e.hasData).map((e) => (e.event === undefined ? { data: e.data } : { event: e.event, data: e.data }));
}

function rawConcat(events: SseEvent[]): Buffer {
  return Buffer.concat(events.map((e) => e.raw));
}

/**
 * An independent, deliberately naive reading of the spec on the whole input as one string:
 * the oracle the incremental parser is compared with.
 */
function referenceParse(input: Buffer): Array<{ event?: string; data: string }> {
  let text = input.toString('utf8');
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = text.split(/\r\n|\r|\n/);
  // The last piece has no line ending: end() still applies it to the block it belongs to.
  const out: Array<{ event?: string; data: string }> = [];
  let data: string[] = [];
  let event: string | undefined;
  const dispatch = (): void => {
    if (data.length > 0) out.push(event === undefined ? { data: data.join('\n') } : { event, data: data.join('\n') });
    data = [];
    event = undefined;
  };
  lines.forEach((line, index) => {
    const last = index === lines.length - 1;
    if (line === '') {
      if (!last) dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') data.push(value);
    else if (name === 'event') event = value;
  });
  dispatch();
  return out;
}

describe('SseParser', () => {
  it('reads data, event names, ids, comments and multi-line data', () => {
    const input = Buffer.from(
      [
        ': keep-alive comment',
        '',
        'event: message_start',
        'id: 7',
        'data: {"a":1}',
        '',
        'data: first',
        'data:second',
        'data',
        'data:  two spaces',
        'retry: 1000',
        'unknown: field',
        '',
        '',
        'data: [DONE]',
        '',
        '',
      ].join('\n'),
    );
    const events = parse(input);
    assert.deepEqual(fields(events), [{ event: 'message_start', data: '{"a":1}' }, { data: 'first\nsecond\n\n two spaces' }, { data: '[DONE]' }]);
    assert.equal(events.find((e) => e.event === 'message_start')?.id, '7');
    // The comment block and the stray blank line come back too, so that no byte is lost.
    assert.equal(events.filter((e) => !e.hasData).length, 2);
    assert.deepEqual(rawConcat(events), input);
  });

  it('gives every event its exact bytes, terminating blank line included', () => {
    const input = Buffer.from('data: a\r\n\r\n: c\r\n\r\nevent: x\r\ndata: b\r\n\r\n');
    const events = parse(input);
    assert.deepEqual(
      events.map((e) => e.raw.toString()),
      ['data: a\r\n\r\n', ': c\r\n\r\n', 'event: x\r\ndata: b\r\n\r\n'],
    );
  });

  it('parses the same in every 2-way split and in 1-byte chunks, for LF, CR and CRLF', () => {
    const lf = ['\uFEFFevent: delta', 'data: {"text":"héllo 😀 ✓"}', '', ': ping', '', 'data: line one', 'data: line two', '', 'data: [DONE]', '', ''].join(
      '\n',
    );
    const expected = [{ event: 'delta', data: '{"text":"héllo 😀 ✓"}' }, { data: 'line one\nline two' }, { data: '[DONE]' }];
    for (const ending of ['\n', '\r', '\r\n']) {
      const input = Buffer.from(lf.replace(/\n/g, ending));
      assert.deepEqual(fields(parse(input)), expected, `whole, ending ${JSON.stringify(ending)}`);
      const bytewise = parse(input, oneByteCuts(input));
      assert.deepEqual(fields(bytewise), expected);
      assert.deepEqual(rawConcat(bytewise), input);
      for (let cut = 1; cut < input.length; cut++) {
        const events = parse(input, [cut]);
        assert.deepEqual(fields(events), expected, `cut at ${cut}, ending ${JSON.stringify(ending)}`);
        assert.deepEqual(rawConcat(events), input);
      }
    }
  });

  it('keeps raw exact when a CRLF blank line is split between its CR and LF', () => {
    const input = Buffer.from('data: a\r\n\r\ndata: b\r\n\r\n');
    const cut = 'data: a\r\n\r'.length;
    const parser = new SseParser();
    const first = parser.push(input.subarray(0, cut));
    // The block is held back until we know whether an LF follows, so that its raw includes it.
    assert.equal(first.length, 0);
    const second = parser.push(input.subarray(cut));
    assert.deepEqual(
      second.map((e) => e.raw.toString()),
      ['data: a\r\n\r\n', 'data: b\r\n\r\n'],
    );
  });

  it('strips a leading BOM even when it is split across chunks, and only at the start', () => {
    const input = Buffer.from('\uFEFFdata: x\n\n\uFEFFdata: y\n\n');
    for (const cuts of [[1], [2], [1, 2], oneByteCuts(input)]) {
      const events = parse(input, cuts);
      // A BOM later in the stream is part of the field name, so that line is not a data field.
      assert.deepEqual(fields(events), [{ data: 'x' }]);
      assert.deepEqual(rawConcat(events), input);
    }
  });

  it('flushes an unterminated event at end(), so a cut [DONE] is still seen', () => {
    const input = Buffer.from('data: a\n\ndata: [DONE]');
    const events = parse(input);
    assert.deepEqual(fields(events), [{ data: 'a' }, { data: '[DONE]' }]);
    assert.equal(events[1].unterminated, true);
    assert.deepEqual(rawConcat(events), input);

    const crEnded = Buffer.from('data: a\r\r');
    const crEvents = parse(crEnded);
    assert.deepEqual(fields(crEvents), [{ data: 'a' }]);
    assert.equal(crEvents[0].unterminated, undefined);
  });

  it('returns fields without raw bytes when keepRaw is false', () => {
    const input = Buffer.from('event: e\ndata: 1\n\ndata: 2\n\n');
    const events = parse(input, oneByteCuts(input), { keepRaw: false });
    assert.deepEqual(fields(events), [{ event: 'e', data: '1' }, { data: '2' }]);
    for (const e of events) assert.equal(e.raw.length, 0);
  });

  it('drops a block over the cap, passes its bytes through, and parses what follows', () => {
    const big = 'x'.repeat(5000);
    const input = Buffer.from(`data: small\n\ndata: ${big}\ndata: tail\n\ndata: after\n\n`);
    for (const cuts of [[], [100], [2000, 4000], oneByteCuts(input)]) {
      const parser = new SseParser({ maxEventBytes: 1024 });
      const events: SseEvent[] = [];
      let from = 0;
      for (const point of [...cuts.filter((c) => c > 0), input.length]) {
        events.push(...parser.push(input.subarray(from, point)));
        from = point;
      }
      events.push(...parser.end());
      assert.deepEqual(fields(events), [{ data: 'small' }, { data: 'after' }]);
      assert.ok(events.some((e) => e.oversized));
      assert.equal(parser.oversizedBlocks, 1);
      assert.deepEqual(rawConcat(events), input);
    }
  });

  it('does not hold a huge line in memory: its bytes come back as they are pushed', () => {
    const cap = 1024 * 1024;
    const parser = new SseParser({ maxEventBytes: cap });
    const piece = Buffer.alloc(64 * 1024, 0x78);
    let pushed = 0;
    let returned = 0;
    const count = (events: SseEvent[]): void => {
      for (const e of events) returned += e.raw.length;
    };
    count(parser.push(Buffer.from('data: ')));
    pushed += 6;
    for (let i = 0; i < 1600; i++) {
      // 100 MiB of one line, through the same 64 KiB buffer.
      count(parser.push(piece));
      pushed += piece.length;
      assert.ok(pushed - returned <= cap + piece.length, `holding ${pushed - returned} bytes`);
    }
    count(parser.push(Buffer.from('\n\ndata: ok\n\n')));
    const after = parser.end();
    assert.equal(parser.oversizedBlocks, 1);
    // The event after the oversized one came out of the last push.
    assert.equal(after.length, 0);
    assert.equal(returned, pushed + '\n\ndata: ok\n\n'.length);
  });

  describe('properties', () => {
    const fieldText = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !/[\r\n]/.test(s));
    const name = fc.stringMatching(/^[a-z_.]{1,10}$/);
    const block = fc.record({
      event: fc.option(name, { nil: undefined }),
      data: fc.array(fieldText, { maxLength: 3 }),
      comment: fc.option(fieldText, { nil: undefined }),
    });
    type Block = { event?: string; data: string[]; comment?: string };
    const ending = fc.constantFrom('\n', '\r', '\r\n');

    function lines(b: Block): string[] {
      const out: string[] = [];
      if (b.comment !== undefined) out.push(`:${b.comment}`);
      if (b.event !== undefined) out.push(`event: ${b.event}`);
      for (const d of b.data) out.push(`data: ${d}`);
      return out;
    }

    function serialise(blocks: Block[], eol: string, bom: boolean): Buffer {
      const text = blocks.map((b) => [...lines(b), ''].map((l) => l + eol).join('')).join('');
      return Buffer.from((bom ? '\uFEFF' : '') + text);
    }

    function expected(blocks: Block[]): Array<{ event?: string; data: string }> {
      return blocks
        .filter((b) => b.data.length > 0)
        .map((b) => (b.event === undefined ? { data: b.data.join('\n') } : { event: b.event, data: b.data.join('\n') }));
    }

    const cuts = fc.array(fc.nat({ max: 2000 }), { maxLength: 12 });

    it('any split gives the events that were written, and every byte back', () => {
      fc.assert(
        fc.property(fc.array(block, { maxLength: 8 }), ending, fc.boolean(), cuts, (blocks, eol, bom, points) => {
          const input = serialise(blocks, eol, bom);
          const events = parse(input, points);
          assert.deepEqual(fields(events), expected(blocks));
          assert.deepEqual(rawConcat(events), input);
        }),
        { numRuns: 500 },
      );
    });

    it('with line endings mixed line by line, any split equals the unsplit parse and the reference', () => {
      fc.assert(
        fc.property(
          fc.array(block, { maxLength: 6 }),
          fc.array(ending, { minLength: 1, maxLength: 40 }),
          fc.boolean(),
          cuts,
          (blocks, endings, bom, points) => {
            let i = 0;
            const text = blocks.map((b) => [...lines(b), ''].map((l) => l + endings[i++ % endings.length]).join('')).join('');
            const input = Buffer.from((bom ? '\uFEFF' : '') + text);
            const whole = parse(input);
            const split = parse(input, points);
            assert.deepEqual(fields(split), fields(whole));
            assert.deepEqual(fields(whole), referenceParse(input));
            assert.deepEqual(rawConcat(split), input);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('arbitrary bytes: splitting never changes the result and never loses a byte', () => {
      const alphabet = fc.constantFrom(...'data:evnt \r\n\r\n:xé😀'.split(''), '\uFEFF');
      fc.assert(
        fc.property(fc.array(alphabet, { maxLength: 80 }), cuts, (chars, points) => {
          const input = Buffer.from(chars.join(''));
          const whole = parse(input);
          const split = parse(input, points);
          assert.deepEqual(fields(split), fields(whole));
          assert.deepEqual(fields(whole), referenceParse(input));
          assert.deepEqual(rawConcat(split), input);
        }),
        { numRuns: 1000 },
      );
    });

    it('blocks over the cap are dropped whatever the split; the others are parsed', () => {
      const sized = fc.record({
        event: fc.option(name, { nil: undefined }),
        data: fc.array(fc.string({ unit: 'grapheme-ascii', maxLength: 120 }), { minLength: 1, maxLength: 3 }),
      });
      fc.assert(
        fc.property(fc.array(sized, { maxLength: 6 }), ending, fc.boolean(), cuts, (blocks, eol, bom, points) => {
          const cap = 100;
          const input = serialise(blocks, eol, bom);
          const kept = blocks.filter((b, i) => serialise([b], eol, bom && i === 0).length <= cap);
          const parser = new SseParser({ maxEventBytes: cap });
          const events: SseEvent[] = [];
          let from = 0;
          for (const point of [...new Set(points)].filter((p) => p > 0 && p < input.length).sort((a, b) => a - b)) {
            events.push(...parser.push(input.subarray(from, point)));
            from = point;
          }
          events.push(...parser.push(input.subarray(from)), ...parser.end());
          assert.deepEqual(fields(events), expected(kept));
          assert.equal(parser.oversizedBlocks, blocks.length - kept.length);
          assert.deepEqual(rawConcat(events), input);
        }),
        { numRuns: 500 },
      );
    });
  });
});
