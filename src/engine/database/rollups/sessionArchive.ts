/**
 * The session rollups of ended months, one small SQLite file per month in the segments folder
 * (`sessions-2026-01.<generation>.sqlite`). Sessions are the rollup that grows with the history (a
 * heavy agent user starts a thousand a day); the index, which every start, face and report reads
 * whole, keeps only the current and the previous month's, so its size stays flat. A question about
 * older days opens the months it touches, one at a time.
 *
 * Files are written like segments: under a new name, before the index that names them; the version
 * they replace is removed once that index is in place. A month's rows may be in its file and in the
 * index at once (a record of an old day imported late): readers add them up, the next save merges them.
 */
import * as path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { localDay, localMonthStart } from '../../../shared';
import { filesIn, openFile } from '../segments';
import { writeFileAtomicSync } from '../sqlFiles';
import { SESSION_ROLLUP_COLUMNS, SESSION_UPSERT } from './rollup';
import { SESSION_ROLLUP_TABLE } from './rollupSchema';

/** The index's catalogue of archived months. */
export const SESSION_ARCHIVE_SCHEMA = `
CREATE TABLE IF NOT EXISTS session_archives (
  month TEXT PRIMARY KEY,
  file TEXT NOT NULL
) WITHOUT ROWID;
`;

/** What a change did to the index: whether it changed, and the files it names no more (to remove once it is saved). */
export interface IndexChange {
  changed: boolean;
  unnamed: string[];
}

const ARCHIVE_FILE = /^sessions-(\d{4}-\d{2})\.(\d+)\.sqlite$/;

/** A month's rows of session_rollup: its days, 'YYYY-MM-01' to 'YYYY-MM-31' as text. */
const MONTH_ROWS = `SELECT ${SESSION_ROLLUP_COLUMNS} FROM session_rollup WHERE day >= ? || '-01' AND day <= ? || '-31'`;

export class SessionArchive {
  /** Month ('YYYY-MM') → its file. */
  private readonly files = new Map<string, string>();

  constructor(
    private readonly SQL: SqlJsStatic,
    /** The segments folder; undefined for a database in memory only (nothing is archived then). */
    private readonly dir: string | undefined,
  ) {}

  /** Reads the catalogue from the index. */
  load(index: Database): void {
    this.files.clear();
    for (const [month, file] of index.exec('SELECT month, file FROM session_archives')[0]?.values ?? []) this.files.set(String(month), String(file));
  }

  /** The files the catalogue names (kept when the folder is tidied). */
  named(): string[] {
    return [...this.files.values()];
  }

  /**
   * Moves the index's session rows of the months before the previous one (local calendar, at `now`)
   * into their months' files, merged with what those hold: each file is written now, under a name
   * of `generation`, and the index (inside the caller's transaction) names it.
   */
  moveEndedMonths(index: Database, now: number, generation: number): IndexChange {
    const replaced: string[] = [];
    const keepFrom = localDay(localMonthStart(localMonthStart(now) - 1)).slice(0, 7);
    const months = this.dir ? monthsBefore(index, keepFrom) : [];
    for (const month of months) {
      const db = this.openMonth(month);
      try {
        db.exec('BEGIN');
        copyRows(index, db, month);
        db.exec('COMMIT');
        const name = `sessions-${month}.${generation}.sqlite`;
        writeFileAtomicSync(path.join(this.dir!, name), db.export());
        index.run(`DELETE FROM session_rollup WHERE day >= ? || '-01' AND day <= ? || '-31'`, [month, month]);
        index.run('INSERT INTO session_archives VALUES (?, ?) ON CONFLICT DO UPDATE SET file = excluded.file', [month, name]);
        const old = this.files.get(month);
        if (old) replaced.push(old);
        this.files.set(month, name);
      } finally {
        db.close();
      }
    }
    return { changed: months.length > 0, unnamed: replaced };
  }

  /**
   * Brings the months of records started at `times` back into the index (inside the caller's
   * transaction) so that their rows can be changed in place (repricing); the next save archives them again.
   */
  restore(index: Database, times: Iterable<number>): IndexChange {
    const months = new Set<string>();
    for (const at of times) {
      const month = localDay(at).slice(0, 7);
      if (this.files.has(month)) months.add(month);
    }
    const released: string[] = [];
    for (const month of months) {
      const db = this.openMonth(month);
      try {
        copyRows(db, index, month);
      } finally {
        db.close();
      }
      index.run('DELETE FROM session_archives WHERE month = ?', [month]);
      released.push(this.files.get(month)!);
      this.files.delete(month);
    }
    return { changed: released.length > 0, unnamed: released };
  }

  /** The archived months' databases with days in [firstDay, lastDay] (local days, either open), oldest first, each closed once the next is asked for. */
  *months(firstDay?: string, lastDay?: string): Generator<Database> {
    const months = [...this.files.keys()]
      .filter((m) => (firstDay === undefined || m >= firstDay.slice(0, 7)) && (lastDay === undefined || m <= lastDay.slice(0, 7)))
      .sort();
    for (const month of months) {
      const db = this.openMonth(month);
      try {
        yield db;
      } finally {
        db.close();
      }
    }
  }

  /**
   * A month's file, or a new empty one. A reader beside the owner whose index names a version the
   * owner has since replaced reads the newest version in the folder instead.
   */
  private openMonth(month: string): Database {
    const file = this.files.get(month);
    const newest = () =>
      filesIn(this.dir!)
        .map((f) => ARCHIVE_FILE.exec(f))
        .filter((m): m is RegExpExecArray => m !== null && m[1] === month)
        .sort((a, b) => Number(b[2]) - Number(a[2]))[0]?.[0];
    const db = openFile(this.SQL, this.dir, file, newest);
    db.exec(SESSION_ROLLUP_TABLE);
    return db;
  }
}

/** The months ('YYYY-MM') before `keepFrom` that have session rows in the index: none, most of the time, found by the key's first column. */
function monthsBefore(index: Database, keepFrom: string): string[] {
  const months: string[] = [];
  for (;;) {
    const after = months.length ? `${months[months.length - 1]}-32` : '';
    const day = index.exec('SELECT day FROM session_rollup WHERE day >= ? AND day < ? ORDER BY day LIMIT 1', [after, `${keepFrom}-01`])[0]?.values[0]?.[0];
    if (day === undefined) return months;
    months.push(String(day).slice(0, 7));
  }
}

/** Adds `month`'s session rows of `from` to `to`. */
function copyRows(from: Database, to: Database, month: string): void {
  const select = from.prepare(MONTH_ROWS);
  const upsert = to.prepare(SESSION_UPSERT);
  try {
    select.bind([month, month]);
    while (select.step()) upsert.run(select.get());
  } finally {
    select.free();
    upsert.free();
  }
}
