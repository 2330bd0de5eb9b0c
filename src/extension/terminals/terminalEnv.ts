/**
 * How a metered terminal is launched so its session's variables win. Pure (no vscode import); the
 * variables themselves come from the metered-environment planner (src/engine/meter).
 */
import type { SnippetEntry } from '../../engine/meter';

/** How to start a metered terminal so its session-tagged variables win over the window-wide ones. */
export type MeteredLaunch = { kind: 'envWrapper'; shellPath: string; shellArgs: string[] } | { kind: 'strictEnv'; env: Record<string, string> };

/**
 * VS Code applies extensions' environmentVariableCollections after a terminal's own `env`, and on
 * remote hosts (SSH, WSL, containers, code-server) it drops `strictEnv` too, so a terminal cannot
 * out-vote the window-wide variables through its options. On POSIX the metered terminal therefore
 * starts `/usr/bin/env VAR=value… <the user's shell>`: env sets the session's variables last, then
 * becomes the shell. On Windows (local terminals honour strictEnv) it uses strictEnv.
 */
export function meteredLaunch(opts: {
  platform: NodeJS.Platform;
  shell: string;
  entries: readonly SnippetEntry[];
  /** Variables beyond the plan's (set last). */
  extra?: Record<string, string>;
  baseEnv: Record<string, string | undefined>;
}): MeteredLaunch {
  const assignments = [...opts.entries.map((e) => [e.variable, e.value] as const), ...Object.entries(opts.extra ?? {})];
  if (opts.platform === 'win32') {
    return { kind: 'strictEnv', env: { ...strictTerminalEnv(opts.baseEnv, opts.entries), ...opts.extra } };
  }
  const shell = opts.shell || '/bin/sh';
  // A login shell on macOS, as VS Code's own default profiles there are.
  const login = opts.platform === 'darwin' && /\/(ba|z)sh$/.test(shell) ? ['-l'] : [];
  return { kind: 'envWrapper', shellPath: '/usr/bin/env', shellArgs: [...assignments.map(([k, v]) => `${k}=${v}`), shell, ...login] };
}

/**
 * Environment for a terminal created with `strictEnv` (the metered terminal on Windows: its own
 * session tag must win over the window-wide variables). Starts from the extension host's environment minus the
 * variables that only make sense inside the extension host.
 */
export function strictTerminalEnv(base: Record<string, string | undefined>, entries: readonly SnippetEntry[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || EXTENSION_HOST_ONLY.test(k)) continue;
    env[k] = v;
  }
  for (const e of entries) env[e.variable] = e.value;
  return env;
}

const EXTENSION_HOST_ONLY = /^(ELECTRON_RUN_AS_NODE|ELECTRON_NO_ATTACH_CONSOLE|ELECTRON_NO_ASAR|VSCODE_(?!GIT_).*|APPLICATION_INSIGHTS_NO_.*)$/;
