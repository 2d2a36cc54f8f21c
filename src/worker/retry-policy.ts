/**
 * The backoff between attempts of a command that failed in a transient way (record-outcome.ts
 * verdict RETRY), as C asrestore 4.5.8 does it (retry_strategy.c `retry_status_next_delay`):
 *
 *   retry 1: at once; retry 2: s; retry 3: 2s; retry 4: 4s; ... retry n: 2^(n-2)·s
 *
 * with s = --retry-scale-factor (µs, default 150000) and at most --max-retries retries (default 5:
 * 6 attempts, delays 0, 150, 300, 600, 1200 ms). After that the restore stops with "Max batch-write
 * retries exceeded (N)" (or "Max key-put retries exceeded (N)" for single writes).
 *
 * There is no jitter, as in C. Retries of different batches are not synchronised anyway: each
 * batch's schedule starts at its own first failure.
 */
import { AsrestoreError } from '../shared/errors.js';

export interface RetryPolicy {
  /** --max-retries: how many times a command is sent again after its first attempt. */
  maxRetries: number;
  /** --retry-scale-factor in microseconds. */
  scaleFactorMicros: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { maxRetries: 5, scaleFactorMicros: 150_000 };

/** setTimeout fires at once for longer delays, so a delay is never longer than this. */
export const MAX_RETRY_DELAY_MS = 0x7fffffff;

/**
 * The delay in microseconds before retry number `retriesDone + 1`, or -1 when `retriesDone`
 * retries already used up the policy.
 */
export function retryDelayMicros(policy: RetryPolicy, retriesDone: number): number {
  if (retriesDone >= policy.maxRetries) return -1;
  if (retriesDone === 0) return 0;
  return Math.min(2 ** (retriesDone - 1) * policy.scaleFactorMicros, MAX_RETRY_DELAY_MS * 1000);
}

export type Sleep = (ms: number) => Promise<void>;

/** Timer-based sleep; a delay under 1 ms (a scale factor below 1000 µs) becomes a timer of 1 ms. */
export const timerSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The retry state of one command: a batch (its failed rows go again together) or a group of
 * single writes. The engine adds 1 to Counter.RETRIES for every retryable failure, including the
 * one that exhausts the retries (C's `retries:` in the progress line counts the same way).
 */
export class RetryState {
  /** Retries done so far. */
  retries = 0;

  constructor(
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    private readonly sleep: Sleep = timerSleep,
  ) {}

  /**
   * Call after a retryable failure. Waits out the next delay and resolves true when the command
   * may be sent again; resolves false at once when the retries are used up (then stop with
   * {@link retriesExhaustedError}).
   */
  async backoff(): Promise<boolean> {
    const delayMicros = retryDelayMicros(this.policy, this.retries);
    if (delayMicros < 0) return false;
    this.retries++;
    if (delayMicros > 0) await this.sleep(delayMicros / 1000);
    return true;
  }
}

/**
 * C's message when the retries ran out, plus the last failure when known (e.g. "TIMEOUT (9)").
 * `mode` is 'batch' for batch writes and 'single' for single-record writes.
 */
export function retriesExhaustedError(mode: 'batch' | 'single', retries: number, lastFailure?: string): AsrestoreError {
  const what = mode === 'batch' ? 'batch-write' : 'key-put';
  const last = lastFailure ? `; last error: ${lastFailure}` : '';
  return new AsrestoreError('RETRIES_EXHAUSTED', `Max ${what} retries exceeded (${retries})${last}`);
}
