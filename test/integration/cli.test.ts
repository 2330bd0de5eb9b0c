/**
 * The built `burnrate` CLI as a user runs it: serve, real SDK traffic, SIGINT, then report and export.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { OwnerLock, SpendDatabase } from '../../src/engine/database';
import { usdToNanos } from '../../src/engine/pricing';
import { daysLeftInMonth } from '../../src/engine/queries';
import { addLocalDays, localMonthStart } from '../../src/shared';
import { makeRecord } from '../support/records';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';
import { exited, runCli, startServe } from '../support/cliProcess';
import { nanos } from '../support/harness';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-cli-'));
const db = path.join(dir, 'spend.sqlite');
const env = { ...process.env, BURNRATE_HOME: dir };

const run = (...args: string[]) => runCli(env, ...args);
const serve = (args: string[]) => startServe(env, args);

let fake: FakeProvider;
before(async () => {
  fake = await startFakeProvider();
});
after(async () => {
  await fake.close();
});

describe('burnrate report: the month-end forecast', () => {
  test('the table ends with the forecast and its method; --json carries it as "forecast"', async () => {
    // $1 on each of the ten days before today, $5 today.
    const now = Date.now();
    const records = [makeRecord({ startedAt: now - 1, costNanos: usdToNanos(5) })];
    for (let i = 1; i <= 10; i++) records.push(makeRecord({ startedAt: addLocalDays(now, -i) + 3_600_000, costNanos: usdToNanos(1) }));
    const file = path.join(dir, 'forecast.sqlite');
    const database = await SpendDatabase.open(file, { create: true });
    database.insert(records);
    await database.save();
    database.close();

    const { forecast } = JSON.parse(run('report', '--db', file, '--json', '--since', '24h').stdout);
    const monthToDate = records.filter((r) => r.startedAt >= localMonthStart(now)).reduce((a, r) => a + r.costNanos, 0) / 1e9;
    assert.equal(forecast.monthToDateUsd, monthToDate, 'this month, whatever --since says');
    assert.equal(forecast.dailyAverageUsd, 1);
    // The report ran a moment after `now`: the days left differ by that moment at $1 a day.
    assert.ok(Math.abs(forecast.projectedMonthUsd - (monthToDate + daysLeftInMonth(now))) < 1e-3, JSON.stringify(forecast));
    assert.match(forecast.method, /^month to date \+ 7-day daily average × \d+\.\d days left$/);

    const table = run('report', '--db', file).stdout;
    assert.match(table, /\ntotal .*\n\nOn pace for \$\d+\.\d\d this month \(month to date \+ 7-day daily average × \d+\.\d days left\)\.\n$/);
  });
});

describe('burnrate serve → report → export', () => {
  test('SDK traffic through serve is reported to the nano-dollar after a clean SIGINT', async () => {
    const { child, url } = await serve(['--port', '0', '--db', db, '--upstream', `openai=${fake.url}`, '--upstream', `anthropic=${fake.url}`]);
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const openai = new OpenAI({ apiKey: 'sk-cli-canary', baseURL: `${url}/~feature=summarize/openai/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }).then(async (s) => {
      for await (const _ of s) void _;
    });
    await new Anthropic({ apiKey: 'sk-ant-cli', baseURL: `${url}/anthropic`, maxRetries: 0 }).messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 10,
      messages,
    });

    // While serve runs, report already sees the journalled records.
    const live = JSON.parse(run('report', '--db', db, '--json').stdout);
    assert.equal(live.total.requests, 3);

    child.kill('SIGINT');
    assert.equal(await exited(child), 0);
    assert.ok(!fs.existsSync(`${db}.journal`) || fs.statSync(`${db}.journal`).size === 0, 'journal folded into the database');

    const rep = run('report', '--db', db, '--by', 'model', '--json');
    assert.equal(rep.status, 0, rep.stderr);
    const report = JSON.parse(rep.stdout);
    // gpt-4o-mini: 1000 plain × $0.15 + 200 cached × $0.075 + 300 out × $0.60, twice.
    const mini = nanos(1000 * 0.15 + 200 * 0.075 + 300 * 0.6) * 2;
    // claude-haiku-4-5: 1000 plain × $1 + 200 read × $0.10 + 300 out × $5.
    const haiku = nanos(1000 * 1 + 200 * 0.1 + 300 * 5);
    assert.deepEqual(Object.keys(report.total).sort(), [
      'cacheReadTokens',
      'cacheWriteTokens',
      'costUsd',
      'inputTokens',
      'outputTokens',
      'reasoningTokens',
      'requests',
      'unpricedRequests',
    ]);
    assert.equal(Math.round(report.total.costUsd * 1e9), mini + haiku);
    // A database whose first record is today has no history to pace the month by.
    assert.deepEqual(report.forecast, {
      monthToDateUsd: report.total.costUsd,
      projectedMonthUsd: null,
      dailyAverageUsd: null,
      method: 'not enough history: 0 whole days of spend, 3 needed',
    });
    const byModel = Object.fromEntries(report.groups.map((g: { key: string; costUsd: number; requests: number }) => [g.key, g]));
    assert.equal(Math.round(byModel['gpt-4o-mini'].costUsd * 1e9), mini);
    assert.equal(byModel['gpt-4o-mini'].requests, 2);
    assert.equal(Math.round(byModel['claude-haiku-4-5'].costUsd * 1e9), haiku);

    const byFeature = JSON.parse(run('report', '--db', db, '--by', 'feature', '--json', '--since', '24h').stdout);
    // Sorted by cost: the one Haiku call (untagged) costs more than the two gpt-4o-mini calls.
    assert.deepEqual(
      byFeature.groups.map((g: { key: string; requests: number }) => [g.key, g.requests]),
      [
        ['(none)', 1],
        ['summarize', 2],
      ],
    );

    const human = run('report', '--db', db, '--by', 'provider');
    assert.match(human.stdout, /openai\s+\$0\.000690\s+2/);

    // The same tokens at gpt-4o-mini's list prices: Haiku's 1000 plain + 200 cached in, 300 out cost one more gpt-4o-mini call.
    const whatIf = JSON.parse(run('report', '--db', db, '--by', 'model', '--what-if', 'gpt-4o-mini', '--json').stdout);
    const whatIfByModel = Object.fromEntries(whatIf.groups.map((g: { key: string; whatIf: { costUsd: number } }) => [g.key, g.whatIf]));
    assert.deepEqual(whatIfByModel['gpt-4o-mini'], { costUsd: mini / 1e9 });
    assert.deepEqual(whatIfByModel['claude-haiku-4-5'], { costUsd: mini / 2 / 1e9 });
    assert.deepEqual(whatIf.whatIf, { model: 'openai/gpt-4o-mini', costUsd: (mini * 3) / 2 / 1e9, actualUsd: (mini + haiku) / 1e9 });
    assert.deepEqual(whatIf.total, report.total);
    const whatIfTable = run('report', '--db', db, '--by', 'model', '--what-if', 'openai/gpt-4o-mini');
    assert.equal(whatIfTable.status, 0, whatIfTable.stderr);
    assert.match(whatIfTable.stdout, /cost \(USD\)\s+at openai\/gpt-4o-mini\s+requests/);
    assert.match(whatIfTable.stdout, /claude-haiku-4-5\s+\$0\.002520\s+\$0\.000345\s+1/);
    assert.match(whatIfTable.stdout, /At openai\/gpt-4o-mini: \$0\.0010\d instead of \$0\.00321 \(−\$0\.00218, −68%\)/);

    const csv = run('export', '--db', db, '--format', 'csv').stdout.trim().split('\n');
    assert.equal(csv.length, 4);
    const header = csv[0].split(',');
    for (const col of [
      'id',
      'startedAt',
      'provider',
      'model',
      'endpoint',
      'stream',
      'status',
      'inputTokens',
      'cacheReadTokens',
      'cacheWriteTokens',
      'outputTokens',
      'reasoningTokens',
      'costUsd',
      'costStatus',
      'latencyMs',
      'ttftMs',
      'session',
      'feature',
      'user',
      'trace',
      'env',
      'workspace',
      'keyFingerprint',
      'error',
    ]) {
      assert.ok(header.includes(col), col);
    }
    const jsonl = run('export', '--db', db, '--format', 'jsonl')
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(jsonl.length, 3);
    assert.equal(
      jsonl.reduce((s: number, r: { costUsd: number }) => s + Math.round(r.costUsd * 1e9), 0),
      mini + haiku,
    );
    assert.ok(!fs.readFileSync(db).includes('sk-cli-canary'));
  });

  test('a second serve, or a VS Code window, on the same database is refused; once the first exits the next can start', async () => {
    const shared = path.join(dir, 'shared.sqlite');
    const first = await serve(['--port', '0', '--db', shared]);
    const second = run('serve', '--port', '0', '--db', shared);
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`the database .*shared\\.sqlite is in use by process ${first.child.pid}`));
    assert.equal(second.stderr.trim().split('\n').length, 1);
    // A VS Code window asks the same lock before hosting its engine on that database.
    assert.equal(OwnerLock.tryAcquire(`${shared}.owner`), undefined);
    first.child.kill('SIGTERM');
    assert.equal(await exited(first.child), 0);
    const windowLock = OwnerLock.tryAcquire(`${shared}.owner`);
    assert.ok(windowLock, 'the lock is free once serve has exited');
    assert.match(run('serve', '--port', '0', '--db', shared).stderr, /is in use by process/);
    windowLock.release();
    const third = await serve(['--port', '0', '--db', shared]);
    third.child.kill('SIGTERM');
    assert.equal(await exited(third.child), 0);
  });

  test('a second serve on a taken port says so', async () => {
    const first = await serve(['--port', '0', '--db', path.join(dir, 'a.sqlite')]);
    const port = new URL(first.url).port;
    const second = run('serve', '--port', port, '--db', path.join(dir, 'b.sqlite'));
    assert.equal(second.status, 1);
    assert.match(second.stderr, /port \d+ on 127\.0\.0\.1 is already in use/);
    first.child.kill('SIGTERM');
    assert.equal(await exited(first.child), 0);
  });
});

describe('CLI errors are one clear line', () => {
  test('bad flags and values', () => {
    for (const [args, pattern] of [
      [['report', '--bogus'], /unknown option '--bogus'/i],
      [['report', '--by', 'colour', '--db', db], /--by expects one of/],
      [['report', '--since', 'soonish', '--db', db], /--since expects/],
      [['export', '--db', db], /--format expects csv or jsonl/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['estimate', '--model', 'gpt-4o-mini'], /--input-tokens and --output-tokens are required/],
      [['report', '--what-if', 'gpt-nonexistent-9', '--db', db], /no price known for model "gpt-nonexistent-9"; `burnrate prices gpt-nonexistent-9` lists/],
    ] as const) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });

  test('missing and corrupt databases; the corrupt one is left untouched', () => {
    const missing = run('report', '--db', path.join(dir, 'nope.sqlite'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no database at/);
    const corrupt = path.join(dir, 'corrupt.sqlite');
    fs.writeFileSync(corrupt, 'definitely not sqlite');
    const r = run('report', '--db', corrupt);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not a readable Burn Rate database/);
    assert.equal(fs.readFileSync(corrupt, 'utf8'), 'definitely not sqlite');
  });

  test('serve keeps an unreadable database aside, untouched, says where, and records in a new one', async () => {
    const corrupt = path.join(dir, 'corrupt-serve.sqlite');
    fs.writeFileSync(corrupt, 'definitely not sqlite');
    const { child, url, stdout } = await serve(['--port', '0', '--db', corrupt, '--upstream', `openai=${fake.url}`]);
    await new OpenAI({ apiKey: 'k', baseURL: `${url}/openai/v1`, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const aside = fs.readdirSync(dir).filter((f) => f.startsWith('corrupt-serve.sqlite.unreadable-'));
    assert.equal(aside.length, 1);
    assert.equal(fs.readFileSync(path.join(dir, aside[0]), 'utf8'), 'definitely not sqlite');
    assert.match(stdout(), new RegExp(`could not be read .*kept, untouched, as .*${aside[0]}`));
    child.kill('SIGTERM');
    assert.equal(await exited(child), 0);
    assert.equal(JSON.parse(run('report', '--db', corrupt, '--json').stdout).total.requests, 1);
  });
});

describe('prices and estimate', () => {
  test('prices lists a model with its published rates', () => {
    const r = run('prices', 'gpt-4o-mini', '--json');
    const row = JSON.parse(r.stdout).find((x: { model: string }) => x.model === 'gpt-4o-mini');
    assert.deepEqual([row.inputPerMTok, row.cachedInputPerMTok, row.outputPerMTok], [0.15, 0.075, 0.6]);
    assert.match(run('prices', 'claude-haiku-4-5').stdout, /anthropic\s+claude-haiku-4-5\s+\$1\s+\$0\.1/);
  });

  test('estimate prices tokens × requests', () => {
    const r = JSON.parse(
      run('estimate', '--model', 'claude-haiku-4-5', '--input-tokens', '2000', '--output-tokens', '500', '--requests', '100', '--json').stdout,
    );
    // $1 in / $5 out per 1M: 2000 × 1 + 500 × 5 = 4500 micro-dollars a request.
    assert.equal(r.perRequestUsd, 0.0045);
    assert.equal(r.totalUsd, 0.45);
    assert.match(run('estimate', '--model', 'gpt-4o-mini', '--input-tokens', '1000', '--output-tokens', '100').stdout, /\$0\.000210 per request/);
  });
});
