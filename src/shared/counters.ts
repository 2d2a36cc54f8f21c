/**
 * The one layout of the run's counters: a SharedArrayBuffer of int64 slots that every worker adds
 * to with Atomics and the coordinator reads for log lines, --machine lines, progress and metrics.
 * Workers should add per batch or per chunk, not per byte.
 */
export const Counter = {
  /** Records decoded (expired and skipped included; in validate mode, all records). */
  RECORDS_TOTAL: 0,
  RECORDS_EXPIRED: 1,
  RECORDS_SKIPPED: 2,
  /** Record-specific errors counted and, with --ignore-record-error, passed over ("err_ignored"). */
  RECORDS_IGNORED: 3,
  RECORDS_INSERTED: 4,
  RECORDS_EXISTED: 5,
  RECORDS_FRESHER: 6,
  INDEXES: 7,
  UDFS: 8,
  INDEXES_SKIPPED: 9,
  INDEXES_MATCHED: 10,
  INDEXES_MISMATCHED: 11,
  RETRIES: 12,
  /** Bytes consumed from the (compressed/encrypted) inputs. */
  BYTES_READ: 13,
  /** Sum of input sizes for the progress estimate; 0 when unknown (stdin). */
  BYTES_ESTIMATED: 14,
  /** Records handed to the writer and not yet resolved to one of the outcome counters. */
  RECORDS_IN_FLIGHT: 15,
  FILES_DONE: 16,
} as const;
export type Counter = (typeof Counter)[keyof typeof Counter];

export const COUNTER_SLOTS = 32;

export class Counters {
  readonly view: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(COUNTER_SLOTS * 8)) {
    this.view = new BigInt64Array(buffer);
  }

  add(counter: Counter, n: number | bigint): void {
    if (n === 0) return;
    Atomics.add(this.view, counter, typeof n === 'bigint' ? n : BigInt(n));
  }

  set(counter: Counter, n: number | bigint): void {
    Atomics.store(this.view, counter, typeof n === 'bigint' ? n : BigInt(n));
  }

  get(counter: Counter): number {
    return Number(Atomics.load(this.view, counter));
  }

  /** A consistent-enough copy of every slot for one report line. */
  snapshot(): number[] {
    const out = new Array<number>(COUNTER_SLOTS);
    for (let i = 0; i < COUNTER_SLOTS; i++) out[i] = Number(Atomics.load(this.view, i));
    return out;
  }
}
