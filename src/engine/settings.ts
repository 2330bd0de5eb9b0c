import * as fs from 'node:fs';

/**
 * The settings Burn Rate reads, by their VS Code keys. `burnrate serve --config FILE` reads the
 * same keys from a JSON file, so one file can hold a user's setup for both faces.
 */
export interface BurnRateSettings {
  'burnrate.proxy.port': number;
  'burnrate.proxy.maxBodyMb': number;
  'burnrate.upstreams': Record<string, string>;
  'burnrate.budget.daily': number;
  'burnrate.budget.monthly': number;
  'burnrate.budget.alertThresholds': number[];
  'burnrate.budget.onExceed': 'warn' | 'block';
  'burnrate.guard.sessionMaxTokens': number;
  'burnrate.guard.sessionMaxUsd': number;
  'burnrate.guard.maxRequestsPerMinute': number;
  'burnrate.guard.maxRepeats': number;
  'burnrate.guard.onTrip': 'warn' | 'block';
  'burnrate.guard.retryStormErrors': number;
  'burnrate.terminal.injectEnv': boolean;
  'burnrate.terminal.intercept': boolean;
  'burnrate.export.otlp.enabled': boolean;
  'burnrate.export.otlp.endpoint': string;
  'burnrate.export.otlp.headers': Record<string, string>;
  'burnrate.export.otlp.protocol': 'http/protobuf' | 'http/json';
  'burnrate.prices.dataUrl': string;
  'burnrate.retention.days': number;
}

export const DEFAULT_SETTINGS: Readonly<BurnRateSettings> = Object.freeze({
  'burnrate.proxy.port': 8390,
  'burnrate.proxy.maxBodyMb': 64,
  'burnrate.upstreams': {},
  'burnrate.budget.daily': 0,
  'burnrate.budget.monthly': 0,
  'burnrate.budget.alertThresholds': [0.5, 0.8, 1],
  'burnrate.budget.onExceed': 'warn',
  'burnrate.guard.sessionMaxTokens': 0,
  'burnrate.guard.sessionMaxUsd': 0,
  'burnrate.guard.maxRequestsPerMinute': 0,
  'burnrate.guard.maxRepeats': 0,
  'burnrate.guard.onTrip': 'warn',
  'burnrate.guard.retryStormErrors': 10,
  'burnrate.terminal.injectEnv': true,
  'burnrate.terminal.intercept': true,
  'burnrate.export.otlp.enabled': false,
  'burnrate.export.otlp.endpoint': '',
  'burnrate.export.otlp.headers': {},
  'burnrate.export.otlp.protocol': 'http/protobuf',
  'burnrate.prices.dataUrl': '',
  'burnrate.retention.days': 400,
});

export class SettingsError extends Error {}

/** Reads a settings JSON file (flat keys as in settings.json, or nested {"burnrate": {…}}), validated. */
export function readSettingsFile(file: string): Partial<BurnRateSettings> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SettingsError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw new SettingsError(`config ${file} must hold a JSON object`);
  const flat: Record<string, unknown> = {};
  flatten(raw, '', flat);
  return validateSettings(flat, file);
}

export function validateSettings(values: Record<string, unknown>, where: string): Partial<BurnRateSettings> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (!key.startsWith('burnrate.')) continue;
    if (!(key in DEFAULT_SETTINGS)) throw new SettingsError(`${where}: unknown setting "${key}"`);
    const expected = DEFAULT_SETTINGS[key as keyof BurnRateSettings];
    const ok = Array.isArray(expected)
      ? Array.isArray(value) && value.every((v) => typeof v === 'number' && v > 0)
      : isObject(expected)
        ? isObject(value) && Object.values(value).every((v) => typeof v === 'string')
        : typeof value === typeof expected && (typeof value !== 'number' || (Number.isFinite(value) && value >= 0));
    if (!ok) throw new SettingsError(`${where}: "${key}" should be ${describe(expected)}, got ${JSON.stringify(value)}`);
    if ((key === 'burnrate.budget.onExceed' || key === 'burnrate.guard.onTrip') && value !== 'warn' && value !== 'block') {
      throw new SettingsError(`${where}: "${key}" should be "warn" or "block", got ${JSON.stringify(value)}`);
    }
    if (key === 'burnrate.export.otlp.protocol' && value !== 'http/protobuf' && value !== 'http/json') {
      throw new SettingsError(`${where}: "${key}" should be "http/protobuf" or "http/json", got ${JSON.stringify(value)}`);
    }
    if ((key === 'burnrate.export.otlp.endpoint' || key === 'burnrate.prices.dataUrl') && value !== '' && !/^https?:\/\/\S+$/.test(value as string)) {
      throw new SettingsError(`${where}: "${key}" should be an http(s) URL, got ${JSON.stringify(value)}`);
    }
    if (key === 'burnrate.proxy.port' && (!Number.isInteger(value) || (value as number) > 65535)) {
      throw new SettingsError(`${where}: "burnrate.proxy.port" should be a port number (0-65535), got ${JSON.stringify(value)}`);
    }
    out[key] = value;
  }
  return out as Partial<BurnRateSettings>;
}

function flatten(value: Record<string, unknown>, prefix: string, out: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    // Stop at known leaves so object-valued settings (upstreams) stay whole.
    if (isObject(v) && !(key in DEFAULT_SETTINGS)) flatten(v, key, out);
    else out[key] = v;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(expected: unknown): string {
  if (Array.isArray(expected)) return 'a list of positive numbers';
  if (isObject(expected)) return 'an object of strings';
  return `a ${typeof expected}${typeof expected === 'number' ? ' (0 or more)' : ''}`;
}
