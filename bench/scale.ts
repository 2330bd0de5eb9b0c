/**
 * The engine at scale (npm run bench:scale), the layouts side by side in one run: an empty database
 * (the segmented layout), the single file of the code before segments (built and run from git
 * history: bench/scaleBaseline.ts) and the segmented layout (made by migrating that single file) at
 * SCALE_RECORDS synthetic requests (a year of traffic), and the segmented layout at each bigger size
 * (built directly with SpendDatabase.bulk()). Each database is run by its own code's engine under
 * the same steady load (bench/scaleEngine.ts) and CLI (`report`, `export` as processes); the table
 * shows the figures beside their targets (bench/scaleTable.ts).
 *
 * SCALE_RECORDS (default 1,000,000); SCALE_BIG (e.g. 10000000: one more segmented column) or
 * SCALE_SIZES="1000000,10000000" (the first is SCALE_RECORDS); SCALE_OLD_BIG=1 (try the single file
 * at the bigger sizes too: it cannot be saved); SCALE_BIG_DB (a segmented database of the biggest
 * size made before, used instead of building one); SCALE_BASELINE_REF (default f6945b9);
 * SCALE_SECONDS (load time, default 25); SCALE_RATE (requests/s, default 80; 0 = closed loop);
 * SCALE_CONCURRENCY (most in flight, default 16); SCALE_SNAPSHOTS=back-to-back (snapshot
 * continuously during the load; default: as the engine schedules them); SCALE_KEEP_DB=1.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCurrent, prepareBaseline, ROOT, type Build } from './scaleBaseline';
import { bytesOnDisk, type BuildResult } from './scaleBuild';
import type { EngineFigures, ScaleRun } from './scaleEngine';
import { cliFigures, timedNode, type ProcessFigures } from './scaleProcess';
import { table, type Column } from './scaleTable';

const sizesFromEnv = () => (process.env.SCALE_SIZES ?? '').split(',').filter(Boolean).map(Number);
const RECORDS = sizesFromEnv()[0] ?? Number(process.env.SCALE_RECORDS ?? 1_000_000);
const BIG = sizesFromEnv().length ? sizesFromEnv().slice(1) : process.env.SCALE_BIG ? [Number(process.env.SCALE_BIG)] : [];
const SECONDS = Number(process.env.SCALE_SECONDS ?? 25);
const CONCURRENCY = Number(process.env.SCALE_CONCURRENCY ?? 16);
const RATE = Number(process.env.SCALE_RATE ?? 80);
const REF = process.env.SCALE_BASELINE_REF ?? 'f6945b9';
/** Node's limit for one fs read or write (kIoMaxLength): the single file is read and written whole. */
const KIO_MAX = 2 * 2 ** 30;
const MB = 1048576;
const n = (x: number) => (x >= 1e6 && x % 1e6 === 0 ? `${x / 1e6}M` : x.toLocaleString('en-US'));
const made = (p: ProcessFigures) => `${p.seconds.toFixed(1)} s / ${(p.peakRss / MB).toFixed(0)} MB`;

/** A column with the database it runs on and the code that runs it. */
interface Planned extends Column {
  db?: string;
  build?: Build;
  results?: Record<string, unknown>;
}

function parsed(p: ProcessFigures): BuildResult | undefined {
  try {
    return JSON.parse(p.stdout.trim().split('\n').pop() ?? '') as BuildResult;
  } catch {
    return undefined;
  }
}

function newDir(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, 'spend.sqlite');
}

/** The single file at `records`, built by the baseline's own code (inserts, one export). */
function buildSingleFile(baseline: Build, root: string, records: number, now: number): Planned {
  const db = newDir(root, `single-${records}`);
  console.log(`building the single file at ${n(records)} with ${path.basename(baseline.root)} …`);
  const p = timedNode(['--import', 'tsx', 'bench/scaleBuild.ts', 'old', db, String(records), String(now)], baseline.root);
  const r = parsed(p);
  const col: Planned = { label: `single file @ ${n(records)}`, layout: 'single file', records, db, build: baseline, results: { build: p, result: r } };
  if (p.failed) return { ...col, na: `building it with the old code failed after ${made(p)} (${p.failed})` };
  return { ...col, made: `built (old code, inserts + one export): ${made(p)}; the export alone ${r?.exportMs?.toFixed(0)} ms`, diskBytes: bytesOnDisk(db) };
}

/** The segmented layout at `single`'s size: a copy of the single file, migrated by this code. */
function migrated(current: Build, root: string, single: Planned): Planned {
  const db = newDir(root, `segmented-${single.records}`);
  fs.copyFileSync(single.db!, db);
  console.log(`migrating a copy of the single file at ${n(single.records)} …`);
  const p = timedNode(['--import', 'tsx', 'bench/scaleBuild.ts', 'migrate', db], ROOT);
  const col: Planned = {
    label: `segmented @ ${n(single.records)}`,
    layout: 'segmented',
    records: single.records,
    db,
    build: current,
    results: { migration: p, result: parsed(p) },
  };
  if (p.failed) return { ...col, na: `migration failed: ${p.failed}` };
  return { ...col, made: 'migrated from the single file', migration: made(p), diskBytes: bytesOnDisk(db) };
}

/** The segmented layout at `records`, built directly (SpendDatabase.bulk(), as `burnrate import`), or SCALE_BIG_DB. */
function bulkBuilt(current: Build, root: string, records: number, now: number, reuse: string | undefined): Planned {
  const col: Planned = { label: `segmented @ ${n(records)}`, layout: 'segmented', records, build: current };
  if (reuse)
    return {
      ...col,
      db: reuse,
      made: `made before (SCALE_BIG_DB): ${fs.existsSync(`${reuse}.build.txt`) ? fs.readFileSync(`${reuse}.build.txt`, 'utf8').trim() : 'bulk'}`,
      diskBytes: bytesOnDisk(reuse),
    };
  const db = newDir(root, `segmented-${records}`);
  console.log(`building the segmented layout at ${n(records)} with SpendDatabase.bulk() …`);
  const p = timedNode(['--import', 'tsx', 'bench/scaleBuild.ts', 'bulk', db, String(records), String(now)], ROOT);
  if (p.failed) return { ...col, na: `building it failed: ${p.failed}` };
  return { ...col, db, made: `built (bulk()): ${made(p)}`, migration: 'n/a (no single file at this size)', diskBytes: bytesOnDisk(db), results: { build: p } };
}

/** The single file at a bigger size: tried only with SCALE_OLD_BIG=1, else why it cannot be. */
function singleFileBig(baseline: Build, root: string, records: number, now: number, single: Planned): Planned {
  if (process.env.SCALE_OLD_BIG === '1') return buildSingleFile(baseline, root, records, now);
  const estimate = ((single.diskBytes ?? 0) / single.records) * records;
  return {
    label: `single file @ ${n(records)}`,
    layout: 'single file',
    records,
    na:
      estimate < KIO_MAX
        ? 'not run at the bigger sizes (SCALE_OLD_BIG=1 runs it)'
        : `the file would be ≈ ${(estimate / MB).toFixed(0)} MB (from ${n(single.records)}): the single-file code reads and writes it whole, and Node reads or writes at most ${KIO_MAX / MB} MB in one call; SCALE_OLD_BIG=1 tries (the records fit in memory, the export cannot be written)`,
  };
}

function runEngine(runner: string, scaleRun: ScaleRun): Promise<EngineFigures> {
  const child = fork(runner, [], { execArgv: [] });
  child.send(scaleRun);
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as EngineFigures));
    child.once('exit', (code) => reject(new Error(`the engine run on ${scaleRun.dbPath} ended (${code})`)));
  });
}

/** The engine under load, then the CLI as processes, on the column's database with its own code. */
async function measure(col: Planned): Promise<void> {
  if (col.na || !col.db || !col.build) return;
  console.log(`measuring ${col.label} …`);
  col.engine = await runEngine(col.build.engineRunner, {
    dbPath: col.db,
    dataDir: path.dirname(col.db),
    loadScript: path.join(__dirname, 'scaleLoad.ts'),
    rate: RATE,
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    backToBackSnapshots: process.env.SCALE_SNAPSHOTS === 'back-to-back',
    idleStopMs: 3_000,
  });
  col.cli = cliFigures(col.build.cli, col.db);
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-scale-'));
  const current = buildCurrent();
  const baseline = prepareBaseline(REF);
  try {
    const now = Date.now();
    const empty: Planned = { label: 'empty', layout: 'segmented', records: 0, db: newDir(root, 'empty'), build: current, made: 'created by `serve`' };
    const single = buildSingleFile(baseline, root, RECORDS, now);
    const columns: Planned[] = [empty, single];
    if (single.db && !single.na) columns.push(migrated(current, root, single));
    for (const size of BIG) {
      columns.push(bulkBuilt(current, root, size, now, size === BIG[BIG.length - 1] ? process.env.SCALE_BIG_DB : undefined));
      columns.push(singleFileBig(baseline, root, size, now, single));
    }
    for (const col of columns) await measure(col);
    const settings = `${SECONDS} s at ${RATE}/s (at most ${CONCURRENCY} in flight), snapshots ${process.env.SCALE_SNAPSHOTS ?? 'as scheduled (every 1 s)'}`;
    console.log(
      `\nbench:scale ${new Date().toISOString().slice(0, 10)}: baseline ${REF} (${baseline.commit}) vs ${path.basename(ROOT)}; load ${settings}; ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB\n`,
    );
    console.log(table(columns, RATE));
    const out = path.join(os.tmpdir(), `burnrate-scale-${Date.now()}.json`);
    fs.writeFileSync(
      out,
      JSON.stringify(
        columns.map(({ build: _b, ...c }) => c),
        null,
        2,
      ),
    );
    console.log(`\nresults: ${out}`);
  } finally {
    baseline.remove();
    if (process.env.SCALE_KEEP_DB) console.log(`databases kept in ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }
}

void main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e);
    process.exit(1);
  },
);
