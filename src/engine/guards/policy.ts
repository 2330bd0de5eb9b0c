/**
 * The limits in force: the settings for all traffic, and per workspace the settings a window sent
 * for it, merged so that a workspace can only tighten (lower caps, block over warn).
 */
import { tighterCap, type OnLimit, type SessionLimits, sessionLimits } from '../../shared';
import { DEFAULT_SETTINGS, type BurnRateSettings } from '../settings';

export interface BudgetPolicy {
  /** USD, 0 = none. */
  daily: number;
  monthly: number;
  alertThresholds: number[];
  onExceed: OnLimit;
}

export interface GuardPolicy {
  budget: BudgetPolicy;
  guard: SessionLimits;
}

export interface PolicyUpdate {
  global?: Partial<BurnRateSettings>;
  workspace?: { name: string; settings: Partial<BurnRateSettings> };
}

export function policyFromSettings(s: Partial<BurnRateSettings>): GuardPolicy {
  const v = { ...DEFAULT_SETTINGS, ...s };
  return {
    budget: {
      daily: v['burnrate.budget.daily'],
      monthly: v['burnrate.budget.monthly'],
      alertThresholds: [...new Set(v['burnrate.budget.alertThresholds'].filter((t) => t > 0))].sort((a, b) => a - b),
      onExceed: v['burnrate.budget.onExceed'],
    },
    guard: sessionLimits((m) => v[m.setting as keyof BurnRateSettings] as number, v['burnrate.guard.onTrip']),
  };
}

const stricter = (a: OnLimit, b: OnLimit): OnLimit => (a === 'block' || b === 'block' ? 'block' : 'warn');

/** A workspace's policy from its own settings over the global ones: it may only tighten. */
export function workspacePolicy(global: Partial<BurnRateSettings>, globalPolicy: GuardPolicy, ws: Partial<BurnRateSettings>): GuardPolicy {
  const own = policyFromSettings({ ...global, ...ws });
  const g = globalPolicy;
  return {
    budget: {
      // A workspace budget exists only where the workspace set one.
      daily: 'burnrate.budget.daily' in ws ? tighterCap(g.budget.daily, own.budget.daily) : 0,
      monthly: 'burnrate.budget.monthly' in ws ? tighterCap(g.budget.monthly, own.budget.monthly) : 0,
      alertThresholds: own.budget.alertThresholds,
      onExceed: stricter(g.budget.onExceed, own.budget.onExceed),
    },
    guard: sessionLimits((m) => tighterCap(g.guard[m.limit], own.guard[m.limit]), stricter(g.guard.onTrip, own.guard.onTrip)),
  };
}

/** The global policy and each workspace's, kept merged as settings change. */
export class Policies {
  private globalSettings: Partial<BurnRateSettings>;
  global: GuardPolicy;
  /** Per-workspace settings that differ from the global ones (a window's workspace settings). */
  private readonly workspaceSettings = new Map<string, Partial<BurnRateSettings>>();
  private readonly workspaces = new Map<string, GuardPolicy>();

  constructor(settings: Partial<BurnRateSettings>) {
    this.globalSettings = settings;
    this.global = policyFromSettings(settings);
  }

  configure(update: PolicyUpdate): void {
    if (update.global) {
      this.globalSettings = update.global;
      this.global = policyFromSettings(update.global);
      this.workspaces.clear();
      for (const [name, s] of this.workspaceSettings) this.workspaces.set(name, workspacePolicy(this.globalSettings, this.global, s));
    }
    if (update.workspace) {
      const { name, settings } = update.workspace;
      if (Object.keys(settings).length) {
        this.workspaceSettings.set(name, settings);
        this.workspaces.set(name, workspacePolicy(this.globalSettings, this.global, settings));
      } else {
        this.workspaceSettings.delete(name);
        this.workspaces.delete(name);
      }
    }
  }

  workspace(name: string): GuardPolicy | undefined {
    return this.workspaces.get(name);
  }

  workspaceNames(): string[] {
    return [...this.workspaces.keys()];
  }

  /** A session's limits: its workspace's, else the global ones. The policy's own object (read only). */
  limitsFor(workspace: string | null): Readonly<SessionLimits> {
    return (workspace !== null && this.workspaces.get(workspace)?.guard) || this.global.guard;
  }

  view(): { global: GuardPolicy; workspaces: Record<string, GuardPolicy> } {
    return { global: this.global, workspaces: Object.fromEntries(this.workspaces) };
  }
}
