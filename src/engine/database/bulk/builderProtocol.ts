import type { BuilderPart, BuiltSegments } from './segmentBuilder';

/** What a builder thread is started with. */
export interface BuilderSetup {
  dir: string;
  generation: number;
  spillBytes: number;
}

export type BuilderRequest = { id: number; op: 'insert'; parts: BuilderPart[] } | { id: number; op: 'finish' };

export type BuilderReply = { id: number; added: number } | { id: number; built: BuiltSegments } | { id: number; error: string };
