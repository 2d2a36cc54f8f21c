/**
 * The Piscina worker entry: one module per thread, tasks dispatched by `kind`. Each task kind lives
 * in its own module, loaded on first use, so a validate run never loads the client layer. The pool
 * (src/main/worker-pool.ts) runs with atomics disabled so a worker that keeps sockets open between
 * tasks keeps serving its event loop.
 */
import type { WriteBatchesResult, WriteBatchesTask } from './batch-channel.js';
import type { RestoreFileResult, RestoreFileTask } from './restore-task.js';
import type { ValidateFileResult, ValidateFileTask } from './validate-task.js';

export type WorkerTask = ValidateFileTask | RestoreFileTask | WriteBatchesTask;
export type WorkerResult = ValidateFileResult | RestoreFileResult | WriteBatchesResult;

export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  switch (task.kind) {
    case 'validate-file':
      return (await import('./validate-task.js')).validateFile(task);
    case 'restore-file':
      return (await import('./restore-task.js')).restoreFile(task);
    case 'write-batches':
      return (await import('./batch-channel.js')).writeBatches(task);
    default:
      throw new Error(`unknown worker task kind ${(task as { kind?: unknown }).kind}`);
  }
}
