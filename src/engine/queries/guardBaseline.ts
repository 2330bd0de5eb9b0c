import type { Database } from 'sql.js';
import type { SpendData } from '../database';
import { localDay, localDayStart, localMonthStart } from '../../shared';
import { firstRecordDay, trailingDaySpend, TRAILING_DAYS } from './dailySpend';

/**
 * What the guards need from the database, read once at start: today's and this month's spend
 * (in total and per workspace), the last seven days' totals for the anomaly check, and today's
 * sessions with their use. After this the guards count in memory; no query on the request path.
 */
export interface GuardBaseline {
  /** Local midnight of the day the baseline was taken. */
  dayStart: number;
  monthStart: number;
  /** Spend by workspace ('' = untagged), nano-dollars. */
  todayByWorkspace: Map<string, number>;
  monthByWorkspace: Map<string, number>;
  /** Total spend of each of the TRAILING_DAYS days before today, oldest first. */
  trailingDays: number[];
  /** The local day of the first record (YYYY-MM-DD), for the forecast's history; null for none. */
  firstRecordDay: string | null;
  sessions: BaselineSession[];
}

export interface BaselineSession {
  id: string;
  workspace: string | null;
  requests: number;
  tokens: number;
  outputTokens: number;
  nanos: number;
  firstAt: number;
  lastAt: number;
}

export function emptyBaseline(now: number): GuardBaseline {
  return {
    dayStart: localDayStart(now),
    monthStart: localMonthStart(now),
    todayByWorkspace: new Map(),
    monthByWorkspace: new Map(),
    trailingDays: new Array(TRAILING_DAYS).fill(0),
    firstRecordDay: null,
    sessions: [],
  };
}

/** One start-up read. Kept to this function so the database can move elsewhere (a worker) without touching the guards. */
export function loadGuardBaseline(db: Database, now = Date.now()): GuardBaseline {
  const base = emptyBaseline(now);
  // From the rollups (current with every insert), not the records.
  const byWorkspace = (since: number) => {
    const map = new Map<string, number>();
    // `+workspace`: grouping in the workspace index's order would walk every day of the history;
    // the key's day range reads only the days asked for.
    const rows = db.exec('SELECT workspace, SUM(cost_nanos) FROM daily_rollup WHERE day >= ? GROUP BY +workspace', [localDay(since)])[0];
    for (const [ws, nanos] of rows?.values ?? []) map.set(String(ws), Number(nanos));
    return map;
  };
  base.todayByWorkspace = byWorkspace(base.dayStart);
  base.monthByWorkspace = byWorkspace(base.monthStart);
  base.trailingDays = trailingDaySpend(db, base.dayStart);
  base.firstRecordDay = firstRecordDay(db);
  const sessions = db.exec(
    `SELECT session, NULLIF(MAX(workspace), ''), SUM(requests), SUM(tokens), SUM(output_tokens), SUM(cost_nanos), MIN(first_at), MAX(last_at)
     FROM session_rollup WHERE day >= ? GROUP BY session`,
    [localDay(base.dayStart)],
  )[0];
  for (const v of sessions?.values ?? []) {
    base.sessions.push({
      id: String(v[0]),
      workspace: v[1] === null ? null : String(v[1]),
      requests: Number(v[2]),
      tokens: Number(v[3]),
      outputTokens: Number(v[4]),
      nanos: Number(v[5]),
      firstAt: Number(v[6]),
      lastAt: Number(v[7]),
    });
  }
  return base;
}

/** The baseline as a query module, so the store's worker computes it (queryModules.ts). */
export class GuardBaselineQuery {
  constructor(private readonly data: SpendData) {}

  load(now: number): GuardBaseline {
    return loadGuardBaseline(this.data.index, now);
  }
}
