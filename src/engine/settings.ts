import * as fs from 'node:fs';
import { DEFAULT_SETTINGS, isSettingKey, type BurnRateSettings, readSettings } from '../shared';

// The settings' type and defaults come from the one settings table in src/shared.
export { DEFAULT_SETTINGS, type BurnRateSettings };

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

/** The burnrate.* values of `values`, checked against the settings table; the first problem is thrown. */
export function validateSettings(values: Record<string, unknown>, where: string): Partial<BurnRateSettings> {
  const { settings, problems } = readSettings(values);
  if (problems.length) throw new SettingsError(`${where}: ${problems[0]}`);
  return settings;
}

function flatten(value: Record<string, unknown>, prefix: string, out: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    // Stop at known leaves so object-valued settings (upstreams) stay whole.
    if (isObject(v) && !isSettingKey(key)) flatten(v, key, out);
    else out[key] = v;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
