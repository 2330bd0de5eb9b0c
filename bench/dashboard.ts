/**
 * How fast the dashboard opens over a big database: writes N records (default 1,000,000: 60 days,
 * 12 models, 30 features, ~10,000 sessions, 3 workspaces) into a temporary database file, then
 * measures, as a fresh process would: opening the file, and the dashboard's query for today, 7 days
 * and 30 days. Prints figures; asserts nothing (speed is measured, not tested).
 *
 *   npm run bench:dashboard [-- --records 1000000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DashboardQuery } from '../src/engine/queries';
import { SpendDatabase, type RequestRecord } from '../src/engine/database';
import { singleFileOf } from '../test/support/singleFile';

const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' } } });
const total = Number(values.records);
const models: Array<[string, string]> = [
  ['openai', 'gpt-4o'],
  ['openai', 'gpt-4o-mini'],
  ['openai', 'gpt-4.1'],
  ['openai', 'gpt-4.1-mini'],
  ['openai', 'o3'],
  ['openai', 'gpt-5'],
  ['anthropic', 'claude-sonnet-4-0'],
  ['anthropic', 'claude-haiku-4-5'],
  ['anthropic', 'claude-opus-4-1'],
  ['gemini', 'gemini-2.5-pro'],
  ['gemini', 'gemini-2.5-flash'],
  ['groq', 'llama-3.3-70b-versatile'],
];
const DAY = 86_400_000;
const now = Date.now();
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-bench-dash-'));
const file = path.join(dir, 'big.sqlite');
const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;

async function main(): Promise<void> {
  let t0 = performance.now();
  const db = await SpendDatabase.open(file, { create: true });
  const batch: RequestRecord[] = [];
  for (let i = 0; i < total; i++) {
    const [provider, model] = models[Math.floor(rand() * models.length)];
    const input = 200 + Math.floor(rand() * 8000);
    const cached = rand() < 0.3 ? Math.floor(input * rand()) : 0;
    const output = 20 + Math.floor(rand() * 1500);
    batch.push({
      id: `b-${i}`,
      startedAt: now - Math.floor((i / total) * 60 * DAY),
      provider,
      model,
      endpoint: 'chat.completions',
      stream: rand() < 0.5,
      status: rand() < 0.02 ? 429 : 200,
      inputTokens: input,
      cacheReadTokens: cached,
      cacheWriteTokens: 0,
      outputTokens: output,
      reasoningTokens: 0,
      costNanos: Math.floor(input * 2500 + output * 10_000),
      costStatus: 'exact',
      latencyMs: 300 + Math.floor(rand() * 3000),
      ttftMs: null,
      session: `s-${Math.floor(i / 100)}`,
      feature: `feature-${Math.floor(rand() * 30)}`,
      user: null,
      trace: null,
      env: null,
      workspace: `ws-${Math.floor(rand() * 3)}`,
      branch: null,
      keyFingerprint: null,
      error: null,
      serviceTier: null,
      priceSource: 'bench',
      client: null,
    });
    if (batch.length === 10_000) db.insert(batch.splice(0));
  }
  db.insert(batch.splice(0));
  await db.save();
  const rollupRows = db.index.exec('SELECT count(*) FROM daily_rollup')[0].values[0][0];
  db.close();
  console.log(`wrote ${total.toLocaleString('en-US')} records (${rollupRows} rollup rows, ${(fs.statSync(file).size / 1e6).toFixed(0)} MB) in ${ms(t0)}`);

  t0 = performance.now();
  const opened = await SpendDatabase.open(file, { create: false });
  console.log(`open the database file: ${ms(t0)}`);
  const query = new DashboardQuery(opened);
  const midnight = new Date(new Date().toDateString()).getTime();
  for (const [label, since] of [
    ['today', midnight],
    ['7 days', midnight - 6 * DAY],
    ['30 days', midnight - 29 * DAY],
  ] as const) {
    t0 = performance.now();
    const d = query.data({ since, until: midnight + DAY }, { dailyUsd: 0, monthlyUsd: 0 });
    const first = ms(t0);
    t0 = performance.now();
    query.data({ since, until: midnight + DAY, workspace: 'ws-1' }, { dailyUsd: 0, monthlyUsd: 0 });
    console.log(`dashboard ${label}: ${first} (${d.tiles.requests.toLocaleString('en-US')} requests, ${d.leaks.length} leak hints); one workspace: ${ms(t0)}`);
  }
  // An old database upgraded: the rollup is built once from the records.
  const single = await singleFileOf(opened);
  single.exec('DROP TRIGGER requests_rollup_repriced; DROP TABLE daily_rollup; DROP TABLE session_rollup; DROP TABLE user_rollup; PRAGMA user_version = 1');
  fs.writeFileSync(file, single.export());
  single.close();
  opened.close();
  fs.rmSync(`${file}.segments`, { recursive: true, force: true });
  t0 = performance.now();
  (await SpendDatabase.open(file, { create: false })).close();
  console.log(`upgrade a schema-1 database (build the rollup once, split the records into segments): ${ms(t0)}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

void main();
