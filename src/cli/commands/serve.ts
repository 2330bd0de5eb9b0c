/** `burnrate serve`: the loopback proxy, recording into a database, until SIGINT or SIGTERM. */
import { defaultDataDir, defaultDbPath, Engine, type Log } from '../../engine/engine';
import { loadOrCreateSecret } from '../../engine/management';
import { OwnerLock, type RequestRecord } from '../../engine/database';
import { OTLP_PROTOCOLS, otlpBaseUrl, type OtlpProtocol } from '../../engine/export';
import { nanosToUsd } from '../../engine/pricing';
import { DEFAULT_PORT } from '../../engine/proxy';
import { parseUpstreamFlag } from '../../engine/providers';
import { DEFAULT_SETTINGS, readSettingsFile } from '../../engine/settings';
import { intFlag, parse, UsageError, type Values } from '../args';
import { VERSION, type Command } from '../command';
import { lockDatabase } from '../databaseLock';

interface ServeOptions {
  settings: typeof DEFAULT_SETTINGS;
  upstreams: Record<string, string>;
  port: number;
  dataDir: string;
  dbPath: string;
  otlp: OtlpOptions | undefined;
}

const log: Log = (level, message) => {
  process.stderr.write(`${new Date().toISOString()} ${level}: ${message}\n`);
};

export const serveCommand: Command = {
  name: 'serve',
  synopsis:
    '[--port N] [--db FILE] [--upstream PROVIDER=URL]… [--config FILE]\n[--otlp-endpoint URL [--otlp-header NAME=VALUE]… [--otlp-protocol http/protobuf|http/json]]',
  summary: `Runs the loopback proxy on http://127.0.0.1:${DEFAULT_PORT}. Point SDKs at\nhttp://127.0.0.1:${DEFAULT_PORT}/<provider>/…, e.g. OPENAI_BASE_URL=http://127.0.0.1:${DEFAULT_PORT}/openai/v1`,
  async run(args) {
    await serve(args);
    return -1;
  },
  longRunning: true,
};

async function serve(args: string[]): Promise<void> {
  const { values } = parse(args, {
    port: { type: 'string', short: 'p' },
    db: { type: 'string' },
    upstream: { type: 'string', multiple: true },
    config: { type: 'string' },
    'otlp-endpoint': { type: 'string' },
    'otlp-header': { type: 'string', multiple: true },
    'otlp-protocol': { type: 'string' },
  });
  const options = serveOptions(values);
  const lock = lockDatabase(options.dbPath, 'stop it, or give this one its own --db');
  let engine: Engine;
  try {
    const { settings } = options;
    engine = await Engine.start({
      port: options.port,
      dbPath: options.dbPath,
      dataDir: options.dataDir,
      upstreams: options.upstreams,
      maxBodyBytes: settings['burnrate.proxy.maxBodyMb'] * 1024 * 1024,
      linger: { bytes: settings['burnrate.proxy.lingerMb'] * 1024 * 1024, ms: settings['burnrate.proxy.lingerSeconds'] * 1000 },
      otlp: options.otlp,
      // From --config only: a URL on the command line (with its token) would show in the process list.
      alertWebhook: settings['burnrate.alerts.webhookUrl'] ? { url: settings['burnrate.alerts.webhookUrl'] } : undefined,
      retentionDays: settings['burnrate.retention.days'],
      // Budgets and guards; their alerts and trips are warn lines on stderr.
      settings,
      log,
    });
  } catch (e) {
    lock.release();
    throw e;
  }
  engine.recorder.on('record', logRecord);
  // Signal handlers first: a caller may stop us as soon as it reads the lines below.
  stopOnSignals(engine, lock);
  announce(engine, options);
}

/** The settings of --config, overridden by the flags. */
function serveOptions(values: Values): ServeOptions {
  const settings = { ...DEFAULT_SETTINGS, ...(values.config ? readSettingsFile(values.config as string) : {}) };
  const upstreams: Record<string, string> = { ...settings['burnrate.upstreams'] };
  for (const flag of (values.upstream as string[] | undefined) ?? []) {
    const [provider, url] = parseUpstreamFlag(flag);
    upstreams[provider] = url;
  }
  const port = intFlag(values, 'port') ?? settings['burnrate.proxy.port'];
  if (port > 65535) throw new UsageError(`--port expects 0-65535, got ${port}`);
  const dataDir = defaultDataDir();
  const dbPath = (values.db as string | undefined) ?? defaultDbPath(dataDir);
  return { settings, upstreams, port, dataDir, dbPath, otlp: otlpOptions(values, settings) };
}

interface OtlpOptions {
  endpoint: string;
  headers: Record<string, string>;
  protocol: OtlpProtocol;
  serviceVersion: string;
}

/** OTLP export from --otlp-* flags (which turn it on) or the burnrate.export.otlp.* settings. */
function otlpOptions(values: Values, settings: typeof DEFAULT_SETTINGS): OtlpOptions | undefined {
  const flagEndpoint = values['otlp-endpoint'] as string | undefined;
  const enabled = flagEndpoint !== undefined || settings['burnrate.export.otlp.enabled'];
  if (!enabled) {
    if (values['otlp-header'] || values['otlp-protocol'])
      throw new UsageError('--otlp-header and --otlp-protocol need --otlp-endpoint (or burnrate.export.otlp.enabled in --config)');
    return undefined;
  }
  const endpoint = flagEndpoint ?? settings['burnrate.export.otlp.endpoint'];
  if (!endpoint) throw new UsageError('burnrate.export.otlp.enabled is on but no endpoint is set (burnrate.export.otlp.endpoint or --otlp-endpoint URL)');
  try {
    otlpBaseUrl(endpoint);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const headers = { ...settings['burnrate.export.otlp.headers'] };
  for (const flag of (values['otlp-header'] as string[] | undefined) ?? []) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--otlp-header expects NAME=VALUE, got "${flag.split('=')[0]}…"`);
    headers[flag.slice(0, eq).trim()] = flag.slice(eq + 1).trim();
  }
  const protocol = (values['otlp-protocol'] as string | undefined) ?? settings['burnrate.export.otlp.protocol'];
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol))
    throw new UsageError(`--otlp-protocol expects ${OTLP_PROTOCOLS.join(' or ')}, got "${protocol}"`);
  return { endpoint, headers, protocol: protocol as OtlpProtocol, serviceVersion: VERSION };
}

/**
 * One writer per database: the database is held in memory and saved whole, so a second writer
 * (another serve, or a VS Code window's engine) would overwrite the first one's records. The same
 * lock keeps `burnrate reprice --apply` from writing under a running engine.
 */
function logRecord(r: RequestRecord): void {
  const cost = r.costStatus === 'unpriced' ? 'unpriced' : `$${nanosToUsd(r.costNanos).toFixed(6)}${r.costStatus === 'estimated' ? ' (estimated)' : ''}`;
  log('info', `${r.provider} ${r.model ?? '?'} ${r.endpoint} ${r.status} in=${r.inputTokens} out=${r.outputTokens} ${cost}${r.error ? ` [${r.error}]` : ''}`);
}

/** Saves the database and releases the lock before exiting. */
function stopOnSignals(engine: Engine, lock: OwnerLock): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: saving and shutting down`);
    engine.close().then(
      () => {
        lock.release();
        process.exit(0);
      },
      (e: Error) => {
        log('error', `shutdown failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function announce(engine: Engine, { dataDir, dbPath, otlp }: ServeOptions): void {
  process.stdout.write(`Burn Rate proxy listening on ${engine.url}\n`);
  process.stdout.write(`  database: ${dbPath}\n`);
  if (engine.otlpExporter && otlp) process.stdout.write(`  exporting to OpenTelemetry collector: ${otlpBaseUrl(otlp.endpoint)} (${otlp.protocol})\n`);
  // The access token rides in the fragment: browsers never send it in a request line or to logs.
  process.stdout.write(`  dashboard: ${engine.url}/#token=${loadOrCreateSecret(dataDir)}\n`);
  if (engine.keptAside)
    process.stdout.write(`  warning: the database could not be read (${engine.keptAside.reason}); it was kept, untouched, as ${engine.keptAside.file}\n`);
  process.stdout.write(`  e.g. OPENAI_BASE_URL=${engine.url}/openai/v1  ANTHROPIC_BASE_URL=${engine.url}/anthropic\n`);
}
