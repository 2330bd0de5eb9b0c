import { headerValue } from '../http';

/**
 * Attribution tags a request can carry, as x-burnrate-<key> headers or a /~key=value,… path segment.
 * `run` names the metered terminal or `burnrate run` a call came from: the call's session when it
 * names none and its agent sends no conversation id of its own (it is not recorded apart). `branch`
 * is the git branch the call was made on (a branch name holds `/`: path values are URL-encoded).
 */
export const TAG_KEYS = ['session', 'feature', 'user', 'trace', 'env', 'workspace', 'branch', 'run'] as const;
export type TagKey = (typeof TAG_KEYS)[number];
export type Tags = Partial<Record<TagKey, string>>;

const TAG_HEADER_PREFIX = 'x-burnrate-';
const MAX_TAG_LENGTH = 200;

export class TagError extends Error {}

/**
 * Splits the request path into its tag segments and the rest: "/~feature=a,session=b/openai/v1/x"
 * gives tags {feature: a, session: b} and "/openai/v1/x". Several "~" segments may lead.
 */
export function takePathTags(path: string): { tags: Tags; rest: string } {
  const tags: Tags = {};
  let rest = path;
  while (rest.startsWith('/~')) {
    const end = rest.indexOf('/', 2);
    const segment = end === -1 ? rest.slice(2) : rest.slice(2, end);
    rest = end === -1 ? '/' : rest.slice(end);
    for (const pair of segment.split(',')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const key = (eq === -1 ? pair : pair.slice(0, eq)).toLowerCase();
      if (!isTagKey(key)) throw new TagError(`unknown tag "${key}" in path (known: ${TAG_KEYS.join(', ')})`);
      tags[key] = cleanTagValue(safeDecode(eq === -1 ? '' : pair.slice(eq + 1)));
    }
  }
  return { tags, rest };
}

/** Reads x-burnrate-* headers. Header tags win over path tags (they are the more specific setting). */
export function headerTags(headers: Record<string, string | string[] | undefined>): Tags {
  const tags: Tags = {};
  for (const key of TAG_KEYS) {
    const value = headers[TAG_HEADER_PREFIX + key];
    if (value !== undefined) tags[key] = cleanTagValue(headerValue(value)!);
  }
  return tags;
}

export function isTagHeader(name: string): boolean {
  return name.startsWith(TAG_HEADER_PREFIX);
}

function isTagKey(key: string): key is TagKey {
  return (TAG_KEYS as readonly string[]).includes(key);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

// eslint-disable-next-line no-control-regex -- control characters are what is removed
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

function cleanTagValue(value: string): string {
  // Tags end up in reports and CSV files: keep them printable and short.
  return value.replace(CONTROL_CHARACTERS, '').trim().slice(0, MAX_TAG_LENGTH);
}
