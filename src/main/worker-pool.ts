/**
 * The worker-thread pool (Piscina) that decodes and restores backup units.
 *
 * `atomics: 'disabled'`: with Atomics waits a worker blocks between tasks, which would freeze the
 * sockets and timers a restore worker keeps open across tasks. Threads = --event-loops (capped by
 * the work there is); several tasks run at once in each worker (they are I/O-interleaved async
 * tasks), so --parallel units proceed together.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { WorkerResult, WorkerTask } from '../worker/worker.js';

export const WORKER_FILENAME = fileURLToPath(new URL('../worker/worker.js', import.meta.url));

export interface WorkerPoolOptions {
  /** Worker threads (--event-loops, at most the number of units to process). */
  threads: number;
  /** Units processed at once across all threads (--parallel). */
  concurrentTasks: number;
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
  return new Piscina<WorkerTask, WorkerResult>({
    filename: WORKER_FILENAME,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: perThread,
    atomics: 'disabled',
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    // The coordinator destroys the pool when the run ends; idle workers must not go away before.
    idleTimeout: 2 ** 31 - 1,
  });
}

/**
 * Runs `count` tasks with at most `limit` in flight, in order; `next(i)` returns the i-th task's
 * promise, or null to stop submitting (e.g. after a failure). Resolves with the results in order
 * (null for the ones never started).
 */
export async function runBounded<R>(count: number, limit: number, next: (index: number) => Promise<R> | null): Promise<(R | null)[]> {
  const results: (R | null)[] = new Array<R | null>(count).fill(null);
  let nextIndex = 0;
  let stopped = false;
  const lane = async (): Promise<void> => {
    while (!stopped && nextIndex < count) {
      const index = nextIndex++;
      const promise = next(index);
      if (promise === null) {
        stopped = true;
        return;
      }
      results[index] = await promise;
    }
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.min(Math.max(1, limit), count); i++) lanes.push(lane());
  await Promise.all(lanes);
  return results;
}
