/**
 * Makes a bench:scale database, in a process of its own (bench/scale.ts runs it under
 * /usr/bin/time for its peak memory), and prints what it did as one JSON line:
 *
 *   node --import tsx bench/scaleBuild.ts old <file> <records> <now>      the single-file layout (schema 4):
 *       inserts, then one export of the whole file, as the code before segments saved (run in the
 *       baseline's worktree, where ../src is that code)
 *   node --import tsx bench/scaleBuild.ts bulk <file> <records> <now>     the segmented layout, built
 *       directly with SpendDatabase.bulk() (as `burnrate import` does)
 *   node --import tsx bench/scaleBuild.ts migrate <file>                  opens a single-file database with
 *       this code, which migrates it into segments
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILDER_THREADS, SpendDatabase } from '../src/engine/database';
import { syntheticBatch } from './scaleRecords';

const BATCH = 10_000;

export interface BuildResult {
  ms: number;
  records: number;
  /** The database on disk: the file, and its segments folder if any. */
  bytes: number;
  /** The single-file layout: one export of the whole file on the calling thread, ms. */
  exportMs?: number;
}

/** The database's bytes on disk: the file and the files of its segments folder. */
export function bytesOnDisk(file: string): number {
  let bytes = fs.existsSync(file) ? fs.statSync(file).size : 0;
  const dir = `${file}.segments`;
  if (fs.existsSync(dir)) for (const name of fs.readdirSync(dir)) bytes += fs.statSync(path.join(dir, name)).size;
  return bytes;
}

/** The code before segments: SpendDatabase held the whole file as `db` and saved it with one export. */
type SingleFile = { insert(records: unknown[]): number; db: { export(): Uint8Array } };

async function buildOld(file: string, records: number, now: number): Promise<BuildResult> {
  const t0 = performance.now();
  const db = (await SpendDatabase.open(file, { create: true })) as unknown as SingleFile & SpendDatabase;
  for (let i = 0; i < records; i += BATCH) db.insert(syntheticBatch(i, Math.min(i + BATCH, records), records, now));
  const t1 = performance.now();
  const bytes = db.db.export();
  const exportMs = performance.now() - t1;
  fs.writeFileSync(file, bytes);
  db.close();
  return { ms: performance.now() - t0, records, bytes: bytes.length, exportMs };
}

async function buildBulk(file: string, records: number, now: number): Promise<BuildResult> {
  const t0 = performance.now();
  const db = await SpendDatabase.open(file, { create: true });
  const bulk = db.bulk({ builders: BUILDER_THREADS });
  for (let i = 0; i < records; i += BATCH) await bulk.insert(syntheticBatch(i, Math.min(i + BATCH, records), records, now));
  await bulk.commit();
  db.close();
  return { ms: performance.now() - t0, records, bytes: bytesOnDisk(file) };
}

async function migrate(file: string): Promise<BuildResult> {
  const t0 = performance.now();
  const db = await SpendDatabase.open(file, { create: false, progress: (m) => console.error(m) });
  const ms = performance.now() - t0;
  const records = db.count();
  db.close();
  return { ms, records, bytes: bytesOnDisk(file) };
}

async function main(): Promise<void> {
  const [mode, file, records, now] = process.argv.slice(2);
  const result =
    mode === 'old'
      ? await buildOld(file, Number(records), Number(now))
      : mode === 'bulk'
        ? await buildBulk(file, Number(records), Number(now))
        : await migrate(file);
  console.log(JSON.stringify(result));
}

if (require.main === module) {
  void main().catch((e: Error) => {
    console.error(e);
    process.exit(1);
  });
}
