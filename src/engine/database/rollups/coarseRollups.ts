import type { Database } from 'sql.js';
import { hasTable } from '../sqlFiles';

/**
 * Rollups of daily_rollup with fewer rows, for reports over long ranges:
 *  - month_rollup: its report figures per local month × provider × model × feature × workspace ×
 *    client. A report over a year reads a row a month instead of a row a day (at 10M records of a
 *    year: 1.6k rows instead of 44k);
 *  - daily_totals: its report figures per local day, all else added up (a year: 365 rows).
 * Triggers on daily_rollup keep each row the sum of its day rows, whatever changes one: the
 * inserts' upserts, repricing, the upgrades of older files.
 */

/** The figures a report sums (ROLLUP_TOTALS_SQL's), daily_rollup's first ones. */
export const REPORT_FIGURES = [
  'requests',
  'cost_nanos',
  'input_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'output_tokens',
  'reasoning_tokens',
  'unpriced_requests',
] as const;

interface CoarseRollup {
  table: string;
  /** Its first key column, and that column's value for a daily_rollup day ('YYYY-MM-DD'). */
  period: { column: string; ofDay: (day: string) => string };
  /** The daily_rollup columns it keeps apart. */
  key: readonly string[];
}

const COARSE_ROLLUPS: readonly CoarseRollup[] = [
  {
    table: 'month_rollup',
    period: { column: 'month', ofDay: (day) => `substr(${day}, 1, 7)` },
    key: ['provider', 'model', 'feature', 'workspace', 'client'],
  },
  { table: 'daily_totals', period: { column: 'day', ofDay: (day) => day }, key: [] },
];

/** The table, its triggers on daily_rollup, and the statement that fills it from daily_rollup. */
function schemaOf({ table, period, key }: CoarseRollup): { schema: string; fill: string } {
  const columns = [period.column, ...key];
  /** Adds a day row's figures (NEW or OLD) to its coarse row. */
  const add = (
    row: 'NEW' | 'OLD',
  ) => `INSERT INTO ${table} VALUES (${[period.ofDay(`${row}.day`), ...[...key, ...REPORT_FIGURES].map((c) => `${row}.${c}`)].join(', ')})
    ON CONFLICT DO UPDATE SET ${REPORT_FIGURES.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')};`;
  const oldRow = [`${period.column} = ${period.ofDay('OLD.day')}`, ...key.map((c) => `${c} = OLD.${c}`)].join(' AND ');
  /** Takes a day row's figures as they were (OLD) off its coarse row, dropped once no request is left in it. */
  const subtract = `UPDATE ${table} SET ${REPORT_FIGURES.map((c) => `${c} = ${c} - OLD.${c}`).join(', ')} WHERE ${oldRow};
    DELETE FROM ${table} WHERE requests = 0 AND ${oldRow};`;
  const schema = `
CREATE TABLE IF NOT EXISTS ${table} (
  ${columns.map((c) => `${c} TEXT NOT NULL`).join(', ')},
  ${REPORT_FIGURES.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
  PRIMARY KEY (${columns.join(', ')})
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS ${table}_insert AFTER INSERT ON daily_rollup BEGIN
  ${add('NEW')}
END;
CREATE TRIGGER IF NOT EXISTS ${table}_update AFTER UPDATE ON daily_rollup BEGIN
  ${subtract}
  ${add('NEW')}
END;
CREATE TRIGGER IF NOT EXISTS ${table}_delete AFTER DELETE ON daily_rollup BEGIN
  ${subtract}
END;`;
  const fill = `INSERT INTO ${table}
SELECT ${[period.ofDay('day'), ...key, ...REPORT_FIGURES.map((c) => `SUM(${c})`)].join(', ')}
FROM daily_rollup GROUP BY ${columns.map((_, i) => i + 1).join(', ')}`;
  return { schema, fill };
}

const SCHEMAS = COARSE_ROLLUPS.map((rollup) => ({ table: rollup.table, ...schemaOf(rollup) }));

/**
 * Gives a database with daily_rollup the coarse rollups and the triggers that keep them, each
 * filled from daily_rollup when new (a file from before it). Returns whether that filled any row
 * (a new, empty database has nothing worth saving for them).
 */
export function addCoarseRollups(db: Database): boolean {
  let filled = false;
  for (const { table, schema, fill } of SCHEMAS) {
    const existed = hasTable(db, table);
    db.exec(schema);
    if (existed) continue;
    db.run(fill);
    filled ||= db.getRowsModified() > 0;
  }
  return filled;
}
