/** `burnrate run [flags] -- COMMAND [ARGS…]`: COMMAND in the metered environment, its exit status passed back. */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { CAPTURE_ENV } from '../../capture';
import { meteredEnvRecord } from '../../engine/meter';
import { parse, UsageError } from '../args';
import type { Command } from '../command';
import { METERED_FLAGS, METERED_SYNOPSIS, meteredEnvironment, NO_PROXY_EXIT } from '../meteredEnv';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
/** Signals a terminal sends to its whole foreground process group: the command already has them. */
const TERMINAL_SIGNALS = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT']);
/** Signals this process can end by the default way (not SIGUSR1, which starts Node's inspector). */
const REPEATABLE_ENDINGS = new Set<NodeJS.Signals>(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL']);
/** The flags that take a value, as `--name` and `-short`. */
const VALUE_FLAGS = new Set(
  Object.entries(METERED_FLAGS)
    .filter(([, flag]) => flag.type === 'string')
    .flatMap(([name, flag]) => [`--${name}`, ...('short' in flag ? [`-${flag.short}`] : [])]),
);

/** Splits the flags from the command: at `--`, or at the first word that is not a flag or a flag's value. */
export function splitCommand(args: readonly string[]): { flags: string[]; command: string[] } {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return { flags: args.slice(0, i), command: args.slice(i + 1) };
    if (VALUE_FLAGS.has(arg)) i++;
    else if (!arg.startsWith('-')) return { flags: args.slice(0, i), command: args.slice(i) };
  }
  return { flags: [...args], command: [] };
}

export const runCommand: Command = {
  name: 'run',
  synopsis: `${METERED_SYNOPSIS} -- COMMAND [ARGS…]`,
  summary: `Runs COMMAND in the metered environment (base-URL variables and, unless --no-intercept,
the capture hooks for clients that read none), as its own session (default run-HHMM-xxxx).
Exits with COMMAND's status; ${NO_PROXY_EXIT} without running it when no proxy answers on the port.`,
  run: meteredRun,
  longRunning: true,
};

async function meteredRun(args: string[]): Promise<number> {
  const { flags, command } = splitCommand(args);
  const { values } = parse(flags, METERED_FLAGS);
  if (!command.length) throw new UsageError('run needs a command: burnrate run [--session S] … -- COMMAND [ARGS…]');
  const plan = await meteredEnvironment(values, 'run');
  const env: NodeJS.ProcessEnv = { ...process.env, ...meteredEnvRecord(plan) };
  // Inside a metered terminal, --no-intercept also turns off the hooks inherited from it.
  if (values['no-intercept']) for (const name of [CAPTURE_ENV.proxy, CAPTURE_ENV.routes]) delete env[name];
  return runChild(command, env);
}

/**
 * Runs the command with this process's stdio and signals. A signal sent to `burnrate` alone is
 * passed on; Ctrl-C and Ctrl-\ typed in a terminal already reach the command (the terminal signals
 * the whole foreground group), and passing them again would make a second one of them (many agents
 * quit on a second Ctrl-C). Resolves with the command's exit status; when a signal ended it, this
 * process ends by the same signal, so a calling shell sees what it would see without `burnrate run`.
 */
function runChild(command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env });
    const fromTerminal = process.stdin.isTTY === true;
    const forward = (signal: NodeJS.Signals) => {
      if (!(fromTerminal && TERMINAL_SIGNALS.has(signal))) child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const stopForwarding = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      stopForwarding();
      // As a shell: 127 for a command that is not there, 126 for one that cannot be run.
      process.stderr.write(`burnrate: ${command[0]}: ${e.code === 'ENOENT' ? 'command not found' : e.message}\n`);
      resolve(e.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, signal) => {
      stopForwarding();
      if (signal && REPEATABLE_ENDINGS.has(signal)) process.kill(process.pid, signal);
      resolve(signal ? 128 + (os.constants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}
