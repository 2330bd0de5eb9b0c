/**
 * Spend per git branch as a user meets it: the branch tag sent by a real SDK (header or path
 * segment, `/` in the name), `burnrate run` in a git repository (a branch, a repository without
 * commits, a detached HEAD, a directory outside any repository, --branch), `burnrate env` inside a
 * metered terminal, and `report --by branch` adding up to the records.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { RequestRecord } from '../../src/engine/database';
import { burnrate, FIXTURES, unmeteredEnv, useMeteredTestBed } from '../support/meteredRun';
import { runCli } from '../support/cliProcess';

const bed = useMeteredTestBed();
const messages = [{ role: 'user' as const, content: 'hi' }];
const BRANCH = 'feature/login-fix';

/** A new folder under the test's own (a temporary folder outside any repository). */
function folder(name: string): string {
  return fs.mkdtempSync(path.join(bed.h.dir, `${name}-`));
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.test' },
  });
}

/** A repository with `branch` checked out (no commit yet unless `commit`). */
function repository(branch: string, commit = false): string {
  const dir = folder('repo');
  git(dir, 'init', '--quiet');
  git(dir, 'checkout', '--quiet', '-b', branch);
  if (commit) git(dir, 'commit', '--quiet', '--allow-empty', '-m', 'first');
  return dir;
}

/** The records written after the first `from`, once `n` have arrived. */
async function recordsSince(from: number, n = 1): Promise<RequestRecord[]> {
  for (let waited = 0; bed.records.count() - from < n && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  return bed.records.since(from);
}

/** `burnrate run [flags] -- node captureClients.mjs openai` in `cwd`: one OpenAI SDK call with nothing but a key; its record. */
async function runOpenAiIn(cwd: string, flags: string[] = [], env?: NodeJS.ProcessEnv): Promise<RequestRecord> {
  const from = bed.records.count();
  const result = await burnrate(['run', '--port', String(bed.h.port), ...flags, '--', process.execPath, path.join(FIXTURES, 'captureClients.mjs'), 'openai'], {
    cwd,
    env,
  });
  assert.equal(result.status, 0, result.stderr);
  const records = await recordsSince(from);
  assert.equal(records.length, 1);
  assert.equal(records[0].provider, 'openai');
  return records[0];
}

describe('the branch tag from an SDK', () => {
  test('in the path segment, URL-encoded: a name with / is one value, and the upstream sees the plain path', async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${bed.h.url}/~branch=${encodeURIComponent(BRANCH)},feature=login/openai/v1`, maxRetries: 0 });
    const from = bed.records.count();
    const answer = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
    assert.ok(answer.choices[0].message.content);
    const [record] = await recordsSince(from);
    assert.deepEqual([record.branch, record.feature], [BRANCH, 'login']);
    assert.deepEqual(
      bed.h.fake.calls.map((c) => c.path),
      ['/openai/v1/chat/completions'],
    );
  });

  test('in the x-burnrate-branch header, as it is (markup and quotes are data); the header wins over the path', async () => {
    const odd = `fix/<script>alert("x")</script>'s`;
    const anthropic = new Anthropic({
      apiKey: 'sk-ant-test',
      baseURL: `${bed.h.url}/~branch=other/anthropic`,
      defaultHeaders: { 'x-burnrate-branch': odd },
      maxRetries: 0,
    });
    const from = bed.records.count();
    await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages });
    const [record] = await recordsSince(from);
    assert.equal(record.branch, odd);
  });
});

describe('burnrate run: the branch checked out in its directory', () => {
  test('a branch of a repository without commits yet, through the SDK the command runs', async () => {
    const record = await runOpenAiIn(repository(BRANCH));
    assert.equal(record.branch, BRANCH);
    assert.match(record.session ?? '', /^run-\d{4}-[0-9a-f]{4}$/);
  });

  test('a branch with commits; --branch says otherwise', async () => {
    const repo = repository('main', true);
    assert.equal((await runOpenAiIn(repo)).branch, 'main');
    assert.equal((await runOpenAiIn(repo, ['--branch', 'release/2.0'])).branch, 'release/2.0');
  });

  test('a detached HEAD and a directory outside any repository record no branch', async () => {
    const repo = repository('main', true);
    git(repo, 'checkout', '--quiet', '--detach');
    assert.equal((await runOpenAiIn(repo)).branch, null);
    assert.equal((await runOpenAiIn(folder('plain'))).branch, null);
  });

  test('inside a metered terminal: outside a repository its branch carries over; a repository says its own; a detached HEAD drops it', async () => {
    const terminal = unmeteredEnv({ BURNRATE_PROXY: `http://127.0.0.1:${bed.h.port}/~workspace=app,branch=${encodeURIComponent('from/terminal')}` });
    const proxyOf = async (cwd: string) => {
      const out = await burnrate(['env', '--port', String(bed.h.port), '--shell', 'bash'], { cwd, env: terminal });
      assert.equal(out.status, 0, out.stderr);
      return /^export BURNRATE_PROXY='([^']*)'$/m.exec(out.stdout)?.[1];
    };
    assert.match((await proxyOf(folder('plain')))!, /~workspace=app,branch=from%2Fterminal,run=env-/);
    assert.match((await proxyOf(repository(BRANCH)))!, /~workspace=app,branch=feature%2Flogin-fix,run=env-/);
    const detached = repository('main', true);
    git(detached, 'checkout', '--quiet', '--detach');
    assert.doesNotMatch((await proxyOf(detached))!, /branch=/);
    assert.equal((await runOpenAiIn(folder('plain'), [], terminal)).branch, 'from/terminal');
  });
});

describe('report --by branch', () => {
  test('totals equal the records: whole days from the rollup, a partial day from the records', async () => {
    const repo = repository('report/a');
    await runOpenAiIn(repo);
    await runOpenAiIn(repo);
    await runOpenAiIn(folder('plain'));
    const expected = new Map<string, { nanos: number; requests: number }>();
    for (const r of bed.h.records) {
      const key = r.branch || '(none)';
      const e = expected.get(key) ?? { nanos: 0, requests: 0 };
      e.nanos += r.costNanos;
      e.requests++;
      expected.set(key, e);
    }
    assert.ok(expected.has('report/a') && expected.has('(none)') && expected.has(BRANCH));
    // `all` reads whole days (the rollup); `2h` starts mid-day (today's records, scanned).
    for (const since of ['all', '2h']) {
      const out = runCli({ ...process.env, BURNRATE_HOME: bed.h.dir }, 'report', '--db', bed.h.dbPath, '--by', 'branch', '--since', since, '--json');
      assert.equal(out.status, 0, out.stderr);
      const report = JSON.parse(out.stdout) as { groups: Array<{ key: string; costUsd: number; requests: number }> };
      const got = new Map(report.groups.map((g) => [g.key, { nanos: Math.round(g.costUsd * 1e9), requests: g.requests }]));
      assert.deepEqual(got, expected, `--since ${since}`);
    }
    const text = runCli({ ...process.env, BURNRATE_HOME: bed.h.dir }, 'report', '--db', bed.h.dbPath, '--by', 'branch');
    assert.match(text.stdout, /report\/a/);
  });
});
