/** The guard metadata table agrees with package.json's burnrate.guard.* settings and with the guards' own limits. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../src/engine/settings';
import { GUARD_META, GUARD_ON_TRIP_SETTING, guardLabel } from '../../src/shared';

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const props: Record<string, { markdownDescription?: string; description?: string; minimum?: number }> = pkg.contributes.configuration.properties;
const guardSettings = Object.keys(props).filter((k) => k.startsWith('burnrate.guard.'));

test('every burnrate.guard.* setting has a row in the guard table (onTrip aside), and every row a setting', () => {
  assert.deepEqual([...GUARD_META.map((m) => m.setting), GUARD_ON_TRIP_SETTING].sort(), guardSettings.sort());
});

test("each row's description is its setting's description, and its limit is a number ≥ 0 defaulting to a number", () => {
  for (const m of GUARD_META) {
    const p = props[m.setting];
    assert.equal(p.markdownDescription ?? p.description, m.description, m.setting);
    assert.equal(p.minimum, 0, `${m.setting} minimum`);
    assert.equal(typeof DEFAULT_SETTINGS[m.setting as keyof typeof DEFAULT_SETTINGS], 'number', `${m.setting} default`);
  }
});

test('guards, limits and labels are each named once', () => {
  for (const field of ['guard', 'limit', 'setting', 'label'] as const) {
    const values = GUARD_META.map((m) => m[field]);
    assert.equal(new Set(values).size, values.length, field);
  }
  assert.equal(guardLabel('maxRepeats'), 'repeated request');
  assert.equal(guardLabel('unknownGuard' as never), 'unknownGuard');
});
