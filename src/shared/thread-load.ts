/**
 * Whether a thread is busy: its event-loop utilisation (the fraction of the time it ran code
 * rather than waiting for I/O) over a measurement window. A restore thread waiting on a cluster
 * that is the bottleneck shows 0.3-0.4 there, one that the cluster keeps up with 0.9-1.0. The
 * coordinator judges its worker threads with it (worker-placement.ts), a worker judges itself.
 */
import { performance } from 'node:perf_hooks';
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

/** The current thread's own verdict, measured on demand (no timer). */
export class ThreadLoadGauge {
  private last = performance.eventLoopUtilization();
  private lastAt = performance.now();
  private readonly judgedFrom = this.lastAt + WARM_UP_MS;
  private busy = false;

  /** Busy in the last whole window after the warm-up (not busy until one was judged). */
  isBusy(): boolean {
    const now = performance.now();
    if (now - this.lastAt >= LOAD_WINDOW_MS) {
      const current = performance.eventLoopUtilization();
      if (this.lastAt >= this.judgedFrom) this.busy = performance.eventLoopUtilization(current, this.last).utilization >= BUSY_UTILIZATION;
      this.last = current;
      this.lastAt = now;
    }
    return this.busy;
  }
}
