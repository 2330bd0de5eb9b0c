#!/usr/bin/env node
import * as fs from 'node:fs';
import { intFlag, parse, UsageError, type Values } from './cli/args';
import { envCommand } from './cli/env';
import { NO_PROXY_EXIT, NoProxyError } from './cli/meteredEnv';
import { runCommand } from './cli/run';
import { DatabaseUnreadableError, SpendDatabase } from './engine/db';
import { defaultDataDir, defaultDbPath, Engine, type Log } from './engine/engine';
import { OwnerLock } from './engine/ownerLock';
import { readJournalRecords } from './engine/recorder';
import { loadOrCreateSecret } from './engine/managementProtocol';
import { BUNDLED_OVERRIDES_SOURCE, listPrices, nanosToUsd, priceUsage, resolveModel, USER_OVERRIDES_SOURCE } from './engine/pricing';
import { DEFAULT_PORT } from './engine/proxy';
import { GROUP_BY, parseSince, SinceError, SpendQuery, type GroupBy, type SpendReport } from './engine/queries';
import { csvHeader, csvLine, jsonLine } from './engine/exportFormat';
import type { RequestRecord } from './engine/record';
import { parseUpstreamFlag, RouteTable, RouteTableError } from './engine/routes';
import { DEFAULT_SETTINGS, readSettingsFile, SettingsError } from './engine/settings';
import { OTLP_PROTOCOLS, OtlpConfigError, otlpBaseUrl, type OtlpProtocol } from './engine/otlpConfig';
import { describePrices, loadStoredPriceData, PriceRefreshError, refreshPriceData } from './engine/priceData';
import { applyReprice, repriceRecords } from './engine/reprice';

declare const BURNRATE_VERSION: string | undefined;
const VERSION = typeof BURNRATE_VERSION === 'string' ? BURNRATE_VERSION : 'dev';

const HELP = `burnrate ${VERSION}: see and bound your AI API spend

Usage:
  burnrate serve    [--port N] [--db FILE] [--upstream PROVIDER=URL]… [--config FILE]
                    [--otlp-endpoint URL [--otlp-header NAME=VALUE]… [--otlp-protocol http/protobuf|http/json]]
  burnrate report   [--db FILE] [--since 24h|7d|30d|today|week|month|all|ISO] [--by ${GROUP_BY.join('|')}] [--json]
  burnrate export   [--db FILE] --format csv|jsonl [--since …] [--out FILE]
  burnrate prices   [MODEL] [--json] | --refresh [--url URL]
  burnrate estimate --model M --input-tokens N --output-tokens N [--cached-tokens N] [--requests K] [--json]
  burnrate reprice  [--db FILE] --since … [--until …] [--model M] [--apply] [--json]
  burnrate run      [--port N] [--session S] [--feature F] [--user U] [--no-intercept] -- COMMAND [ARGS…]
  burnrate env      [--port N] [--session S] [--feature F] [--user U] [--no-intercept] [--shell bash|zsh|fish|powershell]

serve      Runs the loopback proxy on http://127.0.0.1:${DEFAULT_PORT}. Point SDKs at
           http://127.0.0.1:${DEFAULT_PORT}/<provider>/…, e.g. OPENAI_BASE_URL=http://127.0.0.1:${DEFAULT_PORT}/openai/v1
report     Spend and tokens, in total and grouped (--json: {"total": …, "groups": […]}).
export     One row per request, as CSV or JSON lines.
prices     The price table (USD per million tokens), optionally filtered by model, and the date of
           the price data. --refresh fetches the price library's latest published prices.
estimate   What a model would cost for the given tokens.
reprice    Recomputes the cost of a period's records (of one model: --model) with the prices in force now
           and shows the difference; --apply writes it (with no burnrate serve running on the database).
run        Runs COMMAND in the metered environment (base-URL variables and, unless --no-intercept,
           the capture hooks for clients that read none), as its own session (default run-HHMM-xxxx).
           Exits with COMMAND's status; ${NO_PROXY_EXIT} without running it when no proxy answers on the port.
env        Prints the same environment as shell code: eval "$(burnrate env)".

The database defaults to ${defaultDbPath('$BURNRATE_HOME')} ($BURNRATE_HOME defaults to ~/.burnrate).
--config FILE reads the same keys as the VS Code settings (burnrate.proxy.port, burnrate.upstreams, …).
`;

class DatabaseInUseError extends Error {}

function wantHelp(values: Values): boolean {
  if (!values.help) return false;
  process.stdout.write(HELP);
  return true;
}

const log: Log = (level, message) => {
  process.stderr.write(`${new Date().toISOString()} ${level}: ${message}\n`);
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
  if (wantHelp(values)) return;
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
  const otlp = otlpOptions(values, settings);
  // One writer per database: the database is held in memory and saved whole, so a second writer
  // (another serve, or a VS Code window's engine) would overwrite the first one's records. The same
  // lock keeps `burnrate reprice --apply` from writing under a running engine.
  const lock = OwnerLock.tryAcquire(`${dbPath}.owner`);
  if (!lock) {
    const holder = OwnerLock.holder(`${dbPath}.owner`);
    throw new DatabaseInUseError(
      `the database ${dbPath} is in use by process ${holder?.pid ?? '?'} (another burnrate serve or a VS Code window); stop it, or give this one its own --db`,
    );
  }
  let engine: Engine;
  try {
    engine = await Engine.start({
      port,
      dbPath,
      dataDir,
      upstreams,
      maxBodyBytes: settings['burnrate.proxy.maxBodyMb'] * 1024 * 1024,
      otlp,
      retentionDays: settings['burnrate.retention.days'],
      // Budgets and guards; their alerts and trips are warn lines on stderr.
      settings,
      log,
    });
  } catch (e) {
    lock.release();
    throw e;
  }
  engine.recorder.on('record', (r: RequestRecord) => {
    const cost = r.costStatus === 'unpriced' ? 'unpriced' : `$${nanosToUsd(r.costNanos).toFixed(6)}${r.costStatus === 'estimated' ? ' (estimated)' : ''}`;
    log('info', `${r.provider} ${r.model ?? '?'} ${r.endpoint} ${r.status} in=${r.inputTokens} out=${r.outputTokens} ${cost}${r.error ? ` [${r.error}]` : ''}`);
  });
  // Signal handlers first: a caller may stop us as soon as it reads the line below.
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
  process.stdout.write(`Burn Rate proxy listening on ${engine.url}\n`);
  process.stdout.write(`  database: ${dbPath}\n`);
  if (engine.otlpExporter) process.stdout.write(`  exporting to OpenTelemetry collector: ${otlpBaseUrl(otlp!.endpoint)} (${otlp!.protocol})\n`);
  // The access token rides in the fragment: browsers never send it in a request line or to logs.
  process.stdout.write(`  dashboard: ${engine.url}/#token=${loadOrCreateSecret(dataDir)}\n`);
  if (engine.keptAside) process.stdout.write(`  warning: the database could not be read (${engine.keptAside.reason}); it was kept, untouched, as ${engine.keptAside.file}\n`);
  process.stdout.write(`  e.g. OPENAI_BASE_URL=${engine.url}/openai/v1  ANTHROPIC_BASE_URL=${engine.url}/anthropic\n`);
}

/** OTLP export from --otlp-* flags (which turn it on) or the burnrate.export.otlp.* settings. */
function otlpOptions(values: Values, settings: typeof DEFAULT_SETTINGS): { endpoint: string; headers: Record<string, string>; protocol: OtlpProtocol; serviceVersion: string } | undefined {
  const flagEndpoint = values['otlp-endpoint'] as string | undefined;
  const enabled = flagEndpoint !== undefined || settings['burnrate.export.otlp.enabled'];
  if (!enabled) {
    if (values['otlp-header'] || values['otlp-protocol']) throw new UsageError('--otlp-header and --otlp-protocol need --otlp-endpoint (or burnrate.export.otlp.enabled in --config)');
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
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`--otlp-protocol expects ${OTLP_PROTOCOLS.join(' or ')}, got "${protocol}"`);
  return { endpoint, headers, protocol: protocol as OtlpProtocol, serviceVersion: VERSION };
}

/** Opens the database read-only, with records a running proxy has journalled but not yet saved. */
async function openForReading(dbFlag: unknown): Promise<SpendQuery> {
  const file = (dbFlag as string | undefined) ?? defaultDbPath();
  const journalled = readJournalRecords(file);
  const database = await SpendDatabase.open(file, { create: journalled.length > 0 });
  database.insert(journalled);
  return new SpendQuery(database.db);
}

async function report(args: string[]): Promise<void> {
  const { values } = parse(args, { db: { type: 'string' }, since: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' } });
  if (wantHelp(values)) return;
  const by = values.by as string | undefined;
  if (by !== undefined && !(GROUP_BY as readonly string[]).includes(by)) throw new UsageError(`--by expects one of ${GROUP_BY.join(', ')}; got "${by}"`);
  const sinceText = (values.since as string | undefined) ?? 'all';
  const since = parseSince(sinceText);
  const query = await openForReading(values.db);
  const result = query.report({ since, by: by as GroupBy | undefined });
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  process.stdout.write(formatReport(result, by, sinceText));
}

function formatReport(result: SpendReport, by: string | undefined, since: string): string {
  const rows = [[by ?? '', 'cost (USD)', 'requests', 'input', 'cached', 'output', 'unpriced']];
  const fmt = (key: string, t: SpendReport['total']) => [
    key, `$${t.costUsd.toFixed(6)}`, String(t.requests), String(t.inputTokens), String(t.cacheReadTokens), String(t.outputTokens), t.unpricedRequests ? String(t.unpricedRequests) : '',
  ];
  for (const g of result.groups) rows.push(fmt(g.key, g));
  rows.push(fmt('total', result.total));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
  const note = result.total.unpricedRequests ? `\n${result.total.unpricedRequests} request(s) have no known price and are not in the cost; see \`burnrate export\`.\n` : '';
  return `Spend since ${since}${by ? `, by ${by}` : ''}\n\n${lines.join('\n')}\n${note}`;
}

async function exportCommand(args: string[]): Promise<void> {
  const { values } = parse(args, { db: { type: 'string' }, since: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } });
  if (wantHelp(values)) return;
  const format = values.format;
  if (format !== 'csv' && format !== 'jsonl') throw new UsageError('--format expects csv or jsonl');
  const since = values.since ? parseSince(values.since as string) : undefined;
  const query = await openForReading(values.db);
  const out = values.out ? fs.createWriteStream(values.out as string) : process.stdout;
  const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  if (format === 'csv') await write(csvHeader());
  for (const rec of query.records({ since })) await write(format === 'csv' ? csvLine(rec) : jsonLine(rec));
  if (out !== process.stdout) await new Promise<void>((r) => out.end(r));
}

async function prices(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, refresh: { type: 'boolean' }, url: { type: 'string' } }, 1);
  if (wantHelp(values)) return;
  const dataDir = defaultDataDir();
  if (values.refresh) {
    if (positionals.length) throw new UsageError('--refresh takes no model');
    const info = await refreshPriceData({ dataDir, url: values.url as string | undefined });
    if (values.json) {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return;
    }
    process.stdout.write(`Prices updated: ${info.models} models from ${info.providers} providers.\n${describePrices(info)}\n` +
      'New requests are priced with them (a running burnrate serve picks them up within a minute); pricing/overrides.json still wins.\n');
    return;
  }
  if (values.url) throw new UsageError('--url goes with --refresh');
  const info = loadStoredPriceData(dataDir);
  const routes = new RouteTable();
  const rows = listPrices(routes.pricesProviders(), positionals[0]);
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  if (!rows.length) throw new UsageError(`no price known for a model matching "${positionals[0]}"`);
  const money = (n: number | undefined) => (n === undefined ? '-' : `$${n}`);
  const table = [['provider', 'model', 'input/1M', 'cached/1M', 'cache write/1M', 'output/1M', 'long context from', 'source']];
  for (const r of rows) table.push([r.provider, r.model, money(r.inputPerMTok), money(r.cachedInputPerMTok), money(r.cacheWritePerMTok), money(r.outputPerMTok), r.longContextThreshold ? `${r.longContextThreshold} tokens` : '', r.source === BUNDLED_OVERRIDES_SOURCE ? 'override' : r.source === USER_OVERRIDES_SOURCE ? 'your override' : '']);
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  process.stdout.write(table.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + `\n\nPrices: ${describePrices(info)}\n`);
}

async function reprice(args: string[]): Promise<void> {
  const { values } = parse(args, { db: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, model: { type: 'string' }, apply: { type: 'boolean' }, json: { type: 'boolean' } });
  if (wantHelp(values)) return;
  if (!values.since) throw new UsageError('--since is required (e.g. --since 30d, --since 2025-06-01)');
  const since = parseSince(values.since as string);
  const until = values.until ? parseSince(values.until as string) : undefined;
  if (until !== undefined && until <= since) throw new UsageError('--until must be after --since');
  const file = (values.db as string | undefined) ?? defaultDbPath();
  const prices = loadStoredPriceData(defaultDataDir());
  let lock: OwnerLock | undefined;
  if (values.apply) {
    // The running engine holds the database in memory and would overwrite the change at its next save.
    lock = OwnerLock.tryAcquire(`${file}.owner`);
    if (!lock) throw new UsageError(`${file} is in use by a running Burn Rate (burnrate serve or VS Code); stop it, then run reprice --apply again`);
  }
  try {
    const journalled = readJournalRecords(file);
    if (values.apply && journalled.length) throw new UsageError(`${file} has ${journalled.length} journalled record(s) not yet saved; start and stop burnrate serve once to fold them in, then run reprice --apply again`);
    const database = await SpendDatabase.open(file, { create: false });
    database.insert(journalled);
    const result = repriceRecords(database.db, new RouteTable(), { since, until, model: values.model as string | undefined });
    if (values.apply) {
      applyReprice(database.db, result.changes);
      await database.save();
    }
    database.close();
    const delta = result.afterNanos - result.beforeNanos;
    if (values.json) {
      process.stdout.write(JSON.stringify({
        applied: !!values.apply, prices: prices?.version ?? null, examined: result.examined, changed: result.changes.length,
        beforeUsd: nanosToUsd(result.beforeNanos), afterUsd: nanosToUsd(result.afterNanos), differenceUsd: nanosToUsd(delta), kept: result.kept,
        changes: result.changes.map((c) => ({ ...c, startedAt: new Date(c.startedAt).toISOString(), before: { ...c.before, costUsd: nanosToUsd(c.before.costNanos) }, after: { ...c.after, costUsd: nanosToUsd(c.after.costNanos) } })),
      }, null, 2) + '\n');
      return;
    }
    const lines = [`Repricing ${result.examined} record(s) since ${new Date(since).toISOString()}${until !== undefined ? ` until ${new Date(until).toISOString()}` : ''}`, `with ${describePrices(prices)}`, ''];
    for (const c of result.changes.slice(0, 20)) {
      lines.push(`  ${new Date(c.startedAt).toISOString()}  ${c.provider} ${c.model}  $${nanosToUsd(c.before.costNanos).toFixed(6)} (${c.before.costStatus}) → $${nanosToUsd(c.after.costNanos).toFixed(6)} (${c.after.costStatus})`);
    }
    if (result.changes.length > 20) lines.push(`  … and ${result.changes.length - 20} more (--json lists them all)`);
    lines.push(`${result.changes.length} record(s) change: $${nanosToUsd(result.beforeNanos).toFixed(6)} → $${nanosToUsd(result.afterNanos).toFixed(6)} (${delta >= 0 ? '+' : '-'}$${nanosToUsd(Math.abs(delta)).toFixed(6)})`);
    const kept = Object.entries(result.kept).map(([reason, n]) => `${n} ${reason}`).join(', ');
    if (kept) lines.push(`Left as they were: ${kept}.`);
    lines.push(values.apply ? 'Applied.' : 'Dry run: nothing was written. Run again with --apply to write the new costs.');
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    lock?.release();
  }
}

function estimate(args: string[]): void {
  const { values } = parse(args, {
    model: { type: 'string' },
    'input-tokens': { type: 'string' },
    'output-tokens': { type: 'string' },
    'cached-tokens': { type: 'string' },
    requests: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (wantHelp(values)) return;
  if (!values.model) throw new UsageError('--model is required');
  const input = intFlag(values, 'input-tokens');
  const output = intFlag(values, 'output-tokens');
  if (input === undefined || output === undefined) throw new UsageError('--input-tokens and --output-tokens are required');
  const cached = intFlag(values, 'cached-tokens') ?? 0;
  if (cached > input) throw new UsageError('--cached-tokens cannot exceed --input-tokens');
  const requests = intFlag(values, 'requests', 1) ?? 1;
  const resolved = resolveModel(values.model as string, new RouteTable().pricesProviders());
  if (!resolved) throw new UsageError(`no price known for model "${values.model}" (see \`burnrate prices\`)`);
  const quote = priceUsage(resolved.pricesProvider, resolved.model, {
    inputTokens: input, cacheReadTokens: cached, cacheWriteTokens: 0, cacheWrite1hTokens: 0, outputTokens: output, reasoningTokens: 0,
  });
  const perRequestUsd = nanosToUsd(quote.costNanos);
  const totalUsd = nanosToUsd(quote.costNanos * requests);
  if (values.json) {
    process.stdout.write(JSON.stringify({ provider: resolved.pricesProvider, model: quote.matchedModel, requests, perRequestUsd, totalUsd, source: quote.source }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `${resolved.pricesProvider} ${quote.matchedModel}: $${perRequestUsd.toFixed(6)} per request` +
      (requests > 1 ? `, $${totalUsd.toFixed(6)} for ${requests} requests` : '') +
      `\n(${input} input tokens${cached ? `, ${cached} of them cached` : ''}, ${output} output tokens; prices from ${quote.source})\n`,
  );
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'serve':
        await serve(args);
        return -1; // keeps running
      case 'report':
        await report(args);
        return 0;
      case 'export':
        await exportCommand(args);
        return 0;
      case 'prices':
        await prices(args);
        return 0;
      case 'estimate':
        loadStoredPriceData(defaultDataDir());
        estimate(args);
        return 0;
      case 'reprice':
        await reprice(args);
        return 0;
      case 'run':
        return await runCommand(args, () => process.stdout.write(HELP));
      case 'env':
        return await envCommand(args, () => process.stdout.write(HELP));
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return 0;
      case '--version':
      case '-v':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}" (try burnrate --help)`);
    }
  } catch (e) {
    const known = e instanceof UsageError || e instanceof DatabaseInUseError || e instanceof DatabaseUnreadableError || e instanceof SinceError || e instanceof SettingsError || e instanceof RouteTableError || e instanceof PriceRefreshError || e instanceof OtlpConfigError;
    process.stderr.write(`burnrate: ${(e as Error).message}\n`);
    if (e instanceof NoProxyError) return NO_PROXY_EXIT;
    if (!known && process.env.BURNRATE_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return e instanceof UsageError || e instanceof SinceError ? 2 : 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    if (code >= 0) process.exitCode = code;
  });
}
