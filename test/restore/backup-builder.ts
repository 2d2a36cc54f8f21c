/**
 * Small hand-made .asb backups for the restore suites: records given as plain JS values, encoded
 * with the project's own .asb encoder, digests computed as a client computes them (set + key).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { encodeHeader, encodeRecord, encodeSecondaryIndex, encodeUdf } from '../../src/shared/asb/encoder.js';
import type { AsbBin, AsbKey, AsbRecord, SecondaryIndexDef, UdfModule } from '../../src/shared/asb/types.js';
import { computeDigest } from '../cluster/cluster.js';

export type SimpleValue = string | number | bigint | boolean | Buffer | null | { double: number } | { list: Buffer } | { map: Buffer };

export interface SimpleRecord {
  set: string | null;
  /** The user key the digest comes from. */
  key: string | number;
  /** Write a `+ k` line (the key was stored). Default true. */
  storeKey?: boolean;
  generation?: number;
  /** Seconds since 2010-01-01; 0 = never expires (default). */
  voidTime?: number;
  namespace?: string;
  bins: Record<string, SimpleValue>;
}

function bin(name: string, value: SimpleValue): AsbBin {
  const nameBytes = Buffer.from(name, 'utf8');
  if (value === null) return { name: nameBytes, type: ParticleType.NULL, value: null };
  if (typeof value === 'string') return { name: nameBytes, type: ParticleType.STRING, value: Buffer.from(value, 'utf8') };
  if (typeof value === 'number' || typeof value === 'bigint') return { name: nameBytes, type: ParticleType.INTEGER, value };
  if (typeof value === 'boolean') return { name: nameBytes, type: ParticleType.BOOL, value };
  if (Buffer.isBuffer(value)) return { name: nameBytes, type: ParticleType.BLOB, value };
  if ('double' in value) return { name: nameBytes, type: ParticleType.FLOAT, value: value.double };
  if ('list' in value) return { name: nameBytes, type: ParticleType.LIST, value: value.list };
  return { name: nameBytes, type: ParticleType.MAP, value: value.map };
}

export function digestOf(record: Pick<SimpleRecord, 'set' | 'key'>): Buffer {
  return computeDigest(record.set ?? '', record.key);
}

export function toAsbRecord(record: SimpleRecord, defaultNamespace: string): AsbRecord {
  const key: AsbKey | null =
    record.storeKey === false
      ? null
      : typeof record.key === 'string'
        ? { type: ParticleType.STRING, value: Buffer.from(record.key, 'utf8') }
        : { type: ParticleType.INTEGER, value: record.key };
  return {
    namespace: Buffer.from(record.namespace ?? defaultNamespace, 'utf8'),
    digest: digestOf(record),
    set: record.set === null ? null : Buffer.from(record.set, 'utf8'),
    key,
    generation: record.generation ?? 1,
    voidTime: record.voidTime ?? 0,
    bins: Object.entries(record.bins).map(([name, value]) => bin(name, value)),
    line: 0,
  };
}

export interface BackupSpec {
  namespace?: string;
  records: SimpleRecord[];
  /** Split records round-robin over this many files (default 1). */
  files?: number;
  indexes?: SecondaryIndexDef[];
  udfs?: UdfModule[];
}

/** The plain .asb text of one file holding `records` (and, when given, metadata lines first). */
export function backupText(spec: BackupSpec, fileIndex = 0): Buffer {
  const namespace = spec.namespace ?? 'test';
  const files = spec.files ?? 1;
  const parts: Buffer[] = [encodeHeader({ namespace, firstFile: fileIndex === 0 })];
  if (fileIndex === 0) {
    for (const index of spec.indexes ?? []) parts.push(encodeSecondaryIndex(index));
    for (const udf of spec.udfs ?? []) parts.push(encodeUdf(udf));
  }
  spec.records.forEach((record, i) => {
    if (i % files === fileIndex) parts.push(encodeRecord(toAsbRecord(record, namespace)));
  });
  return Buffer.concat(parts);
}

/** Writes `dir/<ns>_0000N.asb` files; returns their paths. */
export function writeBackupDirectory(dir: string, spec: BackupSpec): string[] {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < (spec.files ?? 1); i++) {
    const path = join(dir, `${spec.namespace ?? 'test'}_${String(i).padStart(5, '0')}.asb`);
    writeFileSync(path, backupText(spec, i));
    paths.push(path);
  }
  return paths;
}

export function index(name: string, set: string | null, bin: string, type: 'N' | 'S' = 'N', namespace = 'test'): SecondaryIndexDef {
  return { namespace, set, name, indexType: 'N', paths: [{ path: bin, type }], context: null, expression: null, line: 0 };
}

export function udf(name: string, body: string): UdfModule {
  return { language: 'L', name, content: Buffer.from(body, 'utf8'), line: 0 };
}

/** `count` simple records in `set` with keys `${prefix}${i}`. */
export function manyRecords(count: number, set: string | null = 'many', prefix = 'rec-', extra: Partial<SimpleRecord> = {}): SimpleRecord[] {
  const out: SimpleRecord[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ set, key: `${prefix}${i}`, bins: { n: i, s: `value ${i}`, d: { double: i + 0.5 } }, ...extra });
  }
  return out;
}
