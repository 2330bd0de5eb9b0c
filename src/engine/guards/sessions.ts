/**
 * Sessions as the guards count them: a tagged session, or one inferred for untagged traffic from
 * key + client + workspace and split by idle gaps; each with its use, its calls in flight and the
 * state its checks keep.
 */
import { createHash } from 'node:crypto';
import type { GuardName, SessionLimits, SessionView } from '../../shared';
import { nanosToUsd } from '../pricing';
import type { AdmitRequest } from './types';
import type { Scope } from './budgets';

/** A session with no call for this long ends; the next call from the same client starts a new inferred one. */
export const SESSION_IDLE_GAP_MS = 30 * 60_000;
const MAX_SESSIONS = 5_000;

/** A session's raised limits before any raise (shared, never written: a raise replaces it). */
export const NOT_RAISED: Readonly<Partial<SessionLimits>> = Object.freeze({});

/** An admitted call's reservation: its estimated use, counted against its session and budget scopes until released. */
export interface InFlight {
  session: Session;
  callId: string | undefined;
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
export class InFlightList {
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

/** A session's counts; what it shares with its view (SessionView) is declared there. */
export interface Session extends Pick<SessionView, 'id' | 'explicit' | 'workspace' | 'startedAt' | 'lastAt' | 'requests' | 'tokens' | 'blockedCalls'> {
  outputTokens: number;
  nanos: number;
  reservedTokens: number;
  reservedNanos: number;
  inflight: InFlightList;
  /** Admission times in the last minute (the request-rate check). */
  recent: number[];
  /** Recent requests by identity (the repeated-request check). */
  repeats: Map<string, { count: number; lastAt: number }>;
  /** Times of the current run of failed calls (the retry-storm check). */
  failures: number[];
  /** Why, when and by whom it was stopped (kept across restarts: StoppedStore). */
  stopped: { reason: string; guard?: GuardName; at: number; by: string } | null;
  /** Calls in flight the guards cut when they stopped the session, by id, until their records settle. */
  cutCalls: Set<string>;
  /** Guards that alerted (warn) or stopped (block); each alerts once until re-armed. */
  tripped: Set<GuardName>;
  raised: Partial<SessionLimits>;
}

export class Sessions {
  private readonly byId = new Map<string, Session>();
  private readonly inferred = new Map<string, { id: string; lastAt: number }>();

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<Session> {
    return this.byId.values();
  }

  add(id: string, explicit: boolean, workspace: string | null, at: number): Session {
    if (this.byId.size >= MAX_SESSIONS) this.forgetIdle();
    const s: Session = {
      id,
      explicit,
      workspace,
      startedAt: at,
      lastAt: at,
      requests: 0,
      tokens: 0,
      outputTokens: 0,
      nanos: 0,
      reservedTokens: 0,
      reservedNanos: 0,
      inflight: new InFlightList(),
      recent: [],
      repeats: new Map(),
      failures: [],
      stopped: null,
      cutCalls: new Set(),
      tripped: new Set(),
      raised: NOT_RAISED,
      blockedCalls: 0,
    };
    this.byId.set(id, s);
    return s;
  }

  /** The call's session: its tag, or one inferred from key + client + workspace, split by idle gaps. */
  sessionFor(req: AdmitRequest, now: number): Session {
    const workspace = req.tags.workspace || null;
    let id = req.tags.session;
    const explicit = !!id;
    if (!id) {
      id = this.inferredId(`${req.keyFingerprint ?? 'nokey'}\0${req.userAgent ?? ''}\0${workspace ?? ''}`, now);
      req.tags.session = id;
    }
    let s = this.byId.get(id);
    if (!s) s = this.add(id, explicit, workspace, now);
    if (s.workspace === null && workspace) s.workspace = workspace;
    return s;
  }

  private inferredId(key: string, now: number): string {
    let entry = this.inferred.get(key);
    if (!entry || now - entry.lastAt > SESSION_IDLE_GAP_MS) {
      entry = { id: inferredSessionId(key, now), lastAt: now };
      this.inferred.set(key, entry);
      if (this.inferred.size > MAX_SESSIONS) {
        for (const [k, e] of this.inferred) if (now - e.lastAt > SESSION_IDLE_GAP_MS) this.inferred.delete(k);
      }
    }
    entry.lastAt = now;
    return entry.id;
  }

  /** Half the idle sessions, oldest first: stopped ones and ones with calls running stay. */
  private forgetIdle(): void {
    const idle = [...this.byId.values()].filter((s) => !s.stopped && !s.inflight.size).sort((a, b) => a.lastAt - b.lastAt);
    for (const s of idle.slice(0, Math.max(1, idle.length >> 1))) this.byId.delete(s.id);
  }
}

export function sessionView(s: Session, limits: SessionLimits): SessionView {
  return {
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
    stoppedAt: s.stopped?.at ?? null,
    stoppedBy: s.stopped?.by ?? null,
    tripped: [...s.tripped],
    limits,
  };
}

function inferredSessionId(key: string, at: number): string {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, '0');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 6);
  return `auto-${hash}-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}
