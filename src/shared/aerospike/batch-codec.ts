/**
 * Batch-index write commands (AS_MSG with info1 BATCH and one field 41), row for row as the C
 * asrestore 4.5.8 sends them (NOTES §5.1–5.2, §6.2; C client aerospike_batch.c):
 *   row := index:u32 digest:20 meta:u8(0x0e) info1:u8(0) info2:u8 info3:u8 gen:u16 ttl:u32
 *          n_fields:u16 n_ops:u16 NAMESPACE SET [KEY] WRITE-op per bin
 * Rows never use REPEAT (asrestore never does, and the server refuses REPEAT after a KEY row).
 * The row index is the record's position in the caller's list; answers come back by that index.
 */
import type { AsbRecord } from '../asb/types.js';
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
  writeBytesField,
  writeKeyField,
  encodeTarget,
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
const ROW_FIXED_SIZE = 4 + DIGEST_SIZE + 1 + 1 + 2 + 2 + 4 + 2 + 2;
/** proto header + msg header + field header + count:u32 + parent flags:u8 */
const BATCH_PREFIX_SIZE = PROTO_HEADER_SIZE + MSG_HEADER_SIZE + FIELD_HEADER_SIZE + 4 + 1;

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

/**
 * Encodes the rows `rows[0..rowCount)` (indices into `records` and `ttls`; null = all in order) as
 * one batch write. Each row is sent with its index into `records`, so answers from several
 * per-node batches land in one result array.
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
    for (let r = 0; r < rowCount; r++) {
      const record = records[rows === null ? r : rows[r]];
      checkRecord(record);
      batchWriteRowSize(record);
    }
    throw new AerospikeError(ClientErrorCode.ENCODE, 'a batch record has a value that cannot be encoded');
  }
  const bodySize = size - PROTO_HEADER_SIZE;
  if (bodySize > PROTO_SIZE_MAX) {
    throw new AerospikeError(
      ClientErrorCode.ENCODE,
      `a batch of ${rowCount} records needs ${bodySize} bytes, above the server's ${PROTO_SIZE_MAX}-byte message limit; use a smaller batch size`,
    );
  }

  const info2 = flags.info2 | Info2.WRITE | Info2.RESPOND_ALL_OPS;
  const info3 = flags.info3;
  // meta, info1, info2, info3 of every row, as one 32-bit store.
  const rowInfo = ((BATCH_WRITE_ROW_META << 24) | (info2 << 8) | info3) >>> 0;
  const withGeneration = sendsGeneration(flags);

  const buf = allocator(size);
  const target = encodeTarget(buf);
  const view = target.view;
  writeProtoHeader(buf, 0, ProtoType.AS_MSG, bodySize);
  let offset = writeMsgHeader(view, PROTO_HEADER_SIZE, Info1.BATCH, 0, 0, 0, 0, 0, timeoutMs >>> 0, 1, 0);
  view.setUint32(offset, size - offset - 4);
  buf[offset + 4] = FieldType.BATCH_INDEX;
  view.setUint32(offset + 5, rowCount);
  buf[offset + 9] = BATCH_PARENT_FLAGS;
  offset += FIELD_HEADER_SIZE + 4 + 1;

  // Consecutive records share their namespace and set Buffers: both fields are encoded once and
  // copied from the first row that has them.
  let lastNamespace: Buffer | null = null;
  let lastSet: Buffer | null = null;
  let fieldsStart = 0;
  let fieldsLength = 0;
  for (let r = 0; r < rowCount; r++) {
    const index = rows === null ? r : rows[r];
    const record = records[index];
    const key = record.key;
    view.setUint32(offset, index);
    buf.set(record.digest, offset + 4);
    offset += 4 + DIGEST_SIZE;
    view.setUint32(offset, rowInfo);
    // The row generation is 16 bits on the wire (record generations are 16 bits on the server too).
    view.setUint16(offset + 4, withGeneration ? record.generation & 0xffff : 0);
    view.setUint32(offset + 6, ttls[index] >>> 0);
    view.setUint16(offset + 10, key === null ? 2 : 3);
    view.setUint16(offset + 12, record.bins.length);
    offset += 14;
    const namespace = record.namespace;
    const set = record.set;
    if (r > 0 && namespace === lastNamespace && set === lastSet) {
      buf.copyWithin(offset, fieldsStart, fieldsStart + fieldsLength);
      offset += fieldsLength;
    } else {
      fieldsStart = offset;
      offset = writeBytesField(target, offset, FieldType.NAMESPACE, namespace);
      offset = writeBytesField(target, offset, FieldType.SET, set ?? EMPTY);
      fieldsLength = offset - fieldsStart;
      lastNamespace = namespace;
      lastSet = set;
    }
    if (key !== null) offset = writeKeyField(target, offset, key, record);
    offset = writeWriteOps(target, offset, record);
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
