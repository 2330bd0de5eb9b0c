import type { CostStatus, RequestRecord } from '../record';
import { FIELDS } from '../segments';

/**
 * Records packed to cross to another thread. A structured clone of records costs about 5 µs each
 * (more than inserting them); packed, a batch is a few typed arrays (moved, not copied) and one
 * string holding each distinct text once.
 */
export interface PackedRecords {
  count: number;
  /** Each record's sequence number (its rowid). */
  seqs: Float64Array;
  /** A cell per record and field (FIELDS order): the number, a flag as 0 or 1, or its text's index. */
  cells: Float64Array;
  kinds: Uint8Array;
  /** The texts end to end, and where each ends. */
  texts: string;
  textEnds: Uint32Array;
}

const NULL = 0;
const NUMBER = 1;
const FLAG = 2;
const TEXT = 3;

/** Packs `records` (with their sequence numbers); `transfer` lists what postMessage can move. */
export function packRecords(records: readonly RequestRecord[], seqs: readonly number[]): { packed: PackedRecords; transfer: ArrayBuffer[] } {
  const width = FIELDS.length;
  const cells = new Float64Array(records.length * width);
  const kinds = new Uint8Array(records.length * width);
  const textIndex = new Map<string, number>();
  const texts: string[] = [];
  const textEnds: number[] = [];
  let textLength = 0;
  const addText = (t: string) => {
    texts.push(t);
    textEnds.push((textLength += t.length));
    return texts.length - 1;
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    for (let f = 0; f < width; f++) {
      const v = r[FIELDS[f]];
      const at = i * width + f;
      if (v === null || v === undefined) kinds[at] = NULL;
      else if (typeof v === 'number') {
        kinds[at] = NUMBER;
        cells[at] = v;
      } else if (typeof v === 'boolean') {
        kinds[at] = FLAG;
        cells[at] = v ? 1 : 0;
      } else {
        kinds[at] = TEXT;
        // Ids are all different; the other texts (provider, model, workspace…) repeat batch-long.
        let index = f === 0 ? undefined : textIndex.get(v);
        if (index === undefined) {
          index = addText(v);
          if (f !== 0) textIndex.set(v, index);
        }
        cells[at] = index;
      }
    }
  }
  const packed: PackedRecords = {
    count: records.length,
    seqs: Float64Array.from(seqs),
    cells,
    kinds,
    texts: texts.join(''),
    textEnds: Uint32Array.from(textEnds),
  };
  return { packed, transfer: [packed.seqs.buffer, cells.buffer, kinds.buffer, packed.textEnds.buffer] as ArrayBuffer[] };
}

/** The records and sequence numbers `packRecords` packed. */
export function unpackRecords(p: PackedRecords): { records: RequestRecord[]; seqs: Float64Array } {
  const texts: string[] = new Array(p.textEnds.length);
  for (let t = 0, from = 0; t < texts.length; from = p.textEnds[t++]) texts[t] = p.texts.slice(from, p.textEnds[t]);
  const { cells, kinds } = p;
  const cell: Cell = {
    text: (at) => (kinds[at] === TEXT ? texts[cells[at]] : null),
    number: (at) => (kinds[at] === NULL ? null : cells[at]),
    flag: (at) => cells[at] === 1,
  };
  const records: RequestRecord[] = new Array(p.count);
  for (let i = 0, at = 0; i < p.count; i++, at += FIELDS.length) records[i] = recordAt(cell, at);
  return { records, seqs: p.seqs };
}

interface Cell {
  text(at: number): string | null;
  number(at: number): number | null;
  flag(at: number): boolean;
}

const F = Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<keyof RequestRecord, number>;

/** One object literal (every record the same shape, fast to read): its fields' cells from `at`, packed from a valid record. */
function recordAt(cell: Cell, at: number): RequestRecord {
  return {
    id: cell.text(at + F.id)!,
    startedAt: cell.number(at + F.startedAt)!,
    provider: cell.text(at + F.provider)!,
    model: cell.text(at + F.model),
    endpoint: cell.text(at + F.endpoint),
    stream: cell.flag(at + F.stream),
    status: cell.number(at + F.status)!,
    inputTokens: cell.number(at + F.inputTokens)!,
    cacheReadTokens: cell.number(at + F.cacheReadTokens)!,
    cacheWriteTokens: cell.number(at + F.cacheWriteTokens)!,
    outputTokens: cell.number(at + F.outputTokens)!,
    reasoningTokens: cell.number(at + F.reasoningTokens)!,
    costNanos: cell.number(at + F.costNanos)!,
    costStatus: cell.text(at + F.costStatus) as CostStatus,
    latencyMs: cell.number(at + F.latencyMs)!,
    ttftMs: cell.number(at + F.ttftMs),
    session: cell.text(at + F.session),
    feature: cell.text(at + F.feature),
    user: cell.text(at + F.user),
    trace: cell.text(at + F.trace),
    env: cell.text(at + F.env),
    workspace: cell.text(at + F.workspace),
    branch: cell.text(at + F.branch),
    keyFingerprint: cell.text(at + F.keyFingerprint),
    error: cell.text(at + F.error),
    serviceTier: cell.text(at + F.serviceTier),
    priceSource: cell.text(at + F.priceSource),
    client: cell.text(at + F.client),
  };
}
