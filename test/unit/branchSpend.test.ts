/**
 * Spend per git branch below the faces: the tag's path form, the records' column in segment files
 * written before it existed, branch_rollup against the records (whole days, partial days,
 * repricing), the dashboard's table, the tooltip's line and the extension's choice of repository.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import initSqlJs from 'sql.js';
import { takePathTags } from '../../src/engine/attribution';
import { SpendDatabase, type RequestRecord } from '../../src/engine/database';
import { tagSegment } from '../../src/engine/meter';
import { applyReprice } from '../../src/engine/pricing';
import { DashboardQuery, SpendQuery } from '../../src/engine/queries';
import { statusView } from '../../src/extension/status/format';
import { branchOf, workspaceRepository, type GitRepository } from '../../src/extension/terminals/gitRepository';
import { branchBreakdown } from '../../webview/views/breakdowns';
import { makeRecord } from '../support/records';
import { referenceReport, segmentFiles } from '../support/spendReference';

/** Local noon, `daysAgo` days before today. */
const noon = (daysAgo: number) => {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - daysAgo, 12).getTime();
};
const midnight = (daysAgo: number) => noon(daysAgo) - 12 * 3_600_000;

function tmpFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'burnrate-branch-')), 'spend.sqlite');
}

/** Records over the last four days on a few branches and workspaces, some on none. */
function history(): RequestRecord[] {
  const branches = ['main', 'feature/login-fix', null, 'fix/<b>"quoted"</b>'];
  const out: RequestRecord[] = [];
  for (let i = 0; i < 40; i++) {
    out.push(
      makeRecord({
        startedAt: noon(i % 4) - 3_600_000 * (i % 7),
        branch: branches[i % branches.length],
        workspace: i % 3 ? 'app' : 'api',
        costNanos: 1_000 + i * 7_919,
        inputTokens: 10 + i,
        costStatus: i % 9 ? 'exact' : 'unpriced',
      }),
    );
  }
  return out;
}

test('a branch in the path segment is one URL-encoded value, `/` and all', () => {
  assert.equal(tagSegment({ workspace: 'my app', branch: 'feature/login-fix' }), '~workspace=my%20app,branch=feature%2Flogin-fix');
  assert.deepEqual(takePathTags('/~workspace=my%20app,branch=feature%2Flogin-fix/openai/v1/chat/completions'), {
    tags: { workspace: 'my app', branch: 'feature/login-fix' },
    rest: '/openai/v1/chat/completions',
  });
});

test('report --by branch equals the records: whole days from branch_rollup, partial days from the records; untagged is (none)', async () => {
  const records = history();
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(records);
  const query = new SpendQuery(db);
  for (const range of [{}, { since: midnight(3) }, { since: midnight(2) + 5 * 3_600_000 }, { since: midnight(3) + 1, until: noon(1) }]) {
    assert.deepEqual(query.report({ ...range, by: 'branch' }), referenceReport(records, { ...range, by: 'branch' }), JSON.stringify(range));
  }
  const rows = db.index.exec('SELECT branch, SUM(requests), SUM(cost_nanos) FROM branch_rollup GROUP BY branch ORDER BY branch')[0].values;
  const tagged = records.filter((r) => r.branch);
  assert.equal(
    rows.reduce((n, v) => n + Number(v[1]), 0),
    tagged.length,
    'only calls on a branch have rows',
  );
  assert.equal(
    rows.reduce((n, v) => n + Number(v[2]), 0),
    tagged.reduce((n, r) => n + r.costNanos, 0),
  );

  // Repricing a record on a branch moves its branch's row by the difference.
  const target = records.find((r) => r.branch === 'feature/login-fix' && r.startedAt < midnight(0))!;
  applyReprice(db, [
    {
      id: target.id,
      startedAt: target.startedAt,
      provider: target.provider,
      model: target.model!,
      before: { costNanos: target.costNanos, costStatus: target.costStatus, priceSource: target.priceSource },
      after: { costNanos: target.costNanos + 5_000_000, costStatus: 'exact', priceSource: 'new' },
    },
  ]);
  const repriced = records.map((r) => (r === target ? { ...r, costNanos: r.costNanos + 5_000_000, costStatus: 'exact' as const } : r));
  assert.deepEqual(
    query.report({ since: midnight(3), until: midnight(0), by: 'branch' }),
    referenceReport(repriced, { since: midnight(3), until: midnight(0), by: 'branch' }),
  );
  db.close();
});

test('segment files and an index from before branches: opened with an empty branch column, then records on branches join them and are kept', async () => {
  const file = tmpFile();
  const old = [makeRecord({ startedAt: noon(2), costNanos: 3_000 }), makeRecord({ startedAt: noon(1), costNanos: 4_000 })];
  const first = await SpendDatabase.open(file, { create: true });
  first.insert(old);
  await first.save();
  first.close();
  // Make the files what an earlier version wrote: no branch column, no branch_rollup.
  const SQL = await initSqlJs();
  for (const name of segmentFiles(file)) {
    const at = path.join(`${file}.segments`, name);
    const segment = new SQL.Database(fs.readFileSync(at));
    segment.exec('ALTER TABLE requests DROP COLUMN branch');
    fs.writeFileSync(at, segment.export());
    segment.close();
  }
  const index = new SQL.Database(fs.readFileSync(file));
  index.exec('DROP TABLE branch_rollup');
  fs.writeFileSync(file, index.export());
  index.close();

  const reopened = await SpendDatabase.open(file, { create: true });
  assert.deepEqual(
    new SpendQuery(reopened).report({ since: 0, by: 'branch' }).groups.map((g) => [g.key, g.requests]),
    [['(none)', 2]],
  );
  const added = [makeRecord({ startedAt: noon(2) + 1, branch: 'feature/login-fix', costNanos: 9_000 }), makeRecord({ startedAt: noon(0), branch: 'main' })];
  reopened.insert(added);
  await reopened.save();
  reopened.close();

  const again = await SpendDatabase.open(file, { create: false, readOnly: true });
  const query = new SpendQuery(again);
  const all = [...old, ...added];
  assert.deepEqual(query.report({ since: 0, by: 'branch' }), referenceReport(all, { since: 0, by: 'branch' }));
  assert.deepEqual(query.report({ since: midnight(2) + 1, by: 'branch' }), referenceReport(all, { since: midnight(2) + 1, by: 'branch' }));
  const branches = Object.fromEntries([...query.records({})].map((r) => [r.id, r.branch]));
  assert.deepEqual(branches, { [old[0].id]: null, [added[0].id]: 'feature/login-fix', [old[1].id]: null, [added[1].id]: 'main' });
  again.close();
  // The day written again holds the column on disk.
  const dayFile = segmentFiles(file).find((name) => name.startsWith(new Date(added[0].startedAt).toISOString().slice(0, 10)))!;
  const segment = new SQL.Database(fs.readFileSync(path.join(`${file}.segments`, dayFile)));
  assert.ok(segment.exec('PRAGMA table_info(requests)')[0].values.some((v) => v[1] === 'branch'));
  segment.close();
});

test('the dashboard shows spend by branch in the range and workspace, (none) for calls on no branch, most first', async () => {
  const records = history();
  const db = await SpendDatabase.open(undefined, { create: true });
  db.insert(records);
  const range = { since: midnight(3), until: midnight(-1) };
  for (const workspace of [undefined, 'app']) {
    const d = new DashboardQuery(db).data({ ...range, workspace });
    const shown = records.filter((r) => workspace === undefined || r.workspace === workspace);
    const expected = referenceReport(shown, { ...range, by: 'branch' });
    assert.deepEqual(
      d.byBranch.map((b) => [b.key, b.costUsd, b.requests]),
      expected.groups.map((g) => [g.key, g.costUsd, g.requests]),
      `workspace ${workspace}`,
    );
    assert.ok(Math.abs(d.byBranch.reduce((s, b) => s + b.share, 0) - 1) < 1e-9);
    assert.ok(
      d.byBranch.some((b) => b.key === 'fix/<b>"quoted"</b>'),
      'the name as it is: the view escapes it',
    );
  }
  db.close();
  const empty = await SpendDatabase.open(undefined, { create: true });
  assert.deepEqual(new DashboardQuery(empty).data(range).byBranch, []);
  empty.close();
});

test('the tooltip names the branch new terminals are tagged with, as text; none without one', () => {
  const config = { budget: { daily: 0, monthly: 0, alertThresholds: [0.8] }, port: 8390 } as never;
  const owner = { kind: 'owner', url: 'u', pid: 1 } as const;
  const view = statusView(owner, undefined, config, 'u', { workspace: 'app', branch: 'fix/<img src=x>`[a](command:x)`' });
  assert.match(view.tooltip, /\*\*Branch\*\* · fix\/\\<img src=x\\>\\`\\\[a\\\]\\\(command:x\\\)\\` · new terminals are tagged with it/);
  assert.doesNotMatch(statusView(owner, undefined, config, 'u', { workspace: 'app' }).tooltip, /Branch/);
});

test("the extension's repository: the innermost holding the workspace folder, else the only one inside it; detached HEAD has no branch", () => {
  const repo = (root: string, name?: string): GitRepository => ({
    rootUri: { fsPath: root },
    state: { HEAD: { name }, onDidChange: () => ({ dispose() {} }) },
  });
  const outer = repo('/home/me/mono', 'main');
  const inner = repo('/home/me/mono/apps/web', 'feature/x');
  const sibling = repo('/home/me/mono-2', 'other');
  assert.equal(workspaceRepository('/home/me/mono/apps/web/src', [outer, inner, sibling]), inner);
  assert.equal(workspaceRepository('/home/me/mono/docs', [inner, outer, sibling]), outer);
  assert.equal(workspaceRepository('/home/me/mono', [sibling]), undefined, '/home/me/mono-2 is not inside /home/me/mono');
  assert.equal(workspaceRepository('/home/me', [inner]), inner);
  assert.equal(workspaceRepository('/home/me', [inner, sibling]), undefined);
  assert.equal(workspaceRepository(undefined, [outer]), undefined);
  assert.equal(branchOf(inner), 'feature/x');
  assert.equal(branchOf(repo('/r')), undefined);
  assert.equal(branchOf(undefined), undefined);
});

/** Just enough of the DOM for webview/dom.ts: text goes in as text nodes, and what was made is kept. */
class FakeText {
  constructor(readonly data: string) {}
}
class FakeElement {
  readonly attributes = new Map<string, string>();
  childNodes: Array<FakeElement | FakeText> = [];
  constructor(readonly tagName: string) {}
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  append(...nodes: Array<FakeElement | FakeText | string>): void {
    for (const n of nodes) this.childNodes.push(typeof n === 'string' ? new FakeText(n) : n);
  }
  replaceChildren(...nodes: Array<FakeElement | FakeText | string>): void {
    this.childNodes = [];
    this.append(...nodes);
  }
  *cells(): Generator<FakeElement> {
    for (const c of this.childNodes) {
      if (!(c instanceof FakeElement)) continue;
      if (c.tagName === 'td') yield c;
      yield* c.cells();
    }
  }
}

test("the dashboard's branch table puts a branch name in as text: markup and quotes are shown, never parsed", () => {
  const made: FakeElement[] = [];
  const document = {
    createElement: (tag: string) => {
      const el = new FakeElement(tag);
      made.push(el);
      return el;
    },
    createTextNode: (text: string) => new FakeText(text),
  };
  Object.assign(globalThis, { document });
  try {
    const view = branchBreakdown();
    const name = `fix/<script>alert("x")</script>'&amp;`;
    view.render({ byBranch: [{ key: name, costUsd: 1.5, requests: 3, share: 1 }] } as never);
    const first = [...(view.element as unknown as FakeElement).cells()][0];
    assert.deepEqual(first.childNodes, [new FakeText(name)]);
    assert.ok(!made.some((el) => el.tagName === 'script'));
  } finally {
    delete (globalThis as { document?: unknown }).document;
  }
  // No view builds DOM from HTML strings.
  const sources = fs.readdirSync(path.join(__dirname, '../../webview'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const f of sources) assert.doesNotMatch(fs.readFileSync(path.join(__dirname, '../../webview', f), 'utf8'), /innerHTML|outerHTML|insertAdjacentHTML/, f);
});
