/**
 * Fan-out of one input's batches over several worker threads: a single `-i` file (or stdin) is
 * decoded by one worker (the stream cannot be split), and its batches are written by that worker
 * and by the others, each with its own connections and event loop, so one big file is not limited
 * to one thread's write capacity.
 *
 * The decoding side ({@link BatchFanOut}) packs each batch it hands over (record-pack.ts) into a
 * slot of shared memory it gave the writer once at the start, and tells the writer which slot;
 * the writing side ({@link writeBatches}, a worker task of its own) unpacks the records as views of
 * the slot into its Batcher (the process-wide in-flight bound holds across both threads) and hands
 * the slot back once the batch is resolved. Messages stay tiny: transferring or cloning a fresh
 * buffer per batch costs far more than the copy into the slot. A batch too big for a slot goes as
 * a transferred buffer of its own. Each writer has `maxOutstanding` slots, the bound on the
 * batches it holds.
 */
import type { MessagePort } from 'node:worker_threads';
import type { AsbRecord } from '../shared/asb/types.js';
import { Counters } from '../shared/counters.js';
import { isStopRequested, requestStop } from '../shared/run-control.js';
import { configureLog, err, ver } from '../main/log.js';
import { Batcher } from './batcher.js';
import { packInto, packRecords, packedSize, unpackRecords } from './record-pack.js';
import type { RestoreRunSettings } from './restore-task.js';
import { toTaskError, type TaskError } from './validate-task.js';
import { restoreWriteFlags } from './write-policy.js';
import { writerFor } from './writer-context.js';

/** Room for a batch of 128 records of up to ~4 KiB each. */
const SLOT_BYTES = 512 * 1024;

type ToWriter =
  | { type: 'slots'; slots: SharedArrayBuffer[] }
  | { type: 'slot'; slot: number; length: number; file: string }
  | { type: 'buffer'; buffer: ArrayBuffer; file: string }
  | { type: 'end' };
/** Batches resolved: the slots they used (-1 for one sent as its own buffer). */
type ToDecoder = { type: 'done'; slots: number[] };

export interface WriteBatchesTask {
  kind: 'write-batches';
  run: RestoreRunSettings;
  /** The channel from the decoding worker. */
  port: MessagePort;
}

export interface WriteBatchesResult {
  path: string;
  ok: boolean;
  stopped: boolean;
  records: number;
  bytesRead: number;
  batches: number;
  error?: TaskError;
}

interface Writer {
  port: MessagePort;
  slots: SharedArrayBuffer[];
  /** Indices of the slots not in use. */
  free: number[];
  /** Batches handed to this writer and not yet acknowledged. */
  outstanding: number;
  /** Its task ended (or died): it takes no more batches. */
  closed: boolean;
}

export class BatchFanOut {
  private readonly writers: Writer[];
  private wake: (() => void) | null = null;

  constructor(
    ports: readonly MessagePort[],
    private readonly maxOutstanding: number,
  ) {
    this.writers = ports.map((port) => {
      const slots = Array.from({ length: Math.max(1, maxOutstanding) }, () => new SharedArrayBuffer(SLOT_BYTES));
      const writer: Writer = { port, slots, free: slots.map((_, i) => i), outstanding: 0, closed: false };
      port.postMessage({ type: 'slots', slots } satisfies ToWriter);
      port.on('message', (message: ToDecoder) => {
        if (message.type !== 'done') return;
        for (const slot of message.slots) if (slot >= 0) writer.free.push(slot);
        writer.outstanding -= message.slots.length;
        this.notify();
      });
      port.on('close', () => {
        writer.closed = true;
        this.notify();
      });
      return writer;
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The open writer with the fewest unacknowledged batches, or null when none is open. */
  private leastLoaded(): Writer | null {
    let best: Writer | null = null;
    for (const writer of this.writers) if (!writer.closed && (best === null || writer.outstanding < best.outstanding)) best = writer;
    return best;
  }

  /**
   * Hands the batch to a remote writer when one is less loaded than the local side (whose
   * `localPending` batches count double: that thread also decodes); resolves false when the
   * caller should write it itself.
   */
  async offer(records: AsbRecord[], ttls: Uint32Array, file: string, localPending: number): Promise<boolean> {
    let best = this.leastLoaded();
    if (best === null) return false;
    if (best.outstanding >= localPending * 2 + 1 && localPending < this.maxOutstanding) return false;
    while (best.outstanding >= this.maxOutstanding) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      best = this.leastLoaded();
      if (best === null) return false;
    }
    const size = packedSize(records);
    best.outstanding++;
    if (size <= SLOT_BYTES && best.free.length > 0) {
      const slot = best.free.pop()!;
      const length = packInto(new Uint8Array(best.slots[slot], 0, size), records, ttls);
      best.port.postMessage({ type: 'slot', slot, length, file } satisfies ToWriter);
    } else {
      const buffer = packRecords(records, ttls);
      best.port.postMessage({ type: 'buffer', buffer, file } satisfies ToWriter, [buffer]);
    }
    return true;
  }

  /** Tells every writer that no more batches come; they finish theirs and end their tasks. */
  end(): void {
    for (const writer of this.writers) {
      if (writer.closed) continue;
      writer.closed = true;
      writer.port.postMessage({ type: 'end' } satisfies ToWriter);
      setImmediate(() => writer.port.close());
    }
  }
}

/** The writing side: a worker task that writes the batches it is sent until `end`. */
export async function writeBatches(task: WriteBatchesTask): Promise<WriteBatchesResult> {
  const run = task.run;
  configureLog({ verbose: run.verbose });
  const counters = new Counters(run.countersBuffer);
  const control = run.controlBuffer;
  const result: WriteBatchesResult = { path: '(batch writer)', ok: false, stopped: false, records: 0, bytesRead: 0, batches: 0 };
  const writer = writerFor(run);
  const batcher = new Batcher({
    client: writer.client,
    mode: run.mode,
    flags: restoreWriteFlags(run.policy),
    retry: run.retry,
    counters,
    limit: writer.limit,
    ignoreRecordError: run.ignoreRecordError,
    onFatal: (error) => {
      for (const line of error.message.split('\n')) err(line);
      result.error = toTaskError(error);
      requestStop(control);
    },
  });

  const port = task.port;
  const queue: ToWriter[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  port.on('message', (message: ToWriter) => {
    queue.push(message);
    notify();
  });
  port.on('close', () => {
    closed = true;
    notify();
  });

  // Acknowledgements go back together, once per turn of the event loop.
  let resolvedSlots: number[] = [];
  const acknowledge = (slot: number): void => {
    resolvedSlots.push(slot);
    if (resolvedSlots.length > 1) return;
    setImmediate(() => {
      const slots = resolvedSlots;
      resolvedSlots = [];
      port.postMessage({ type: 'done', slots } satisfies ToDecoder);
    });
  };
  let slots: SharedArrayBuffer[] = [];

  let ended = false;
  while (!ended) {
    while (queue.length === 0 && !closed) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    const message = queue.shift();
    if (message === undefined) break;
    if (message.type === 'end') {
      ended = true;
      break;
    }
    if (message.type === 'slots') {
      slots = message.slots;
      continue;
    }
    const slot = message.type === 'slot' ? message.slot : -1;
    const { records, ttls } = unpackRecords(message.type === 'slot' ? new Uint8Array(slots[slot], 0, message.length) : message.buffer);
    result.batches++;
    result.records += records.length;
    await batcher.submit({ records, ttls, file: message.file, onDone: () => acknowledge(slot) });
  }
  await batcher.drain();
  port.close();
  ver(`Batch writer wrote ${result.records} record(s) in ${result.batches} batch(es)`);
  if (result.error === undefined && batcher.failure === null) {
    if (!ended || isStopRequested(control)) result.stopped = true;
    else result.ok = true;
  }
  return result;
}
