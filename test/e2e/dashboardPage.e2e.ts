/**
 * The dashboard page `burnrate serve` serves, in headless Chromium, after real SDK traffic: it opens
 * with the link serve prints, draws its charts, shows the same figures as `burnrate report --json`,
 * updates live when another request completes, exports the current filter, shows leak hints with
 * the dollar figures the data layer computes, stops and re-allows a session from its Sessions list
 * (the SDK's next call refused, then let through), shows a guard alert, and logs no page or
 * console error. Screenshots light and dark go to $E2E_SHOTS or .vscode-test/screenshots/.
 *
 * Run with `npm run test:e2e` (test/e2e/setup.sh installs Chromium).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DashboardQuery } from '../../src/engine/queries';
import type { LeakHint } from '../../src/shared';
import { SpendDatabase } from '../../src/engine/database';
import { readJournalRecords } from '../../src/engine/store';
import { money } from '../../webview/format';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.E2E_SHOTS ?? path.join(ROOT, '.vscode-test/screenshots');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-page-'));
const db = path.join(dir, 'spend.sqlite');
const env = { ...process.env, BURNRATE_HOME: dir };

let fake: FakeProvider;
let serve: ChildProcess;
let base: string;
let dashboardUrl: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];

const report = (...args: string[]) =>
  JSON.parse(spawnSync(process.execPath, [CLI, 'report', '--db', db, '--json', ...args], { env, encoding: 'utf8' }).stdout) as {
    total: { costUsd: number; requests: number };
  };

async function traffic(): Promise<void> {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const openai = (tags: string) => new OpenAI({ apiKey: 'sk-page-test', baseURL: `${base}/~${tags}/openai/v1`, maxRetries: 0 });
  const anthropic = new Anthropic({ apiKey: 'sk-ant-page-test', baseURL: `${base}/~feature=review,session=run-7/anthropic`, maxRetries: 0 });
  for (let i = 0; i < 3; i++) await openai('feature=summarize,session=run-1,workspace=alpha').chat.completions.create({ model: 'gpt-4o-mini', messages });
  const stream = await openai('feature=chat,session=run-2,workspace=beta').chat.completions.create({ model: 'gpt-4o', messages, stream: true });
  for await (const _ of stream) void _;
  await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 200, messages });
}

before(async () => {
  fake = await startFakeProvider();
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ 'burnrate.budget.daily': 1, 'burnrate.budget.monthly': 0 }));
  serve = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--port',
      '0',
      '--db',
      db,
      '--config',
      path.join(dir, 'config.json'),
      '--upstream',
      `openai=${fake.url}`,
      '--upstream',
      `anthropic=${fake.url}`,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    serve.stdout!.on('data', (d) => {
      out += d;
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      const link = /dashboard: (\S+#token=[0-9a-f]+)/.exec(out)?.[1];
      if (url && link) {
        base = url;
        dashboardUrl = link;
        resolve();
      }
    });
    serve.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  await traffic();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1500 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
});

after(async () => {
  await browser?.close();
  serve?.kill('SIGINT');
  await fake?.close();
});

const tileValue = (id: string) => page.locator(`[data-testid="tile-${id}"] .value`).innerText();

test('the page opens with the printed link and shows what `burnrate report` shows', async () => {
  assert.ok(dashboardUrl.startsWith(`${base}/#token=`));
  await page.goto(dashboardUrl);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
  // The token left the address bar (it stays in this tab's sessionStorage).
  assert.equal(new URL(page.url()).hash, '');

  const today = report('--since', 'today');
  assert.equal(today.total.requests, 5);
  assert.equal(await tileValue('requests'), '5');
  assert.equal(await tileValue('cost'), money(today.total.costUsd));
  assert.equal(await tileValue('today'), money(today.total.costUsd));
  assert.equal(await tileValue('per-request'), money(today.total.costUsd / 5));
  // Three sessions: run-1, run-2, run-7.
  assert.equal(await tileValue('per-session'), money(today.total.costUsd / 3));
  // The fake providers report 200 cache-read tokens a call: gpt-4o-mini ×3 at (0.15 − 0.075), gpt-4o at
  // (2.50 − 1.25), claude-sonnet-4 at (3 − 0.30) $/M.
  assert.equal(await tileValue('cache'), money((3 * 200 * 0.075 + 200 * 1.25 + 200 * 2.7) / 1e6));

  const features = await page.locator('[data-testid="features"] tbody tr td:first-child').allInnerTexts();
  assert.deepEqual([...features].sort(), ['chat', 'review', 'summarize']);
  const sessions = await page.locator('[data-testid="sessions"] tbody tr td:first-child').allInnerTexts();
  assert.deepEqual([...sessions].sort(), ['run-1', 'run-2', 'run-7']);
  assert.equal(await page.locator('[data-testid="feed"] tbody tr').count(), 5);
  // Which SDK made the calls: four through the OpenAI SDK, one through the Anthropic SDK.
  const clients = await page.locator('[data-testid="clients"] tbody tr').allInnerTexts();
  assert.deepEqual(clients.map((row) => [row.split('\t')[0], row.split('\t').pop()]).sort(), [
    ['anthropic-node', '1'],
    ['openai-node', '4'],
  ]);
  assert.match(await page.locator('[data-testid="gauge-daily"]').innerText(), new RegExp(`\\${money(today.total.costUsd)} of \\$1\\.00`));
  assert.match(await page.locator('[data-testid="gauge-monthly"]').innerText(), /no monthly budget set/);

  // Charts drawn: both canvases hold painted pixels.
  for (const id of ['daily-chart', 'model-chart']) {
    const painted = await page.evaluate((canvasId) => {
      const c = document.getElementById(canvasId) as HTMLCanvasElement;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      return n;
    }, id);
    assert.ok(painted > 500, `${id} is drawn (${painted} painted pixels)`);
  }
});

test('the workspace filter narrows every figure', async () => {
  await page.locator('select[aria-label="Workspace"]').selectOption('alpha');
  await page.waitForFunction(() => document.querySelector('[data-testid="tile-requests"] .value')?.textContent === '3');
  const sessions = await page.locator('[data-testid="sessions"] tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(sessions, ['run-1']);
  await page.locator('select[aria-label="Workspace"]').selectOption('');
  await page.waitForFunction(() => document.querySelector('[data-testid="tile-requests"] .value')?.textContent === '5');
});

test('a request that completes shows up without a reload', async () => {
  const openai = new OpenAI({ apiKey: 'sk-page-test', baseURL: `${base}/~feature=live/openai/v1`, maxRetries: 0 });
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }] });
  await page.waitForFunction(() => document.querySelector('[data-testid="tile-requests"] .value')?.textContent === '6', undefined, { timeout: 10_000 });
  assert.equal(await tileValue('cost'), money(report('--since', 'today').total.costUsd));
});

test('prices are searchable and the estimator prices a day and a month', async () => {
  await page.locator('input[aria-label="Search prices"]').fill('gpt-4o-mini');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="prices"] tbody tr')].every((tr) => /gpt-4o-mini/i.test(tr.textContent ?? '')));
  assert.ok((await page.locator('[data-testid="prices"] tbody tr').count()) >= 1);
  // 2,000 in × $0.15/M + 500 out × $0.60/M = $0.0006 a request; × 1,000 a day; × 30.
  await page.waitForFunction(() => /\$0\.60 a day · \$18\.00 a month/.test(document.querySelector('[data-testid="estimate"]')?.textContent ?? ''));
});

test('export downloads the current filter as CSV', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const file = path.join(dir, 'export.csv');
  await download.saveAs(file);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1 + 6);
  assert.match(lines[0], /^id,startedAt,provider/);
});

/** Today's leak hints as the data layer computes them from the database file (and what is journalled). */
async function dataLayerLeaks(): Promise<LeakHint[]> {
  // The journal first, then the file, as `burnrate report` reads them: a snapshot landing in between
  // then only repeats records (skipped by id) instead of hiding the ones it moved from the journal.
  // A running serve may not have written its first snapshot yet: then every record is in the journal.
  const journalled = readJournalRecords(db);
  const database = await SpendDatabase.open(db, { create: true, readOnly: true });
  try {
    database.insert(journalled);
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    return new DashboardQuery(database).data({ since: midnight.getTime(), until: midnight.getTime() + 86_400_000 }).leaks;
  } finally {
    database.close();
  }
}

const chat = (tags: string) => new OpenAI({ apiKey: 'sk-page-test', baseURL: `${base}/~${tags}/openai/v1`, maxRetries: 0 }).chat.completions;

test('leak hints name the dollar figures the data layer computes from the records', async () => {
  // A feature resending long prompts that read nothing from the cache, and one whose spend is output.
  fake.setUsage({ input: 3000, cachedRead: 0, output: 100 });
  for (let i = 0; i < 4; i++)
    await chat('feature=rag,session=rag-1').create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the same long context' }] });
  fake.setUsage({ input: 200, cachedRead: 0, output: 2000 });
  for (let i = 0; i < 3; i++)
    await chat('feature=essay,session=essay-1').create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'write at length' }] });
  fake.reset();

  await page.waitForFunction(() => document.querySelectorAll('[data-testid="leaks"] li').length >= 2, undefined, { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="leaks"] li[data-kind="output-heavy"]') !== null, undefined, { timeout: 10_000 });
  const leaks = await dataLayerLeaks();
  const uncached = leaks.find((l) => l.kind === 'uncached-prompts' && l.feature === 'rag');
  const outputHeavy = leaks.find((l) => l.kind === 'output-heavy' && l.feature === 'essay');
  assert.ok(uncached && outputHeavy, JSON.stringify(leaks));
  // By hand: 3 repeats of a 3,000-token prompt at gpt-4o-mini's input minus cached rate ($0.15 − $0.075 /M);
  // 3 × 2,000 output tokens at $0.60/M.
  assert.equal(uncached.usd, (3 * 3000 * 0.075) / 1e6);
  assert.equal(outputHeavy.usd, (3 * 2000 * 0.6) / 1e6);
  for (const hint of [uncached, outputHeavy]) {
    const item = page.locator(`[data-testid="leaks"] li[data-kind="${hint.kind}"]`).filter({ hasText: hint.feature! });
    assert.equal(await item.locator('.usd').innerText(), money(hint.usd));
    assert.ok((await item.innerText()).includes(hint.title), `the page shows "${hint.title}"`);
    assert.ok(hint.title.includes(money(hint.usd)), `"${hint.title}" names ${money(hint.usd)}`);
  }
});

const sessionRow = (id: string) => page.locator(`[data-testid="live-sessions"] tr[data-session="${id}"]`);

test("Stop in the Sessions list refuses the session's next call; Allow lets it go on", async () => {
  await chat('feature=agent,session=agent-9').create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'step 1' }] });
  await sessionRow('agent-9').waitFor({ timeout: 10_000 });
  assert.match(await sessionRow('agent-9').locator('td').nth(1).innerText(), /^active/);

  await sessionRow('agent-9').getByRole('button', { name: 'Stop' }).click();
  await sessionRow('agent-9').getByRole('button', { name: 'Allow' }).waitFor();
  assert.match(await sessionRow('agent-9').locator('td').nth(1).innerText(), /^stopped/);

  const upstreamCalls = fake.calls.length;
  await assert.rejects(
    chat('feature=agent,session=agent-9').create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'step 2' }] }),
    (e: Error & { status?: number }) => {
      assert.equal(e.status, 403);
      assert.match(e.message, /Burn Rate: session "agent-9" is stopped/);
      return true;
    },
  );
  assert.equal(fake.calls.length, upstreamCalls, 'the refused call never reached the provider');
  // Other sessions go on.
  await chat('feature=agent,session=agent-10').create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'step 1' }] });
  // The refused call is counted on the page without a reload.
  await page.waitForFunction(
    () => document.querySelector('[data-testid="live-sessions"] tr[data-session="agent-9"] td:nth-child(8)')?.textContent === '1',
    undefined,
    { timeout: 10_000 },
  );

  await sessionRow('agent-9').getByRole('button', { name: 'Allow' }).click();
  await sessionRow('agent-9').getByRole('button', { name: 'Stop' }).waitFor();
  const answer = await chat('feature=agent,session=agent-9').create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'step 2' }] });
  assert.equal(answer.choices[0].message.content, 'Hello from fake openai.');
});

test('a guard trip shows as an alert and in the Sessions list; Raise limit lets the session go on', async () => {
  const secret = fs.readFileSync(path.join(dir, 'management-secret'), 'utf8').trim();
  // The settings route replaces the global settings: keep the daily budget of the config file.
  const settings = (values: Record<string, unknown>) =>
    fetch(`${base}/_burnrate/settings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ global: { 'burnrate.budget.daily': 1, ...values } }),
    });
  assert.equal((await settings({ 'burnrate.guard.maxRepeats': 2, 'burnrate.guard.onTrip': 'block' })).status, 200);
  try {
    const again = () => chat('feature=loop,session=loop-3').create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'same thing' }] });
    await again();
    await again();
    await assert.rejects(again(), /repeated request guard/);

    const alert = page.locator('[data-testid="alerts"] li[data-kind="guard"]').filter({ hasText: 'loop-3' });
    await alert.waitFor({ timeout: 10_000 });
    assert.match(await alert.innerText(), /Session "loop-3" sent the same request/);
    await sessionRow('loop-3').getByRole('button', { name: 'Raise limit' }).waitFor({ timeout: 10_000 });
    assert.match(await sessionRow('loop-3').locator('td').nth(1).innerText(), /stopped\s+repeated request guard/);
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.locator('[data-testid="alerts"]').screenshot({ path: path.join(SHOTS, 'page-alerts-light.png') });
    // The list's container, not its table: a refresh redraws the table while the shot is taken.
    await page.locator('[data-testid="session-list"]').screenshot({ path: path.join(SHOTS, 'page-sessions-light.png') });

    await sessionRow('loop-3').getByRole('button', { name: 'Raise limit' }).click();
    await sessionRow('loop-3').getByRole('button', { name: 'Stop' }).waitFor();
    await again();
  } finally {
    await settings({ 'burnrate.guard.maxRepeats': 0, 'burnrate.guard.onTrip': 'warn' });
  }
});

test('the price table says where its prices come from and of when, with nothing cut off', async () => {
  await page.locator('input[aria-label="Search prices"]').fill('gpt-4o-mini');
  await page.waitForFunction(() =>
    /Prices from genai-prices@[\d.]+ of \d{4}-\d{2}-\d{2}/.test(document.querySelector('[data-testid="price-source"]')?.textContent ?? ''),
  );
  const cell = page.locator('[data-testid="prices"] tbody tr').first().locator('td').nth(5);
  assert.match(await cell.innerText(), /^genai-prices@[\d.]+$/);
  // The source column is not clipped: its text fits its cell, and the table fits its card.
  const clipped = await page.evaluate(() => {
    const table = document.querySelector('[data-testid="prices"]') as HTMLElement;
    const cells = [...table.querySelectorAll('tbody td')] as HTMLElement[];
    return {
      cells: cells.filter((c) => c.scrollWidth > c.clientWidth).map((c) => c.textContent),
      overflow: table.scrollWidth > (table.parentElement as HTMLElement).clientWidth,
    };
  });
  assert.deepEqual(clipped, { cells: [], overflow: false });
});

test('a call to a model with no known price shows as the unpriced tile, naming the model and what to do', async () => {
  await new OpenAI({ apiKey: 'sk-page-test', baseURL: `${base}/openai/v1`, maxRetries: 0 }).chat.completions.create({
    model: 'mystery-page-model',
    messages: [{ role: 'user', content: 'hi' }],
  });
  const tile = page.locator('[data-testid="tile-unpriced"]');
  await tile.waitFor({ timeout: 10_000 });
  assert.equal(await tile.locator('.value').innerText(), '1');
  assert.match(await tile.locator('.sub').innerText(), /no price known for openai mystery-page-model \(1\)\. Refresh prices, or set a price/);
});

test('light and dark, no page or console errors', async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: path.join(SHOTS, 'page-light.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.reload();
  await page.waitForSelector('body[data-loaded="true"]');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(13, 17, 23)');
  await page.screenshot({ path: path.join(SHOTS, 'page-dark.png'), fullPage: true });
  assert.deepEqual(problems, []);
});
