/**
 * Restore of one backup input (a file, or stdin streamed from the main thread) inside a worker
 * thread: read → decrypt → decompress → decode into the {@link RestoreSink}, which makes the C
 * asrestore decisions per record and writes each record's batch row into the pending command of
 * the node mastering its partition, as the decoder reads it (values go from the backup's bytes
 * straight into the row: lists, maps, HLLs and blobs byte for byte; the digest is the backup's).
 * A command goes to the {@link Batcher} when it holds --batch-size rows (or the next row would
 * pass the proto size limit), and every partial one at the end of the input: each command is a
 * full batch for one node.
 *
 * Secondary indexes and UDFs met in the file go to the coordinator over `metadataPort` (it owns
 * the info connection); this file waits for the answer, as the C thread that meets one blocks
 * while the others keep writing. --no-records stops reading at the first record.
 *
 * Every worker thread keeps one WriteClient (its own connections to every node), reused by all
 * the tasks it runs in one restore run.
 */
import type { MessagePort } from 'node:worker_threads';
import { AsbDecoder, WARM_UP_MIN_INPUT_BYTES, warmUpDecoder } from '../shared/asb/decoder.js';
import type { SecondaryIndexDef, UdfModule } from '../shared/asb/types.js';
import type { SharedClusterSettings } from '../shared/aerospike/cluster.js';
import { Counter, Counters } from '../shared/counters.js';
import { AsrestoreError } from '../shared/errors.js';
import { openBackupFile, openBackupStream, type OpenedBackupInput } from '../shared/io/backup-input.js';
import type { CompressionType, EncryptionAlgorithm } from '../shared/io/codec-options.js';
import { chunksFromPort } from '../shared/port-stream.js';
import { isStopRequested, requestStop } from '../shared/run-control.js';
import { configureLog, err, inf } from '../main/log.js';
import { Batcher, type WriteMode } from './batcher.js';
import { recycleCommand } from '../shared/aerospike/batch-command.js';
import { RestoreSink } from './restore-sink.js';
import { BatchFanOut } from './batch-channel.js';
import { writerFor } from './writer-context.js';
import type { RetryPolicy } from './retry-policy.js';
import { ThrottleGate } from './throttle.js';
import { citrusleafNow, restoreWriteFlags, type WritePolicyOptions } from './write-policy.js';
import { toTaskError, type TaskError } from './validate-task.js';

/** Settings shared by every unit of one run (and by the writer context of each thread). */
export interface RestoreRunSettings {
  /** Identifies the run: a worker thread reuses its write client for tasks of the same run. */
  runId: string;
  cluster: SharedClusterSettings;
  mode: WriteMode;
  batchSize: number;
  maxAsyncBatches: number;
  /** Milliseconds. */
  totalTimeoutMs: number;
  socketTimeoutMs: number;
  policy: WritePolicyOptions;
  retry: RetryPolicy;
  ignoreRecordError: boolean;
  compress: CompressionType | null;
  encryption: { algorithm: EncryptionAlgorithm; key: Uint8Array } | null;
  /** `-n src[,dst]`. */
  namespace: { source: string; target: string | null } | null;
  setList: string[] | null;
  binList: string[] | null;
  noRecords: boolean;
  noIndexes: boolean;
  noUdfs: boolean;
  extraTtl: number;
  countersBuffer: SharedArrayBuffer;
  controlBuffer: SharedArrayBuffer;
  inFlightBuffer: SharedArrayBuffer;
  /** --nice: the ThrottleController's buffer. */
  throttleBuffer: SharedArrayBuffer | null;
  /**
   * A single input's batches go to the other threads even while the decoding thread has time to
   * spare (ASRESTORE_TS_SPREAD=always); by default only while it is busy.
   */
  handOverWhenIdle: boolean;
  /** Where each worker thread records the time it paused waiting for an in-flight place (a PauseLedger). */
  pauseLedgerBuffer: SharedArrayBuffer;
  verbose: boolean;
}

export interface RestoreFileTask {
  kind: 'restore-file';
  run: RestoreRunSettings;
  /** The file to read, or the stream's name (`[stdin]`) when `port` delivers the bytes. */
  path: string;
  port?: MessagePort;
  /** The file's size when known (from the listing): small inputs skip the decoder warm-up. */
  sizeHint?: number;
  /** Directory mode: log `restoring <path>` first. */
  announce: boolean;
  /** Where secondary indexes and UDFs go (see {@link MetadataRequest}). */
  metadataPort: MessagePort;
  /** A single input: channels to the other workers' batch writers (batch-channel.ts). */
  writerPorts?: MessagePort[];
}

export interface RestoreFileResult {
  path: string;
  ok: boolean;
  /** Stopped early: another unit failed, or the run was interrupted. */
  stopped: boolean;
  records: number;
  bytesRead: number;
  /** The error this unit stopped the run with (already logged by the worker). */
  error?: TaskError;
}

/** Worker → coordinator. */
export type MetadataRequest =
  | { id: number; type: 'sindex'; def: SecondaryIndexDef; file: string }
  | { id: number; type: 'udf'; module: UdfModule; file: string };
/** Coordinator → worker: ok, or failed (the coordinator logged why and stopped the run). */
export interface MetadataReply {
  id: number;
  ok: boolean;
}

/** C follows a failure to read the start of a file with this line; the decoder brings its own trace. */
function errorLogLines(error: unknown): string[] {
  const withTrace = error as { logLines?: () => string[] };
  if (typeof withTrace?.logLines === 'function') return withTrace.logLines();
  if (error instanceof AsrestoreError) return [error.message];
  return [error instanceof Error ? error.message : String(error)];
}

/** Asks the coordinator to restore an index or UDF; resolves with its verdict. */
class MetadataChannel {
  private nextId = 1;
  private readonly waiting = new Map<number, (ok: boolean) => void>();

  constructor(private readonly port: MessagePort) {
    port.on('message', (reply: MetadataReply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply.ok);
    });
    port.on('close', () => {
      for (const resolve of this.waiting.values()) resolve(false);
      this.waiting.clear();
    });
  }

  send(request: MetadataRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never): Promise<boolean> {
    const id = this.nextId++;
    return new Promise<boolean>((resolve) => {
      this.waiting.set(id, resolve);
      this.port.postMessage({ ...request, id } as MetadataRequest);
    });
  }

  close(): void {
    this.port.close();
  }
}

/**
 * Bytes decoded before the records found are handed on (about two batches of 476-byte records).
 * The decoder copies only the one item straddling two slices.
 */
const DECODE_SLICE_BYTES = 128 * 1024;

/**
 * With the WebAssembly tier, the TypeScript decoder is warmed up (warmUpDecoder) once it has
 * decoded this many records itself, and at least a tenth of all: records the tier leaves to it
 * (another shape), not just the one per slice that two reads cut in two.
 */
const WARM_UP_AFTER_RECORDS = 2000;

/**
 * The units a thread restores at once take turns: one decodes a slice and hands its batches on
 * before the next decodes, so a thread never holds more than one slice of records waiting for
 * write slots, however many files it restores concurrently.
 */
let decodeTurn: Promise<void> = Promise.resolve();

async function withDecodeTurn(work: () => Promise<void>): Promise<void> {
  const previous = decodeTurn;
  let release!: () => void;
  decodeTurn = new Promise<void>((resolve) => (release = resolve));
  await previous;
  try {
    await work();
  } finally {
    release();
  }
}

export async function restoreFile(task: RestoreFileTask): Promise<RestoreFileResult> {
  const run = task.run;
  configureLog({ verbose: run.verbose });
  const counters = new Counters(run.countersBuffer);
  const control = run.controlBuffer;
  const result: RestoreFileResult = { path: task.path, ok: false, stopped: false, records: 0, bytesRead: 0 };
  const metadata = new MetadataChannel(task.metadataPort);
  if (isStopRequested(control)) {
    metadata.close();
    result.stopped = true;
    return result;
  }
  if (task.announce) inf(`restoring ${task.path}`);

  const writer = writerFor(run);
  let fatalLogged = false;
  const fatal = (error: unknown): void => {
    if (fatalLogged) return;
    fatalLogged = true;
    for (const line of errorLogLines(error)) err(line);
    result.error = toTaskError(error);
    requestStop(control);
  };
  const flags = restoreWriteFlags(run.policy);
  const batcher = new Batcher({
    client: writer.client,
    mode: run.mode,
    flags,
    retry: run.retry,
    counters,
    limit: writer.limit,
    ignoreRecordError: run.ignoreRecordError,
    onFatal: fatal,
  });
  const throttle = run.throttleBuffer === null ? null : new ThrottleGate(run.throttleBuffer, counters);
  const fanOut = task.writerPorts === undefined || task.writerPorts.length === 0 ? null : new BatchFanOut(task.writerPorts, run.maxAsyncBatches, writer.load, run.handOverWhenIdle);

  let opened = false;
  const onRawBytes = (bytes: number): void => {
    if (!opened) {
      opened = true;
      if (task.port === undefined) inf(`Opened backup file ${task.path}`);
    }
    result.bytesRead += bytes;
    counters.add(Counter.BYTES_READ, bytes);
  };
  const inputOptions = {
    compress: run.compress ?? undefined,
    encryption: run.encryption === null ? undefined : { algorithm: run.encryption.algorithm, key: Buffer.from(run.encryption.key) },
    onRawBytes,
    // Nothing outlives the chunk it was decoded from: each record's row is encoded inside the sink
    // call, UDF contents are copied before the next read, the decoder copies an incomplete item.
    transientChunks: true,
  };
  const input: OpenedBackupInput =
    task.port === undefined ? openBackupFile(task.path, inputOptions) : openBackupStream(chunksFromPort(task.port), task.path, inputOptions);
  const sink = new RestoreSink(run, task.path, writer.client, flags.batchRow);
  const fastRecords = sink.fastRecords();
  // The TypeScript decoder's warm-up pays off for the records it decodes itself: all of them
  // without the WebAssembly tier, else only once the tier leaves it a real share of them.
  let warmUpPending = !run.noRecords && (task.sizeHint === undefined || task.sizeHint >= WARM_UP_MIN_INPUT_BYTES);
  const warmUpIfDue = (): void => {
    if (!warmUpPending) return;
    if (fastRecords !== null) {
      const left = sink.total - fastRecords.taken;
      if (left < WARM_UP_AFTER_RECORDS || left * 10 < sink.total) return;
    }
    warmUpPending = false;
    // A sink like the real one whose rows go nowhere (no node: slot -1; its commands are dropped).
    warmUpDecoder({ countOnly: false, rows: new RestoreSink(run, 'warm-up', { routeOfDigest: () => -1 }, flags.batchRow) });
  };
  warmUpIfDue();
  const decoder = new AsbDecoder(sink, {
    file: task.path,
    sourceNamespace: run.namespace?.source,
    namespaceRemapped: run.namespace !== null && run.namespace.target !== null,
    transientInput: true,
    fastRecords,
  });

  let flushed = { total: 0, expired: 0, skipped: 0 };
  const flushCounts = (): void => {
    counters.add(Counter.RECORDS_TOTAL, sink.total - flushed.total);
    counters.add(Counter.RECORDS_EXPIRED, sink.expired - flushed.expired);
    counters.add(Counter.RECORDS_SKIPPED, sink.skipped - flushed.skipped);
    flushed = { total: sink.total, expired: sink.expired, skipped: sink.skipped };
  };

  /** Hands on what the last chunk produced, in file order; false when the run must stop. */
  const handOn = async (): Promise<boolean> => {
    const items = sink.pending.splice(0);
    for (const item of items) {
      if (batcher.failure !== null || isStopRequested(control)) return false;
      if (item.kind === 'batch') {
        if (fanOut !== null && (await fanOut.offer(item.command, batcher.pending))) {
          // Its bytes were copied to the writer's slot.
          recycleCommand(item.command);
          continue;
        }
        await batcher.submit(item.command);
      } else {
        const ok =
          item.kind === 'sindex'
            ? await metadata.send({ type: 'sindex', def: item.def, file: task.path })
            : await metadata.send({ type: 'udf', module: { ...item.module, content: Buffer.from(item.module.content) }, file: task.path });
        if (!ok) {
          result.error ??= { code: 'METADATA_RESTORE_FAILED', message: `restoring ${item.kind === 'sindex' ? 'a secondary index' : 'a UDF'} failed` };
          fatalLogged = true;
          return false;
        }
      }
    }
    if (sink.failure !== null) {
      batcher.fail(sink.failure);
      return false;
    }
    return true;
  };

  try {
    let stopped = false;
    for await (const chunk of input.chunks) {
      if (isStopRequested(control)) {
        stopped = true;
        break;
      }
      // Decode a slice at a time, and only while the process has room for more batches in flight:
      // records then live from their decoding to their answer only, young, instead of piling up
      // (and being tenured) while several files' chunks wait for write slots.
      for (let from = 0; from < chunk.length && !stopped; from += DECODE_SLICE_BYTES) {
        const slice = from === 0 && chunk.length <= DECODE_SLICE_BYTES ? chunk : chunk.subarray(from, from + DECODE_SLICE_BYTES);
        await withDecodeTurn(async () => {
          const room = writer.limit.whenRoom();
          if (room !== null) await room;
          sink.now = citrusleafNow();
          decoder.write(slice);
          flushCounts();
          warmUpIfDue();
          if (!(await handOn())) stopped = true;
        });
      }
      if (stopped) break;
      if (run.noRecords && sink.sawRecord) break;
      if (throttle !== null) {
        const turn = throttle.waitTurn();
        if (turn !== null) await turn;
      }
    }
    if (!stopped && !(run.noRecords && sink.sawRecord)) {
      if (!opened && task.port === undefined) {
        opened = true;
        inf(`Opened backup file ${task.path}`);
      }
      decoder.end();
      flushCounts();
    }
    if (!stopped) {
      sink.cut();
      if (!(await handOn())) stopped = true;
    }
    await batcher.drain();
    if (batcher.failure === null && result.error === undefined) {
      if (stopped || isStopRequested(control)) result.stopped = true;
      else {
        result.ok = true;
        counters.add(Counter.FILES_DONE, 1);
      }
    }
  } catch (error) {
    flushCounts();
    // Another unit's failure or an interrupt can surface here as a cancelled stream: stay quiet then.
    if (isStopRequested(control) && !(error instanceof AsrestoreError)) {
      result.stopped = true;
    } else {
      fatal(error);
    }
    await batcher.drain();
  } finally {
    fanOut?.end();
    sink.close();
    result.records = sink.total;
    metadata.close();
    await input.close().catch(() => undefined);
  }
  return result;
}
