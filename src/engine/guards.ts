/**
 * Budgets and runaway guards. The proxy asks `admit()` before forwarding a call (a synchronous,
 * in-memory check: no database on the request path) and every finished record comes back through
 * `settle()`. Each admitted call reserves an estimate of its tokens and cost until the proxy releases
 * its ticket (when the record is made or the connection closes), so
 * parallel calls cannot all slip past the same remaining budget.
 *
 * Workspace budgets (daily / monthly USD, alerts at thresholds, warn or block), per-session guards
 * (token and cost budgets, request rate, repeated identical requests, retry storms; warn or block),
 * inferred sessions for untagged traffic, and a daily spend-anomaly alert. No vscode import.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AlertedStore } from './budgetAlertStore';
import { proxyError, type ProxyErrorResponse } from './errors';
import { daysBefore, emptyBaseline, localDayStart, localMonthStart, TRAILING_DAYS, type GuardBaseline } from './guardBaseline';
import { nanosToUsd, priceUsage, usdToNanos } from './pricing';
import type { RequestRecord } from './record';
import { DEFAULT_SETTINGS, type BurnRateSettings } from './settings';
import type { Tags } from './tags';
import type { GuardAlert, GuardName, OnLimit, SessionLimits, SessionView } from '../shared/guardTypes';

/** A session's raised limits before any raise (shared, never written: a raise replaces it). */
const NOT_RAISED: Readonly<Partial<SessionLimits>> = Object.freeze({});

export type { GuardAlert, GuardName, OnLimit, SessionLimits, SessionView } from '../shared/guardTypes';

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

/** The setting that sets each guard's limit (named in messages, so users know what to change). */
export const GUARD_SETTING: Record<GuardName, keyof BurnRateSettings> = {
  sessionMaxTokens: 'burnrate.guard.sessionMaxTokens',
  sessionMaxUsd: 'burnrate.guard.sessionMaxUsd',
  maxRequestsPerMinute: 'burnrate.guard.maxRequestsPerMinute',
  maxRepeats: 'burnrate.guard.maxRepeats',
  retryStorm: 'burnrate.guard.retryStormErrors',
};

const GUARD_LABEL: Record<GuardName, string> = {
  sessionMaxTokens: 'token budget',
  sessionMaxUsd: 'cost budget',
  maxRequestsPerMinute: 'request rate',
  maxRepeats: 'repeated request',
  retryStorm: 'retry storm',
};

export interface AdmitRequest {
  protocol: string;
  providerId: string;
  pricesProvider: string | null;
  model: string | undefined;
  stream: boolean;
  path: string;
  body: Buffer;
  /** The parsed JSON body, when it was JSON. */
  json: unknown;
  /** The request's tags; an inferred session id is written into `session`. */
  tags: Tags;
  keyFingerprint: string | null;
  userAgent: string | undefined;
  /** Cuts this call (aborts upstream, drops the client connection), with a note for the record. */
  cut: (reason: string) => void;
}

/** An admitted call's reservation, handed back to release() when the call is over. */
export type GuardTicket = object;

export type Admission = { allowed: true; session: string; ticket: GuardTicket } | { allowed: false; session: string; error: ProxyErrorResponse };

/** What the proxy needs from the guards: one hook before forwarding, one after. */
export interface ProxyGuard {
  admit(req: AdmitRequest): Admission;
  /** Gives back an admitted call's reservation, once its record is made or its connection closed. Idempotent. */
  release(ticket: GuardTicket): void;
}

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

export interface GuardsOptions {
  baseline?: GuardBaseline;
  /** Settings for all traffic (user level / `burnrate serve --config`). */
  settings?: Partial<BurnRateSettings>;
  now?: () => number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /**
   * Where the thresholds alerted this day and month are kept across restarts. With one, thresholds
   * crossed before the engine started alert at `reviewBudgets()` unless they already did (a budget
   * set or raised meanwhile); without one, they are taken as alerted.
   */
  alertedStore?: AlertedStore;
}

/** A session with no call for this long ends; the next call from the same client starts a new inferred one. */
export const SESSION_IDLE_GAP_MS = 30 * 60_000;
/** Repeats are counted among calls at most this far apart. */
export const REPEAT_WINDOW_MS = 10 * 60_000;
/** A retry storm: N failures in a row arriving on average faster than this apart (any backoff is slower). */
export const RETRY_STORM_MEAN_GAP_MS = 1_000;
/** Today above this multiple of the trailing 7-day daily average (and above the floor) alerts once a day. */
export const ANOMALY_FACTOR = 3;
export const ANOMALY_FLOOR_NANOS = usdToNanos(1);
const CHARS_PER_TOKEN = 4;
const MAX_SESSIONS = 5_000;
const MAX_REPEAT_KEYS = 500;

interface InFlight {
  session: Session;
  tokens: number;
  nanos: number;
  scopes: Scope[];
  stream: boolean;
  cut: (reason: string) => void;
  released: boolean;
  /** Neighbours in the session's list of calls in flight. */
  prev: InFlight | null;
  next: InFlight | null;
}

/**
 * A session's calls in flight, linked through the calls themselves. Not a Map keyed by call id: a
 * long-lived Map holding every call for its lifetime made the young-generation GC copy and promote
 * about a megabyte per collection under load (pauses 4× longer, measured), which this list does not.
 */
class InFlightList {
  private head: InFlight | null = null;
  size = 0;

  add(f: InFlight): void {
    f.prev = null;
    f.next = this.head;
    if (this.head) this.head.prev = f;
    this.head = f;
    this.size++;
  }

  remove(f: InFlight): void {
    if (f.prev) f.prev.next = f.next;
    else if (this.head === f) this.head = f.next;
    if (f.next) f.next.prev = f.prev;
    f.prev = f.next = null;
    this.size--;
  }

  *values(): IterableIterator<InFlight> {
    for (let f = this.head; f; f = f.next) yield f;
  }
}

interface Session {
  id: string;
  explicit: boolean;
  workspace: string | null;
  startedAt: number;
  lastAt: number;
  requests: number;
  tokens: number;
  outputTokens: number;
  nanos: number;
  reservedTokens: number;
  reservedNanos: number;
  inflight: InFlightList;
  /** Admission times in the last minute. */
  recent: number[];
  repeats: Map<string, { count: number; lastAt: number }>;
  /** Times of the current run of failed calls. */
  failures: number[];
  stopped: { reason: string; guard?: GuardName } | null;
  /** Guards that alerted (warn) or stopped (block); each alerts once until re-armed. */
  tripped: Set<GuardName>;
  raised: Partial<SessionLimits>;
  blockedCalls: number;
}

/** Spend of one budget scope: all traffic ('') or one workspace. */
interface Scope {
  key: string;
  dayNanos: number;
  monthNanos: number;
  reservedNanos: number;
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
    guard: {
      sessionMaxTokens: v['burnrate.guard.sessionMaxTokens'],
      sessionMaxUsd: v['burnrate.guard.sessionMaxUsd'],
      maxRequestsPerMinute: v['burnrate.guard.maxRequestsPerMinute'],
      maxRepeats: v['burnrate.guard.maxRepeats'],
      retryStormErrors: v['burnrate.guard.retryStormErrors'],
      onTrip: v['burnrate.guard.onTrip'],
    },
  };
}

/** The tighter of two caps where 0 means none. */
function tighter(a: number, b: number): number {
  if (!a) return b;
  if (!b) return a;
  return Math.min(a, b);
}

/**
 * Emits "alert" (GuardAlert) for every budget threshold crossed, guard tripped and anomaly seen,
 * "sessions" when a session is stopped or allowed, and "budgets" when the settings change.
 */
export class Guards extends EventEmitter implements ProxyGuard {
  private readonly now: () => number;
  private readonly log: NonNullable<GuardsOptions['log']>;
  private global: Partial<BurnRateSettings>;
  private policy: GuardPolicy;
  /** Per-workspace settings that differ from the global ones (a window's workspace settings). */
  private readonly workspaceSettings = new Map<string, Partial<BurnRateSettings>>();
  private readonly workspacePolicies = new Map<string, GuardPolicy>();
  private readonly sessions = new Map<string, Session>();
  private readonly inferred = new Map<string, { id: string; lastAt: number }>();
  private readonly scopes = new Map<string, Scope>();
  private readonly alerted = new Set<string>();
  private readonly alertedStore: AlertedStore | undefined;
  private dayStart: number;
  private monthStart: number;
  /** The start of the day after dayStart, worked out once per day (roll() runs on every call). */
  private dayEnd = { of: NaN, at: 0 };
  private trailingDays: number[];
  private anomalyAlertedDay = 0;

  constructor(opts: GuardsOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    const base = opts.baseline ?? emptyBaseline(this.now());
    this.dayStart = base.dayStart;
    this.monthStart = base.monthStart;
    this.trailingDays = [...base.trailingDays];
    for (const [ws, nanos] of base.monthByWorkspace) this.scope(ws).monthNanos += nanos;
    for (const [ws, nanos] of base.todayByWorkspace) this.scope(ws).dayNanos += nanos;
    const all = this.scope('');
    for (const [ws, s] of this.scopes) {
      if (ws === '') continue;
      all.dayNanos += s.dayNanos;
      all.monthNanos += s.monthNanos;
    }
    for (const b of base.sessions) {
      const s = this.newSession(b.id, true, b.workspace, b.firstAt);
      Object.assign(s, { lastAt: b.lastAt, requests: b.requests, tokens: b.tokens, outputTokens: b.outputTokens, nanos: b.nanos });
    }
    this.global = opts.settings ?? {};
    this.policy = policyFromSettings(this.global);
    this.alertedStore = opts.alertedStore;
    this.roll();
    if (this.alertedStore) {
      for (const key of this.alertedStore.load()) if (this.isCurrentAlertKey(key)) this.alerted.add(key);
    } else {
      // Nothing remembers what alerted before: take thresholds already behind us as alerted.
      this.checkBudgets(true);
    }
  }

  /**
   * Alerts budget thresholds crossed and not alerted yet this period (e.g. at start, for a budget set
   * while no engine ran). Call once the alert listeners are in place.
   */
  reviewBudgets(): void {
    this.roll();
    this.checkBudgets(false);
  }

  // ------------------------------------------------------------------------------------------
  // Settings

  /** Applies new settings live: for all traffic, and/or one workspace's own tighter ones. */
  configure(update: { global?: Partial<BurnRateSettings>; workspace?: { name: string; settings: Partial<BurnRateSettings> } }): void {
    if (update.global) {
      this.global = update.global;
      this.policy = policyFromSettings(this.global);
      this.workspacePolicies.clear();
      for (const [name, s] of this.workspaceSettings) this.workspacePolicies.set(name, this.mergedPolicy(s));
    }
    if (update.workspace) {
      const { name, settings } = update.workspace;
      if (Object.keys(settings).length) {
        this.workspaceSettings.set(name, settings);
        this.workspacePolicies.set(name, this.mergedPolicy(settings));
      } else {
        this.workspaceSettings.delete(name);
        this.workspacePolicies.delete(name);
      }
    }
    this.checkBudgets(false);
    this.emit('budgets');
  }

  settings(): { global: GuardPolicy; workspaces: Record<string, GuardPolicy> } {
    return { global: this.policy, workspaces: Object.fromEntries(this.workspacePolicies) };
  }

  /** A workspace may only tighten: lower caps, block over warn. */
  private mergedPolicy(ws: Partial<BurnRateSettings>): GuardPolicy {
    const own = policyFromSettings({ ...this.global, ...ws });
    const g = this.policy;
    const stricter = (a: OnLimit, b: OnLimit): OnLimit => (a === 'block' || b === 'block' ? 'block' : 'warn');
    return {
      budget: {
        daily: 'burnrate.budget.daily' in ws ? tighter(g.budget.daily, own.budget.daily) : 0,
        monthly: 'burnrate.budget.monthly' in ws ? tighter(g.budget.monthly, own.budget.monthly) : 0,
        alertThresholds: own.budget.alertThresholds,
        onExceed: stricter(g.budget.onExceed, own.budget.onExceed),
      },
      guard: {
        sessionMaxTokens: tighter(g.guard.sessionMaxTokens, own.guard.sessionMaxTokens),
        sessionMaxUsd: tighter(g.guard.sessionMaxUsd, own.guard.sessionMaxUsd),
        maxRequestsPerMinute: tighter(g.guard.maxRequestsPerMinute, own.guard.maxRequestsPerMinute),
        maxRepeats: tighter(g.guard.maxRepeats, own.guard.maxRepeats),
        retryStormErrors: tighter(g.guard.retryStormErrors, own.guard.retryStormErrors),
        onTrip: stricter(g.guard.onTrip, own.guard.onTrip),
      },
    };
  }

  private limitsFor(s: Session): Readonly<SessionLimits> {
    const base = (s.workspace !== null && this.workspacePolicies.get(s.workspace)?.guard) || this.policy.guard;
    // Most sessions were never raised: their limits are the policy's own object (read only), no copy per call.
    return s.raised === NOT_RAISED ? base : { ...base, ...s.raised };
  }

  // ------------------------------------------------------------------------------------------
  // The proxy's hooks

  admit(req: AdmitRequest): Admission {
    const now = this.now();
    this.roll(now);
    const session = this.sessionFor(req, now);
    const block = (code: string, message: string): Admission => {
      session.blockedCalls++;
      // The dashboard's session list counts refused calls live.
      this.emit('sessions');
      return { allowed: false, session: session.id, error: proxyError(req.protocol, 403, code, message) };
    };
    if (session.stopped) return block('session_stopped', this.stoppedMessage(session));

    // Workspace budgets, with what parallel calls have already reserved.
    for (const { scope, policy } of this.budgetScopes(session.workspace)) {
      if (policy.budget.onExceed !== 'block') continue;
      for (const period of ['day', 'month'] as const) {
        const cap = usdToNanos(period === 'day' ? policy.budget.daily : policy.budget.monthly);
        if (!cap) continue;
        const committed = (period === 'day' ? scope.dayNanos : scope.monthNanos) + scope.reservedNanos;
        if (committed >= cap) return block('budget_exceeded', this.budgetBlockMessage(scope.key, period, period === 'day' ? scope.dayNanos : scope.monthNanos, cap));
      }
    }

    const limits = this.limitsFor(session);
    const trip = (guard: GuardName, limit: number, value: number): Admission | undefined => {
      this.trip(session, guard, limit, value, limits.onTrip);
      return session.stopped ? block('session_stopped', this.stoppedMessage(session)) : undefined;
    };
    let refused: Admission | undefined;
    // Spent: the guard trips. Not yet spent but already reserved by calls still running: in block
    // mode this call waits its turn (refused without stopping the session), so parallel calls cannot overshoot.
    const budgetGuard = (guard: 'sessionMaxTokens' | 'sessionMaxUsd', used: number, reserved: number, max: number, show: (n: number) => string): Admission | undefined => {
      if (used >= max) return trip(guard, limits[guard], guard === 'sessionMaxTokens' ? used : nanosToUsd(used));
      if (limits.onTrip === 'block' && used + reserved >= max) {
        return block('session_budget_reserved', `session "${session.id}" has used ${show(used)} of its ${show(max)} limit (${GUARD_SETTING[guard]}) and ${session.inflight.size} call${session.inflight.size === 1 ? '' : 's'} still running may use the rest, so this call is refused. Try again once they finish, or raise the limit.`);
      }
      return undefined;
    };
    if (limits.sessionMaxTokens > 0) {
      refused = budgetGuard('sessionMaxTokens', session.tokens, session.reservedTokens, limits.sessionMaxTokens, (n) => `${n.toLocaleString('en-US')} tokens`);
    }
    if (!refused && limits.sessionMaxUsd > 0) {
      refused = budgetGuard('sessionMaxUsd', session.nanos, session.reservedNanos, usdToNanos(limits.sessionMaxUsd), usd);
    }
    if (!refused && limits.maxRequestsPerMinute > 0) {
      while (session.recent.length && session.recent[0] <= now - 60_000) session.recent.shift();
      if (session.recent.length >= limits.maxRequestsPerMinute) refused = trip('maxRequestsPerMinute', limits.maxRequestsPerMinute, session.recent.length + 1);
    }
    let repeatKey: string | undefined;
    if (!refused && limits.maxRepeats > 0) {
      repeatKey = createHash('sha1').update(req.providerId).update('\0').update(req.path).update('\0').update(req.body).digest('base64');
      const seen = session.repeats.get(repeatKey);
      const count = seen && now - seen.lastAt <= REPEAT_WINDOW_MS ? seen.count : 0;
      if (count >= limits.maxRepeats) refused = trip('maxRepeats', limits.maxRepeats, count + 1);
    }
    if (refused) return refused;

    // Admitted: count it and reserve its estimate until it settles.
    if (limits.maxRequestsPerMinute > 0) session.recent.push(now);
    if (repeatKey) {
      const seen = session.repeats.get(repeatKey);
      if (seen && now - seen.lastAt <= REPEAT_WINDOW_MS) {
        seen.count++;
        seen.lastAt = now;
      } else {
        session.repeats.delete(repeatKey);
        session.repeats.set(repeatKey, { count: 1, lastAt: now });
        if (session.repeats.size > MAX_REPEAT_KEYS) session.repeats.delete(session.repeats.keys().next().value!);
      }
    }
    const scopes = this.budgetScopes(session.workspace).map((b) => b.scope);
    const needCost = limits.sessionMaxUsd > 0 || scopes.length > 0;
    const estimate = this.estimate(req, session, needCost);
    session.reservedTokens += estimate.tokens;
    session.reservedNanos += estimate.nanos;
    for (const scope of scopes) scope.reservedNanos += estimate.nanos;
    const flight: InFlight = { session, tokens: estimate.tokens, nanos: estimate.nanos, scopes, stream: req.stream, cut: req.cut, released: false, prev: null, next: null };
    session.inflight.add(flight);
    session.lastAt = now;
    return { allowed: true, session: session.id, ticket: flight };
  }

  release(ticket: GuardTicket): void {
    const f = ticket as InFlight;
    if (f.released) return;
    f.released = true;
    f.session.inflight.remove(f);
    f.session.reservedTokens -= f.tokens;
    f.session.reservedNanos -= f.nanos;
    for (const scope of f.scopes) scope.reservedNanos -= f.nanos;
  }

  /** Counts a finished call's real use (every record passes here, recorded or not). */
  settle(rec: RequestRecord): void {
    const now = this.now();
    this.roll(now);
    const tokens = rec.inputTokens + rec.outputTokens;
    const ws = rec.workspace ?? '';
    for (const key of ws ? ['', ws] : ['']) {
      const scope = this.scope(key);
      scope.dayNanos += rec.costNanos;
      scope.monthNanos += rec.costNanos;
    }
    if (rec.session) {
      let s = this.sessions.get(rec.session);
      if (!s) s = this.newSession(rec.session, true, rec.workspace, rec.startedAt);
      s.requests++;
      s.tokens += tokens;
      s.outputTokens += rec.outputTokens;
      s.nanos += rec.costNanos;
      s.lastAt = Math.max(s.lastAt, now);
      this.checkSession(s, rec, now);
    }
    this.checkBudgets(false);
    this.checkAnomaly(now);
  }

  // ------------------------------------------------------------------------------------------
  // Sessions: list, stop, allow, raise

  listSessions(): SessionView[] {
    return [...this.sessions.values()]
      .sort((a, b) => b.lastAt - a.lastAt)
      .map((s) => ({
        id: s.id,
        explicit: s.explicit,
        workspace: s.workspace,
        startedAt: s.startedAt,
        lastAt: s.lastAt,
        requests: s.requests,
        tokens: s.tokens,
        costUsd: nanosToUsd(s.nanos),
        inFlight: s.inflight.size,
        blockedCalls: s.blockedCalls,
        state: s.stopped ? 'stopped' : 'active',
        stoppedReason: s.stopped?.reason ?? null,
        tripped: [...s.tripped],
        limits: this.limitsFor(s),
      }));
  }

  session(id: string): SessionView | undefined {
    return this.listSessions().find((s) => s.id === id);
  }

  /** Refuses the session's next calls and cuts its open streams. Returns false for an unknown session. */
  stop(id: string, reason = 'stopped by the user'): boolean {
    let s = this.sessions.get(id);
    // A session may be stopped before its first call (e.g. a metered terminal's).
    if (!s) s = this.newSession(id, true, null, this.now());
    this.stopSession(s, reason);
    return true;
  }

  /** Lets a stopped or tripped session go on; its detectors start counting afresh. */
  allow(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    s.stopped = null;
    s.tripped.clear();
    s.recent = [];
    s.repeats.clear();
    s.failures = [];
    s.blockedCalls = 0;
    this.log('info', `session "${id}" allowed to go on`);
    this.emit('sessions');
    return true;
  }

  /**
   * Raises this session's limits (given ones, or double each tripped one) and allows it again.
   * Returns the new limits, or undefined for an unknown session.
   */
  raise(id: string, limits?: Partial<Omit<SessionLimits, 'onTrip'>>): SessionLimits | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const current = this.limitsFor(s);
    const next: Partial<SessionLimits> = { ...s.raised };
    if (limits && Object.keys(limits).length) Object.assign(next, limits);
    else {
      for (const g of s.tripped) {
        const key = g === 'retryStorm' ? 'retryStormErrors' : g;
        const cur = current[key];
        if (cur > 0) next[key] = cur * 2;
      }
    }
    s.raised = next;
    this.allow(id);
    const after = this.limitsFor(s);
    this.log('info', `session "${id}" limits raised: ${JSON.stringify(next)}`);
    return after;
  }

  budgets(): BudgetView[] {
    this.roll();
    const out: BudgetView[] = [];
    for (const { scope, policy } of this.budgetScopes(null, true)) {
      const warnAt = Math.max(0, ...policy.budget.alertThresholds.filter((t) => t < 1));
      for (const period of ['day', 'month'] as const) {
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

  // ------------------------------------------------------------------------------------------
  // Internals

  private scope(key: string): Scope {
    let s = this.scopes.get(key);
    if (!s) this.scopes.set(key, (s = { key, dayNanos: 0, monthNanos: 0, reservedNanos: 0 }));
    return s;
  }

  /** The budget scopes a call counts against: all traffic, plus its workspace when that has its own budget. */
  private budgetScopes(workspace: string | null, allWorkspaces = false): Array<{ scope: Scope; policy: GuardPolicy }> {
    const out: Array<{ scope: Scope; policy: GuardPolicy }> = [];
    if (this.policy.budget.daily || this.policy.budget.monthly) out.push({ scope: this.scope(''), policy: this.policy });
    const names = allWorkspaces ? [...this.workspacePolicies.keys()] : workspace ? [workspace] : [];
    for (const name of names) {
      const p = this.workspacePolicies.get(name);
      if (p && (p.budget.daily || p.budget.monthly)) out.push({ scope: this.scope(name), policy: p });
    }
    return out;
  }

  private newSession(id: string, explicit: boolean, workspace: string | null, at: number): Session {
    if (this.sessions.size >= MAX_SESSIONS) this.forgetIdleSessions();
    const s: Session = {
      id, explicit, workspace, startedAt: at, lastAt: at, requests: 0, tokens: 0, outputTokens: 0, nanos: 0,
      reservedTokens: 0, reservedNanos: 0, inflight: new InFlightList(), recent: [], repeats: new Map(), failures: [],
      stopped: null, tripped: new Set(), raised: NOT_RAISED, blockedCalls: 0,
    };
    this.sessions.set(id, s);
    return s;
  }

  private forgetIdleSessions(): void {
    const idle = [...this.sessions.values()].filter((s) => !s.stopped && !s.inflight.size).sort((a, b) => a.lastAt - b.lastAt);
    for (const s of idle.slice(0, Math.max(1, idle.length >> 1))) this.sessions.delete(s.id);
  }

  /** The call's session: its tag, or one inferred from key + client + workspace, split by idle gaps. */
  private sessionFor(req: AdmitRequest, now: number): Session {
    const workspace = req.tags.workspace || null;
    let id = req.tags.session;
    let explicit = true;
    if (!id) {
      explicit = false;
      const key = `${req.keyFingerprint ?? 'nokey'}\0${req.userAgent ?? ''}\0${workspace ?? ''}`;
      let entry = this.inferred.get(key);
      if (!entry || now - entry.lastAt > SESSION_IDLE_GAP_MS) {
        entry = { id: inferredSessionId(key, now), lastAt: now };
        this.inferred.set(key, entry);
        if (this.inferred.size > MAX_SESSIONS) {
          for (const [k, e] of this.inferred) if (now - e.lastAt > SESSION_IDLE_GAP_MS) this.inferred.delete(k);
        }
      }
      entry.lastAt = now;
      id = entry.id;
      req.tags.session = id;
    }
    let s = this.sessions.get(id);
    if (!s) s = this.newSession(id, explicit, workspace, now);
    if (s.workspace === null && workspace) s.workspace = workspace;
    return s;
  }

  /** Input from the body size (~4 characters a token), output from the request's cap or the session's average so far. */
  private estimate(req: AdmitRequest, s: Session, withCost: boolean): { tokens: number; nanos: number } {
    const input = Math.ceil(req.body.length / CHARS_PER_TOKEN);
    const output = maxOutputTokens(req.json) ?? (s.requests ? Math.ceil(s.outputTokens / s.requests) : 0);
    let nanos = 0;
    if (withCost && req.pricesProvider && req.model) {
      try {
        nanos = priceUsage(req.pricesProvider, req.model, { inputTokens: input, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, outputTokens: output, reasoningTokens: 0 }).costNanos;
      } catch {
        nanos = 0;
      }
    }
    return { tokens: input + output, nanos };
  }

  private checkSession(s: Session, rec: RequestRecord, now: number): void {
    const limits = this.limitsFor(s);
    if (limits.sessionMaxTokens > 0 && s.tokens >= limits.sessionMaxTokens) this.trip(s, 'sessionMaxTokens', limits.sessionMaxTokens, s.tokens, limits.onTrip);
    if (limits.sessionMaxUsd > 0 && s.nanos >= usdToNanos(limits.sessionMaxUsd)) this.trip(s, 'sessionMaxUsd', limits.sessionMaxUsd, nanosToUsd(s.nanos), limits.onTrip);
    const cutByUs = rec.error?.startsWith('Burn Rate') ?? false;
    const clientLeft = rec.error?.startsWith('client closed') ?? false;
    const failed = (rec.status >= 400 || rec.status === 0) && !cutByUs && !clientLeft;
    if (!failed) {
      s.failures = [];
      return;
    }
    s.failures.push(now);
    const n = limits.retryStormErrors;
    if (n > 0) {
      if (s.failures.length > n) s.failures.splice(0, s.failures.length - n);
      // n failures in a row whose spacing averages under a second: nothing is backing off.
      if (s.failures.length >= n && (now - s.failures[0]) / Math.max(1, n - 1) < RETRY_STORM_MEAN_GAP_MS) {
        this.trip(s, 'retryStorm', n, s.failures.length, limits.onTrip);
      }
    }
  }

  private trip(s: Session, guard: GuardName, limit: number, value: number, action: OnLimit): void {
    if (s.tripped.has(guard) && (action === 'warn' || s.stopped)) return;
    s.tripped.add(guard);
    const what = describeTrip(guard, limit, value);
    const howToGoOn = action === 'block'
      ? `Its calls are refused and its open streams cut. To let it go on: "Burn Rate: Allow Session" in VS Code, POST /_burnrate/sessions/allow {"session":"${s.id}"}, or raise ${GUARD_SETTING[guard]}.`
      : `Calls still go through (burnrate.guard.onTrip is "warn").`;
    const message = `Session "${s.id}" ${what}. ${howToGoOn}`;
    if (action === 'block') this.stopSession(s, `${GUARD_LABEL[guard]} guard: ${what}`, guard);
    this.alert({ kind: 'guard', id: randomUUID(), at: this.now(), guard, limit, value, action, session: s.id, workspace: s.workspace, message });
  }

  private stopSession(s: Session, reason: string, guard?: GuardName): void {
    s.stopped = { reason, guard };
    let cut = 0;
    for (const f of s.inflight.values()) {
      // Streams are cut (that stops the generation being billed); a plain call is left to finish: its answer is paid for.
      if (!f.stream) continue;
      f.cut(`Burn Rate stopped session "${s.id}" (${reason})`);
      cut++;
    }
    this.log('warn', `session "${s.id}" stopped: ${reason}${cut ? `; ${cut} open stream${cut === 1 ? '' : 's'} cut` : ''}`);
    this.emit('sessions');
  }

  private stoppedMessage(s: Session): string {
    const lift = s.stopped?.guard ? `, or raise ${GUARD_SETTING[s.stopped.guard]}` : '';
    return `session "${s.id}" is stopped (${s.stopped?.reason}). Its calls are refused and not sent to the provider. To let it go on: "Burn Rate: Allow Session" in VS Code or POST /_burnrate/sessions/allow {"session":"${s.id}"}${lift}.`;
  }

  private budgetBlockMessage(scopeKey: string, period: 'day' | 'month', spent: number, cap: number): string {
    const whose = scopeKey ? `workspace "${scopeKey}"'s` : 'the';
    const key = period === 'day' ? 'burnrate.budget.daily' : 'burnrate.budget.monthly';
    return `${whose} ${period === 'day' ? 'daily' : 'monthly'} budget of ${usd(cap)} is used up (${usd(spent)} spent${period === 'day' ? ' today' : ' this month'}). Calls are refused until ${period === 'day' ? 'tomorrow' : 'next month'}; to go on, raise ${key} or set burnrate.budget.onExceed to "warn".`;
  }

  /** Alerts each threshold once per period; `silent` only marks what is already behind. */
  private checkBudgets(silent: boolean): void {
    for (const { scope, policy } of this.budgetScopes(null, true)) {
      for (const period of ['day', 'month'] as const) {
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
        if (silent) continue;
        // Several thresholds crossed at once: one alert, for the highest.
        const threshold = fresh[fresh.length - 1];
        const fraction = spent / cap;
        const label = `${scope.key ? `Workspace "${scope.key}": ` : ''}${period === 'day' ? 'daily' : 'monthly'} budget`;
        let tail = '';
        if (fraction >= 1) {
          tail = policy.budget.onExceed === 'block'
            ? ` New calls are refused until ${period === 'day' ? 'tomorrow' : 'next month'}; raise ${period === 'day' ? 'burnrate.budget.daily' : 'burnrate.budget.monthly'} or set burnrate.budget.onExceed to "warn" to go on.`
            : ' Calls still go through (burnrate.budget.onExceed is "warn").';
        }
        const message = `${label[0].toUpperCase()}${label.slice(1)}: ${usd(spent)} of ${usd(cap)} spent (${Math.floor(fraction * 100)} %).${tail}`;
        this.alert({ kind: 'budget', id: randomUUID(), at: this.now(), period, threshold, capUsd, spentUsd: nanosToUsd(spent), onExceed: policy.budget.onExceed, workspace: scope.key || null, session: null, message });
      }
    }
  }

  private checkAnomaly(now: number): void {
    if (this.anomalyAlertedDay === this.dayStart) return;
    const today = this.scope('').dayNanos;
    const average = this.trailingDays.reduce((a, b) => a + b, 0) / TRAILING_DAYS;
    if (today <= ANOMALY_FLOOR_NANOS || average <= 0 || today <= ANOMALY_FACTOR * average) return;
    this.anomalyAlertedDay = this.dayStart;
    const message = `Spend today is ${usd(today)}, ${(today / average).toFixed(1)}× the 7-day daily average of ${usd(average)}.`;
    this.alert({ kind: 'anomaly', id: randomUUID(), at: now, todayUsd: nanosToUsd(today), averageUsd: nanosToUsd(Math.round(average)), workspace: null, session: null, message });
  }

  /** Starts a new day / month when the clock has passed midnight / the 1st. */
  private roll(now = this.now()): void {
    if (this.dayEnd.of !== this.dayStart) this.dayEnd = { of: this.dayStart, at: daysBefore(this.dayStart, -1) };
    if (now >= this.dayStart && now < this.dayEnd.at) return;
    const day = localDayStart(now);
    if (day === this.dayStart) return;
    const all = this.scope('');
    // The day that ended joins the trailing week; days with no traffic count as zero.
    for (let d = this.dayStart; d < day; d = daysBefore(d, -1)) {
      this.trailingDays.push(d === this.dayStart ? all.dayNanos : 0);
      if (this.trailingDays.length > TRAILING_DAYS) this.trailingDays.shift();
    }
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

  private isCurrentAlertKey(key: string): boolean {
    const parts = key.split('|');
    // The scope (a workspace name) comes first and may itself contain "|": read from the end.
    const period = parts[parts.length - 4];
    const start = Number(parts[parts.length - 3]);
    return parts.length >= 5 && start === (period === 'day' ? this.dayStart : period === 'month' ? this.monthStart : NaN);
  }

  private alert(a: GuardAlert): void {
    this.log('warn', a.message);
    this.emit('alert', a);
  }
}

/** The output cap a request asks for, in whichever field its protocol uses. */
export function maxOutputTokens(json: unknown): number | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const b = json as Record<string, unknown>;
  const gen = b.generationConfig as Record<string, unknown> | undefined;
  const opts = b.options as Record<string, unknown> | undefined;
  for (const v of [b.max_completion_tokens, b.max_tokens, b.max_output_tokens, gen?.maxOutputTokens, opts?.num_predict]) {
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.min(Math.floor(v), 1_000_000);
  }
  return undefined;
}

/** One alerted threshold: scope ('' = all traffic), period, period start, the cap then (a new cap alerts afresh), threshold. */
function alertKey(scope: string, period: 'day' | 'month', periodStart: number, capUsd: number, threshold: number): string {
  return `${scope}|${period}|${periodStart}|${capUsd}|${threshold}`;
}

function inferredSessionId(key: string, at: number): string {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, '0');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 6);
  return `auto-${hash}-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

function describeTrip(guard: GuardName, limit: number, value: number): string {
  switch (guard) {
    case 'sessionMaxTokens':
      return `used ${value.toLocaleString('en-US')} tokens, reaching its limit of ${limit.toLocaleString('en-US')}`;
    case 'sessionMaxUsd':
      return `spent $${value.toFixed(4)}, reaching its limit of $${limit}`;
    case 'maxRequestsPerMinute':
      return `made ${value} calls within a minute, over its limit of ${limit}`;
    case 'maxRepeats':
      return `sent the same request ${value} times, over its limit of ${limit} (an agent going round in circles?)`;
    case 'retryStorm':
      return `had ${value} failed calls in a row, less than a second apart on average: a retry storm`;
  }
}

function usd(nanos: number): string {
  const v = nanosToUsd(nanos);
  return v >= 0.01 || v === 0 ? `$${v.toFixed(2)}` : `$${Number(v.toPrecision(3))}`;
}
