/**
 * The budget and guard settings a window sends the engine: the user's own values (for all traffic)
 * and, for its workspace, only the values the workspace tightened. Pure, unit-tested.
 */
import { type BurnRateSettings, GUARD_META } from '../../shared';
import type { BurnRateConfig } from './config';
import { Settings } from '../constants';

export type LimitSettings = Partial<BurnRateSettings>;

export function limitSettings(c: BurnRateConfig): LimitSettings {
  return {
    [Settings.budgetDaily]: c.budget.daily,
    [Settings.budgetMonthly]: c.budget.monthly,
    [Settings.budgetAlertThresholds]: c.budget.alertThresholds,
    [Settings.budgetOnExceed]: c.budget.onExceed,
    ...Object.fromEntries(GUARD_META.map((m) => [m.setting, c.guard[m.limit]])),
    [Settings.guardOnTrip]: c.guard.onTrip,
  };
}

/** `user`: the config from user settings alone; `effective`: with the workspace's values applied. */
export function guardSettingsUpdate(
  user: BurnRateConfig,
  effective: BurnRateConfig,
  workspace: string | undefined,
): { global: LimitSettings; workspace?: { name: string; settings: LimitSettings } } {
  const global = limitSettings(user);
  if (!workspace) return { global };
  const mine = limitSettings(effective);
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(mine)) {
    if (JSON.stringify(value) !== JSON.stringify(global[key as keyof LimitSettings])) own[key] = value;
  }
  return { global, workspace: { name: workspace, settings: own as LimitSettings } };
}
