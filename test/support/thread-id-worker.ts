/**
 * A pool worker for tests: keeps its thread busy for `spinMs` (recorded as paused in `pauses`, a
 * PauseLedger buffer, when given), then answers its thread id.
 */
import { threadId } from 'node:worker_threads';
import { PauseLedger } from '../../src/shared/thread-load.js';

export default function threadIdAfterSpin(task: { spinMs: number; pauses?: SharedArrayBuffer }): number {
  const start = performance.now();
  while (performance.now() < start + task.spinMs);
  if (task.pauses !== undefined) new PauseLedger(task.pauses).add(performance.now() - start);
  return threadId;
}
