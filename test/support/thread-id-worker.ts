/** A pool worker for tests: keeps its thread busy for `spinMs`, then answers its thread id. */
import { threadId } from 'node:worker_threads';

export default function threadIdAfterSpin(task: { spinMs: number }): number {
  const end = performance.now() + task.spinMs;
  while (performance.now() < end);
  return threadId;
}
