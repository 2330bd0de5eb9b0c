/**
 * The `burnrate` command line: the usage text, and each command found by name.
 * A command's module (and the engine parts it needs: the proxy, OpenTelemetry, the price
 * catalogue) is loaded only when that command runs, so `report` does not start by evaluating `serve`.
 */
import { HelpRequested, UsageError } from './args';
import { forShortCommand, VERSION, type Command } from './command';

/** In the order the help lists them. */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Command]> = [
  ['serve', () => (require('./commands/serve') as typeof import('./commands/serve')).serveCommand],
  ['report', () => (require('./commands/report') as typeof import('./commands/report')).reportCommand],
  ['export', () => (require('./commands/export') as typeof import('./commands/export')).exportCommand],
  ['import', () => (require('./commands/import') as typeof import('./commands/import')).importCommand],
  ['prices', () => (require('./commands/prices') as typeof import('./commands/prices')).pricesCommand],
  ['estimate', () => (require('./commands/estimate') as typeof import('./commands/estimate')).estimateCommand],
  ['reprice', () => (require('./commands/reprice') as typeof import('./commands/reprice')).repriceCommand],
  ['sessions', () => (require('./commands/sessions') as typeof import('./commands/sessions')).sessionsCommand],
  ['run', () => (require('./commands/run') as typeof import('./commands/run')).runCommand],
  ['env', () => (require('./commands/env') as typeof import('./commands/env')).envCommand],
];

/** Errors whose message says it all: no stack trace, even with BURNRATE_DEBUG (loaded when one is reported). */
function expectedErrors(): ReadonlyArray<abstract new (...args: never[]) => Error> {
  const database = require('../engine/database') as typeof import('../engine/database');
  const exporters = require('../engine/export') as typeof import('../engine/export');
  const pricing = require('../engine/pricing') as typeof import('../engine/pricing');
  const queries = require('../engine/queries') as typeof import('../engine/queries');
  const providers = require('../engine/providers') as typeof import('../engine/providers');
  const settings = require('../engine/settings') as typeof import('../engine/settings');
  const importing = require('./commands/import') as typeof import('./commands/import');
  const lock = require('./databaseLock') as typeof import('./databaseLock');
  return [
    UsageError,
    lock.DatabaseInUseError,
    importing.ImportError,
    database.DatabaseUnreadableError,
    queries.SinceError,
    settings.SettingsError,
    providers.RouteTableError,
    pricing.PriceRefreshError,
    exporters.OtlpConfigError,
  ];
}

/** Lines after the first of a multi-line entry line up under its first line. */
function indented(text: string, first: string, width: number): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? first : ' '.repeat(width)) + line)
    .join('\n');
}

function helpText(): string {
  const commands = COMMANDS.map(([, load]) => load());
  const { defaultDbPath } = require('../engine/dataDir') as typeof import('../engine/dataDir');
  const usage = commands.map((c) => indented(c.synopsis, `  burnrate ${c.name.padEnd(8)} `, 20)).join('\n');
  const summaries = commands.map((c) => indented(c.summary, `${c.name.padEnd(10)} `, 11)).join('\n');
  return `burnrate ${VERSION}: see and bound your AI API spend

Usage:
${usage}

${summaries}

The database defaults to ${defaultDbPath('$BURNRATE_HOME')} ($BURNRATE_HOME defaults to ~/.burnrate).
--config FILE reads the same keys as the VS Code settings (burnrate.proxy.port, burnrate.upstreams, …).
`;
}

/** Runs one command line; resolves with the exit status, or -1 while a server keeps running. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  try {
    const command = COMMANDS.find(([commandName]) => commandName === name);
    if (command) {
      const loaded = command[1]();
      forShortCommand(loaded);
      return await loaded.run(args);
    }
    switch (name) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        throw new HelpRequested();
      case '--version':
      case '-v':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${name}" (try burnrate --help)`);
    }
  } catch (e) {
    return failed(e);
  }
}

/** Reports an error on stderr and gives its exit status: 2 for a mistake on the command line, as other Unix tools. */
function failed(e: unknown): number {
  if (e instanceof HelpRequested) {
    process.stdout.write(helpText());
    return 0;
  }
  process.stderr.write(`burnrate: ${(e as Error).message}\n`);
  const { NO_PROXY_EXIT, NoProxyError } = require('./meteredEnv') as typeof import('./meteredEnv');
  if (e instanceof NoProxyError) return NO_PROXY_EXIT;
  const expected = expectedErrors().some((type) => e instanceof type);
  if (!expected && process.env.BURNRATE_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  const { SinceError } = require('../engine/queries') as typeof import('../engine/queries');
  return e instanceof UsageError || e instanceof SinceError ? 2 : 1;
}
