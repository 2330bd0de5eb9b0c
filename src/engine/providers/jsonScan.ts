/**
 * Scanning JSON text without parsing it, for stream chunks that cannot hold usage: generated text
 * is measured and model names read at a fraction of what JSON.parse of every chunk would cost.
 *
 * These look for `"key"` followed by a colon. Inside a JSON string every quote is escaped, so the
 * sequence `"key":` only occurs where `key` is really a member name: no false hits from content.
 */
import { parseJson } from './common';

function skipSpaces(text: string, at: number): number {
  let i = at;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just after the colon that follows member name `"key"` found at `at`, or -1. */
function afterMemberColon(text: string, at: number, quotedKeyLength: number): number {
  const i = skipSpaces(text, at + quotedKeyLength);
  return text.charCodeAt(i) === 0x3a ? skipSpaces(text, i + 1) : -1;
}

/** Index of the closing quote of the JSON string whose opening quote is at `open`, or -1 when cut. Adds the decoded length to `length.chars`. */
function scanString(text: string, open: number, length: { chars: number }): number {
  let i = open + 1;
  let chars = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      length.chars += chars;
      return i;
    }
    if (c === 0x5c) i += text.charCodeAt(i + 1) === 0x75 ? 6 : 2;
    else i++;
    chars++;
  }
  length.chars += chars;
  return -1;
}

/**
 * Sum of the decoded lengths of the string values of members named by `keys`, anywhere in `text`.
 * Linear: how generated text is measured in stream chunks that are not parsed.
 */
export function countStringChars(text: string, keys: readonly string[]): number {
  return stringCharCounter(keys)(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * countStringChars with the keys compiled once, for handlers that call it on every chunk. One regex
 * pass finds all the keys: several times faster than one indexOf per key.
 */
export function stringCharCounter(keys: readonly string[]): (text: string) => number {
  // One counter per key set, shared: building the regex per response cost ~5 µs of every stream.
  // Sharing is safe, a call resets the regex and runs to the end without yielding.
  const cacheKey = keys.join('\0');
  let counter = counters.get(cacheKey);
  if (!counter) counters.set(cacheKey, (counter = buildCharCounter(keys)));
  return counter;
}

/** Counters by key set; the key sets are the adapters' own constants, so this stays a handful. */
const counters = new Map<string, (text: string) => number>();

function buildCharCounter(keys: readonly string[]): (text: string) => number {
  const memberWithStringValue = new RegExp(`"(?:${keys.map(escapeRegExp).join('|')})"[ \\t\\r\\n]*:[ \\t\\r\\n]*"`, 'g');
  return (text) => {
    const length = { chars: 0 };
    memberWithStringValue.lastIndex = 0;
    for (;;) {
      const match = memberWithStringValue.exec(text);
      if (match === null) break;
      const close = scanString(text, memberWithStringValue.lastIndex - 1, length);
      if (close === -1) break;
      memberWithStringValue.lastIndex = close + 1;
    }
    return length.chars;
  };
}

/** The first string value of member `key` in `text`, decoded; undefined when absent or not a string. */
export function readStringMember(text: string, key: string): string | undefined {
  const quoted = `"${key}"`;
  let from = 0;
  for (;;) {
    const at = text.indexOf(quoted, from);
    if (at === -1) return undefined;
    from = at + quoted.length;
    const value = afterMemberColon(text, at, quoted.length);
    if (value === -1) continue;
    if (text.charCodeAt(value) !== 0x22) return undefined;
    const close = scanString(text, value, { chars: 0 });
    if (close === -1) return undefined;
    const decoded = parseJson(text.slice(value, close + 1));
    return typeof decoded === 'string' ? decoded : undefined;
  }
}

/** True when some member `key` in `text` has an object value: the cheap test for "this chunk carries usage". */
export function hasObjectMember(text: string, key: string): boolean {
  const quoted = `"${key}"`;
  let from = 0;
  for (;;) {
    const at = text.indexOf(quoted, from);
    if (at === -1) return false;
    from = at + quoted.length;
    const value = afterMemberColon(text, at, quoted.length);
    if (value !== -1 && text.charCodeAt(value) === 0x7b) return true;
  }
}
