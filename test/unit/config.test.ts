import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseUpstreamFlag, RouteTable } from '../../src/engine/providers';
import { readSettingsFile } from '../../src/engine/settings';
import { headerTags, takePathTags } from '../../src/engine/attribution';

test('path tags are taken off the front of the path, URL-decoded', () => {
  assert.deepEqual(takePathTags('/~feature=summarize,session=run%2042/openai/v1/chat/completions'), {
    tags: { feature: 'summarize', session: 'run 42' },
    rest: '/openai/v1/chat/completions',
  });
  assert.deepEqual(takePathTags('/~env=dev/~user=ana/anthropic/v1/messages').tags, { env: 'dev', user: 'ana' });
  assert.deepEqual(takePathTags('/openai/v1/x'), { tags: {}, rest: '/openai/v1/x' });
  assert.throws(() => takePathTags('/~upstream=evil.com/openai/v1'), /unknown tag "upstream"/);
});

test('header tags are read from x-burnrate-* and cleaned', () => {
  assert.deepEqual(headerTags({ 'x-burnrate-feature': 'search\u0007 ', 'x-burnrate-session': 's1', authorization: 'Bearer x' }), {
    feature: 'search',
    session: 's1',
  });
});

test('route table: fixed defaults, user overrides, no unknown providers', () => {
  const routes = new RouteTable({ openai: 'http://127.0.0.1:9999/' });
  assert.deepEqual([routes.get('openai')?.origin, routes.get('openai')?.basePath], ['http://127.0.0.1:9999', '']);
  assert.deepEqual([routes.get('groq')?.origin, routes.get('groq')?.basePath], ['https://api.groq.com', '']);
  for (const id of [
    'openai',
    'anthropic',
    'gemini',
    'mistral',
    'groq',
    'deepseek',
    'xai',
    'openrouter',
    'together',
    'fireworks',
    'cerebras',
    'perplexity',
    'ollama',
  ])
    assert.ok(routes.get(id), id);
  assert.throws(() => new RouteTable({ nosuch: 'http://x' }), /unknown provider "nosuch"/);
  assert.throws(() => new RouteTable({ openai: 'ftp://x' }), /http or https/);
  assert.throws(() => new RouteTable({ openai: 'http://x/?a=1' }), /query/);
  assert.deepEqual(parseUpstreamFlag('openai=http://127.0.0.1:1'), ['openai', 'http://127.0.0.1:1']);
  assert.throws(() => parseUpstreamFlag('openai'), /PROVIDER=URL/);
});

test('settings file: flat or nested keys, validated with a clear message', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-cfg-'));
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify({ 'burnrate.proxy.port': 9000, burnrate: { upstreams: { openai: 'http://127.0.0.1:1' } } }));
  assert.deepEqual(readSettingsFile(file), { 'burnrate.proxy.port': 9000, 'burnrate.upstreams': { openai: 'http://127.0.0.1:1' } });
  fs.writeFileSync(file, JSON.stringify({ 'burnrate.proxy.port': 'high' }));
  assert.throws(() => readSettingsFile(file), /"burnrate.proxy.port" should be a number/);
  fs.writeFileSync(file, JSON.stringify({ 'burnrate.guard.onTrip': 'explode' }));
  assert.throws(() => readSettingsFile(file), /"warn" or "block"/);
  fs.writeFileSync(file, '{ not json');
  assert.throws(() => readSettingsFile(file), /cannot read config/);
});
