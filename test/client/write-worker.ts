/**
 * A Piscina worker for the worker-thread test: each thread attaches its own WriteClient to the
 * routing table the main thread's Cluster publishes, and writes the records it is asked to.
 */
import { threadId } from 'node:worker_threads';
import { WriteClient } from '../../src/shared/aerospike/write-client.js';
import { Info2, ParticleType, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import { bin, makeRecord } from './support.js';

export interface WriteTask {
  routing: SharedArrayBuffer;
  prefix: string;
  count: number;
  batchSize: number;
}

export interface WriteTaskResult {
  threadId: number;
  codes: Record<number, number>;
  failures: string[];
}

let client: WriteClient | null = null;

export default async function write(task: WriteTask): Promise<WriteTaskResult> {
  client ??= new WriteClient(task.routing, { maxCommandsInFlight: 4 });
  const codes: Record<number, number> = {};
  const failures: string[] = [];
  for (let start = 0; start < task.count; start += task.batchSize) {
    const records = [];
    for (let i = start; i < Math.min(task.count, start + task.batchSize); i++) {
      records.push(makeRecord('test', 'workers', `${task.prefix}-${i}`, [bin('i', ParticleType.INTEGER, i), bin('t', ParticleType.STRING, Buffer.from(task.prefix))]));
    }
    const result = await client.writeBatch(records, records.map(() => TTL_NEVER_EXPIRE), { info2: Info2.WRITE | Info2.CREATE_ONLY, info3: 0 });
    for (const code of result.resultCodes) codes[code] = (codes[code] ?? 0) + 1;
    for (const failure of result.failures) failures.push(failure.error.message);
  }
  return { threadId, codes, failures };
}
