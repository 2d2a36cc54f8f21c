/**
 * AS_MSG building blocks (proto type 3): the 22-byte message header, fields, write operations and
 * particle values, written straight from decoded records (src/shared/asb/types.ts) into one
 * preallocated Buffer. Every encoder does a size pass, one allocation, then direct writes.
 * Layouts: NOTES §4 (captures), C client as_command.c / as_proto.h.
 */
import type { AsbBin, AsbKey, AsbRecord, BinValue } from '../asb/types.js';
import { writeProtoHeader } from './framing.js';
import {
  FieldType,
  Info2,
  MSG_HEADER_SIZE,
  OpType,
  PROTO_HEADER_SIZE,
  ParticleType,
  ProtoType,
} from './protocol.js';
import { sendsGeneration, type WriteFlags } from './write-flags.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';

/** A field is size:u32 (type byte + data), type:u8, data. */
export const FIELD_HEADER_SIZE = 5;
/** An op is size:u32 (everything after it), op:u8, particle:u8, flags:u8, name_len:u8, name, value. */
export const OP_HEADER_SIZE = 8;
export const DIGEST_SIZE = 20;
/** GeoJSON values carry flags:u8 and ncells:u16 (0 from clients) before the JSON text. */
export const GEOJSON_PREFIX_SIZE = 3;

const TWO_POW_32 = 4294967296;
const TWO_POW_63 = 9223372036854775808;

/**
 * Where a command is encoded: the bytes and a DataView over the same memory. Multi-byte integers
 * and doubles go through the DataView (big-endian by default), which costs a third of the
 * instructions of byte-by-byte stores.
 */
export interface EncodeTarget {
  bytes: Buffer;
  view: DataView;
}

export function encodeTarget(bytes: Buffer): EncodeTarget {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.length) };
}

/** Copies a byte run: by hand when short (a native call costs more), else with one set(). */
export function copyBytes(target: Uint8Array, offset: number, source: Uint8Array): number {
  const length = source.length;
  if (length < 8) {
    for (let i = 0; i < length; i++) target[offset + i] = source[i];
  } else {
    target.set(source, offset);
  }
  return offset + length;
}

/** Writes the 22-byte AS_MSG header at `offset`; returns the offset after it. */
export function writeMsgHeader(
  view: DataView,
  offset: number,
  info1: number,
  info2: number,
  info3: number,
  info4: number,
  generation: number,
  recordTtl: number,
  transactionTtl: number,
  nFields: number,
  nOps: number,
): number {
  // header_sz, info1, info2, info3 in one store; info4 and the result code (always 0 in a request).
  view.setUint32(offset, ((MSG_HEADER_SIZE << 24) | (info1 << 16) | (info2 << 8) | info3) >>> 0);
  view.setUint16(offset + 4, info4 << 8);
  view.setUint32(offset + 6, generation);
  view.setUint32(offset + 10, recordTtl);
  view.setUint32(offset + 14, transactionTtl);
  view.setUint16(offset + 18, nFields);
  view.setUint16(offset + 20, nOps);
  return offset + MSG_HEADER_SIZE;
}

/** Writes a field whose data is `data`; returns the offset after it. */
export function writeBytesField(target: EncodeTarget, offset: number, type: number, data: Uint8Array): number {
  target.view.setUint32(offset, data.length + 1);
  target.bytes[offset + 4] = type;
  return copyBytes(target.bytes, offset + FIELD_HEADER_SIZE, data);
}

function encodeError(message: string, record?: AsbRecord): AerospikeError {
  const where = record === undefined ? '' : ` (record at line ${record.line})`;
  return new AerospikeError(ClientErrorCode.ENCODE, message + where);
}

/** Writes an int64 (number within ±2^63, or bigint) big-endian. */
export function writeInt64(view: DataView, offset: number, value: number | bigint, record?: AsbRecord): void {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value >= TWO_POW_63 || value < -TWO_POW_63) {
      throw encodeError(`integer value ${value} is not a 64-bit integer`, record);
    }
    if (value >= -2147483648 && value <= 2147483647) {
      view.setInt32(offset, value < 0 ? -1 : 0);
      view.setInt32(offset + 4, value);
      return;
    }
    const high = Math.floor(value / TWO_POW_32);
    view.setInt32(offset, high | 0);
    view.setUint32(offset + 4, value - high * TWO_POW_32);
    return;
  }
  if (typeof value !== 'bigint' || value > 0x7fffffffffffffffn || value < -0x8000000000000000n) {
    throw encodeError(`integer value ${String(value)} is not a 64-bit integer`, record);
  }
  view.setBigInt64(offset, value);
}

function bufferValue(value: BinValue, what: string, record?: AsbRecord): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw encodeError(`${what} needs a Buffer value, got ${value === null ? 'null' : typeof value}`, record);
}

/** Bytes of the particle value of `bin` on the wire (after the op header and name). */
export function binValueSize(bin: AsbBin, record?: AsbRecord): number {
  switch (bin.type) {
    case ParticleType.NULL:
      return 0;
    case ParticleType.INTEGER:
    case ParticleType.FLOAT:
      return 8;
    case ParticleType.BOOL:
      return 1;
    case ParticleType.GEOJSON:
      return GEOJSON_PREFIX_SIZE + bufferValue(bin.value, 'a GeoJSON bin', record).length;
    default:
      return bufferValue(bin.value, `a bin of particle type ${bin.type}`, record).length;
  }
}

/** Writes the particle value of `bin`; returns the offset after it. */
export function writeBinValue(target: EncodeTarget, offset: number, bin: AsbBin, record?: AsbRecord): number {
  const value = bin.value;
  switch (bin.type) {
    case ParticleType.NULL:
      return offset;
    case ParticleType.INTEGER:
      writeInt64(target.view, offset, value as number | bigint, record);
      return offset + 8;
    case ParticleType.FLOAT:
      if (typeof value !== 'number') throw encodeError(`a float bin needs a number, got ${typeof value}`, record);
      target.view.setFloat64(offset, value);
      return offset + 8;
    case ParticleType.BOOL:
      if (typeof value !== 'boolean') throw encodeError(`a bool bin needs a boolean, got ${typeof value}`, record);
      target.bytes[offset] = value ? 1 : 0;
      return offset + 1;
    case ParticleType.GEOJSON:
      // flags 0, ncells 0: the server computes the cells itself.
      target.view.setUint16(offset, 0);
      target.bytes[offset + 2] = 0;
      return copyBytes(target.bytes, offset + GEOJSON_PREFIX_SIZE, value as Uint8Array);
    default:
      // STRING, BLOB, language blobs, HLL, MAP, LIST: the bytes verbatim.
      return copyBytes(target.bytes, offset, value as Uint8Array);
  }
}

/** Bytes of all WRITE ops of `record` (one per bin). */
export function writeOpsSize(record: AsbRecord): number {
  const bins = record.bins;
  if (bins.length > 0xffff) throw encodeError(`${bins.length} bins do not fit a message`, record);
  let size = 0;
  for (let i = 0; i < bins.length; i++) {
    const bin = bins[i];
    const nameLength = bin.name.length;
    if (nameLength > 255) throw encodeError(`bin name of ${nameLength} bytes cannot be encoded`, record);
    size += OP_HEADER_SIZE + nameLength + binValueSize(bin, record);
  }
  return size;
}

/**
 * Writes the head of a WRITE op at `offset`: size (everything after the size field, `valueEnd` -
 * `offset` - 4), op, particle type, flags 0, name length, name. Returns where the value goes.
 */
export function writeWriteOpHead(target: EncodeTarget, offset: number, type: number, name: Uint8Array, valueEnd: number): number {
  const view = target.view;
  const bytes = target.bytes;
  const nameLength = name.length;
  view.setUint32(offset, valueEnd - offset - 4);
  // op WRITE, particle type, flags 0, name length in one store.
  view.setUint32(offset + 4, ((OpType.WRITE << 24) | (type << 16) | nameLength) >>> 0);
  offset += OP_HEADER_SIZE;
  for (let j = 0; j < nameLength; j++) bytes[offset + j] = name[j];
  return offset + nameLength;
}

/** Writes one WRITE op per bin; returns the offset after them. */
export function writeWriteOps(target: EncodeTarget, offset: number, record: AsbRecord): number {
  const bins = record.bins;
  for (let i = 0; i < bins.length; i++) {
    const bin = bins[i];
    const start = offset;
    // The size is known once the value is written: patched below.
    offset = writeBinValue(target, writeWriteOpHead(target, start, bin.type, bin.name, start), bin, record);
    target.view.setUint32(start, offset - start - 4);
  }
  return offset;
}

/** Bytes of the key's value (after its particle-type byte). */
export function keyValueSize(key: AsbKey, record?: AsbRecord): number {
  switch (key.type) {
    case ParticleType.INTEGER:
    case ParticleType.FLOAT:
      return 8;
    case ParticleType.STRING:
    case ParticleType.BLOB:
      return bufferValue(key.value as BinValue, 'a string or blob key', record).length;
    default:
      throw encodeError(`a key of particle type ${(key as AsbKey).type} cannot be sent`, record);
  }
}

/** Bytes of a KEY field holding `key`. */
export function keyFieldSize(key: AsbKey, record?: AsbRecord): number {
  return FIELD_HEADER_SIZE + 1 + keyValueSize(key, record);
}

/** Writes a KEY field: particle type byte, then the value. Returns the offset after it. */
export function writeKeyField(target: EncodeTarget, offset: number, key: AsbKey, record?: AsbRecord): number {
  const view = target.view;
  const start = offset;
  target.bytes[offset + 4] = FieldType.KEY;
  target.bytes[offset + 5] = key.type;
  offset += FIELD_HEADER_SIZE + 1;
  switch (key.type) {
    case ParticleType.INTEGER:
      writeInt64(view, offset, key.value as number | bigint, record);
      offset += 8;
      break;
    case ParticleType.FLOAT:
      if (typeof key.value !== 'number') throw encodeError('a float key needs a number', record);
      view.setFloat64(offset, key.value);
      offset += 8;
      break;
    default:
      offset = copyBytes(target.bytes, offset, key.value as Uint8Array);
  }
  view.setUint32(start, offset - start - 4);
  return offset;
}

function checkDigest(record: AsbRecord): void {
  if (!(record.digest instanceof Uint8Array) || record.digest.length !== DIGEST_SIZE) {
    throw encodeError(`a record digest must be ${DIGEST_SIZE} bytes`, record);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * One single-record write (NOTES §6.3): header with the policy bits, expected generation when the
 * flags ask for a generation check, the TTL; fields NAMESPACE, SET (empty when none), DIGEST_RIPE,
 * KEY iff the record has one; one WRITE op per bin.
 */
export function encodeRecordWrite(record: AsbRecord, ttl: number, flags: WriteFlags, timeoutMs: number): Buffer {
  checkDigest(record);
  const set = record.set ?? EMPTY;
  const key = record.key;
  const bodySize =
    MSG_HEADER_SIZE +
    FIELD_HEADER_SIZE + record.namespace.length +
    FIELD_HEADER_SIZE + set.length +
    FIELD_HEADER_SIZE + DIGEST_SIZE +
    (key === null ? 0 : keyFieldSize(key, record)) +
    writeOpsSize(record);
  const buf = Buffer.allocUnsafe(PROTO_HEADER_SIZE + bodySize);
  const target = encodeTarget(buf);
  writeProtoHeader(buf, 0, ProtoType.AS_MSG, bodySize);
  let offset = writeMsgHeader(
    target.view,
    PROTO_HEADER_SIZE,
    0,
    flags.info2 | Info2.WRITE,
    flags.info3,
    0,
    sendsGeneration(flags) ? record.generation >>> 0 : 0,
    ttl >>> 0,
    timeoutMs >>> 0,
    key === null ? 3 : 4,
    record.bins.length,
  );
  offset = writeBytesField(target, offset, FieldType.NAMESPACE, record.namespace);
  offset = writeBytesField(target, offset, FieldType.SET, set);
  offset = writeBytesField(target, offset, FieldType.DIGEST_RIPE, record.digest);
  if (key !== null) offset = writeKeyField(target, offset, key, record);
  offset = writeWriteOps(target, offset, record);
  if (offset !== buf.length) throw new Error(`internal: record write encoded ${offset} of ${buf.length} bytes`);
  return buf;
}
