import * as vscode from 'vscode';
import type { Tags } from '../engine/attribution';

/** The workspace tag for this window: the folder's (or workspace's) name. */
export function workspaceTag(): Tags {
  const name = vscode.workspace.name?.replace(/ \(Workspace\)$/, '');
  return name ? { workspace: name } : {};
}
