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
    // Every window runs this at start; the copy is replaced only when an update changed the hooks,
    // since for the moment between removing it and renaming the new one in, it is missing.
    if (sameFiles(built, stable)) return stable;
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

/** Whether folder `b` holds exactly the files of folder `a`, byte for byte (a few small files). */
function sameFiles(a: string, b: string): boolean {
  const list = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
  let names: string[];
  try {
    names = list(a);
    if (names.join('\0') !== list(b).join('\0')) return false;
  } catch {
    return false;
  }
  return names.every((name) => {
    const [x, y] = [path.join(a, name), path.join(b, name)];
    if (fs.statSync(x).isDirectory()) return fs.statSync(y).isDirectory();
    return fs.statSync(y).isFile() && fs.readFileSync(x).equals(fs.readFileSync(y));
  });
}
