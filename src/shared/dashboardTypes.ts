/**
 * The shapes of the dashboard's data, as the engine serves them and the app (webview/) reads them.
 * Types only and no Node import, so the browser code can share them.
 */

import type { MonthForecastView } from './forecast';

/** Which records: whole local days from `since` (inclusive) to `until` (exclusive), one workspace or all. */
export interface DashboardFilter {
  since: number;
  until: number;
  workspace?: string;
}

export interface Budget {
  /** USD; 0 = no budget. */
  dailyUsd: number;
  monthlyUsd: number;
}

export interface DashboardTiles {
  todayUsd: number;
  weekUsd: number;
  monthUsd: number;
  /** The rest are for the filter's range. */
  costUsd: number;
  requests: number;
  avgCostPerRequestUsd: number;
  sessions: number;
  /** Spend of requests that carry a session, divided by the number of sessions. */
  costPerSessionUsd: number;
  /** What the cache-read tokens would have cost at the model's input price, minus what they cost. */
  cacheSavingsUsd: number;
  inputTokens: number;
  outputTokens: number;
  unpricedRequests: number;
}

export interface ShareRow {
  key: string;
  costUsd: number;
  requests: number;
  /** Fraction of the range's cost (0..1). */
  share: number;
}

export interface FeatureRow extends ShareRow {
  costPerRequestUsd: number;
  inputTokens: number;
  outputTokens: number;
}

export interface SessionRow {
  session: string;
  firstAt: number;
  lastAt: number;
  durationMs: number;
  requests: number;
  tokens: number;
  costUsd: number;
}

export interface RequestRow {
  id: string;
  startedAt: number;
  provider: string;
  model: string | null;
  feature: string | null;
  session: string | null;
  workspace: string | null;
  client: string | null;
  status: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  costStatus: 'exact' | 'estimated' | 'unpriced' | 'free';
  latencyMs: number;
}

export type LeakKind = 'uncached-prompts' | 'output-heavy' | 'cheaper-model' | 'context-growth' | 'failures';

export interface LeakHint {
  kind: LeakKind;
  /** The feature it is about ('(none)' for untagged requests); absent for range-wide hints. */
  feature?: string;
  model?: string;
  title: string;
  detail: string;
  /** The dollar figure the hint names (a saving, or the spend at stake), always from the records. */
  usd: number;
}

export interface DashboardData {
  filter: { since: number; until: number; workspace: string | null; firstDay: string; lastDay: string };
  generatedAt: number;
  workspaces: string[];
  tiles: DashboardTiles;
  /** Daily spend stacked by provider: costUsd[i] belongs to days[i]. */
  daily: {
    days: string[];
    providers: Array<{ provider: string; costUsd: number[] }>;
    /** The forecast's pace drawn on: today to the month's last day at the daily average; null unless the range ends today and there is a forecast. */
    projection: { days: string[]; costUsd: number } | null;
  };
  /** Each model's spend; `unpricedRequests`: its calls with no known price (not in costUsd), which the dashboard lists as a warning. */
  byModel: Array<ShareRow & { provider: string; unpricedRequests: number }>;
  byProvider: ShareRow[];
  /** Spend by the tool or SDK that made the calls ('(none)' for records from before clients were recorded). */
  byClient: ShareRow[];
  byFeature: FeatureRow[];
  /** Spend by the git branch the calls were made on ('(none)' for calls on no branch, and records from before branches). */
  byBranch: ShareRow[];
  topSessions: SessionRow[];
  topRequests: RequestRow[];
  recent: RequestRow[];
  budget: Budget & { todayUsd: number; monthUsd: number };
  /** Set when today is a spend anomaly (src/shared/anomaly.ts, the rule the engine alerts on). */
  anomaly: { todayUsd: number; trailingAverageUsd: number; ratio: number } | null;
  leaks: LeakHint[];
  /** The month-end forecast of the workspace shown (all spend when none is chosen). */
  forecast: MonthForecastView;
  /** Set while retention keeps records the team's OpenTelemetry collector has not acknowledged yet (added by the engine, not the query). */
  retentionHold?: RetentionHoldView | null;
  /** The what-if picker's models ("provider/model"): the range's own, their cheaper siblings, a few common cheap ones. */
  whatIfModels: string[];
}

/** Records past retention kept because the OTLP collector has not acknowledged them (retention waits for the export). */
export interface RetentionHoldView {
  keptRecords: number;
  /** When the oldest of them started (epoch ms). */
  oldestKeptAt: number | null;
  /** Past this age they are deleted even unexported: retention plus the grace. */
  deletedAfterDays: number;
}

/** The range's usage at another model's list prices beside its actual cost (GET /_burnrate/what-if). */
export interface WhatIfAnswer {
  /** The model priced at, as "provider/model". */
  model: string;
  /** Null when the model has no price for some of the usage (see unpriced): never a silent $0. */
  costUsd: number | null;
  unpriced?: string;
  actualUsd: number;
  requests: number;
}

/** One row of the price table shown by `burnrate prices` (USD per million tokens). */
export interface PriceRow {
  provider: string;
  model: string;
  name?: string;
  inputPerMTok?: number;
  cachedInputPerMTok?: number;
  cacheWritePerMTok?: number;
  outputPerMTok?: number;
  /** Input-token count above which the whole request is charged at a higher rate. */
  longContextThreshold?: number;
  source: string;
  /** When that price data was published (YYYY-MM-DD; for fetched data without a date, when it was fetched). */
  sourceDate?: string;
}

/** What GET /_burnrate/estimate answers. */
export interface CostEstimate {
  provider: string;
  model: string;
  perRequestUsd: number;
  perDayUsd: number;
  /** 30 days. */
  perMonthUsd: number;
  source: string;
}
