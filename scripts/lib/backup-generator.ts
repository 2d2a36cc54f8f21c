/**
 * Writes a realistic .asb backup of a requested shape, byte-for-byte determined by its options
 * (seed included): files, records, average record size, bin-type mix, sets, TTLs, stored keys,
 * generations, secondary indexes, UDFs, optional zstd and AES. Records go through the project's
 * own encoder and stream layer, so a generated backup is exactly what the decoder must read.
 *
 * Every file is a pure function of (options, file index): files are generated independently, in
 * worker threads when asked, and a file's bytes never depend on how many workers ran.
 */
import { hash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { encodeHeader, encodeRecord, encodeSecondaryIndex, encodeUdf } from '../../src/shared/asb/encoder.js';
import type { AsbBin, AsbKey, AsbRecord } from '../../src/shared/asb/types.js';
import type { CompressionType, EncryptionAlgorithm } from '../../src/shared/io/codec-options.js';
import { encryptionKeyFromPem } from '../../src/shared/io/encryption-key.js';
import { createBackupWriter, type BackupOutputOptions, type BackupWriter } from '../../src/shared/io/backup-writer.js';
import { CdtEncoder } from './cdt-msgpack.js';
import { generateSindexes, generateUdfs } from './metadata.js';
import { MIXES, type KeyType, type KindContext, type Mix, type MixName, type RecordKind } from './mixes.js';
import { mixSeed, Prng } from './prng.js';
import { TextCorpus } from './values.js';
import { CITRUSLEAF_EPOCH } from '../../src/shared/aerospike/protocol.js';

const DAY = 86400;

export interface GenerateOptions {
  /** Directory for `<namespace>_NNNNN.asb` files (asbackup -d). Exactly one of dir / singleFile. */
  dir?: string;
  /** One backup file at this path (asbackup -o); `files` is then 1. */
  singleFile?: string;
  files: number;
  records: number;
  seed: number;
  mix: MixName;
  /** Target average bytes per record in the plain .asb text; default: the mix's own. */
  recordSize?: number;
  namespace?: string;
  /** Sets records are spread over uniformly; null = no set. Default: each record kind's own set. */
  sets?: (string | null)[];
  /** Share of records that store their user key (0..1); default: the mix's own. */
  storedKeys?: number;
  /** Share of records whose void-time is already in the past (0..1). */
  expired?: number;
  sindexes?: number;
  udfs?: number;
  compact?: boolean;
  compress?: CompressionType;
  /** zstd level (0 = zstd's default, 3). */
  compressionLevel?: number;
  encryption?: { algorithm: EncryptionAlgorithm; keyPem: string | Buffer };
  /**
   * The "current time" (Unix seconds) void-times are placed around. Default: the start of the
   * current UTC day, so that the same options give the same bytes all day. Future void-times lie at
   * least 2 days and at most 3640 days after it (within the server's 10-year TTL maximum), expired
   * ones at least 1 second before it.
   */
  now?: number;
}

export interface FileSummary {
  path: string;
  records: number;
  /** Bytes of .asb text before compression/encryption. */
  plainBytes: number;
  /** Bytes on disk. */
  fileBytes: number;
}

export interface GenerateSummary {
  files: FileSummary[];
  records: number;
  plainBytes: number;
  fileBytes: number;
  /** Records whose void-time is at or before `now` (asrestore would count them as expired). */
  expired: number;
  storedKeys: Record<KeyType | 'none', number>;
  /** Top-level bins by particle type name. */
  binTypes: Record<string, number>;
  sets: Record<string, number>;
  sindexes: number;
  udfs: number;
  now: number;
}

interface ResolvedOptions {
  paths: string[];
  records: number;
  seed: number;
  mix: Mix;
  recordSize: number;
  namespace: string;
  sets: (string | null)[] | null;
  storedKeys: number;
  expired: number;
  sindexes: number;
  udfs: number;
  compact: boolean;
  compress: CompressionType | null;
  compressionLevel: number;
  encryption: { algorithm: EncryptionAlgorithm; keyPem: string | Buffer } | null;
  now: number;
}

export function startOfUtcDay(unixSeconds: number): number {
  return Math.floor(unixSeconds / DAY) * DAY;
}

/** File name asbackup gives the n-th file of a directory backup. */
export function backupFileName(namespace: string, index: number): string {
  return `${namespace}_${String(index).padStart(5, '0')}.asb`;
}

function fraction(value: number, option: string): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${option} must be between 0 and 1 (got ${value})`);
  return value;
}

function wholeNumber(value: number, option: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${option} must be an integer >= ${min} (got ${value})`);
  return value;
}

function resolve(options: GenerateOptions): ResolvedOptions {
  const mix = MIXES[options.mix];
  if (!mix) throw new RangeError(`unknown mix "${options.mix}"`);
  const namespace = options.namespace ?? 'test';
  if ((options.dir === undefined) === (options.singleFile === undefined)) {
    throw new RangeError('give exactly one of dir and singleFile');
  }
  const files = options.singleFile !== undefined ? 1 : wholeNumber(options.files, 'files', 1);
  const paths =
    options.singleFile !== undefined
      ? [options.singleFile]
      : Array.from({ length: files }, (_, i) => join(options.dir!, backupFileName(namespace, i)));
  return {
    paths,
    records: wholeNumber(options.records, 'records', 0),
    seed: wholeNumber(options.seed, 'seed', 0),
    mix,
    recordSize: wholeNumber(options.recordSize ?? mix.defaultRecordSize, 'record size', 1),
    namespace,
    sets: options.sets && options.sets.length > 0 ? options.sets : null,
    storedKeys: fraction(options.storedKeys ?? mix.defaultStoredKeys, 'stored keys'),
    expired: fraction(options.expired ?? 0, 'expired'),
    sindexes: wholeNumber(options.sindexes ?? mix.sindexes.length, 'sindexes', 0),
    udfs: wholeNumber(options.udfs ?? 2, 'udfs', 0),
    compact: options.compact ?? false,
    compress: options.compress ?? null,
    compressionLevel: options.compressionLevel ?? 0,
    encryption: options.encryption ?? null,
    now: options.now ?? startOfUtcDay(Math.floor(Date.now() / 1000)),
  };
}

/** Records of file `index`: an even split, earlier files take the remainder. */
function recordRange(records: number, files: number, index: number): { first: number; count: number } {
  const base = Math.floor(records / files);
  const extra = records % files;
  return { first: index * base + Math.min(index, extra), count: base + (index < extra ? 1 : 0) };
}

const digestScratch = { buffer: Buffer.allocUnsafe(4096) };

/**
 * The RIPEMD-160 digest Aerospike computes for a user key: over set, key particle type, key bytes.
 * One-shot crypto.hash over a scratch copy costs about half of a createHash object per record.
 */
export function computeDigest(set: Buffer | null, keyType: ParticleType, keyBytes: Buffer): Buffer {
  const length = (set?.length ?? 0) + 1 + keyBytes.length;
  if (digestScratch.buffer.length < length) digestScratch.buffer = Buffer.allocUnsafe(length * 2);
  const scratch = digestScratch.buffer;
  let pos = set ? set.copy(scratch, 0) : 0;
  scratch[pos++] = keyType;
  pos += keyBytes.copy(scratch, pos);
  return hash('ripemd160', scratch.subarray(0, pos), 'buffer');
}

/** The key bytes the digest is computed over (int keys: 8 bytes big-endian two's complement). */
export function keyDigestBytes(key: AsbKey): Buffer {
  if (key.type === ParticleType.INTEGER) {
    const out = Buffer.allocUnsafe(8);
    out.writeBigInt64BE(BigInt(key.value as number | bigint));
    return out;
  }
  if (key.type === ParticleType.FLOAT) {
    const out = Buffer.allocUnsafe(8);
    out.writeDoubleBE(key.value as number);
    return out;
  }
  return key.value as Buffer;
}

const PARTICLE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ParticleType).map(([name, value]) => [value, name.toLowerCase()]),
);

/** String-key prefixes per record kind, so keys read like the data they address. */
const KEY_PREFIX: Record<string, string> = { users: 'user-', events: 'event-', bench: 'bench-' };
/** Rare string-key shapes that need care in the format (escaping is not applied to key values). */
const ODD_STRING_KEYS: readonly ((serial: number) => string)[] = [
  (s) => `key with spaces ${s}`,
  (s) => `line\nbreak-${s}`,
  (s) => `ünïcödé-キー-${s}`,
  (s) => `back\\slash-${s}`,
  (s) => `${'k'.repeat(280)}-${s}`,
];

function stringKey(rng: Prng, kind: RecordKind, serial: number): Buffer {
  if (rng.chance(0.01)) return Buffer.from(rng.pick(ODD_STRING_KEYS)(serial), 'utf8');
  return Buffer.from(`${KEY_PREFIX[kind.name] ?? 'item-'}${String(serial).padStart(8, '0')}`, 'utf8');
}

function intKey(rng: Prng, serial: number): number | bigint {
  // Mostly small sequential ids; a few 64-bit ones beyond 2^53, from a disjoint (negative) range.
  if (rng.chance(0.97)) return 1000 + serial;
  return -(2n ** 62n) + BigInt(serial) * 1_000_003n;
}

function bytesKey(rng: Prng, serial: number): Buffer {
  const tail = rng.int(0, 8);
  const out = Buffer.alloc(8 + tail);
  out.writeBigUInt64BE(BigInt(serial));
  for (let i = 8; i < out.length; i++) out[i] = rng.pick([0x00, 0x0a, 0x20, rng.int(0, 255)]);
  return out;
}

function generation(rng: Prng): number {
  const x = rng.float();
  if (x < 0.885) return 1;
  if (x < 0.995) return rng.int(2, 5);
  if (x < 0.9995) return rng.int(6, 9);
  return rng.int(10, 65535);
}

/**
 * The latest void time, in seconds after `now`. A restore writes TTL = void time - its own clock,
 * and a server refuses a TTL above 10 years (MAX_ALLOWED_TTL, 3650 days) with rc 4; 10 days of
 * margin keep that true for a restore whose clock lags the generator's `now`.
 */
const MAX_FUTURE_VOID = 3640 * DAY;
const MIN_FUTURE_VOID = 2 * DAY;

/** Void time in seconds since 2010-01-01, relative to `nowCl` (same epoch). */
function voidTime(rng: Prng, nowCl: number, expiredShare: number): number {
  if (expiredShare > 0 && rng.chance(expiredShare)) return Math.max(1, nowCl - rng.int(1, 365 * DAY));
  const x = rng.float();
  if (x < 0.655) return 0;
  const horizon = x < 0.71 ? 30 * DAY : x < 0.86 ? 365 * DAY : MAX_FUTURE_VOID - MIN_FUTURE_VOID;
  return nowCl + MIN_FUTURE_VOID + rng.int(0, horizon);
}

/** Big values: at most one per ~16th of a file, never fewer than every 128 KiB of deficit. */
const BIG_VALUE_MAX_THRESHOLD = 128 * 1024;
const BIG_VALUE_MIN_THRESHOLD = 1024;
const BIG_VALUE_MIN_BYTES = 64;
const BIG_STRING_NAME = Buffer.from('big_string');
const BIG_BLOB_NAME = Buffer.from('big_blob');

/** A string (text) or blob (random bytes) bin whose .asb line is about `textBytes` long. */
function bigValueBin(ctx: KindContext, textBytes: number, compact: boolean): AsbBin {
  const payload = Math.max(1, textBytes - 24);
  if (ctx.rng.chance(0.5)) return { name: BIG_STRING_NAME, type: ParticleType.STRING, value: ctx.corpus.text(ctx.rng, payload) };
  return { name: BIG_BLOB_NAME, type: ParticleType.BLOB, value: ctx.rng.bytes(compact ? payload : Math.floor((payload * 3) / 4)) };
}

function cumulative(weights: readonly number[]): number[] {
  let sum = 0;
  return weights.map((w) => (sum += w));
}

/** Collects encoded items into large chunks, so the writer sees few, big writes. */
class ChunkedWriter {
  private parts: Buffer[] = [];
  private pending = 0;
  plainBytes = 0;

  constructor(private readonly target: BackupWriter, private readonly chunkBytes = 1 << 20) {}

  /** Queues `part`; true when a chunk is full and flush() is due (kept synchronous: it runs per record). */
  add(part: Buffer): boolean {
    this.parts.push(part);
    this.pending += part.length;
    this.plainBytes += part.length;
    return this.pending >= this.chunkBytes;
  }

  async flush(): Promise<void> {
    if (this.pending === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.pending);
    this.parts = [];
    this.pending = 0;
    await this.target.write(chunk);
  }
}

/**
 * The writer for file `index`: text → [zstd] → [AES-CTR] → file, through the project's io layer.
 * The AES IV is derived from the seed (asbackup uses time + random bytes) so that encrypted output
 * is reproducible too; that is fine for test data and nothing else.
 */
async function openOutput(path: string, options: ResolvedOptions, index: number): Promise<BackupWriter> {
  mkdirSync(dirname(path), { recursive: true });
  const outputOptions: BackupOutputOptions = {};
  if (options.compress === 'zstd') {
    outputOptions.compress = 'zstd';
    outputOptions.compressionLevel = options.compressionLevel;
  }
  if (options.encryption) {
    const { algorithm, keyPem } = options.encryption;
    outputOptions.encryption = { algorithm, key: encryptionKeyFromPem(keyPem, algorithm, 'the generator key') };
    outputOptions.initialCounter = new Prng(mixSeed(options.seed, index + 1, 0x1f)).bytes(16);
  }
  return createBackupWriter(path, outputOptions);
}

interface FileResult {
  summary: FileSummary;
  expired: number;
  storedKeys: Record<KeyType | 'none', number>;
  binTypes: Record<string, number>;
  sets: Record<string, number>;
}

/** Generates file `index` of the backup. Pure in (options, index). */
async function generateFile(options: ResolvedOptions, index: number): Promise<FileResult> {
  const path = options.paths[index]!;
  const { first, count } = recordRange(options.records, options.paths.length, index);
  const rng = new Prng(mixSeed(options.seed, index + 1));
  const mix = options.mix;
  const ctx = { rng, cdtEncoder: new CdtEncoder(), corpus: new TextCorpus(new Prng(mixSeed(options.seed, 0x7e47))), serial: 0 };
  const kindWeights = cumulative(mix.kinds.map((k) => k.weight));
  const keyTypes: KeyType[] = ['string', 'int', 'bytes'];
  const keyWeights = cumulative(keyTypes.map((t) => mix.keyTypes[t]));
  const namespace = Buffer.from(options.namespace, 'utf8');
  const setBuffers = new Map<string | null, Buffer | null>();
  const setBuffer = (set: string | null): Buffer | null => {
    let b = setBuffers.get(set);
    if (b === undefined) setBuffers.set(set, (b = set === null ? null : Buffer.from(set, 'utf8')));
    return b;
  };
  const nowCl = options.now - CITRUSLEAF_EPOCH;

  const result: FileResult = {
    summary: { path, records: count, plainBytes: 0, fileBytes: 0 },
    expired: 0,
    storedKeys: { string: 0, int: 0, bytes: 0, none: 0 },
    binTypes: {},
    sets: {},
  };
  const binTypeCounts = new Array<number>(256).fill(0);

  const output = await openOutput(path, options, index);
  const writer = new ChunkedWriter(output);
  try {
    writer.add(encodeHeader({ version: '3.1', namespace: options.namespace, firstFile: index === 0 }));
    if (index === 0) {
      const metaRng = new Prng(mixSeed(options.seed, 0x6d657461));
      for (const def of generateSindexes(mix, options.namespace, options.sindexes)) writer.add(encodeSecondaryIndex(def));
      for (const udf of generateUdfs(metaRng, options.udfs)) writer.add(encodeUdf(udf));
    }

    const target = options.recordSize;
    const perRecord = mix.sizing === 'per-record';
    // per-record sizing: each elastic record aims at the target plus a share of the running deficit;
    // the part of a record that does not scale with its budget (headers, fixed bins) is learned.
    let fixedEstimate = target * 0.5;
    // big-values sizing: the deficit accumulates until it is worth one big value (the last record
    // of the file settles the rest, so the file's average is the target).
    const bigValueThreshold = Math.min(BIG_VALUE_MAX_THRESHOLD, Math.max(BIG_VALUE_MIN_THRESHOLD, (target * count) / 16));
    let recordBytes = 0;
    for (let i = 0; i < count; i++) {
      const serial = first + i;
      ctx.serial = serial;
      const kind = mix.kinds[rng.weighted(kindWeights)]!;
      const setName = options.sets ? rng.pick(options.sets) : kind.defaultSet;
      const set = setBuffer(setName);

      const keyType = keyTypes[rng.weighted(keyWeights)]!;
      let key: AsbKey;
      if (keyType === 'int') {
        key = { type: ParticleType.INTEGER, value: intKey(rng, serial) };
      } else if (keyType === 'bytes') {
        key = { type: ParticleType.BLOB, value: bytesKey(rng, serial) };
      } else {
        key = { type: ParticleType.STRING, value: stringKey(rng, kind, serial) };
      }
      const digest = computeDigest(set, key.type, keyDigestBytes(key));
      const stored = rng.chance(options.storedKeys);
      result.storedKeys[stored ? keyType : 'none']++;

      let budget = 0;
      if (perRecord && kind.elastic) {
        const deficit = target * i - recordBytes;
        const desired = target + Math.max(-0.9 * target, Math.min(2 * target, deficit * 0.25));
        budget = Math.max(0, (desired - fixedEstimate) * rng.logNormal(1, 0.3));
      }
      const record: AsbRecord = {
        namespace,
        digest,
        set,
        key: stored ? key : null,
        generation: generation(rng),
        voidTime: voidTime(rng, nowCl, options.expired),
        bins: kind.build(ctx, budget),
        line: 0,
      };

      let encoded = encodeRecord(record, { compact: options.compact });
      if (perRecord) {
        if (kind.elastic) fixedEstimate += 0.02 * (encoded.length - budget - fixedEstimate);
      } else {
        const deficit = target * (i + 1) - recordBytes - encoded.length;
        const last = i === count - 1;
        if ((kind.elastic && deficit >= bigValueThreshold) || (last && deficit >= BIG_VALUE_MIN_BYTES)) {
          const textBytes = last ? deficit : Math.floor(deficit * (0.5 + 0.5 * rng.float()));
          record.bins.push(bigValueBin(ctx, textBytes, options.compact));
          encoded = encodeRecord(record, { compact: options.compact });
        }
      }
      if (record.voidTime !== 0 && record.voidTime <= nowCl) result.expired++;
      for (const b of record.bins) binTypeCounts[b.type]!++;
      const setLabel = setName ?? '(no set)';
      result.sets[setLabel] = (result.sets[setLabel] ?? 0) + 1;
      recordBytes += encoded.length;
      if (writer.add(encoded)) await writer.flush();
    }
    await writer.flush();
  } catch (error) {
    await output.close().catch(() => undefined);
    throw error;
  }
  result.summary.fileBytes = await output.close();
  result.summary.plainBytes = writer.plainBytes;
  binTypeCounts.forEach((n, type) => {
    if (n > 0) result.binTypes[PARTICLE_NAMES[type] ?? String(type)] = n;
  });
  return result;
}

function addCounts<K extends string>(into: Record<K, number>, from: Record<K, number>): void {
  for (const [k, v] of Object.entries(from) as [K, number][]) into[k] = (into[k] ?? 0) + v;
}

/**
 * Generates the backup. `jobs` > 1 writes that many files at once in worker threads (the
 * output is the same for any value).
 */
export async function generateBackup(options: GenerateOptions, jobs = 1): Promise<GenerateSummary> {
  const resolved = resolve(options);
  const indexes = resolved.paths.map((_, i) => i);
  const results: FileResult[] = new Array(indexes.length);
  if (jobs <= 1 || indexes.length === 1) {
    for (const i of indexes) results[i] = await generateFile(resolved, i);
  } else {
    const { runInWorkers } = await import('./generator-workers.js');
    // Workers must agree on the defaulted "now".
    await runInWorkers({ ...options, now: resolved.now }, indexes, Math.min(jobs, indexes.length), (i, r) => {
      results[i] = r as FileResult;
    });
  }
  const summary: GenerateSummary = {
    files: results.map((r) => r.summary),
    records: 0,
    plainBytes: 0,
    fileBytes: 0,
    expired: 0,
    storedKeys: { string: 0, int: 0, bytes: 0, none: 0 },
    binTypes: {},
    sets: {},
    sindexes: resolved.sindexes,
    udfs: resolved.udfs,
    now: resolved.now,
  };
  for (const r of results) {
    summary.records += r.summary.records;
    summary.plainBytes += r.summary.plainBytes;
    summary.fileBytes += r.summary.fileBytes;
    summary.expired += r.expired;
    addCounts(summary.storedKeys, r.storedKeys);
    addCounts(summary.binTypes, r.binTypes);
    addCounts(summary.sets, r.sets);
  }
  return summary;
}

/** Entry for worker threads: one file of the backup. */
export async function generateOneFile(options: GenerateOptions, index: number): Promise<FileResult> {
  return generateFile(resolve(options), index);
}
