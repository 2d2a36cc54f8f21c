/**
 * What the outcome of a write means for the restore: the verdict on a whole command (a batch
 * request, or one single-record write) and on each record's result code.
 *
 * Source: C asrestore 4.5.8 batch_uploader.c `_categorize_write_result` (command level) and
 * `_batch_status_submit` (record level); ../shared/reference/wire/NOTES.md §6.2.
 * One deliberate difference: C treats every unexpected per-record code inside a batch as fatal;
 * here the transient ones (see {@link classifyRecordResult}) are retried, and only those rows of the
 * batch are sent again. Acceptable outcomes (exists, generation) are never retried.
 *
 * Verdicts are small integers so the engine can classify every row without allocating.
 */
import { AsrestoreError, type ErrorLocation } from '../shared/errors.js';
import { ResultCode } from '../shared/aerospike/protocol.js';
import { Counter } from '../shared/counters.js';

/**
 * Failures that happen in the client, not on the server, numbered as the C client's as_status
 * does (negative), so one integer describes any outcome. A timeout, whether the server reported it
 * or the client's own timer fired, is {@link ResultCode.TIMEOUT} (9), as in the C client.
 * The client layer (or the engine around it) maps its failures onto these.
 */
export const ClientStatus = {
  /** A local failure that retrying cannot fix: a bug, an unencodable request, a malformed answer. */
  CLIENT_ERROR: -1,
  /** An invalid argument to the client API. */
  PARAMETER: -2,
  INVALID_HOST: -4,
  CLIENT_ABORT: -5,
  ASYNC_CONNECTION: -6,
  /** The connection pool of a node is exhausted. */
  NO_MORE_CONNECTIONS: -7,
  /** No node (yet) for the key's partition, e.g. during a cluster change. */
  INVALID_NODE: -8,
  TLS_ERROR: -9,
  /** The connection failed or was closed while the command was in flight. */
  CONNECTION: -10,
  ASYNC_QUEUE_FULL: -11,
  /** The client's own internal retries ran out. C asrestore treats this as permanent. */
  MAX_RETRIES_EXCEEDED: -12,
  MAX_ERROR_RATE: -14,
  NO_RESPONSE: -15,
  /** A batch completed but some rows failed: look at the rows. */
  BATCH_FAILED: -16,
} as const;
export type ClientStatus = (typeof ClientStatus)[keyof typeof ClientStatus];

/** The verdict on a whole command. */
export const CommandVerdict = {
  /** The command went through: take each record's result code (for a single write, the command's own code). */
  PROCEED_TO_RECORDS: 0,
  /** Transient: send the command again after the backoff (retry-policy.ts). */
  RETRY: 1,
  /** Stop the restore: retrying cannot help. Build the error with {@link commandFailureError}. */
  FATAL: 2,
} as const;
export type CommandVerdict = (typeof CommandVerdict)[keyof typeof CommandVerdict];

/** The verdict on one record's result code. */
export const RecordVerdict = {
  INSERTED: 0,
  /** KEY_EXISTS (5) under --unique. Counted, not an error. */
  EXISTED: 1,
  /** GENERATION_ERROR (3): the server's copy is as new or newer. Counted, not an error. */
  FRESHER: 2,
  /**
   * A record-specific error: counted as ignored ("err_ignored"), and fatal unless
   * --ignore-record-error was given (see {@link isFatalRecordVerdict}).
   */
  IGNORABLE_ERROR: 3,
  /** Transient: send this record again (only the failed rows of a batch). */
  RETRY: 4,
  /** Anything else: stop the restore. Build the error with {@link recordFailureError}. */
  FATAL: 5,
} as const;
export type RecordVerdict = (typeof RecordVerdict)[keyof typeof RecordVerdict];

/**
 * Classifies a whole command's outcome: a batch's overall result code (its LAST message), a single
 * write's result code, or a {@link ClientStatus}. 0 means OK.
 */
export function classifyCommandResult(code: number): CommandVerdict {
  switch (code) {
    // Record-specific codes (judged per record), codes that are not errors for a restore, and
    // "some rows failed".
    case ResultCode.OK:
    case ClientStatus.BATCH_FAILED:
    case ResultCode.GENERATION_ERROR:
    case ResultCode.KEY_EXISTS:
    case ResultCode.RECORD_TOO_BIG:
    case ResultCode.KEY_MISMATCH:
    case ResultCode.BIN_NAME_TOO_LONG:
    case ResultCode.ALWAYS_FORBIDDEN:
    case ResultCode.FAIL_FORBIDDEN:
    case ResultCode.BIN_TYPE_ERROR:
    case ResultCode.BIN_NOT_FOUND:
      return CommandVerdict.PROCEED_TO_RECORDS;

    // Retrying won't resolve these.
    case ClientStatus.MAX_RETRIES_EXCEEDED:
    case ClientStatus.PARAMETER:
    case ClientStatus.CLIENT_ERROR:
    case ResultCode.PARAMETER_ERROR:
    case ResultCode.SERVER_FULL:
    case ResultCode.UNSUPPORTED_FEATURE:
    case ResultCode.INVALID_NAMESPACE:
    case ResultCode.ENTERPRISE_ONLY:
    case ResultCode.OP_NOT_APPLICABLE:
    case ResultCode.FILTERED_OUT:
    case ResultCode.SECURITY_NOT_SUPPORTED:
    case ResultCode.SECURITY_NOT_ENABLED:
    case ResultCode.SECURITY_SCHEME_NOT_SUPPORTED:
    case ResultCode.INVALID_COMMAND:
    case ResultCode.INVALID_FIELD:
    case ResultCode.ILLEGAL_STATE:
    case ResultCode.EXPIRED_SESSION:
    case ResultCode.INVALID_ROLE:
    case ResultCode.NOT_AUTHENTICATED:
    case ResultCode.ROLE_VIOLATION:
    case ResultCode.NOT_WHITELISTED:
    case ResultCode.GEO_INVALID_GEOJSON:
    case ResultCode.INDEX_OOM:
    case ResultCode.INDEX_NOT_READABLE:
    case ResultCode.BATCH_DISABLED:
      return CommandVerdict.FATAL;

    // Timeouts, overload, busy keys, cluster changes, connection trouble, quotas, ...
    default:
      return CommandVerdict.RETRY;
  }
}

/**
 * Classifies one record's result code: a batch row's code, or the code of a single write whose
 * command verdict was {@link CommandVerdict.PROCEED_TO_RECORDS}.
 *
 * Retried per record (C: fatal inside a batch): CLUSTER_KEY_MISMATCH 7 (cluster change),
 * TIMEOUT 9, PARTITION_UNAVAILABLE 11, KEY_BUSY 14, DEVICE_OVERLOAD 18, XDR_KEY_BUSY 32. These say
 * nothing about the record itself and clear up on their own.
 */
export function classifyRecordResult(code: number): RecordVerdict {
  switch (code) {
    case ResultCode.OK:
      return RecordVerdict.INSERTED;
    case ResultCode.KEY_EXISTS:
      return RecordVerdict.EXISTED;
    case ResultCode.GENERATION_ERROR:
      return RecordVerdict.FRESHER;
    case ResultCode.RECORD_TOO_BIG:
    case ResultCode.KEY_MISMATCH:
    case ResultCode.BIN_NAME_TOO_LONG:
    case ResultCode.ALWAYS_FORBIDDEN:
    case ResultCode.FAIL_FORBIDDEN:
    case ResultCode.BIN_TYPE_ERROR:
    case ResultCode.BIN_NOT_FOUND:
      return RecordVerdict.IGNORABLE_ERROR;
    case ResultCode.CLUSTER_KEY_MISMATCH:
    case ResultCode.TIMEOUT:
    case ResultCode.PARTITION_UNAVAILABLE:
    case ResultCode.KEY_BUSY:
    case ResultCode.DEVICE_OVERLOAD:
    case ResultCode.XDR_KEY_BUSY:
      return RecordVerdict.RETRY;
    default:
      return RecordVerdict.FATAL;
  }
}

/**
 * The counter a record verdict adds to, or -1 when it adds to none (RETRY, FATAL).
 * Indexed by {@link RecordVerdict}. An ignorable error is counted even when it is then fatal (C).
 */
export const RECORD_VERDICT_COUNTER: readonly (Counter | -1)[] = [
  Counter.RECORDS_INSERTED,
  Counter.RECORDS_EXISTED,
  Counter.RECORDS_FRESHER,
  Counter.RECORDS_IGNORED,
  -1,
  -1,
];

/** True when the verdict stops the restore. */
export function isFatalRecordVerdict(verdict: RecordVerdict, ignoreRecordError: boolean): boolean {
  return verdict === RecordVerdict.FATAL || (verdict === RecordVerdict.IGNORABLE_ERROR && !ignoreRecordError);
}

const statusNames = new Map<number, string>([
  ...Object.entries(ResultCode).map(([name, code]) => [code, name] as [number, string]),
  ...Object.entries(ClientStatus).map(([name, code]) => [code, name] as [number, string]),
]);

/** "TIMEOUT (9)", "CONNECTION (-10)": a server result code or a {@link ClientStatus}. */
export function describeStatus(code: number): string {
  return `${statusNames.get(code) ?? 'UNKNOWN'} (${code})`;
}

/**
 * The error that stops the restore after a command verdict of FATAL. `detail` is what the client
 * knows beyond the code (e.g. a connection error's text). Error codes: BATCH_WRITES_DISABLED for
 * 150 (with C's hint), else WRITE_FAILED.
 */
export function commandFailureError(code: number, detail?: string, location: ErrorLocation = {}): AsrestoreError {
  if (code === ResultCode.BATCH_DISABLED) {
    return new AsrestoreError(
      'BATCH_WRITES_DISABLED',
      'Batch writes appear to be disabled, turn them off by passing --disable-batch-writes to asrestore',
      location,
    );
  }
  const suffix = detail ? `: ${detail}` : '';
  return new AsrestoreError(
    'WRITE_FAILED',
    `Error while storing record - code ${code} (${statusNames.get(code) ?? 'UNKNOWN'})${suffix}`,
    location,
  );
}

/**
 * The error that stops the restore for one record (verdict FATAL, or IGNORABLE_ERROR without
 * --ignore-record-error). `location` should name the record's file and line.
 * Error codes: RECORD_ERROR for a record-specific error, else WRITE_FAILED.
 */
export function recordFailureError(code: number, location: ErrorLocation = {}): AsrestoreError {
  const where = formatLocation(location);
  if (classifyRecordResult(code) === RecordVerdict.IGNORABLE_ERROR) {
    return new AsrestoreError(
      'RECORD_ERROR',
      `Error while storing record - code ${code} (${statusNames.get(code)})${where}` +
        ' (pass --ignore-record-error to count such records as err_ignored and continue)',
      location,
    );
  }
  return new AsrestoreError(
    'WRITE_FAILED',
    `Error while storing record - code ${code} (${statusNames.get(code) ?? 'UNKNOWN'})${where}`,
    location,
  );
}

/** ` (file, line N)`, as record errors name where they are. */
export function formatLocation(location: ErrorLocation): string {
  if (location.file === undefined && location.line === undefined) return '';
  const parts: string[] = [];
  if (location.file !== undefined) parts.push(location.file);
  if (location.line !== undefined) parts.push(`line ${location.line}`);
  return ` (${parts.join(', ')})`;
}
