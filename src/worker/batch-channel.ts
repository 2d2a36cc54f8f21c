/**
 * Fan-out of one input's batches over several worker threads: a single `-i` file (or stdin) is
 * decoded by one worker (the stream cannot be split), and its batches are written by that worker
 * and by the others, each with its own connections and event loop, so one big file is not limited
 * to one thread's write capacity.
 *
 * The decoding side ({@link BatchFanOut}) copies each encoded command it hands over (its bytes,
 * row offsets and row lines: batch-command.ts) into a slot of shared memory it gave the writer once
 * at the start, and tells the writer which slot; the writing side ({@link writeBatches}, a worker
 * task of its own) submits the command, its bytes a view of the slot, to its Batcher (the
 * process-wide in-flight bound holds across both threads) and hands the slot back once the command
 * is resolved. Messages stay tiny: transferring or cloning a fresh buffer per command costs far
 * more than the copy into the slot. A command too big for a slot goes as a transferred buffer of
 * its own. Each writer has `maxOutstanding` slots, the bound on the commands it holds.
 *
 * Layout of a handed-over command (4-byte aligned, host byte order for the u32 arrays):
 *   u32 rowCount, u32 byteLength, i32 routing slot, u32 rowOffsets[rowCount + 1],
 *   u32 lines[rowCount], the command's bytes.
 */
import type { MessagePort } from 'node:worker_threads';
import type { EncodedCommand } from '../shared/aerospike/batch-command.js';
import { Counters } from '../shared/counters.js';
import { isStopRequested, requestStop } from '../shared/run-control.js';
import { ThreadLoadGauge } from '../shared/thread-load.js';
import { configureLog, err, ver } from '../main/log.js';
import { Batcher } from './batcher.js';
import type { RestoreRunSettings } from './restore-task.js';
import { toTaskError, type TaskError } from './validate-task.js';
import { restoreWriteFlags } from './write-policy.js';
import { writerFor } from './writer-context.js';

/** Room for a command of 128 rows of up to ~4 KiB each. */
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

const HEADER_WORDS = 3;

/** Bytes a command takes when handed over. */
export function handedOverSize(command: EncodedCommand): number {
  return 4 * (HEADER_WORDS + command.rowCount + 1 + command.rowCount) + command.bytes.length;
}

/** Copies `command` into `memory` (at least {@link handedOverSize} bytes); returns the bytes written. */
export function handOverInto(memory: SharedArrayBuffer | ArrayBuffer, command: EncodedCommand): number {
  const rows = command.rowCount;
  const words = new Uint32Array(memory, 0, HEADER_WORDS + rows + 1 + rows);
  words[0] = rows;
  words[1] = command.bytes.length;
  words[2] = command.slot >>> 0;
  words.set(command.rowOffsets.subarray(0, rows + 1), HEADER_WORDS);
  words.set(command.lines.subarray(0, rows), HEADER_WORDS + rows + 1);
  const start = words.byteLength;
  new Uint8Array(memory, start, command.bytes.length).set(command.bytes);
  return start + command.bytes.length;
}

/** The command handed over in `memory`: every part a view of it (valid while the memory is unchanged). */
export function takeOver(memory: SharedArrayBuffer | ArrayBuffer, file: string): EncodedCommand {
  const header = new Uint32Array(memory, 0, HEADER_WORDS);
  const rows = header[0];
  const length = header[1];
  const start = 4 * (HEADER_WORDS + rows + 1 + rows);
  return {
    bytes: Buffer.from(memory, start, length),
    rowCount: rows,
    rowOffsets: new Uint32Array(memory, 4 * HEADER_WORDS, rows + 1),
    lines: new Uint32Array(memory, 4 * (HEADER_WORDS + rows + 1), rows),
    file,
    slot: header[2] | 0,
  };
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
  /** This (the decoding) thread's load: batches go elsewhere only while it is busy. */
  private readonly load: ThreadLoadGauge;

  constructor(
    ports: readonly MessagePort[],
    private readonly maxOutstanding: number,
    /** This thread's load (default: a gauge of its own). */
    load: ThreadLoadGauge | null = null,
    /** Hand over while this thread has time to spare too. */
    private readonly handOverWhenIdle = false,
  ) {
    this.load = load ?? new ThreadLoadGauge();
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
   * Hands the command to a remote writer when this thread is busy and a writer is less loaded than
   * the local side (whose `localPending` commands count double: this thread also decodes); resolves
   * false when the caller should write it itself. While this thread has time to spare, handing
   * over would only add another thread's wake-ups and compiling (worker-placement.ts says more).
   */
  async offer(command: EncodedCommand, localPending: number): Promise<boolean> {
    if (!this.handOverWhenIdle && !this.load.isBusy()) return false;
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
    const size = handedOverSize(command);
    best.outstanding++;
    if (size <= SLOT_BYTES && best.free.length > 0) {
      const slot = best.free.pop()!;
      const length = handOverInto(best.slots[slot], command);
      best.port.postMessage({ type: 'slot', slot, length, file: command.file } satisfies ToWriter);
    } else {
      const buffer = new ArrayBuffer(size);
      handOverInto(buffer, command);
      best.port.postMessage({ type: 'buffer', buffer, file: command.file } satisfies ToWriter, [buffer]);
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
    const command = takeOver(message.type === 'slot' ? slots[slot] : message.buffer, message.file);
    result.batches++;
    result.records += command.rowCount;
    await batcher.submit(command, () => acknowledge(slot));
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
