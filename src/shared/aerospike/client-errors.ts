/**
 * The client layer's failures, typed so that callers can classify them (retry, abort, count as a
 * record error) without parsing messages. Server result codes keep their numeric `resultCode`.
 * Messages never contain passwords, credentials or session tokens.
 */
import { AsrestoreError } from '../errors.js';
import { describeResultCode } from './protocol.js';

export const ClientErrorCode = {
  /** The server answered a command (or a whole batch) with a non-zero result code: see `resultCode`. */
  SERVER: 'AEROSPIKE_SERVER_ERROR',
  /** No byte arrived for `socketTimeoutMs` while an answer was awaited (the connection is closed). */
  SOCKET_TIMEOUT: 'AEROSPIKE_SOCKET_TIMEOUT',
  /** The command's total time budget ran out (queueing, connecting and waiting included). */
  TOTAL_TIMEOUT: 'AEROSPIKE_TOTAL_TIMEOUT',
  /** A TCP connection could not be opened, or broke (reset, closed by the peer). */
  CONNECTION: 'AEROSPIKE_CONNECTION_ERROR',
  /** The TLS handshake failed (certificate not trusted, name mismatch, protocol). */
  TLS: 'AEROSPIKE_TLS_ERROR',
  /** Login or authentication was refused; `resultCode` holds the server's code when it sent one. */
  AUTH: 'AEROSPIKE_AUTH_ERROR',
  /** No seed host answered within the timeout. */
  SEED_UNREACHABLE: 'AEROSPIKE_SEED_UNREACHABLE',
  /** A node reported a cluster name other than the expected one. */
  CLUSTER_NAME_MISMATCH: 'AEROSPIKE_CLUSTER_NAME_MISMATCH',
  /** The cluster has no such namespace. */
  NAMESPACE_NOT_FOUND: 'AEROSPIKE_NAMESPACE_NOT_FOUND',
  /** The partition map names no live node for a record's partition (e.g. during a node loss). */
  PARTITION_UNAVAILABLE: 'AEROSPIKE_PARTITION_UNAVAILABLE',
  /** A named node is not (or no longer) part of the cluster. */
  NODE_NOT_FOUND: 'AEROSPIKE_NODE_NOT_FOUND',
  /** An info command was answered with an error (`ERROR:`, `FAIL:`, `error=`). */
  INFO: 'AEROSPIKE_INFO_ERROR',
  /** A peer sent bytes that break the protocol (bad sizes, unexpected types, unknown batch rows). */
  PROTOCOL: 'AEROSPIKE_PROTOCOL_ERROR',
  /** A host list such as `--host` could not be parsed. */
  INVALID_HOST: 'AEROSPIKE_INVALID_HOST',
  /** A record cannot be encoded (value of the wrong JS type, name too long, int out of range). */
  ENCODE: 'AEROSPIKE_ENCODE_ERROR',
  /** The cluster or client was closed while the command waited or ran. */
  CLOSED: 'AEROSPIKE_CLIENT_CLOSED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export interface AerospikeErrorDetails {
  /** The server's result code, when the server sent one. */
  resultCode?: number;
  /**
   * True when the command may have been applied although no answer says so: the request was
   * (partly) sent before the failure. A retry of such a write can meet its own earlier effect
   * (e.g. KEY_EXISTS under create-only, GENERATION under generation-greater).
   */
  inDoubt?: boolean;
  /** The node involved: "NAME host:port" or "host:port" before the node's name is known. */
  node?: string;
  cause?: unknown;
}

export class AerospikeError extends AsrestoreError {
  readonly resultCode?: number;
  readonly inDoubt: boolean;
  readonly node?: string;

  constructor(code: ClientErrorCode, message: string, details: AerospikeErrorDetails = {}) {
    super(code, message, {}, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AerospikeError';
    this.resultCode = details.resultCode;
    this.inDoubt = details.inDoubt ?? false;
    this.node = details.node;
  }

  get isTimeout(): boolean {
    return this.code === ClientErrorCode.SOCKET_TIMEOUT || this.code === ClientErrorCode.TOTAL_TIMEOUT;
  }
}

/** A command answered with a non-zero result code (not a per-record batch code). */
export function serverError(resultCode: number, what: string, node?: string): AerospikeError {
  const where = node === undefined ? '' : ` from node ${node}`;
  return new AerospikeError(ClientErrorCode.SERVER, `${what} failed${where}: ${describeResultCode(resultCode)}`, {
    resultCode,
    node,
  });
}

/** Re-labels an error with whether bytes of the failed command had already been sent. */
export function withInDoubt(error: AerospikeError, inDoubt: boolean): AerospikeError {
  if (error.inDoubt === inDoubt) return error;
  const copy = new AerospikeError(error.code as ClientErrorCode, error.message, {
    resultCode: error.resultCode,
    inDoubt,
    node: error.node,
    cause: error.cause,
  });
  copy.stack = error.stack;
  return copy;
}

/** Node's own socket error codes that mean "the peer is not there / went away". */
const connectionErrnos = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

/** Maps a socket-level exception (net/tls) to a typed client error. */
export function socketError(cause: unknown, node: string, inDoubt: boolean): AerospikeError {
  if (cause instanceof AerospikeError) return withInDoubt(cause, inDoubt || cause.inDoubt);
  const err = cause as NodeJS.ErrnoException & { reason?: string };
  const errno = typeof err?.code === 'string' ? err.code : '';
  const text = err instanceof Error ? err.message : String(cause);
  if (errno.startsWith('ERR_TLS') || errno.startsWith('ERR_SSL') || /CERT|certificate|SSL|TLS|altnames/i.test(errno + ' ' + text)) {
    if (!connectionErrnos.has(errno)) {
      return new AerospikeError(ClientErrorCode.TLS, `TLS connection to ${node} failed: ${text}`, { node, inDoubt, cause });
    }
  }
  return new AerospikeError(ClientErrorCode.CONNECTION, `connection to ${node} failed: ${text}`, {
    node,
    inDoubt,
    cause,
  });
}
