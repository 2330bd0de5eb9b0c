/** What the proxy and the faces exchange with the guards: the admission hooks and the budget view. */
import type { ProxyErrorResponse } from '../http';
import type { Tags } from '../attribution';

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
  /** The id its record will carry: tells the guards, when it settles, that they cut it themselves. */
  callId?: string;
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
