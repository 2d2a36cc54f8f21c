/**
 * Writes .asb text the way C asbackup (enc_text.c) does: `Version 3.1` by default (3.0 for
 * tests of legacy files), `+ k` only for a stored key, `+ s` only for a record with a set, doubles
 * as `%.17g`, bytes as base64 or, with `compact`, as raw `!` values, and tokens escaped.
 * Whatever these functions write, AsbDecoder reads back to the same items.
 */
import { Buffer } from 'node:buffer';
import { ParticleType } from '../aerospike/protocol.js';
import { encodeBase64 } from './base64.js';
import { escapeToken, formatDouble17g, tokenNeedsEscape } from './text.js';
import type { AsbBin, AsbHeader, AsbKey, AsbRecord, SecondaryIndexDef, UdfModule } from './types.js';

export type AsbVersion = AsbHeader['version'];

export interface EncodeHeaderOptions {
  version?: AsbVersion;
  namespace?: string | null;
  firstFile?: boolean;
}

export interface EncodeRecordOptions {
  /** Write bytes values (B, J, C, P, R, H, E, Y, M, L bins and blob keys) raw, as `X! <len> <bytes>`. */
  compact?: boolean;
  /** 3.0 files have no escaping: a token holding a space, LF or backslash cannot be written. */
  version?: AsbVersion;
}

const BYTES_LABEL: Partial<Record<number, string>> = {
  [ParticleType.BLOB]: 'B',
  [ParticleType.JAVA_BLOB]: 'J',
  [ParticleType.CSHARP_BLOB]: 'C',
  [ParticleType.PYTHON_BLOB]: 'P',
  [ParticleType.RUBY_BLOB]: 'R',
  [ParticleType.PHP_BLOB]: 'H',
  [ParticleType.ERLANG_BLOB]: 'E',
  [ParticleType.HLL]: 'Y',
  [ParticleType.MAP]: 'M',
  [ParticleType.LIST]: 'L',
};

const LF = Buffer.from('\n');

function toBytes(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.length);
}

/** A token as the given version writes it (escaped from 3.1 on). */
function token(value: string | Uint8Array, version: AsbVersion, what: string): Buffer {
  const bytes = toBytes(value);
  if (version === '3.0') {
    if (tokenNeedsEscape(bytes)) {
      throw new RangeError(`${what} ${JSON.stringify(bytes.toString('utf8'))} cannot be written to a 3.0 file (no escaping)`);
    }
    return bytes;
  }
  return escapeToken(bytes);
}

/** `Version x.y`, then `# namespace <ns>` and `# first-file` when given. */
export function encodeHeader(header: EncodeHeaderOptions = {}): Buffer {
  const version = header.version ?? '3.1';
  const parts: Buffer[] = [Buffer.from(`Version ${version}\n`, 'latin1')];
  if (header.namespace !== undefined && header.namespace !== null) {
    parts.push(Buffer.from('# namespace '), token(header.namespace, version, 'namespace'), LF);
  }
  if (header.firstFile) parts.push(Buffer.from('# first-file\n'));
  return Buffer.concat(parts);
}

function integerText(value: number | bigint): string {
  if (typeof value === 'number' && !Number.isInteger(value)) throw new RangeError(`not an integer: ${value}`);
  const big = BigInt(value);
  if (big < -(1n << 63n) || big >= 1n << 63n) throw new RangeError(`integer out of int64 range: ${big}`);
  return big.toString();
}

function asBuffer(value: unknown, what: string): Buffer {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Buffer`);
  return toBytes(value);
}

/** `<len> <raw>` or `<b64len> <base64>`. */
function sized(bytes: Buffer, raw: boolean): Buffer[] {
  if (raw) return [Buffer.from(`${bytes.length} `), bytes];
  const encoded = encodeBase64(bytes);
  return [Buffer.from(`${encoded.length} ${encoded}`, 'latin1')];
}

function encodeKey(key: AsbKey, compact: boolean): Buffer[] {
  switch (key.type) {
    case ParticleType.INTEGER:
      return [Buffer.from(`+ k I ${integerText(key.value as number | bigint)}\n`)];
    case ParticleType.FLOAT:
      return [Buffer.from(`+ k D ${formatDouble17g(key.value as number)}\n`)];
    case ParticleType.STRING:
      return [Buffer.from('+ k S '), ...sized(asBuffer(key.value, 'a string key'), true), LF];
    case ParticleType.BLOB:
      return [Buffer.from(compact ? '+ k B! ' : '+ k B '), ...sized(asBuffer(key.value, 'a blob key'), compact), LF];
    default:
      throw new RangeError(`unsupported key type ${String((key as AsbKey).type)}`);
  }
}

function encodeBin(bin: AsbBin, compact: boolean, version: AsbVersion): Buffer[] {
  const name = token(bin.name, version, 'bin name');
  const line = (label: string, rest: Buffer[]): Buffer[] => [Buffer.from(`- ${label} `), name, ...rest, LF];
  const value = bin.value;
  switch (bin.type) {
    case ParticleType.NULL:
      return [Buffer.from('- N '), name, LF];
    case ParticleType.BOOL:
      return line('Z', [Buffer.from(value ? ' T' : ' F')]);
    case ParticleType.INTEGER:
      return line('I', [Buffer.from(` ${integerText(value as number | bigint)}`)]);
    case ParticleType.FLOAT:
      if (typeof value !== 'number') throw new TypeError('a FLOAT bin value must be a number');
      return line('D', [Buffer.from(` ${formatDouble17g(value)}`)]);
    case ParticleType.STRING:
      return line('S', [Buffer.from(' '), ...sized(asBuffer(value, 'a STRING bin value'), true)]);
    case ParticleType.GEOJSON:
      return line('G', [Buffer.from(' '), ...sized(asBuffer(value, 'a GEOJSON bin value'), true)]);
    default: {
      const label = BYTES_LABEL[bin.type];
      if (label === undefined) throw new RangeError(`unsupported bin type ${bin.type}`);
      return line(compact ? `${label}!` : label, [Buffer.from(' '), ...sized(asBuffer(value, `a ${label} bin value`), compact)]);
    }
  }
}

/** One record block: `+ k` (if keyed), `+ n`, `+ d`, `+ s` (if it has a set), `+ g`, `+ t`, `+ b`, bin lines. */
export function encodeRecord(record: AsbRecord, options: EncodeRecordOptions = {}): Buffer {
  const compact = options.compact === true;
  const version = options.version ?? '3.1';
  if (record.digest.length !== 20) throw new RangeError(`a digest has 20 bytes, not ${record.digest.length}`);
  const parts: Buffer[] = [];
  if (record.key !== null) parts.push(...encodeKey(record.key, compact));
  parts.push(Buffer.from('+ n '), token(record.namespace, version, 'namespace'), LF);
  parts.push(Buffer.from(`+ d ${encodeBase64(record.digest)}\n`, 'latin1'));
  if (record.set !== null) parts.push(Buffer.from('+ s '), token(record.set, version, 'set'), LF);
  parts.push(Buffer.from(`+ g ${record.generation}\n+ t ${record.voidTime}\n+ b ${record.bins.length}\n`));
  for (const bin of record.bins) parts.push(...encodeBin(bin, compact, version));
  return Buffer.concat(parts);
}

/**
 * `* i <ns> <set> <name> <itype> <npaths> <path> <ptype>[ <ctx>]`, or for an expression index
 * (3.2) `* e ...[ <expression>]`. Path specs after the first are preceded by two spaces, which is
 * what C asrestore's reader expects (C's writer puts one, a combination C itself cannot read back;
 * real backups only ever hold one path).
 */
export function encodeSecondaryIndex(index: SecondaryIndexDef): Buffer {
  if (index.paths.length === 0) throw new RangeError('a secondary index needs at least one path');
  if (index.context !== null && index.expression !== null) {
    throw new RangeError('a secondary index line holds a context or an expression, not both');
  }
  const parts: Buffer[] = [
    Buffer.from(index.expression !== null ? '* e ' : '* i '),
    escapeToken(toBytes(index.namespace)),
    Buffer.from(' '),
    escapeToken(toBytes(index.set ?? '')),
    Buffer.from(' '),
    escapeToken(toBytes(index.name)),
    Buffer.from(` ${index.indexType} ${index.paths.length}`),
  ];
  index.paths.forEach((path, i) => {
    parts.push(Buffer.from(i === 0 ? ' ' : '  '), escapeToken(toBytes(path.path)), Buffer.from(` ${path.type}`));
  });
  const trailing = index.expression ?? index.context;
  if (trailing !== null && trailing !== '') parts.push(Buffer.from(' '), escapeToken(toBytes(trailing)));
  parts.push(LF);
  return Buffer.concat(parts);
}

/** `* u L <name> <len> <content>` and the line's LF. */
export function encodeUdf(udf: UdfModule): Buffer {
  const content = asBuffer(udf.content, 'UDF content');
  return Buffer.concat([Buffer.from('* u L '), escapeToken(toBytes(udf.name)), Buffer.from(` ${content.length} `), content, LF]);
}
