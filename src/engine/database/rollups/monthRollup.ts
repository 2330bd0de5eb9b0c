import type { Database } from 'sql.js';

/**
 * month_rollup: daily_rollup's report figures added up per local month, one row per month ×
 * provider × model × feature × workspace × client. A report over many months reads a row a month
 * instead of a row a day (at 10M records of a year: 1.6k rows instead of 44k). Triggers on
 * daily_rollup keep each month the sum of its days, whatever changes a day's row: the inserts'
 * upserts, repricing, the upgrades of older files.
 */

const KEY = ['provider', 'model', 'feature', 'workspace', 'client'] as const;

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

/** The local month ('YYYY-MM') of a daily_rollup day ('YYYY-MM-DD'). */
const monthOf = (day: string) => `substr(${day}, 1, 7)`;

/** Adds a day row's figures (NEW or OLD) to its month's row. */
const ADD = (
  row: 'NEW' | 'OLD',
) => `INSERT INTO month_rollup VALUES (${monthOf(`${row}.day`)}, ${[...KEY, ...REPORT_FIGURES].map((c) => `${row}.${c}`).join(', ')})
    ON CONFLICT DO UPDATE SET ${REPORT_FIGURES.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')};`;

/** The month row of a day row as it was (OLD). */
const OLD_MONTH_ROW = `month = ${monthOf('OLD.day')} AND ${KEY.map((c) => `${c} = OLD.${c}`).join(' AND ')}`;

/** Takes a day row's figures as they were (OLD) off its month's row, and drops the row once no request is left in it. */
const SUBTRACT = `UPDATE month_rollup SET ${REPORT_FIGURES.map((c) => `${c} = ${c} - OLD.${c}`).join(', ')} WHERE ${OLD_MONTH_ROW};
  DELETE FROM month_rollup WHERE requests = 0 AND ${OLD_MONTH_ROW};`;

const MONTH_ROLLUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS month_rollup (
  month TEXT NOT NULL,
  ${KEY.map((c) => `${c} TEXT NOT NULL`).join(', ')},
  ${REPORT_FIGURES.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
  PRIMARY KEY (month, ${KEY.join(', ')})
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS month_rollup_insert AFTER INSERT ON daily_rollup BEGIN
  ${ADD('NEW')}
END;
CREATE TRIGGER IF NOT EXISTS month_rollup_update AFTER UPDATE ON daily_rollup BEGIN
  ${SUBTRACT}
  ${ADD('NEW')}
END;
CREATE TRIGGER IF NOT EXISTS month_rollup_delete AFTER DELETE ON daily_rollup BEGIN
  ${SUBTRACT}
END;
`;

const MONTH_ROLLUP_FILL = `INSERT INTO month_rollup
SELECT ${monthOf('day')}, ${KEY.join(', ')}, ${REPORT_FIGURES.map((c) => `SUM(${c})`).join(', ')}
FROM daily_rollup GROUP BY 1, ${KEY.join(', ')}`;

/**
 * Gives a database with daily_rollup its month_rollup and the triggers that keep it, filled from
 * daily_rollup when the table is new (a file from before it). Returns whether that filled any row
 * (a new, empty database has nothing worth saving for it).
 */
export function addMonthRollup(db: Database): boolean {
  const existed = db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'month_rollup'").length > 0;
  db.exec(MONTH_ROLLUP_SCHEMA);
  if (existed) return false;
  db.run(MONTH_ROLLUP_FILL);
  return db.getRowsModified() > 0;
}
