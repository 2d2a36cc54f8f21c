/**
 * A batch of decoded records as one flat ArrayBuffer, so the thread that decodes a single input can
 * hand batches to other worker threads without a structured-clone walk over thousands of objects
 * (the buffer is transferred, not copied). Values keep their exact bytes and particle types:
 * strings, blobs, GeoJSON, HLLs, lists and maps are copied verbatim; integers go as int64, doubles
 * as their IEEE bits; the unpacked bins are views into the buffer. Unpacked records carry no void
 * time (their TTL travels instead).
 *
 * Layout (big-endian), per batch: u32 record count, then per record:
 *   u32 ttl, u32 line, u16 generation, u8 ns length, ns, u8 has-set, [u8 set length, set],
 *   digest(20), u8 key type (0 = none), [u32 key length, key bytes], u16 bin count, then per bin:
 *   u8 name length, name, u8 particle type, u32 value length, value bytes.
 */
import { ParticleType } from '../shared/aerospike/protocol.js';
import type { AsbBin, AsbKey, AsbRecord, BinValue } from '../shared/asb/types.js';

const DIGEST = 20;
const TWO_POW_32 = 4294967296;

function keySize(key: AsbKey | null): number {
  if (key === null) return 1;
  return 1 + 4 + (key.type === ParticleType.INTEGER || key.type === ParticleType.FLOAT ? 8 : (key.value as Buffer).length);
}

function valueSize(bin: AsbBin): number {
  switch (bin.type) {
    case ParticleType.NULL:
      return 0;
    case ParticleType.INTEGER:
    case ParticleType.FLOAT:
      return 8;
    case ParticleType.BOOL:
      return 1;
    default:
      return (bin.value as Buffer).length;
  }
}

function writeInt64(view: DataView, offset: number, value: number | bigint): void {
  if (typeof value === 'bigint') {
    view.setBigInt64(offset, value);
    return;
  }
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(offset, high);
  view.setUint32(offset + 4, value - high * TWO_POW_32);
}

function readInt64(view: DataView, offset: number): number | bigint {
  const high = view.getInt32(offset);
  const low = view.getUint32(offset + 4);
  const value = high * TWO_POW_32 + low;
  return Number.isSafeInteger(value) ? value : view.getBigInt64(offset);
}

/** Packs `records[0..count)` with their wire TTLs into one buffer. */
export function packRecords(records: readonly AsbRecord[], ttls: ArrayLike<number>, count = records.length): ArrayBuffer {
  const buffer = new ArrayBuffer(packedSize(records, count));
  packInto(new Uint8Array(buffer), records, ttls, count);
  return buffer;
}

/** Bytes {@link packInto} writes for `records[0..count)`. */
export function packedSize(records: readonly AsbRecord[], count = records.length): number {
  let size = 4;
  for (let r = 0; r < count; r++) {
    const record = records[r];
    size += 4 + 4 + 2 + 1 + record.namespace.length + 1 + (record.set === null ? 0 : 1 + record.set.length) + DIGEST + keySize(record.key) + 2;
    for (const bin of record.bins) size += 1 + bin.name.length + 1 + 4 + valueSize(bin);
  }
  return size;
}

/** Packs `records[0..count)` into `bytes` (at least {@link packedSize} long); returns the bytes written. */
export function packInto(bytes: Uint8Array, records: readonly AsbRecord[], ttls: ArrayLike<number>, count = records.length): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(0, count);
  let at = 4;
  for (let r = 0; r < count; r++) {
    const record = records[r];
    view.setUint32(at, ttls[r] >>> 0);
    view.setUint32(at + 4, record.line >>> 0);
    view.setUint16(at + 8, record.generation & 0xffff);
    bytes[at + 10] = record.namespace.length;
    bytes.set(record.namespace, at + 11);
    at += 11 + record.namespace.length;
    if (record.set === null) {
      bytes[at++] = 0;
    } else {
      bytes[at] = 1;
      bytes[at + 1] = record.set.length;
      bytes.set(record.set, at + 2);
      at += 2 + record.set.length;
    }
    bytes.set(record.digest, at);
    at += DIGEST;
    const key = record.key;
    if (key === null) {
      bytes[at++] = 0;
    } else {
      bytes[at] = key.type;
      if (key.type === ParticleType.INTEGER) {
        view.setUint32(at + 1, 8);
        writeInt64(view, at + 5, key.value as number | bigint);
        at += 13;
      } else if (key.type === ParticleType.FLOAT) {
        view.setUint32(at + 1, 8);
        view.setFloat64(at + 5, key.value as number);
        at += 13;
      } else {
        const value = key.value as Buffer;
        view.setUint32(at + 1, value.length);
        bytes.set(value, at + 5);
        at += 5 + value.length;
      }
    }
    view.setUint16(at, record.bins.length);
    at += 2;
    for (const bin of record.bins) {
      bytes[at] = bin.name.length;
      bytes.set(bin.name, at + 1);
      at += 1 + bin.name.length;
      bytes[at] = bin.type;
      const length = valueSize(bin);
      view.setUint32(at + 1, length);
      at += 5;
      switch (bin.type) {
        case ParticleType.NULL:
          break;
        case ParticleType.INTEGER:
          writeInt64(view, at, bin.value as number | bigint);
          break;
        case ParticleType.FLOAT:
          view.setFloat64(at, bin.value as number);
          break;
        case ParticleType.BOOL:
          bytes[at] = bin.value ? 1 : 0;
          break;
        default:
          bytes.set(bin.value as Buffer, at);
      }
      at += length;
    }
  }
  return at;
}

/**
 * The records and TTLs of a packed batch; byte values are views into `packed` (an ArrayBuffer,
 * or a region of a shared slot), which must stay unchanged while the records are in use.
 */
export function unpackRecords(packed: ArrayBuffer | Uint8Array): { records: AsbRecord[]; ttls: Uint32Array } {
  const region = packed instanceof Uint8Array ? packed : new Uint8Array(packed);
  const bytes = Buffer.from(region.buffer, region.byteOffset, region.byteLength);
  const view = new DataView(region.buffer, region.byteOffset, region.byteLength);
  const count = view.getUint32(0);
  const records = new Array<AsbRecord>(count);
  const ttls = new Uint32Array(count);
  // Consecutive records of one namespace share one Buffer, as the decoder's do: the write client
  // matches namespaces by identity first.
  let lastNamespace: Buffer | null = null;
  const namespaceAt = (start: number, end: number): Buffer => {
    const previous = lastNamespace;
    if (previous !== null && previous.length === end - start) {
      let same = true;
      for (let i = 0; i < previous.length; i++) {
        if (previous[i] !== bytes[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return previous;
    }
    lastNamespace = bytes.subarray(start, end);
    return lastNamespace;
  };
  let at = 4;
  for (let r = 0; r < count; r++) {
    ttls[r] = view.getUint32(at);
    const line = view.getUint32(at + 4);
    const generation = view.getUint16(at + 8);
    const nsLength = bytes[at + 10];
    const namespace = namespaceAt(at + 11, at + 11 + nsLength);
    at += 11 + nsLength;
    let set: Buffer | null = null;
    if (bytes[at] === 0) {
      at++;
    } else {
      const length = bytes[at + 1];
      set = bytes.subarray(at + 2, at + 2 + length);
      at += 2 + length;
    }
    const digest = bytes.subarray(at, at + DIGEST);
    at += DIGEST;
    let key: AsbKey | null = null;
    const keyType = bytes[at];
    if (keyType === 0) {
      at++;
    } else {
      const length = view.getUint32(at + 1);
      const value =
        keyType === ParticleType.INTEGER ? readInt64(view, at + 5) : keyType === ParticleType.FLOAT ? view.getFloat64(at + 5) : bytes.subarray(at + 5, at + 5 + length);
      key = { type: keyType as AsbKey['type'], value };
      at += 5 + length;
    }
    const binCount = view.getUint16(at);
    at += 2;
    const bins = new Array<AsbBin>(binCount);
    for (let b = 0; b < binCount; b++) {
      const nameLength = bytes[at];
      const name = bytes.subarray(at + 1, at + 1 + nameLength);
      at += 1 + nameLength;
      const type = bytes[at] as ParticleType;
      const length = view.getUint32(at + 1);
      at += 5;
      let value: BinValue;
      switch (type) {
        case ParticleType.NULL:
          value = null;
          break;
        case ParticleType.INTEGER:
          value = readInt64(view, at);
          break;
        case ParticleType.FLOAT:
          value = view.getFloat64(at);
          break;
        case ParticleType.BOOL:
          value = bytes[at] !== 0;
          break;
        default:
          value = bytes.subarray(at, at + length);
      }
      bins[b] = { name, type, value };
      at += length;
    }
    records[r] = { namespace, digest, set, key, generation, voidTime: 0, bins, line };
  }
  return { records, ttls };
}
