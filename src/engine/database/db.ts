import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs, { type Database, type SqlJsStatic, type Statement } from 'sql.js';
import type { RequestRecord } from './record';
import { RollupBatch } from './rollup';
import { ROLLUP_BACKFILL, ROLLUP_CLIENT_MIGRATION, ROLLUP_SCHEMA, schema4Migration } from './rollupSchema';

export class DatabaseUnreadableError extends Error {}

/**
 * 2: the dashboard's daily_rollup table (additive; filled from the existing records on upgrade).
 * 3: requests.client, and client in daily_rollup's key (existing rows kept, as client '').
 * 4: session_rollup's token and unpriced columns (report --by session over whole days reads it).
 */
const SCHEMA_VERSION = 4;

/** The requests table's secondary indexes (besides the primary key's). */
const REQUEST_INDEXES = `
CREATE INDEX IF NOT EXISTS requests_started_at ON requests(started_at);
CREATE INDEX IF NOT EXISTS requests_session ON requests(session, started_at);
CREATE INDEX IF NOT EXISTS requests_workspace ON requests(workspace, started_at);
CREATE INDEX IF NOT EXISTS requests_cost ON requests(cost_nanos);
`;
const REQUEST_INDEX_NAMES = [...REQUEST_INDEXES.matchAll(/INDEX IF NOT EXISTS (\w+)/g)].map((m) => m[1]);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model TEXT,
  endpoint TEXT,
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  cost_nanos INTEGER NOT NULL,
  cost_status TEXT NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttft_ms INTEGER,
  session TEXT, feature TEXT, user TEXT, trace TEXT, env TEXT, workspace TEXT,
  key_fingerprint TEXT,
  error TEXT,
  service_tier TEXT,
  price_source TEXT,
  client TEXT
);
${REQUEST_INDEXES}
-- Model and feature breakdowns read the rollups, or the time index for part of a day; indexes on
-- them only cost every insert (earlier schemas had them).
DROP INDEX IF EXISTS requests_model;
DROP INDEX IF EXISTS requests_feature;
`;

/** Column name in the table for each record field. */
export const COLUMN_OF: Record<keyof RequestRecord, string> = {
  id: 'id',
  startedAt: 'started_at',
  provider: 'provider',
  model: 'model',
  endpoint: 'endpoint',
  stream: 'stream',
  status: 'status',
  inputTokens: 'input_tokens',
  cacheReadTokens: 'cache_read_tokens',
  cacheWriteTokens: 'cache_write_tokens',
  outputTokens: 'output_tokens',
  reasoningTokens: 'reasoning_tokens',
  costNanos: 'cost_nanos',
  costStatus: 'cost_status',
  latencyMs: 'latency_ms',
  ttftMs: 'ttft_ms',
  session: 'session',
  feature: 'feature',
  user: 'user',
  trace: 'trace',
  env: 'env',
  workspace: 'workspace',
  keyFingerprint: 'key_fingerprint',
  error: 'error',
  serviceTier: 'service_tier',
  priceSource: 'price_source',
  client: 'client',
};
const FIELDS = Object.keys(COLUMN_OF) as Array<keyof RequestRecord>;
const INSERT_SQL = `INSERT OR IGNORE INTO requests (${FIELDS.map((f) => COLUMN_OF[f]).join(', ')}) VALUES (${FIELDS.map(() => '?').join(', ')})`;

/** A bulk insert drops the secondary indexes (and builds them at its end) once it has added this many records, and at least half the table. */
const BULK_INDEX_REBUILD_MIN = 20_000;

/** SQLite's page cache (KiB, as PRAGMA cache_size takes it: negative), and a bulk insert's (64 MiB). */
const DEFAULT_CACHE_KIB = -2000;
const BULK_CACHE_KIB = -65_536;

let sqlJs: Promise<SqlJsStatic> | undefined;

function loadSqlJs(): Promise<SqlJsStatic> {
  // Bundles ship sql-wasm.wasm beside the built script; from source it is in node_modules.
  sqlJs ??= initSqlJs({
    locateFile: (file: string) => {
      const beside = path.join(__dirname, file);
      return fs.existsSync(beside) ? beside : require.resolve(`sql.js/dist/${file}`);
    },
  });
  return sqlJs;
}

/** The sql.js database of request records, held in memory and saved as a whole SQLite file. */
export class SpendDatabase {
  private insertStatement: Statement | undefined;
  private rollup: RollupBatch | undefined;
  private inBulk = false;

  private constructor(
    readonly db: Database,
    readonly file: string | undefined,
  ) {}

  /**
   * Opens the database at `file`. A missing file gives an empty database (when `create`), a file
   * that is not a readable SQLite database throws DatabaseUnreadableError and is left untouched.
   */
  static async open(file: string | undefined, opts: { create: boolean }): Promise<SpendDatabase> {
    const SQL = await loadSqlJs();
    let bytes: Buffer | undefined;
    if (file) {
      try {
        bytes = fs.readFileSync(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new DatabaseUnreadableError(`cannot read database ${file}: ${(e as Error).message}`);
        if (!opts.create) throw new DatabaseUnreadableError(`no database at ${file} (start the proxy with \`burnrate serve --db ${file}\` first)`);
      }
    }
    let db: Database;
    try {
      db = new SQL.Database(bytes && bytes.length ? bytes : undefined);
      db.exec('SELECT count(*) FROM sqlite_master');
    } catch (e) {
      throw new DatabaseUnreadableError(`${file} is not a readable Burn Rate database (${(e as Error).message}); it was left untouched`);
    }
    const version = (db.exec('PRAGMA user_version')[0]?.values[0]?.[0] as number) ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new DatabaseUnreadableError(`${file} was written by a newer Burn Rate (schema ${version}); it was left untouched`);
    }
    if (bytes?.length && version === 0 && !isEmptyOrBurnRate(db)) {
      throw new DatabaseUnreadableError(`${file} is a SQLite file but not a Burn Rate database; it was left untouched`);
    }
    db.exec(SCHEMA);
    if (!hasColumn(db, 'requests', 'client')) db.exec('ALTER TABLE requests ADD COLUMN client TEXT');
    if (version === 2) {
      db.exec('BEGIN');
      db.exec(ROLLUP_CLIENT_MIGRATION);
      db.exec('COMMIT');
    }
    if (version === 2 || version === 3) {
      db.exec('BEGIN');
      db.exec(schema4Migration(columnsOf(db, 'session_rollup')));
      db.exec('COMMIT');
    }
    if (version < 2) {
      db.exec('BEGIN');
      db.exec(ROLLUP_SCHEMA);
      db.exec(ROLLUP_BACKFILL);
      db.exec('COMMIT');
    }
    // Idempotent: brings tables and triggers added since the file was written.
    db.exec(ROLLUP_SCHEMA);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    // The database lives in memory and is saved whole; durability comes from the recorder's own
    // journal file, so SQLite's rollback journal only needs to live in memory (OFF would make ROLLBACK undefined).
    db.exec('PRAGMA journal_mode = MEMORY');
    return new SpendDatabase(db, file);
  }

  /** Inserts records in one transaction (or in the bulk transaction, see `bulk`); records already present (same id) are skipped. Returns how many were added. */
  insert(records: readonly RequestRecord[]): number {
    if (!records.length) return 0;
    const stmt = (this.insertStatement ??= this.db.prepare(INSERT_SQL));
    const rollup = (this.rollup ??= new RollupBatch(this.db));
    let added = 0;
    // One array of values, refilled per record (sql.js copies them when binding).
    const values: Array<string | number | null> = new Array(FIELDS.length);
    if (!this.inBulk) this.db.exec('BEGIN');
    try {
      for (const r of records) {
        for (let i = 0; i < FIELDS.length; i++) values[i] = toSql(r[FIELDS[i]]);
        stmt.run(values);
        // Only rows really inserted count (INSERT OR IGNORE skips a record already there).
        if (this.db.getRowsModified() === 1) {
          rollup.add(r);
          added++;
        }
      }
      rollup.write();
      if (!this.inBulk) this.db.exec('COMMIT');
      return added;
    } catch (e) {
      if (!this.inBulk) this.db.exec('ROLLBACK');
      throw e;
    }
  }

  /**
   * Holds the inserts that follow in one transaction until `commit` (an import: a whole file or
   * nothing; `rollback` undoes them all). Once the batch is large next to the table, the secondary
   * indexes are dropped and built again at `commit`: building an index once is several times faster
   * than updating it row by row.
   */
  bulk(): { insert(records: readonly RequestRecord[]): number; commit(): void; rollback(): void } {
    const existing = this.count();
    let added = 0;
    let indexesDropped = false;
    this.db.exec(`PRAGMA cache_size = ${BULK_CACHE_KIB}`);
    this.db.exec('BEGIN');
    this.inBulk = true;
    const end = (sql: string) => {
      if (!this.inBulk) return;
      this.inBulk = false;
      if (indexesDropped && sql === 'COMMIT') this.db.exec(REQUEST_INDEXES);
      this.db.exec(sql);
      this.db.exec(`PRAGMA cache_size = ${DEFAULT_CACHE_KIB}`);
    };
    return {
      insert: (records) => {
        const n = this.insert(records);
        added += n;
        if (!indexesDropped && added >= Math.max(BULK_INDEX_REBUILD_MIN, existing / 2)) {
          for (const name of REQUEST_INDEX_NAMES) this.db.exec(`DROP INDEX IF EXISTS ${name}`);
          indexesDropped = true;
        }
        return n;
      },
      commit: () => end('COMMIT'),
      rollback: () => end('ROLLBACK'),
    };
  }

  count(): number {
    return this.db.exec('SELECT count(*) FROM requests')[0].values[0][0] as number;
  }

  /** Writes the whole database to its file atomically: temp file, fsync, rename. Returns the bytes written. */
  async save(): Promise<number> {
    if (!this.file) return 0;
    const bytes = this.db.export();
    await writeFileAtomic(this.file, bytes);
    return bytes.length;
  }

  /** Deletes records that started before `before` (epoch ms); returns how many. */
  deleteBefore(before: number): number {
    this.db.run('DELETE FROM requests WHERE started_at < ?', [before]);
    return this.db.getRowsModified();
  }

  close(): void {
    this.insertStatement?.free();
    this.insertStatement = undefined;
    this.rollup?.free();
    this.rollup = undefined;
    this.db.close();
  }
}

/**
 * Reads rows of a result with these columns as records. The column of each field is found once,
 * not per row: a page of an export is thousands of rows.
 */
export function recordReader(columns: readonly string[]): (values: readonly unknown[]) => RequestRecord {
  const at = FIELDS.map((f) => columns.indexOf(COLUMN_OF[f]));
  return (values) => {
    const rec = {} as Record<string, unknown>;
    for (let i = 0; i < FIELDS.length; i++) rec[FIELDS[i]] = at[i] < 0 ? null : (values[at[i]] ?? null);
    rec.stream = rec.stream === 1;
    return rec as unknown as RequestRecord;
  };
}

export function rowToRecord(columns: readonly string[], values: readonly unknown[]): RequestRecord {
  return recordReader(columns)(values);
}

function toSql(v: unknown): string | number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v as string | number;
}

function columnsOf(db: Database, table: string): string[] {
  return (db.exec(`PRAGMA table_info(${table})`)[0]?.values ?? []).map((v) => String(v[1]));
}

function hasColumn(db: Database, table: string, column: string): boolean {
  return columnsOf(db, table).includes(column);
}

function isEmptyOrBurnRate(db: Database): boolean {
  return (
    db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table'").length === 0 ||
    db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'requests'").length > 0
  );
}

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
