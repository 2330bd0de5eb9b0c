/**
 * The shapes of sessions and alerts as the guards (and the unpriced-model announcements) report
 * them (GET /_burnrate/sessions, `alert` events). Types only and no Node import, so the dashboard
 * app (webview/) can share them.
 */

import type { GuardName, OnLimit, SessionLimits } from './guardMeta';

export type { GuardName, OnLimit, SessionLimits } from './guardMeta';

interface AlertBase {
  /** Unique per alert: windows use it to show each alert once. */
  id: string;
  at: number;
  message: string;
  /** The workspace the alert concerns (null: all spend, or untagged traffic). */
  workspace: string | null;
  session: string | null;
}

export type GuardAlert =
  | (AlertBase & { kind: 'budget'; period: 'day' | 'month'; threshold: number; capUsd: number; spentUsd: number; onExceed: OnLimit })
  | (AlertBase & { kind: 'guard'; guard: GuardName; limit: number; value: number; action: OnLimit; session: string })
  | (AlertBase & { kind: 'anomaly'; todayUsd: number; averageUsd: number })
  /** The month-end forecast first over the monthly budget of all spend, once a month (see src/shared/forecast.ts). */
  | (AlertBase & { kind: 'forecast'; capUsd: number; monthToDateUsd: number; projectedMonthUsd: number; dailyAverageUsd: number; method: string })
  /** The first call of a model the price data does not know (announced once per provider and model; see unpricedModels.ts). */
  | (AlertBase & { kind: 'unpricedModel'; provider: string; model: string });

export interface SessionView {
  id: string;
  /** False for sessions Burn Rate inferred (key + client + workspace, split by idle gaps). */
  explicit: boolean;
  workspace: string | null;
  startedAt: number;
  lastAt: number;
  requests: number;
  tokens: number;
  costUsd: number;
  inFlight: number;
  /** Calls refused since the session was stopped. */
  blockedCalls: number;
  state: 'active' | 'stopped';
  stoppedReason: string | null;
  /** When it was stopped (epoch ms) and where from ("VS Code", "the dashboard", "the management API", a guard). */
  stoppedAt: number | null;
  stoppedBy: string | null;
  /** Guards that tripped and have not been re-armed. */
  tripped: GuardName[];
  limits: SessionLimits;
}

/** A budget as the status bar and the dashboard show it (GET /_burnrate/budgets, `summary` events). */
export interface BudgetView {
  workspace: string | null;
  period: 'day' | 'month';
  capUsd: number;
  spentUsd: number;
  reservedUsd: number;
  fraction: number;
  onExceed: OnLimit;
  blocking: boolean;
  /** For the status bar's colour, the same in every window: "warning" from the highest alert threshold below 1, "exceeded" at 1. */
  level: 'ok' | 'warning' | 'exceeded';
}
