/**
 * The records manifests of the asbackup fixtures (../shared/fixtures/asbackup-4.5.8/manifests/
 * *.records.jsonl.gz, format in that folder's README) and exact comparisons against them:
 * - {@link typedValueMismatch}: one typed value (a bin or a list/map-free key) against what a
 *   decoder produced or what a server read-back returned, by particle type and exact bytes;
 * - {@link recordMismatches} / {@link expectRecordMatchesManifest}: a decoded .asb record.
 * Comparisons return readable mismatch texts (empty / null = equal) so a failure names every difference.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import type { AsbKey, AsbRecord } from '../../src/shared/asb/types.js';

export type ManifestValueType = 'int' | 'double' | 'string' | 'bytes' | 'bool' | 'geojson' | 'hll' | 'list' | 'map' | 'nil';

export interface ManifestTypedValue {
  type: ManifestValueType;
  /** int: decimal string; string/geojson: text; bytes/hll: base64; bool: boolean; list/map: typed tree. */
  value?: unknown;
  /** double: IEEE-754 bits, 16 hex digits, big-endian. */
  bits?: string;
  /** Top-level list/map: base64 of the exact particle bytes. */
  msgpack?: string;
  order?: string;
  flags?: number;
  /** A blob of another particle type than 4 (none occur in the visible fixtures). */
  subtype?: number;
}

export interface ManifestKey {
  type: 'int' | 'string' | 'bytes';
  /** int: decimal string; string: text; bytes: base64. */
  value: string;
}

export interface ManifestRecord {
  namespace: string;
  set: string | null;
  /** base64 of the 20-byte digest. */
  digest: string;
  key: ManifestKey | null;
  generation: number;
  ttl: number;
  /** Seconds since 2010-01-01T00:00:00Z; 0 = never expires. */
  void_time: number;
  bins: Record<string, ManifestTypedValue>;
}

/** Reads a gzip of JSON lines (one record per line). */
export function loadManifest(path: string): ManifestRecord[] {
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const records: ManifestRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.length > 0) records.push(JSON.parse(line) as ManifestRecord);
  }
  return records;
}

export function manifestByDigest(records: readonly ManifestRecord[]): Map<string, ManifestRecord> {
  const byDigest = new Map<string, ManifestRecord>();
  for (const r of records) byDigest.set(r.digest, r);
  return byDigest;
}

const PARTICLE_OF: Record<ManifestValueType, number> = {
  int: ParticleType.INTEGER,
  double: ParticleType.FLOAT,
  string: ParticleType.STRING,
  bytes: ParticleType.BLOB,
  bool: ParticleType.BOOL,
  geojson: ParticleType.GEOJSON,
  hll: ParticleType.HLL,
  list: ParticleType.LIST,
  map: ParticleType.MAP,
  nil: ParticleType.NULL,
};

/** The particle type a manifest value is stored with (undefined for an unknown manifest type). */
export function manifestParticleType(expected: ManifestTypedValue): number | undefined {
  return expected.type === 'bytes' && typeof expected.subtype === 'number' ? expected.subtype : PARTICLE_OF[expected.type];
}

function asBuffer(value: unknown): Buffer | null {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

function show(value: unknown): string {
  const buffer = asBuffer(value);
  if (buffer !== null) {
    const hex = buffer.subarray(0, 48).toString('hex');
    return `bytes(${buffer.length}) ${hex}${buffer.length > 48 ? '...' : ''}`;
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  return String(value);
}

/** An int64 from a number, bigint or 8-byte big-endian particle; undefined when it is none of those exactly. */
function int64Of(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  const buffer = asBuffer(value);
  if (buffer !== null && buffer.length === 8) return buffer.readBigInt64BE(0);
  return undefined;
}

/** Bits (16 hex digits) of a double given as a number or an 8-byte big-endian particle. */
function doubleBitsOf(value: unknown): string | undefined {
  if (typeof value === 'number') {
    const buffer = Buffer.alloc(8);
    buffer.writeDoubleBE(value);
    return buffer.toString('hex');
  }
  const buffer = asBuffer(value);
  if (buffer !== null && buffer.length === 8) return buffer.toString('hex');
  return undefined;
}

function boolOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  const buffer = asBuffer(value);
  if (buffer !== null && buffer.length === 1 && buffer[0] <= 1) return buffer[0] === 1;
  return undefined;
}

/** The exact bytes a manifest value stands for (string/geojson UTF-8, bytes/hll base64, list/map msgpack). */
function expectedBytes(expected: ManifestTypedValue): Buffer {
  switch (expected.type) {
    case 'string':
    case 'geojson':
      return Buffer.from(String(expected.value), 'utf8');
    case 'bytes':
    case 'hll':
      return Buffer.from(String(expected.value), 'base64');
    case 'list':
    case 'map':
      if (expected.msgpack === undefined) throw new Error(`a top-level ${expected.type} in a manifest carries msgpack`);
      return Buffer.from(expected.msgpack, 'base64');
    default:
      throw new Error(`${expected.type} has no byte form`);
  }
}

/**
 * Compares one value with a manifest typed value; returns null when equal, else what differs.
 * `actual.type` is the particle type; `actual.value` may be what the .asb decoder yields (number or
 * bigint for int, number for double, boolean, Buffer) or raw particle bytes as read back from a
 * server (8-byte big-endian int64 or double, 1-byte bool, the bytes of strings, blobs, HLL and the
 * msgpack of lists/maps; GeoJSON as its JSON text, without the particle's cell header).
 */
export function typedValueMismatch(actual: { type: number; value: unknown }, expected: ManifestTypedValue): string | null {
  const wantedParticle = manifestParticleType(expected);
  if (wantedParticle === undefined) return `unknown manifest type ${JSON.stringify(expected.type)}`;
  if (actual.type !== wantedParticle) {
    return `particle type ${actual.type}, expected ${wantedParticle} (${expected.type}); value ${show(actual.value)}`;
  }
  switch (expected.type) {
    case 'nil':
      return actual.value === null || actual.value === undefined ? null : `value ${show(actual.value)}, expected nil`;
    case 'int': {
      const got = int64Of(actual.value);
      const want = BigInt(String(expected.value));
      if (got === undefined) return `integer ${show(actual.value)} is not an exact int64 (expected ${want})`;
      return got === want ? null : `integer ${got}, expected ${want}`;
    }
    case 'double': {
      const got = doubleBitsOf(actual.value);
      if (expected.bits === undefined) return 'the manifest double carries no bits';
      return got === expected.bits ? null : `double bits ${got ?? show(actual.value)}, expected ${expected.bits} (${String(expected.value)})`;
    }
    case 'bool': {
      const got = boolOf(actual.value);
      return got === expected.value ? null : `bool ${show(actual.value)}, expected ${String(expected.value)}`;
    }
    default: {
      const want = expectedBytes(expected);
      const got = typeof actual.value === 'string' ? Buffer.from(actual.value, 'utf8') : asBuffer(actual.value);
      if (got === null) return `value ${show(actual.value)} is not bytes, expected ${show(want)}`;
      return got.equals(want) ? null : `bytes ${show(got)}, expected ${show(want)}`;
    }
  }
}

const KEY_PARTICLE: Record<ManifestKey['type'], number> = {
  int: ParticleType.INTEGER,
  string: ParticleType.STRING,
  bytes: ParticleType.BLOB,
};

/** Compares a user key (or its absence) with the manifest's; null when equal. */
export function keyMismatch(actual: AsbKey | null, expected: ManifestKey | null): string | null {
  if (expected === null) return actual === null ? null : `key ${show(actual.value)} (type ${actual.type}), expected none`;
  if (actual === null) return `no key, expected ${expected.type} ${JSON.stringify(expected.value)}`;
  const valueType: ManifestValueType = expected.type === 'int' ? 'int' : expected.type === 'string' ? 'string' : 'bytes';
  if (actual.type !== KEY_PARTICLE[expected.type]) return `key type ${actual.type}, expected ${expected.type}`;
  const mismatch = typedValueMismatch({ type: actual.type, value: actual.value }, { type: valueType, value: expected.value });
  return mismatch === null ? null : `key: ${mismatch}`;
}

export interface RecordMatchOptions {
  /** Allowed |decoded void time - manifest void_time| for expiring records; 0 must stay 0. */
  voidTimeToleranceSeconds: number;
  /** Compare the namespace too (default true). */
  compareNamespace?: boolean;
}

/** Every difference between a decoded record and its manifest entry (empty when they match). */
export function recordMismatches(decoded: AsbRecord, expected: ManifestRecord, options: RecordMatchOptions): string[] {
  const problems: string[] = [];
  const digest = decoded.digest.toString('base64');
  if (digest !== expected.digest) problems.push(`digest ${digest}, expected ${expected.digest}`);
  if (options.compareNamespace !== false) {
    const namespace = decoded.namespace.toString('utf8');
    if (namespace !== expected.namespace) problems.push(`namespace ${JSON.stringify(namespace)}, expected ${JSON.stringify(expected.namespace)}`);
  }
  const set = decoded.set === null ? null : decoded.set.toString('utf8');
  if (set !== expected.set) problems.push(`set ${JSON.stringify(set)}, expected ${JSON.stringify(expected.set)}`);
  const keyProblem = keyMismatch(decoded.key, expected.key);
  if (keyProblem !== null) problems.push(keyProblem);
  if (decoded.generation !== expected.generation) problems.push(`generation ${decoded.generation}, expected ${expected.generation}`);
  if (expected.void_time === 0 || decoded.voidTime === 0) {
    if (decoded.voidTime !== expected.void_time) problems.push(`void time ${decoded.voidTime}, expected ${expected.void_time}`);
  } else if (Math.abs(decoded.voidTime - expected.void_time) > options.voidTimeToleranceSeconds) {
    problems.push(`void time ${decoded.voidTime}, expected ${expected.void_time} ±${options.voidTimeToleranceSeconds}`);
  }
  const wantedNames = Object.keys(expected.bins);
  const seen = new Set<string>();
  for (const bin of decoded.bins) {
    const name = bin.name.toString('utf8');
    if (seen.has(name)) problems.push(`bin ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    const wanted = expected.bins[name];
    if (wanted === undefined) {
      problems.push(`unexpected bin ${JSON.stringify(name)}`);
      continue;
    }
    const mismatch = typedValueMismatch(bin, wanted);
    if (mismatch !== null) problems.push(`bin ${JSON.stringify(name)}: ${mismatch}`);
  }
  for (const name of wantedNames) if (!seen.has(name)) problems.push(`bin ${JSON.stringify(name)} missing`);
  return problems.map((problem) => `${expected.digest} (${expected.set ?? 'no set'}): ${problem}`);
}

/** Fails the test, naming every difference, when the decoded record does not match its manifest entry. */
export function expectRecordMatchesManifest(
  decoded: AsbRecord,
  manifestRecord: ManifestRecord,
  options: RecordMatchOptions,
): void {
  expect(recordMismatches(decoded, manifestRecord, options)).to.deep.equal([]);
}
