/**
 * Workspace budgets: spend per scope (all traffic, and each workspace with its own budget) for the
 * current day and month, the day and month roll, refusals at a cap in block mode, and threshold
 * alerts, each once per period (remembered across restarts by the AlertedStore), and the month-end
 * forecast alert (forecastAlert.ts), once a month, in the same store.
 */
import { type GuardAlert, daysBefore, localDay, localDayStart, localMonthStart, type BudgetView } from '../../shared';
import type { AlertedStore } from '../database';
import { monthForecast, rollTrailingDays, type GuardBaseline, type MonthForecast } from '../queries';
import { forecastAlert, forecastOverBudget } from './forecastAlert';
import { nanosToUsd, usdToNanos } from '../pricing';
import type { GuardPolicy, Policies } from './policy';
import { usd } from './usd';

/** Spend of one budget scope: all traffic ('') or one workspace. */
export interface Scope {
  key: string;
  dayNanos: number;
  monthNanos: number;
  reservedNanos: number;
}

type Period = 'day' | 'month';
const PERIODS: readonly Period[] = ['day', 'month'];

export class Budgets {
  private readonly scopes = new Map<string, Scope>();
  private readonly alerted = new Set<string>();
  dayStart: number;
  private monthStart: number;
  /** The start of the day after dayStart, worked out once per day (roll() runs on every call). */
  private dayEnd = { of: NaN, at: 0 };
  /** Total spend of each of the last TRAILING_DAYS days before today, oldest first. */
  readonly trailingDays: number[];
  /** The first record's local day: the forecast's history starts there. */
  private firstRecordDay: string | null;

  constructor(
    base: GuardBaseline,
    private readonly policies: Policies,
    private readonly alertedStore: AlertedStore | undefined,
  ) {
    this.dayStart = base.dayStart;
    this.monthStart = base.monthStart;
    this.trailingDays = [...base.trailingDays];
    this.firstRecordDay = base.firstRecordDay;
    for (const [ws, nanos] of base.monthByWorkspace) this.scope(ws).monthNanos += nanos;
    for (const [ws, nanos] of base.todayByWorkspace) this.scope(ws).dayNanos += nanos;
    const all = this.scope('');
    for (const [ws, s] of this.scopes) {
      if (ws === '') continue;
      all.dayNanos += s.dayNanos;
      all.monthNanos += s.monthNanos;
    }
  }

  /** Takes the thresholds alerted this period from the store; without one, those already behind us. */
  loadAlerted(now: number): void {
    if (this.alertedStore) {
      for (const key of this.alertedStore.load()) if (this.isCurrentAlertKey(key)) this.alerted.add(key);
    } else {
      this.review(true, now);
    }
  }

  /**
   * Whether a once-a-day alert other than a threshold (the spend anomaly, `name`) went out today,
   * kept with the thresholds' keys so that a restart or a window taking over does not repeat it.
   */
  alertedToday(name: string): boolean {
    return this.alerted.has(dailyAlertKey(name, this.dayStart));
  }

  markAlertedToday(name: string): void {
    this.alerted.add(dailyAlertKey(name, this.dayStart));
    this.alertedStore?.save([...this.alerted]);
  }

  /** All traffic's spend today, nano-dollars. */
  todayNanos(): number {
    return this.scope('').dayNanos;
  }

  /** Counts a finished call's cost against all traffic and its workspace. */
  count(workspace: string | null, nanos: number): void {
    const ws = workspace ?? '';
    this.firstRecordDay ??= localDay(this.dayStart);
    for (const key of ws ? ['', ws] : ['']) {
      const scope = this.scope(key);
      scope.dayNanos += nanos;
      scope.monthNanos += nanos;
    }
  }

  /** Why a call from this workspace is refused (a blocking budget used up, reservations included), if it is. */
  refusal(workspace: string | null): string | undefined {
    for (const { scope, policy } of this.budgetScopes(workspace)) {
      if (policy.budget.onExceed !== 'block') continue;
      for (const period of PERIODS) {
        const cap = usdToNanos(period === 'day' ? policy.budget.daily : policy.budget.monthly);
        if (!cap) continue;
        const spent = period === 'day' ? scope.dayNanos : scope.monthNanos;
        if (spent + scope.reservedNanos >= cap) return blockMessage(scope.key, period, spent, cap);
      }
    }
    return undefined;
  }

  /** The scopes an admitted call reserves its estimated cost in. */
  reservingScopes(workspace: string | null): Scope[] {
    return this.budgetScopes(workspace).map((b) => b.scope);
  }

  /** Alerts for thresholds crossed and not alerted this period; `silent` only marks what is already behind. */
  review(silent: boolean, now: number): GuardAlert[] {
    // The forecast goes first: it only alerts below half the budget, before any threshold of the month.
    const alerts: GuardAlert[] = this.reviewForecast(silent, now);
    for (const { scope, policy } of this.budgetScopes(null, true)) {
      for (const period of PERIODS) {
        const capUsd = period === 'day' ? policy.budget.daily : policy.budget.monthly;
        if (!capUsd) continue;
        const cap = usdToNanos(capUsd);
        const spent = period === 'day' ? scope.dayNanos : scope.monthNanos;
        const periodStart = period === 'day' ? this.dayStart : this.monthStart;
        const crossed = policy.budget.alertThresholds.filter((t) => spent >= t * cap);
        const fresh = crossed.filter((t) => !this.alerted.has(alertKey(scope.key, period, periodStart, capUsd, t)));
        if (!fresh.length) continue;
        for (const t of crossed) this.alerted.add(alertKey(scope.key, period, periodStart, capUsd, t));
        // Remembered before the alert goes out: a crash now costs a missed alert, never a repeated one.
        this.alertedStore?.save([...this.alerted]);
        // Several thresholds crossed at once: one alert, for the highest.
        const threshold = fresh[fresh.length - 1];
        const id = `budget:${alertKey(scope.key, period, periodStart, capUsd, threshold)}`;
        if (!silent) alerts.push(thresholdAlert({ id, scopeKey: scope.key, period, policy, threshold, spent, capUsd, at: now }));
      }
    }
    return alerts;
  }

  /** The month-end forecast of all spend as of `now` (forecast.ts), from the guards' own count. */
  forecast(now: number): MonthForecast {
    return monthForecast({ now, monthToDateNanos: this.scope('').monthNanos, trailingDays: this.trailingDays, firstRecordDay: this.firstRecordDay });
  }

  /** The forecast alert for the monthly budget of all spend, the first time this month (and cap) the forecast goes over it. */
  private reviewForecast(silent: boolean, now: number): GuardAlert[] {
    const capUsd = this.policies.global.budget.monthly;
    const key = alertKey('', 'month', this.monthStart, capUsd, FORECAST_ALERT);
    if (!capUsd || this.alerted.has(key)) return [];
    const forecast = this.forecast(now);
    if (!forecastOverBudget(forecast, capUsd)) return [];
    this.alerted.add(key);
    this.alertedStore?.save([...this.alerted]);
    return silent ? [] : [forecastAlert(`budget:${key}`, forecast, capUsd, now)];
  }

  views(): BudgetView[] {
    const out: BudgetView[] = [];
    for (const { scope, policy } of this.budgetScopes(null, true)) {
      const warnAt = Math.max(0, ...policy.budget.alertThresholds.filter((t) => t < 1));
      for (const period of PERIODS) {
        const capUsd = period === 'day' ? policy.budget.daily : policy.budget.monthly;
        if (!capUsd) continue;
        const spent = period === 'day' ? scope.dayNanos : scope.monthNanos;
        const cap = usdToNanos(capUsd);
        out.push({
          workspace: scope.key || null,
          period,
          capUsd,
          spentUsd: nanosToUsd(spent),
          reservedUsd: nanosToUsd(scope.reservedNanos),
          fraction: spent / cap,
          onExceed: policy.budget.onExceed,
          blocking: policy.budget.onExceed === 'block' && spent + scope.reservedNanos >= cap,
          level: spent >= cap ? 'exceeded' : warnAt > 0 && spent >= warnAt * cap ? 'warning' : 'ok',
        });
      }
    }
    return out;
  }

  /** Starts a new day / month when the clock has passed midnight / the 1st. */
  roll(now: number): void {
    if (this.dayEnd.of !== this.dayStart) this.dayEnd = { of: this.dayStart, at: daysBefore(this.dayStart, -1) };
    if (now >= this.dayStart && now < this.dayEnd.at) return;
    const day = localDayStart(now);
    if (day === this.dayStart) return;
    rollTrailingDays(this.trailingDays, this.dayStart, this.scope('').dayNanos, day);
    for (const s of this.scopes.values()) s.dayNanos = 0;
    this.dayStart = day;
    const month = localMonthStart(now);
    if (month !== this.monthStart) {
      for (const s of this.scopes.values()) s.monthNanos = 0;
      this.monthStart = month;
    }
    // Alerted thresholds of past periods can go.
    for (const key of this.alerted) if (!this.isCurrentAlertKey(key)) this.alerted.delete(key);
  }

  private scope(key: string): Scope {
    let s = this.scopes.get(key);
    if (!s) this.scopes.set(key, (s = { key, dayNanos: 0, monthNanos: 0, reservedNanos: 0 }));
    return s;
  }

  /** The budget scopes a call counts against: all traffic, plus its workspace when that has its own budget. */
  private budgetScopes(workspace: string | null, allWorkspaces = false): Array<{ scope: Scope; policy: GuardPolicy }> {
    const out: Array<{ scope: Scope; policy: GuardPolicy }> = [];
    const global = this.policies.global;
    if (global.budget.daily || global.budget.monthly) out.push({ scope: this.scope(''), policy: global });
    const names = allWorkspaces ? this.policies.workspaceNames() : workspace ? [workspace] : [];
    for (const name of names) {
      const p = this.policies.workspace(name);
      if (p && (p.budget.daily || p.budget.monthly)) out.push({ scope: this.scope(name), policy: p });
    }
    return out;
  }

  private isCurrentAlertKey(key: string): boolean {
    const parts = key.split('|');
    // The scope (a workspace name) comes first and may itself contain "|": read from the end.
    const period = parts[parts.length - 4];
    const start = Number(parts[parts.length - 3]);
    return parts.length >= 5 && start === (period === 'day' ? this.dayStart : period === 'month' ? this.monthStart : NaN);
  }
}

/** The "threshold" part of the forecast alert's key: one per month and cap, beside the numeric thresholds. */
const FORECAST_ALERT = 'forecast';

/** One alerted threshold: scope ('' = all traffic), period, period start, the cap then (a new cap alerts afresh), threshold (or the forecast). */
function alertKey(scope: string, period: Period, periodStart: number, capUsd: number, threshold: number | typeof FORECAST_ALERT): string {
  return `${scope}|${period}|${periodStart}|${capUsd}|${threshold}`;
}

/** A once-a-day alert in the same shape, with cap and threshold 0 (no budget key has them), so it rolls and persists alike. */
function dailyAlertKey(name: string, dayStart: number): string {
  return alertKey(name, 'day', dayStart, 0, 0);
}

const capSetting = (period: Period) => (period === 'day' ? 'burnrate.budget.daily' : 'burnrate.budget.monthly');
const until = (period: Period) => (period === 'day' ? 'tomorrow' : 'next month');
const adjective = (period: Period) => (period === 'day' ? 'daily' : 'monthly');

function blockMessage(scopeKey: string, period: Period, spent: number, cap: number): string {
  const whose = scopeKey ? `workspace "${scopeKey}"'s` : 'the';
  return `${whose} ${adjective(period)} budget of ${usd(cap)} is used up (${usd(spent)} spent${period === 'day' ? ' today' : ' this month'}). Calls are refused until ${until(period)}; to go on, raise ${capSetting(period)} or set burnrate.budget.onExceed to "warn".`;
}

interface Crossing {
  /** Stable: the same threshold of the same period and cap has the same id wherever it is raised. */
  id: string;
  scopeKey: string;
  period: Period;
  policy: GuardPolicy;
  threshold: number;
  spent: number;
  capUsd: number;
  at: number;
}

function thresholdAlert({ id, scopeKey, period, policy, threshold, spent, capUsd, at }: Crossing): GuardAlert {
  const cap = usdToNanos(capUsd);
  const fraction = spent / cap;
  const label = `${scopeKey ? `Workspace "${scopeKey}": ` : ''}${adjective(period)} budget`;
  let tail = '';
  if (fraction >= 1) {
    tail =
      policy.budget.onExceed === 'block'
        ? ` New calls are refused until ${until(period)}; raise ${capSetting(period)} or set burnrate.budget.onExceed to "warn" to go on.`
        : ' Calls still go through (burnrate.budget.onExceed is "warn").';
  }
  const message = `${label[0].toUpperCase()}${label.slice(1)}: ${usd(spent)} of ${usd(cap)} spent (${Math.floor(fraction * 100)} %).${tail}`;
  return {
    kind: 'budget',
    id,
    at,
    period,
    threshold,
    capUsd,
    spentUsd: nanosToUsd(spent),
    onExceed: policy.budget.onExceed,
    workspace: scopeKey || null,
    session: null,
    message,
  };
}
