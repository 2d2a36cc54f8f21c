/**
 * Whether a thread is busy: its event-loop utilisation (the fraction of the time it ran code
 * rather than waiting for I/O) over a measurement window. A restore thread waiting on a cluster
 * that is the bottleneck shows 0.3-0.4 there, one that the cluster keeps up with 0.9-1.0. The
 * coordinator judges its worker threads with it (worker-placement.ts), a worker judges itself.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { AsrestoreError } from './errors.js';

/**
 * How the work is spread over the worker threads: `as-needed` (the default) opens a thread when
 * the open ones are busy; `always` uses every thread from the start (files evenly, a single
 * input's batches handed to every thread), as when the restorer is known to be the bottleneck.
 */
export type SpreadMode = 'as-needed' | 'always';
export const SPREAD_ENV = 'ASRESTORE_TS_SPREAD';

export function spreadModeFrom(env: NodeJS.ProcessEnv): SpreadMode {
  const value = env[SPREAD_ENV];
  if (value === undefined || value === '' || value === 'as-needed') return 'as-needed';
  if (value === 'always') return 'always';
  throw new AsrestoreError('ERR_SPREAD_MODE', `Invalid ${SPREAD_ENV} value '${value}': use 'as-needed' or 'always'`);
}

/** Event-loop utilisation from which a thread counts as busy. */
export const BUSY_UTILIZATION = 0.7;
/** The measurement window. */
export const LOAD_WINDOW_MS = 100;
/**
 * Time after a thread starts restoring during which its windows are not judged: connecting and
 * compiling the hot path read as busy (0.8-1.0 over the first ~0.4 s) whatever the cluster does.
 */
export const WARM_UP_MS = 500;

/**
 * The time each thread spent paused on purpose: blocked in `Atomics.wait` while it waited for an
 * in-flight place (in-flight-limit.ts says why). Its event loop counts that time as busy, but the
 * thread was waiting on the cluster, so load measurements take it out again. One slot per thread
 * (Int32 cells: the thread id + 1, the microseconds paused, wrapping at 2^32: differences over
 * short windows stay exact).
 */
export class PauseLedger {
  private readonly cells: Int32Array;
  private ownSlot = -2;

  static createBuffer(threads: number): SharedArrayBuffer {
    return new SharedArrayBuffer(8 * Math.max(1, Math.floor(threads)));
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer);
  }

  /** Adds `ms` paused by the current thread (not recorded when every slot is taken by others). */
  add(ms: number): void {
    if (this.ownSlot === -2) this.ownSlot = this.claimSlot(threadId + 1);
    if (this.ownSlot >= 0) Atomics.add(this.cells, this.ownSlot + 1, Math.round(ms * 1000) | 0);
  }

  /** Microseconds paused so far by thread `id` (modulo 2^32); 0 for a thread that never paused. */
  pausedMicros(id: number): number {
    for (let i = 0; i < this.cells.length; i += 2) if (Atomics.load(this.cells, i) === id + 1) return Atomics.load(this.cells, i + 1) >>> 0;
    return 0;
  }

  private claimSlot(key: number): number {
    for (let i = 0; i < this.cells.length; i += 2) {
      const held = Atomics.compareExchange(this.cells, i, 0, key);
      if (held === 0 || held === key) return i;
    }
    return -1;
  }
}

/** Milliseconds between two readings of {@link PauseLedger.pausedMicros}. */
export function pausedBetween(beforeMicros: number, afterMicros: number): number {
  return ((afterMicros - beforeMicros) >>> 0) / 1000;
}

/** Event-loop utilisation over a window with `pausedMs` of it spent paused on purpose. */
export function utilizationNetOfPauses(utilization: EventLoopUtilization, pausedMs: number): number {
  const total = utilization.idle + utilization.active;
  return total <= 0 ? 0 : Math.max(0, utilization.active - pausedMs) / total;
}

/** What a thread knows of its own load (a {@link ThreadLoadGauge}). */
export interface ThreadLoad {
  readonly state: 'warming-up' | 'busy' | 'room';
  recordPause(ms: number): void;
}

/** The current thread's own verdict, measured on demand (no timer). */
export class ThreadLoadGauge implements ThreadLoad {
  private last = performance.eventLoopUtilization();
  private lastAt = performance.now();
  private readonly judgedFrom = this.lastAt + WARM_UP_MS;
  private verdict: 'warming-up' | 'busy' | 'room' = 'warming-up';
  /** Milliseconds this thread paused on purpose, in all and at the last reading. */
  private pausedMs = 0;
  private lastPausedMs = 0;

  /** `pauses`: where this thread's pauses are also recorded for the coordinator's measurements. */
  constructor(private readonly pauses: PauseLedger | null = null) {}

  /**
   * The verdict of the last whole window after the warm-up (each call re-measures at most once a
   * window): busy, or with room to spare; until one was judged, warming up.
   */
  get state(): 'warming-up' | 'busy' | 'room' {
    const now = performance.now();
    if (now - this.lastAt >= LOAD_WINDOW_MS) {
      const current = performance.eventLoopUtilization();
      if (this.lastAt >= this.judgedFrom) {
        const window = performance.eventLoopUtilization(current, this.last);
        this.verdict = utilizationNetOfPauses(window, this.pausedMs - this.lastPausedMs) >= BUSY_UTILIZATION ? 'busy' : 'room';
      }
      this.last = current;
      this.lastAt = now;
      this.lastPausedMs = this.pausedMs;
    }
    return this.verdict;
  }

  isBusy(): boolean {
    return this.state === 'busy';
  }

  /** This thread paused on purpose for `ms` (time its event loop counts as busy, but was not). */
  recordPause(ms: number): void {
    this.pausedMs += ms;
    this.pauses?.add(ms);
  }
}
