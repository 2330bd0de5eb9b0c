/** `burnrate env [flags] [--shell …]`: the metered environment as shell code, for `eval "$(burnrate env)"`. */
import * as path from 'node:path';
import { setupSnippet, type SnippetFormat } from '../../engine/meter';
import { parse, UsageError } from '../args';
import type { Command } from '../command';
import { METERED_FLAGS, METERED_SYNOPSIS, meteredEnvironment } from '../meteredEnv';

const SHELLS: Record<string, SnippetFormat> = { sh: 'sh', bash: 'sh', zsh: 'sh', fish: 'fish', powershell: 'powershell', pwsh: 'powershell' };

export const envCommand: Command = {
  name: 'env',
  synopsis: `${METERED_SYNOPSIS} [--shell bash|zsh|fish|powershell]`,
  summary: 'Prints the same environment as shell code: eval "$(burnrate env)".',
  run: printEnvironment,
};

async function printEnvironment(args: string[]): Promise<number> {
  const { values } = parse(args, { ...METERED_FLAGS, shell: { type: 'string' } });
  const format = snippetFormat(values.shell as string | undefined);
  const plan = await meteredEnvironment(values, 'env');
  const session = plan.variables.find((v) => v.variable === 'BURNRATE_SESSION')?.value;
  process.stdout.write(setupSnippet(format, plan.variables, session ? `session ${session}` : undefined));
  return 0;
}

/** --shell, or the user's login shell ($SHELL), or sh. */
function snippetFormat(shell: string | undefined): SnippetFormat {
  const name = shell ?? path.basename(process.env.SHELL ?? (process.platform === 'win32' ? 'powershell' : 'sh'));
  const format = SHELLS[name.replace(/\.exe$/i, '').toLowerCase()];
  if (!format) {
    if (shell !== undefined) throw new UsageError(`--shell expects bash, zsh, fish or powershell, got "${shell}"`);
    return 'sh';
  }
  return format;
}
