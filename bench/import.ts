/**
 * `burnrate import` of a large export (npm run bench:import): writes IMPORT_RECORDS (default 200,000)
 * varied records as JSON lines and CSV, imports each into an empty database with the built CLI
 * (dist/cli.js), and prints records/s for the whole command (start, read, insert with rollups, save).
 * IMPORT_KEEP=1 keeps the files and databases.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RequestRecord } from '../src/engine/database';
import { csvHeader, csvLine, jsonLine } from '../src/engine/export';

const RECORDS = Number(process.env.IMPORT_RECORDS ?? 200_000);
const CLI = path.resolve(__dirname, '../dist/cli.js');
const MODELS = ['gpt-4o-mini', 'gpt-4.1', 'claude-haiku-4-5', 'claude-sonnet-4-5', 'gemini-2.5-flash', null];
const FEATURES = ['summarize', 'chat', 'search, "quoted"', 'tags\nwith a line break', '-formula', null];

function record(i: number, start: number): RequestRecord {
  return {
    id: randomUUID(),
    startedAt: start + i * 997,
    provider: i % 3 ? 'openai' : 'anthropic',
    model: MODELS[i % MODELS.length],
    endpoint: 'chat.completions',
    stream: i % 2 === 0,
    status: i % 50 ? 200 : 429,
    inputTokens: 100 + (i % 4000),
    cacheReadTokens: i % 7 ? 0 : 64,
    cacheWriteTokens: 0,
    outputTokens: 10 + (i % 900),
    reasoningTokens: i % 5 ? 0 : 32,
    costNanos: 21_000 + ((i * 7919) % 5_000_000),
    costStatus: i % 97 ? 'exact' : 'estimated',
    latencyMs: 40 + (i % 3000),
    ttftMs: i % 2 === 0 ? 12 + (i % 400) : null,
    session: `run-${Math.floor(i / 500)}`,
    feature: FEATURES[i % FEATURES.length],
    user: i % 4 ? 'alice' : null,
    trace: null,
    env: 'dev',
    workspace: `/home/me/project-${i % 8}`,
    branch: null,
    keyFingerprint: 'sha256:ab12cd34',
    error: i % 50 ? null : 'rate limited',
    serviceTier: i % 11 ? null : 'flex',
    priceSource: 'genai-prices@0.1.8',
    client: i % 3 ? 'openai-node' : 'claude-code',
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-bench-import-'));
const start = Date.now() - RECORDS * 997;
const jsonl = path.join(dir, 'records.jsonl');
const csv = path.join(dir, 'records.csv');
const jsonOut = fs.openSync(jsonl, 'w');
const csvOut = fs.openSync(csv, 'w');
fs.writeSync(csvOut, csvHeader());
for (let i = 0; i < RECORDS; i += 10_000) {
  const batch = Array.from({ length: Math.min(10_000, RECORDS - i) }, (_, k) => record(i + k, start));
  fs.writeSync(jsonOut, batch.map(jsonLine).join(''));
  fs.writeSync(csvOut, batch.map(csvLine).join(''));
}
fs.closeSync(jsonOut);
fs.closeSync(csvOut);

/** Runs the built CLI; seconds it took. */
function timed(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`burnrate ${args[0]} failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

const rate = (seconds: number) => `${Math.round(RECORDS / seconds).toLocaleString('en-US')} records/s`;
for (const file of [jsonl, csv]) {
  const format = path.extname(file).slice(1);
  const db = path.join(dir, `${format}.sqlite`);
  const importSeconds = timed(['import', '--db', db, file]);
  // The same records the other way, in the same run: the scale for the figure above.
  const exportSeconds = timed(['export', '--db', db, '--format', format, '--out', path.join(dir, `again.${format}`)]);
  const mb = (fs.statSync(file).size / 1048576).toFixed(0);
  console.log(
    `${format.padEnd(5)} ${RECORDS.toLocaleString('en-US')} records (${mb} MB): import ${importSeconds.toFixed(2)} s, ${rate(importSeconds)}; export ${exportSeconds.toFixed(2)} s, ${rate(exportSeconds)}; import/export time ${(importSeconds / exportSeconds).toFixed(2)}×`,
  );
}
if (process.env.IMPORT_KEEP) console.log(`kept ${dir}`);
else fs.rmSync(dir, { recursive: true, force: true });
