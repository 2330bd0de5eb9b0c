/**
 * Budgets and runaway guards. The proxy asks `admit()` before forwarding a call (a synchronous,
 * in-memory check: no database on the request path) and every finished record comes back through
 * `settle()`. Each admitted call reserves an estimate of its tokens and cost until the proxy releases
 * its ticket (when the record is made or the connection closes), so
 * parallel calls cannot all slip past the same remaining budget.
 *
 * This class ties together the policy (policy.ts), the sessions (sessions.ts), one check per guard
 * (checks/), the workspace budgets (budgets.ts) and the spend anomaly (anomaly.ts), and turns what
 * they find into refusals, stopped sessions and alerts. No vscode import.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  GUARD_ON_TRIP_SETTING,
  guardMeta,
  type GuardAlert,
  type GuardName,
  type OnLimit,
  type SessionLimits,
  type SessionView,
  type BudgetView,
} from '../../shared';
import type { AlertedStore, RequestRecord, StoppedStore } from '../database';
import { proxyError } from '../http';
import { emptyBaseline, type GuardBaseline } from '../queries';
import type { BurnRateSettings } from '../settings';
import { AnomalyWatch } from './anomaly';
import { Budgets } from './budgets';
import { checkFor, SESSION_CHECKS, type Trip } from './checks';
import { estimateCall } from './estimate';
import { Policies, type GuardPolicy, type PolicyUpdate } from './policy';
import { NOT_RAISED, Sessions, sessionView, type InFlight, type Session } from './sessions';
import type { Admission, AdmitRequest, GuardTicket, ProxyGuard } from './types';

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
  /** Where stopped sessions are kept, so a stop holds across restarts and takeovers until the session is allowed. */
  stoppedStore?: StoppedStore;
}

/**
 * Emits "alert" (GuardAlert) for every budget threshold crossed, guard tripped and anomaly seen,
 * "sessions" when a session is stopped or allowed, and "budgets" when the settings change.
 */
export class Guards extends EventEmitter implements ProxyGuard {
  private readonly now: () => number;
  private readonly log: NonNullable<GuardsOptions['log']>;
  private readonly policies: Policies;
  private readonly sessions = new Sessions();
  private readonly budgetBook: Budgets;
  private readonly anomaly: AnomalyWatch;
  private readonly stoppedStore: StoppedStore | undefined;

  constructor(opts: GuardsOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    const base = opts.baseline ?? emptyBaseline(this.now());
    this.policies = new Policies(opts.settings ?? {});
    this.budgetBook = new Budgets(base, this.policies, opts.alertedStore);
    this.anomaly = new AnomalyWatch(this.budgetBook);
    for (const b of base.sessions) {
      const s = this.sessions.add(b.id, true, b.workspace, b.firstAt);
      Object.assign(s, { lastAt: b.lastAt, requests: b.requests, tokens: b.tokens, outputTokens: b.outputTokens, nanos: b.nanos });
    }
    this.stoppedStore = opts.stoppedStore;
    for (const stop of this.stoppedStore?.load() ?? []) {
      const s = this.sessions.get(stop.id) ?? this.sessions.add(stop.id, true, null, stop.at);
      s.stopped = { reason: stop.reason, guard: stop.guard as GuardName | undefined, at: stop.at, by: stop.by };
    }
    this.budgetBook.roll(this.now());
    this.budgetBook.loadAlerted(this.now());
  }

  /**
   * Alerts budget thresholds crossed and not alerted yet this period (e.g. at start, for a budget set
   * while no engine ran). Call once the alert listeners are in place.
   */
  reviewBudgets(): void {
    this.budgetBook.roll(this.now());
    this.checkBudgets();
  }

  /** Applies new settings live: for all traffic, and/or one workspace's own tighter ones. */
  configure(update: PolicyUpdate): void {
    this.policies.configure(update);
    this.checkBudgets();
    this.emit('budgets');
  }

  settings(): { global: GuardPolicy; workspaces: Record<string, GuardPolicy> } {
    return this.policies.view();
  }

  budgets(): BudgetView[] {
    this.budgetBook.roll(this.now());
    return this.budgetBook.views();
  }

  // ------------------------------------------------------------------------------------------
  // The proxy's hooks

  admit(req: AdmitRequest): Admission {
    const now = this.now();
    this.budgetBook.roll(now);
    const session = this.sessions.sessionFor(req, now);
    const block = (code: string, message: string): Admission => {
      session.blockedCalls++;
      // The dashboard's session list counts refused calls live.
      this.emit('sessions');
      return { allowed: false, session: session.id, error: proxyError(req.protocol, 403, code, message) };
    };
    if (session.stopped) return block('session_stopped', stoppedMessage(session));
    // Workspace budgets, with what parallel calls have already reserved.
    const overBudget = this.budgetBook.refusal(session.workspace);
    if (overBudget) return block('budget_exceeded', overBudget);

    const limits = this.limitsFor(session);
    const call = { req, session, limits, now };
    const onAdmitted: Array<() => void> = [];
    for (const { meta, check } of SESSION_CHECKS) {
      if (!check.admit || !(limits[meta.limit] > 0)) continue;
      const verdict = check.admit(call);
      if (!verdict) continue;
      if (verdict.trip) {
        this.trip(session, meta.guard, verdict.trip, limits.onTrip);
        if (session.stopped) return block('session_stopped', stoppedMessage(session));
      }
      if (verdict.refuse) return block(verdict.refuse.code, verdict.refuse.message);
      if (verdict.onAdmitted) onAdmitted.push(verdict.onAdmitted);
    }

    // Admitted: count it and reserve its estimate until it settles.
    for (const count of onAdmitted) count();
    return { allowed: true, session: session.id, ticket: this.reserve(req, session, limits, now) };
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
    this.budgetBook.roll(now);
    this.budgetBook.count(rec.workspace, rec.costNanos);
    if (rec.session) {
      let s = this.sessions.get(rec.session);
      if (!s) s = this.sessions.add(rec.session, true, rec.workspace, rec.startedAt);
      s.requests++;
      s.tokens += rec.inputTokens + rec.outputTokens;
      s.outputTokens += rec.outputTokens;
      s.nanos += rec.costNanos;
      s.lastAt = Math.max(s.lastAt, now);
      const limits = this.limitsFor(s);
      const call = { rec, session: s, limits, now, cutByGuard: s.cutCalls.delete(rec.id) };
      for (const { meta, check } of SESSION_CHECKS) {
        const trip = check.settle?.(call);
        if (trip) this.trip(s, meta.guard, trip, limits.onTrip);
      }
    }
    this.checkBudgets();
    const anomaly = this.anomaly.check(this.budgetBook.todayNanos(), this.budgetBook.trailingDays, this.budgetBook.dayStart, now);
    if (anomaly) this.alert(anomaly);
  }

  // ------------------------------------------------------------------------------------------
  // Sessions: list, stop, allow, raise

  listSessions(): SessionView[] {
    return [...this.sessions.values()].sort((a, b) => b.lastAt - a.lastAt).map((s) => sessionView(s, this.limitsFor(s)));
  }

  /** The sessions stopped and not allowed yet, with why. */
  stoppedSessions(): Array<{ id: string; reason: string | null }> {
    return [...this.sessions.values()].filter((s) => s.stopped).map((s) => ({ id: s.id, reason: s.stopped!.reason }));
  }

  session(id: string): SessionView | undefined {
    return this.listSessions().find((s) => s.id === id);
  }

  /** Refuses the session's next calls and cuts its open streams. Returns false for an unknown session. */
  stop(id: string, reason = 'stopped by the user', by = 'the management API'): boolean {
    // A session may be stopped before its first call (e.g. a metered terminal's).
    const s = this.sessions.get(id) ?? this.sessions.add(id, true, null, this.now());
    this.stopSession(s, reason, by);
    return true;
  }

  /** Lets a stopped or tripped session go on; its detectors start counting afresh. */
  allow(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    const wasStopped = s.stopped !== null;
    s.stopped = null;
    if (wasStopped) this.saveStops();
    s.tripped.clear();
    for (const { check } of SESSION_CHECKS) check.reset?.(s);
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
        const key = guardMeta(g).limit;
        if (current[key] > 0) next[key] = current[key] * 2;
      }
    }
    s.raised = next;
    this.allow(id);
    const after = this.limitsFor(s);
    this.log('info', `session "${id}" limits raised: ${JSON.stringify(next)}`);
    return after;
  }

  // ------------------------------------------------------------------------------------------
  // Internals

  private limitsFor(s: Session): Readonly<SessionLimits> {
    const base = this.policies.limitsFor(s.workspace);
    // Most sessions were never raised: their limits are the policy's own object (read only), no copy per call.
    return s.raised === NOT_RAISED ? base : { ...base, ...s.raised };
  }

  /** Holds the admitted call's estimated use against its session and budgets until release(). */
  private reserve(req: AdmitRequest, session: Session, limits: Readonly<SessionLimits>, now: number): InFlight {
    const scopes = this.budgetBook.reservingScopes(session.workspace);
    const estimate = estimateCall(req, session, limits.sessionMaxUsd > 0 || scopes.length > 0);
    session.reservedTokens += estimate.tokens;
    session.reservedNanos += estimate.nanos;
    for (const scope of scopes) scope.reservedNanos += estimate.nanos;
    const flight: InFlight = {
      session,
      callId: req.callId,
      tokens: estimate.tokens,
      nanos: estimate.nanos,
      scopes,
      stream: req.stream,
      cut: req.cut,
      released: false,
      prev: null,
      next: null,
    };
    session.inflight.add(flight);
    session.lastAt = now;
    return flight;
  }

  private trip(s: Session, guard: GuardName, { limit, value }: Trip, action: OnLimit): void {
    if (s.tripped.has(guard) && (action === 'warn' || s.stopped)) return;
    s.tripped.add(guard);
    const meta = guardMeta(guard);
    const what = checkFor(guard).describe(limit, value);
    const howToGoOn =
      action === 'block'
        ? `Its calls are refused and its open streams cut. To let it go on: "Burn Rate: Allow Session" in VS Code, \`burnrate sessions allow ${s.id}\`, POST /_burnrate/sessions/allow {"session":"${s.id}"}, or raise ${meta.setting}.`
        : `Calls still go through (${GUARD_ON_TRIP_SETTING} is "warn").`;
    const message = `Session "${s.id}" ${what}. ${howToGoOn}`;
    if (action === 'block') this.stopSession(s, `${meta.label} guard: ${what}`, `the ${meta.label} guard`, guard);
    this.alert({ kind: 'guard', id: randomUUID(), at: this.now(), guard, limit, value, action, session: s.id, workspace: s.workspace, message });
  }

  private stopSession(s: Session, reason: string, by: string, guard?: GuardName): void {
    s.stopped = { reason, guard, at: this.now(), by };
    this.saveStops();
    let cut = 0;
    for (const f of s.inflight.values()) {
      // Streams are cut (that stops the generation being billed); a plain call is left to finish: its answer is paid for.
      if (!f.stream) continue;
      if (f.callId) s.cutCalls.add(f.callId);
      f.cut(`Burn Rate stopped session "${s.id}" (${reason})`);
      cut++;
    }
    this.log('warn', `session "${s.id}" stopped: ${reason}${cut ? `; ${cut} open stream${cut === 1 ? '' : 's'} cut` : ''}`);
    this.emit('sessions');
  }

  /** Keeps every stopped session (with why, when and by whom) for the next engine. */
  private saveStops(): void {
    const stopped = [...this.sessions.values()].filter((s) => s.stopped);
    this.stoppedStore?.save(stopped.map((s) => ({ id: s.id, ...s.stopped! })));
  }

  private checkBudgets(): void {
    for (const a of this.budgetBook.review(false, this.now())) this.alert(a);
  }

  private alert(a: GuardAlert): void {
    this.log('warn', a.message);
    this.emit('alert', a);
  }
}

function stoppedMessage(s: Session): string {
  const lift = s.stopped?.guard ? `, or raise ${guardMeta(s.stopped.guard).setting}` : '';
  return `session "${s.id}" is stopped (${s.stopped?.reason}). Its calls are refused and not sent to the provider. To let it go on: "Burn Rate: Allow Session" in VS Code, \`burnrate sessions allow ${s.id}\` or POST /_burnrate/sessions/allow {"session":"${s.id}"}${lift}.`;
}
