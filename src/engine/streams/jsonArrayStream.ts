/**
 * Incremental splitter for a streamed top-level JSON array, as Gemini's streamGenerateContent sends
 * without alt=sse: `[{...}\r\n,\r\n{...}\r\n]`. Returns the text of each top-level element as soon as
 * it is complete, without parsing it.
 *
 * Works on bytes: structural characters are ASCII and never occur inside a multi-byte UTF-8 sequence,
 * so chunks may split anywhere. Only string/escape state and nesting depth are tracked; the elements
 * are not validated. A body that is a bare value instead of an array (an error object, say) is
 * returned as a single element.
 */

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../http';

const EMPTY: Buffer = Buffer.alloc(0);

export const DEFAULT_MAX_ELEMENT_BYTES = 8 * 1024 * 1024;

export interface JsonArrayStreamOptions {
  /** Cap on the bytes of one element held in memory; a longer element is skipped. Default 8 MiB. */
  maxElementBytes?: number;
}

const enum State {
  /** Before the opening bracket. */
  Start,
  /** Inside the array, between elements. */
  Between,
  /** Inside an element. */
  Element,
  /** After the closing bracket (or after a bare top-level value). */
  Done,
}

const enum Kind {
  Container,
  String,
  Scalar,
}

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function isBomByte(b: number): boolean {
  return b === 0xef || b === 0xbb || b === 0xbf;
}

export class JsonArrayStream {
  private readonly maxElementBytes: number;
  private state = State.Start;
  private kind = Kind.Container;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The body is a bare value, not an array: it ends the stream once complete. */
  private bareValue = false;
  /** Bytes of the current element from earlier chunks. */
  private held: Buffer[] = [];
  private elementBytes = 0;
  /** The current element outgrew the cap: track its end but keep nothing. */
  private skipping = false;
  private oversizedCount = 0;

  constructor(options: JsonArrayStreamOptions = {}) {
    this.maxElementBytes = options.maxElementBytes ?? DEFAULT_MAX_ELEMENT_BYTES;
  }

  /** True once the closing bracket (or the end of a bare value) was seen. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** Elements skipped because they outgrew the cap. */
  get oversizedElements(): number {
    return this.oversizedCount;
  }

  /** Feeds the next slice; returns the texts of the elements it completed. */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    const len = chunk.length;
    let elementStart = this.state === State.Element ? 0 : -1;
    for (let i = 0; i < len; i++) {
      const b = chunk[i];
      switch (this.state) {
        case State.Start:
          if (isWhitespace(b) || isBomByte(b)) continue;
          if (b === OPEN_BRACKET) {
            this.state = State.Between;
            continue;
          }
          this.bareValue = true;
          elementStart = this.beginElement(b, i);
          continue;
        case State.Between:
          if (isWhitespace(b) || b === COMMA) continue;
          if (b === CLOSE_BRACKET) {
            this.state = State.Done;
            continue;
          }
          elementStart = this.beginElement(b, i);
          continue;
        case State.Element:
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (b === BACKSLASH) this.escaped = true;
            else if (b === QUOTE) {
              this.inString = false;
              if (this.kind === Kind.String) this.finishElement(out, chunk, elementStart, i + 1);
            }
            continue;
          }
          if (this.kind === Kind.Container) {
            if (b === QUOTE) this.inString = true;
            else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
            else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
              if (--this.depth === 0) this.finishElement(out, chunk, elementStart, i + 1);
            }
            continue;
          }
          // Scalar (number, true, false, null): ends at the first delimiter, which is then
          // read again in the Between state.
          if (isWhitespace(b) || b === COMMA || b === CLOSE_BRACKET) {
            this.finishElement(out, chunk, elementStart, i);
            i--;
          }
          continue;
        case State.Done:
          continue;
      }
    }
    if (this.state === State.Element) {
      const start = Math.max(elementStart, 0);
      this.elementBytes += len - start;
      if (!this.skipping && this.elementBytes > this.maxElementBytes) this.startSkipping();
      if (!this.skipping && start < len) this.held.push(chunk.subarray(start));
    }
    return out;
  }

  /** Ends the body. Returns a bare scalar still in progress; an unfinished object is dropped. */
  end(): string[] {
    const out: string[] = [];
    if (this.state === State.Element && this.kind === Kind.Scalar) this.finishElement(out, EMPTY, 0, 0);
    return out;
  }

  private beginElement(b: number, at: number): number {
    this.state = State.Element;
    this.elementBytes = 0;
    this.escaped = false;
    if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      this.kind = Kind.Container;
      this.depth = 1;
      this.inString = false;
    } else if (b === QUOTE) {
      this.kind = Kind.String;
      this.inString = true;
    } else {
      this.kind = Kind.Scalar;
      this.inString = false;
    }
    return at;
  }

  private startSkipping(): void {
    this.skipping = true;
    this.oversizedCount++;
    this.held = [];
  }

  private finishElement(out: string[], chunk: Buffer, start: number, end: number): void {
    const from = Math.max(start, 0);
    const total = this.elementBytes + (end - from);
    if (!this.skipping && total > this.maxElementBytes) this.startSkipping();
    if (!this.skipping) {
      if (this.held.length === 0) {
        out.push(chunk.toString('utf8', from, end));
      } else {
        this.held.push(chunk.subarray(from, end));
        out.push(Buffer.concat(this.held).toString('utf8'));
      }
    }
    this.held = [];
    this.elementBytes = 0;
    this.skipping = false;
    this.state = this.bareValue ? State.Done : State.Between;
  }
}
