import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every file under `dir`, in its subfolders too (the store's `<db>.segments/`), as paths. */
export function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(file) : entry.isFile() ? [file] : [];
  });
}
