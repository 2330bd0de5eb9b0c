/** Command-line flags, read the same way by every command. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line: exit status 2, as other Unix tools. */
export class UsageError extends Error {}

/** `--help` on any command: the dispatcher prints the usage text and exits 0. */
export class HelpRequested extends Error {}

export type Values = Record<string, string | boolean | string[] | undefined>;

export function parse(args: string[], options: ParseArgsConfig['options'], allowPositionals = 0): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: allowPositionals > 0,
      strict: true,
    });
    if (positionals.length > allowPositionals) throw new UsageError(`unexpected argument "${positionals[allowPositionals]}"`);
    if (values.help) throw new HelpRequested();
    return { values: values as Values, positionals };
  } catch (e) {
    if (e instanceof UsageError || e instanceof HelpRequested) throw e;
    throw new UsageError((e as Error).message.split('\n')[0].replace(/^Unknown option/, 'unknown option'));
  }
}

export function intFlag(values: Values, name: string, min = 0): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim()) || n < min)
    throw new UsageError(`--${name} expects a whole number${min ? ` ≥ ${min}` : ''}, got "${String(raw)}"`);
  return n;
}
