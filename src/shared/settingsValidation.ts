/**
 * Checks setting values against the settings table, for both faces: `burnrate serve --config` and
 * the management API refuse a file or request with any problem; the extension warns and falls back.
 * No node or vscode import.
 */
import { isSettingKey, SETTINGS_TABLE, type BurnRateSettings, type SettingKey, type SettingRow } from './settingsTable';

/**
 * A value checked against its row. `value` is the value to use, cleaned (strings trimmed, alert
 * thresholds sorted without repeats), or undefined when it is unusable as a whole; a list or map
 * keeps its good entries, each bad one named in `problems`.
 */
export interface SettingCheck<K extends SettingKey> {
  value: BurnRateSettings[K] | undefined;
  problems: string[];
}

const URL_PATTERN = /^https?:\/\/\S+$/;

export function validateSetting<K extends SettingKey>(key: K, value: unknown): SettingCheck<K> {
  const row: SettingRow = SETTINGS_TABLE[key];
  const refuse = (): SettingCheck<K> => ({ value: undefined, problems: [problem(key, row, value)] });
  switch (row.type) {
    case 'integer':
    case 'number':
      return inBounds(row, value) ? { value: value as BurnRateSettings[K], problems: [] } : refuse();
    case 'boolean':
      return typeof value === 'boolean' ? { value: value as BurnRateSettings[K], problems: [] } : refuse();
    case 'enum':
      return row.values.includes(value as string) ? { value: value as BurnRateSettings[K], problems: [] } : refuse();
    case 'string': {
      const text = typeof value === 'string' ? value.trim() : undefined;
      return text !== undefined && (!row.url || text === '' || URL_PATTERN.test(text)) ? { value: text as BurnRateSettings[K], problems: [] } : refuse();
    }
    case 'string-map':
      return isObject(value) ? checkStringMap(key, row.url === true, value) : refuse();
    case 'number-array':
      return Array.isArray(value) ? checkNumbers(key, row, value) : refuse();
  }
}

/**
 * The burnrate.* values of `values` (flat keys, other keys skipped), checked: the good ones, and a
 * problem for each bad value and each unknown burnrate.* key.
 */
export function readSettings(values: Record<string, unknown>): { settings: Partial<BurnRateSettings>; problems: string[] } {
  const settings: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (!key.startsWith('burnrate.')) continue;
    if (!isSettingKey(key)) {
      problems.push(`unknown setting "${key}"`);
      continue;
    }
    const check = validateSetting(key, value);
    problems.push(...check.problems);
    if (check.value !== undefined) settings[key] = check.value;
  }
  return { settings: settings as Partial<BurnRateSettings>, problems };
}

function inBounds(row: { type: 'integer' | 'number'; minimum?: number; maximum?: number }, value: unknown): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (row.type === 'integer' && !Number.isInteger(value)) return false;
  return (row.minimum === undefined || value >= row.minimum) && (row.maximum === undefined || value <= row.maximum);
}

function checkStringMap<K extends SettingKey>(key: K, url: boolean, value: Record<string, unknown>): SettingCheck<K> {
  const kept: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(value)) {
    const text = typeof entry === 'string' ? entry.trim() : undefined;
    if (text !== undefined && (!url || URL_PATTERN.test(text))) kept[name] = url ? text : (entry as string);
    else problems.push(`"${key}.${name}" should be ${url ? 'an http(s) URL' : 'a string'}, got ${JSON.stringify(entry)}`);
  }
  return { value: kept as BurnRateSettings[K], problems };
}

function checkNumbers<K extends SettingKey>(key: K, row: { exclusiveMinimum?: number; maximum?: number }, value: unknown[]): SettingCheck<K> {
  const good = (n: unknown): n is number =>
    typeof n === 'number' &&
    Number.isFinite(n) &&
    (row.exclusiveMinimum === undefined || n > row.exclusiveMinimum) &&
    (row.maximum === undefined || n <= row.maximum);
  const problems = value.filter((n) => !good(n)).map((n) => `"${key}" should hold ${numbersWithin(row)}, got ${JSON.stringify(n)} in the list`);
  const kept = [...new Set(value.filter(good))].sort((a, b) => a - b);
  return { value: kept as BurnRateSettings[K], problems };
}

function problem(key: SettingKey, row: SettingRow, value: unknown): string {
  // A webhook URL carries its token: a typo in it must not put it in a log.
  const got = row.type === 'string' && row.secret ? 'got something else (not shown: it may hold a token)' : `got ${JSON.stringify(value)}`;
  return `"${key}" should be ${expected(row)}, ${got}`;
}

/** What a row accepts, in words; every numeric kind starts "a number" (messages and tests rely on it). */
function expected(row: SettingRow): string {
  switch (row.type) {
    case 'integer':
    case 'number': {
      const whole = row.type === 'integer' ? 'a whole number ' : '';
      if (row.maximum !== undefined) return `a number (${whole}from ${row.minimum ?? 0} to ${row.maximum})`;
      return `a number (${whole}${row.minimum ?? 0} or more)`;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return row.values.map((v) => JSON.stringify(v)).join(' or ');
    case 'string':
      return row.url ? 'an http(s) URL' : 'a string';
    case 'string-map':
      return row.url ? 'an object of http(s) URLs' : 'an object of strings';
    case 'number-array':
      return `a list of ${numbersWithin(row)}`;
  }
}

function numbersWithin(row: { exclusiveMinimum?: number; maximum?: number }): string {
  const above = row.exclusiveMinimum !== undefined ? ` above ${row.exclusiveMinimum}` : '';
  const upTo = row.maximum !== undefined ? ` up to ${row.maximum}` : '';
  return `numbers${above}${upTo}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
