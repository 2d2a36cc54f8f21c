/**
 * Which worker thread restores the next backup file.
 *
 * Spreading files evenly over all threads is right when the restorer is the bottleneck, and wrong
 * when the cluster is: then every thread sleeps until the cluster answers and wakes for nearly
 * every answer, each thread on cold caches and each compiling the hot path for itself. On this
 * project's 2-core benchmark (the test cluster shares the cores) one thread restoring all seven
 * files spent 2.8-3.7 CPU-s per million records where two threads spent 4.2-5.0, and finished
 * sooner. So files go to the first thread until it is busy, then to the next one: a thread takes
 * one more file only after its event loop was seen with room to spare at its current number of
 * files, and another thread is opened only when every opened one is busy.
 *
 * "Busy" is judged from the event-loop utilisation over measurement windows (thread-load.ts): one
 * window below the threshold shows room, BUSY_WINDOWS in a row at or above it show a busy thread
 * (one busy window alone can be a collection or a compile: on the benchmark, single windows at
 * 0.73-1.00 opened a second thread that the next windows showed was not needed). A window counts
 * only when the thread's number of files did not change during it, and not within the warm-up of
 * the thread's first file. A thread once opened has paid its costs: when it has no
 * file left, it takes the next one first.
 *
 * This class only decides; the caller measures (worker-pool.ts) and starts the files.
 */

import { BUSY_UTILIZATION, WARM_UP_MS } from '../shared/thread-load.js';

/** Windows in a row at or above the threshold that make a thread busy. */
export const BUSY_WINDOWS = 2;

interface ThreadLoad {
  /** Files placed on the thread and not finished. */
  files: number;
  /** The most files it was seen to carry with room to spare (0: never seen so). */
  fits: number;
  /** A file was placed beyond `fits` and no window has judged the thread since. */
  probing: boolean;
  /** When `files` last changed. */
  changedAt: number;
  /** Windows that start before this are not judged (the warm-up of its first file). */
  judgedFrom: number;
  /** The utilisation of the last window judged (NaN: none yet). */
  lastJudged: number;
  /** Windows in a row at or above the threshold since `files` last changed. */
  busyWindows: number;
  started: boolean;
}

export interface PlacementOptions {
  threads: number;
  busyUtilization?: number;
  warmUpMs?: number;
}

export class WorkerPlacement {
  private readonly loads: ThreadLoad[];
  private readonly busyUtilization: number;
  private readonly warmUpMs: number;
  private waiters: ((thread: number | null) => void)[] = [];

  constructor(options: PlacementOptions) {
    this.busyUtilization = options.busyUtilization ?? BUSY_UTILIZATION;
    this.warmUpMs = options.warmUpMs ?? WARM_UP_MS;
    this.loads = Array.from({ length: Math.max(1, Math.floor(options.threads)) }, () => ({
      files: 0,
      fits: 0,
      probing: false,
      changedAt: -Infinity,
      judgedFrom: Infinity,
      lastJudged: NaN,
      busyWindows: 0,
      started: false,
    }));
  }

  get threads(): number {
    return this.loads.length;
  }

  /** Files on each thread (for tests and logs). */
  get files(): number[] {
    return this.loads.map((load) => load.files);
  }

  /** Each thread's utilisation in its last judged window, NaN where none was judged (for logs). */
  get utilizations(): number[] {
    return this.loads.map((load) => load.lastJudged);
  }

  /**
   * Takes a place for one file at time `now`: the thread index, or null when the choice waits for
   * a measurement (a thread that was just given a file has not been judged yet).
   */
  tryPlace(now: number): number | null {
    const thread = this.choose();
    if (thread === null) return null;
    this.occupy(thread.index, thread.probe, now);
    return thread.index;
  }

  /**
   * Like {@link tryPlace}, but waits (in order of the calls) for the measurements that allow a
   * choice; null when the wait was cancelled.
   */
  waitForPlace(now: number): Promise<number | null> {
    const thread = this.waiters.length === 0 ? this.tryPlace(now) : null;
    if (thread !== null) return Promise.resolve(thread);
    return new Promise<number | null>((resolve) => this.waiters.push(resolve));
  }

  /** Ends every wait in {@link waitForPlace} with null (the run is stopping). */
  cancelWaiting(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(null);
  }

  /** The file placed on `thread` finished at time `now`. */
  finished(thread: number, now: number): void {
    const load = this.loads[thread];
    load.files = Math.max(0, load.files - 1);
    load.changedAt = now;
    load.busyWindows = 0;
    if (load.files === 0) load.probing = false;
    this.wakeWaiters(now);
  }

  /**
   * The thread's event-loop utilisation over [start, end); places the callers waiting in
   * {@link waitForPlace} that it allows to go on.
   */
  observe(thread: number, utilization: number, start: number, end: number): void {
    const load = this.loads[thread];
    if (load.files > 0 && start >= load.changedAt && start >= load.judgedFrom && end > start) {
      load.lastJudged = utilization;
      if (utilization < this.busyUtilization) {
        load.busyWindows = 0;
        load.fits = Math.max(load.fits, load.files);
        load.probing = false;
      } else if (++load.busyWindows >= BUSY_WINDOWS) {
        load.fits = Math.min(load.fits, load.files - 1);
        load.probing = false;
      }
    }
    this.wakeWaiters(end);
  }

  /** Hands places to waiting callers while choices can be made (e.g. after files finished). */
  private wakeWaiters(now: number): void {
    while (this.waiters.length > 0) {
      const thread = this.tryPlace(now);
      if (thread === null) return;
      this.waiters.shift()!(thread);
    }
  }

  private choose(): { index: number; probe: boolean } | null {
    const loads = this.loads;
    // An opened thread below what it was seen to carry with room to spare.
    for (let i = 0; i < loads.length; i++) {
      const load = loads[i];
      if (load.started && !load.probing && load.files < load.fits) return { index: i, probe: false };
    }
    // One more file on an opened thread that had room at its current number (an idle one has).
    for (let i = 0; i < loads.length; i++) {
      const load = loads[i];
      if (load.started && !load.probing && load.files === load.fits) return { index: i, probe: true };
    }
    // A thread not judged since its last file: its verdict decides where the next one goes.
    if (loads.some((load) => load.probing)) return null;
    // Every opened thread is busy: open another one.
    const unopened = loads.findIndex((load) => !load.started);
    if (unopened >= 0) return { index: unopened, probe: true };
    // Every thread is busy: the one with the fewest files.
    let fewest = 0;
    for (let i = 1; i < loads.length; i++) if (loads[i].files < loads[fewest].files) fewest = i;
    return { index: fewest, probe: false };
  }

  private occupy(thread: number, probe: boolean, now: number): void {
    const load = this.loads[thread];
    load.files++;
    load.changedAt = now;
    load.busyWindows = 0;
    if (probe) load.probing = true;
    if (!load.started) {
      load.started = true;
      load.judgedFrom = now + this.warmUpMs;
    }
  }
}
