/** What every `burnrate` command shares: its shape, so the dispatcher and the help list them alike, and the version. */

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
}

/** A command's `run` for work that ends by itself: exit status 0, or the error it throws. */
export function exitZeroAfter(work: (args: string[]) => Promise<void> | void): Command['run'] {
  return async (args) => {
    await work(args);
    return 0;
  };
}
