/**
 * The dashboard's routes on a real engine: the page at `/` (no secret, strict CSP), the data, price
 * and estimate routes and the filtered export (secret required), and which Origins the proxy lets in.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { type DashboardData, parseSince } from '../../src/engine/queries';
import type { CostEstimate, WhatIfAnswer } from '../../src/shared';
import type { PriceRow } from '../../src/engine/pricing';
import { startHarness, type Harness } from '../support/harness';

let h: Harness;
let port: number;
let secret: string;
before(async () => {
  h = await startHarness({ settings: { 'burnrate.budget.daily': 2, 'burnrate.budget.monthly': 40 } });
  ({ port, secret } = h);
});
after(async () => {
  await h.close();
});

function request(
  pathname: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, headers, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}
const auth = () => ({ authorization: `Bearer ${secret}` });
const today = () => ({ since: parseSince('today'), until: parseSince('today') + 86_400_000 });
const client = (tags: string) => new OpenAI({ apiKey: 'sk-test', baseURL: `${h.url}/~${tags}/openai/v1`, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'hi' }];

test('the dashboard data needs the secret and shows what the SDK spent', async () => {
  const { since, until } = today();
  assert.equal((await request(`/_burnrate/dashboard?since=${since}&until=${until}`)).status, 401);
  assert.equal((await request('/_burnrate/dashboard', auth())).status, 400);
  assert.equal((await request(`/_burnrate/dashboard?since=x&until=${until}`, auth())).status, 400);
  assert.equal((await request(`/_burnrate/dashboard?since=0&until=1e15`, auth())).status, 400);
  assert.equal((await request(`/_burnrate/dashboard?since=${until}&until=${since}`, auth())).status, 400);

  const recorded = h.nextRecords(2);
  await client('workspace=alpha,feature=summarize,session=a1').chat.completions.create({ model: 'gpt-4o-mini', messages });
  await client('workspace=beta,feature=chat,session=b1').chat.completions.create({ model: 'gpt-4o', messages });
  const [r1, r2] = await recorded;

  const all = JSON.parse((await request(`/_burnrate/dashboard?since=${since}&until=${until}`, auth())).body) as DashboardData;
  assert.equal(all.tiles.requests, 2);
  assert.equal(all.tiles.costUsd, (r1.costNanos + r2.costNanos) / 1e9);
  assert.equal(all.tiles.todayUsd, all.tiles.costUsd);
  assert.deepEqual(all.workspaces, ['alpha', 'beta']);
  assert.deepEqual(all.budget, { dailyUsd: 2, monthlyUsd: 40, todayUsd: all.tiles.costUsd, monthUsd: all.tiles.costUsd });
  assert.deepEqual(all.byFeature.map((f) => f.key).sort(), ['chat', 'summarize']);
  assert.equal(all.recent[0].model, 'gpt-4o');

  const alpha = JSON.parse((await request(`/_burnrate/dashboard?since=${since}&until=${until}&workspace=alpha`, auth())).body) as DashboardData;
  assert.equal(alpha.tiles.requests, 1);
  assert.equal(alpha.tiles.costUsd, r1.costNanos / 1e9);
  assert.deepEqual(
    alpha.topSessions.map((s) => s.session),
    ['a1'],
  );

  // The export follows the same filter.
  const csv = await request(`/_burnrate/export?format=csv&since=${since}&until=${until}&workspace=beta`, auth());
  assert.equal(csv.status, 200);
  const lines = csv.body.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[1], /gpt-4o/);
  assert.equal((await request(`/_burnrate/export?format=jsonl&until=${since}`, auth())).body, '');
});

test("the what-if picker's route: the range's tokens at another model's list prices, beside what they cost", async () => {
  const { since, until } = today();
  const range = `since=${since}&until=${until}&workspace=beta`;
  assert.equal((await request(`/_burnrate/what-if?${range}&model=gpt-4o-mini`)).status, 401);
  const data = JSON.parse((await request(`/_burnrate/dashboard?${range}`, auth())).body) as DashboardData;
  // The range's own model first, its cheaper sibling next, then common cheap models.
  assert.deepEqual(data.whatIfModels.slice(0, 2), ['openai/gpt-4o', 'openai/gpt-4o-mini']);
  assert.ok(data.whatIfModels.includes('anthropic/claude-haiku-4-5') && data.whatIfModels.length <= 12);

  // Beta's one gpt-4o call: 1,200 input tokens (200 cached), 300 output, at gpt-4o-mini's $0.15 / $0.075 / $0.60.
  const answer = await request(`/_burnrate/what-if?${range}&model=${encodeURIComponent('openai/gpt-4o-mini')}`, auth());
  assert.equal(answer.status, 200, answer.body);
  const actual = JSON.parse((await request(`/_burnrate/dashboard?${range}`, auth())).body) as DashboardData;
  assert.deepEqual(JSON.parse(answer.body) as WhatIfAnswer, {
    model: 'openai/gpt-4o-mini',
    costUsd: Math.round((1000 * 0.15 + 200 * 0.075 + 300 * 0.6) * 1000) / 1e9,
    actualUsd: actual.tiles.costUsd,
    requests: 1,
  });
  const embedding = JSON.parse((await request(`/_burnrate/what-if?${range}&model=text-embedding-3-small`, auth())).body) as WhatIfAnswer;
  assert.deepEqual([embedding.costUsd, embedding.unpriced], [null, 'openai/text-embedding-3-small has no output-token price']);
  const unknown = await request(`/_burnrate/what-if?${range}&model=no-such-model`, auth());
  assert.equal(unknown.status, 400);
  assert.match(
    (JSON.parse(unknown.body) as { error: { message: string } }).error.message,
    /^no price known for model "no-such-model": search the Prices card \(or run `burnrate prices`\) for its name$/,
  );
  assert.equal((await request(`/_burnrate/what-if?${range}`, auth())).status, 400);
  assert.equal((await request(`/_burnrate/what-if?model=gpt-4o-mini`, auth())).status, 400);
});

test('the price table and the estimator', async () => {
  assert.equal((await request('/_burnrate/prices?q=gpt-4o-mini')).status, 401);
  const rows = JSON.parse((await request('/_burnrate/prices?q=gpt-4o-mini', auth())).body) as PriceRow[];
  const mini = rows.find((r) => r.provider === 'openai' && r.model === 'gpt-4o-mini');
  assert.deepEqual([mini?.inputPerMTok, mini?.cachedInputPerMTok, mini?.outputPerMTok], [0.15, 0.075, 0.6]);
  assert.ok(rows.every((r) => /gpt-4o-mini/i.test(r.model) || /gpt-4o-mini/i.test(r.name ?? '')));

  // 1,000 in × $0.15/M + 500 out × $0.60/M = 450 µ$ a request; 100 a day; 30 days.
  const est = JSON.parse(
    (await request('/_burnrate/estimate?model=gpt-4o-mini&inputTokens=1000&outputTokens=500&requestsPerDay=100', auth())).body,
  ) as CostEstimate;
  assert.deepEqual([est.provider, est.model, est.perRequestUsd, est.perDayUsd, est.perMonthUsd], ['openai', 'gpt-4o-mini', 0.00045, 0.045, 1.35]);
  const bad = await request('/_burnrate/estimate?model=no-such-model&inputTokens=1&outputTokens=1', auth());
  assert.equal(bad.status, 400);
  assert.match(bad.body, /no price known/);
  assert.equal((await request('/_burnrate/estimate?model=gpt-4o&inputTokens=-1&outputTokens=1', auth())).status, 400);
});

test('the page is served without the secret, with a nonce CSP that only connects to itself', async () => {
  const page = await request('/', { accept: 'text/html,application/xhtml+xml' });
  assert.equal(page.status, 200);
  const csp = String(page.headers['content-security-policy']);
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  assert.ok(page.body.includes(`<script nonce="${nonce}" src="/dashboard.js">`));
  assert.ok(!page.body.includes(secret));
  const script = await request('/dashboard.js');
  assert.equal(script.status, 200);
  assert.match(String(script.headers['content-type']), /javascript/);
  // Scripts and curl still get the plain index.
  assert.match((await request('/')).body, /Burn Rate proxy is running/);
});

test("Origin: only the engine's own, only on the page and management routes", async () => {
  const own = `http://127.0.0.1:${port}`;
  const ownLocalhost = `http://localhost:${port}`;
  assert.equal((await request('/_burnrate/summary', { origin: own, ...auth() })).status, 200);
  assert.equal((await request('/_burnrate/summary', { origin: ownLocalhost, ...auth() })).status, 200);
  assert.equal((await request('/', { origin: own, accept: 'text/html' })).status, 200);
  // A same-origin POST from the page still needs the secret.
  assert.equal((await request('/_burnrate/recording', { origin: own }, 'POST')).status, 401);
  // Every other origin, and the own origin on provider routes, is refused.
  for (const origin of ['https://evil.example', 'http://127.0.0.1:1', `http://127.0.0.1:${port}.evil.example`, 'null']) {
    assert.equal((await request('/_burnrate/summary', { origin, ...auth() })).status, 403, origin);
    assert.equal((await request('/', { origin, accept: 'text/html' })).status, 403, origin);
  }
  assert.equal((await request('/openai/v1/models', { origin: own })).status, 403);
  assert.equal((await request('/_burnrate/%2e%2e/openai/v1/models', { origin: own })).status, 403);
  assert.equal((await request('/_burnrate/../openai/v1/models', { origin: own })).status, 403);
});
