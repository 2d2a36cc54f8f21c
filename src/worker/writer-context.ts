/**
 * The write client of a worker thread: one per thread and run (its own connections to every node),
 * shared by every task the thread runs for that run, with the process-wide in-flight bound.
 */
import { WriteClient } from '../shared/aerospike/write-client.js';
import { PauseLedger, ThreadLoadGauge } from '../shared/thread-load.js';
import { InFlightLimit } from '../shared/aerospike/in-flight-limit.js';
import type { RestoreRunSettings } from './restore-task.js';

export interface WriterContext {
  runId: string;
  client: WriteClient;
  limit: InFlightLimit;
  /** This thread's load (its pauses in `limit` taken out). */
  load: ThreadLoadGauge;
}

let writerContext: WriterContext | null = null;

/** The thread's write client for this run (created on its first task, replaced for a new run). */
export function writerFor(run: RestoreRunSettings): WriterContext {
  if (writerContext !== null && writerContext.runId === run.runId) return writerContext;
  if (writerContext !== null) void writerContext.client.close();
  const perCommand = run.mode === 'batch' ? 1 : run.batchSize;
  const client = new WriteClient(run.cluster.routing, {
    auth: run.cluster.auth,
    tls: run.cluster.tls,
    connectTimeoutMs: run.cluster.connectTimeoutMs,
    totalTimeoutMs: run.totalTimeoutMs,
    socketTimeoutMs: run.socketTimeoutMs,
    // The process-wide bound is the InFlightLimit (per-node commands); this is only a ceiling, with
    // room for a retry whose rows now belong to several nodes.
    maxCommandsInFlight: run.maxAsyncBatches * perCommand * 64,
    maxConnectionsPerNode: run.maxAsyncBatches * perCommand,
  });
  const load = new ThreadLoadGauge(new PauseLedger(run.pauseLedgerBuffer));
  writerContext = { runId: run.runId, client, limit: new InFlightLimit(run.inFlightBuffer, load), load };
  return writerContext;
}
