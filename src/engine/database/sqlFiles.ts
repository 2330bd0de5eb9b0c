import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js';

export class DatabaseUnreadableError extends Error {}

/** A database a newer Burn Rate wrote: refused, and left where it is for that version. */
export class DatabaseFromNewerVersionError extends Error {}

let sqlJs: Promise<SqlJsStatic> | undefined;

export function loadSqlJs(): Promise<SqlJsStatic> {
  // Bundles ship sql-wasm.wasm beside the built script; from source it is in node_modules.
  sqlJs ??= initSqlJs({
    locateFile: (file: string) => {
      const beside = path.join(__dirname, file);
      return fs.existsSync(beside) ? beside : require.resolve(`sql.js/dist/${file}`);
    },
  });
  return sqlJs;
}

/** A file's bytes, or undefined when there is none; any other failure to read is DatabaseUnreadableError. */
export function readIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DatabaseUnreadableError(`cannot read database ${file}: ${(e as Error).message}`);
  }
}

/** Opens SQLite bytes in memory; bytes that are not a SQLite database throw DatabaseUnreadableError. */
export function openBytes(SQL: SqlJsStatic, bytes: Uint8Array | undefined, file: string): Database {
  try {
    const db = new SQL.Database(bytes && bytes.length ? bytes : undefined);
    db.exec('SELECT count(*) FROM sqlite_master');
    return db;
  } catch (e) {
    throw new DatabaseUnreadableError(`${file} is not a readable Burn Rate database (${(e as Error).message}); it was left untouched`);
  }
}

/**
 * Which layout an opened database file has: an index (or nothing yet), or a single file holding the
 * records too (before schema `current`). A newer schema, or a SQLite file that is not Burn Rate's,
 * is closed and refused (the file left as it is).
 */
export function layoutOf(db: Database, file: string | undefined, current: number): 'index' | 'single-file' {
  const version = userVersion(db);
  if (version > current) {
    db.close();
    throw new DatabaseFromNewerVersionError(
      `${file} was written by a newer Burn Rate (schema ${version}, this one reads up to ${current}); it was left untouched: update Burn Rate, or use another --db`,
    );
  }
  const anyTable = db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table'").length > 0;
  if (version === current || !anyTable) return 'index';
  if (!hasTable(db, 'requests')) {
    db.close();
    throw new DatabaseUnreadableError(`${file} is a SQLite file but not a Burn Rate database; it was left untouched`);
  }
  return 'single-file';
}

export function userVersion(db: Database): number {
  return (db.exec('PRAGMA user_version')[0]?.values[0]?.[0] as number) ?? 0;
}

export function columnsOf(db: Database, table: string): string[] {
  return (db.exec(`PRAGMA table_info(${table})`)[0]?.values ?? []).map((v) => String(v[1]));
}

export function hasTable(db: Database, table: string): boolean {
  return db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).length > 0;
}

/** Writes a file whole, durably, under a name nothing reads yet: temp file, fsync, rename. */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const handle = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
}

/** writeFileAtomic, synchronously (a bulk import's segments, written as it goes). */
export function writeFileAtomicSync(file: string, bytes: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
