/** The git branch `burnrate run` and `burnrate env` tag calls with: the one checked out where they run. */
import { execFileSync } from 'node:child_process';

/** Long enough for a slow disk, short enough that a hung git never holds up the command. */
const GIT_TIMEOUT_MS = 3_000;

/**
 * The branch checked out in `cwd`: its name (`feature/login-fix`, also on a new repository without
 * commits); null on a detached HEAD (a commit is not a branch: such calls record none); undefined
 * outside a repository or without git (nothing is known here, so nothing is changed).
 */
export function checkedOutBranch(cwd: string): string | null | undefined {
  try {
    // symbolic-ref, not rev-parse --abbrev-ref: it names the branch of a repository with no commit yet.
    const name = execFileSync('git', ['symbolic-ref', '--quiet', '--short', 'HEAD'], {
      cwd,
      timeout: GIT_TIMEOUT_MS,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      windowsHide: true,
    }).trim();
    return name || undefined;
  } catch (e) {
    // --quiet: exit status 1 means HEAD is not a branch (detached); 128 is "not a git repository".
    return (e as { status?: number | null }).status === 1 ? null : undefined;
  }
}
