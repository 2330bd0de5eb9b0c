/**
 * Every command id, setting key, context key and view id the extension uses, in one place
 * (package.json declares the same; test/unit/extensionManifest.test.ts keeps the two in step).
 * No vscode import: pure modules and tests read these too.
 */
import type { BurnRateSettings } from '../shared';

export const Commands = {
  openDashboard: 'burnrate.openDashboard',
  copyProxySetup: 'burnrate.copyProxySetup',
  newMeteredTerminal: 'burnrate.newMeteredTerminal',
  pauseRecording: 'burnrate.pauseRecording',
  resumeRecording: 'burnrate.resumeRecording',
  exportCsv: 'burnrate.exportCsv',
  estimateCost: 'burnrate.estimateCost',
  showLog: 'burnrate.showLog',
  stopSession: 'burnrate.stopSession',
  allowSession: 'burnrate.allowSession',
  refreshPrices: 'burnrate.refreshPrices',
  sendTestAlert: 'burnrate.sendTestAlert',
} as const;
export type CommandId = (typeof Commands)[keyof typeof Commands];

/** Setting keys, by the names PRODUCT.md gives them (the same keys `burnrate serve --config` reads). */
export const Settings = {
  port: 'burnrate.proxy.port',
  maxBodyMb: 'burnrate.proxy.maxBodyMb',
  lingerMb: 'burnrate.proxy.lingerMb',
  lingerSeconds: 'burnrate.proxy.lingerSeconds',
  upstreams: 'burnrate.upstreams',
  retentionDays: 'burnrate.retention.days',
  budgetDaily: 'burnrate.budget.daily',
  budgetMonthly: 'burnrate.budget.monthly',
  budgetAlertThresholds: 'burnrate.budget.alertThresholds',
  budgetOnExceed: 'burnrate.budget.onExceed',
  guardSessionMaxTokens: 'burnrate.guard.sessionMaxTokens',
  guardSessionMaxUsd: 'burnrate.guard.sessionMaxUsd',
  guardMaxRequestsPerMinute: 'burnrate.guard.maxRequestsPerMinute',
  guardMaxRepeats: 'burnrate.guard.maxRepeats',
  guardOnTrip: 'burnrate.guard.onTrip',
  guardRetryStormErrors: 'burnrate.guard.retryStormErrors',
  terminalInjectEnv: 'burnrate.terminal.injectEnv',
  terminalIntercept: 'burnrate.terminal.intercept',
  otlpEnabled: 'burnrate.export.otlp.enabled',
  otlpEndpoint: 'burnrate.export.otlp.endpoint',
  otlpHeaders: 'burnrate.export.otlp.headers',
  otlpProtocol: 'burnrate.export.otlp.protocol',
  pricesDataUrl: 'burnrate.prices.dataUrl',
  alertWebhookUrl: 'burnrate.alerts.webhookUrl',
} as const satisfies Record<string, keyof BurnRateSettings>;

/** Settings that redirect traffic: machine-scoped, and restricted in untrusted workspaces. */
export const TRAFFIC_SETTINGS = [
  Settings.port,
  Settings.upstreams,
  Settings.maxBodyMb,
  Settings.lingerMb,
  Settings.lingerSeconds,
  // Where records (and the collector's credentials) go, and where prices come from: the user's choice, never a workspace's.
  Settings.otlpEnabled,
  Settings.otlpEndpoint,
  Settings.otlpHeaders,
  Settings.otlpProtocol,
  Settings.pricesDataUrl,
  // Where alerts go, with the token in its URL: the user's own, never a workspace's.
  Settings.alertWebhookUrl,
] as const;

export const ContextKeys = {
  recordingPaused: 'burnrate.recordingPaused',
  /** Set once a request has been recorded this month: completes the walkthrough's "first request" step. */
  firstRequestSeen: 'burnrate.firstRequestSeen',
} as const;

export const STATUS_ITEM_ID = 'burnrate.spend';
export const DASHBOARD_VIEW_TYPE = 'burnrate.dashboard';
export const LOG_CHANNEL_NAME = 'Burn Rate';

/** globalState keys. */
export const StateKeys = {
  /** "VAR=value" entries the user told us to leave alone without asking again. */
  keptBaseUrlsDismissed: 'burnrate.keptBaseUrls.dismissed',
} as const;
