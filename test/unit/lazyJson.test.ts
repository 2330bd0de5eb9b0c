import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJsonLazily } from '../../src/engine/proxy';

/** A seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Bodies this big are read lazily (smaller ones are parsed whole); the padding key makes every test body one. */
const PAD = { padding: 'p'.repeat(17 * 1024) };

const TRICKY_STRINGS = [
  '',
  'plain',
  'quote " inside',
  'backslash \\',
  'ends with backslash \\\\',
  '\\"',
  'braces { [ ] }',
  'comma, colon:',
  'unicode é ✓ 😀',
  '\n\t\r',
  '\u0000\u001f',
  '"}',
  'a'.repeat(600),
];

function randomValue(r: () => number, depth: number): unknown {
  const kind = Math.floor(r() * (depth > 3 ? 5 : 7));
  switch (kind) {
    case 0:
      return TRICKY_STRINGS[Math.floor(r() * TRICKY_STRINGS.length)];
    case 1:
      return Math.round((r() - 0.5) * 1e6) / (r() < 0.5 ? 1 : 1000);
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return r() < 0.5 ? 1e21 : -0.000123;
    case 5:
      return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 5); i > 0; i--) o[TRICKY_STRINGS[Math.floor(r() * TRICKY_STRINGS.length)] + i] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** JSON text of `value` with random whitespace between tokens (JSON.stringify's indent does the structure). */
function serialise(value: unknown, r: () => number): string {
  const indent = [undefined, 0, 1, '\t', '  \r'][Math.floor(r() * 5)] as string | number | undefined;
  const text = JSON.stringify(value, null, indent as never);
  return (r() < 0.3 ? ' \n' : '') + text + (r() < 0.3 ? '\r\n ' : '');
}

test('reads every JSON object exactly as JSON.parse does: keys, order, values, and what spreading and JSON.stringify see', () => {
  const r = rng(7);
  for (let n = 0; n < 3_000; n++) {
    const top: Record<string, unknown> = r() < 0.5 ? { ...PAD } : {};
    for (let i = Math.floor(r() * 8); i > 0; i--)
      top[['model', 'stream', 'messages', 'max_tokens', '__proto__', 'a"b', 'x\\'][Math.floor(r() * 7)] + (r() < 0.5 ? '' : i)] = randomValue(r, 0);
    let text = serialise(top, r);
    if (!('padding' in top)) text = text.replace(/\s*$/, ' '.repeat(17 * 1024));
    const lazy = parseJsonLazily(Buffer.from(text));
    const eager = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(lazy as object), Object.keys(eager), text);
    for (const key of Object.keys(eager)) assert.deepEqual((lazy as Record<string, unknown>)[key], eager[key], `${key} in ${text}`);
    assert.equal(JSON.stringify(lazy), JSON.stringify(eager));
    assert.deepEqual({ ...(lazy as object) }, eager);
  }
});

test('a repeated key keeps its last value in its first position, as with JSON.parse', () => {
  const text = '{"model":"a","messages":[' + '"x",'.repeat(6_000) + '"y"],"model":"b"}';
  const lazy = parseJsonLazily(Buffer.from(text)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(lazy), ['model', 'messages']);
  assert.equal(lazy.model, 'b');
  assert.equal(JSON.stringify(lazy), JSON.stringify(JSON.parse(text)));
});

test('anything but an object is parsed whole; what is not JSON gives undefined', () => {
  const padded = (text: string) => text + ' '.repeat(17 * 1024);
  for (const text of ['[1,2]', '"s"', '42', 'null', ' true '].map(padded)) assert.deepEqual(parseJsonLazily(Buffer.from(text)), JSON.parse(text));
  for (const small of [
    '',
    '{',
    '}',
    '{"a":1',
    '{"a":1,}',
    '{"a" 1}',
    '{a:1}',
    '{"a":1}x',
    '{"a":1}}',
    '{"a":tru}',
    '{"a":"unterminated}',
    '\ufeff{"a":1}',
    '{"a":01}',
    'x{"a":1}',
    '{"a":[1,2}',
  ]) {
    const text = small.startsWith('{"a":') ? small.replace('{"a":', `{"pad":"${'p'.repeat(17 * 1024)}","a":`) : padded(small);
    assert.throws(() => JSON.parse(text), SyntaxError, text);
    const lazy = parseJsonLazily(Buffer.from(text));
    if (lazy === undefined) continue;
    // Malformed deep inside a value read lazily: the value's read fails, as its parse would.
    assert.throws(() => JSON.stringify(lazy), SyntaxError, text);
  }
});

test('the large values of a request are parsed only when read, and then once', () => {
  const messages = Array.from({ length: 200 }, (_, i) => ({ role: 'user', content: `message ${i} `.repeat(20) }));
  const lazy = parseJsonLazily(Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages, max_tokens: 512 }))) as Record<string, unknown>;
  const descriptor = Object.getOwnPropertyDescriptor(lazy, 'messages')!;
  assert.equal(typeof descriptor.get, 'function', 'messages is read on demand');
  assert.equal(Object.getOwnPropertyDescriptor(lazy, 'model')!.value, 'gpt-4o-mini');
  assert.equal(lazy.messages, lazy.messages, 'parsed once: the same array both times');
  assert.deepEqual(lazy.messages, messages);
  lazy.messages = [];
  assert.deepEqual(lazy.messages, []);
});
