/** The shape every `burnrate` command shares, so the dispatcher and the help text list them alike. */
export interface Command {
  name: string;
  /** The flags after `burnrate NAME` in the help's usage lines; a line break continues on an indented line. */
  synopsis: string;
  /** What the command does, for the help; a line break continues on an indented line. */
  summary: string;
  /** Resolves with the exit status; -1 when the process keeps running (a server). */
  run(args: string[]): Promise<number>;
}
