/**
 * The worker-thread pool (Piscina) that decodes and restores backup units.
 *
 * `atomics: 'disabled'`: with Atomics waits a worker blocks between tasks, which would freeze the
 * sockets and timers a restore worker keeps open across tasks. Threads = --event-loops (capped by
 * the work there is); several tasks run at once in each worker (they are I/O-interleaved async
 * tasks), so --parallel units proceed together.
 */
import { fileURLToPath } from 'node:url';
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { Piscina, queueOptionsSymbol, type PiscinaTask } from 'piscina';
import type { WorkerResult, WorkerTask } from '../worker/worker.js';
import type { WorkerPlacement } from './worker-placement.js';
import { pausedBetween, utilizationNetOfPauses, type PauseLedger } from '../shared/thread-load.js';

export const WORKER_FILENAME = fileURLToPath(new URL('../worker/worker.js', import.meta.url));

export interface WorkerPoolOptions {
  /** Worker threads (--event-loops, at most the number of units to process). */
  threads: number;
  /** Units processed at once across all threads (--parallel). */
  concurrentTasks: number;
  /**
   * Tasks go to the thread named by {@link placedOn} (worker-placement.ts decides); without it,
   * to the least busy thread, at most an even share of `concurrentTasks` on each.
   */
  placed?: boolean;
  /** The worker module (tests); default the restore worker. */
  filename?: string;
}

export type WorkerPool = Piscina<WorkerTask, WorkerResult>;

/**
 * Young generation of each worker's heap. With the restore reading into one reused buffer, the
 * 1M-record benchmark peaks at 99 / 115 / 115 MB RSS (1 thread) and 128 / 143 / 143 MB (2 threads)
 * with 16 / 32 / 64 MB; 32 MB spent the least CPU in alternated runs (about 5% less than 16 MB,
 * within the noise of this shared 2-core machine). V8's default (48 MB) behaves like 64.
 */
const WORKER_YOUNG_GENERATION_MB = 32;

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const threads = Math.max(1, Math.floor(options.threads));
  const perThread = Math.max(1, Math.ceil(options.concurrentTasks / threads));
  const placed = options.placed === true;
  const pool: WorkerPool = new Piscina<WorkerTask, WorkerResult>({
    filename: options.filename ?? WORKER_FILENAME,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: placed ? Math.max(1, options.concurrentTasks) : perThread,
    ...(placed ? { loadBalancer: (task: PiscinaTask, workers: PiscinaWorker[]) => placedBalancer(pool, task, workers) } : {}),
    atomics: 'disabled',
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    // The coordinator destroys the pool when the run ends; idle workers must not go away before.
    idleTimeout: 2 ** 31 - 1,
  });
  // Piscina lists its workers starting ones first, so its order changes as they become ready.
  threadOrder.set(pool, pool.threads.slice());
  return pool;
}

const threadOrder = new WeakMap<WorkerPool, readonly Worker[]>();

/** The pool's threads in the order they were created: thread number i is always the same one. */
export function threadsInOrder(pool: WorkerPool): readonly Worker[] {
  return threadOrder.get(pool) ?? pool.threads;
}

type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PiscinaWorker = Parameters<LoadBalancer>[1][number];

interface Placement {
  thread: number;
}

/** Marks `task` for the pool's thread number `thread` (in the order of {@link threadsInOrder}). */
export function placedOn<T extends object>(task: T, thread: number): T {
  (task as Record<symbol, Placement>)[queueOptionsSymbol] = { thread };
  return task;
}

/**
 * The worker the task was placed on; null while that worker is not ready yet (Piscina offers
 * the task again once it is). A task whose thread is gone (a worker that died is replaced) goes
 * to the least busy worker.
 */
function placedBalancer(pool: WorkerPool, task: PiscinaTask, workers: PiscinaWorker[]): PiscinaWorker | null {
  const placement = (task as unknown as Record<symbol, Placement | undefined>)[queueOptionsSymbol];
  const thread = placement === undefined ? undefined : threadsInOrder(pool)[placement.thread];
  if (thread !== undefined && pool.threads.includes(thread)) return workers.find((worker) => worker.id === thread.threadId) ?? null;
  let best: PiscinaWorker | null = null;
  for (const worker of workers) if (best === null || worker.currentUsage < best.currentUsage) best = worker;
  return best;
}

/**
 * Measures each thread's event-loop utilisation every `windowMs`, less the time it paused on
 * purpose (`pauses`), and reports it to `placement` (threads in the order of
 * {@link threadsInOrder}); `onWindow` runs after each window. Returns the stop.
 */
export function measureThreadLoad(pool: WorkerPool, placement: WorkerPlacement, windowMs: number, pauses: PauseLedger | null, onWindow?: () => void): () => void {
  const previous = new Map<number, { at: number; utilization: EventLoopUtilization; paused: number }>();
  const timer = setInterval(() => {
    const threads = threadsInOrder(pool);
    for (let i = 0; i < threads.length && i < placement.threads; i++) {
      const worker = threads[i];
      const at = performance.now();
      const utilization = worker.performance.eventLoopUtilization();
      const paused = pauses?.pausedMicros(worker.threadId) ?? 0;
      const before = previous.get(worker.threadId);
      previous.set(worker.threadId, { at, utilization, paused });
      if (before !== undefined) {
        const window = worker.performance.eventLoopUtilization(utilization, before.utilization);
        placement.observe(i, utilizationNetOfPauses(window, pausedBetween(before.paused, paused)), before.at, at);
      }
    }
    onWindow?.();
  }, windowMs);
  return () => clearInterval(timer);
}

/**
 * Runs `count` tasks with at most `limit` in flight, in order; `next(i)` returns the i-th task's
 * promise, or null to stop submitting (e.g. after a failure); a task that resolves null was not
 * started and stops the submitting too. Resolves with the results in order (null for the ones
 * never started).
 */
export async function runBounded<R>(count: number, limit: number, next: (index: number) => Promise<R | null> | null): Promise<(R | null)[]> {
  const results: (R | null)[] = new Array<R | null>(count).fill(null);
  let nextIndex = 0;
  let stopped = false;
  const lane = async (): Promise<void> => {
    while (!stopped && nextIndex < count) {
      const index = nextIndex++;
      const promise = next(index);
      const result = promise === null ? null : await promise;
      if (result === null) {
        stopped = true;
        return;
      }
      results[index] = result;
    }
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.min(Math.max(1, limit), count); i++) lanes.push(lane());
  await Promise.all(lanes);
  return results;
}
