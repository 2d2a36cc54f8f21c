/**
 * `asrestore --validate`: decode every backup file end to end without a cluster, with C asrestore's
 * log lines and counters, and exit 1 on the first error (which names file, line and column).
 *
 * Directory inputs: one worker task per file, --parallel files at once over --event-loops threads.
 * A single file: one task. stdin: read on the main thread and streamed to one worker over a
 * MessagePort with backpressure (src/shared/port-stream.ts), so decoding runs off the main thread
 * (which keeps the progress timer on time) exactly as for a file.
 */
import { open, stat } from 'node:fs/promises';
import { Counter, Counters } from '../shared/counters.js';
import { AsrestoreError } from '../shared/errors.js';
import { encryptionKeyFromEnv, encryptionKeyFromPem, readEncryptionKeyFile } from '../shared/io/encryption-key.js';
import { isS3Path } from '../shared/io/input-argument.js';
import { listBackupFiles, type BackupFileEntry } from '../shared/io/local-files.js';
import { STDIN_NAME } from '../shared/io/stdin.js';
import { runWithStreamedSource } from '../shared/port-stream.js';
import { createRunControl, isStopRequested, requestStop } from '../shared/run-control.js';
import type { ValidateFileResult, ValidateFileTask } from '../worker/validate-task.js';
import { err, inf, ver } from './log.js';
import type { RestoreOptions } from './options.js';
import { ProgressReporter } from './progress.js';
import { createWorkerPool, runBounded } from './worker-pool.js';
import type { Piscina } from 'piscina';

export interface RunHandle {
  /** Asks the run to stop (SIGINT/SIGTERM); the run then ends with exit code 1. */
  interrupt(): void;
}

export interface ValidateDependencies {
  /** stdin for `-i -` (default process.stdin). */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** Receives the handle as soon as the run can be interrupted. */
  onStart?: (handle: RunHandle) => void;
}

/** The AES key the options name, derived as the C tools do (see src/shared/io/encryption-key.ts). */
export function resolveEncryptionKey(options: RestoreOptions, env: NodeJS.ProcessEnv = process.env): Buffer | null {
  const source = options.encryptionKey;
  const algorithm = options.encrypt;
  if (source === null || algorithm === null) return null;
  switch (source.kind) {
    case 'file':
      return readEncryptionKeyFile(source.path, algorithm);
    case 'env':
      return encryptionKeyFromEnv(source.variable, algorithm, env);
    case 'pem':
      return encryptionKeyFromPem(source.pem, algorithm, source.reference);
  }
}

function logError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  for (const line of message.split('\n')) err(line);
}

/** Runs the validation; resolves with the exit code (0 or 1). */
export async function runValidate(options: RestoreOptions, deps: ValidateDependencies = {}): Promise<number> {
  const input = options.input;
  inf(
    `Starting validation of ${
      input.kind === 'stdin' ? '[stdin]' : input.kind === 'file' ? input.path : (options.directory ?? options.directoryList ?? '')
    }`,
  );

  let aesKey: Buffer | null;
  try {
    aesKey = resolveEncryptionKey(options);
  } catch (error) {
    logError(error);
    return 1;
  }

  const counters = new Counters();
  const control = createRunControl();
  let interrupted = false;
  /** Aborted on interrupt: wakes waits that no chunk would end (stdin that stays silent). */
  const interruption = new AbortController();
  deps.onStart?.({
    interrupt() {
      interrupted = true;
      requestStop(control);
      interruption.abort();
    },
  });

  const progress = new ProgressReporter({ counters, machinePath: options.machine });
  try {
    progress.openMachineFile();
  } catch (error) {
    logError(error);
    return 1;
  }

  const taskBase = {
    kind: 'validate-file' as const,
    compress: options.compress,
    encryption: aesKey === null || options.encrypt === null ? null : { algorithm: options.encrypt, key: new Uint8Array(aesKey) },
    namespace: options.namespace,
    countersBuffer: counters.buffer,
    controlBuffer: control,
    verbose: options.verbose,
  };

  let files: BackupFileEntry[] = [];
  if (input.kind === 'directories') {
    try {
      const found = await listBackupFiles(input.directories, {
        beforeListing(directory) {
          if (isS3Path(directory)) {
            throw new AsrestoreError('S3_NOT_SUPPORTED', `Reading backups from S3 (${directory}) is not supported by this build of asrestore`);
          }
          ver(`Listing backup files in ${directory}`);
        },
        listed: (listing) => inf(`Found ${listing.files.length} backup file(s) in ${listing.directory}`),
      });
      files = found.files;
      if (!options.noRecords) {
        counters.set(Counter.BYTES_ESTIMATED, found.totalBytes);
        ver(`Estimated total backup file size: ${found.totalBytes} bytes`);
      }
    } catch (error) {
      logError(error);
      progress.dispose();
      return 1;
    }
    inf('Validating backup files');
  } else {
    inf(`Validating ${options.inputFile}`);
    if (input.kind === 'file') {
      // C opens the shared file on the main thread and says so before its threads start.
      try {
        await (await open(input.path, 'r')).close();
        inf(`Opened backup file ${input.path}`);
      } catch {
        // The worker reports the failure with its own message.
      }
    }
    if (!options.noRecords) {
      if (input.kind === 'stdin') {
        counters.set(Counter.BYTES_ESTIMATED, input.sizeHint ?? 0);
      } else {
        try {
          const st = await stat(input.path);
          counters.set(Counter.BYTES_ESTIMATED, st.isFile() ? st.size : 0);
        } catch {
          // The worker reports the failure with its own message.
        }
      }
    }
  }

  const unitCount = input.kind === 'directories' ? files.length : 1;
  const pool = createWorkerPool({
    threads: Math.min(options.eventLoops, unitCount),
    concurrentTasks: Math.min(options.parallel, unitCount),
  }) as unknown as Piscina<ValidateFileTask, ValidateFileResult>;
  ver(`Creating ${Math.min(options.eventLoops, unitCount)} worker thread(s) for ${unitCount} backup file(s), ${Math.min(options.parallel, unitCount)} at a time`);
  progress.start();

  let failed = false;
  const results: (ValidateFileResult | null)[] = [];
  try {
    if (input.kind === 'directories') {
      const started = runBounded(files.length, options.parallel, (index) => {
        if (isStopRequested(control)) return null;
        const file = files[index];
        const task: ValidateFileTask = { ...taskBase, path: file.path, sizeHint: file.size, announce: true, logOpened: true };
        return pool.run(task).then((result) => {
          if (!result.ok && !result.stopped) requestStop(control);
          return result;
        });
      });
      // C prints this right after starting its threads, not when they are done.
      inf('Finished validating backup file(s)');
      results.push(...(await started));
    } else if (input.kind === 'file') {
      const running = pool.run({ ...taskBase, path: input.path, announce: false, logOpened: false });
      inf('Finished validating backup file(s)');
      results.push(await running);
    } else {
      const validated = runWithStreamedSource(
        deps.stdin ?? process.stdin,
        (port) => pool.run({ ...taskBase, path: STDIN_NAME, announce: false, logOpened: false, port }, { transferList: [port] }),
        { signal: interruption.signal, started: () => inf('Finished validating backup file(s)') },
      );
      results.push(await validated);
    }
  } catch (error) {
    // A worker that died (not a validation error: those come back as results).
    logError(error);
    failed = true;
  } finally {
    progress.finish();
    await pool.destroy();
  }

  for (const result of results) if (result !== null && !result.ok && !result.stopped) failed = true;
  if (interrupted) failed = true;
  ver(`Exiting with status code ${failed ? 1 : 0}`);
  return failed ? 1 : 0;
}
