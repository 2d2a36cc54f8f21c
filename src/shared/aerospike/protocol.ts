/**
 * Aerospike wire-protocol constants, shared by the client layer (src/shared/aerospike) and the
 * test cluster (test/cluster). Values are facts from the server's proto.h / the C client's
 * as_proto.h, as_command.h and as_status.h, confirmed by ../shared/reference/wire/ captures.
 * Every multi-byte integer on the wire is big-endian.
 */

export const PROTO_VERSION = 2;
export const PROTO_HEADER_SIZE = 8;
/** The server refuses a body above 128 MiB (PROTO_SIZE_MAX). */
export const PROTO_SIZE_MAX = 128 * 1024 * 1024;

export const ProtoType = {
  INFO: 1,
  ADMIN: 2,
  AS_MSG: 3,
  COMPRESSED: 4,
} as const;

export const MSG_HEADER_SIZE = 22;

export const Info1 = {
  READ: 0x01,
  GET_ALL: 0x02,
  SHORT_QUERY: 0x04,
  BATCH: 0x08,
  XDR: 0x10,
  GET_NO_BINS: 0x20,
  READ_MODE_AP_ALL: 0x40,
  COMPRESS_RESPONSE: 0x80,
} as const;

export const Info2 = {
  WRITE: 0x01,
  DELETE: 0x02,
  GENERATION: 0x04,
  GENERATION_GT: 0x08,
  DURABLE_DELETE: 0x10,
  CREATE_ONLY: 0x20,
  RELAX_AP_LONG_QUERY: 0x40,
  RESPOND_ALL_OPS: 0x80,
} as const;

export const Info3 = {
  LAST: 0x01,
  COMMIT_MASTER: 0x02,
  PARTITION_DONE: 0x04,
  UPDATE_ONLY: 0x08,
  CREATE_OR_REPLACE: 0x10,
  REPLACE_ONLY: 0x20,
  SC_READ_TYPE: 0x40,
  SC_READ_RELAX: 0x80,
} as const;

export const FieldType = {
  NAMESPACE: 0,
  SET: 1,
  KEY: 2,
  RECORD_VERSION: 3,
  DIGEST_RIPE: 4,
  MRT_ID: 5,
  MRT_DEADLINE: 6,
  TRID: 7,
  SOCKET_TIMEOUT: 9,
  BATCH_INDEX: 41,
  BATCH_INDEX_WITH_SET: 42,
  FILTER_EXP: 43,
} as const;

export const OpType = {
  READ: 1,
  WRITE: 2,
  CDT_READ: 3,
  CDT_MODIFY: 4,
  INCR: 5,
  EXP_READ: 7,
  EXP_MODIFY: 8,
  APPEND: 9,
  PREPEND: 10,
  TOUCH: 11,
  BIT_READ: 12,
  BIT_MODIFY: 13,
  DELETE_ALL: 14,
  HLL_READ: 15,
  HLL_MODIFY: 16,
} as const;

/** Particle types: how a bin value (or a key) is typed on the wire. */
export const ParticleType = {
  NULL: 0,
  INTEGER: 1,
  FLOAT: 2,
  STRING: 3,
  BLOB: 4,
  JAVA_BLOB: 7,
  CSHARP_BLOB: 8,
  PYTHON_BLOB: 9,
  RUBY_BLOB: 10,
  PHP_BLOB: 11,
  ERLANG_BLOB: 12,
  BOOL: 17,
  HLL: 18,
  MAP: 19,
  LIST: 20,
  GEOJSON: 23,
} as const;
export type ParticleType = (typeof ParticleType)[keyof typeof ParticleType];

/** Batch-index (field 41) row meta bits. */
export const BatchRowMeta = {
  REPEAT: 0x01,
  HAS_INFO2_INFO3: 0x02,
  HAS_GENERATION: 0x04,
  HAS_TTL: 0x08,
  HAS_INFO4: 0x10,
} as const;

/** Batch-index parent flags; C-based clients send 0x0d (inline memory, respond all keys, report error rec). */
export const BatchParentFlags = {
  INLINE_MEMORY: 0x01,
  INLINE_SSD: 0x02,
  RESPOND_ALL_KEYS: 0x04,
  REPORT_ERROR_REC: 0x08,
} as const;

/** Record TTL values with special meaning in a write request. */
export const TTL_NAMESPACE_DEFAULT = 0;
export const TTL_NEVER_EXPIRE = 0xffffffff;
export const TTL_DONT_UPDATE = 0xfffffffe;
/** Void times and TTLs in answers count seconds from 2010-01-01T00:00:00Z. */
export const CITRUSLEAF_EPOCH = 1262304000;

/** Result codes the server sends (as_status.h names). Client-side failures are not result codes. */
export const ResultCode = {
  OK: 0,
  SERVER_ERROR: 1,
  KEY_NOT_FOUND: 2,
  GENERATION_ERROR: 3,
  PARAMETER_ERROR: 4,
  KEY_EXISTS: 5,
  BIN_EXISTS: 6,
  CLUSTER_KEY_MISMATCH: 7,
  SERVER_FULL: 8,
  TIMEOUT: 9,
  ALWAYS_FORBIDDEN: 10,
  PARTITION_UNAVAILABLE: 11,
  BIN_TYPE_ERROR: 12,
  RECORD_TOO_BIG: 13,
  KEY_BUSY: 14,
  SCAN_ABORT: 15,
  UNSUPPORTED_FEATURE: 16,
  BIN_NOT_FOUND: 17,
  DEVICE_OVERLOAD: 18,
  KEY_MISMATCH: 19,
  INVALID_NAMESPACE: 20,
  BIN_NAME_TOO_LONG: 21,
  FAIL_FORBIDDEN: 22,
  ELEMENT_NOT_FOUND: 23,
  ELEMENT_EXISTS: 24,
  ENTERPRISE_ONLY: 25,
  OP_NOT_APPLICABLE: 26,
  FILTERED_OUT: 27,
  LOST_CONFLICT: 28,
  XDR_KEY_BUSY: 32,
  QUERY_END: 50,
  SECURITY_NOT_SUPPORTED: 51,
  SECURITY_NOT_ENABLED: 52,
  SECURITY_SCHEME_NOT_SUPPORTED: 53,
  INVALID_COMMAND: 54,
  INVALID_FIELD: 55,
  ILLEGAL_STATE: 56,
  INVALID_USER: 60,
  USER_ALREADY_EXISTS: 61,
  INVALID_PASSWORD: 62,
  EXPIRED_PASSWORD: 63,
  FORBIDDEN_PASSWORD: 64,
  INVALID_CREDENTIAL: 65,
  EXPIRED_SESSION: 66,
  INVALID_ROLE: 70,
  ROLE_ALREADY_EXISTS: 71,
  INVALID_PRIVILEGE: 72,
  INVALID_WHITELIST: 73,
  QUOTAS_NOT_ENABLED: 74,
  INVALID_QUOTA: 75,
  NOT_AUTHENTICATED: 80,
  ROLE_VIOLATION: 81,
  NOT_WHITELISTED: 82,
  QUOTA_EXCEEDED: 83,
  UDF_BAD_RESPONSE: 100,
  BATCH_DISABLED: 150,
  BATCH_MAX_REQUESTS_EXCEEDED: 151,
  BATCH_QUEUES_FULL: 152,
  GEO_INVALID_GEOJSON: 160,
  INDEX_FOUND: 200,
  INDEX_NOT_FOUND: 201,
  INDEX_OOM: 202,
  INDEX_NOT_READABLE: 203,
  INDEX_GENERIC: 204,
  INDEX_NAME_MAXLEN: 205,
  INDEX_MAXCOUNT: 206,
  QUERY_ABORTED: 210,
  QUERY_QUEUE_FULL: 211,
  QUERY_TIMEOUT: 212,
  QUERY_GENERIC: 213,
} as const;
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

const resultCodeNames = new Map<number, string>(Object.entries(ResultCode).map(([name, code]) => [code, name]));

/** "KEY_EXISTS (5)" style text for logs and errors. */
export function describeResultCode(code: number): string {
  return `${resultCodeNames.get(code) ?? 'UNKNOWN'} (${code})`;
}
