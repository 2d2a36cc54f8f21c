/**
 * Batch-index write commands (AS_MSG with info1 BATCH and one field 41), row for row as the C
 * asrestore 4.5.8 sends them (NOTES §5.1–5.2, §6.2; C client aerospike_batch.c):
 *   row := index:u32 digest:20 meta:u8(0x0e) info1:u8(0) info2:u8 info3:u8 gen:u16 ttl:u32
 *          n_fields:u16 n_ops:u16 NAMESPACE SET [KEY] WRITE-op per bin
 * Rows never use REPEAT (asrestore never does, and the server refuses REPEAT after a KEY row).
 * The row index is the record's position in the caller's list; answers come back by that index.
 */
import type { AsbKey, AsbRecord } from '../asb/types.js';
import { writeProtoHeader } from './framing.js';
import {
  BatchParentFlags,
  BatchRowMeta,
  FieldType,
  Info1,
  Info2,
  MSG_HEADER_SIZE,
  PROTO_HEADER_SIZE,
  PROTO_SIZE_MAX,
  ParticleType,
  ProtoType,
} from './protocol.js';
import { sendsGeneration, type WriteFlags } from './write-flags.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import {
  DIGEST_SIZE,
  FIELD_HEADER_SIZE,
  GEOJSON_PREFIX_SIZE,
  OP_HEADER_SIZE,
  keyFieldSize,
  copyBytes,
  writeBytesField,
  writeKeyField,
  encodeTarget,
  type EncodeTarget,
  writeMsgHeader,
  writeOpsSize,
  writeWriteOps,
} from './message-codec.js';

/** Inline on in-memory namespaces, answer every key, report per-record errors: what C clients send. */
export const BATCH_PARENT_FLAGS =
  BatchParentFlags.INLINE_MEMORY | BatchParentFlags.RESPOND_ALL_KEYS | BatchParentFlags.REPORT_ERROR_REC;

/** Every write row carries info2+info3, a generation and a TTL. */
export const BATCH_WRITE_ROW_META = BatchRowMeta.HAS_INFO2_INFO3 | BatchRowMeta.HAS_GENERATION | BatchRowMeta.HAS_TTL;

/** index + digest + meta + info1 + info2 + info3 + gen:u16 + ttl:u32 + n_fields:u16 + n_ops:u16 */
export const ROW_FIXED_SIZE = 4 + DIGEST_SIZE + 1 + 1 + 2 + 2 + 4 + 2 + 2;
/** proto header + msg header + field header + count:u32 + parent flags:u8 */
export const BATCH_PREFIX_SIZE = PROTO_HEADER_SIZE + MSG_HEADER_SIZE + FIELD_HEADER_SIZE + 4 + 1;

const EMPTY = new Uint8Array(0);

/** Wire bytes of one write row for `record`. */
export function batchWriteRowSize(record: AsbRecord): number {
  const key = record.key;
  return (
    ROW_FIXED_SIZE +
    FIELD_HEADER_SIZE + record.namespace.length +
    FIELD_HEADER_SIZE + (record.set === null ? 0 : record.set.length) +
    (key === null ? 0 : keyFieldSize(key, record)) +
    writeOpsSize(record)
  );
}

/**
 * batchWriteRowSize without validation, for the hot path: a bytes value that is not a Buffer makes
 * the result NaN (its length is undefined), and the caller then finds and reports it.
 */
function fastRowSize(record: AsbRecord): number {
  const set = record.set;
  const key = record.key;
  const digest = record.digest;
  let size = ROW_FIXED_SIZE + 2 * FIELD_HEADER_SIZE + record.namespace.length + (set === null ? 0 : set.length);
  if (digest.length !== DIGEST_SIZE) return NaN;
  if (key !== null) {
    const type = key.type;
    size += FIELD_HEADER_SIZE + 1 + (type === ParticleType.INTEGER || type === ParticleType.FLOAT ? 8 : (key.value as Uint8Array).length);
  }
  const bins = record.bins;
  if (bins.length > 0xffff) return NaN;
  for (let i = 0; i < bins.length; i++) {
    const bin = bins[i];
    const type = bin.type;
    const nameLength = bin.name.length;
    if (nameLength > 255) return NaN;
    size += OP_HEADER_SIZE + nameLength;
    if (type === ParticleType.INTEGER || type === ParticleType.FLOAT) size += 8;
    else if (type === ParticleType.BOOL) size += 1;
    else if (type === ParticleType.NULL) continue;
    else {
      const value = bin.value as Uint8Array | null;
      if (value === null || typeof value !== 'object') return NaN;
      size += type === ParticleType.GEOJSON ? GEOJSON_PREFIX_SIZE + value.length : value.length;
    }
  }
  return size;
}

function checkRecord(record: AsbRecord): void {
  if (!(record.digest instanceof Uint8Array) || record.digest.length !== DIGEST_SIZE) {
    throw new AerospikeError(ClientErrorCode.ENCODE, `a record digest must be ${DIGEST_SIZE} bytes (record at line ${record.line})`);
  }
}

/** Gives the Buffer a command is encoded into: exactly `size` bytes (e.g. a reused per-connection buffer). */
export type RequestAllocator = (size: number) => Buffer;

const allocate: RequestAllocator = (size) => Buffer.allocUnsafe(size);

/** The meta, info1, info2 and info3 bytes every write row starts its header with, as one 32-bit value. */
export function batchRowInfo(flags: WriteFlags): number {
  const info2 = flags.info2 | Info2.WRITE | Info2.RESPOND_ALL_OPS;
  return ((BATCH_WRITE_ROW_META << 24) | (info2 << 8) | flags.info3) >>> 0;
}

/**
 * Bytes of `record`'s write row, validated: throws ENCODE (naming the record's line) for what
 * cannot be sent. The one size pass of every row encoder.
 */
export function checkedRowSize(record: AsbRecord): number {
  const size = fastRowSize(record);
  if (size > 0) return size;
  checkRecord(record);
  return batchWriteRowSize(record);
}

/** Bytes of a write row's head (everything before its ops): see {@link writeBatchRowHead}. */
export function batchRowHeadSize(namespace: Uint8Array, set: Uint8Array | null, key: AsbKey | null): number {
  return ROW_FIXED_SIZE + 2 * FIELD_HEADER_SIZE + namespace.length + (set === null ? 0 : set.length) + (key === null ? 0 : keyFieldSize(key));
}

/**
 * Writes the head of a write row at `offset`: index, digest, meta and info bytes (`rowInfo` from
 * {@link batchRowInfo}), generation (when `withGeneration`), TTL, field and op counts, then the
 * NAMESPACE, SET and (when there is a key) KEY fields. Returns where the row's first op goes.
 */
export function writeBatchRowHead(
  target: EncodeTarget,
  offset: number,
  index: number,
  digest: Uint8Array,
  namespace: Uint8Array,
  set: Uint8Array | null,
  key: AsbKey | null,
  generation: number,
  ttl: number,
  rowInfo: number,
  withGeneration: boolean,
  opCount: number,
  record?: AsbRecord,
): number {
  const view = target.view;
  view.setUint32(offset, index);
  copyBytes(target.bytes, offset + 4, digest);
  offset += 4 + DIGEST_SIZE;
  view.setUint32(offset, rowInfo);
  // The row generation is 16 bits on the wire (record generations are 16 bits on the server too).
  view.setUint16(offset + 4, withGeneration ? generation & 0xffff : 0);
  view.setUint32(offset + 6, ttl >>> 0);
  view.setUint16(offset + 10, key === null ? 2 : 3);
  view.setUint16(offset + 12, opCount);
  offset += 14;
  offset = writeBytesField(target, offset, FieldType.NAMESPACE, namespace);
  offset = writeBytesField(target, offset, FieldType.SET, set ?? EMPTY);
  return key === null ? offset : writeKeyField(target, offset, key, record);
}

/**
 * Writes one write row at `offset` (`rowInfo` from {@link batchRowInfo}); returns the offset after
 * it. Every batch command is made of rows laid out by this and {@link writeBatchRowHead}.
 */
export function writeBatchWriteRow(
  target: EncodeTarget,
  offset: number,
  index: number,
  record: AsbRecord,
  ttl: number,
  rowInfo: number,
  withGeneration: boolean,
): number {
  offset = writeBatchRowHead(
    target,
    offset,
    index,
    record.digest,
    record.namespace,
    record.set,
    record.key,
    record.generation,
    ttl,
    rowInfo,
    withGeneration,
    record.bins.length,
    record,
  );
  return writeWriteOps(target, offset, record);
}

/**
 * Writes the proto header, the AS_MSG header and the batch field's head of a batch command of
 * `rowCount` rows and `size` bytes in all; the rows follow at {@link BATCH_PREFIX_SIZE}.
 */
export function writeBatchPrefix(buf: Buffer, view: DataView, size: number, rowCount: number, timeoutMs: number): void {
  writeProtoHeader(buf, 0, ProtoType.AS_MSG, size - PROTO_HEADER_SIZE);
  const offset = writeMsgHeader(view, PROTO_HEADER_SIZE, Info1.BATCH, 0, 0, 0, 0, 0, timeoutMs >>> 0, 1, 0);
  view.setUint32(offset, size - offset - 4);
  buf[offset + 4] = FieldType.BATCH_INDEX;
  view.setUint32(offset + 5, rowCount);
  buf[offset + 9] = BATCH_PARENT_FLAGS;
}

/** The byte offset of the AS_MSG transaction TTL (the server-side timeout) in any AS_MSG request. */
export const TRANSACTION_TTL_OFFSET = PROTO_HEADER_SIZE + 14;

/** The largest body a batch command may have. */
export function checkBatchBodySize(bodySize: number, rowCount: number): void {
  if (bodySize > PROTO_SIZE_MAX) {
    throw new AerospikeError(
      ClientErrorCode.ENCODE,
      `a batch of ${rowCount} records needs ${bodySize} bytes, above the server's ${PROTO_SIZE_MAX}-byte message limit; use a smaller batch size`,
    );
  }
}

/**
 * Encodes the rows `rows[0..rowCount)` (indices into `records` and `ttls`; null = all in order) as
 * one batch write. Each row is sent with its index into `records`.
 */
export function encodeBatchWriteRows(
  records: readonly AsbRecord[],
  rows: ArrayLike<number> | null,
  rowCount: number,
  ttls: ArrayLike<number>,
  flags: WriteFlags,
  timeoutMs: number,
  allocator: RequestAllocator = allocate,
): Buffer {
  if (rowCount <= 0) throw new AerospikeError(ClientErrorCode.ENCODE, 'a batch needs at least one record');
  let size = BATCH_PREFIX_SIZE;
  for (let r = 0; r < rowCount; r++) size += fastRowSize(records[rows === null ? r : rows[r]]);
  if (!(size > 0)) {
    // A value of the wrong JS type made a length undefined: find it and say which.
    for (let r = 0; r < rowCount; r++) checkedRowSize(records[rows === null ? r : rows[r]]);
    throw new AerospikeError(ClientErrorCode.ENCODE, 'a batch record has a value that cannot be encoded');
  }
  checkBatchBodySize(size - PROTO_HEADER_SIZE, rowCount);

  const rowInfo = batchRowInfo(flags);
  const withGeneration = sendsGeneration(flags);
  const buf = allocator(size);
  const target = encodeTarget(buf);
  writeBatchPrefix(buf, target.view, size, rowCount, timeoutMs);
  let offset = BATCH_PREFIX_SIZE;
  for (let r = 0; r < rowCount; r++) {
    const index = rows === null ? r : rows[r];
    offset = writeBatchWriteRow(target, offset, index, records[index], ttls[index], rowInfo, withGeneration);
  }
  if (offset !== size) throw new Error(`internal: batch encoded ${offset} of ${size} bytes`);
  return buf;
}

/** Encodes all `records` as one batch write; row i carries index i and TTL `ttls[i]`. */
export function encodeBatchWrite(
  records: readonly AsbRecord[],
  ttls: ArrayLike<number>,
  flags: WriteFlags,
  timeoutMs: number,
): Buffer {
  return encodeBatchWriteRows(records, null, records.length, ttls, flags, timeoutMs);
}

/** Where a row's parts sit, from the row's start. */
export const ROW_DIGEST_OFFSET = 4;
const ROW_GENERATION_OFFSET = 4 + DIGEST_SIZE + 4;
const ROW_TTL_OFFSET = ROW_GENERATION_OFFSET + 2;
const ROW_FIELD_COUNT_OFFSET = ROW_TTL_OFFSET + 4;
/** The row's op count (u16): patched once a row written op by op is complete. */
export const ROW_OP_COUNT_OFFSET = ROW_FIELD_COUNT_OFFSET + 2;
/** The NAMESPACE field, the first of every write row. */
export const ROW_NAMESPACE_FIELD_OFFSET = ROW_FIXED_SIZE;

/**
 * The single-record write (what encodeRecordWrite sends) of the write row at `bytes[start..end)`:
 * a byte shuffle, since a row holds every field and op a single write needs; only the DIGEST field
 * is added after SET. `flags` are the single-write flags; the row's generation is sent when they
 * ask for a generation check (rows carry it whenever the same policy's batch flags do).
 */
export function encodeRecordWriteFromRow(bytes: Uint8Array, start: number, end: number, flags: WriteFlags, timeoutMs: number): Buffer {
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fieldsStart = start + ROW_FIXED_SIZE;
  const namespaceEnd = fieldsStart + 4 + source.readUInt32BE(fieldsStart);
  const setEnd = namespaceEnd + 4 + source.readUInt32BE(namespaceEnd);
  const bodySize = MSG_HEADER_SIZE + (end - fieldsStart) + FIELD_HEADER_SIZE + DIGEST_SIZE;
  const buf = Buffer.allocUnsafe(PROTO_HEADER_SIZE + bodySize);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  writeProtoHeader(buf, 0, ProtoType.AS_MSG, bodySize);
  let offset = writeMsgHeader(
    view,
    PROTO_HEADER_SIZE,
    0,
    flags.info2 | Info2.WRITE,
    flags.info3,
    0,
    sendsGeneration(flags) ? source.readUInt16BE(start + ROW_GENERATION_OFFSET) : 0,
    source.readUInt32BE(start + ROW_TTL_OFFSET),
    timeoutMs >>> 0,
    source.readUInt16BE(start + ROW_FIELD_COUNT_OFFSET) + 1,
    source.readUInt16BE(start + ROW_OP_COUNT_OFFSET),
  );
  offset += source.copy(buf, offset, fieldsStart, setEnd);
  view.setUint32(offset, DIGEST_SIZE + 1);
  buf[offset + 4] = FieldType.DIGEST_RIPE;
  offset += FIELD_HEADER_SIZE;
  offset += source.copy(buf, offset, start + ROW_DIGEST_OFFSET, start + ROW_DIGEST_OFFSET + DIGEST_SIZE);
  offset += source.copy(buf, offset, setEnd, end);
  if (offset !== buf.length) throw new Error(`internal: single write from a row encoded ${offset} of ${buf.length} bytes`);
  return buf;
}
