import type { SpendData } from '../database';
import { DashboardQuery } from './dashboardQueries';
import { ExportFeedQuery } from '../export';
import { GuardBaselineQuery } from './guardBaseline';
import { SpendQuery } from './queries';
import { SummaryQuery } from './summary';

/**
 * The read-only query classes the store's worker can run, by name. Each is pure over a sql.js
 * SpendData (the index and the record segments), so it runs unchanged in the worker (SpendStore.run) or in-process (burnrate report).
 * Adding a query module is one line here; its methods' arguments and results must be plain data.
 */
export const QUERY_MODULES = {
  spend: (data: SpendData) => new SpendQuery(data),
  summary: (data: SpendData) => new SummaryQuery(data),
  dashboard: (data: SpendData) => new DashboardQuery(data),
  guardBaseline: (data: SpendData) => new GuardBaselineQuery(data),
  exportFeed: (data: SpendData) => new ExportFeedQuery(data),
};

export type QueryModules = typeof QUERY_MODULES;
export type QueryModuleName = keyof QueryModules;
export type QueryModule<N extends QueryModuleName> = ReturnType<QueryModules[N]>;
/** The callable methods of a query module. */
export type QueryMethodName<N extends QueryModuleName> = {
  [K in keyof QueryModule<N>]: QueryModule<N>[K] extends (...args: never[]) => unknown ? K : never;
}[keyof QueryModule<N>] &
  string;
export type QueryMethod<N extends QueryModuleName, M extends QueryMethodName<N>> = QueryModule<N>[M] extends (...args: infer A) => infer R
  ? (...args: A) => R
  : never;
