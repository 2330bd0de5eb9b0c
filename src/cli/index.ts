/** The `burnrate` command line: the usage text, and each command found by name. */
import { DatabaseUnreadableError } from '../engine/database';
import { defaultDbPath } from '../engine/engine';
import { OtlpConfigError } from '../engine/export';
import { PriceRefreshError } from '../engine/pricing';
import { SinceError } from '../engine/queries';
import { RouteTableError } from '../engine/providers';
import { SettingsError } from '../engine/settings';
import { HelpRequested, UsageError } from './args';
import { VERSION, type Command } from './command';
import { envCommand } from './commands/env';
import { estimateCommand } from './commands/estimate';
import { exportCommand } from './commands/export';
import { ImportError, importCommand } from './commands/import';
import { NO_PROXY_EXIT, NoProxyError } from './meteredEnv';
import { pricesCommand } from './commands/prices';
import { repriceCommand } from './commands/reprice';
import { reportCommand } from './commands/report';
import { runCommand } from './commands/run';
import { serveCommand } from './commands/serve';
import { sessionsCommand } from './commands/sessions';
import { DatabaseInUseError } from './databaseLock';

/** In the order the help lists them. */
const COMMANDS: readonly Command[] = [
  serveCommand,
  reportCommand,
  exportCommand,
  importCommand,
  pricesCommand,
  estimateCommand,
  repriceCommand,
  sessionsCommand,
  runCommand,
  envCommand,
];

/** Errors whose message says it all: no stack trace, even with BURNRATE_DEBUG. */
const EXPECTED_ERRORS = [
  UsageError,
  DatabaseInUseError,
  ImportError,
  DatabaseUnreadableError,
  SinceError,
  SettingsError,
  RouteTableError,
  PriceRefreshError,
  OtlpConfigError,
];

/** Lines after the first of a multi-line entry line up under its first line. */
function indented(text: string, first: string, width: number): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? first : ' '.repeat(width)) + line)
    .join('\n');
}

function helpText(): string {
  const usage = COMMANDS.map((c) => indented(c.synopsis, `  burnrate ${c.name.padEnd(8)} `, 20)).join('\n');
  const summaries = COMMANDS.map((c) => indented(c.summary, `${c.name.padEnd(10)} `, 11)).join('\n');
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
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return await command.run(args);
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
  if (e instanceof NoProxyError) return NO_PROXY_EXIT;
  const expected = EXPECTED_ERRORS.some((type) => e instanceof type);
  if (!expected && process.env.BURNRATE_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  return e instanceof UsageError || e instanceof SinceError ? 2 : 1;
}
