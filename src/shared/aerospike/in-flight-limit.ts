/**
 * A process-wide bound on commands in flight, shared by every thread that writes through a
 * SharedArrayBuffer (the restore's --max-async-batches), and how a thread waits for a place. Its
 * own module: the coordinator creates the buffer without loading the write path.
 */
import { performance } from 'node:perf_hooks';
import { waitWhileEqual } from '../shared-wait.js';
import type { ThreadLoad } from '../thread-load.js';

const SLOT_USED = 0;
const SLOT_LIMIT = 1;
/** A waiter re-checks at least this often, so a lost wake-up can never hang a worker. */
const RECHECK_MS = 250;

/**
 * Pausing a thread that waits for a place. With every place taken and the thread mostly idle (its
 * load gauge says it has room), the cluster is the bottleneck and the thread has nothing to do
 * until answers come back; left to its event loop it would wake for nearly every answer, each time
 * on caches the cluster's processes have filled. Blocked for a moment instead (Atomics.wait, which
 * another thread's release ends early), it finds several answers waiting and handles them in one
 * go. The pause is a share of the time this thread's own commands take to come back (places held
 * x the mean time between its answers, Little's law), so that the cluster keeps most of its queue,
 * and at most maxMs; below minMs it is skipped, and so it is while the thread holds fewer than
 * minHeld places (the cluster would run dry while the thread sleeps on the answers it has). A busy
 * thread never pauses: there the waits are short and the time is better spent decoding.
 */
export const PAUSE = { share: 0.25, minMs: 1, maxMs: 10, minHeld: 8 } as const;
/** Weight of the newest gap in the running mean of the gaps between answers. */
const GAP_WEIGHT = 0.2;
/** Longer gaps (an idle spell) count as this long. */
const MAX_GAP_MS = 50;

/**
 * A counting semaphore in a SharedArrayBuffer (int32 used, int32 limit): every worker thread that
 * attaches to the same buffer shares the bound. Waiting is Atomics.waitAsync, so a waiting thread
 * keeps serving its sockets (after its pause, when it takes one: see PAUSE).
 */
export class InFlightLimit {
  static readonly BYTES = 8;
  private readonly cells: Int32Array;
  /** Places taken through this instance (one instance per thread) and not released. */
  private held = 0;
  private lastReleaseAt = -1;
  /** Running mean of the milliseconds between this instance's releases (0: not known yet). */
  private answerGapMs = 0;

  /** A new buffer allowing `limit` holders at once. */
  static createBuffer(limit: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(InFlightLimit.BYTES);
    Atomics.store(new Int32Array(buffer), SLOT_LIMIT, Math.max(1, Math.floor(limit)));
    return buffer;
  }

  /** `load`: this thread's load gauge; without one the thread never pauses. */
  constructor(
    readonly buffer: SharedArrayBuffer,
    private readonly load: ThreadLoad | null = null,
  ) {
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
      if (Atomics.compareExchange(this.cells, SLOT_USED, used, used + 1) === used) {
        this.held++;
        return true;
      }
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
    this.held = Math.max(0, this.held - 1);
    const now = performance.now();
    if (this.lastReleaseAt >= 0) {
      const gap = Math.min(MAX_GAP_MS, now - this.lastReleaseAt);
      this.answerGapMs = this.answerGapMs === 0 ? gap : this.answerGapMs + GAP_WEIGHT * (gap - this.answerGapMs);
    }
    this.lastReleaseAt = now;
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

  /** How long a thread that finds every place taken pauses (0: not at all). */
  get pauseMs(): number {
    if (this.held < PAUSE.minHeld) return 0;
    const ms = Math.min(PAUSE.maxMs, PAUSE.share * this.held * this.answerGapMs);
    return ms >= PAUSE.minMs ? ms : 0;
  }

  /** Waits until a place is free, and takes it when `take` (racing waiters that lose wait again). */
  private async waitFor(take: boolean): Promise<void> {
    const pause = this.pauseMs;
    if (pause > 0 && this.load !== null && this.load.state === 'room') {
      const used = Atomics.load(this.cells, SLOT_USED);
      if (used >= Atomics.load(this.cells, SLOT_LIMIT)) {
        const start = performance.now();
        Atomics.wait(this.cells, SLOT_USED, used, pause);
        this.load.recordPause(performance.now() - start);
      }
    }
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
