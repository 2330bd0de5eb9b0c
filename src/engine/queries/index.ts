/** What the faces ask the database: report, summary, dashboard figures, the guards' baseline, the worker's query modules. */
export { DashboardQuery, daysOf } from './dashboardQueries';
export type { Budget, DashboardData } from '../../shared';
export { TRAILING_DAYS, rollTrailingDays } from './dailySpend';
export { daysLeftInMonth, forecastView, monthForecast, type ForecastInput, type MonthForecast } from './forecast';
export { emptyBaseline, loadGuardBaseline, type GuardBaseline } from './guardBaseline';
export { GROUP_BY, SinceError, SpendQuery, parseSince, type GroupBy, type RecordCursor, type SpendReport, type Totals } from './queries';
export { QUERY_MODULES, type QueryMethod, type QueryMethodName, type QueryModuleName } from './queryModules';
export { SummaryQuery, SummaryTracker, type SpendSummary, type SummaryBase, type SummaryGroup } from './summary';
export { withWhatIf, type WhatIfFigure, type WhatIfReport, type WhatIfTotal } from './whatIfReport';
