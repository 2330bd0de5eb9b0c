/**
 * The contract of one runaway guard's check. The facade (../guards.ts) runs every check before a call
 * is forwarded and after its record, trips the guard where a check says so, and refuses or admits.
 * A check keeps its counts on the session and reads its limit from the session's limits.
 */
import type { GuardName, SessionLimits } from '../../../shared';
import type { RequestRecord } from '../../database';
import type { Session } from '../sessions';
import type { AdmitRequest } from '../types';

/** The guard's limit is reached: the facade warns, or stops the session. */
export interface Trip {
  limit: number;
  /** What the session reached (tokens, USD, calls, repeats, failures). */
  value: number;
}

export interface AdmitVerdict {
  trip?: Trip;
  /** Refuses this call alone; the session goes on. */
  refuse?: { code: string; message: string };
  /** Counts the call once it is admitted (also after a warning trip). */
  onAdmitted?: () => void;
}

export interface AdmitCall {
  req: AdmitRequest;
  session: Session;
  limits: Readonly<SessionLimits>;
  now: number;
}

export interface SettledCall {
  rec: RequestRecord;
  session: Session;
  limits: Readonly<SessionLimits>;
  now: number;
  /** The guards cut this call when they stopped its session. */
  cutByGuard: boolean;
}

export interface SessionCheck {
  readonly guard: GuardName;
  /** Before a call is forwarded; called only while the guard's limit is set (> 0). */
  admit?(call: AdmitCall): AdmitVerdict | undefined;
  /** After every record of the session, whatever the limit (a check may count regardless). */
  settle?(call: SettledCall): Trip | undefined;
  /** Forgets what the check counted, when the session is allowed to go on. */
  reset?(s: Session): void;
  /** What the session did, for the alert: "used 1,200 tokens, reaching its limit of 1,000". */
  describe(limit: number, value: number): string;
}
