/**
 * The engine a window hosts: the engine bundle loaded on demand, started in this extension host
 * with the window's settings, and the EngineLink that decides when to host it or follow another.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type * as EngineApi from '../../engine/api';
import { readSecret } from '../../engine/management';
import type { RequestRecord } from '../../engine/database';
import { formatUsd } from '../../shared';
import { type ConfigStore, guardSettingsUpdate } from '../settings';
import { workspaceTag } from '../workspaceTag';
import { EngineLink, type HostedEngine } from './engineLink';

/** The engine bundle (dist/engine.js), loaded the first time it is needed, not at activation. */
let engineApi: typeof EngineApi | undefined;
export function loadEngineApi(): typeof EngineApi {
  // A computed path keeps esbuild from bundling the engine into this file.
  engineApi ??= require(path.join(__dirname, 'engine.js')) as typeof EngineApi;
  return engineApi;
}

/** Where `burnrate serve` keeps its data (as src/engine/engine.ts defaultDataDir), to follow a CLI engine too. */
function cliDataDir(): string {
  return process.env.BURNRATE_HOME || path.join(os.homedir(), '.burnrate');
}

export interface EngineHostingDeps {
  /** The extension's global storage: the database, its owner lock and the management secret. */
  dataDir: string;
  config: ConfigStore;
  log: vscode.LogOutputChannel;
  /** Tells the user something went wrong that they should know of (a VS Code warning). */
  warn: (message: string) => void;
}

/** The link of this window to the engine, hosting it here when no other window or process does. */
export function createEngineLink(deps: EngineHostingDeps): EngineLink {
  const { config, dataDir, log } = deps;
  return new EngineLink({
    port: config.config.port,
    lockFile: `${databasePath(dataDir)}.owner`,
    secrets: () => [readSecret(dataDir), readSecret(cliDataDir())].filter((s): s is string => !!s),
    log: (level, message) => log[level](message),
    workspace: workspaceTag().workspace,
    host: (port, { recordingPaused }) => hostEngine(deps, port, recordingPaused),
  });
}

function databasePath(dataDir: string): string {
  return path.join(dataDir, 'burnrate.sqlite');
}

/** Starts the engine in this extension host, on `port`, with the window's settings. */
async function hostEngine({ config, dataDir, log, warn }: EngineHostingDeps, port: number, recordingPaused: boolean): Promise<HostedEngine> {
  const cfg = config.config;
  const dbPath = databasePath(dataDir);
  const api = loadEngineApi();
  const engine = await api.Engine.start({
    port,
    dbPath,
    dataDir,
    upstreams: cfg.upstreams,
    maxBodyBytes: cfg.maxBodyMb * 1024 * 1024,
    linger: { bytes: cfg.linger.mb * 1024 * 1024, ms: cfg.linger.seconds * 1000 },
    otlp: cfg.otlp,
    alertWebhook: cfg.alertWebhookUrl ? { url: cfg.alertWebhookUrl } : undefined,
    retentionDays: cfg.retentionDays,
    recordingPaused,
    // Limits for all traffic from the start; each window then sends its own workspace's (sendGuardSettings).
    settings: guardSettingsUpdate(config.userConfig, cfg, undefined).global,
    log: (level, message) => log[level](message),
  });
  engine.recorder.on('record', (r: RequestRecord) => log.debug(recordLine(api, r)));
  log.info(`engine started on ${engine.url}, database ${dbPath}`);
  if (engine.keptAside) {
    warn(
      `Burn Rate could not read its database (${engine.keptAside.reason}). It was kept, untouched, as ${engine.keptAside.file}; new requests are recorded in a fresh database.`,
    );
  }
  return { instance: engine.management.health.instance, close: () => engine.close() };
}

/** A record as the log shows it. No keys, no bodies: what was called and what it cost. */
function recordLine(api: typeof EngineApi, r: RequestRecord): string {
  const cost = r.costStatus === 'unpriced' ? 'unpriced' : `${formatUsd(api.nanosToUsd(r.costNanos))}${r.costStatus === 'estimated' ? ' (estimated)' : ''}`;
  return `${r.provider} ${r.model ?? '?'} ${r.endpoint} ${r.status} in=${r.inputTokens} out=${r.outputTokens} ${cost}${r.session ? ` session=${r.session}` : ''}`;
}
