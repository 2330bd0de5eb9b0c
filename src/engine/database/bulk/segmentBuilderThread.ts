/**
 * The worker thread a SegmentBuilder runs in (started by BuilderPool): one message at a time, in
 * the order sent, each answered with its id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadSqlJs } from '../sqlFiles';
import { SegmentBuilder } from './segmentBuilder';
import type { BuilderReply, BuilderRequest, BuilderSetup } from './builderProtocol';

const setup = workerData as BuilderSetup;
const builder = loadSqlJs().then((SQL) => new SegmentBuilder(SQL, setup.dir, setup.generation, setup.spillBytes));
let queue: Promise<unknown> = Promise.resolve();

parentPort!.on('message', (msg: BuilderRequest) => {
  queue = queue.then(async () => {
    let reply: BuilderReply;
    try {
      const b = await builder;
      reply = msg.op === 'insert' ? { id: msg.id, inserted: b.insert(msg.parts) } : { id: msg.id, segments: b.finish() };
    } catch (e) {
      reply = { id: msg.id, error: (e as Error).stack ?? String(e) };
    }
    parentPort!.postMessage(reply);
  });
});
