/**
 * What a restore must have stored, from a records manifest (../shared/fixtures README: one JSON
 * object per record, typed values), and two independent checks of a restored namespace against
 * it:
 * - {@link compareWithOfficialClient}: the official `aerospike` client reads every expected record
 *   by digest (lists and maps as raw msgpack) and its values, set and TTL are compared;
 * - {@link compareStored}: what the test cluster stores, byte for byte with particle types, the
 *   stored user key (or none), the set and the void time.
 * Both return a list of mismatches (empty = equal), so a failing test names every difference.
 */
import type { RemoteRecord } from '../cluster/remote-cluster.js';
import { CITRUSLEAF_EPOCH } from '../../src/shared/aerospike/protocol.js';
import { loadManifest, type ManifestRecord, type ManifestTypedValue } from '../support/manifest.js';

export { loadManifest, type ManifestRecord };
type TypedValue = ManifestTypedValue;

export function nowClepoch(): number {
  return Math.floor(Date.now() / 1000) - CITRUSLEAF_EPOCH;
}

export interface ExpectOptions {
  extraTtl?: number;
  setList?: string[];
  binList?: string[];
  /** Seconds since 2010-01-01 at restore time. */
  now?: number;
}

export interface Expected {
  records: ManifestRecord[];
  expired: number;
  skipped: number;
}

/** The records a restore writes, and how many it counts as expired / skipped (C's rules). */
export function expectedRecords(manifest: readonly ManifestRecord[], options: ExpectOptions = {}): Expected {
  const now = options.now ?? nowClepoch();
  const extra = options.extraTtl ?? 0;
  const out: ManifestRecord[] = [];
  let expired = 0;
  let skipped = 0;
  for (const record of manifest) {
    if (record.void_time > 0 && record.void_time + extra <= now) {
      expired++;
      continue;
    }
    let bins = record.bins;
    if (options.binList) bins = Object.fromEntries(Object.entries(bins).filter(([name]) => options.binList!.includes(name)));
    if (Object.keys(bins).length === 0 || (options.setList && (record.set === null || !options.setList.includes(record.set)))) {
      skipped++;
      continue;
    }
    out.push({ ...record, bins });
  }
  return { records: out, expired, skipped };
}

const PARTICLE: Record<string, number> = { int: 1, double: 2, string: 3, bytes: 4, bool: 17, hll: 18, map: 19, list: 20, geojson: 23 };

function int64Bytes(value: string): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(value));
  return bytes;
}

/** The particle bytes a typed manifest value is stored as (GeoJSON: its JSON text only). */
export function particleBytes(value: TypedValue): Buffer {
  switch (value.type) {
    case 'int':
      return int64Bytes(String(value.value));
    case 'double':
      return Buffer.from(value.bits!, 'hex');
    case 'string':
    case 'geojson':
      return Buffer.from(String(value.value), 'utf8');
    case 'bytes':
    case 'hll':
      return Buffer.from(String(value.value), 'base64');
    case 'bool':
      return Buffer.from([value.value ? 1 : 0]);
    case 'list':
    case 'map':
      return Buffer.from(value.msgpack!, 'base64');
    default:
      throw new Error(`no top-level particle for type ${value.type}`);
  }
}

function keyBytes(key: NonNullable<ManifestRecord['key']>): { particleType: number; bytes: Buffer } {
  switch (key.type) {
    case 'int':
      return { particleType: 1, bytes: int64Bytes(key.value) };
    case 'string':
      return { particleType: 3, bytes: Buffer.from(key.value, 'utf8') };
    default:
      return { particleType: 4, bytes: Buffer.from(key.value, 'base64') };
  }
}

export interface StoredCheckOptions {
  extraTtl?: number;
  /** Allowed difference of void times, seconds. Default 2. */
  toleranceSeconds?: number;
  /** Expect generation 1 on every record (a fresh restore). */
  freshGeneration?: boolean;
}

/** Compares the test cluster's stored records with the expected ones, byte for byte. */
export function compareStored(stored: readonly RemoteRecord[], expected: readonly ManifestRecord[], options: StoredCheckOptions = {}): string[] {
  const problems: string[] = [];
  const tolerance = options.toleranceSeconds ?? 2;
  const extra = options.extraTtl ?? 0;
  const byDigest = new Map<string, RemoteRecord>();
  for (const record of stored) byDigest.set(Buffer.from(record.digest).toString('base64'), record);
  if (stored.length !== expected.length) problems.push(`stored ${stored.length} records, expected ${expected.length}`);
  for (const want of expected) {
    const got = byDigest.get(want.digest);
    const at = `${want.digest} (${want.set ?? 'no set'})`;
    if (got === undefined) {
      problems.push(`${at}: not stored`);
      continue;
    }
    if (got.set !== (want.set ?? '')) problems.push(`${at}: set ${JSON.stringify(got.set)}`);
    if (want.key === null) {
      if (got.key !== null) problems.push(`${at}: a user key was stored, the backup has none`);
    } else {
      const key = keyBytes(want.key);
      if (got.key === null) problems.push(`${at}: the user key was not stored`);
      else if (got.key.particleType !== key.particleType || !Buffer.from(got.key.value).equals(key.bytes)) {
        problems.push(`${at}: stored key type ${got.key.particleType} ${Buffer.from(got.key.value).toString('hex')} != ${key.particleType} ${key.bytes.toString('hex')}`);
      }
    }
    if (options.freshGeneration && got.generation !== 1) problems.push(`${at}: generation ${got.generation}`);
    const wantVoid = want.void_time === 0 ? 0 : want.void_time + extra;
    if (wantVoid === 0 ? got.voidTime !== 0 : Math.abs(got.voidTime - wantVoid) > tolerance) {
      problems.push(`${at}: void time ${got.voidTime}, expected ${wantVoid}`);
    }
    const bins = new Map(got.bins.map(([name, bin]) => [name, bin]));
    const names = Object.keys(want.bins);
    if (bins.size !== names.length) problems.push(`${at}: ${bins.size} bins stored, expected ${names.length} (${[...bins.keys()].join(',')})`);
    for (const name of names) {
      const value = want.bins[name];
      const bin = bins.get(name);
      if (bin === undefined) {
        problems.push(`${at}: bin ${JSON.stringify(name)} missing`);
        continue;
      }
      if (bin.particleType !== PARTICLE[value.type]) problems.push(`${at}: bin ${JSON.stringify(name)} particle ${bin.particleType}, expected ${value.type}`);
      const bytes = Buffer.from(bin.value);
      const wantBytes = particleBytes(value);
      const equal = value.type === 'geojson' ? bytes.subarray(bytes.length - wantBytes.length).equals(wantBytes) : bytes.equals(wantBytes);
      if (!equal) problems.push(`${at}: bin ${JSON.stringify(name)} bytes ${bytes.subarray(0, 40).toString('hex')} != ${wantBytes.subarray(0, 40).toString('hex')}`);
    }
    if (problems.length > 20) {
      problems.push('...');
      break;
    }
  }
  return problems;
}

function doubleBits(value: number): string {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return bytes.toString('hex');
}

/** Whether a value the official client returned equals the manifest's typed value. */
function sameValue(got: unknown, want: TypedValue): boolean {
  switch (want.type) {
    case 'int': {
      const wanted = BigInt(String(want.value));
      if (typeof got === 'bigint') return got === wanted;
      // The client returns plain numbers; above 2^53 they are rounded (the byte check covers those).
      return typeof got === 'number' && Number.isInteger(got) && got === Number(wanted);
    }
    case 'double':
      return typeof got === 'number' && (doubleBits(got) === want.bits || (Number.isNaN(got) && want.value === 'NaN'));
    case 'string':
      return got === want.value;
    case 'geojson':
      return String(got) === want.value || JSON.stringify(got) === want.value;
    case 'bool':
      return got === want.value;
    case 'bytes':
    case 'hll':
      return Buffer.isBuffer(got) && got.equals(Buffer.from(String(want.value), 'base64'));
    case 'list':
    case 'map':
      return Buffer.isBuffer(got) && got.equals(Buffer.from(want.msgpack!, 'base64'));
    default:
      return false;
  }
}

/**
 * Reads every expected record with the official client (batch reads by digest, CDTs not
 * deserialised) and compares set, bins and TTL. `Aerospike` is the client module, `client` a
 * connected client.
 */
export async function compareWithOfficialClient(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  Aerospike: any,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  client: any,
  namespace: string,
  expected: readonly ManifestRecord[],
  options: { extraTtl?: number; toleranceSeconds?: number } = {},
): Promise<string[]> {
  const problems: string[] = [];
  const tolerance = options.toleranceSeconds ?? 2;
  const extra = options.extraTtl ?? 0;
  const policy = new Aerospike.BatchPolicy({ deserialize: false, totalTimeout: 10000 });
  for (let from = 0; from < expected.length; from += 500) {
    const slice = expected.slice(from, from + 500);
    const reads = slice.map((record) => ({
      key: new Aerospike.Key(namespace, record.set, null, Buffer.from(record.digest, 'base64')),
      readAllBins: true,
    }));
    const now = nowClepoch();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const results: any[] = await client.batchRead(reads, policy);
    for (let i = 0; i < slice.length; i++) {
      const want = slice[i];
      const result = results[i];
      const at = `${want.digest} (${want.set ?? 'no set'})`;
      if (result.status !== 0) {
        problems.push(`${at}: official client read status ${result.status}`);
        continue;
      }
      const record = result.record;
      const bins = record.bins as Record<string, unknown>;
      const names = Object.keys(want.bins);
      if (Object.keys(bins).length !== names.length) problems.push(`${at}: ${Object.keys(bins).length} bins read, expected ${names.length}`);
      for (const name of names) {
        if (!(name in bins)) problems.push(`${at}: bin ${JSON.stringify(name)} missing`);
        else if (!sameValue(bins[name], want.bins[name])) {
          problems.push(`${at}: bin ${JSON.stringify(name)} read ${String(bins[name]).slice(0, 60)}, expected ${JSON.stringify(want.bins[name]).slice(0, 120)}`);
        }
      }
      if (want.void_time === 0) {
        if (record.ttl !== -1) problems.push(`${at}: ttl ${record.ttl}, expected never (-1)`);
      } else {
        const ttl = want.void_time + extra - now;
        if (Math.abs(record.ttl - ttl) > tolerance) problems.push(`${at}: ttl ${record.ttl}, expected ${ttl}`);
      }
      if (problems.length > 20) return [...problems, '...'];
    }
  }
  return problems;
}
