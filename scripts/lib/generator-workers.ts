/**
 * Runs backup files through worker threads, one file per task, so multi-file backups use every
 * core. A file's bytes do not depend on which worker wrote it (generation is pure per file).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { GenerateOptions } from './backup-generator.js';

interface Task {
  index: number;
}
type Reply = { index: number; result: unknown } | { index: number; error: { message: string; stack?: string } };

export async function runInWorkers(
  options: GenerateOptions,
  indexes: readonly number[],
  workers: number,
  onResult: (index: number, result: unknown) => void,
): Promise<void> {
  const queue = [...indexes];
  const running: Promise<void>[] = [];
  for (let w = 0; w < workers; w++) {
    running.push(
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { options } });
        let settled = false;
        const finish = (error?: Error): void => {
          if (settled) return;
          settled = true;
          void worker.terminate();
          if (error) reject(error);
          else resolve();
        };
        const next = (): void => {
          const index = queue.shift();
          if (index === undefined) finish();
          else worker.postMessage({ index } satisfies Task);
        };
        worker.on('message', (reply: Reply) => {
          if ('error' in reply) {
            queue.length = 0;
            const error = new Error(`file ${reply.index}: ${reply.error.message}`);
            error.stack = reply.error.stack;
            finish(error);
            return;
          }
          onResult(reply.index, reply.result);
          next();
        });
        worker.on('error', (error) => finish(error));
        worker.on('exit', (code) => finish(code === 0 ? undefined : new Error(`generator worker exited with code ${code}`)));
        next();
      }),
    );
  }
  await Promise.all(running);
}

if (!isMainThread && parentPort && (workerData as { options?: GenerateOptions } | null)?.options) {
  const port = parentPort;
  const { options } = workerData as { options: GenerateOptions };
  const { generateOneFile } = await import('./backup-generator.js');
  port.on('message', (task: Task) => {
    generateOneFile(options, task.index).then(
      (result) => port.postMessage({ index: task.index, result } satisfies Reply),
      (error: Error) => port.postMessage({ index: task.index, error: { message: error.message, stack: error.stack } } satisfies Reply),
    );
  });
}
