/**
 * Shared helpers of the .asb decoder/encoder conformance suite: feeding input to an AsbDecoder,
 * catching its errors, locating byte offsets the way C asrestore counts lines and columns (worked
 * out here independently of the decoder), and deep snapshots of decoded items that survive later
 * changes to the buffers they were decoded from.
 */
import { Buffer } from 'node:buffer';
import { expect } from 'chai';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { AsbDecoder, type AsbDecoderOptions } from '../../src/shared/asb/decoder.js';
import { AsbDecodeError } from '../../src/shared/asb/errors.js';
import type {
  AsbBin,
  AsbHeader,
  AsbKey,
  AsbRecord,
  AsbRowSink,
  AsbRowWriter,
  BinValue,
  SecondaryIndexDef,
  UdfModule,
} from '../../src/shared/asb/types.js';

/** The file name every test decoder reports in its errors. */
export const FILE = 'conformance.asb';
export const HEADER_31 = 'Version 3.1\n';

export type DecodedItem =
  | { kind: 'record'; record: AsbRecord }
  | { kind: 'index'; index: SecondaryIndexDef }
  | { kind: 'udf'; udf: UdfModule };

export interface Decoded {
  header: AsbHeader | null;
  /** Items in the order the sink received them. */
  items: DecodedItem[];
  records: AsbRecord[];
  indexes: SecondaryIndexDef[];
  udfs: UdfModule[];
  /** A deep snapshot of each item taken inside the sink call, before any later chunk arrived. */
  snapshotsAtEmission: ItemSnapshot[];
  decoder: AsbDecoder;
}

export function bytes(input: string | Buffer): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

/** Concatenates text (UTF-8) and byte parts into one input. */
export function asb(...parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(parts.map(bytes));
}

function decoderOptions(options: Partial<AsbDecoderOptions>): AsbDecoderOptions {
  return { file: FILE, ...options };
}

/** A decoder whose sink records everything it receives. */
export function collectingDecoder(options: Partial<AsbDecoderOptions> = {}): Decoded {
  const result: Omit<Decoded, 'decoder'> = {
    header: null,
    items: [],
    records: [],
    indexes: [],
    udfs: [],
    snapshotsAtEmission: [],
  };
  const decoder = new AsbDecoder(
    {
      header(header) {
        expect(result.header, 'header() is called once').to.equal(null);
        result.header = header;
      },
      record(record) {
        result.items.push({ kind: 'record', record });
        result.records.push(record);
        result.snapshotsAtEmission.push(snapshotItem({ kind: 'record', record }));
      },
      secondaryIndex(index) {
        result.items.push({ kind: 'index', index });
        result.indexes.push(index);
        result.snapshotsAtEmission.push(snapshotItem({ kind: 'index', index }));
      },
      udf(udf) {
        result.items.push({ kind: 'udf', udf });
        result.udfs.push(udf);
        result.snapshotsAtEmission.push(snapshotItem({ kind: 'udf', udf }));
      },
    },
    decoderOptions(options),
  );
  return Object.assign(result, { decoder });
}

/**
 * Runs a `countOnly` decoder (what --validate uses) over `chunks`, each a private copy that is
 * overwritten right after write() returns (the decoder must keep no reference to it). Returns the
 * decoder and the error it threw, if any.
 */
export function countOnlyRun(
  chunks: readonly Buffer[],
  options: Partial<AsbDecoderOptions> = {},
): { decoder: AsbDecoder; error: unknown } {
  const decoder = new AsbDecoder({ record() {}, secondaryIndex() {}, udf() {} }, { ...decoderOptions(options), countOnly: true });
  return { decoder, error: writeBorrowed(decoder, chunks) };
}

/**
 * Writes private copies of `chunks`, each overwritten right after write() returns (the decoder must
 * keep no reference to it), then end(). Returns the error the decoder threw, if any.
 */
function writeBorrowed(decoder: AsbDecoder, chunks: readonly Buffer[]): unknown {
  try {
    for (const chunk of chunks) {
      const borrowed = Buffer.from(chunk);
      try {
        decoder.write(borrowed);
      } finally {
        borrowed.fill(0x3f);
      }
    }
    decoder.end();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The `countOnly` decoder must agree with the full one: the same counts, or the same failure. */
function expectCountOnlyAgrees(chunks: readonly Buffer[], options: Partial<AsbDecoderOptions>, full: Decoded, fullError?: AsbDecodeError): void {
  const counted = countOnlyRun(chunks, options);
  if (fullError === undefined) {
    if (counted.error !== undefined) throw counted.error;
  } else {
    expect(counted.error, 'countOnly decoder fails too').to.be.instanceOf(AsbDecodeError);
    const error = counted.error as AsbDecodeError;
    expect(
      { code: error.code, message: error.message, line: error.line, column: error.column, log: error.logLines() },
      'countOnly decoder fails the same way',
    ).to.deep.equal({
      code: fullError.code,
      message: fullError.message,
      line: fullError.line,
      column: fullError.column,
      log: fullError.logLines(),
    });
  }
  expect(
    { records: counted.decoder.recordCount, indexes: counted.decoder.indexCount, udfs: counted.decoder.udfCount, line: counted.decoder.line },
    'countOnly decoder counts the same',
  ).to.deep.equal({
    records: full.decoder.recordCount,
    indexes: full.decoder.indexCount,
    udfs: full.decoder.udfCount,
    line: full.decoder.line,
  });
}

/**
 * `error` (what another decoder threw over the same chunks) must be none when the ordinary decoder
 * succeeded, else an AsbDecodeError with the same message, line and column (and log lines, with
 * `withLog`).
 */
function expectFailsLike(error: unknown, fullError: AsbDecodeError | undefined, who: string, withLog: boolean): void {
  if (fullError === undefined) {
    if (error !== undefined) throw error;
    return;
  }
  expect(error, `${who} fails too`).to.be.instanceOf(AsbDecodeError);
  const failure = (e: AsbDecodeError) =>
    withLog ? { message: e.message, line: e.line, column: e.column, log: e.logLines() } : { message: e.message, line: e.line, column: e.column };
  expect(failure(error as AsbDecodeError), `${who} fails the same way`).to.deep.equal(failure(fullError));
}

/**
 * A full decoder with `transientInput` (what the restore uses) over private copies of `chunks`,
 * each overwritten right after write() returns, its sink snapshotting every item as it arrives,
 * must hand over exactly what the ordinary decoder did, and fail the same way.
 */
function expectTransientInputAgrees(chunks: readonly Buffer[], options: Partial<AsbDecoderOptions>, full: Decoded, fullError?: AsbDecodeError): void {
  const snapshots: unknown[] = [];
  const decoder = new AsbDecoder(
    {
      record: (record) => snapshots.push(snapshotItem({ kind: 'record', record })),
      secondaryIndex: (index) => snapshots.push(snapshotItem({ kind: 'index', index })),
      udf: (udf) => snapshots.push(snapshotItem({ kind: 'udf', udf })),
    },
    { ...decoderOptions(options), transientInput: true },
  );
  expectFailsLike(writeBorrowed(decoder, chunks), fullError, 'transientInput decoder', false);
  expect(snapshots, 'transientInput decoder hands over the same items').to.deep.equal(full.snapshotsAtEmission);
}

/**
 * An AsbRowSink that rebuilds each record from the row calls (values copied out of its row memory),
 * checking the contract on the way: bins only between beginRecord and endRecord, a record begun
 * again replaces the one begun before, space handed out is written by the decoder.
 */
class RebuildingRowSink implements AsbRowSink, AsbRowWriter {
  readonly items: ItemSnapshot[] = [];
  rowBytes = Buffer.alloc(64);
  get rowView(): DataView {
    return new DataView(this.rowBytes.buffer, this.rowBytes.byteOffset, this.rowBytes.length);
  }
  private used = 0;
  private open: AsbRecord | null = null;
  private spaces: { bin: AsbBin; at: number; length: number }[] = [];

  record(record: AsbRecord): void {
    this.open = null;
    this.items.push(snapshotItem({ kind: 'record', record }));
  }
  secondaryIndex(index: SecondaryIndexDef): void {
    expect(this.open, 'no index inside a record').to.equal(null);
    this.items.push(snapshotItem({ kind: 'index', index }));
  }
  udf(udf: UdfModule): void {
    expect(this.open, 'no UDF inside a record').to.equal(null);
    this.items.push(snapshotItem({ kind: 'udf', udf }));
  }
  beginRecord(namespace: Buffer, digest: Buffer, set: Buffer | null, key: AsbKey | null, generation: number, voidTime: number, line: number): AsbRowWriter {
    const copyKey = key === null ? null : { type: key.type, value: Buffer.isBuffer(key.value) ? Buffer.from(key.value) : key.value };
    this.open = { namespace: Buffer.from(namespace), digest: Buffer.from(digest), set: set === null ? null : Buffer.from(set), key: copyKey as AsbKey | null, generation, voidTime, bins: [], line };
    this.used = 0;
    this.spaces = [];
    // Poison the row memory: bytes the decoder does not write show up as 0xee.
    this.rowBytes.fill(0xee);
    return this;
  }
  binSpace(name: Buffer, type: ParticleType, length: number): number {
    if (this.used + length > this.rowBytes.length) {
      const grown = Buffer.alloc(2 * (this.used + length), 0xee);
      this.rowBytes.copy(grown, 0, 0, this.used);
      this.rowBytes = grown;
    }
    const bin: AsbBin = { name: Buffer.from(name), type, value: null };
    this.addBin(bin);
    this.spaces.push({ bin, at: this.used, length });
    this.used += length;
    return this.used - length;
  }
  retractBin(): void {
    const open = this.openRecord();
    const bin = open.bins.pop()!;
    const space = this.spaces.pop()!;
    expect(space.bin, 'the bin retracted is the last one given space').to.equal(bin);
    this.used = space.at;
  }
  binInteger(name: Buffer, value: number | bigint): void {
    this.addBin({ name: Buffer.from(name), type: ParticleType.INTEGER, value });
  }
  binFloat(name: Buffer, value: number): void {
    this.addBin({ name: Buffer.from(name), type: ParticleType.FLOAT, value });
  }
  binBool(name: Buffer, value: boolean): void {
    this.addBin({ name: Buffer.from(name), type: ParticleType.BOOL, value });
  }
  binNil(name: Buffer): void {
    this.addBin({ name: Buffer.from(name), type: ParticleType.NULL, value: null });
  }
  endRecord(): void {
    const open = this.openRecord();
    for (const space of this.spaces) space.bin.value = Buffer.from(this.rowBytes.subarray(space.at, space.at + space.length));
    this.items.push(snapshotItem({ kind: 'record', record: open }));
    this.open = null;
  }
  private addBin(bin: AsbBin): void {
    this.openRecord().bins.push(bin);
  }
  private openRecord(): AsbRecord {
    expect(this.open, 'a bin call inside a record').to.not.equal(null);
    return this.open!;
  }
}

/**
 * A full decoder writing rows (what the restore runs: AsbRowSink, `transientInput`) over private
 * copies of `chunks` must hand over the same records (rebuilt from its row calls) and metadata in
 * the same order as the ordinary decoder, and fail the same way.
 */
function expectRowsAgree(chunks: readonly Buffer[], options: Partial<AsbDecoderOptions>, full: Decoded, fullError?: AsbDecodeError): void {
  const sink = new RebuildingRowSink();
  const decoder = new AsbDecoder(sink, { ...decoderOptions(options), transientInput: true });
  expectFailsLike(writeBorrowed(decoder, chunks), fullError, 'row decoder', true);
  expect(sink.items, 'row decoder hands over the same items').to.deep.equal(full.snapshotsAtEmission);
  expect({ records: decoder.recordCount, line: decoder.line }, 'row decoder counts the same').to.deep.equal({
    records: full.decoder.recordCount,
    line: full.decoder.line,
  });
}

/** Decodes `chunks` written one after another, then end(); `countOnly`, `transientInput` and row decoders must agree. */
export function decodeChunks(chunks: readonly Buffer[], options: Partial<AsbDecoderOptions> = {}): Decoded {
  const decoded = collectingDecoder(options);
  for (const chunk of chunks) decoded.decoder.write(chunk);
  decoded.decoder.end();
  expectCountOnlyAgrees(chunks, options, decoded);
  expectTransientInputAgrees(chunks, options, decoded);
  expectRowsAgree(chunks, options, decoded);
  return decoded;
}

/** Decodes one input written in a single chunk. */
export function decode(input: string | Buffer, options: Partial<AsbDecoderOptions> = {}): Decoded {
  return decodeChunks([bytes(input)], options);
}

export interface Failure {
  error: AsbDecodeError;
  decoded: Decoded;
}

/** Decodes `chunks` and returns the AsbDecodeError it must throw (from write() or end()). */
export function decodeFailureChunks(chunks: readonly Buffer[], options: Partial<AsbDecoderOptions> = {}): Failure {
  const decoded = collectingDecoder(options);
  try {
    for (const chunk of chunks) decoded.decoder.write(chunk);
    decoded.decoder.end();
  } catch (error) {
    if (!(error instanceof AsbDecodeError)) throw error;
    expectCountOnlyAgrees(chunks, options, decoded, error);
    expectTransientInputAgrees(chunks, options, decoded, error);
    expectRowsAgree(chunks, options, decoded, error);
    return { error, decoded };
  }
  throw new Error(`the input decoded without an error (${decoded.items.length} items)`);
}

export function decodeFailure(input: string | Buffer, options: Partial<AsbDecoderOptions> = {}): Failure {
  return decodeFailureChunks([bytes(input)], options);
}

// -------------------------------------------------------------------------------------------------
// Positions as C counts them

export interface Position {
  line: number;
  column: number;
}

/** 1-based line (1 + LFs before `offset`) and 1-based byte column of `offset` in `input`. */
export function positionAt(input: Buffer, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < input.length; i++) {
    if (input[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Position of `needle` (its `occurrence`-th match, 0-based) in `input`, moved by `delta` bytes.
 * Fails the test when the needle is missing, so expectations never silently point nowhere.
 */
export function positionOf(input: Buffer, needle: string | Buffer, occurrence = 0, delta = 0): Position {
  const pattern = bytes(needle);
  let at = -1;
  for (let k = 0; k <= occurrence; k++) {
    at = input.indexOf(pattern, at + 1);
    if (at < 0) throw new Error(`${JSON.stringify(pattern.toString('latin1'))} occurs fewer than ${occurrence + 1} times`);
  }
  return positionAt(input, at + delta);
}

/** The C-style `line L, col C` text. */
export function lineCol(position: Position): string {
  return `line ${position.line}, col ${position.column}`;
}

export interface ExpectedFailure {
  code: string;
  message: string;
  line: number;
  column: number;
  /** C's follow-up lines, when the test pins them. */
  trace?: readonly string[];
  /** The line of C's closing "Error while parsing backup file F (line N)", when pinned. */
  nextLine?: number;
}

export function expectFailure(error: AsbDecodeError, expected: ExpectedFailure): void {
  const actual: ExpectedFailure = { code: error.code, message: error.message, line: error.line, column: error.column ?? -1 };
  const wanted: ExpectedFailure = { code: expected.code, message: expected.message, line: expected.line, column: expected.column };
  if (expected.trace !== undefined) {
    actual.trace = [...error.trace];
    wanted.trace = [...expected.trace];
  }
  if (expected.nextLine !== undefined) {
    actual.nextLine = error.nextLine;
    wanted.nextLine = expected.nextLine;
  }
  expect(actual).to.deep.equal(wanted);
  expect(error.file).to.equal(FILE);
}

// -------------------------------------------------------------------------------------------------
// Item construction

/** A deterministic 20-byte digest. */
export function digest(seed: number): Buffer {
  return xorshiftBytes(20, (seed * 2654435761) >>> 0 || 1);
}

/** `length` bytes of a 32-bit xorshift sequence started at `state` (not 0). */
function xorshiftBytes(length: number, state: number): Buffer {
  const out = Buffer.alloc(length);
  let x = state;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function bin(name: string | Buffer, type: AsbBin['type'], value: BinValue): AsbBin {
  return { name: bytes(name), type, value };
}

export function record(fields: Partial<AsbRecord> & { bins?: AsbBin[] } = {}): AsbRecord {
  return {
    namespace: Buffer.from('test'),
    digest: digest(1),
    set: null,
    key: null,
    generation: 1,
    voidTime: 0,
    bins: [],
    line: 0,
    ...fields,
  };
}

export function intKey(value: number | bigint): AsbKey {
  return { type: ParticleType.INTEGER, value };
}

/** The decoder's canonical form of an int64: a number when |v| <= 2^53 - 1, else a bigint. */
export function canonicalInt(value: number | bigint): number | bigint {
  const big = BigInt(value);
  return big >= -BigInt(Number.MAX_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  return xorshiftBytes(length, seed >>> 0 || 0x9e3779b9);
}

// -------------------------------------------------------------------------------------------------
// Snapshots: plain, deep copies that compare exactly (number vs bigint, double bits, bytes as hex)

export type ValueSnapshot = null | boolean | string;

export interface RecordSnapshot {
  namespace: string;
  digest: string;
  set: string | null;
  key: { type: number; value: ValueSnapshot } | null;
  generation: number;
  voidTime: number;
  bins: Array<{ name: string; type: number; value: ValueSnapshot }>;
  line: number;
}

export type ItemSnapshot =
  | { kind: 'record'; record: RecordSnapshot }
  | { kind: 'index'; index: SecondaryIndexDef }
  | { kind: 'udf'; udf: { language: string; name: string; content: string; line: number } };

const float64 = new Float64Array(1);
const float64Bytes = new Uint8Array(float64.buffer);

/** The IEEE-754 bits of a double as 16 hex digits, big-endian. */
export function doubleBits(value: number): string {
  float64[0] = value;
  return Buffer.from(float64Bytes).reverse().toString('hex');
}

/** One value as text that tells its JS type and exact content apart. */
export function snapshotValue(type: number, value: BinValue | AsbKey['value']): ValueSnapshot {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return `bigint:${value}`;
  if (typeof value === 'number') return type === ParticleType.FLOAT ? `double:${doubleBits(value)}` : `number:${value}`;
  if (Buffer.isBuffer(value)) return `bytes:${value.toString('hex')}`;
  return `unexpected:${typeof value}`;
}

export function snapshotRecord(r: AsbRecord): RecordSnapshot {
  return {
    namespace: r.namespace.toString('hex'),
    digest: r.digest.toString('hex'),
    set: r.set === null ? null : r.set.toString('hex'),
    key: r.key === null ? null : { type: r.key.type, value: snapshotValue(r.key.type, r.key.value) },
    generation: r.generation,
    voidTime: r.voidTime,
    bins: r.bins.map((b) => ({ name: b.name.toString('hex'), type: b.type, value: snapshotValue(b.type, b.value) })),
    line: r.line,
  };
}

export function snapshotItem(item: DecodedItem): ItemSnapshot {
  switch (item.kind) {
    case 'record':
      return { kind: 'record', record: snapshotRecord(item.record) };
    case 'index':
      return { kind: 'index', index: structuredClone(item.index) };
    default:
      return {
        kind: 'udf',
        udf: { language: item.udf.language, name: item.udf.name, content: item.udf.content.toString('hex'), line: item.udf.line },
      };
  }
}

export function snapshotAll(decoded: Decoded): ItemSnapshot[] {
  return decoded.items.map(snapshotItem);
}
