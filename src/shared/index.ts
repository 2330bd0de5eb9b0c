/** src/shared's public face: what every face (engine, CLI, extension, dashboard app) shares. No Node, no VS Code. */
export { ANOMALY_TRAILING_DAYS, spendAnomaly } from './anomaly';
export { addLocalDays, DAY_MS, daysBefore, localDay, localDayStart, localMonthStart, nextLocalMonthStart } from './calendar';
export {
  type Budget,
  type CostEstimate,
  type DashboardData,
  type DashboardFilter,
  type DashboardTiles,
  type LeakHint,
  type PriceRow,
  type RequestRow,
  type RetentionHoldView,
  type SessionRow,
  type ShareRow,
  type WhatIfAnswer,
} from './dashboardTypes';
export {
  FORECAST_ALERT_BEFORE_FRACTION,
  FORECAST_MIN_HISTORY_DAYS,
  FORECAST_TRAILING_DAYS,
  forecastHeadline,
  forecastSentence,
  type MonthForecastView,
} from './forecast';
export { formatTokens, formatUsd, formatUsdChange } from './format';
export { GUARD_META, GUARD_ON_TRIP_SETTING, guardLabel, guardMeta, sessionLimits, type GuardLimit, type GuardMeta } from './guardMeta';
export { type BudgetView, type GuardAlert, type GuardName, type OnLimit, type SessionLimits, type SessionView } from './guardTypes';
export { tighterCap } from './limits';
export {
  DASHBOARD_PAGE_ROUTES,
  MANAGEMENT_PREFIX,
  MANAGEMENT_ROUTES,
  ManagementRoutes,
  SESSION_ACTIONS,
  SESSION_ACTION_ROUTES,
  routeKey,
  routeUrl,
  type AlertAudience,
  type AlertTestAnswer,
  type EngineHealth,
  type EstimateQuery,
  type WhatIfQuery,
  type ExportFormat,
  type ExportQuery,
  type FilterQuery,
  type ManagementRoute,
  type ModelRepriceAnswer,
  type ParamsOf,
  type PriceOverride,
  type PriceOverrideAnswer,
  type RaisableLimits,
  type ResultOf,
  type SessionAction,
} from './managementRoutes';
export { type ManagementRouteName } from './managementRoutes';
export {
  DEFAULT_SETTINGS,
  SETTINGS_TABLE,
  SETTING_KEYS,
  isSettingKey,
  settingDefault,
  type BurnRateSettings,
  type GuardSettingKey,
  type SettingKey,
  type SettingRow,
} from './settingsTable';
export { readSettings, validateSetting } from './settingsValidation';
