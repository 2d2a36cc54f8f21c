/**
 * `--validate` of one backup input inside a worker thread: open (read → decrypt → decompress),
 * decode every item to the end, count records / indexes / UDFs and bytes into the shared counters,
 * log C asrestore's per-file lines (`validating <path>`, `Opened backup file <path>`, and on failure
 * the error with its file/line/column and C's follow-up lines). Nothing is sent anywhere.
 */
import type { MessagePort } from 'node:worker_threads';
import { AsbDecoder, WARM_UP_MIN_INPUT_BYTES, warmUpDecoder } from '../shared/asb/decoder.js';
import type { AsbSink } from '../shared/asb/types.js';
import { Counter, Counters } from '../shared/counters.js';
import { AsrestoreError } from '../shared/errors.js';
import { openBackupFile, openBackupStream, type OpenedBackupInput } from '../shared/io/backup-input.js';
import type { CompressionType, EncryptionAlgorithm } from '../shared/io/codec-options.js';
import { chunksFromPort } from '../shared/port-stream.js';
import { configureLog, err, inf, ver } from '../main/log.js';
import { isStopRequested } from '../shared/run-control.js';

export interface ValidateFileTask {
  kind: 'validate-file';
  /** The file to read, or the name of the stream (`[stdin]`) when `port` delivers the bytes. */
  path: string;
  /** The file's size when known (from the directory listing): small files skip the decoder warm-up. */
  sizeHint?: number;
  /** Bytes from the main thread (stdin), see src/shared/port-stream.ts. */
  port?: MessagePort;
  /** Directory mode: log `validating <path>` first (C does so per file, not for -i). */
  announce: boolean;
  /** Log `Opened backup file <path>` once it is open (for -i FILE the coordinator logs it, as C). */
  logOpened: boolean;
  compress: CompressionType | null;
  encryption: { algorithm: EncryptionAlgorithm; key: Uint8Array } | null;
  /** `-n src[,dst]`: records (and, with a target, indexes and the meta line) must be in `source`. */
  namespace: { source: string; target: string | null } | null;
  countersBuffer: SharedArrayBuffer;
  /** Run control (stop flag), see run-control.ts. */
  controlBuffer: SharedArrayBuffer;
  verbose: boolean;
}

/** An error as it crosses the thread boundary (structured clone keeps no custom fields). */
export interface TaskError {
  code: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

export interface ValidateFileResult {
  path: string;
  ok: boolean;
  /** Stopped early because another file failed or the run was interrupted. */
  stopped: boolean;
  records: number;
  indexes: number;
  udfs: number;
  bytesRead: number;
  error?: TaskError;
}

/** Counts are pushed to the shared counters at most every this many decoded bytes. */
const COUNTER_FLUSH_BYTES = 1024 * 1024;

const discard: AsbSink = {
  record() {},
  secondaryIndex() {},
  udf() {},
};

export function toTaskError(error: unknown): TaskError {
  if (error instanceof AsrestoreError) {
    return { code: error.code, message: error.message, file: error.file, line: error.line, column: error.column };
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** The lines to log for a failure: the decoder's own C-style trace when it has one. */
function errorLogLines(error: unknown): string[] {
  const withTrace = error as { logLines?: () => string[] };
  if (typeof withTrace?.logLines === 'function') return withTrace.logLines();
  if (error instanceof AsrestoreError) {
    // C follows a failure to read the start of a file with this line.
    return [error.message, 'Error while opening backup file'];
  }
  return [error instanceof Error ? error.message : String(error)];
}

export async function validateFile(task: ValidateFileTask): Promise<ValidateFileResult> {
  configureLog({ verbose: task.verbose });
  const counters = new Counters(task.countersBuffer);
  const result: ValidateFileResult = { path: task.path, ok: false, stopped: false, records: 0, indexes: 0, udfs: 0, bytesRead: 0 };
  if (isStopRequested(task.controlBuffer)) {
    result.stopped = true;
    return result;
  }
  if (task.announce) inf(`validating ${task.path}`);

  let opened = false;
  // Raw bytes are counted once the text they carry has been decoded (as C counts its read position),
  // so that percent and records move together rather than the read-ahead running first.
  let uncountedBytes = 0;
  const onRawBytes = (bytes: number): void => {
    if (!opened) {
      opened = true;
      if (task.logOpened) inf(`Opened backup file ${task.path}`);
    }
    uncountedBytes += bytes;
  };
  const countBytes = (): void => {
    result.bytesRead += uncountedBytes;
    counters.add(Counter.BYTES_READ, uncountedBytes);
    uncountedBytes = 0;
  };
  const options = {
    compress: task.compress ?? undefined,
    encryption: task.encryption === null ? undefined : { algorithm: task.encryption.algorithm, key: Buffer.from(task.encryption.key) },
    onRawBytes,
    // The countOnly decoder keeps no view of a chunk past write().
    transientChunks: true,
  };
  ver(`Opening backup file ${task.path}`);
  if (task.port !== undefined) ver('Backup file is stdin');
  const input: OpenedBackupInput =
    task.port === undefined ? openBackupFile(task.path, options) : openBackupStream(chunksFromPort(task.port), task.path, options);
  if (task.sizeHint === undefined || task.sizeHint >= WARM_UP_MIN_INPUT_BYTES) warmUpDecoder({ countOnly: true });
  const decoder = new AsbDecoder(discard, {
    file: task.path,
    sourceNamespace: task.namespace?.source,
    namespaceRemapped: task.namespace !== null && task.namespace.target !== null,
    countOnly: true,
  });

  let flushed = { records: 0, indexes: 0, udfs: 0 };
  const flushCounts = (): void => {
    const records = decoder.recordCount;
    const indexes = decoder.indexCount;
    const udfs = decoder.udfCount;
    counters.add(Counter.RECORDS_TOTAL, records - flushed.records);
    counters.add(Counter.INDEXES, indexes - flushed.indexes);
    counters.add(Counter.UDFS, udfs - flushed.udfs);
    flushed = { records, indexes, udfs };
  };

  try {
    let sinceFlush = 0;
    for await (const chunk of input.chunks) {
      if (isStopRequested(task.controlBuffer)) {
        result.stopped = true;
        break;
      }
      decoder.write(chunk);
      sinceFlush += chunk.length;
      if (sinceFlush >= COUNTER_FLUSH_BYTES) {
        flushCounts();
        countBytes();
        sinceFlush = 0;
      }
    }
    if (!result.stopped) {
      if (!opened && task.logOpened) {
        opened = true;
        inf(`Opened backup file ${task.path}`);
      }
      decoder.end();
      ver('End of backup file reached');
      result.ok = true;
      counters.add(Counter.FILES_DONE, 1);
    }
  } catch (error) {
    // Another file's failure or an interrupt can surface here as a cancelled stream: stay quiet then.
    if (isStopRequested(task.controlBuffer) && !(error instanceof AsrestoreError)) {
      result.stopped = true;
    } else {
      for (const line of errorLogLines(error)) err(line);
      result.error = toTaskError(error);
    }
  } finally {
    flushCounts();
    countBytes();
    result.records = flushed.records;
    result.indexes = flushed.indexes;
    result.udfs = flushed.udfs;
    ver('Closing backup file');
    await input.close().catch(() => undefined);
  }
  return result;
}
