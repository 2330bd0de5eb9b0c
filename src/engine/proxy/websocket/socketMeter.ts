/**
 * Meters one WebSocket of a metered transport (Responses WebSocket mode, Realtime) from a side copy
 * of its text messages: one record per response, each guarded like an HTTP call. A client's
 * `response.create` is admitted by the guards (refused: an `error` event, and the provider never
 * sees it); the provider's `response.created` starts the response, its terminal event ends it with the
 * usage it reports. Responses still open when the socket closes are recorded as estimated, like a
 * cut HTTP stream. A socket with no response makes no record.
 */
import { randomUUID } from 'node:crypto';
import { closeReason, websocketErrorEvent, type ProxyErrorResponse } from '../../http';
import { recordExchange, type Exchange, type RecordSink } from '../exchangeRecord';
import { parseJsonLazily } from '../lazyJson';
import {
  realtimeSessionModel,
  type ResponseEventReader,
  type SocketProtocol,
  asObject,
  asString,
  count,
  errorBodyMessage,
  newReport,
  parseJson,
  readStringMember,
  type UsageReport,
} from '../../providers';
import type { Tags } from '../../attribution';
import type { FrameTap } from './relay';

/** What the meter knows of the socket it meters, from its upgrade request. */
export interface SocketContext {
  protocol: SocketProtocol;
  /** The route's wire protocol (for error shapes and guards). */
  routeProtocol: string;
  providerId: string;
  pricesProvider: string | null;
  path: string;
  tags: Tags;
  client: string | null;
  keyFingerprint: string | null;
  userAgent: string | undefined;
  /** The model the socket was opened for (Realtime's `?model=`). */
  model: string | undefined;
  /** Sends a text message to the client. */
  toClient(text: string): void;
  /** Closes both sides (policy violation), e.g. when the guards stop the session. */
  close(code: number, reason: string): void;
}

interface Turn {
  exchange: Exchange;
  report: UsageReport;
  read: ResponseEventReader;
  /** The client event id of its response.create, which the provider's error events name. */
  eventId?: string;
  responseId?: string;
  /** A warm-up (see SocketProtocol.isWarmup): recorded only if the provider reports usage for it. */
  warmup?: boolean;
}

/** Events are JSON objects whose `type` comes first in practice: read it from the head, parse nothing. */
const TYPE_IN_HEAD = /"type"\s*:\s*"([^"\\]{1,100})"/;
const HEAD_BYTES = 512;
/** Past the head, `type` is searched for in messages up to this size only (audio chunks are larger). */
const MAX_SCANNED_BYTES = 1024 * 1024;

export function eventType(data: Buffer): string | undefined {
  const head = TYPE_IN_HEAD.exec(data.toString('latin1', 0, HEAD_BYTES));
  if (head) return head[1];
  return data.length <= MAX_SCANNED_BYTES ? readStringMember(data.toString('utf8'), 'type') : undefined;
}

export class SocketMeter implements FrameTap {
  /** Sent to the provider, not yet started (no response.created), oldest first. */
  private readonly pending: Turn[] = [];
  /** Started, not yet ended, oldest first. */
  private readonly open: Turn[] = [];
  private model: string | undefined;
  private closed = false;

  constructor(
    private readonly ctx: SocketContext,
    private readonly sink: RecordSink,
  ) {
    this.model = ctx.model;
  }

  fromClient(data: Buffer): boolean {
    if (this.closed || eventType(data) !== 'response.create') return true;
    const event = asObject(parseJsonLazily(data)) ?? {};
    const turn = this.newTurn(this.ctx.protocol.requestedModel(event) ?? this.model, data.length);
    turn.eventId = asString(event.event_id);
    turn.warmup = this.ctx.protocol.isWarmup(event);
    if (this.admit(turn, data, event)) return false;
    this.pending.push(turn);
    return true;
  }

  fromUpstream(data: Buffer): void {
    if (this.closed) return;
    const type = eventType(data);
    if (type === undefined) return;
    if (type === 'session.created' || type === 'session.updated') {
      this.model = realtimeSessionModel(data.toString('utf8')) ?? this.model;
    } else if (type === 'response.created') {
      this.started(data);
    } else if (type === 'error') {
      this.failed(data.toString('utf8'));
    } else if (this.ctx.protocol.reads(type)) {
      this.read(type, data.toString('utf8'));
    }
  }

  /** The socket closed (either side): what is still open is recorded as cut. */
  socketClosed(note: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const turn of this.open) this.finish(turn, false, note);
    for (const turn of this.pending) {
      // Asked for but never started: no response ran, so none was billed.
      turn.exchange.neverAnswered = true;
      this.finish(turn, false, `${note}; the provider started no response`);
    }
    this.open.length = 0;
    this.pending.length = 0;
  }

  private newTurn(model: string | undefined, requestBytes: number): Turn {
    const { ctx } = this;
    const exchange: Exchange = {
      id: randomUUID(),
      startedAt: Date.now(),
      t0: performance.now(),
      providerId: ctx.providerId,
      pricesProvider: ctx.pricesProvider,
      call: { endpoint: ctx.protocol.endpoint, requestModel: model, stream: true, free: false },
      method: 'GET',
      path: ctx.path,
      tags: { ...ctx.tags },
      client: ctx.client,
      keyFingerprint: ctx.keyFingerprint,
      requestBytes,
      // A response answered over the open socket is recorded as the 200 it would be over HTTP.
      status: 200,
      ttftMs: null,
    };
    return { exchange, report: newReport(model), read: this.ctx.protocol.newReader() };
  }

  /** Asks the guards, per response. Returns the refusal, if refused (already answered on the socket). */
  private admit(turn: Turn, body: Buffer, json: unknown): ProxyErrorResponse | undefined {
    const guard = this.sink.guard;
    if (!guard) return undefined;
    const { ctx } = this;
    const ex = turn.exchange;
    const admission = guard.admit({
      callId: ex.id,
      protocol: ctx.routeProtocol,
      providerId: ctx.providerId,
      pricesProvider: ctx.pricesProvider,
      model: ex.call?.requestModel,
      stream: true,
      path: ctx.path,
      body,
      json,
      tags: ex.tags,
      keyFingerprint: ctx.keyFingerprint,
      userAgent: ctx.userAgent,
      // The session was stopped while this response runs: the socket goes, as an HTTP stream would be cut.
      cut: (reason) => this.closeSocket(reason),
    });
    if (admission.allowed) {
      ex.ticket = admission.ticket;
      return undefined;
    }
    ctx.toClient(websocketErrorEvent(admission.error, turn.eventId));
    // A stopped session's socket is closed; a budget refusal leaves it open for what is still allowed.
    if (admission.error.code === 'session_stopped') this.closeSocket(admission.error.message);
    return admission.error;
  }

  /** Ends the socket as a policy violation (1008), recording what was open as cut. */
  private closeSocket(reason: string): void {
    if (this.closed) return;
    this.socketClosed(reason);
    this.ctx.close(1008, closeReason(reason));
  }

  private started(data: Buffer): void {
    let turn = this.pending.shift();
    if (!turn) {
      // A response the provider started by itself (Realtime voice activity detection): guarded after the fact.
      turn = this.newTurn(this.model, 0);
      const refusal = this.admit(turn, Buffer.alloc(0), undefined);
      // Already generating, so a refused one cannot be held back: the socket is closed.
      if (refusal) return this.closeSocket(refusal.message);
    }
    const text = data.toString('utf8');
    turn.responseId = readStringMember(text, 'id');
    turn.exchange.ttftMs = Math.round(performance.now() - turn.exchange.t0);
    this.open.push(turn);
    if (this.ctx.protocol.reads('response.created')) turn.read('response.created', text, turn.report);
  }

  private read(type: string, text: string): void {
    const rid = readStringMember(text, 'response_id') ?? (type.endsWith('.delta') ? undefined : readStringMember(text, 'id'));
    const turn = this.open.find((t) => t.responseId !== undefined && t.responseId === rid) ?? this.open[0];
    if (!turn || !turn.read(type, text, turn.report)) return;
    this.open.splice(this.open.indexOf(turn), 1);
    this.finish(turn, true, turn.report.error);
  }

  /** An error event: the response.create it answers (by event id, or the one in flight) failed. */
  private failed(text: string): void {
    const event = asObject(parseJson(text));
    const eventId = asString(asObject(event?.error)?.event_id);
    const byId = (list: Turn[]) => (eventId === undefined ? -1 : list.findIndex((t) => t.eventId === eventId));
    let list = this.pending;
    let at = byId(this.pending);
    if (at === -1 && this.ctx.protocol.errorsAnswerCreate) {
      [list, at] = this.open.length ? [this.open, 0] : [this.pending, this.pending.length ? 0 : -1];
    }
    if (at === -1) return;
    const [turn] = list.splice(at, 1);
    turn.exchange.status = count(event?.status) || 400;
    this.finish(turn, true, errorBodyMessage(event) ?? 'error event');
  }

  private finish(turn: Turn, finished: boolean, note: string | undefined): void {
    if (turn.warmup && !hasTokens(turn.report)) {
      // Nothing generated, nothing billed: not a response of its own, so no record.
      if (turn.exchange.ticket) this.sink.guard?.release(turn.exchange.ticket);
      return;
    }
    recordExchange(this.sink, turn.exchange, turn.report, finished, note);
  }
}

function hasTokens(report: UsageReport): boolean {
  const u = report.usage;
  return !!u && (u.inputTokens > 0 || u.outputTokens > 0);
}
