/**
 * A request body's JSON object, read only as far as the proxy needs it. The proxy looks at a
 * handful of small top-level fields (model, stream, max_tokens, …) of bodies whose bulk is the
 * conversation; JSON.parse would build that whole tree on every request only to drop it. Here the
 * top level is scanned for where each value lies, small values are parsed at once, and large ones
 * (messages, contents, tools) become getters that parse their bytes the first time anyone reads
 * them. The result reads like JSON.parse's own: same keys in the same order (a repeated key keeps
 * its last value), and spreading or JSON.stringify sees every value.
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../http';

/** Values up to this many bytes are parsed during the scan; longer ones when first read. */
const EAGER_VALUE_BYTES = 256;
/**
 * Smaller bodies are parsed whole: JSON.parse is native and beats the scan below until bodies grow
 * (measured: 1.5 KB, 5 µs whole vs 13 µs scanned; an agent's 150 KB conversation, 1 ms whole vs 0.25 ms scanned).
 */
const WHOLE_PARSE_BYTES = 16 * 1024;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Parses `body` as JSON. A large top-level object is read lazily (see above); anything else is
 * parsed whole. Returns undefined when the body is not JSON, as a failed JSON.parse would. Nested values
 * are only checked when read: a body malformed deep inside a large value yields an object whose
 * getter throws on that value.
 */
export function parseJsonLazily(body: Buffer): unknown {
  if (body.length <= WHOLE_PARSE_BYTES) return parseWhole(body);
  let i = skipSpace(body, 0);
  if (body[i] !== OPEN_BRACE) return parseWhole(body);
  const out: Record<string, unknown> = {};
  i = skipSpace(body, i + 1);
  if (body[i] === CLOSE_BRACE) return skipSpace(body, i + 1) === body.length ? out : undefined;
  for (;;) {
    if (body[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(body, i);
    if (keyEnd < 0) return undefined;
    let key: unknown;
    try {
      key = JSON.parse(body.toString('utf8', i, keyEnd));
    } catch {
      return undefined;
    }
    i = skipSpace(body, keyEnd);
    if (body[i] !== COLON) return undefined;
    const start = skipSpace(body, i + 1);
    const end = valueEnd(body, start);
    if (end < 0) return undefined;
    if (!define(out, key as string, body, start, end)) return undefined;
    i = skipSpace(body, end);
    if (body[i] === COMMA) {
      i = skipSpace(body, i + 1);
      continue;
    }
    if (body[i] !== CLOSE_BRACE) return undefined;
    return skipSpace(body, i + 1) === body.length ? out : undefined;
  }
}

function parseWhole(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Sets out[key] to the value in body[start, end); false when a value parsed now is not JSON. */
function define(out: Record<string, unknown>, key: string, body: Buffer, start: number, end: number): boolean {
  // defineProperty, not assignment: a key such as "__proto__" is an own property, as JSON.parse makes it.
  // A repeated key keeps its last value but its first position, as with JSON.parse.
  const parse = () => JSON.parse(body.toString('utf8', start, end)) as unknown;
  if (end - start <= EAGER_VALUE_BYTES) {
    let value: unknown;
    try {
      value = parse();
    } catch {
      return false;
    }
    Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
    return true;
  }
  let parsed = false;
  let value: unknown;
  Object.defineProperty(out, key, {
    get() {
      if (!parsed) {
        value = parse();
        parsed = true;
      }
      return value;
    },
    set(v: unknown) {
      value = v;
      parsed = true;
    },
    enumerable: true,
    configurable: true,
  });
  return true;
}

function skipSpace(body: Buffer, i: number): number {
  while (i < body.length && isSpace(body[i])) i++;
  return i;
}

/** Index just past the string whose opening quote is at `i`, or -1. */
function stringEnd(body: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = body.indexOf(QUOTE, j);
    if (q < 0) return -1;
    // Escaped when preceded by an odd run of backslashes.
    let backslashes = 0;
    for (let k = q - 1; k > i && body[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just past the value starting at `i` (strings, objects and arrays matched, scalars up to a delimiter), or -1. */
function valueEnd(body: Buffer, i: number): number {
  const first = body[i];
  if (first === QUOTE) return stringEnd(body, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let j = i;
    while (j < body.length) {
      const b = body[j];
      if (b === QUOTE) {
        j = stringEnd(body, j);
        if (j < 0) return -1;
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  // A number or a literal: up to the next delimiter.
  let j = i;
  while (j < body.length) {
    const b = body[j];
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isSpace(b)) break;
    j++;
  }
  return j > i ? j : -1;
}
