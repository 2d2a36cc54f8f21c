/**
 * In-memory record storage of one node: per namespace, 4096 partitions, each a Map keyed by the
 * record digest. Bins keep the client's particle bytes, so every value comes back byte for byte.
 */
import { CITRUSLEAF_EPOCH } from '../../src/shared/aerospike/protocol.js';

export const N_PARTITIONS = 4096;
/** MAX_ALLOWED_TTL in datamodel.h: 10 years. */
export const MAX_ALLOWED_TTL = 3600 * 24 * 365 * 10;

export interface NamespaceConfig {
  name: string;
  /** 1 or 2 (more is accepted; the effective factor is capped by the number of live nodes). */
  replicationFactor?: number;
  /** default-ttl in seconds; 0 = never expire. */
  defaultTtl?: number;
  /** nsup-period; 0 with allowTtlWithoutNsup false makes TTL writes fail with rc 22 (FORBIDDEN). */
  nsupPeriod?: number;
  allowTtlWithoutNsup?: boolean;
  /** max-record-size (write-block-size on older servers); over it a write fails with rc 13. */
  maxRecordSize?: number;
  /** apply-ttl-reductions (default true): false keeps a longer void time when a write shortens it. */
  applyTtlReductions?: boolean;
}

export type ResolvedNamespaceConfig = Required<NamespaceConfig>;

export function resolveNamespace(config: NamespaceConfig): ResolvedNamespaceConfig {
  if (!/^[^:;/\s]{1,31}$/.test(config.name)) throw new Error(`bad namespace name ${JSON.stringify(config.name)}`);
  return {
    name: config.name,
    replicationFactor: config.replicationFactor ?? 1,
    defaultTtl: config.defaultTtl ?? 0,
    nsupPeriod: config.nsupPeriod ?? 120,
    allowTtlWithoutNsup: config.allowTtlWithoutNsup ?? false,
    maxRecordSize: config.maxRecordSize ?? 1024 * 1024,
    applyTtlReductions: config.applyTtlReductions ?? true,
  };
}

export interface StoredBin {
  /** Bin name bytes, as sent. */
  name: Buffer;
  particleType: number;
  value: Buffer;
}

export interface StoredKey {
  particleType: number;
  value: Buffer;
}

export interface StoredRecord {
  digest: Buffer;
  /** The set name; empty for a record without a set. */
  setName: string;
  key: StoredKey | null;
  bins: StoredBin[];
  /** 16-bit, never 0 for a live record (wraps to 1). */
  generation: number;
  /** Seconds since 2010-01-01 (CITRUSLEAF_EPOCH); 0 = never expires. */
  voidTime: number;
  lastUpdateMs: number;
}

export function partitionId(digest: Buffer): number {
  return (digest[0] | (digest[1] << 8)) & (N_PARTITIONS - 1);
}

export function digestKey(digest: Buffer): string {
  return digest.toString('latin1');
}

export function nowVoidTimeBase(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000) - CITRUSLEAF_EPOCH;
}

/**
 * Approximate flat-record size as the server measures it against max-record-size: a fixed header,
 * the set name and stored key, and per bin its name, type and value. Within a few dozen bytes of
 * the server's figure; tests of the limit should stay clear of the edge by more than that.
 */
export function recordSize(setLength: number, key: StoredKey | null, bins: readonly StoredBin[]): number {
  let size = 32 + setLength + (key ? 1 + key.value.length + 1 : 0);
  for (const bin of bins) size += 1 + bin.name.length + 1 + 4 + bin.value.length;
  return size;
}

/*
 * A record is kept as ONE buffer (few heap objects per record keeps the garbage collector cheap):
 *   generation:u16 voidTime:u32 lastUpdateMs:f64 setLength:u8 set keyType:u8 [keyLength:u32 key]
 *   binCount:u16 { nameLength:u8 name particleType:u8 valueLength:u32 value }...
 * keyType 0 means no stored key.
 */
const HEADER = 2 + 4 + 8;

export function encodeRecord(record: Omit<StoredRecord, 'digest'>, setBytes?: Buffer): Buffer {
  const set = setBytes ?? Buffer.from(record.setName, 'utf8');
  let size = HEADER + 1 + set.length + 1 + (record.key ? 4 + record.key.value.length : 0) + 2;
  for (const bin of record.bins) size += 1 + bin.name.length + 1 + 4 + bin.value.length;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt16BE(record.generation, 0);
  buf.writeUInt32BE(record.voidTime >>> 0, 2);
  buf.writeDoubleBE(record.lastUpdateMs, 6);
  let at = HEADER;
  buf[at++] = set.length;
  at += set.copy(buf, at);
  if (record.key) {
    buf[at++] = record.key.particleType || 0xff;
    buf.writeUInt32BE(record.key.value.length, at);
    at += 4;
    at += record.key.value.copy(buf, at);
  } else {
    buf[at++] = 0;
  }
  buf.writeUInt16BE(record.bins.length, at);
  at += 2;
  for (const bin of record.bins) {
    buf[at++] = bin.name.length;
    at += bin.name.copy(buf, at);
    buf[at++] = bin.particleType;
    buf.writeUInt32BE(bin.value.length, at);
    at += 4;
    at += bin.value.copy(buf, at);
  }
  return buf;
}

export function decodeRecord(digest: Buffer, buf: Buffer): StoredRecord {
  let at = HEADER;
  const setLength = buf[at++];
  const setName = buf.toString('utf8', at, at + setLength);
  at += setLength;
  let key: StoredKey | null = null;
  const keyType = buf[at++];
  if (keyType !== 0) {
    const length = buf.readUInt32BE(at);
    at += 4;
    key = { particleType: keyType === 0xff ? 0 : keyType, value: buf.subarray(at, at + length) };
    at += length;
  }
  const count = buf.readUInt16BE(at);
  at += 2;
  const bins: StoredBin[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const nameLength = buf[at++];
    const name = buf.subarray(at, at + nameLength);
    at += nameLength;
    const particleType = buf[at++];
    const valueLength = buf.readUInt32BE(at);
    at += 4;
    bins[i] = { name, particleType, value: buf.subarray(at, at + valueLength) };
    at += valueLength;
  }
  return {
    digest,
    setName,
    key,
    bins,
    generation: buf.readUInt16BE(0),
    voidTime: buf.readUInt32BE(2),
    lastUpdateMs: buf.readDoubleBE(6),
  };
}

export function encodedGeneration(buf: Buffer): number {
  return buf.readUInt16BE(0);
}

export function encodedLastUpdate(buf: Buffer): number {
  return buf.readDoubleBE(6);
}

function encodedExpired(buf: Buffer, nowBase: number): boolean {
  const voidTime = buf.readUInt32BE(2);
  return voidTime !== 0 && voidTime <= nowBase;
}

/** The stored set name bytes of an encoded record. */
export function encodedSet(buf: Buffer): Buffer {
  return buf.subarray(HEADER + 1, HEADER + 1 + buf[HEADER]);
}

export class NamespaceStore {
  private readonly partitions: (Map<string, Buffer> | undefined)[] = new Array(N_PARTITIONS);
  /** A write looks its digest up, then stores under it: the key string is made once for both. */
  private lastDigest: Buffer | null = null;
  private lastKey = '';

  private keyOf(digest: Buffer): string {
    if (digest !== this.lastDigest) {
      this.lastDigest = digest;
      this.lastKey = digestKey(digest);
    }
    return this.lastKey;
  }

  constructor(readonly config: ResolvedNamespaceConfig) {}

  partition(pid: number): Map<string, Buffer> | undefined {
    return this.partitions[pid];
  }

  /** The live (not expired) record with this digest, decoded. */
  get(digest: Buffer, nowMs = Date.now()): StoredRecord | undefined {
    const buf = this.getEncoded(digest, nowMs);
    return buf ? decodeRecord(digest, buf) : undefined;
  }

  getEncoded(digest: Buffer, nowMs = Date.now()): Buffer | undefined {
    const buf = this.partitions[partitionId(digest)]?.get(this.keyOf(digest));
    if (buf && encodedExpired(buf, nowVoidTimeBase(nowMs))) return undefined;
    return buf;
  }

  put(record: StoredRecord): void {
    this.putEncoded(record.digest, encodeRecord(record));
  }

  putEncoded(digest: Buffer, buf: Buffer): void {
    const pid = partitionId(digest);
    let map = this.partitions[pid];
    if (!map) {
      map = new Map();
      this.partitions[pid] = map;
    }
    map.set(this.keyOf(digest), buf);
  }

  delete(digest: Buffer): boolean {
    return this.partitions[partitionId(digest)]?.delete(this.keyOf(digest)) ?? false;
  }

  dropPartition(pid: number): void {
    this.partitions[pid] = undefined;
  }

  setPartition(pid: number, records: Map<string, Buffer>): void {
    this.partitions[pid] = records;
  }

  /** Every live record, decoded (for inspection and info statistics, not for hot paths). */
  *records(nowMs = Date.now()): Generator<StoredRecord> {
    const nowBase = nowVoidTimeBase(nowMs);
    for (const map of this.partitions) {
      if (!map) continue;
      for (const [key, buf] of map) {
        if (!encodedExpired(buf, nowBase)) yield decodeRecord(Buffer.from(key, 'latin1'), buf);
      }
    }
  }

  clear(setName?: string): number {
    const setBytes = setName === undefined ? undefined : Buffer.from(setName, 'utf8');
    let removed = 0;
    for (const map of this.partitions) {
      if (!map) continue;
      for (const [key, buf] of map) {
        if (!setBytes || encodedSet(buf).equals(setBytes)) {
          map.delete(key);
          removed++;
        }
      }
    }
    return removed;
  }
}
