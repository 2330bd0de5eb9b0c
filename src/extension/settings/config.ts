/**
 * The typed settings snapshot. Pure (no vscode import): the extension feeds it
 * `workspace.getConfiguration().inspect(key)` results; tests feed it plain objects.
 */
import { DEFAULT_SETTINGS, type BurnRateSettings } from '../../engine/settings';
import { sessionLimits } from '../../shared';
import type { SessionLimits } from '../../shared';
import { tighterCap } from '../../shared';
import { Settings } from '../constants';

/** The shape of vscode's `WorkspaceConfiguration.inspect()` result that we use. */
export interface SettingInspection<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export type Inspect = <K extends keyof BurnRateSettings>(key: K) => SettingInspection<BurnRateSettings[K]> | undefined;

export interface BurnRateConfig {
  port: number;
  maxBodyMb: number;
  /** Days of raw request records kept (0 = forever). */
  retentionDays: number;
  upstreams: Record<string, string>;
  budget: {
    /** USD per day, 0 = none: the lower of the user's cap and the workspace's. */
    daily: number;
    monthly: number;
    alertThresholds: number[];
    onExceed: 'warn' | 'block';
  };
  /** Each guard's limit (the lower of the user's and the workspace's) and what a trip does. */
  guard: SessionLimits;
  /** intercept: also the capture hooks (Node preload, Python sitecustomize, codex shim), not only base URLs. */
  terminal: { injectEnv: boolean; intercept: boolean };
  /** Export to the team's OpenTelemetry collector (user/machine settings only); undefined when off. */
  otlp: { endpoint: string; headers: Record<string, string>; protocol: 'http/protobuf' | 'http/json' } | undefined;
  /** Where Refresh Prices fetches from; empty for the price library's published data. */
  pricesDataUrl: string;
  /** Values that were ignored, to tell the user once. */
  problems: string[];
}

/**
 * Reads every setting. Traffic-redirecting ones (port, upstreams, body cap) come from user/machine
 * settings only, whatever a workspace file says. Limits (budgets, guards) may be set by a workspace
 * only to tighten the user's: a lower cap, "block" over "warn"; never a higher cap or none.
 */
export function readConfig(inspect: Inspect): BurnRateConfig {
  const problems: string[] = [];
  const userOnly = <K extends keyof BurnRateSettings>(key: K): BurnRateSettings[K] => {
    const i = inspect(key);
    return (i?.globalValue ?? i?.defaultValue ?? DEFAULT_SETTINGS[key]) as BurnRateSettings[K];
  };
  const layers = <K extends keyof BurnRateSettings>(key: K) => {
    const i = inspect(key);
    return {
      user: (i?.globalValue ?? i?.defaultValue ?? DEFAULT_SETTINGS[key]) as BurnRateSettings[K],
      workspace: (i?.workspaceFolderValue ?? i?.workspaceValue) as BurnRateSettings[K] | undefined,
    };
  };
  const cap = (key: keyof BurnRateSettings): number => {
    const { user, workspace } = layers(key);
    const u = validAmount(user) ?? (DEFAULT_SETTINGS[key] as number);
    if (workspace === undefined) return u;
    const w = validAmount(workspace);
    if (w === undefined) {
      problems.push(`${key}: workspace value ${JSON.stringify(workspace)} ignored (expected a number ≥ 0)`);
      return u;
    }
    return tighterCap(u, w);
  };
  const stricter = (key: typeof Settings.budgetOnExceed | typeof Settings.guardOnTrip): 'warn' | 'block' => {
    const { user, workspace } = layers(key);
    return user === 'block' || workspace === 'block' ? 'block' : 'warn';
  };

  let port = userOnly(Settings.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`${Settings.port}: ${JSON.stringify(port)} is not a port (1-65535); using ${DEFAULT_SETTINGS[Settings.port]}`);
    port = DEFAULT_SETTINGS[Settings.port];
  }
  let maxBodyMb = userOnly(Settings.maxBodyMb);
  if (typeof maxBodyMb !== 'number' || !(maxBodyMb > 0)) maxBodyMb = DEFAULT_SETTINGS[Settings.maxBodyMb];

  let retentionDays = userOnly(Settings.retentionDays);
  if (!Number.isInteger(retentionDays) || retentionDays < 0) retentionDays = DEFAULT_SETTINGS[Settings.retentionDays];

  const upstreams: Record<string, string> = {};
  const rawUpstreams = userOnly(Settings.upstreams);
  if (rawUpstreams && typeof rawUpstreams === 'object') {
    for (const [provider, url] of Object.entries(rawUpstreams)) {
      if (typeof url === 'string' && url.trim()) upstreams[provider] = url.trim();
      else problems.push(`${Settings.upstreams}.${provider}: expected a URL string`);
    }
  }

  const { user: thresholdsUser } = layers(Settings.budgetAlertThresholds);
  const alertThresholds = Array.isArray(thresholdsUser)
    ? [...new Set(thresholdsUser.filter((t) => typeof t === 'number' && t > 0 && t <= 10))].sort((a, b) => a - b)
    : [...DEFAULT_SETTINGS[Settings.budgetAlertThresholds]];

  // Window scope, nearest value wins: both only ever send traffic to the local meter.
  const nearest = (key: typeof Settings.terminalInjectEnv | typeof Settings.terminalIntercept) => {
    const v = inspect(key);
    return v?.workspaceFolderValue ?? v?.workspaceValue ?? v?.globalValue ?? v?.defaultValue ?? DEFAULT_SETTINGS[key];
  };
  const injectEnv = nearest(Settings.terminalInjectEnv);
  const intercept = nearest(Settings.terminalIntercept);

  let otlp: BurnRateConfig['otlp'];
  if (userOnly(Settings.otlpEnabled) === true) {
    const endpoint = String(userOnly(Settings.otlpEndpoint) ?? '').trim();
    const rawHeaders = userOnly(Settings.otlpHeaders);
    const headers: Record<string, string> = {};
    if (rawHeaders && typeof rawHeaders === 'object') {
      for (const [name, value] of Object.entries(rawHeaders)) if (typeof value === 'string') headers[name] = value;
    }
    const protocol = userOnly(Settings.otlpProtocol) === 'http/json' ? 'http/json' : 'http/protobuf';
    if (/^https?:\/\/\S+$/.test(endpoint)) otlp = { endpoint, headers, protocol };
    else problems.push(`${Settings.otlpEndpoint}: export is on but ${endpoint ? `"${endpoint}" is not an http(s) URL` : 'no endpoint is set'}; nothing is exported`);
  }
  const pricesDataUrl = String(userOnly(Settings.pricesDataUrl) ?? '').trim();

  return {
    port,
    maxBodyMb,
    retentionDays,
    upstreams,
    budget: {
      daily: cap(Settings.budgetDaily),
      monthly: cap(Settings.budgetMonthly),
      alertThresholds: alertThresholds.length ? alertThresholds : [...DEFAULT_SETTINGS[Settings.budgetAlertThresholds]],
      onExceed: stricter(Settings.budgetOnExceed),
    },
    guard: sessionLimits((m) => cap(m.setting as keyof BurnRateSettings), stricter(Settings.guardOnTrip)),
    terminal: { injectEnv: injectEnv !== false, intercept: intercept !== false },
    otlp,
    pricesDataUrl,
    problems,
  };
}

function validAmount(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Which parts of the extension must react to a change from `before` to `after`. */
export function configChanges(before: BurnRateConfig, after: BurnRateConfig): { port: boolean; engine: boolean; terminal: boolean; display: boolean } {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return {
    port: before.port !== after.port,
    engine: !same(before.upstreams, after.upstreams) || before.maxBodyMb !== after.maxBodyMb || !same(before.otlp, after.otlp) || before.retentionDays !== after.retentionDays,
    terminal: !same(before.terminal, after.terminal) || before.port !== after.port || !same(before.upstreams, after.upstreams),
    display: !same(before.budget, after.budget),
  };
}
