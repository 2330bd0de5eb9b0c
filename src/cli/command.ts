/** What every `burnrate` command shares: its shape, so the dispatcher and the help list them alike, and the version. */
import { setFlagsFromString } from 'node:v8';

/** The version the build stamps into dist/cli.js; 'dev' when run from source. */
declare const BURNRATE_VERSION: string | undefined;
export const VERSION = typeof BURNRATE_VERSION === 'string' ? BURNRATE_VERSION : 'dev';

export interface Command {
  name: string;
  /** The flags after `burnrate NAME` in the help's usage lines; a line break continues on an indented line. */
  synopsis: string;
  /** What the command does, for the help; a line break continues on an indented line. */
  summary: string;
  /** Resolves with the exit status; -1 when the process keeps running (a server). */
  run(args: string[]): Promise<number>;
  /** Runs long enough (a server, a pass over every record) for V8's optimising tier to pay off: see `forShortCommand`. */
  longRunning?: boolean;
}

/**
 * A short command runs sql.js's WebAssembly on V8's Liftoff tier alone: its process then exits when
 * its work is done, instead of waiting for V8's background TurboFan compilation (0.08–0.12 s a
 * `report` here). Long ones keep both tiers: an import ran 7 % slower on Liftoff alone.
 */
export function forShortCommand(command: Command): void {
  if (!command.longRunning) setFlagsFromString('--liftoff-only');
}

/** A command's `run` for work that ends by itself: exit status 0, or the error it throws. */
export function exitZeroAfter(work: (args: string[]) => Promise<void> | void): Command['run'] {
  return async (args) => {
    await work(args);
    return 0;
  };
}

/** The reader of stdout has gone (`burnrate export | head -2`): what Unix tools end quietly on. */
export function isClosedPipe(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/**
 * A closed stdout ends a command quietly (exit 0), as Unix tools do, instead of with a stack trace:
 * its EPIPE is taken here, further output is dropped, and `writeOut` tells a long writer to stop.
 */
export function quietOnClosedStdout(): void {
  process.stdout.on('error', (e) => {
    if (!isClosedPipe(e)) throw e;
  });
}

/**
 * Writes to `out`, waiting while its buffer is full so a large output is not held in memory.
 * Resolves false once the reader is gone (stdout closed): the caller stops writing. Other write
 * errors (a full disk under --out) reject.
 */
export function writeOut(out: NodeJS.WritableStream & { destroyed: boolean; errored?: Error | null }, text: string): Promise<boolean> {
  const gone = (): boolean => {
    if (out.errored && !isClosedPipe(out.errored)) throw out.errored;
    return out.destroyed;
  };
  if (gone()) return Promise.resolve(false);
  if (out.write(text)) return Promise.resolve(true);
  if (gone()) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const settle = (open: boolean, e?: Error) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onError);
      if (e && !isClosedPipe(e)) reject(e);
      else resolve(open);
    };
    const onDrain = () => settle(true);
    const onClose = () => settle(false);
    const onError = (e: Error) => settle(false, e);
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onError);
  });
}
