import type { SegmentInfo } from '../segments';
import type { BuilderPart, InsertedRecords } from './segmentBuilder';

/** What a builder thread is started with. */
export interface BuilderSetup {
  dir: string;
  generation: number;
  spillBytes: number;
}

export type BuilderRequest = { id: number; op: 'insert'; parts: BuilderPart[] } | { id: number; op: 'finish' };

export type BuilderReply = { id: number; inserted: InsertedRecords } | { id: number; segments: SegmentInfo[] } | { id: number; error: string };
