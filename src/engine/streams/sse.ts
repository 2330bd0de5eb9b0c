/**
 * Incremental Server-Sent-Events parser (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 *
 * Works on bytes, not strings: chunks may split anywhere (inside a CRLF, inside a multi-byte UTF-8
 * character) because a line is only decoded once all its bytes are there. Every byte pushed comes
 * back exactly once, in order, in the `raw` of some returned item, so a caller can forward or drop
 * whole events byte-exactly. Nothing here parses JSON.
 */

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const EMPTY: Buffer = Buffer.alloc(0);

export const DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024;

export interface SseEvent {
  /** The `event:` field, when the block named one. */
  event?: string;
  /** The `id:` field, when the block had one. */
  id?: string;
  /** The `data:` fields joined with "\n" ("" when there were none). */
  data: string;
  /**
   * At least one `data:` field: only such blocks are events in the SSE sense. Blocks without one
   * (comments, keep-alives, stray blank lines) are returned too so that their bytes are accounted for.
   */
  hasData: boolean;
  /** The exact bytes of the block, its terminating blank line included. Empty when `keepRaw` is false. */
  raw: Buffer;
  /**
   * Bytes of a block that outgrew `maxEventBytes`: they are passed through unparsed (possibly in
   * several pieces) rather than held in memory. Never has data.
   */
  oversized?: true;
  /** Flushed by end() although its terminating blank line never came (cut stream). */
  unterminated?: true;
}

export interface SseParserOptions {
  /**
   * Cap on the bytes of one block (and so of one line) held in memory. A block that outgrows it
   * is streamed through as `oversized` pieces and its fields are dropped. Default 8 MiB.
   */
  maxEventBytes?: number;
  /** Build `raw` for each block. Off for callers that only read the fields (saves copies). Default true. */
  keepRaw?: boolean;
}

export class SseParser {
  private readonly maxEventBytes: number;
  private readonly keepRaw: boolean;

  /** Bytes of the current block from earlier chunks (only with keepRaw). */
  private heldRaw: Buffer[] = [];
  /** Bytes of the current, unterminated line from earlier chunks (not kept while oversized). */
  private heldLine: Buffer[] = [];
  private heldLineBytes = 0;
  /** Bytes of the current block so far, across chunks: what the cap is checked against. */
  private blockBytes = 0;

  private dataLines: string[] = [];
  private eventName: string | undefined;
  private eventId: string | undefined;

  private firstLine = true;
  /** The last line ended with a CR that was the last byte of a chunk: a leading LF belongs to it. */
  private lfMayFollow = false;
  /**
   * That CR ended a blank line: the block is complete but its raw bytes are not, until we see whether
   * an LF follows. Holding it keeps `raw` exact, so dropping a block never leaves a stray LF behind.
   */
  private dispatchPending = false;
  private oversized = false;
  private oversizedCount = 0;

  constructor(options: SseParserOptions = {}) {
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.keepRaw = options.keepRaw ?? true;
  }

  /** Blocks that outgrew the cap so far. */
  get oversizedBlocks(): number {
    return this.oversizedCount;
  }

  /** Feeds the next slice of the stream; returns the blocks it completed. Chunks are kept by reference until their block completes, so do not mutate them. */
  push(chunk: Buffer): SseEvent[] {
    const out: SseEvent[] = [];
    if (chunk.length === 0) return out;
    const pos = this.skipLfOfEndingCr(chunk);
    let blockStart = 0;
    if (this.dispatchPending) {
      this.dispatchPendingBlock(out, chunk, pos);
      blockStart = pos;
    }
    blockStart = this.takeLines(out, chunk, pos, blockStart);
    this.holdBlockTail(out, chunk, blockStart);
    return out;
  }

  /** Where the chunk's lines start: past a leading LF that completes the previous chunk's final CR. */
  private skipLfOfEndingCr(chunk: Buffer): number {
    if (!this.lfMayFollow) return 0;
    this.lfMayFollow = false;
    if (chunk[0] !== LF) return 0;
    this.blockBytes += 1;
    return 1;
  }

  /** Dispatches the block whose blank line ended the previous chunk, with the LF (if any) that completed it. */
  private dispatchPendingBlock(out: SseEvent[], chunk: Buffer, end: number): void {
    this.dispatchPending = false;
    // The LF just counted must not let a block past the cap depending on where the chunk split.
    if (!this.oversized && this.blockBytes > this.maxEventBytes) this.startOversized(out, EMPTY, 0, 0);
    this.dispatch(out, chunk, 0, end, false);
  }

  /** Applies the chunk's complete lines from pos on, dispatching each block they end; returns where the current block starts in the chunk. */
  private takeLines(out: SseEvent[], chunk: Buffer, pos: number, blockStart: number): number {
    const len = chunk.length;
    // Cached positions of the next LF and CR: re-searching both for every line would be quadratic
    // on streams that never use one of them.
    let nextLf = chunk.indexOf(LF, pos);
    let nextCr = chunk.indexOf(CR, pos);
    while (pos < len) {
      if (nextLf !== -1 && nextLf < pos) nextLf = chunk.indexOf(LF, pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = chunk.indexOf(CR, pos);
      if (nextLf === -1 && nextCr === -1) {
        this.holdPartialLine(chunk, pos, len);
        break;
      }
      const lineEnd = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      let next = lineEnd + 1;
      let crEndsChunk = false;
      if (chunk[lineEnd] === CR) {
        if (next < len) {
          if (chunk[next] === LF) next++;
        } else {
          crEndsChunk = true;
        }
      }
      this.blockBytes += next - pos;
      if (!this.oversized && this.blockBytes > this.maxEventBytes) {
        this.startOversized(out, chunk, blockStart, pos);
        blockStart = pos;
      }
      const blank = this.takeLine(chunk, pos, lineEnd);
      pos = next;
      if (crEndsChunk) this.lfMayFollow = true;
      if (blank) {
        if (crEndsChunk) {
          this.dispatchPending = true;
          break;
        }
        this.dispatch(out, chunk, blockStart, pos, false);
        blockStart = pos;
      }
    }
    return blockStart;
  }

  /** Keeps (or, past the cap, passes on) the chunk's bytes of the block still in progress. */
  private holdBlockTail(out: SseEvent[], chunk: Buffer, blockStart: number): void {
    const len = chunk.length;
    if (!this.oversized && this.blockBytes > this.maxEventBytes) {
      this.startOversized(out, chunk, blockStart, len);
      blockStart = len;
    }
    if (blockStart < len) {
      if (this.oversized) {
        // Oversized bytes are passed on at once so memory stays bounded.
        if (this.keepRaw) out.push(oversizedPiece(chunk.subarray(blockStart, len)));
      } else if (this.keepRaw) {
        this.heldRaw.push(chunk.subarray(blockStart, len));
      }
    }
  }

  /**
   * Ends the stream: returns the block still in progress, if any, flagged `unterminated` (its last
   * line counts even without a line ending, so a cut `data: [DONE]` is still seen).
   */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    this.lfMayFollow = false;
    if (this.dispatchPending) {
      this.dispatchPending = false;
      this.dispatch(out, EMPTY, 0, 0, false);
    } else if (this.blockBytes > 0) {
      if (this.heldLineBytes > 0) this.takeLine(EMPTY, 0, 0);
      this.dispatch(out, EMPTY, 0, 0, true);
    }
    return out;
  }

  private holdPartialLine(chunk: Buffer, start: number, end: number): void {
    const n = end - start;
    this.heldLineBytes += n;
    this.blockBytes += n;
    if (!this.oversized) this.heldLine.push(chunk.subarray(start, end));
  }

  /** Applies one complete line (bytes [start, end) of chunk after any held part). Returns true for a blank line. */
  private takeLine(chunk: Buffer, start: number, end: number): boolean {
    let buf = chunk;
    let s = start;
    let e = end;
    if (this.oversized) {
      const blank = this.heldLineBytes === 0 && start === end;
      this.heldLineBytes = 0;
      this.heldLine = [];
      this.firstLine = false;
      return blank;
    }
    if (this.heldLineBytes > 0) {
      this.heldLine.push(chunk.subarray(start, end));
      buf = this.heldLine.length === 1 ? this.heldLine[0] : Buffer.concat(this.heldLine);
      s = 0;
      e = buf.length;
      this.heldLine = [];
      this.heldLineBytes = 0;
    }
    if (this.firstLine) {
      this.firstLine = false;
      if (e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3;
    }
    if (s === e) return true;
    if (buf[s] === COLON) return false; // comment

    // Field names are short; a manual scan stops at the colon without reading past the line.
    let colon = s;
    while (colon < e && buf[colon] !== COLON) colon++;
    let valueStart = colon + 1;
    if (valueStart < e && buf[valueStart] === SPACE) valueStart++;
    if (valueStart > e) valueStart = e;
    const nameLength = colon - s;

    if (nameLength === 4 && buf[s] === 0x64 && buf[s + 1] === 0x61 && buf[s + 2] === 0x74 && buf[s + 3] === 0x61) {
      this.dataLines.push(buf.toString('utf8', valueStart, e));
    } else if (nameLength === 5 && buf[s] === 0x65 && buf[s + 1] === 0x76 && buf[s + 2] === 0x65 && buf[s + 3] === 0x6e && buf[s + 4] === 0x74) {
      this.eventName = buf.toString('utf8', valueStart, e);
    } else if (nameLength === 2 && buf[s] === 0x69 && buf[s + 1] === 0x64) {
      const id = buf.toString('utf8', valueStart, e);
      if (!id.includes('\0')) this.eventId = id;
    }
    // Other fields (retry, unknown) are ignored, as the spec says.
    return false;
  }

  private startOversized(out: SseEvent[], chunk: Buffer, start: number, end: number): void {
    this.oversized = true;
    this.oversizedCount++;
    if (this.keepRaw) {
      const parts = this.heldRaw;
      if (end > start) parts.push(chunk.subarray(start, end));
      if (parts.length > 0) out.push(oversizedPiece(parts.length === 1 ? parts[0] : Buffer.concat(parts)));
    }
    this.heldRaw = [];
    this.heldLine = [];
    this.dataLines = [];
    this.eventName = undefined;
    this.eventId = undefined;
  }

  private dispatch(out: SseEvent[], chunk: Buffer, start: number, end: number, unterminated: boolean): void {
    if (this.oversized) {
      if (this.keepRaw && end > start) out.push(oversizedPiece(chunk.subarray(start, end)));
    } else {
      let raw: Buffer = EMPTY;
      if (this.keepRaw) {
        const parts = this.heldRaw;
        if (end > start) parts.push(chunk.subarray(start, end));
        raw = parts.length === 1 ? parts[0] : parts.length === 0 ? EMPTY : Buffer.concat(parts);
      }
      const lines = this.dataLines;
      const event: SseEvent = {
        data: lines.length === 1 ? lines[0] : lines.join('\n'),
        hasData: lines.length > 0,
        raw,
      };
      if (this.eventName !== undefined) event.event = this.eventName;
      if (this.eventId !== undefined) event.id = this.eventId;
      if (unterminated) event.unterminated = true;
      out.push(event);
    }
    this.heldRaw = [];
    this.heldLine = [];
    this.heldLineBytes = 0;
    this.blockBytes = 0;
    this.dataLines = [];
    this.eventName = undefined;
    this.eventId = undefined;
    this.oversized = false;
  }
}

function oversizedPiece(raw: Buffer): SseEvent {
  return { data: '', hasData: false, raw, oversized: true };
}
