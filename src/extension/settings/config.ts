/**
 * The typed settings snapshot. Pure (no vscode import): the extension feeds it
 * `workspace.getConfiguration().inspect(key)` results; tests feed it plain objects. Each value is
 * checked against the one settings table (src/shared/settingsTable.ts), as `burnrate serve --config` does.
 */
import { sessionLimits, type SessionLimits, settingDefault, type GuardSettingKey } from '../../shared';
import { Settings } from '../constants';
import { settingLayers, type Inspect, type SettingLayers } from './settingLayers';

export type { Inspect, SettingInspection } from './settingLayers';

export interface BurnRateConfig {
  port: number;
  maxBodyMb: number;
  /** What the proxy still reads of a body it refused before reading it (see proxy/lingeringClose.ts). */
  linger: { mb: number; seconds: number };
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
  /** Where alerts are posted (user/machine settings only: the URL holds a token); empty for none. */
  alertWebhookUrl: string;
  /** Values that were ignored, to tell the user once. */
  problems: string[];
}

/**
 * Reads every setting. Traffic-redirecting ones (port, upstreams, body cap) come from user/machine
 * settings only, whatever a workspace file says. Limits (budgets, guards) may be set by a workspace
 * only to tighten the user's: a lower cap, "block" over "warn"; never a higher cap or none. A bad
 * value is listed in `problems` and its default (or the user's value) used instead.
 */
export function readConfig(inspect: Inspect): BurnRateConfig {
  const problems: string[] = [];
  const read = settingLayers(inspect, problems);
  const alertThresholds = read.user(Settings.budgetAlertThresholds);
  return {
    port: read.user(Settings.port),
    maxBodyMb: read.user(Settings.maxBodyMb),
    linger: { mb: read.user(Settings.lingerMb), seconds: read.user(Settings.lingerSeconds) },
    retentionDays: read.user(Settings.retentionDays),
    upstreams: read.user(Settings.upstreams),
    budget: {
      daily: read.cap(Settings.budgetDaily),
      monthly: read.cap(Settings.budgetMonthly),
      alertThresholds: alertThresholds.length ? alertThresholds : settingDefault(Settings.budgetAlertThresholds),
      onExceed: read.stricter(Settings.budgetOnExceed),
    },
    guard: sessionLimits((m) => read.cap(m.setting as GuardSettingKey), read.stricter(Settings.guardOnTrip)),
    // Window scope, nearest value wins: both only ever send traffic to the local meter.
    terminal: { injectEnv: read.nearest(Settings.terminalInjectEnv), intercept: read.nearest(Settings.terminalIntercept) },
    otlp: otlpConfig(read, problems),
    pricesDataUrl: read.user(Settings.pricesDataUrl),
    alertWebhookUrl: read.user(Settings.alertWebhookUrl),
    problems,
  };
}

/** The export to the team's collector, from the user's own settings; undefined when off or without an endpoint. */
function otlpConfig(read: SettingLayers, problems: string[]): BurnRateConfig['otlp'] {
  if (!read.user(Settings.otlpEnabled)) return undefined;
  const told = problems.length;
  const endpoint = read.user(Settings.otlpEndpoint);
  if (!endpoint) {
    // A bad endpoint was just told; say what it means for the export.
    problems.push(
      `${Settings.otlpEndpoint}: export is on but ${problems.length > told ? 'the endpoint is not an http(s) URL' : 'no endpoint is set'}; nothing is exported`,
    );
    return undefined;
  }
  return { endpoint, headers: read.user(Settings.otlpHeaders), protocol: read.user(Settings.otlpProtocol) };
}

/** Which parts of the extension must react to a change from `before` to `after`. */
export function configChanges(before: BurnRateConfig, after: BurnRateConfig): { port: boolean; engine: boolean; terminal: boolean; display: boolean } {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return {
    port: before.port !== after.port,
    engine:
      !same(before.upstreams, after.upstreams) ||
      before.maxBodyMb !== after.maxBodyMb ||
      !same(before.linger, after.linger) ||
      !same(before.otlp, after.otlp) ||
      before.retentionDays !== after.retentionDays ||
      before.alertWebhookUrl !== after.alertWebhookUrl,
    terminal: !same(before.terminal, after.terminal) || before.port !== after.port || !same(before.upstreams, after.upstreams),
    display: !same(before.budget, after.budget),
  };
}
