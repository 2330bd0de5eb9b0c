import * as vscode from 'vscode';
import { branchOf, workspaceRepository, type GitApi, type GitExtension, type GitRepository } from './gitRepository';

/**
 * The branch checked out in the workspace's repository, kept current through VS Code's built-in git
 * extension: new terminals are tagged with it. Without git (the extension disabled or missing, no
 * repository) there is no branch, and nothing to report.
 */
export class WorkspaceBranch implements vscode.Disposable {
  private current: string | undefined;
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  readonly onDidChange = this.changed.event;
  private readonly listeners: Array<{ dispose(): unknown }> = [];
  private repositoryListener: { dispose(): unknown } | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The branch new terminals are tagged with, if any. */
  get name(): string | undefined {
    return this.current;
  }

  /** Starts following the git extension (which activates on its own; activation does not wait for it). */
  async start(): Promise<void> {
    try {
      const extension = vscode.extensions.getExtension<GitExtension>('vscode.git');
      if (!extension) return;
      const git = extension.isActive ? extension.exports : await extension.activate();
      if (!git.enabled) {
        // `git.enabled` turned on later: follow from then on.
        const once = git.onDidChangeEnablement((enabled) => {
          if (!enabled) return;
          once.dispose();
          this.follow(git.getAPI(1));
        });
        this.listeners.push(once);
        return;
      }
      this.follow(git.getAPI(1));
    } catch (e) {
      this.log.info(`terminals: no git branch to tag calls with (${(e as Error).message})`);
    }
  }

  private follow(api: GitApi): void {
    const choose = () => this.watch(workspaceRepository(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, api.repositories));
    this.listeners.push(api.onDidOpenRepository(choose), api.onDidCloseRepository(choose), vscode.workspace.onDidChangeWorkspaceFolders(choose));
    choose();
  }

  private watch(repository: GitRepository | undefined): void {
    this.repositoryListener?.dispose();
    this.repositoryListener = repository?.state.onDidChange(() => this.update(branchOf(repository)));
    this.update(branchOf(repository));
  }

  private update(branch: string | undefined): void {
    if (branch === this.current) return;
    this.current = branch;
    this.log.info(branch ? `terminals: new terminals are tagged with branch ${branch}` : 'terminals: no branch checked out; new terminals get no branch tag');
    this.changed.fire(branch);
  }

  dispose(): void {
    for (const l of this.listeners) l.dispose();
    this.repositoryListener?.dispose();
    this.changed.dispose();
  }
}
