/**
 * The month-end forecast on an injected clock, in a time zone with DST (America/New_York): month to
 * date + the trailing whole days' daily average × the days left (the rest of today, a fraction of
 * its real length, plus the whole days after it); fewer than 3 whole days of history, no figure.
 * And the same figure from the database (SpendQuery, the status bar's summary across midnight).
 */
process.env.TZ = 'America/New_York';

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpendDatabase } from '../../src/engine/database';
import { usdToNanos } from '../../src/engine/pricing';
import { daysLeftInMonth, forecastView, monthForecast, SpendQuery, SummaryQuery, SummaryTracker } from '../../src/engine/queries';
import { addLocalDays, forecastSentence, localDay } from '../../src/shared';
import { makeRecord } from '../support/records';

const at = (y: number, m: number, d: number, h = 0, min = 0) => new Date(y, m - 1, d, h, min).getTime();
const week = (usd: number) => new Array(7).fill(usdToNanos(usd));
const HOUR = 3_600_000;

test('the test runs in New York time, where 9 March 2025 has 23 hours and 2 November 2025 has 25', () => {
  assert.equal(at(2025, 3, 10) - at(2025, 3, 9), 23 * HOUR);
  assert.equal(at(2025, 11, 3) - at(2025, 11, 2), 25 * HOUR);
});

test('mid-month: month to date + the 7-day daily average × (the rest of today + the days after it)', () => {
  const f = monthForecast({ now: at(2025, 1, 15, 12), monthToDateNanos: usdToNanos(30), trailingDays: week(2), firstRecordDay: '2024-11-02' });
  assert.equal(f.daysLeft, 16.5); // half of the 15th, and 16 more days
  assert.equal(f.dailyAverageNanos, usdToNanos(2));
  assert.equal(f.projectedNanos, usdToNanos(30 + 2 * 16.5));
  assert.equal(f.enoughHistory, true);
  assert.equal(f.method, 'month to date + 7-day daily average × 16.5 days left');
  assert.deepEqual(forecastView(f), { monthToDateUsd: 30, projectedMonthUsd: 63, dailyAverageUsd: 2, method: f.method });
  assert.equal(forecastSentence(forecastView(f)), 'On pace for $63.00 this month (month to date + 7-day daily average × 16.5 days left)');
});

test('the first morning of a month: last month’s week paces the whole new month; its last evening adds only the rest of today', () => {
  const trailing = [1, 2, 3, 4, 5, 6, 7].map(usdToNanos); // $4 a day on average, from January
  const feb1 = monthForecast({ now: at(2025, 2, 1, 6), monthToDateNanos: usdToNanos(0.5), trailingDays: trailing, firstRecordDay: '2025-01-01' });
  assert.equal(feb1.daysLeft, 0.75 + 27);
  assert.equal(feb1.projectedNanos, usdToNanos(0.5 + 4 * 27.75));
  const jan31 = monthForecast({ now: at(2025, 1, 31, 18), monthToDateNanos: usdToNanos(100), trailingDays: trailing, firstRecordDay: '2025-01-01' });
  assert.equal(jan31.daysLeft, 0.25);
  assert.equal(jan31.projectedNanos, usdToNanos(101));
  // A leap February has 29 days.
  assert.equal(daysLeftInMonth(at(2028, 2, 1)), 29);
  assert.equal(daysLeftInMonth(at(2025, 2, 1)), 28);
});

test('DST days: the rest of today is a share of its real length (23 h in March, 25 h in November)', () => {
  // Noon on 9 March 2025 (clocks went forward at 2:00): 12 of the day's 23 hours are left.
  assert.ok(Math.abs(daysLeftInMonth(at(2025, 3, 9, 12)) - (12 / 23 + 22)) < 1e-12);
  // 0:30 on 2 November 2025 (clocks go back at 2:00): 24.5 of 25 hours are left.
  assert.ok(Math.abs(daysLeftInMonth(at(2025, 11, 2, 0, 30)) - (24.5 / 25 + 28)) < 1e-12);
  // The history counts calendar days, not 24-hour spans, across the change.
  const f = monthForecast({ now: at(2025, 3, 11, 1), monthToDateNanos: 0, trailingDays: week(0), firstRecordDay: '2025-03-08' });
  assert.equal(f.historyDays, 3);
  assert.equal(f.enoughHistory, true);
});

test('fewer than 3 whole days of history says so instead of a number; 3 to 6 days average over the days there are', () => {
  const now = at(2025, 1, 15, 12);
  for (const [first, days] of [
    [null, 0],
    ['2025-01-15', 0],
    ['2025-01-14', 1],
    ['2025-01-13', 2],
  ] as const) {
    const f = monthForecast({ now, monthToDateNanos: usdToNanos(9), trailingDays: week(0), firstRecordDay: first });
    assert.equal(f.enoughHistory, false);
    assert.equal(f.projectedNanos, null);
    assert.equal(f.dailyAverageNanos, null);
    assert.equal(f.method, `not enough history: ${days} whole day${days === 1 ? '' : 's'} of spend, 3 needed`);
    assert.equal(forecastSentence(forecastView(f)), `Month-end forecast: ${f.method}`);
    assert.equal(forecastView(f).monthToDateUsd, 9);
  }
  // Three whole days ($3, $6, $9 before today): an average of $6 over 3 days, not $18 over 7.
  const young = monthForecast({ now, monthToDateNanos: usdToNanos(20), trailingDays: [0, 0, 0, 0, 3, 6, 9].map(usdToNanos), firstRecordDay: '2025-01-12' });
  assert.equal(young.averagedDays, 3);
  assert.equal(young.dailyAverageNanos, usdToNanos(6));
  assert.equal(young.projectedNanos, usdToNanos(20 + 6 * 16.5));
  assert.match(young.method, /3-day daily average \(all the history there is\)/);
});

test('exact nano-dollars: one rounding of the projection, no float drift', () => {
  // $0.000000001 a day ... times 16.5 days: one rounding of the whole product.
  const f = monthForecast({ now: at(2025, 1, 15, 12), monthToDateNanos: 7, trailingDays: [1, 1, 1, 1, 1, 1, 2], firstRecordDay: '2024-12-01' });
  assert.equal(f.projectedNanos, 7 + Math.round((8 * 16.5) / 7));
  assert.ok(Number.isInteger(f.projectedNanos));
});

/** $1 on each of the 10 days before 15 January 2025 noon and $5 this morning. */
async function tenDays(now: number): Promise<SpendDatabase> {
  const db = await SpendDatabase.open(undefined, { create: true });
  const recs = [makeRecord({ startedAt: now - 2 * HOUR, costNanos: usdToNanos(5) })];
  for (let i = 1; i <= 10; i++) recs.push(makeRecord({ startedAt: addLocalDays(now, -i) + 10 * HOUR, costNanos: usdToNanos(1) }));
  db.insert(recs);
  return db;
}

test('from the database: SpendQuery.forecast and the status bar summary agree with the rule', async () => {
  const now = at(2025, 1, 15, 12);
  const db = await tenDays(now);
  // Month to date: the 5th..14th are in January ($10) and today's $5.
  const expected = { monthToDateUsd: 15, projectedMonthUsd: 15 + 16.5, dailyAverageUsd: 1, method: 'month to date + 7-day daily average × 16.5 days left' };
  assert.deepEqual(new SpendQuery(db).forecast(now), expected);
  const tracker = new SummaryTracker(new SummaryQuery(db).base(now));
  assert.deepEqual(tracker.snapshot(false, new Date(now)).forecast, expected);
});

test('the summary’s forecast moves on at midnight: today joins the trailing week, and a new month starts from zero', async () => {
  const now = at(2025, 1, 31, 12);
  const db = await tenDays(now);
  const tracker = new SummaryTracker(new SummaryQuery(db).base(now));
  tracker.add(makeRecord({ startedAt: now + HOUR, costNanos: usdToNanos(2) }), new Date(now + HOUR)); // today: $7
  // 1 February, 6:00: the 7 days before are six $1 days and the $7 of the 31st: $13 / 7 a day.
  const feb1 = at(2025, 2, 1, 6);
  const f = tracker.snapshot(false, new Date(feb1)).forecast;
  assert.equal(f?.monthToDateUsd, 0);
  assert.equal(f?.projectedMonthUsd, Math.round((usdToNanos(13) * 27.75) / 7) / 1e9);
  assert.equal(localDay(feb1), '2025-02-01');
});
