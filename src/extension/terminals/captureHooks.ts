import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where terminals find the capture hooks (the build's dist/capture): a copy in the extension's global
 * storage, a path that stays the same across updates. A terminal keeps the NODE_OPTIONS it was opened
 * with, and Node refuses to start when its --require is missing, so a path inside the versioned
 * extension folder would break Node in every terminal opened before an update. VS Code deletes the
 * global storage with the extension. Falls back to the build's own folder if the copy fails.
 */
export function stableCaptureDir(extensionPath: string, globalStoragePath: string): string {
  const built = path.join(extensionPath, 'dist', 'capture');
  const stable = path.join(globalStoragePath, 'capture');
  try {
    // Copied beside, then renamed over: a terminal starting Node meanwhile sees the old or the new
    // files, never half of them.
    const fresh = `${stable}.new-${process.pid}`;
    fs.rmSync(fresh, { recursive: true, force: true });
    fs.cpSync(built, fresh, { recursive: true });
    fs.rmSync(stable, { recursive: true, force: true });
    fs.renameSync(fresh, stable);
    return stable;
  } catch {
    return built;
  }
}
