/**
 * Usage on Chat Completions streams: asked for (`stream_options.include_usage`) when the client did
 * not, and hidden again from that client, so it sees the stream it asked for.
 */
import { asObject, type JsonObject } from '../common';

/** The request body asking for stream usage, or undefined when the client already asks for it. */
export function withStreamUsage(body: JsonObject): Buffer | undefined {
  const streamOptions = asObject(body.stream_options);
  if (streamOptions?.include_usage === true) return undefined;
  return Buffer.from(JSON.stringify({ ...body, stream_options: { ...streamOptions, include_usage: true } }), 'utf8');
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const USAGE_KEY = Buffer.from('usage');
const QUOTED_USAGE = Buffer.from('"usage"');
const NULL = Buffer.from('null');

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === LF || b === CR;
}

/** Byte range [start, end) of the value of the block's single `data:` line; undefined when there is not exactly one. */
function singleDataValue(raw: Buffer): { start: number; end: number } | undefined {
  // Fast path, the usual block: `data: …` then nothing but line endings.
  if (raw.length > 5 && raw[0] === 0x64 && raw[1] === 0x61 && raw[2] === 0x74 && raw[3] === 0x61 && raw[4] === 0x3a) {
    let end = raw.indexOf(LF);
    const cr = raw.indexOf(CR);
    if (end === -1 || (cr !== -1 && cr < end)) end = cr;
    if (end === -1) end = raw.length;
    let rest = end;
    while (rest < raw.length && (raw[rest] === LF || raw[rest] === CR)) rest++;
    if (rest === raw.length) return { start: raw[5] === 0x20 ? 6 : 5, end };
  }
  let found: { start: number; end: number } | undefined;
  let pos = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  while (pos < raw.length) {
    let eol = pos;
    while (eol < raw.length && raw[eol] !== LF && raw[eol] !== CR) eol++;
    const isData =
      eol - pos >= 4 &&
      raw[pos] === 0x64 &&
      raw[pos + 1] === 0x61 &&
      raw[pos + 2] === 0x74 &&
      raw[pos + 3] === 0x61 &&
      (eol - pos === 4 || raw[pos + 4] === 0x3a);
    if (isData) {
      if (found) return undefined;
      let start = Math.min(pos + 5, eol);
      if (start < eol && raw[start] === 0x20) start++;
      found = { start, end: eol };
    }
    pos = eol + 1;
    if (raw[eol] === CR && raw[pos] === LF) pos++;
  }
  return found;
}

function skipSpaceBytes(raw: Buffer, at: number, end: number): number {
  let i = at;
  while (i < end && isSpace(raw[i])) i++;
  return i;
}

/**
 * Removes the top-level `"usage": null` member from the JSON of the block's data line, editing the
 * bytes in place of re-serialising so that everything else stays byte-identical. Returns undefined
 * when there is no such member (forward the block unchanged).
 */
export function removeNullUsageMember(raw: Buffer): Buffer | undefined {
  if (raw.indexOf(QUOTED_USAGE) === -1) return undefined;
  const value = singleDataValue(raw);
  if (!value) return undefined;
  const { start, end } = value;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectKey = false;
  let keyStart = -1;
  for (let i = start; i < end; i++) {
    const b = raw[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (b === 0x5c) escaped = true;
      else if (b === QUOTE) {
        inString = false;
        if (keyStart !== -1) {
          const isUsage = i - keyStart - 1 === USAGE_KEY.length && raw.compare(USAGE_KEY, 0, USAGE_KEY.length, keyStart + 1, i) === 0;
          const range = isUsage ? nullMemberRange(raw, keyStart, i + 1, start, end) : undefined;
          if (range) return Buffer.concat([raw.subarray(0, range.from), raw.subarray(range.to)]);
          keyStart = -1;
        }
      }
      continue;
    }
    switch (b) {
      case QUOTE:
        inString = true;
        keyStart = depth === 1 && expectKey ? i : -1;
        expectKey = false;
        break;
      case 0x7b: // {
        depth++;
        expectKey = depth === 1;
        break;
      case 0x5b: // [
        depth++;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        depth--;
        break;
      case 0x2c: // ,
        if (depth === 1) expectKey = true;
        break;
      default:
        break;
    }
  }
  return undefined;
}

/** For member name `"usage"` at [keyStart, keyEnd): the bytes to cut when its value is null, separators included. */
function nullMemberRange(raw: Buffer, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): { from: number; to: number } | undefined {
  const colon = skipSpaceBytes(raw, keyEnd, valueEnd);
  if (raw[colon] !== 0x3a) return undefined;
  const nullAt = skipSpaceBytes(raw, colon + 1, valueEnd);
  if (nullAt + 4 > valueEnd || raw.compare(NULL, 0, 4, nullAt, nullAt + 4) !== 0) return undefined;
  const memberEnd = nullAt + 4;
  const after = skipSpaceBytes(raw, memberEnd, valueEnd);
  if (raw[after] !== 0x2c && raw[after] !== 0x7d) return undefined;
  let before = keyStart - 1;
  while (before >= valueStart && isSpace(raw[before])) before--;
  // `…,"usage":null` loses its leading comma; a first member `{"usage":null,…` loses the trailing one.
  if (raw[before] === 0x2c) return { from: before, to: memberEnd };
  if (raw[after] === 0x2c) return { from: keyStart, to: skipSpaceBytes(raw, after + 1, valueEnd) };
  return { from: keyStart, to: memberEnd };
}
