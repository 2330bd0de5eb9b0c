/**
 * End to end, in a real VS Code: the packaged burnrate-<version>.vsix installed into code-server
 * (VS Code 1.100 served to a browser), driven by headless Chromium through playwright-core.
 *
 * A user's day: the status bar shows $0.00; a script using the official OpenAI SDK goes through the
 * extension's proxy (to the fake provider, configured in the user settings as `burnrate.upstreams`)
 * and the amount moves by exactly its cost; the tooltip has the week/month/budget; integrated
 * terminals carry the base URLs, a metered terminal its own session, and a script run in it unchanged
 * is priced too; the dashboard opens from the command palette; a second window shows the same total
 * and carries on (taking over the engine) when the first one goes away.
 *
 * Run with `npm run test:e2e` (packages first). Installs code-server + Chromium on first use
 * (test/e2e/setup.sh). Screenshots go to $E2E_SHOTS or .vscode-test/screenshots/.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SpendDatabase } from '../../src/engine/database';
import { nanosToUsd, priceUsage } from '../../src/engine/pricing';
import { readJournalRecords } from '../../src/engine/store';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { formatUsd } from '../../src/shared';
import { money } from '../../webview/format';
import { startFakeProvider, type FakeProvider } from '../support/fakeProvider';

const ROOT = path.resolve(__dirname, '../..');
const PREFIX = process.env.CODE_SERVER_PREFIX ?? path.join(ROOT, '.vscode-test/code-server');
const CODE_SERVER = path.join(PREFIX, 'node_modules/.bin/code-server');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; publisher: string };
const VSIX = path.join(ROOT, `${PKG.name}-${PKG.version}.vsix`);
const SHOTS = process.env.E2E_SHOTS ?? path.join(ROOT, '.vscode-test/screenshots');

const E2E = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-e2e-'));
const WORKSPACE = path.join(E2E, 'e2e-project');
const USER_DATA = path.join(E2E, 'data');
const EXTENSIONS = path.join(E2E, 'ext');
const DATA_DIR = path.join(USER_DATA, 'User/globalStorage', `${PKG.publisher}.${PKG.name}`);

/** The request every test sends: gpt-4o, 100k input and 20k output tokens. */
const USAGE = { input: 100_000, cachedRead: 0, cacheWrite: 0, cacheWrite1h: 0, output: 20_000, reasoning: 0 };
const COST_NANOS = priceUsage('openai', 'gpt-4o', {
  inputTokens: USAGE.input,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: USAGE.output,
  reasoningTokens: 0,
}).costNanos;
const amount = (requests: number) => formatUsd(nanosToUsd(COST_NANOS * requests));

let fake: FakeProvider;
let proxyPort: number;
let csPort: number;
let codeServer: ChildProcess | undefined;
let browser: Browser | undefined;
let window1: Page;
let window2: Page;
let requests = 0;
let meteredSession: string | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function get(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.setTimeout(2_000, () => req.destroy(new Error('timeout')));
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await sleep(100);
  }
}

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** The Burn Rate status bar item: the entry whose icon is the flame (or pause). */
const statusItem = (page: Page) =>
  page.locator('#workbench\\.parts\\.statusbar .statusbar-item').filter({ has: page.locator('.codicon-flame, .codicon-debug-pause') });

async function statusText(page: Page): Promise<string> {
  return (await statusItem(page).innerText()).trim();
}

async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
}

async function openWindow(): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 860 } });
  await page.goto(`http://127.0.0.1:${csPort}/?folder=${encodeURIComponent(WORKSPACE)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  return page;
}

/** A script as a user would have it: the official SDK, configured by the environment only. */
function writeUserScript(): string {
  const file = path.join(WORKSPACE, 'ask.js');
  fs.writeFileSync(
    file,
    `const OpenAI = require(${JSON.stringify(path.join(ROOT, 'node_modules/openai'))}).default;
new OpenAI({ apiKey: 'sk-e2e-user-key', maxRetries: 0 })
  .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
  .then((r) => require('fs').writeFileSync(process.argv[2], r.choices[0].message.content + '\\n'), (e) => require('fs').writeFileSync(process.argv[2], 'ERROR ' + e.message + '\\n'));
`,
  );
  return file;
}

/** Runs git in `cwd` as a user would (a repository of the user's own). */
function git(cwd: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=E2E', '-c', 'user.email=e2e@example.com', ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
}

/** The status bar item's tooltip once it has all of `parts` (hovered again until then: it follows the summary and the branch). */
async function tooltipWith(page: Page, parts: string[]): Promise<string> {
  return until(`the tooltip with ${parts.join(', ')}`, async () => {
    await page.mouse.move(10, 10);
    await statusItem(page).hover();
    const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'This month' }).first();
    await hover.waitFor({ timeout: 5_000 });
    const text = await hover.innerText();
    return parts.every((p) => text.includes(p)) && text;
  });
}

/** Opens a metered terminal and runs the user's script in it; returns the terminal's session and OpenAI base URL. */
async function runInMeteredTerminal(page: Page, name: string): Promise<{ session: string; url: string }> {
  const script = writeUserScript();
  const envOut = path.join(E2E, `${name}-env.txt`);
  const replyOut = path.join(E2E, `${name}-reply.txt`);
  await runCommand(page, 'Burn Rate: New Metered Terminal');
  await page
    .locator('.terminal-tab, .tabs-container .label-name, .single-terminal-tab', { hasText: 'Burn Rate' })
    .first()
    .waitFor({ timeout: 15_000 })
    .catch(() => undefined);
  await sleep(500);
  await typeInTerminal(page, `echo "$BURNRATE_SESSION $OPENAI_BASE_URL" > ${envOut}; node ${script} ${replyOut}`);
  const [session, url] = (await until('the metered terminal wrote its env', () => fs.existsSync(envOut) && fs.readFileSync(envOut, 'utf8').trim())).split(' ');
  const reply = await until('the script finished', () => fs.existsSync(replyOut) && fs.readFileSync(replyOut, 'utf8').trim());
  assert.equal(reply, 'Hello from fake openai.');
  requests++;
  return { session, url };
}

async function typeInTerminal(page: Page, line: string): Promise<void> {
  const terminal = page.locator('.terminal-wrapper.active .xterm, .terminal .xterm').last();
  await terminal.waitFor({ timeout: 30_000 });
  await terminal.click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

async function sendRequest(label: string): Promise<void> {
  const client = new OpenAI({ apiKey: 'sk-e2e-test-key', baseURL: `http://127.0.0.1:${proxyPort}/~feature=e2e/openai/v1`, maxRetries: 0 });
  const reply = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: label }] });
  assert.equal(reply.choices[0].message.content, 'Hello from fake openai.');
  requests++;
}

describe('Burn Rate in VS Code (code-server + Chromium)', { timeout: 600_000 }, () => {
  before(async () => {
    if (!fs.existsSync(VSIX)) throw new Error(`${VSIX} is missing: run \`npm run package\` first (npm run test:e2e does)`);
    if (!fs.existsSync(CODE_SERVER) || !fs.existsSync(CHROMIUM)) {
      throw new Error(`code-server or Chromium is missing: run \`bash test/e2e/setup.sh\` first (npm run test:e2e does)`);
    }
    fs.mkdirSync(WORKSPACE, { recursive: true });
    // The project is a git repository on `main`: terminals' calls are tagged with the branch.
    git(WORKSPACE, 'init', '-q', '-b', 'main');
    git(WORKSPACE, 'commit', '-q', '--allow-empty', '-m', 'start');
    fake = await startFakeProvider();
    fake.setUsage(USAGE);
    proxyPort = await freePort();
    csPort = await freePort();

    // User settings: quiet profile, the proxy on a free port, every provider routed to the fake
    // (upstreams is machine-scoped: user settings, as a user would set it), and a daily budget.
    fs.mkdirSync(path.join(USER_DATA, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(USER_DATA, 'User/settings.json'),
      JSON.stringify(
        {
          'workbench.startupEditor': 'none',
          'workbench.welcomePage.walkthroughs.openOnInstall': false,
          'workbench.tips.enabled': false,
          'remote.autoForwardPorts': false,
          'extensions.autoCheckUpdates': false,
          'extensions.autoUpdate': false,
          'extensions.ignoreRecommendations': true,
          'telemetry.telemetryLevel': 'off',
          'update.mode': 'none',
          'security.workspace.trust.enabled': false,
          'chat.disableAIFeatures': true,
          'terminal.integrated.enablePersistentSessions': false,
          'burnrate.proxy.port': proxyPort,
          'burnrate.upstreams': Object.fromEntries(DEFAULT_ROUTES.map((r) => [r.id, fake.url])),
          'burnrate.budget.daily': nanosToUsd(COST_NANOS * 3) / 0.9, // three requests = 90 %: the warning colour
        },
        null,
        2,
      ),
    );

    const env: NodeJS.ProcessEnv = { ...process.env, BURNRATE_HOME: path.join(E2E, 'cli-home'), SHELL: '/bin/bash' };
    for (const r of DEFAULT_ROUTES) delete env[r.env];
    const install = spawnSync(CODE_SERVER, ['--extensions-dir', EXTENSIONS, '--user-data-dir', USER_DATA, '--install-extension', VSIX], {
      env,
      encoding: 'utf8',
    });
    assert.equal(install.status, 0, `install failed: ${install.stdout}\n${install.stderr}`);
    assert.match(install.stdout + install.stderr, /successfully installed/i);

    const log = fs.openSync(path.join(E2E, 'code-server.log'), 'w');
    codeServer = spawn(
      CODE_SERVER,
      [
        '--config',
        path.join(E2E, 'cs-config.yaml'),
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${csPort}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--extensions-dir',
        EXTENSIONS,
        '--user-data-dir',
        USER_DATA,
        WORKSPACE,
      ],
      { detached: true, stdio: ['ignore', log, log], env },
    );
    await until('code-server', async () => (await get(csPort, '/healthz')).status === 200, 60_000);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    });
    console.log(`e2e: ${E2E} · proxy port ${proxyPort} · code-server :${csPort} · screenshots in ${SHOTS}`);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    if (codeServer?.pid) {
      try {
        process.kill(-codeServer.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await sleep(1_000);
      try {
        process.kill(-codeServer.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await fake?.close();
  });

  test("the status bar shows today's spend as soon as the window is up", async () => {
    window1 = await openWindow();
    await statusItem(window1).waitFor({ timeout: 60_000 });
    await until('$0.00 in the status bar', async () => (await statusText(window1)) === '$0.00');
    assert.equal(await statusItem(window1).locator('.codicon-flame').count(), 1);
    const health = JSON.parse((await get(proxyPort, '/_burnrate/health')).body);
    assert.equal(health.service, 'burnrate');
    await shot(window1, '1-statusbar-start');
  });

  test('a request through the proxy with the OpenAI SDK moves the amount by exactly its cost', async () => {
    const t0 = Date.now();
    await sendRequest('first');
    await until(`${amount(1)} in the status bar`, async () => (await statusText(window1)) === amount(1), 10_000);
    console.log(`e2e: status bar showed ${amount(1)} ${Date.now() - t0} ms after the request was sent`);
    await shot(window1, '2-statusbar-after-request');
    // The branch line comes once VS Code's git extension has read the repository.
    const text = await tooltipWith(window1, ['Branch · main']);
    for (const part of ['Today', 'This week', 'This month', 'Budget', 'gpt-4o', `127.0.0.1:${proxyPort}`, 'new terminals are tagged with it'])
      assert.ok(text.includes(part), `tooltip shows ${part}:\n${text}`);
    await shot(window1, '3-tooltip');
    await window1.mouse.move(10, 10);
  });

  test("integrated terminals get the providers' base URLs and the capture hooks, pointing at the proxy with the workspace tag", async () => {
    const out = path.join(E2E, 'terminal-env.txt');
    await runCommand(window1, 'Terminal: Create New Terminal');
    // The preload named in NODE_OPTIONS is the extension's copy in its global storage (stable across updates).
    await typeInTerminal(
      window1,
      `echo "$OPENAI_BASE_URL $ANTHROPIC_BASE_URL $BURNRATE_PROXY \${GOOGLE_GEMINI_BASE_URL:-captured} $(test -f "\${NODE_OPTIONS##* }" && case "\${NODE_OPTIONS##* }" in */globalStorage/*) echo preload-installed;; esac)" > ${out}`,
    );
    const line = await until('the terminal wrote its env', () => fs.existsSync(out) && fs.readFileSync(out, 'utf8').trim());
    const base = `http://127.0.0.1:${proxyPort}/~workspace=e2e-project,branch=main`;
    // Gemini's clients are captured by the hooks (burnrate.terminal.intercept), not by a variable.
    assert.equal(line, `${base}/openai/v1 ${base}/anthropic ${base} captured preload-installed`);
  });

  test("a metered terminal has its own session; the user's script runs unchanged and is recorded as that session", async () => {
    const { session, url } = await runInMeteredTerminal(window1, 'metered');
    await shot(window1, '4-metered-terminal');
    assert.match(session, /^term-\d{4}-[0-9a-f]{4}$/, `BURNRATE_SESSION in the metered terminal (${session})`);
    // The terminal's id is the session of calls that bring none of their own (~run=).
    assert.equal(url, `http://127.0.0.1:${proxyPort}/~workspace=e2e-project,branch=main,run=${session}/openai/v1`);
    await until(`${amount(2)} in the status bar`, async () => (await statusText(window1)) === amount(2), 10_000);
    meteredSession = session;
  });

  test('the dashboard opens from the command palette and answers the four questions, in dark and light themes', async () => {
    await runCommand(window1, 'Burn Rate: Open Dashboard');
    const frame = window1.frameLocator('iframe.webview').frameLocator('#active-frame');
    const tile = (id: string) => frame.locator(`[data-testid="tile-${id}"] .value`).innerText();
    const twoRequests = money(nanosToUsd(COST_NANOS * 2));
    await until('the dashboard total', async () => (await tile('today')) === twoRequests, 30_000);
    assert.equal(await tile('cost'), twoRequests);
    assert.equal(await tile('requests'), '2');
    assert.equal(await tile('per-request'), money(nanosToUsd(COST_NANOS)));
    assert.match(await frame.locator('[data-testid="feed"] tbody').innerText(), /gpt-4o/);
    assert.ok(meteredSession && (await frame.locator('[data-testid="sessions"] tbody').innerText()).includes(meteredSession), 'the metered session is listed');
    assert.match(await frame.locator('[data-testid="gauge-daily"]').innerText(), new RegExp(`\\${twoRequests} of \\$`));
    for (const id of ['daily-chart', 'model-chart']) {
      const painted = await frame.locator(`#${id}`).evaluate((c: HTMLCanvasElement) => {
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
        return n;
      });
      assert.ok(painted > 500, `${id} is drawn in the panel (${painted} painted pixels)`);
    }
    // The panel follows the colour theme (--vscode-* variables): the light default, then dark. The
    // terminal panel is hidden for the pictures (this window closes in the next test).
    await runCommand(window1, 'View: Hide Panel');
    const themeOf = async () => ((await frame.locator('body.vscode-dark').count()) ? 'dark' : 'light');
    const first = await themeOf();
    await sleep(300);
    await shot(window1, `5-dashboard-${first}`);
    const second = first === 'dark' ? 'light' : 'dark';
    await runCommand(window1, 'Preferences: Toggle between Light/Dark Themes');
    await until(`the ${second} theme in the panel`, async () => (await themeOf()) === second, 20_000);
    await sleep(500);
    await shot(window1, `5-dashboard-${second}`);
    await runCommand(window1, 'Preferences: Toggle between Light/Dark Themes');
  });

  test('a second window shows the same total; when the hosting window goes, it takes over and nothing is lost', async () => {
    window2 = await openWindow();
    await until('window 2 shows the same total', async () => (await statusText(window2).catch(() => '')) === amount(2), 60_000);
    const ownerPid = JSON.parse((await get(proxyPort, '/_burnrate/health')).body).pid as number;

    await sendRequest('third');
    await until(
      'both windows show the third request',
      async () => (await statusText(window1)) === amount(3) && (await statusText(window2)) === amount(3),
      10_000,
    );
    // 90 % of the daily budget: the warning colour, in both windows.
    const background = async (page: Page) => statusItem(page).evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.notEqual(await background(window2), 'rgba(0, 0, 0, 0)');
    await shot(window2, '6-second-window-budget-warning');

    // The first window goes away (a reload shuts its extension host down, as closing it does).
    await window1.close({ runBeforeUnload: true });
    const newOwner = await until(
      'another process hosts the engine',
      async () => {
        const h = JSON.parse((await get(proxyPort, '/_burnrate/health')).body) as { pid: number };
        return h.pid !== ownerPid && h.pid;
      },
      60_000,
    );
    console.log(`e2e: engine moved from process ${ownerPid} to ${newOwner}`);
    await sendRequest('fourth');
    await until('window 2 counts the request after the takeover', async () => (await statusText(window2)) === amount(4), 15_000);
    await statusItem(window2).hover();
    await window2.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'served by this window' }).first().waitFor({ timeout: 10_000 });
    await shot(window2, '7-after-takeover');
    await window2.mouse.move(10, 10);
  });

  test('pause and resume recording from the command palette; estimate a cost', async () => {
    await runCommand(window2, 'Burn Rate: Pause Recording');
    await until('the pause icon', async () => (await statusItem(window2).locator('.codicon-debug-pause').count()) === 1, 10_000);
    const client = new OpenAI({ apiKey: 'sk-e2e-test-key', baseURL: `http://127.0.0.1:${proxyPort}/openai/v1`, maxRetries: 0 });
    const reply = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'not recorded' }] });
    assert.equal(reply.choices[0].message.content, 'Hello from fake openai.', 'paused: still forwarded');
    await sleep(500);
    await shot(window2, '8-paused');
    await runCommand(window2, 'Burn Rate: Resume Recording');
    await until('the flame again', async () => (await statusItem(window2).locator('.codicon-flame').count()) === 1, 10_000);
    assert.equal(await statusText(window2), amount(4), 'the paused request was not counted');

    await runCommand(window2, 'Burn Rate: Estimate Cost');
    const input = window2.locator('.quick-input-widget input.input');
    await input.fill('gpt-4o-mini');
    await window2.locator('.quick-input-list .monaco-list-row', { hasText: 'gpt-4o-mini' }).first().waitFor();
    await window2.keyboard.press('Enter');
    // The input and output prompts open with their defaults (1000 and 500).
    for (const [prefilled, tokens] of [
      ['1000', '1000000'],
      ['500', '1000000'],
    ]) {
      await until(`the prompt prefilled with ${prefilled}`, async () => (await input.inputValue()) === prefilled);
      await input.fill(tokens);
      await window2.keyboard.press('Enter');
    }
    // gpt-4o-mini: $0.15 input + $0.60 output per million tokens.
    const toast = window2.locator('.notification-toast', { hasText: 'per request' }).first();
    await toast.waitFor({ timeout: 15_000 });
    assert.match(await toast.innerText(), /gpt-4o-mini: \$0\.75 per request/);
    await sleep(500); // let the toast finish sliding in
    await shot(window2, '9-estimate');
  });

  test('after a branch switch the tooltip names the new branch and a new metered terminal is recorded on it; the dashboard has spend by branch', async () => {
    git(WORKSPACE, 'checkout', '-q', '-b', 'feature/login-fix');
    await tooltipWith(window2, ['Branch · feature/login-fix']);
    await shot(window2, '10-tooltip-branch');
    await window2.mouse.move(10, 10);
    const { session, url } = await runInMeteredTerminal(window2, 'branch');
    assert.equal(url, `http://127.0.0.1:${proxyPort}/~workspace=e2e-project,branch=feature%2Flogin-fix,run=${session}/openai/v1`);
    await until(`${amount(requests)} in the status bar`, async () => (await statusText(window2)) === amount(requests), 10_000);
    await runCommand(window2, 'View: Hide Panel');
    await runCommand(window2, 'Burn Rate: Open Dashboard');
    const frame = window2.frameLocator('iframe.webview').frameLocator('#active-frame');
    const branches = frame.locator('[data-testid="branches"]');
    await until('both branches in the dashboard', async () => {
      const text = await branches.innerText();
      return text.includes('feature/login-fix') && text.includes('main') && text;
    });
    await branches.scrollIntoViewIfNeeded();
    await sleep(300);
    await shot(window2, '11-dashboard-branches');
  });

  test('every request is in the database the extension keeps in its global storage', async () => {
    const dbFile = path.join(DATA_DIR, 'burnrate.sqlite');
    // The journal first, then the file (as `burnrate report` does): a snapshot landing in between
    // only repeats records, never hides the ones it moved out of the journal.
    const journalled = readJournalRecords(dbFile);
    // Read-only, as the CLI opens it: a segment file the running extension replaces meanwhile is followed to its newest version.
    const db = await SpendDatabase.open(dbFile, { create: true, readOnly: true });
    db.insert(journalled);
    // Sessions named by the caller (the metered terminal's); untagged calls get inferred `auto-…` ones.
    let count = 0;
    let costNanos = 0;
    const sessions = new Map<string, unknown>();
    for (const segment of db.segments()) {
      const [n, cost] = segment.exec('SELECT COUNT(*), COALESCE(SUM(cost_nanos), 0) FROM requests')[0].values[0];
      count += Number(n);
      costNanos += Number(cost);
      for (const [session, branch] of segment.exec("SELECT DISTINCT session, branch FROM requests WHERE session NOT LIKE 'auto-%'")[0]?.values ?? [])
        sessions.set(String(session), branch);
    }
    db.close();
    assert.deepEqual([count, costNanos], [requests, COST_NANOS * requests]);
    // The two metered terminals' calls, each on the branch checked out when it was opened.
    assert.deepEqual([...sessions.values()].sort(), ['feature/login-fix', 'main']);
  });
});

/**
 * Budgets and runaway guards in the same real VS Code, a code-server of their own: a $1 daily
 * budget and a request-rate guard in the user settings; a script's session (the official OpenAI SDK,
 * with a session tag) runs past both. The budget notifications carry the numbers and their actions,
 * the status bar turns the warning then the error colour, the guard's notification offers Stop
 * Session / Raise Limit / Ignore; "Burn Rate: Stop Session" lists the session and stopping it makes
 * the next SDK call fail with the guard's message without reaching the provider; "Allow Session"
 * lets it go on. In block mode the trip itself stops the session and its notification's Allow
 * Session button lets it go on.
 */
describe('Budgets and guards in VS Code (code-server + Chromium)', { timeout: 600_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-e2e-guards-'));
  const folder = path.join(dir, 'guarded-project');
  const userData = path.join(dir, 'data');
  const settingsFile = path.join(userData, 'User/settings.json');
  // Each request costs COST_NANOS ($0.45): two are 90 % of $1 (past 80 %), three are past 100 %.
  const DAILY_BUDGET = 1;
  let guardFake: FakeProvider;
  let port: number;
  let server: ChildProcess | undefined;
  let chrome: Browser | undefined;
  let page: Page;

  /** A call from the looping script's session, as the user's SDK sees it: the reply, or the error it throws. */
  async function call(session: string): Promise<{ reply?: string; status?: number; message?: string; code?: string | null }> {
    const client = new OpenAI({ apiKey: 'sk-e2e-guard-key', baseURL: `http://127.0.0.1:${port}/~session=${session}/openai/v1`, maxRetries: 2 });
    try {
      const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'again' }] });
      return { reply: r.choices[0].message.content ?? '' };
    } catch (e) {
      const err = e as InstanceType<typeof OpenAI.APIError>;
      return { status: err.status, message: err.message, code: err.code as string | null };
    }
  }

  const toast = (text: string | RegExp) => page.locator('.notification-toast').filter({ hasText: text }).last();
  const toastButtons = async (t: ReturnType<typeof toast>) => (await t.locator('.monaco-button').allInnerTexts()).map((s) => s.trim()).filter(Boolean);

  /** The status bar item's background, and the theme's warning and error backgrounds for status items, as computed colours. */
  const colours = () =>
    statusItem(page).evaluate((el) => {
      // (No named helpers in here: the test's compiler would wrap them in a function the page lacks.)
      const [warning, error] = ['--vscode-statusBarItem-warningBackground', '--vscode-statusBarItem-errorBackground'].map((v) => {
        const d = document.createElement('div');
        d.style.backgroundColor = `var(${v})`;
        el.parentElement!.appendChild(d);
        const c = getComputedStyle(d).backgroundColor;
        d.remove();
        return c;
      });
      return { item: getComputedStyle(el).backgroundColor, warning, error };
    });

  function getJson(p: number, route: string, secret: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: p, path: route, headers: { authorization: `Bearer ${secret}` } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${route}: ${res.statusCode} ${body}`))));
        })
        .on('error', reject);
    });
  }

  async function pickInQuickPick(label: string): Promise<void> {
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
    await row.waitFor({ timeout: 15_000 });
    await row.click();
  }

  before(async () => {
    fs.mkdirSync(folder, { recursive: true });
    guardFake = await startFakeProvider();
    guardFake.setUsage(USAGE);
    port = await freePort();
    const csGuardPort = await freePort();
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    const userSettings: Record<string, unknown> = {
      'workbench.startupEditor': 'none',
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'workbench.tips.enabled': false,
      'remote.autoForwardPorts': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'extensions.ignoreRecommendations': true,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'security.workspace.trust.enabled': false,
      'chat.disableAIFeatures': true,
      'terminal.integrated.enablePersistentSessions': false,
      'burnrate.proxy.port': port,
      'burnrate.upstreams': Object.fromEntries(DEFAULT_ROUTES.map((r) => [r.id, guardFake.url])),
      'burnrate.budget.daily': DAILY_BUDGET,
      'burnrate.guard.maxRequestsPerMinute': 3,
      'burnrate.guard.onTrip': 'warn',
    };
    fs.writeFileSync(settingsFile, JSON.stringify(userSettings, null, 2));
    // The same machine-scoped settings as Remote settings too: in a remote window (code-server is
    // one) VS Code takes them from there once the user settings change.
    fs.mkdirSync(path.join(userData, 'Machine'), { recursive: true });
    fs.writeFileSync(
      path.join(userData, 'Machine/settings.json'),
      JSON.stringify({ 'burnrate.proxy.port': port, 'burnrate.upstreams': userSettings['burnrate.upstreams'] }, null, 2),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, BURNRATE_HOME: path.join(dir, 'cli-home'), SHELL: '/bin/bash' };
    for (const r of DEFAULT_ROUTES) delete env[r.env];
    const extensions = path.join(dir, 'ext');
    const install = spawnSync(CODE_SERVER, ['--extensions-dir', extensions, '--user-data-dir', userData, '--install-extension', VSIX], {
      env,
      encoding: 'utf8',
    });
    assert.equal(install.status, 0, `install failed: ${install.stdout}\n${install.stderr}`);
    const log = fs.openSync(path.join(dir, 'code-server.log'), 'w');
    server = spawn(
      CODE_SERVER,
      [
        '--config',
        path.join(dir, 'cs-config.yaml'),
        '--auth',
        'none',
        '--bind-addr',
        `127.0.0.1:${csGuardPort}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--extensions-dir',
        extensions,
        '--user-data-dir',
        userData,
        folder,
      ],
      { detached: true, stdio: ['ignore', log, log], env },
    );
    await until('code-server', async () => (await get(csGuardPort, '/healthz')).status === 200, 60_000);
    chrome = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    });
    page = await chrome.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(`http://127.0.0.1:${csGuardPort}/?folder=${encodeURIComponent(folder)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await statusItem(page).waitFor({ timeout: 60_000 });
    await until('$0.00 in the status bar', async () => (await statusText(page)) === '$0.00');
    console.log(`e2e guards: ${dir} · proxy port ${port} · code-server :${csGuardPort}`);
  });

  after(async () => {
    await chrome?.close().catch(() => undefined);
    if (server?.pid) {
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        try {
          process.kill(-server.pid, signal);
        } catch {
          /* gone */
        }
        await sleep(1_000);
      }
    }
    await guardFake?.close();
  });

  test('past 80 % of the daily budget: a notification with the numbers and its actions, the warning colour', async () => {
    const before = await colours();
    assert.equal(before.item, 'rgba(0, 0, 0, 0)', 'no colour below the budget');
    for (let i = 0; i < 2; i++) assert.equal((await call('e2e-loop')).reply, 'Hello from fake openai.');
    const notice = toast('Daily budget');
    await notice.waitFor({ timeout: 15_000 });
    assert.match(await notice.innerText(), /Daily budget: \$0\.90 of \$1\.00 spent \(90\u00a0%\)\./);
    assert.match(await notice.innerText(), /Source: Burn Rate/);
    assert.deepEqual(await toastButtons(notice), ['Open Dashboard', 'Raise Budget']);
    await until(
      'the warning colour',
      async () => {
        const c = await colours();
        return c.item === c.warning && c.item !== c.error;
      },
      10_000,
    );
    await sleep(400);
    await shot(page, 'g1-budget-80-warning');
  });

  test('past 100 %: an error notification, the error colour; the looping session trips the rate guard: Stop Session / Raise Limit / Ignore', async () => {
    assert.equal((await call('e2e-loop')).reply, 'Hello from fake openai.');
    const exceeded = toast(/Daily budget: \$1\.35 of \$1\.00/);
    await exceeded.waitFor({ timeout: 15_000 });
    assert.match(await exceeded.innerText(), /\(135\u00a0%\)\. Calls still go through \(burnrate\.budget\.onExceed is "warn"\)\./);
    await until(
      'the error colour',
      async () => {
        const c = await colours();
        return c.item === c.error;
      },
      10_000,
    );
    // The fourth call within a minute from the same session: over maxRequestsPerMinute (3), warn mode.
    assert.equal((await call('e2e-loop')).reply, 'Hello from fake openai.', 'warn mode: the call goes through');
    const trip = toast('e2e-loop');
    await trip.waitFor({ timeout: 15_000 });
    assert.match(await trip.innerText(), /Session "e2e-loop" made 4 calls within a minute, over its limit of 3\. Calls still go through/);
    assert.deepEqual(await toastButtons(trip), ['Stop Session', 'Raise Limit', 'Ignore']);
    await sleep(400);
    await shot(page, 'g2-budget-exceeded-and-guard-trip');
  });

  test('"Burn Rate: Stop Session" lists the session; once stopped, its next SDK call fails with the guard message and never reaches the provider', async () => {
    await runCommand(page, 'Burn Rate: Stop Session');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'e2e-loop' }).first();
    await row.waitFor({ timeout: 15_000 });
    assert.match(await row.innerText(), /\$1\.80 · 4 calls/);
    await shot(page, 'g3-stop-session-pick');
    await pickInQuickPick('e2e-loop');
    const stopped = toast('session "e2e-loop" stopped');
    await stopped.waitFor({ timeout: 15_000 });
    assert.deepEqual(await toastButtons(stopped), ['Allow Session'], 'undo at hand');
    const upstreamBefore = guardFake.calls.length;
    const refused = await call('e2e-loop');
    assert.equal(refused.status, 403);
    assert.equal(refused.code, 'session_stopped');
    assert.match(
      refused.message ?? '',
      /session "e2e-loop" is stopped \(stopped by the user\)\. Its calls are refused and not sent to the provider\. To let it go on: "Burn Rate: Allow Session"/,
    );
    assert.equal(guardFake.calls.length, upstreamBefore, 'the refused call (and no SDK retry) reached the provider');
    assert.equal((await call('e2e-other')).reply, 'Hello from fake openai.', 'another session goes on');
    await sleep(300);
    await shot(page, 'g4-session-stopped');
  });

  test('the stop holds across a window reload (the engine starts again): the session is still refused until allowed', async () => {
    await page.reload();
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await statusItem(page).waitFor({ timeout: 60_000 });
    const upstreamBefore = guardFake.calls.length;
    const refused = await until('the engine back, refusing the stopped session', async () => {
      const r = await call('e2e-loop').catch(() => undefined);
      return r?.status === 403 && r;
    });
    assert.equal(refused.code, 'session_stopped');
    assert.equal(guardFake.calls.length, upstreamBefore, 'the refused call never reached the provider');
  });

  test('"Burn Rate: Allow Session" lets it go on', async () => {
    await runCommand(page, 'Burn Rate: Allow Session');
    await pickInQuickPick('e2e-loop');
    await toast('session "e2e-loop" may go on').waitFor({ timeout: 15_000 });
    assert.equal((await call('e2e-loop')).reply, 'Hello from fake openai.');
  });

  test("block mode: the trip stops the session and says so; the notification's Allow Session lets it go on", async () => {
    // As a user would: the Settings editor, Burn Rate's guard action set to "block".
    await runCommand(page, 'Preferences: Open User Settings');
    const search = page.locator('.settings-editor .suggest-input-container textarea, .settings-editor .settings-header textarea').first();
    await search.waitFor({ timeout: 15_000 });
    await search.focus();
    await page.keyboard.type('burnrate.guard.onTrip');
    const select = page.locator('.settings-editor .setting-item-enum select').first();
    await select.waitFor({ timeout: 15_000 });
    await sleep(500);
    await shot(page, 'g5-settings-on-trip');
    await select.click();
    await page.locator('.monaco-select-box-dropdown-container .monaco-list-row', { hasText: 'block' }).first().click();
    await runCommand(page, 'View: Close Editor');
    // The window sends the changed setting to the engine; then a fresh session loops.
    const secret = fs.readFileSync(path.join(userData, 'User/globalStorage', `${PKG.publisher}.${PKG.name}`, 'management-secret'), 'utf8').trim();
    await until(
      'onTrip block in the engine',
      async () => {
        const guards = await getJson(port, '/_burnrate/guards', secret);
        return (guards as { global: { guard: { onTrip: string } } }).global.guard.onTrip === 'block';
      },
      20_000,
    );
    const upstreamBeforeLoop = guardFake.calls.length;
    for (let i = 0; i < 3; i++) assert.equal((await call('e2e-runaway')).reply, 'Hello from fake openai.');
    const fourth = await call('e2e-runaway');
    assert.equal(fourth.status, 403, 'the fourth call within a minute is refused');
    assert.equal(fourth.code, 'session_stopped');
    assert.equal(guardFake.calls.length, upstreamBeforeLoop + 3);
    const trip = toast(/Session "e2e-runaway" made 4 calls within a minute/);
    await trip.waitFor({ timeout: 15_000 });
    assert.match(
      await trip.innerText(),
      /Its calls are refused and its open streams cut\. Allow Session lets it go on; Raise Limit doubles its limit for this session\./,
    );
    assert.deepEqual(await toastButtons(trip), ['Allow Session', 'Raise Limit']);
    await sleep(400);
    await shot(page, 'g6-guard-block');
    const upstream = guardFake.calls.length;
    const refused = await call('e2e-runaway');
    assert.equal(refused.status, 403);
    assert.match(refused.message ?? '', /request rate guard: made 4 calls within a minute, over its limit of 3/);
    assert.equal(guardFake.calls.length, upstream, 'blocked calls never reach the provider');
    await trip.locator('.monaco-button', { hasText: 'Allow Session' }).click();
    await toast('session "e2e-runaway" may go on').waitFor({ timeout: 15_000 });
    assert.equal((await call('e2e-runaway')).reply, 'Hello from fake openai.');
    await shot(page, 'g7-allowed');
  });

  test('the dashboard lists the sessions: Stop refuses the next SDK call, Allow lets it go on, a trip shows as an alert and Raise limit lifts it', async () => {
    assert.equal((await call('e2e-panel')).reply, 'Hello from fake openai.');
    await runCommand(page, 'Burn Rate: Open Dashboard');
    const frame = page.frameLocator('iframe.webview').frameLocator('#active-frame');
    const row = frame.locator('[data-testid="live-sessions"] tr[data-session="e2e-panel"]');
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.locator('td').nth(1).innerText(), /^active/);

    await row.getByRole('button', { name: 'Stop' }).click();
    await row.getByRole('button', { name: 'Allow' }).waitFor({ timeout: 15_000 });
    const upstream = guardFake.calls.length;
    const refused = await call('e2e-panel');
    assert.equal(refused.status, 403);
    assert.equal(refused.code, 'session_stopped');
    assert.match(refused.message ?? '', /session "e2e-panel" is stopped/);
    assert.equal(guardFake.calls.length, upstream, 'the refused call never reached the provider');
    await until('the refused call counted in the panel', async () => (await row.locator('td').nth(7).innerText()) === '1', 15_000);

    await row.getByRole('button', { name: 'Allow' }).click();
    await row.getByRole('button', { name: 'Stop' }).waitFor({ timeout: 15_000 });
    assert.equal((await call('e2e-panel')).reply, 'Hello from fake openai.');

    // Block mode, 3 calls a minute: the fourth trips the guard; the panel shows the alert and the stopped session.
    for (let i = 0; i < 2; i++) assert.equal((await call('e2e-panel')).reply, 'Hello from fake openai.');
    assert.equal((await call('e2e-panel')).code, 'session_stopped');
    const alert = frame.locator('[data-testid="alerts"] li[data-kind="guard"]').filter({ hasText: 'e2e-panel' });
    await alert.waitFor({ timeout: 15_000 });
    assert.match(await alert.innerText(), /Session "e2e-panel" made 4 calls within a minute, over its limit of 3/);
    await row.getByRole('button', { name: 'Raise limit' }).waitFor({ timeout: 15_000 });
    assert.match(await row.locator('td').nth(1).innerText(), /stopped\s+request rate guard/);
    // Notifications out of the way for the pictures, in both themes.
    await runCommand(page, 'Notifications: Clear All Notifications');
    const themeOf = async () => ((await frame.locator('body.vscode-dark').count()) ? 'dark' : 'light');
    const first = await themeOf();
    await sleep(500);
    await shot(page, `g8-dashboard-sessions-${first}`);
    const second = first === 'dark' ? 'light' : 'dark';
    await runCommand(page, 'Preferences: Toggle between Light/Dark Themes');
    await until(`the ${second} theme in the panel`, async () => (await themeOf()) === second, 20_000);
    await sleep(500);
    await shot(page, `g8-dashboard-sessions-${second}`);
    await runCommand(page, 'Preferences: Toggle between Light/Dark Themes');

    await row.getByRole('button', { name: 'Raise limit' }).click();
    await row.getByRole('button', { name: 'Stop' }).waitFor({ timeout: 15_000 });
    assert.equal((await call('e2e-panel')).reply, 'Hello from fake openai.', 'the raised limit (6 a minute) lets it go on');
  });
});
