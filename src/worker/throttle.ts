/**
 * `--nice <MiB/s>,<TPS>`: caps the rate at which backup input is consumed, in input bytes (the
 * compressed/encrypted size, Counter.BYTES_READ) and in decoded records (Counter.RECORDS_TOTAL,
 * expired and skipped included), as C asrestore 4.5.8 does (restore.c: the counter thread raises
 * `bytes_limit`/`records_limit` every second; a worker blocks while `total_bytes >= bytes_limit` or
 * `total_records >= records_limit`). Both limits start at one second's worth.
 *
 * Built for many worker threads: the two limits, a tick generation and a stop flag live in a small
 * SharedArrayBuffer of their own (THROTTLE_BUFFER_BYTES; layout below). The coordinator owns a
 * {@link ThrottleController} and calls `tick()` once a second (or `start()` for its own timer); each
 * worker builds a {@link ThrottleGate} over the same buffer and the run's counters, and awaits
 * `waitTurn()` after each chunk or batch it accounts. A waiting worker sleeps in
 * `Atomics.waitAsync` on the tick generation: no busy loop, and its event loop keeps running.
 *
 * Differences from C, on purpose:
 * - C adds `rate * 1000 / elapsed_ms` per tick (a late tick grants *less*); we add
 *   `rate * elapsed_ms / 1000`. Equal for the usual 1-second tick.
 * - C banks unused allowance without bound, so after a slow phase (e.g. a slow disk) workers may
 *   burst far above the rate. We bank at most one second ahead of what was consumed.
 * - C's wait condition ignores the stop flag for the bytes limit (operator precedence); here
 *   `stop()` releases every waiter.
 * Workers account per chunk or batch, not per record, so a worker may overshoot a limit by one
 * chunk; the overshoot is paid back by waiting longer (the average rate holds).
 */
import { AsrestoreError } from '../shared/errors.js';
import { Counter, type Counters } from '../shared/counters.js';
import { waitWhileEqual } from '../shared/shared-wait.js';

/**
 * Layout of the throttle buffer:
 *   bytes 0..7   int64  bytes limit (total input bytes allowed so far)
 *   bytes 8..15  int64  records limit (total records allowed so far)
 *   bytes 16..19 int32  tick generation: bumped and notified on every raise and on stop
 *   bytes 20..23 int32  stopped flag (1 = throttling is over; nobody waits any more)
 */
export const THROTTLE_BUFFER_BYTES = 24;
const LIMIT_BYTES = 0;
const LIMIT_RECORDS = 1;
const STATE_INT32_OFFSET = 4; // int32 index of byte 16
const TICK = STATE_INT32_OFFSET;
const STOPPED = STATE_INT32_OFFSET + 1;

/** A waiter re-checks at least this often, so a missed wake-up can never hang a worker. */
const WAIT_RECHECK_MS = 1000;

export interface NiceLimits {
  /** Input bytes per second (MiB/s × 1048576). */
  bytesPerSecond: number;
  /** Decoded records per second. */
  recordsPerSecond: number;
}

/** Parses `--nice <MiB/s>,<TPS>` (both integers ≥ 1), with C's error messages. */
export function parseNiceOption(text: string): NiceLimits {
  const items = text.split(',');
  if (items.length !== 2) throw new AsrestoreError('INVALID_OPTIONS', 'Invalid nice option');
  const [bandwidth, tps] = items as [string, string];
  const mebibytes = strictPositiveInteger(bandwidth);
  // The byte rate must stay an exact JS number.
  if (mebibytes === null || mebibytes * 1048576 > Number.MAX_SAFE_INTEGER) {
    throw new AsrestoreError('INVALID_OPTIONS', `Invalid bandwidth value ${bandwidth}`);
  }
  const records = strictPositiveInteger(tps);
  if (records === null || records > 0xffffffff) {
    throw new AsrestoreError('INVALID_OPTIONS', `Invalid TPS value ${tps}`);
  }
  return { bytesPerSecond: mebibytes * 1048576, recordsPerSecond: records };
}

function strictPositiveInteger(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\+?\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) && value >= 1 ? value : null;
}

function views(buffer: SharedArrayBuffer): { limits: BigInt64Array; state: Int32Array } {
  if (buffer.byteLength < THROTTLE_BUFFER_BYTES) {
    throw new RangeError(`throttle buffer needs ${THROTTLE_BUFFER_BYTES} bytes, got ${buffer.byteLength}`);
  }
  return { limits: new BigInt64Array(buffer, 0, 2), state: new Int32Array(buffer, 0, STATE_INT32_OFFSET + 2) };
}

/** The coordinator's side: raises the allowances and wakes the waiting workers. */
export class ThrottleController {
  readonly buffer: SharedArrayBuffer;
  private readonly limits: BigInt64Array;
  private readonly state: Int32Array;
  private lastTickMs: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly rates: NiceLimits,
    private readonly counters: Counters,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(rates.bytesPerSecond >= 1) || !(rates.recordsPerSecond >= 1)) {
      throw new RangeError('--nice rates must be at least 1');
    }
    this.buffer = new SharedArrayBuffer(THROTTLE_BUFFER_BYTES);
    ({ limits: this.limits, state: this.state } = views(this.buffer));
    Atomics.store(this.limits, LIMIT_BYTES, BigInt(Math.floor(rates.bytesPerSecond)));
    Atomics.store(this.limits, LIMIT_RECORDS, BigInt(Math.floor(rates.recordsPerSecond)));
    this.lastTickMs = clock();
  }

  /** Raises both allowances by what the time since the last tick is worth, and wakes the waiters. */
  tick(): void {
    const now = this.clock();
    const elapsedMs = Math.max(0, now - this.lastTickMs);
    this.lastTickMs = now;
    this.raise(LIMIT_BYTES, this.rates.bytesPerSecond, this.counters.get(Counter.BYTES_READ), elapsedMs);
    this.raise(LIMIT_RECORDS, this.rates.recordsPerSecond, this.counters.get(Counter.RECORDS_TOTAL), elapsedMs);
    this.wake();
  }

  private raise(slot: number, perSecond: number, consumed: number, elapsedMs: number): void {
    const limit = Number(Atomics.load(this.limits, slot));
    const raised = limit + Math.floor((perSecond * elapsedMs) / 1000);
    const banked = Math.min(raised, consumed + perSecond);
    Atomics.store(this.limits, slot, BigInt(Math.max(limit, banked)));
  }

  /** Calls `tick()` every `intervalMs` on an unref'd timer until `stop()`. */
  start(intervalMs = 1000): void {
    if (this.timer) return;
    this.lastTickMs = this.clock();
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** Ends throttling for good: every present and future waiter goes on at once. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    Atomics.store(this.state, STOPPED, 1);
    this.wake();
  }

  private wake(): void {
    Atomics.add(this.state, TICK, 1);
    Atomics.notify(this.state, TICK);
  }
}

/** A worker's side: waits while the consumed totals are at or above the allowances. */
export class ThrottleGate {
  private readonly limits: BigInt64Array;
  private readonly state: Int32Array;

  /** `buffer` is the controller's `buffer`; `counters` views the run's counter buffer. */
  constructor(buffer: SharedArrayBuffer, private readonly counters: Counters) {
    ({ limits: this.limits, state: this.state } = views(buffer));
  }

  /** True while this worker must not consume more input. */
  mustWait(): boolean {
    if (Atomics.load(this.state, STOPPED) !== 0) return false;
    return (
      this.counters.get(Counter.BYTES_READ) >= Number(Atomics.load(this.limits, LIMIT_BYTES)) ||
      this.counters.get(Counter.RECORDS_TOTAL) >= Number(Atomics.load(this.limits, LIMIT_RECORDS))
    );
  }

  /**
   * null when the worker may go on (the common case: no promise is made); otherwise a promise that
   * resolves once the allowances are above the consumed totals again, or throttling stopped.
   */
  waitTurn(): Promise<void> | null {
    return this.mustWait() ? this.waitUntilAllowed() : null;
  }

  private async waitUntilAllowed(): Promise<void> {
    for (;;) {
      // Read the generation before checking, so a tick between the check and the wait is not lost.
      const generation = Atomics.load(this.state, TICK);
      if (!this.mustWait()) return;
      const wait = waitWhileEqual(this.state, TICK, generation, WAIT_RECHECK_MS);
      if (wait !== null) await wait;
    }
  }
}
