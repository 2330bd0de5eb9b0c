/**
 * The few parts of VS Code's built-in git extension API (`vscode.git`, API version 1) that tagging
 * terminals with the branch needs, declared here (the extension ships no type package), and which
 * of its repositories is the workspace's. Pure (no vscode import) so it is unit-tested.
 */

/** What VS Code's events look like: subscribe, get something to dispose. */
export type GitEvent<T> = (listener: (e: T) => unknown) => { dispose(): unknown };

export interface GitExtension {
  readonly enabled: boolean;
  readonly onDidChangeEnablement: GitEvent<boolean>;
  getAPI(version: 1): GitApi;
}

export interface GitApi {
  readonly repositories: readonly GitRepository[];
  readonly onDidOpenRepository: GitEvent<GitRepository>;
  readonly onDidCloseRepository: GitEvent<GitRepository>;
}

export interface GitRepository {
  readonly rootUri: { readonly fsPath: string };
  readonly state: {
    /** `name` is undefined on a detached HEAD (then only `commit` is set). */
    readonly HEAD: { readonly name?: string } | undefined;
    readonly onDidChange: GitEvent<void>;
  };
}

/**
 * The workspace's repository: the innermost one holding the first workspace folder; else, when the
 * folder only contains repositories, the one if there is exactly one (several: none is "the" one).
 */
export function workspaceRepository<R extends GitRepository>(folder: string | undefined, repositories: readonly R[]): R | undefined {
  if (folder === undefined) return undefined;
  const holding = repositories.filter((r) => isWithin(folder, r.rootUri.fsPath)).sort((a, b) => b.rootUri.fsPath.length - a.rootUri.fsPath.length);
  if (holding.length) return holding[0];
  const inside = repositories.filter((r) => isWithin(r.rootUri.fsPath, folder));
  return inside.length === 1 ? inside[0] : undefined;
}

/** The branch a repository has checked out; undefined on a detached HEAD or before git has read it. */
export function branchOf(repository: GitRepository | undefined): string | undefined {
  return repository?.state.HEAD?.name || undefined;
}

function isWithin(child: string, parent: string): boolean {
  const [c, p] = [trimSeparator(child), trimSeparator(parent)];
  return c === p || c.startsWith(p.endsWith('/') || p.endsWith('\\') ? p : `${p}/`) || c.startsWith(`${p}\\`);
}

function trimSeparator(p: string): string {
  return p.length > 1 ? p.replace(/[\\/]+$/, '') : p;
}
