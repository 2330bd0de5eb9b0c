/**
 * The built `burnrate import` as a user runs it: a backup restored (export → import → export gives
 * the same bytes, report the same totals), a merge run twice, a bad row that imports nothing, a
 * database held by `burnrate serve`; and a closed stdout (`burnrate export | head`) that ends quietly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { CLI, exited, runCli, startServe } from '../support/cliProcess';
import { makeRecord } from '../support/records';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-import-'));
const env = { ...process.env, BURNRATE_HOME: dir };
const run = (...args: string[]) => runCli(env, ...args);
const runWithInput = (input: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

const DAY = 86_400_000;
const t0 = Date.UTC(2025, 5, 1, 12, 0, 0, 123);

/** Records with every kind of value the export writes: nulls, quotes, commas, line breaks, unicode, formula starters, costs to the nano-dollar. */
function variedRecords(): RequestRecord[] {
  return [
    makeRecord({ id: 'a-plain', startedAt: t0 }),
    makeRecord({ id: 'b-nulls', startedAt: t0 + 1, model: null, endpoint: null, ttftMs: null, priceSource: null, costNanos: 0, costStatus: 'unpriced' }),
    makeRecord({
      id: 'c-text, "quoted"',
      startedAt: t0 + 2,
      stream: true,
      feature: 'summarize, "fast"\nsecond line',
      session: 'sess\r\nwith crlf',
      user: 'zoë 🔥 東京',
      workspace: '/home/me/proj,ect',
      error: 'upstream said "no"',
      env: '=SUM(A1)',
      trace: '-trace',
      client: 'claude-code',
      branch: 'fix/<script>alert("x")</script>, \'y\'',
      serviceTier: 'flex',
      keyFingerprint: "sha256:'quoted'",
    }),
    makeRecord({ id: 'd-one-nano', startedAt: t0 + DAY, costNanos: 1, costStatus: 'estimated', status: 0, error: 'reset' }),
    makeRecord({
      id: 'e-big',
      startedAt: t0 + 2 * DAY,
      costNanos: 123_456_789_012,
      inputTokens: 2_000_000,
      cacheReadTokens: 1_500_000,
      reasoningTokens: 77,
      branch: 'feature/login-fix',
    }),
    makeRecord({ id: 'f-free', startedAt: t0 + 2 * DAY, provider: 'ollama', model: 'llama3', costNanos: 0, costStatus: 'free', status: 503 }),
    makeRecord({ id: 'g-same-ms', startedAt: t0 + 2 * DAY, session: 'sess', feature: '', latencyMs: 0, ttftMs: 0, branch: '-main' }),
  ];
}

async function databaseWith(name: string, records: RequestRecord[]): Promise<string> {
  const file = path.join(dir, name);
  const database = await SpendDatabase.open(file, { create: true });
  database.insert(records);
  await database.save();
  database.close();
  return file;
}

function exported(db: string, format: 'csv' | 'jsonl'): string {
  const r = run('export', '--db', db, '--format', format);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

let source: string;
before(async () => {
  source = await databaseWith('source.sqlite', variedRecords());
});

describe('burnrate import', () => {
  for (const format of ['jsonl', 'csv'] as const) {
    test(`${format}: export → import into an empty database → export gives the same bytes, and report the same totals`, () => {
      const file = path.join(dir, `backup.${format}`);
      fs.writeFileSync(file, exported(source, format));
      const restored = path.join(dir, `restored-${format}.sqlite`);
      const r = run('import', '--db', restored, file);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `imported 7 record(s) into ${restored}; 0 were already there\n`);
      assert.equal(r.stderr, '', 'no progress line when stderr is not a terminal');
      assert.equal(exported(restored, format), fs.readFileSync(file, 'utf8'));
      for (const by of [[], ['--by', 'model'], ['--by', 'day'], ['--by', 'feature'], ['--by', 'client'], ['--by', 'branch']]) {
        assert.deepEqual(
          JSON.parse(run('report', '--db', restored, '--json', ...by).stdout),
          JSON.parse(run('report', '--db', source, '--json', ...by).stdout),
        );
      }
    });
  }

  test('an export from before branches (no branch column) imports, every record on no branch', () => {
    const jsonl = exported(source, 'jsonl').replace(/"branch":("(?:[^"\\]|\\.)*"|null),/g, '');
    assert.doesNotMatch(jsonl, /"branch"/);
    const csvRows = exported(source, 'csv').split('\n');
    assert.match(csvRows[0], /,client,branch$/);
    // branch is the last column; the one row with a branch holding a comma is quoted.
    const csv = exported(source, 'csv').replace(/,("(?:[^"]|"")*"|[^,\n"]*)\n/g, '\n');
    assert.match(csv.split('\n')[0], /,client$/);
    for (const [format, text] of [
      ['jsonl', jsonl],
      ['csv', csv],
    ] as const) {
      const file = path.join(dir, `before-branches.${format}`);
      fs.writeFileSync(file, text);
      const db = path.join(dir, `before-branches-${format}.sqlite`);
      const r = run('import', '--db', db, file);
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(run('report', '--db', db, '--json', '--by', 'branch').stdout);
      assert.deepEqual(
        report.groups.map((g: { key: string; requests: number }) => [g.key, g.requests]),
        [['(none)', 7]],
        format,
      );
      assert.equal(report.total.costUsd, JSON.parse(run('report', '--db', source, '--json').stdout).total.costUsd);
    }
  });

  test('importing twice adds nothing the second time; a merge adds only the new records', async () => {
    const file = path.join(dir, 'twice.jsonl');
    fs.writeFileSync(file, exported(source, 'jsonl'));
    const db = await databaseWith('twice.sqlite', [variedRecords()[0], makeRecord({ id: 'z-only-here', startedAt: t0 })]);
    assert.match(run('import', '--db', db, file).stdout, /imported 6 record\(s\) .*; 1 was already there/);
    const before = fs.readFileSync(db);
    assert.match(run('import', '--db', db, file).stdout, /imported 0 record\(s\) .*; 7 were already there/);
    assert.deepEqual(fs.readFileSync(db), before, 'nothing added: the database is not rewritten');
    assert.equal(JSON.parse(run('report', '--db', db, '--json').stdout).total.requests, 8);
  });

  test('a bad row in the middle: its line and reason, exit 1, and nothing of the file imported', async () => {
    const lines = exported(source, 'jsonl').split('\n');
    const db = await databaseWith('bad.sqlite', [makeRecord({ id: 'kept', startedAt: t0 })]);
    const untouched = fs.readFileSync(db);
    const cases: Array<[string, string, RegExp]> = [
      [
        'bad-status.jsonl',
        lines[3].replace(/"costStatus":"\w+"/, '"costStatus":"bogus"'),
        /line 4: costStatus must be one of exact, estimated, unpriced, free, got "bogus"/,
      ],
      ['bad-json.jsonl', lines[3].slice(0, 40), /line 4: not valid JSON/],
      ['no-id.jsonl', lines[3].replace(/"id":"[^"]*",/, ''), /line 4: id is missing/],
      ['bad-type.jsonl', lines[3].replace(/"inputTokens":\d+/, '"inputTokens":"many"'), /line 4: inputTokens must be a whole number ≥ 0, got "many"/],
    ];
    for (const [name, bad, reason] of cases) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, [...lines.slice(0, 3), bad, ...lines.slice(4)].join('\n'));
      const r = run('import', '--db', db, file);
      assert.equal(r.status, 1, name);
      assert.match(r.stderr, reason, name);
      assert.match(r.stderr, /nothing was imported/);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
      assert.deepEqual(fs.readFileSync(db), untouched, `${name}: database unchanged`);
    }
    // CSV: the record starting on line 4 spans three lines (line breaks in quoted tags), so the short row is on line 7.
    const csv = exported(source, 'csv').split('\n');
    const short = path.join(dir, 'short.csv');
    fs.writeFileSync(short, [...csv.slice(0, 6), csv[6].split(',').slice(0, 5).join(','), ...csv.slice(7)].join('\n'));
    const r = run('import', '--db', db, short);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /short\.csv line 7: 5 column\(s\), the header has 28/);
    assert.deepEqual(fs.readFileSync(db), untouched);
    const fresh = path.join(dir, 'never-created.sqlite');
    assert.equal(run('import', '--db', fresh, short).status, 1);
    assert.ok(!fs.existsSync(fresh), 'a failed import into a new database creates none');
  });

  test('a large export (its days built on threads beside the reading one) is restored exactly; a bad row near its end imports nothing', async () => {
    const varied = variedRecords();
    const many = Array.from({ length: 12_000 }, (_, i) => ({
      ...varied[i % varied.length],
      id: `big-${i}`,
      startedAt: t0 - 25 * DAY + i * 179_000,
      costNanos: 1 + ((i * 7919) % 9_000_000),
    }));
    const big = await databaseWith('big-source.sqlite', many);
    const exportTo = (db: string, out: string) => assert.equal(run('export', '--db', db, '--format', 'jsonl', '--out', out).status, 0);
    const file = path.join(dir, 'big.jsonl');
    exportTo(big, file);
    assert.ok(fs.statSync(file).size > 4 << 20, 'big enough to be built on threads');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const bad = path.join(dir, 'big-bad.jsonl');
    fs.writeFileSync(bad, [...lines.slice(0, 11_900), lines[11_900].replace(/"status":\d+/, '"status":-1'), ...lines.slice(11_901)].join('\n'));
    const restored = path.join(dir, 'big-restored.sqlite');
    const failed = run('import', '--db', restored, bad);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /big-bad\.jsonl line 11901: status must be a whole number ≥ 0, got -1; nothing was imported/);
    assert.ok(!fs.existsSync(restored), 'no database made');
    assert.deepEqual(fs.readdirSync(`${restored}.segments`), [], 'no segment file left');
    const r = run('import', '--db', restored, file);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `imported 12000 record(s) into ${restored}; 0 were already there\n`);
    exportTo(restored, path.join(dir, 'big-again.jsonl'));
    assert.ok(fs.readFileSync(path.join(dir, 'big-again.jsonl')).equals(fs.readFileSync(file)), 'the same bytes exported again');
    for (const by of [
      ['--by', 'day'],
      ['--by', 'session'],
      ['--by', 'branch'],
    ])
      assert.deepEqual(
        JSON.parse(run('report', '--db', restored, '--json', '--since', 'all', ...by).stdout),
        JSON.parse(run('report', '--db', big, '--json', '--since', 'all', ...by).stdout),
      );
    assert.match(run('import', '--db', restored, file).stdout, /imported 0 record\(s\) .*; 12000 were already there/);
  });

  test('a database held by burnrate serve is refused, naming the process', async () => {
    const db = await databaseWith('served.sqlite', [makeRecord({ id: 'served', startedAt: t0 })]);
    const file = path.join(dir, 'for-served.jsonl');
    fs.writeFileSync(file, exported(source, 'jsonl'));
    const serve = await startServe(env, ['--port', '0', '--db', db]);
    try {
      const r = run('import', '--db', db, file);
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `the database .*served\\.sqlite is in use by process ${serve.child.pid} \\(a burnrate serve or a VS Code window\\); stop it, then import again`,
        ),
      );
    } finally {
      serve.child.kill('SIGTERM');
      assert.equal(await exited(serve.child), 0);
    }
    assert.equal(JSON.parse(run('report', '--db', db, '--json').stdout).total.requests, 1);
    assert.match(run('import', '--db', db, file).stdout, /imported 7 record\(s\)/);
  });

  test('- reads stdin, the format from --format or its first character', () => {
    for (const [format, flags] of [
      ['jsonl', []],
      ['csv', []],
      ['csv', ['--format', 'csv']],
    ] as const) {
      const db = path.join(dir, `stdin-${format}-${flags.length}.sqlite`);
      const text = exported(source, format);
      const r = runWithInput(text, 'import', '--db', db, ...flags, '-');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /imported 7 record\(s\)/);
      assert.equal(exported(db, format), text);
    }
    const wrong = runWithInput(exported(source, 'jsonl'), 'import', '--db', path.join(dir, 'stdin-wrong.sqlite'), '--format', 'csv', '-');
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /stdin line 1: .*; nothing was imported/);
  });

  test('usage mistakes', () => {
    assert.match(run('import').stderr, /import expects a file written by burnrate export/);
    assert.equal(run('import', '--format', 'xml', 'x.csv').status, 2);
    const missing = run('import', '--db', path.join(dir, 'm.sqlite'), path.join(dir, 'no-such.jsonl'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read .*no-such\.jsonl: ENOENT/);
  });
});

describe('a closed stdout ends quietly', () => {
  test('export | head -2, report | head -1 and prices | head -1 exit 0 without a stack trace', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => makeRecord({ startedAt: t0 + i, feature: 'x'.repeat(200) }));
    const db = await databaseWith('many.sqlite', many);
    for (const command of [`export --db '${db}' --format jsonl`, `export --db '${db}' --format csv`, `report --db '${db}' --by day`, 'prices']) {
      const err = path.join(dir, 'stderr.txt');
      const r = spawnSync('bash', ['-c', `set -o pipefail; '${process.execPath}' '${CLI}' ${command} 2>'${err}' | head -2 >/dev/null`], {
        env,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `${command}: ${fs.readFileSync(err, 'utf8')}`);
      assert.equal(fs.readFileSync(err, 'utf8'), '', command);
    }
  });
});
