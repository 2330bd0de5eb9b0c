import { Worker } from 'node:worker_threads';
import type { BuilderReply, BuilderRequest, BuilderSetup } from './builderProtocol';
import type { SegmentInfo } from '../segments';
import { workerScript } from '../workerScript';
import type { BuilderPart, InsertedRecords } from './segmentBuilder';

/** Batches sent to a builder and not yet answered, at most: the main thread reads ahead this far, no further. */
const MAX_IN_FLIGHT = 4;

interface Builder {
  worker: Worker;
  inFlight: number;
  /** Records sent and not yet answered: a new segment goes to the builder with the fewest. */
  pendingRecords: number;
  waiting: Map<number, { resolve: (reply: BuilderReply) => void; reject: (e: Error) => void }>;
  /** Resolved when it can take another batch. */
  room: Promise<void>;
}

/**
 * The builder threads of a bulk insert (segmentBuilder.ts), started with it: which builds
 * which segment, sending each its records, and collecting what they built. An insert that fails
 * on a builder fails the bulk (at the next send, or at `finish`).
 */
export class BuilderPool {
  private readonly builders: Builder[] = [];
  private readonly ownerOf = new Map<string, number>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(
    size: number,
    setup: () => BuilderSetup,
    /** Told what each insert added, on this thread, as the answers come. */
    private readonly onInserted: (inserted: InsertedRecords) => void,
  ) {
    // Started at once: each loads sql.js first, while the file's first rows are read.
    for (let i = 0; i < size; i++) this.builders.push(this.start(setup()));
  }

  /** Threads started so far. */
  get threads(): number {
    return this.builders.length;
  }

  /** The builder building segment `key`, if any. */
  builderOf(key: string): number | undefined {
    return this.ownerOf.get(key);
  }

  /** Gives a segment new to the bulk to the builder with the least waiting; its number. */
  assign(key: string): number {
    let best = 0;
    for (let i = 1; i < this.builders.length; i++) if (this.builders[i].pendingRecords < this.builders[best].pendingRecords) best = i;
    this.ownerOf.set(key, best);
    return best;
  }

  /** Sends builder `n` its parts; resolves once it has room for more (it inserts them meanwhile). */
  async send(n: number, parts: BuilderPart[], transfer: ArrayBuffer[]): Promise<void> {
    this.throwIfFailed();
    const b = this.builders[n];
    const records = parts.reduce((sum, p) => sum + p.packed.count, 0);
    b.inFlight++;
    b.pendingRecords += records;
    this.request(b, { id: 0, op: 'insert', parts }, transfer)
      .then((reply) => {
        b.inFlight--;
        b.pendingRecords -= records;
        this.onInserted((reply as { inserted: InsertedRecords }).inserted);
      })
      .catch((e: Error) => (this.failure ??= e));
    while (b.inFlight >= MAX_IN_FLIGHT && !this.failure) await b.room;
    this.throwIfFailed();
  }

  /** Waits for every builder to insert what it was sent and write its segments; their catalogue entries. */
  async finish(): Promise<SegmentInfo[]> {
    const built = await Promise.all(this.builders.map((b) => this.request(b, { id: 0, op: 'finish' }, [])));
    this.throwIfFailed();
    return built.flatMap((reply) => (reply as { segments: SegmentInfo[] }).segments);
  }

  /** Stops every builder (after a finish, or to abandon the bulk); resolves once none writes any more. */
  async stop(): Promise<void> {
    await Promise.all(this.builders.map((b) => b.worker.terminate()));
    this.builders.length = 0;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private request(b: Builder, msg: BuilderRequest, transfer: ArrayBuffer[]): Promise<BuilderReply> {
    const id = ++this.nextId;
    return new Promise<BuilderReply>((resolve, reject) => {
      b.waiting.set(id, { resolve, reject });
      b.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private start(setup: BuilderSetup): Builder {
    const worker = startBuilderThread(setup);
    let freed = () => {};
    const b: Builder = { worker, inFlight: 0, pendingRecords: 0, waiting: new Map(), room: new Promise((r) => (freed = r)) };
    const settle = (id: number, fn: (w: { resolve: (r: BuilderReply) => void; reject: (e: Error) => void }) => void) => {
      const w = b.waiting.get(id);
      b.waiting.delete(id);
      if (w) fn(w);
      freed();
      b.room = new Promise((r) => (freed = r));
    };
    worker.on('message', (reply: BuilderReply) =>
      settle(reply.id, (w) => ('error' in reply ? w.reject(new Error(`a segment builder failed: ${reply.error}`)) : w.resolve(reply))),
    );
    worker.on('error', (e) => {
      this.failure ??= e;
      for (const id of [...b.waiting.keys()]) settle(id, (w) => w.reject(e));
    });
    worker.on('exit', (code) => {
      const e = new Error(`a segment builder stopped (exit code ${code})`);
      for (const id of [...b.waiting.keys()]) settle(id, (w) => w.reject(e));
    });
    return b;
  }
}

function startBuilderThread(workerData: BuilderSetup): Worker {
  const { file, execArgv } = workerScript(__dirname, 'segmentBuilder', 'segmentBuilderThread.ts');
  return new Worker(file, { workerData, execArgv });
}
