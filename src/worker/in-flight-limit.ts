/**
 * The process-wide bound on batches in flight (--max-async-batches), shared by every worker thread
 * through a SharedArrayBuffer. Its own module: the coordinator creates the buffer without loading
 * the write path.
 */
import { waitWhileEqual } from '../shared/shared-wait.js';

const SLOT_USED = 0;
const SLOT_LIMIT = 1;
/** A waiter re-checks at least this often, so a lost wake-up can never hang a worker. */
const RECHECK_MS = 250;

/**
 * A counting semaphore in a SharedArrayBuffer (int32 used, int32 limit): every worker thread that
 * attaches to the same buffer shares the bound. Waiting is Atomics.waitAsync, so a waiting thread
 * keeps serving its sockets.
 */
export class InFlightLimit {
  static readonly BYTES = 8;
  private readonly cells: Int32Array;

  /** A new buffer allowing `limit` holders at once. */
  static createBuffer(limit: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(InFlightLimit.BYTES);
    Atomics.store(new Int32Array(buffer), SLOT_LIMIT, Math.max(1, Math.floor(limit)));
    return buffer;
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer, 0, 2);
  }

  get used(): number {
    return Atomics.load(this.cells, SLOT_USED);
  }

  get limit(): number {
    return Atomics.load(this.cells, SLOT_LIMIT);
  }

  /** Takes a place when one is free at once (true), else leaves everything as it was (false). */
  tryAcquire(): boolean {
    const limit = Atomics.load(this.cells, SLOT_LIMIT);
    for (;;) {
      const used = Atomics.load(this.cells, SLOT_USED);
      if (used >= limit) return false;
      if (Atomics.compareExchange(this.cells, SLOT_USED, used, used + 1) === used) return true;
    }
  }

  /** null when a place was taken at once; otherwise a promise that resolves once one is taken. */
  acquire(): Promise<void> | null {
    return this.tryAcquire() ? null : this.waitForPlace();
  }

  /** null when a place is free now; otherwise a promise that resolves once one is (nothing is taken). */
  whenRoom(): Promise<void> | null {
    return this.used < this.limit ? null : this.waitForRoom();
  }

  release(): void {
    Atomics.sub(this.cells, SLOT_USED, 1);
    // Every waiter re-checks (some only wait for room, some to take the place; losers wait again).
    Atomics.notify(this.cells, SLOT_USED);
  }

  private waitForRoom(): Promise<void> {
    return this.waitFor(false);
  }

  private waitForPlace(): Promise<void> {
    return this.waitFor(true);
  }

  /** Waits until a place is free, and takes it when `take` (racing waiters that lose wait again). */
  private async waitFor(take: boolean): Promise<void> {
    for (;;) {
      const used = Atomics.load(this.cells, SLOT_USED);
      if (used < Atomics.load(this.cells, SLOT_LIMIT)) {
        if (!take || this.tryAcquire()) return;
        continue;
      }
      const wait = waitWhileEqual(this.cells, SLOT_USED, used, RECHECK_MS);
      if (wait !== null) await wait;
    }
  }
}
