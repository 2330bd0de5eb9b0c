/** Unknown models announced once: what is kept across restarts, what Set a Price and Ignore change, and what the notification offers. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { GuardAlert } from '../../src/shared';
import { UNPRICED_MODELS_FILE, UnpricedModelFile, UnpricedModels } from '../../src/engine/pricing';
import { AlertActions, alertView, historyNote, readPerMTok } from '../../src/extension/commands/alerts';

function start(dir: string) {
  const alerts: GuardAlert[] = [];
  const warnings: string[] = [];
  const models = new UnpricedModels({
    store: UnpricedModelFile.inDataDir(dir),
    overridesFile: path.join(dir, 'price-overrides.json'),
    log: (_level, m) => warnings.push(m),
  });
  models.on('alert', (a: GuardAlert) => alerts.push(a));
  return { models, alerts, warnings };
}

test('an unknown model is announced at its first call only, also after a restart; a priced one never', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-unpriced-unit-'));
  const first = start(dir);
  first.models.observe('openai', 'gpt-9', false);
  first.models.observe('openai', 'gpt-9', false);
  first.models.observe('openai', 'gpt-4o-mini', true);
  first.models.observe('openai', null, false);
  // Another provider's model of the same name is another price.
  first.models.observe('openrouter', 'gpt-9', false);
  assert.deepEqual(
    first.alerts.map((a) => a.kind === 'unpricedModel' && [a.provider, a.model]),
    [
      ['openai', 'gpt-9'],
      ['openrouter', 'gpt-9'],
    ],
  );
  assert.equal(first.warnings.length, 2);
  assert.match(first.warnings[0], /no price known for openai model "gpt-9".*price-overrides\.json.*burnrate prices --refresh/);
  assert.ok(fs.existsSync(path.join(dir, UNPRICED_MODELS_FILE)));

  const second = start(dir);
  second.models.observe('openai', 'gpt-9', false);
  assert.deepEqual([second.alerts, second.warnings], [[], []]);
});

test('a model that gets a price is forgotten (announced again should it lose it); an ignored one is never announced', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-unpriced-unit-'));
  const { models, alerts } = start(dir);
  models.observe('openai', 'gpt-9', false);
  models.observe('openai', 'gpt-9', true);
  assert.deepEqual(models.state(), { announced: [], ignored: [] });
  models.observe('openai', 'gpt-9', false);
  assert.equal(alerts.length, 2);

  models.ignore('deepseek', 'deepseek-v9');
  models.observe('deepseek', 'deepseek-v9', false);
  assert.equal(alerts.length, 2);
  assert.deepEqual(start(dir).models.state(), {
    announced: [{ provider: 'openai', model: 'gpt-9' }],
    ignored: [{ provider: 'deepseek', model: 'deepseek-v9' }],
  });
});

test('a damaged state file costs at most a repeated announcement', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-unpriced-unit-'));
  fs.writeFileSync(path.join(dir, UNPRICED_MODELS_FILE), '{"announced": [{"provider": 1}');
  const { models, alerts } = start(dir);
  models.observe('openai', 'gpt-9', false);
  assert.equal(alerts.length, 1);
});

test('the notification offers Refresh Prices / Set a Price / Ignore and says the calls are not in the totals', () => {
  const alert = {
    kind: 'unpricedModel',
    id: 'a',
    at: 0,
    provider: 'openai',
    model: 'gpt-9',
    workspace: null,
    session: null,
    message: 'm',
    audience: 'owner',
  } as const;
  const view = alertView(alert, { isOwner: true, workspace: undefined, meteredSessions: new Set() });
  assert.deepEqual(view.actions, [AlertActions.refreshPrices, AlertActions.setPrice, AlertActions.ignore]);
  assert.match(view.text, /no price known for openai model gpt-9.*not in your totals/);
});

test('Set a Price reads dollars per million tokens and says what became of the earlier calls', () => {
  assert.deepEqual(readPerMTok(' $1.25 '), { usd: 1.25 });
  assert.deepEqual(readPerMTok('0'), { usd: 0 });
  assert.deepEqual(readPerMTok('', true), {});
  for (const bad of ['', '-1', '1e3', 'abc', '100001']) assert.ok(readPerMTok(bad).problem, bad);
  const saved = { file: '/d/price-overrides.json', pricesProvider: 'openai' };
  assert.equal(historyNote({ ...saved, repriced: { records: 3, beforeUsd: 0, afterUsd: 0.0192 } }), '3 earlier calls repriced: $0.02 in all.');
  assert.equal(historyNote({ ...saved, repriced: { records: 0, beforeUsd: 0, afterUsd: 0 } }), 'No earlier calls needed repricing.');
  assert.match(
    historyNote({ ...saved, repriced: null, repriceError: 'the database is closed' }),
    /stay unpriced until repriced \(burnrate reprice\): the database is closed/,
  );
});
