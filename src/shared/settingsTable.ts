/**
 * Every burnrate.* setting in one table: its type, default, scope and bounds, as package.json
 * declares them (test/unit/settingsTable.test.ts keeps the two in step). The settings' type and
 * defaults are derived from it, and settingsValidation.ts checks values against it for both faces:
 * `burnrate serve --config` and the extension's settings snapshot. The guards' rows come from
 * guardMeta.ts, their one home. Adding a setting: a row here and its entry in package.json.
 * No node or vscode import: every face reads it.
 */
import { GUARD_META, GUARD_ON_TRIP_SETTING } from './guardMeta';

/** package.json's scopes: machine (user settings only), window (a workspace may set it). */
export type SettingScope = 'machine' | 'window' | 'resource';

export type SettingRow =
  | { type: 'integer' | 'number'; default: number; minimum?: number; maximum?: number; scope: SettingScope }
  | { type: 'boolean'; default: boolean; scope: SettingScope }
  /** url: an http(s) URL or empty. secret: its value is never echoed in a problem (it holds a token). */
  | { type: 'string'; default: string; url?: boolean; secret?: boolean; scope: SettingScope }
  | { type: 'enum'; values: readonly string[]; default: string; scope: SettingScope }
  /** url: each value an http(s) URL. */
  | { type: 'string-map'; default: Readonly<Record<string, string>>; url?: boolean; scope: SettingScope }
  /** The bounds hold for each number; exclusiveMinimum: each is above it. */
  | { type: 'number-array'; default: readonly number[]; exclusiveMinimum?: number; maximum?: number; scope: SettingScope };

const PLAIN_ROWS = {
  'burnrate.proxy.port': { type: 'integer', default: 8390, minimum: 1, maximum: 65535, scope: 'machine' },
  'burnrate.proxy.maxBodyMb': { type: 'number', default: 64, minimum: 1, scope: 'machine' },
  // How the lingering close's bound was chosen: src/engine/proxy/lingeringClose.ts. Past a minute, Node's request timeout would cut first.
  'burnrate.proxy.lingerMb': { type: 'number', default: 128, minimum: 0, scope: 'machine' },
  'burnrate.proxy.lingerSeconds': { type: 'number', default: 10, minimum: 0, maximum: 60, scope: 'machine' },
  'burnrate.upstreams': { type: 'string-map', default: {}, url: true, scope: 'machine' },
  'burnrate.retention.days': { type: 'integer', default: 400, minimum: 0, scope: 'machine' },
  'burnrate.budget.daily': { type: 'number', default: 0, minimum: 0, scope: 'window' },
  'burnrate.budget.monthly': { type: 'number', default: 0, minimum: 0, scope: 'window' },
  'burnrate.budget.alertThresholds': { type: 'number-array', default: [0.5, 0.8, 1], exclusiveMinimum: 0, maximum: 10, scope: 'window' },
  'burnrate.budget.onExceed': { type: 'enum', values: ['warn', 'block'], default: 'warn', scope: 'window' },
  [GUARD_ON_TRIP_SETTING]: { type: 'enum', values: ['warn', 'block'], default: 'warn', scope: 'window' },
  'burnrate.terminal.injectEnv': { type: 'boolean', default: true, scope: 'window' },
  'burnrate.terminal.intercept': { type: 'boolean', default: true, scope: 'window' },
  'burnrate.export.otlp.enabled': { type: 'boolean', default: false, scope: 'machine' },
  'burnrate.export.otlp.endpoint': { type: 'string', default: '', url: true, scope: 'machine' },
  'burnrate.export.otlp.headers': { type: 'string-map', default: {}, scope: 'machine' },
  'burnrate.export.otlp.protocol': { type: 'enum', values: ['http/protobuf', 'http/json'], default: 'http/protobuf', scope: 'machine' },
  'burnrate.prices.dataUrl': { type: 'string', default: '', url: true, scope: 'machine' },
  'burnrate.alerts.webhookUrl': { type: 'string', default: '', url: true, secret: true, scope: 'machine' },
} as const satisfies Record<string, SettingRow>;

export type GuardSettingKey = (typeof GUARD_META)[number]['setting'];

/** Every guard limit: 0 or more (0 = off), and a workspace may set it (only to tighten the user's). */
const GUARD_ROWS = Object.fromEntries(
  GUARD_META.map((m) => [m.setting, { type: m.type, default: m.default, minimum: 0, scope: 'window' } satisfies SettingRow]),
) as Record<GuardSettingKey, SettingRow>;

export const SETTINGS_TABLE: Readonly<Record<SettingKey, SettingRow>> = Object.freeze({ ...PLAIN_ROWS, ...GUARD_ROWS });

/** The value a row's type holds. */
type ValueOf<R> = R extends { type: 'integer' | 'number' }
  ? number
  : R extends { type: 'boolean' }
    ? boolean
    : R extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : R extends { type: 'string' }
        ? string
        : R extends { type: 'string-map' }
          ? Record<string, string>
          : number[];

/** The settings Burn Rate reads, by their VS Code keys (`burnrate serve --config FILE` reads the same keys). */
export type BurnRateSettings = { -readonly [K in keyof typeof PLAIN_ROWS]: ValueOf<(typeof PLAIN_ROWS)[K]> } & { [K in GuardSettingKey]: number };
export type SettingKey = keyof BurnRateSettings;

export const SETTING_KEYS = Object.keys({ ...PLAIN_ROWS, ...GUARD_ROWS }) as SettingKey[];

export function isSettingKey(key: string): key is SettingKey {
  return Object.prototype.hasOwnProperty.call(SETTINGS_TABLE, key);
}

/** A fresh copy of a setting's default (lists and maps are not shared between callers). */
export function settingDefault<K extends SettingKey>(key: K): BurnRateSettings[K] {
  const d: unknown = SETTINGS_TABLE[key].default;
  return (Array.isArray(d) ? [...d] : typeof d === 'object' && d !== null ? { ...d } : d) as BurnRateSettings[K];
}

export const DEFAULT_SETTINGS: Readonly<BurnRateSettings> = Object.freeze(
  Object.fromEntries(SETTING_KEYS.map((key) => [key, settingDefault(key)])) as BurnRateSettings,
);
