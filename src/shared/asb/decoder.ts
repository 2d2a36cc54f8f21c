/**
 * Streaming decoder of the .asb backup format (versions 3.0, 3.1 and 3.2), as strict as C
 * asrestore's dec_text.c: it rejects exactly what C rejects, with C's messages, lines and columns.
 *
 * Input arrives in chunks split anywhere. Items (records, secondary indexes, UDFs) are decoded
 * straight out of the chunk they lie in; raw values (strings, GeoJSON, compact bytes, UDF bodies)
 * are views into that chunk. Only an item that straddles two chunks is copied, into a buffer that
 * holds just that item's bytes. Callers must not modify a chunk after handing it to write().
 * Digests and base64-decoded values are carved from 64 KiB slabs (with `transientInput`, one slab
 * handed out again from each record's start). Namespace, set and bin-name
 * Buffers are interned: equal bytes give the same (private, never modified) Buffer object, so
 * consumers can cache per object. Consumers must not modify any Buffer they receive.
 * With `countOnly` (--validate) records are checked exactly as above but never built.
 *
 * Line and column numbers follow C: a line is 1 + the number of LF bytes before the position
 * (LFs inside raw values count, as C counts every byte it reads), a column the 1-based byte
 * position in its line.
 *
 * Departure from C, by design: `Version 3.2` (written by the Go tools for metadata files) is
 * accepted, and with it the `* e` expression-index lines; C rejects 3.2 files outright.
 */
import { Buffer } from 'node:buffer';
import { ParticleType } from '../aerospike/protocol.js';
import {
  BASE64_INVALID,
  BASE64_LENIENT,
  BASE64_OK,
  base64LengthByLastGroup,
  decodeBase64C,
  decodeBase64Into,
  decodeBase64View,
  findInvalidBase64Group,
  isValidBase64,
} from './base64.js';
import { bufferView, SlabAllocator } from './bytes.js';
import { decimalToDouble, EXACT_POW10 } from './decimal.js';
import { AsbDecodeError, AsbErrorCode } from './errors.js';
import { formatDouble17g, printChar } from './text.js';
import type {
  AsbBin,
  AsbFastRecords,
  AsbRowSink,
  AsbRowWriter,
  AsbHeader,
  AsbKey,
  AsbSink,
  BinValue,
  SecondaryIndexDef,
  SindexIndexType,
  SindexPath,
  SindexPathType,
  UdfModule,
} from './types.js';

export interface AsbDecoderOptions {
  /** File name used in errors. */
  file: string;
  /**
   * The source namespace of `-n src[,dst]`. When set, a record whose namespace differs is rejected
   * (C: "Invalid namespace X in backup record, expected: Y").
   */
  sourceNamespace?: string;
  /**
   * True when `-n` names a target too (`src,dst`). Then, as in C, the `# namespace` meta line and
   * every secondary index namespace must equal `sourceNamespace` as well.
   */
  namespaceRemapped?: boolean;
  /**
   * Check and count every record exactly as usual (same rejections, messages, lines and columns)
   * without building it: `sink.record` is never called; headers, indexes and UDFs still reach the
   * sink (a UDF's content is then only valid during that call). The decoder never reads a chunk
   * again once write() returns (an incomplete item is copied), so the caller may overwrite or
   * reuse its chunk buffers. For --validate: no per-record allocations at all.
   */
  countOnly?: boolean;
  /**
   * The caller overwrites or reuses each chunk once write() returns (the restore reads into one
   * reused buffer): what the decoder keeps past write() (an incomplete item) is copied. Items are
   * views of the input and of the decoder's own memory (decoded digests and base64 values, reused
   * from one record to the next), valid only during the sink call that hands them over: the sink
   * must copy what it keeps (the restore encodes each record's row at once). Implied by `countOnly`.
   */
  transientInput?: boolean;
  /**
   * With a row sink: a faster decoder for runs of records of the common shape (the restore's
   * WebAssembly tier), offered each record start once the record section has begun.
   */
  fastRecords?: AsbFastRecords | null;
}

const LF = 0x0a;
const SPACE = 0x20;
const BANG = 0x21;
const HASH = 0x23;
const STAR = 0x2a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const CHAR_0 = 0x30;
const CHAR_9 = 0x39;
const CHAR_B = 0x42;
const CHAR_D = 0x44;
const CHAR_F = 0x46;
const CHAR_G = 0x47;
const CHAR_I = 0x49;
const CHAR_K = 0x4b;
const CHAR_L = 0x4c;
const CHAR_N = 0x4e;
const CHAR_S = 0x53;
const CHAR_T = 0x54;
const CHAR_V = 0x56;
const CHAR_X = 0x58;
const LOWER_B = 0x62;
const LOWER_D = 0x64;
const LOWER_E = 0x65;
const LOWER_G = 0x67;
const LOWER_I = 0x69;
const LOWER_K = 0x6b;
const LOWER_N = 0x6e;
const LOWER_S = 0x73;
const LOWER_T = 0x74;
const LOWER_U = 0x75;

/** C MAX_TOKEN_SIZE: token buffers hold 999 bytes plus the NUL. */
const MAX_TOKEN = 1000;
/** Token buffer sizes of the record namespace (as_namespace, 32) and set (as_set, 64). */
const NAMESPACE_BUFFER = 32;
const SET_BUFFER = 64;
/** C caps every length field at 1024^5. */
const MAX_SIZE = 1024 ** 5;
const UINT32_MAX = 0xffffffff;
/** Bin names must be shorter than this (the C client's AS_BIN_NAME_MAX_SIZE). */
const BIN_NAME_BUFFER = 16;
const MAX_META_LINE = 1000;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Sizes of the intern tables (powers of two). */
const SET_TABLE = 64;
const BIN_TABLE = 1024;
/** Record serials wrap here (the stamp table is cleared then). */
const MAX_SERIAL = 0x3fffffff;
/** The head of the next chunk joined to an item that straddled two chunks, when the fast tier may take it. */
const FAST_JOIN_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/** Bin line kinds by type letter (C accepts "NIDSXGBJCPRHEYMLUZ"). */
const KIND_INVALID = 0;
const KIND_NIL = 1;
const KIND_INT = 2;
const KIND_DOUBLE = 3;
const KIND_STRING = 4;
const KIND_BASE64_STRING = 5;
const KIND_GEOJSON = 6;
const KIND_BYTES = 7;
const KIND_LDT = 8;
const KIND_BOOL = 9;

const BIN_KIND = new Uint8Array(256);
const BYTES_PARTICLE = new Uint8Array(256);
{
  BIN_KIND[CHAR_N] = KIND_NIL;
  BIN_KIND[CHAR_I] = KIND_INT;
  BIN_KIND[CHAR_D] = KIND_DOUBLE;
  BIN_KIND[CHAR_S] = KIND_STRING;
  BIN_KIND[CHAR_X] = KIND_BASE64_STRING;
  BIN_KIND[CHAR_G] = KIND_GEOJSON;
  BIN_KIND[0x55 /* U */] = KIND_LDT;
  BIN_KIND[0x5a /* Z */] = KIND_BOOL;
  const bytesLabels: Array<[string, number]> = [
    ['B', ParticleType.BLOB],
    ['J', ParticleType.JAVA_BLOB],
    ['C', ParticleType.CSHARP_BLOB],
    ['P', ParticleType.PYTHON_BLOB],
    ['R', ParticleType.RUBY_BLOB],
    ['H', ParticleType.PHP_BLOB],
    ['E', ParticleType.ERLANG_BLOB],
    ['Y', ParticleType.HLL],
    ['M', ParticleType.MAP],
    ['L', ParticleType.LIST],
  ];
  for (const [label, particle] of bytesLabels) {
    BIN_KIND[label.charCodeAt(0)] = KIND_BYTES;
    BYTES_PARTICLE[label.charCodeAt(0)] = particle;
  }
}

/** Thrown internally when the buffer ends before the item does. Never escapes the decoder. */
const NEED_MORE: unique symbol = Symbol('asb-need-more');

/** Token reader modes (C text_nul_read_until flags). */
const TOKEN_PLAIN = 0;
const TOKEN_DIGITS = 1;
const TOKEN_SIGNED = 2;
const TOKEN_FLOAT = 3;

/** How a bin line is read: checked only, built as an AsbBin, or written to the row sink. */
const BIN_CHECK = 0;
const BIN_OBJECT = 1;
const BIN_ROW = 2;

const PHASE_HEADER = 0;
const PHASE_META = 1;
const PHASE_BLOCKS = 2;

// C's follow-up error lines ("trace") for each step of a block. The hot path records only a small
// integer step code (a Smi field store, free of write barriers); the lines are looked up on error.
const REC = 'Error while parsing record';
const BASE64_EOF = 'Unexpected end of file in base-64 data';
const TRACES: Array<readonly string[]> = [];
function step(...lines: string[]): number {
  TRACES.push(lines);
  return TRACES.length - 1;
}
/** Three consecutive steps of a `<len> <data>` value: reading the size, the space, the data. */
function sizedSteps(kind: 'string' | 'data' | 'encoded', outer: string): number {
  const size = { string: 'Error while reading string size', data: 'Error while reading data size', encoded: 'Error while reading encoded data size' }[kind];
  const data = { string: 'Error while reading string data', data: 'Error while reading data', encoded: 'Error while reading encoded data' }[kind];
  const first = step(size, outer, REC);
  step(outer, REC);
  step(data, outer, REC);
  return first;
}
const STEP_NONE = step();
const STEP_REC = step(REC);
const STEP_KEY_INT = step('Error while reading integer key value', REC);
const STEP_KEY_DOUBLE = step('Error while reading floating-point key value', REC);
const STEP_KEY_STRING = sizedSteps('string', 'Error while reading string key value');
const STEP_KEY_BASE64_STRING = sizedSteps('encoded', 'Error while reading encoded string key value');
const STEP_KEY_BYTES = sizedSteps('data', 'Error while reading key bytes');
const STEP_KEY_BASE64_BYTES = sizedSteps('encoded', 'Error while reading encoded key bytes');
const STEP_NAMESPACE = step('Error while reading namespace token', REC);
const STEP_DIGEST = step('Error while reading encoded digest string', REC);
const STEP_SET = step('Error while reading set token', REC);
const STEP_GENERATION = step('Error while reading generation count', REC);
const STEP_EXPIRATION = step('Error while reading expiration time', REC);
const STEP_BIN_COUNT = step('Error while reading bin count', REC);
const STEP_BIN_NAME = step('Error while reading bin name token', REC);
const STEP_BIN_BOOL = step('Error while reading boolean bin value', REC);
const STEP_BIN_INT = step('Error while reading integer bin value', REC);
const STEP_BIN_DOUBLE = step('Error while reading floating-point bin value', REC);
const STEP_BIN_STRING = sizedSteps('string', 'Error while reading string bin value');
const STEP_BIN_BASE64_STRING = sizedSteps('encoded', 'Error while reading encoded string bin value');
const STEP_BIN_GEOJSON = sizedSteps('string', 'Error while reading geojson bin value');
const STEP_BIN_BYTES = sizedSteps('data', 'Error while reading data bin value');
const STEP_BIN_BASE64_BYTES = sizedSteps('encoded', 'Error while reading encoded data bin value');

const INDEX_TYPES: Record<number, SindexIndexType> = { [CHAR_N]: 'N', [CHAR_L]: 'L', [CHAR_K]: 'K', [CHAR_V]: 'V' };
const PATH_TYPES: Record<number, SindexPathType> = { [CHAR_S]: 'S', [CHAR_N]: 'N', [CHAR_G]: 'G', [CHAR_B]: 'B' };


/** printf("%llu") of an int64: negative values print as their two's complement. */
function formatUnsigned64(value: number | bigint): string {
  const big = BigInt(value);
  return (big < 0n ? big + (1n << 64n) : big).toString();
}

/** Text of a C string held in `bytes`: up to the first NUL. */
function cString(bytes: Uint8Array, length: number): string {
  let end = 0;
  while (end < length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
}

function hexDump13(header: Uint8Array): string {
  const bytes = new Uint8Array(13);
  bytes.set(header.subarray(0, 12));
  let hex = '0000';
  let ascii = '';
  for (const x of bytes) {
    hex += ' ' + x.toString(16).padStart(2, '0');
    ascii += x >= 32 && x <= 126 ? String.fromCharCode(x) : '.';
  }
  return hex + '   '.repeat(16 - bytes.length) + ' ' + ascii;
}

/**
 * C text_check_floating_point: is `buf[0..len)` a prefix of something strtod could read, by C's
 * character rules (sign, nan/inf/infinity in any case, digits, one '.', one lowercase 'e', a sign
 * only right after 'e')?
 */
function cFloatPrefixOk(buf: Uint8Array, len: number): boolean {
  let i = 0;
  if (buf[0] === PLUS || buf[0] === MINUS) i++;
  if (i === len) return true;
  if (caseInsensitivePrefix('nan', buf, i, len - i)) return true;
  if (caseInsensitivePrefix('inf', buf, i, len - i)) return true;
  if (caseInsensitivePrefix('infinity', buf, i, len - i)) return true;
  let dot = false;
  let exponent = false;
  let ch = 0;
  let prev = 0;
  while (i < len) {
    prev = ch;
    ch = buf[i++];
    if (ch >= CHAR_0 && ch <= CHAR_9) continue;
    if ((ch === PLUS || ch === MINUS) && prev === LOWER_E) continue;
    if (ch === DOT && !dot && !exponent) {
      dot = true;
      continue;
    }
    if (ch === LOWER_E && !exponent) {
      exponent = true;
      continue;
    }
    return false;
  }
  return true;
}

/** strncasecmp(literal, buf + offset, n) == 0, with C string semantics (a NUL ends both). */
function caseInsensitivePrefix(literal: string, buf: Uint8Array, offset: number, n: number): boolean {
  for (let k = 0; k < n; k++) {
    const a = k < literal.length ? literal.charCodeAt(k) : 0;
    let c = buf[offset + k];
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (a !== c) return false;
    if (a === 0) return true;
  }
  return true;
}

/**
 * strtod over the C string `buf[0..len)` (up to a NUL), succeeding only when it reads all of it.
 * Returns undefined when strtod would stop early.
 */
function cStrtodWhole(buf: Uint8Array, len: number): number | undefined {
  let end = 0;
  while (end < len && buf[end] !== 0) end++;
  if (end === 0) return 0; // strtod("") reads nothing and leaves *end == NUL: C accepts it as 0.0
  let i = 0;
  let negative = false;
  if (buf[0] === PLUS || buf[0] === MINUS) {
    negative = buf[0] === MINUS;
    i = 1;
  }
  const word = Buffer.from(buf.buffer, buf.byteOffset + i, end - i).toString('latin1').toLowerCase();
  if (word === 'nan') return NaN;
  if (word === 'inf' || word === 'infinity') return negative ? -Infinity : Infinity;
  let digits = 0;
  let j = i;
  while (j < end && buf[j] >= CHAR_0 && buf[j] <= CHAR_9) {
    j++;
    digits++;
  }
  if (j < end && buf[j] === DOT) {
    j++;
    while (j < end && buf[j] >= CHAR_0 && buf[j] <= CHAR_9) {
      j++;
      digits++;
    }
  }
  if (digits === 0) return undefined;
  if (j < end && buf[j] === LOWER_E) {
    let k = j + 1;
    if (k < end && (buf[k] === PLUS || buf[k] === MINUS)) k++;
    const exponentStart = k;
    while (k < end && buf[k] >= CHAR_0 && buf[k] <= CHAR_9) k++;
    if (k === exponentStart) return undefined;
    j = k;
  }
  if (j !== end) return undefined;
  return Number(Buffer.from(buf.buffer, buf.byteOffset, end).toString('latin1'));
}

export class AsbDecoder {
  private readonly sink: AsbSink;
  /** The sink when it takes records as rows (AsbRowSink), else null. */
  private readonly rowSink: AsbRowSink | null;
  /** Where the bins of the record being written as a row go (from beginRecord). */
  private rowWriter: AsbRowWriter | null = null;
  /** Set while a record whose bin names repeat is read again as an object. */
  private recordAsObject = false;
  /** The digest of the record being written as a row (decoded here, copied by the sink). */
  private readonly rowDigest = Buffer.alloc(20);
  private readonly file: string;
  private readonly sourceNamespace: Buffer | null;
  private readonly namespaceRemapped: boolean;
  /** False with `countOnly`: records are checked but no values, bins or records are built. */
  private readonly build: boolean;
  /** The caller reuses its chunks: copy what is kept past write(). */
  private readonly copyKept: boolean;
  /** Built records' values are used only during the sink call (`transientInput`): reuse slab memory. */
  private readonly rewindSlabs: boolean;
  private readonly fastRecords: AsbFastRecords | null;
  /** Counts run() calls: the fast tier copies a buffer's bytes once per call. */
  private runSerial = 0;

  private phase = PHASE_HEADER;
  private legacy = false;
  private version: AsbHeader['version'] = '3.1';
  private metaNamespace: string | null = null;
  private firstFile = false;

  /** Bytes of an incomplete item (from its first byte on), waiting for more input. */
  private pending: Buffer[] | null = null;
  private pendingLength = 0;
  /** Total pending length at which parsing the incomplete item is tried again. */
  private retryAt = 0;
  private ended = false;
  private failure: unknown = null;

  // The buffer being parsed and the item being decoded.
  private b: Buffer = EMPTY;
  private limit = 0;
  /** `b.buffer` and `b.byteOffset`, read once per buffer (`.buffer` is a slow C++ getter). */
  private bBuffer: ArrayBufferLike = EMPTY.buffer;
  private bOffset = 0;
  /** A DataView of `b` (row mode reads base64 four characters at a time). */
  private bView: DataView<ArrayBufferLike> = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
  private itemStart = 0;
  private itemLine = 1;
  /** LFs consumed by the current item beyond one per structural line (raw values, escaped LFs). */
  private extraLines = 0;
  /** True at end of input: running out of bytes is an error, not a wait. */
  private final = false;
  /** Bytes from the item start needed before a retry can succeed (a lower bound). */
  private need = 0;
  /** The step being decoded: an index into TRACES, C's follow-up error lines. */
  private step = STEP_NONE;
  /**
   * Where a value-returning helper stopped. Helpers return values and leave positions here, so the
   * hot path never stores fresh objects into this long-lived object (no write barriers).
   */
  private pos = 0;
  /** Where the last raw or base64 value's text starts (its end is `pos`). */
  private valueStart = 0;
  /** Unescaped bytes of the last token read by the exact (slow) reader. */
  private readonly scratch = Buffer.allocUnsafeSlow(MAX_TOKEN + 8);
  private scratchLength = 0;
  private readonly slabs = new SlabAllocator();

  // Interned names: the same Buffer object for the same bytes, so consumers can cache per object.
  private namespace: Buffer = EMPTY;
  /** The last namespace Buffer found equal to `sourceNamespace`. */
  private checkedNamespace: Buffer | null = null;
  private readonly setNames: Array<Buffer | undefined> = new Array(SET_TABLE).fill(undefined);
  private readonly binNames: Array<Buffer | undefined> = new Array(BIN_TABLE).fill(undefined);
  /** Per bin-name slot: the record serial that last used it (finds repeated names in a record). */
  private readonly binNameStamps = new Int32Array(BIN_TABLE);
  private recordSerial = 0;
  /** Set by internBinName: the name already occurred in this record. */
  private nameRepeated = false;
  /** Set by internBinName: a name of this record could not be interned (slot taken). */
  private uninternedName = false;

  private records = 0;
  private indexes = 0;
  private udfs = 0;
  private nextLine = 1;

  constructor(sink: AsbSink | AsbRowSink, options: AsbDecoderOptions) {
    this.sink = sink;
    this.rowSink = options.countOnly !== true && 'beginRecord' in sink ? sink : null;
    this.file = options.file;
    this.sourceNamespace = options.sourceNamespace === undefined ? null : Buffer.from(options.sourceNamespace, 'utf8');
    this.namespaceRemapped = options.namespaceRemapped === true && this.sourceNamespace !== null;
    this.build = options.countOnly !== true;
    this.copyKept = !this.build || options.transientInput === true;
    this.rewindSlabs = this.build && options.transientInput === true;
    this.fastRecords = this.rowSink !== null ? (options.fastRecords ?? null) : null;
  }

  get recordCount(): number {
    return this.records;
  }
  get indexCount(): number {
    return this.indexes;
  }
  get udfCount(): number {
    return this.udfs;
  }
  /** The line (1-based) of the next byte not yet decoded. */
  get line(): number {
    return this.nextLine;
  }

  /** Decodes every complete item in `chunk` (plus what earlier chunks left), calling the sink in file order. */
  write(chunk: Buffer): void {
    if (this.failure !== null) throw this.failure;
    if (this.ended) throw new Error('AsbDecoder.write() after end()');
    if (chunk.length === 0) return;
    try {
      let start = 0;
      if (this.pending !== null) {
        start = this.continuePending(chunk);
        if (start < 0) return;
      }
      const stop = this.run(chunk, start);
      if (stop < chunk.length) this.setPending(this.keep(chunk.subarray(stop)));
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  /** End of input: an incomplete item, or a missing or short header, is an error. */
  end(): void {
    if (this.failure !== null) throw this.failure;
    if (this.ended) return;
    this.ended = true;
    this.final = true;
    try {
      if (this.pending !== null) {
        const rest = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLength);
        this.pending = null;
        this.run(rest, 0);
      }
      if (this.phase === PHASE_HEADER) {
        this.tryItem(EMPTY, 0);
      }
      if (this.phase === PHASE_META) this.finishMeta();
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Buffer management

  /** Bytes to hold on to past write(): a copy when the caller reuses its chunks (`countOnly`, `transientInput`). */
  private keep(bytes: Buffer): Buffer {
    return this.copyKept ? Buffer.from(bytes) : bytes;
  }

  private setPending(rest: Buffer): void {
    this.pending = [rest];
    this.pendingLength = rest.length;
    // Retry once the item's known need is met, and not before the incomplete bytes have doubled, so
    // that an item spanning many chunks is re-parsed a logarithmic number of times.
    this.retryAt = Math.max(this.need, rest.length * 2, rest.length + 1);
  }

  /**
   * Continues the incomplete item with the head of `chunk`. Returns the position in `chunk` where
   * the next item starts, or -1 when the chunk was absorbed and the item is still incomplete.
   */
  private continuePending(chunk: Buffer): number {
    const parts = this.pending!;
    if (this.pendingLength + chunk.length < this.retryAt) {
      parts.push(this.keep(chunk));
      this.pendingLength += chunk.length;
      return -1;
    }
    let prefix = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.pendingLength);
    this.pending = null;
    if (parts.length > 1) {
      // Chunks absorbed earlier may already complete the item and hold further ones.
      const stop = this.run(prefix, 0);
      if (stop === prefix.length) return 0;
      prefix = prefix.subarray(stop);
    }
    // Copy only the head of the chunk that the straddling item needs (grown until it fits). With the
    // fast tier, a head that holds a whole record at once: the tier cannot take a record in part,
    // and every try that falls short is parsed again here just to learn how much more it needs.
    let take = Math.min(chunk.length, Math.max(this.need - prefix.length, prefix.length, this.fastRecords !== null ? FAST_JOIN_BYTES : 256));
    for (;;) {
      const joined = Buffer.concat([prefix, chunk.subarray(0, take)], prefix.length + take);
      const stop = this.tryJoinedFast(joined, prefix.length) ?? this.tryItem(joined, 0);
      if (stop >= 0) {
        // The item did not fit in `prefix`, so it ends inside the chunk's head.
        return stop - prefix.length;
      }
      if (take === chunk.length) {
        this.setPending(joined);
        return -1;
      }
      take = Math.min(chunk.length, Math.max(take * 2, this.need - prefix.length));
    }
  }

  /**
   * The fast tier's try at the item that straddled two chunks, joined: the position after the
   * records it took (the straddling one first), or null when it took none.
   */
  private tryJoinedFast(joined: Buffer, prefixLength: number): number | null {
    const fast = this.fastRecords;
    if (fast === null || joined[0] !== PLUS || !this.fastRecordsMayTake()) return null;
    const taken = fast.take(joined, 0, joined.length, this.nextLine, this.namespace, ++this.runSerial);
    if (taken === 0) return null;
    // `prefix` holds one incomplete item (continuePending decoded the complete ones before it).
    if (taken <= prefixLength) throw new Error('internal: the fast tier took a record the pending bytes did not complete');
    this.records += fast.records;
    this.nextLine = fast.nextLine;
    return taken;
  }

  /** Decodes items from `buf` at `start`; returns where the first incomplete item starts (or the end). */
  private run(buf: Buffer, start: number): number {
    let p = start;
    const fast = this.fastRecords;
    const serial = ++this.runSerial;
    while (p < buf.length) {
      if (fast !== null && buf[p] === PLUS && this.fastRecordsMayTake()) {
        const taken = fast.take(buf, p, buf.length, this.nextLine, this.namespace, serial);
        if (taken !== p) {
          this.records += fast.records;
          this.nextLine = fast.nextLine;
          p = taken;
          if (p === buf.length) break;
        }
        // A record cut by the end of this buffer: kept for the next chunk without parsing it in
        // part here (at the end of the input, the decoder reads it to report what is missing).
        if (fast.inputEnded && !this.final) {
          this.need = buf.length - p + 1;
          return p;
        }
      }
      const next = this.tryItem(buf, p);
      if (next < 0) return p;
      p = next;
    }
    return p;
  }

  /**
   * Whether the fast tier may take records now: in the record section of a 3.1+ file, once a record
   * has set the namespace (checked against `-n` when given).
   */
  private fastRecordsMayTake(): boolean {
    return (
      this.phase === PHASE_BLOCKS &&
      !this.legacy &&
      this.namespace.length > 0 &&
      (this.sourceNamespace === null || this.checkedNamespace === this.namespace)
    );
  }

  /** Decodes one item at `p`; returns the position after it, or -1 if `buf` ends first. */
  private tryItem(buf: Buffer, p: number): number {
    if (buf !== this.b) {
      this.b = buf;
      this.limit = buf.length;
      this.bBuffer = buf.buffer;
      this.bOffset = buf.byteOffset;
      if (this.rowSink !== null) this.bView = new DataView(this.bBuffer, this.bOffset, buf.length);
    }
    this.itemStart = p;
    this.itemLine = this.nextLine;
    this.need = 0;
    try {
      if (this.phase === PHASE_BLOCKS) {
        const first = buf[p];
        if (first === PLUS) return this.parseRecord(buf, p);
        if (first === STAR && !this.legacy) return this.parseGlobal(buf, p);
        return this.invalidBlockStart(p);
      }
      return this.phase === PHASE_META ? this.parseMeta(buf, p) : this.parseHeader(buf, p);
    } catch (error) {
      if (error === NEED_MORE) return -1;
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Errors and running out of input

  /** The buffer ends before position `p`: wait for more input, or fail at end of input. */
  private needMore(p: number): never {
    if (this.final) this.failEof();
    this.need = Math.max(this.need, p + 1 - this.itemStart);
    throw NEED_MORE;
  }

  /** The item needs the bytes up to (not including) `end`. */
  private needUpTo(end: number): never {
    if (this.final) this.failEof();
    this.need = Math.max(this.need, end - this.itemStart);
    throw NEED_MORE;
  }

  private failEof(extraTrace: readonly string[] = []): never {
    const trace = TRACES[this.step];
    return this.fail(
      AsbErrorCode.TRUNCATED,
      this.limit,
      false,
      `Unexpected end of file in backup block (`,
      `)`,
      extraTrace.length > 0 ? [...extraTrace, ...trace] : trace,
    );
  }

  /** Line and column of buffer position `offset` (the item starts a line). */
  private locate(offset: number): { line: number; column: number } {
    let line = this.itemLine;
    let lastLf = this.itemStart - 1;
    const b = this.b;
    for (let i = this.itemStart; i < offset && i < this.limit; i++) {
      if (b[i] === LF) {
        line++;
        lastLf = i;
      }
    }
    return { line, column: offset - lastLf };
  }

  /**
   * Throws the error for the byte at `offset`: the message is `before` + "line L, col C" + `after`
   * (or just `before` when `after` is null, for C messages without a location). `consumed` tells
   * whether C had read that byte (rather than peeked at it), which decides the line C names in its
   * closing message. Callers build messages only on the error path, without closures, so hot
   * functions allocate no context objects.
   */
  private fail(
    code: AsbErrorCode,
    offset: number,
    consumed: boolean,
    before: string,
    after: string | null,
    trace: readonly string[] = TRACES[this.step],
  ): never {
    const where = this.locate(offset);
    const nextLine = consumed && offset < this.limit && this.b[offset] === LF ? where.line + 1 : where.line;
    const message = after === null ? before : `${before}line ${where.line}, col ${where.column}${after}`;
    throw new AsbDecodeError(code, message, { file: this.file, line: where.line, column: where.column, nextLine, trace });
  }

  /** The byte at `p`, which C read with read_char, was not `expected`. */
  private unexpected(p: number, expected: number): never {
    if (p >= this.limit) this.needMore(p);
    const found = this.b[p];
    return this.fail(
      AsbErrorCode.PARSE,
      p,
      true,
      `Unexpected character ${printChar(found)} in backup block (`,
      `), expected ${printChar(expected)}`,
    );
  }

  private expectAt(p: number, expected: number): void {
    if (p >= this.limit || this.b[p] !== expected) this.unexpected(p, expected);
  }

  private byteAt(p: number): number {
    if (p >= this.limit) this.needMore(p);
    return this.b[p];
  }

  private invalidBlockStart(p: number): never {
    const first = this.b[p];
    this.step = STEP_NONE;
    return this.fail(AsbErrorCode.PARSE, p, true, `Invalid start character ${printChar(first)} in block (`, `)`);
  }

  // ---------------------------------------------------------------------------------------------
  // Header and meta lines

  private parseHeader(b: Buffer, p: number): number {
    // C reads the first line with fgets into 13 bytes: at most 12 bytes, up to and including an LF.
    let lineEnd = -1;
    const limit = Math.min(this.limit, p + 12);
    for (let i = p; i < limit; i++) {
      if (b[i] === LF) {
        lineEnd = i + 1;
        break;
      }
    }
    if (lineEnd < 0) {
      if (limit - p < 12 && !this.final) {
        this.need = 12;
        throw NEED_MORE;
      }
      lineEnd = limit;
    }
    const line = b.subarray(p, lineEnd);
    if (line.length === 0) {
      throw new AsbDecodeError(AsbErrorCode.HEADER, `Error while reading version from backup file ${this.file}`, {
        file: this.file,
        line: 1,
        column: 1,
        whileOpening: true,
      });
    }
    const text = line.toString('latin1');
    if (line.length !== 12 || !text.startsWith('Version ') || line[11] !== LF) {
      throw new AsbDecodeError(AsbErrorCode.HEADER, this.headerHint(line), {
        file: this.file,
        line: 1,
        column: 1,
        trace: [hexDump13(line)],
        whileOpening: true,
      });
    }
    const version = text.slice(8, 11);
    if (version !== '3.0' && version !== '3.1' && version !== '3.2') {
      throw new AsbDecodeError(AsbErrorCode.HEADER, `Invalid backup file version ${version} in backup file ${this.file}`, {
        file: this.file,
        line: 1,
        column: 9,
        trace: [hexDump13(line)],
        whileOpening: true,
      });
    }
    this.version = version;
    this.legacy = version === '3.0';
    this.phase = PHASE_META;
    this.nextLine = 2;
    return lineEnd;
  }

  private headerHint(line: Buffer): string {
    const base = `Invalid version line in backup file ${this.file}`;
    const zstdMagic = line.length >= 4 && line[0] === 0x28 && line[1] === 0xb5 && line[2] === 0x2f && line[3] === 0xfd;
    if (zstdMagic) {
      return `${base}: it starts with a zstd frame; the backup is compressed, restore it with --compress zstd`;
    }
    let printable = line.length > 0;
    for (const x of line) if (x !== LF && (x < 32 || x > 126)) printable = false;
    if (printable) return `${base}: expected "Version 3.x" on the first line`;
    return `${base}: the file does not start with "Version 3.x"; if the backup was written with --compress or --encrypt, pass the same --compress / --encrypt option (and the encryption key)`;
  }

  private parseMeta(b: Buffer, p: number): number {
    if (p >= this.limit) this.needMore(p);
    if (b[p] !== HASH) {
      this.finishMeta();
      return p;
    }
    const lineNo = this.nextLine;
    // C reads the rest of the line with fgets into 1001 bytes: at most 1000 bytes up to the LF.
    const contentStart = p + 1;
    const limit = Math.min(this.limit, contentStart + MAX_META_LINE);
    let lf = -1;
    let nul = -1;
    for (let i = contentStart; i < limit; i++) {
      const c = b[i];
      if (c === LF) {
        lf = i;
        break;
      }
      if (c === 0 && nul < 0) nul = i;
    }
    if (lf < 0 && limit === this.limit && limit - contentStart < MAX_META_LINE && !this.final) {
      this.need = limit - p + 1;
      throw NEED_MORE;
    }
    if (contentStart === this.limit) {
      this.metaFail(`Error while reading meta data from backup file ${this.file}:${lineNo} [1]`, lineNo, 2);
    }
    if (lf < 0 || (nul >= 0 && nul < lf)) {
      const shown = b.subarray(contentStart, nul >= 0 ? nul : limit).toString('utf8');
      // Reported at the NUL that ends C's string early, or at the last of the 1000 bytes C read.
      const column = nul >= 0 ? nul - p + 1 : MAX_META_LINE + 1;
      this.metaFail(`Meta data line ${shown} too long in backup file ${this.file}:${lineNo}`, lineNo, column);
    }
    const content = b.subarray(contentStart, lf);
    const text = content.toString('utf8');
    if (content[0] !== SPACE) {
      this.metaFail(`Invalid meta data line "#${text}" in backup file ${this.file}:${lineNo} [1]`, lineNo, 2);
    }
    const key = content.subarray(1);
    if (key.equals(FIRST_FILE)) {
      this.firstFile = true;
    } else if (key.length >= NAMESPACE_KEY.length && key.subarray(0, NAMESPACE_KEY.length).equals(NAMESPACE_KEY)) {
      const afterKey = key.subarray(NAMESPACE_KEY.length);
      if (this.namespaceRemapped) {
        if (afterKey[0] !== SPACE) {
          this.metaFail(`Invalid namespace meta data line in backup file ${this.file}:${lineNo}`, lineNo, 12);
        }
        // C compares the text as written (still escaped) with the source namespace.
        const value = afterKey.subarray(1);
        if (!value.equals(this.sourceNamespace!)) {
          throw new AsbDecodeError(
            AsbErrorCode.NAMESPACE,
            `Invalid namespace ${cString(value, value.length)} in backup file ${this.file} (expected: ${this.sourceNamespace!.toString('utf8')})`,
            { file: this.file, line: lineNo, column: 13, whileOpening: true },
          );
        }
      }
      const raw = afterKey[0] === SPACE ? afterKey.subarray(1) : afterKey;
      this.metaNamespace = (this.legacy ? raw : unescapeBytes(raw)).toString('utf8');
    } else {
      this.metaFail(`Invalid meta data line "#${text}" in backup file ${this.file}:${lineNo} [2]`, lineNo, 3);
    }
    this.nextLine = lineNo + 1;
    return lf + 1;
  }

  private metaFail(message: string, line: number, column: number): never {
    throw new AsbDecodeError(AsbErrorCode.META, message, { file: this.file, line, column, whileOpening: true });
  }

  private finishMeta(): void {
    this.phase = PHASE_BLOCKS;
    this.sink.header?.({ version: this.version, namespace: this.metaNamespace, firstFile: this.firstFile });
  }

  // ---------------------------------------------------------------------------------------------
  // Records

  /**
   * Diagnoses a record line start at `p` that is not `+ <letter> ` (C: expect '+', expect ' ', read
   * the letter, expect ' '). A wrong letter is reported as expecting `expected` (for an optional
   * line, C names the optional line's letter).
   */
  private recordLineFailure(b: Buffer, p: number, expected: number, alternative: number): never {
    this.step = STEP_NONE;
    if (b[p] !== PLUS) this.unexpected(p, PLUS);
    if (b[p + 1] !== SPACE) this.unexpected(p + 1, SPACE);
    const letter = b[p + 2];
    if (letter !== expected && letter !== alternative) this.unexpected(p + 2, expected);
    return this.unexpected(p + 3, SPACE);
  }

  private parseRecord(b: Buffer, start: number): number {
    // The previous record's values were valid only during its sink call.
    if (this.rewindSlabs) this.slabs.rewind();
    this.extraLines = 0;
    this.recordSerial = this.recordSerial === MAX_SERIAL ? this.resetStamps() : this.recordSerial + 1;
    this.uninternedName = false;
    const end = this.limit;
    let p = start;
    let key: AsbKey | null = null;
    let hasKey = false;
    if (p + 4 > end) this.recordLineFailure(b, p, LOWER_K, LOWER_N);
    let letter = b[p + 2];
    if (b[p + 1] !== SPACE || (letter !== LOWER_K && letter !== LOWER_N) || b[p + 3] !== SPACE) {
      this.recordLineFailure(b, p, LOWER_K, LOWER_N);
    }
    p += 4;
    if (letter === LOWER_K) {
      key = this.parseKey(b, p);
      hasKey = true;
      p = this.pos;
      if (p + 4 > end || b[p] !== PLUS || b[p + 1] !== SPACE || b[p + 2] !== LOWER_N || b[p + 3] !== SPACE) {
        this.recordLineFailure(b, p, LOWER_N, LOWER_N);
      }
      p += 4;
    }

    const namespace = this.parseNamespace(b, p);
    p = this.pos;

    if (p + 4 > end || b[p] !== PLUS || b[p + 1] !== SPACE || b[p + 2] !== LOWER_D || b[p + 3] !== SPACE) {
      this.recordLineFailure(b, p, LOWER_D, LOWER_D);
    }
    const asRow = this.rowSink !== null && !this.recordAsObject;
    const digest = !this.build ? this.checkDigest(b, p + 4) : this.parseDigest(b, p + 4, asRow ? this.rowDigest : this.slabs.allocate(20));
    p += 33;

    let set: Buffer | null = null;
    if (p + 4 > end) this.recordLineFailure(b, p, LOWER_S, LOWER_G);
    letter = b[p + 2];
    if (b[p] !== PLUS || b[p + 1] !== SPACE || (letter !== LOWER_S && letter !== LOWER_G) || b[p + 3] !== SPACE) {
      this.recordLineFailure(b, p, LOWER_S, LOWER_G);
    }
    p += 4;
    if (letter === LOWER_S) {
      set = this.parseSet(b, p);
      p = this.pos;
      if (p + 4 > end || b[p] !== PLUS || b[p + 1] !== SPACE || b[p + 2] !== LOWER_G || b[p + 3] !== SPACE) {
        this.recordLineFailure(b, p, LOWER_G, LOWER_G);
      }
      p += 4;
    }

    this.step = STEP_GENERATION;
    const generation = this.readInteger(b, p, LF);
    p = this.pos;
    if (typeof generation !== 'number' || generation < 0 || generation > 65535) this.badRange(p, 'generation', generation);
    p++;

    if (p + 4 > end || b[p] !== PLUS || b[p + 1] !== SPACE || b[p + 2] !== LOWER_T || b[p + 3] !== SPACE) {
      this.recordLineFailure(b, p, LOWER_T, LOWER_T);
    }
    this.step = STEP_EXPIRATION;
    const voidTime = this.readInteger(b, p + 4, LF);
    p = this.pos;
    if (typeof voidTime !== 'number' || voidTime < 0 || voidTime > UINT32_MAX) this.badRange(p, 'expiration', voidTime);
    p++;

    if (p + 4 > end || b[p] !== PLUS || b[p + 1] !== SPACE || b[p + 2] !== LOWER_B || b[p + 3] !== SPACE) {
      this.recordLineFailure(b, p, LOWER_B, LOWER_B);
    }
    this.step = STEP_BIN_COUNT;
    const binCount = this.readInteger(b, p + 4, LF);
    p = this.pos;
    if (typeof binCount !== 'number' || binCount < 0 || binCount > 65535) this.badRange(p, 'bins', binCount);
    p++;

    if (!this.build) {
      for (let i = 0; i < binCount; i++) {
        this.parseBin(b, p, BIN_CHECK);
        p = this.pos;
      }
      this.nextLine = this.itemLine + (hasKey ? 1 : 0) + (set !== null ? 1 : 0) + 5 + binCount + this.extraLines;
      this.records++;
      return p;
    }
    if (asRow) {
      const rowSink = this.rowSink!;
      const writer = rowSink.beginRecord(namespace, digest, set, key, generation, voidTime, this.itemLine);
      if (writer !== this.rowWriter) this.rowWriter = writer;
      const mode = writer !== null ? BIN_ROW : BIN_CHECK;
      for (let i = 0; i < binCount; i++) {
        this.parseBin(b, p, mode);
        p = this.pos;
        if (mode === BIN_ROW && (this.nameRepeated || this.uninternedName)) return this.parseRecordAsObject(b, start);
      }
      this.nextLine = this.itemLine + (hasKey ? 1 : 0) + (set !== null ? 1 : 0) + 5 + binCount + this.extraLines;
      this.records++;
      rowSink.endRecord();
      return p;
    }
    const bins: AsbBin[] = new Array(binCount);
    let count = 0;
    for (let i = 0; i < binCount; i++) {
      const bin = this.parseBin(b, p, BIN_OBJECT)!;
      p = this.pos;
      if (this.nameRepeated || this.uninternedName) {
        if (this.replaceRepeatedBin(bins, count, bin)) continue;
      }
      bins[count++] = bin;
    }
    if (count < binCount) bins.length = count;

    const line = this.itemLine;
    this.nextLine = line + (hasKey ? 1 : 0) + (set !== null ? 1 : 0) + 5 + binCount + this.extraLines;
    this.records++;
    this.sink.record({ namespace, digest, set, key, generation, voidTime, bins, line });
    return p;
  }

  /** Reads the record at `start` again, built as an object for `record()` (its bin names repeat). */
  private parseRecordAsObject(b: Buffer, start: number): number {
    this.recordAsObject = true;
    try {
      return this.parseRecord(b, start);
    } finally {
      this.recordAsObject = false;
    }
  }

  private resetStamps(): number {
    this.binNameStamps.fill(0);
    return 1;
  }

  /**
   * A repeated bin name replaces the earlier bin's value in place (C as_record_set: the last value
   * wins, at the first position). Returns false when the name is new after all.
   */
  private replaceRepeatedBin(bins: AsbBin[], count: number, bin: AsbBin): boolean {
    const name = bin.name;
    for (let i = 0; i < count; i++) {
      const earlier = bins[i];
      if (earlier.name === name || earlier.name.equals(name)) {
        earlier.type = bin.type;
        earlier.value = bin.value;
        return true;
      }
    }
    return false;
  }

  private badRange(p: number, what: 'generation' | 'expiration' | 'bins', value: number | bigint): never {
    this.step = STEP_REC;
    // C prints generation with %lld, the other two with %llu (a negative value shows as 2^64 + v).
    const before =
      what === 'generation'
        ? `Invalid generation count ${value} (`
        : what === 'expiration'
          ? `Invalid expiration time ${formatUnsigned64(value)} (`
          : `Invalid bin count ${formatUnsigned64(value)} (`;
    return this.fail(AsbErrorCode.PARSE, p, false, before, `)`);
  }

  /** The `+ k` line's key; null with `countOnly` (checked, not built). */
  private parseKey(b: Buffer, p: number): AsbKey | null {
    const type = p < this.limit ? b[p] : -1;
    let value: number | bigint | Buffer;
    let particle: AsbKey['type'];
    this.step = STEP_REC;
    switch (type) {
      case CHAR_I:
        this.expectAt(p + 1, SPACE);
        this.step = STEP_KEY_INT;
        value = this.readInteger(b, p + 2, LF);
        particle = ParticleType.INTEGER;
        break;
      case CHAR_D:
        this.expectAt(p + 1, SPACE);
        this.step = STEP_KEY_DOUBLE;
        value = this.readDouble(b, p + 2);
        particle = ParticleType.FLOAT;
        break;
      case CHAR_S:
        this.expectAt(p + 1, SPACE);
        value = this.readRaw(b, p + 2, STEP_KEY_STRING, null, this.build);
        particle = ParticleType.STRING;
        break;
      case CHAR_X:
        this.expectAt(p + 1, SPACE);
        value = this.readBase64(b, p + 2, STEP_KEY_BASE64_STRING, null, this.build);
        particle = ParticleType.STRING;
        break;
      case CHAR_B: {
        const compact = this.byteAt(p + 1) === BANG;
        const q = compact ? p + 2 : p + 1;
        this.expectAt(q, SPACE);
        value = compact
          ? this.readRaw(b, q + 1, STEP_KEY_BYTES, 'Key value too large', this.build)
          : this.readBase64(b, q + 1, STEP_KEY_BASE64_BYTES, 'Key value too large', this.build);
        particle = ParticleType.BLOB;
        break;
      }
      default:
        return this.invalidKeyType(p);
    }
    p = this.pos;
    this.step = STEP_REC;
    this.expectAt(p, LF);
    this.pos = p + 1;
    return this.build ? { type: particle, value } : null;
  }

  private invalidKeyType(p: number): never {
    const found = this.byteAt(p);
    return this.fail(AsbErrorCode.PARSE, p, true, `Invalid key type character ${printChar(found)} in block (`, `)`);
  }

  private parseNamespace(b: Buffer, p: number): Buffer {
    const start = p;
    const end = this.limit;
    let c = 0;
    while (p < end) {
      c = b[p];
      if (c === LF || c === BACKSLASH) break;
      p++;
    }
    let token = this.namespace;
    if (p < end && c === LF && p - start < NAMESPACE_BUFFER) {
      if (!equalsRange(token, b, start, p)) token = copyRange(b, start, p);
    } else {
      this.step = STEP_NAMESPACE;
      p = this.readTokenExact(b, start, NAMESPACE_BUFFER, false, true, TOKEN_PLAIN);
      if (!equalsRange(token, this.scratch, 0, this.scratchLength)) token = copyRange(this.scratch, 0, this.scratchLength);
    }
    if (token !== this.namespace) this.namespace = token;
    if (this.sourceNamespace !== null && token !== this.checkedNamespace) this.checkNamespace(token, p);
    this.pos = p + 1;
    return token;
  }

  private checkNamespace(token: Buffer, p: number): void {
    if (!token.equals(this.sourceNamespace!)) {
      const expected = this.sourceNamespace!.toString('utf8');
      this.step = STEP_REC;
      this.fail(
        AsbErrorCode.NAMESPACE,
        p,
        false,
        `Invalid namespace ${cString(token, token.length)} in backup record, expected: ${expected} (`,
        `)`,
      );
    }
    this.checkedNamespace = token;
  }

  /** 28 base64 characters (C reads 20 decoded bytes: 7 groups) and the LF. */
  private parseDigest(b: Buffer, p: number, out: Buffer): Buffer {
    this.step = STEP_DIGEST;
    if (p + 28 > this.limit) this.base64Short(p, 28);
    let bad = 0;
    let v1 = 0;
    let v2 = 0;
    let v3 = 0;
    let v4 = 0;
    let v5 = 0;
    let v6 = 0;
    let v7 = 0;
    {
      const d1 = BASE64_LENIENT[b[p]], d2 = BASE64_LENIENT[b[p + 1]], d3 = BASE64_LENIENT[b[p + 2]], d4 = BASE64_LENIENT[b[p + 3]];
      bad |= d1 | d2 | d3 | d4;
      v1 = (d1 << 18) | (d2 << 12) | (d3 << 6) | d4;
    }
    {
      const d1 = BASE64_LENIENT[b[p + 4]], d2 = BASE64_LENIENT[b[p + 5]], d3 = BASE64_LENIENT[b[p + 6]], d4 = BASE64_LENIENT[b[p + 7]];
      bad |= d1 | d2 | d3 | d4;
      v2 = (d1 << 18) | (d2 << 12) | (d3 << 6) | d4;
    }
    {
      const d1 = BASE64_LENIENT[b[p + 8]], d2 = BASE64_LENIENT[b[p + 9]], d3 = BASE64_LENIENT[b[p + 10]], d4 = BASE64_LENIENT[b[p + 11]];
      bad |= d1 | d2 | d3 | d4;
      v3 = (d1 << 18) | (d2 << 12) | (d3 << 6) | d4;
    }
    {
      const d1 = BASE64_LENIENT[b[p + 12]], d2 = BASE64_LENIENT[b[p + 13]], d3 = BASE64_LENIENT[b[p + 14]], d4 = BASE64_LENIENT[b[p + 15]];
      bad |= d1 | d2 | d3 | d4;
      v4 = (d1 << 18) | (d2 << 12) | (d3 << 6) | d4;
    }
    {
      const d1 = BASE64_LENIENT[b[p + 16]], d2 = BASE64_LENIENT[b[p + 17]], d3 = BASE64_LENIENT[b[p + 18]], d4 = BASE64_LENIENT[b[p + 19]];
      bad |= d1 | d2 | d3 | d4;
      v5 = (d1 << 18) | (d2 << 12) | (d3 << 6) | d4;
    }
    {
      const d1 = BASE64_LENIENT[b[p + 20]], d2 = BASE64_LENIENT[b[p + 21]], d3 = BASE64_LENIENT[b[p + 22]], d4 = BASE64_LENIENT[b[p + 23]];
      bad |= d1 | d2 | d3 | d4;
      v6 = (d1 << 18) | (d2 << 12) | (d3 << 6) | d4;
    }
    {
      const d1 = BASE64_LENIENT[b[p + 24]], d2 = BASE64_LENIENT[b[p + 25]], d3 = BASE64_LENIENT[b[p + 26]], d4 = BASE64_LENIENT[b[p + 27]];
      bad |= d1 | d2 | d3 | d4;
      v7 = (d1 << 18) | (d2 << 12) | (d3 << 6) | d4;
    }
    if (bad === 0xff) this.base64Invalid(p, 28);
    if (p + 28 >= this.limit || b[p + 28] !== LF) {
      this.step = STEP_REC;
      this.unexpected(p + 28, LF);
    }
    out[0] = v1 >>> 16;
    out[1] = v1 >>> 8;
    out[2] = v1;
    out[3] = v2 >>> 16;
    out[4] = v2 >>> 8;
    out[5] = v2;
    out[6] = v3 >>> 16;
    out[7] = v3 >>> 8;
    out[8] = v3;
    out[9] = v4 >>> 16;
    out[10] = v4 >>> 8;
    out[11] = v4;
    out[12] = v5 >>> 16;
    out[13] = v5 >>> 8;
    out[14] = v5;
    out[15] = v6 >>> 16;
    out[16] = v6 >>> 8;
    out[17] = v6;
    out[18] = v7 >>> 16;
    out[19] = v7 >>> 8;
    return out;
  }

  /** {@link parseDigest}'s checks, in its order, without decoding: for `countOnly`. */
  private checkDigest(b: Buffer, p: number): Buffer {
    this.step = STEP_DIGEST;
    if (p + 28 > this.limit) this.base64Short(p, 28);
    if (!isValidBase64(b, p, 28)) this.base64Invalid(p, 28);
    if (p + 28 >= this.limit || b[p + 28] !== LF) {
      this.step = STEP_REC;
      this.unexpected(p + 28, LF);
    }
    return EMPTY;
  }

  private parseSet(b: Buffer, p: number): Buffer {
    const start = p;
    const end = this.limit;
    let c = 0;
    let hash = 0;
    while (p < end) {
      c = b[p];
      if (c === LF || c === BACKSLASH) break;
      hash = (Math.imul(hash, 31) + c) | 0;
      p++;
    }
    let set: Buffer;
    if (p < end && c === LF && p - start < SET_BUFFER) {
      set = intern(this.setNames, b, start, p, hash);
    } else {
      this.step = STEP_SET;
      p = this.readTokenExact(b, start, SET_BUFFER, false, true, TOKEN_PLAIN);
      set = intern(this.setNames, this.scratch, 0, this.scratchLength, hashRange(this.scratch, 0, this.scratchLength));
    }
    this.pos = p + 1;
    return set;
  }

  /** The interned Buffer of a bin name; notes whether this record already had it. */
  private internBinName(b: Uint8Array, start: number, end: number, hash: number): Buffer {
    const len = end - start;
    const slot = (hash ^ (hash >>> 9) ^ (len << 5)) & (BIN_TABLE - 1);
    const cached = this.binNames[slot];
    const serial = this.recordSerial;
    if (cached !== undefined) {
      if (equalsRange(cached, b, start, end)) {
        this.nameRepeated = this.binNameStamps[slot] === serial;
        this.binNameStamps[slot] = serial;
        return cached;
      }
      if (this.binNameStamps[slot] === serial) {
        // The slot holds another name of this very record: keep it, and check repeats by bytes.
        this.nameRepeated = false;
        this.uninternedName = true;
        return copyRange(b, start, end);
      }
    }
    const copy = copyRange(b, start, end);
    this.binNames[slot] = copy;
    this.binNameStamps[slot] = serial;
    this.nameRepeated = false;
    return copy;
  }

  /**
   * One `- ` bin line, read as `mode` says: BIN_OBJECT returns it built; BIN_ROW hands it to the row
   * sink; BIN_CHECK only checks it. Null unless built.
   */
  private parseBin(b: Buffer, p: number, mode: number): AsbBin | null {
    const end = this.limit;
    if (p + 4 > end) this.badBinStart(p);
    const label = b[p + 2];
    const kind = BIN_KIND[label];
    if (b[p] !== MINUS || b[p + 1] !== SPACE || kind === KIND_INVALID) this.badBinStart(p);
    let q = p + 3;
    const compact = b[q] === BANG;
    if (compact) q++;
    if (q >= end || b[q] !== SPACE) {
      this.step = STEP_REC;
      this.unexpected(q, SPACE);
    }
    q++;

    // Bin name: a token ending at an unescaped space or LF.
    const nameStart = q;
    let hash = 0;
    let c = 0;
    while (q < end) {
      c = b[q];
      if (c === SPACE || c === LF || c === BACKSLASH) break;
      hash = (Math.imul(hash, 31) + c) | 0;
      q++;
    }
    // Checked only, the name is needed (copied now, before a value reuses `scratch`) when too long.
    let name: Buffer;
    let nameLength: number;
    if (q < end && c !== BACKSLASH && q - nameStart < MAX_TOKEN) {
      nameLength = q - nameStart;
      if (mode !== BIN_CHECK) name = this.internBinName(b, nameStart, q, hash);
      else name = nameLength >= BIN_NAME_BUFFER ? copyRange(b, nameStart, q) : EMPTY;
    } else {
      this.step = STEP_BIN_NAME;
      q = this.readTokenExact(b, nameStart, MAX_TOKEN, true, true, TOKEN_PLAIN);
      nameLength = this.scratchLength;
      if (mode !== BIN_CHECK) name = this.internBinName(this.scratch, 0, nameLength, hashRange(this.scratch, 0, nameLength));
      else name = nameLength >= BIN_NAME_BUFFER ? copyRange(this.scratch, 0, nameLength) : EMPTY;
      c = b[q];
    }
    // A name too long fails the record once its value is read: nothing of it goes to the row.
    if (mode === BIN_ROW && nameLength >= BIN_NAME_BUFFER) mode = BIN_CHECK;
    const row = mode === BIN_ROW ? this.rowWriter! : null;
    const view = mode === BIN_OBJECT;

    let type: AsbBin['type'];
    let value: BinValue;
    if (kind === KIND_NIL) {
      if (c !== LF) {
        this.step = STEP_REC;
        this.unexpected(q, LF);
      }
      type = ParticleType.NULL;
      value = null;
      if (row !== null) row.binNil(name);
    } else {
      if (c !== SPACE) {
        this.step = STEP_REC;
        this.unexpected(q, SPACE);
      }
      q++;
      switch (kind) {
        case KIND_INT:
          this.step = STEP_BIN_INT;
          value = this.readInteger(b, q, LF);
          type = ParticleType.INTEGER;
          if (row !== null) row.binInteger(name, value);
          break;
        case KIND_DOUBLE:
          this.step = STEP_BIN_DOUBLE;
          value = this.readDouble(b, q);
          type = ParticleType.FLOAT;
          if (row !== null) row.binFloat(name, value);
          break;
        case KIND_STRING:
          type = ParticleType.STRING;
          value = this.readRaw(b, q, STEP_BIN_STRING, null, view);
          if (row !== null) this.rawToRow(row, b, name, type);
          break;
        case KIND_BYTES:
          type = BYTES_PARTICLE[label] as AsbBin['type'];
          if (compact) {
            value = this.readRaw(b, q, STEP_BIN_BYTES, 'Data bin value too large', view);
            if (row !== null) this.rawToRow(row, b, name, type);
          } else if (row !== null) {
            value = this.base64ToRow(row, b, q, STEP_BIN_BASE64_BYTES, 'Data bin value too large', name, type);
          } else {
            value = this.readBase64(b, q, STEP_BIN_BASE64_BYTES, 'Data bin value too large', view);
          }
          break;
        case KIND_BOOL:
          this.step = STEP_BIN_BOOL;
          value = this.readBoolean(b, q);
          type = ParticleType.BOOL;
          if (row !== null) row.binBool(name, value);
          break;
        case KIND_GEOJSON:
          type = ParticleType.GEOJSON;
          value = this.readRaw(b, q, STEP_BIN_GEOJSON, null, view);
          if (row !== null) this.rawToRow(row, b, name, type);
          break;
        case KIND_BASE64_STRING:
          type = ParticleType.STRING;
          value =
            row !== null
              ? this.base64ToRow(row, b, q, STEP_BIN_BASE64_STRING, null, name, type)
              : this.readBase64(b, q, STEP_BIN_BASE64_STRING, null, view);
          break;
        default:
          return this.ldtBin(q - 1);
      }
      q = this.pos;
      if (q >= end || b[q] !== LF) {
        this.step = STEP_REC;
        this.unexpected(q, LF);
      }
    }
    // C sets the bin only now, and the client refuses names of 16 bytes or more.
    if (nameLength >= BIN_NAME_BUFFER) this.binNameTooLong(kind, name, view ? value : this.builtValue(b, kind, value, q), q);
    this.pos = q + 1;
    return view ? { name, type, value } : null;
  }

  /** Copies the raw value just read (`valueStart` to `pos`) into the row. */
  private rawToRow(row: AsbRowWriter, b: Buffer, name: Buffer, type: ParticleType): void {
    const start = this.valueStart;
    const end = this.pos;
    const at = row.binSpace(name, type, end - start);
    const out = row.rowBytes;
    if (end - start < 32) {
      for (let i = start; i < end; i++) out[at + i - start] = b[i];
    } else {
      out.set(b.subarray(start, end), at);
    }
  }

  /** `<b64len> <base64>` decoded straight into the row; returns EMPTY (nothing is built). */
  private base64ToRow(row: AsbRowWriter, b: Buffer, p: number, steps: number, tooLarge: string | null, name: Buffer, type: ParticleType): Buffer {
    const size = this.readBase64Size(b, p, steps, tooLarge);
    const start = this.valueStart;
    if (size === 0) {
      row.binSpace(name, type, 0);
      return EMPTY;
    }
    const length = base64LengthByLastGroup(b, start, size);
    const at = row.binSpace(name, type, length);
    const status = decodeBase64View(this.bView, start, size, row.rowView, at, length);
    if (status === BASE64_OK) return EMPTY;
    if (status === BASE64_INVALID) this.base64Invalid(start, size);
    // A `=` inside the data: C's per-group length rule gives another length.
    row.retractBin();
    const exact = decodeBase64C(b, start, size)!;
    // binSpace first: the row may move to larger memory.
    const exactAt = row.binSpace(name, type, exact.length);
    row.rowBytes.set(exact, exactAt);
    return EMPTY;
  }

  /** With `countOnly`, the text value a message shows, decoded from its bytes (`valueStart` to `end`). */
  private builtValue(b: Buffer, kind: number, checked: BinValue, end: number): BinValue {
    if (kind === KIND_STRING || kind === KIND_GEOJSON) return Buffer.from(b.subarray(this.valueStart, end));
    if (kind === KIND_BASE64_STRING) return decodeBase64C(b, this.valueStart, end - this.valueStart);
    return checked;
  }

  private badBinStart(p: number): never {
    this.step = STEP_REC;
    this.expectAt(p, MINUS);
    this.expectAt(p + 1, SPACE);
    const label = this.byteAt(p + 2);
    if (BIN_KIND[label] === KIND_INVALID) {
      this.fail(AsbErrorCode.PARSE, p + 2, true, `Invalid bytes label ${printChar(label)} (`, `)`);
    }
    // A valid label with nothing after it yet (C peeks for '!').
    return this.needMore(p + 3);
  }

  /** C reports a `U` (LDT) bin right after the space that follows the name. */
  private ldtBin(spaceOffset: number): never {
    this.step = STEP_REC;
    return this.fail(
      AsbErrorCode.PARSE,
      spaceOffset,
      true,
      `The backup contains LDTs - please use an older version of this tool to restore the backup (`,
      `)`,
    );
  }

  private binNameTooLong(kind: number, name: Buffer, value: BinValue, lfOffset: number): never {
    const shownName = cString(name, name.length);
    let what: string;
    switch (kind) {
      case KIND_NIL:
        what = `NIL bin ${shownName}`;
        break;
      case KIND_BOOL:
        what = `boolean bin ${shownName} to ${value ? 'true' : 'false'}`;
        break;
      case KIND_INT:
        what = `integer bin ${shownName} to ${String(value)}`;
        break;
      case KIND_DOUBLE:
        what = `floating-point bin ${shownName} to ${formatDouble17g(value as number)}`;
        break;
      case KIND_STRING:
      case KIND_BASE64_STRING:
        what = `string bin ${shownName} to ${shortText(value as Buffer)}`;
        break;
      case KIND_GEOJSON:
        what = `geojson bin ${shownName} to ${shortText(value as Buffer)}`;
        break;
      default:
        what = `encoded data bin ${shownName}`;
    }
    this.step = STEP_REC;
    return this.fail(
      AsbErrorCode.PARSE,
      lfOffset,
      true,
      `Error while setting ${what} (`,
      `) - bin names must be shorter than ${BIN_NAME_BUFFER} bytes`,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Values. Each returns the value and leaves in `pos` the position of the byte after it (the
  // delimiter for tokens).

  /** A signed 64-bit integer ending at `delimiter` (C text_read_integer): a number when |v| <= 2^53-1, else a bigint. */
  private readInteger(b: Buffer, p: number, delimiter: number): number | bigint {
    let i = p;
    let negative = false;
    if (i < this.limit && b[i] === MINUS) {
      negative = true;
      i++;
    }
    const end = this.limit;
    const digitsStart = i;
    let value = 0;
    let c = -1;
    while (i < end) {
      c = b[i];
      if (c < CHAR_0 || c > CHAR_9) break;
      value = value * 10 + (c - CHAR_0);
      i++;
    }
    // Up to 15 digits the sum is exact; a 16-digit one is exact when it is at most 2^53 - 1 (rounding
    // is monotonic, so a true value above that never comes out at or below it).
    const digits = i - digitsStart;
    if (i < end && c === delimiter && (digits <= 15 || (digits === 16 && value <= MAX_SAFE))) {
      this.pos = i;
      return negative ? 0 - value : value;
    }
    return this.readIntegerExact(b, p, delimiter);
  }

  private readIntegerExact(b: Buffer, p: number, delimiter: number): number | bigint {
    const stop = this.readTokenExact(b, p, MAX_TOKEN, delimiter === SPACE, delimiter === LF, TOKEN_SIGNED);
    const buf = this.scratch;
    const len = this.scratchLength;
    const negative = buf[0] === MINUS;
    const limit = negative ? 1n << 63n : (1n << 63n) - 1n;
    const accuLimit = limit / 10n;
    const digitLimit = limit % 10n;
    let accu = 0n;
    for (let i = negative ? 1 : 0; i < len; i++) {
      const digit = BigInt(buf[i] - CHAR_0);
      if (accu > accuLimit || (accu === accuLimit && digit > digitLimit)) {
        const text = buf.toString('latin1', 0, len);
        this.fail(AsbErrorCode.PARSE, stop, false, `Integer overflow with number ${text} in backup block (`, `)`);
      }
      accu = accu * 10n + digit;
    }
    const value = negative ? -accu : accu;
    this.pos = stop;
    return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
  }

  /** A length field ending at a space (C text_read_size): digits only, at most 1024^5. */
  private readSize(b: Buffer, p: number): number {
    const end = this.limit;
    let i = p;
    let value = 0;
    let c = -1;
    while (i < end) {
      c = b[i];
      if (c < CHAR_0 || c > CHAR_9) break;
      value = value * 10 + (c - CHAR_0);
      i++;
    }
    if (i < end && c === SPACE && i - p <= 15) {
      this.pos = i;
      return value;
    }
    return this.readSizeExact(b, p);
  }

  private readSizeExact(b: Buffer, p: number): number {
    const stop = this.readTokenExact(b, p, MAX_TOKEN, true, false, TOKEN_DIGITS);
    let accu = 0;
    for (let i = 0; i < this.scratchLength; i++) {
      accu = accu * 10 + (this.scratch[i] - CHAR_0);
      if (accu > MAX_SIZE) {
        const text = this.scratch.toString('latin1', 0, this.scratchLength);
        this.fail(AsbErrorCode.PARSE, stop, false, `Size overflow with number ${text} in backup block (`, `)`);
      }
    }
    this.pos = stop;
    return accu;
  }

  /** A double ending at LF (C text_read_double). */
  private readDouble(b: Buffer, p: number): number {
    // Fast path: [-]digits[.digits], the fixed form of %.17g. Up to 15 significant digits one
    // division is exact; up to 19 the double-double conversion decides (or defers to strtod).
    const end = this.limit;
    let i = p;
    const negative = i < end && b[i] === MINUS;
    if (negative) i++;
    let head = 0;
    let tail = 0;
    let tailDigits = 0;
    let significant = 0;
    let digits = 0;
    let fraction = 0;
    let inFraction = false;
    let c = -1;
    while (i < end) {
      c = b[i];
      if (c >= CHAR_0 && c <= CHAR_9) {
        const d = c - CHAR_0;
        digits++;
        if (inFraction) fraction++;
        if (significant > 0 || d !== 0) {
          if (significant < 15) head = head * 10 + d;
          else if (significant < 19) {
            tail = tail * 10 + d;
            tailDigits++;
          }
          significant++;
        }
      } else if (c === DOT && !inFraction) {
        inFraction = true;
      } else {
        break;
      }
      i++;
    }
    if (i < end && c === LF && digits > 0) {
      this.pos = i;
      let magnitude: number;
      if (fraction > 22 || significant > 19) {
        magnitude = Number(latin1(b, negative ? p + 1 : p, i));
      } else if (significant <= 15) {
        magnitude = fraction === 0 ? head : head / EXACT_POW10[fraction];
      } else {
        magnitude = decimalToDouble(head, tail, tailDigits, fraction);
        if (magnitude !== magnitude) magnitude = Number(latin1(b, negative ? p + 1 : p, i));
      }
      return negative ? -magnitude : magnitude;
    }
    return this.readDoubleExact(b, p);
  }

  private readDoubleExact(b: Buffer, p: number): number {
    const stop = this.readTokenExact(b, p, MAX_TOKEN, false, true, TOKEN_FLOAT);
    const value = cStrtodWhole(this.scratch, this.scratchLength);
    if (value === undefined) {
      const text = cString(this.scratch, this.scratchLength);
      this.fail(AsbErrorCode.PARSE, stop, false, `Invalid floating-point value ${text} in backup block (`, `)`);
    }
    this.pos = stop;
    return value;
  }

  /** `T` or `F` ending at LF (C text_read_boolean). */
  private readBoolean(b: Buffer, p: number): boolean {
    const c = p + 1 < this.limit ? b[p] : -1;
    if ((c === CHAR_T || c === CHAR_F) && b[p + 1] === LF) {
      this.pos = p + 1;
      return c === CHAR_T;
    }
    const stop = this.readTokenExact(b, p, MAX_TOKEN, false, true, TOKEN_PLAIN);
    const buf = this.scratch;
    const len = this.scratchLength;
    // C compares the NUL-terminated token: "T" or "F" alone.
    const single = len === 1 || (len > 1 && buf[1] === 0);
    if (!single || (buf[0] !== CHAR_T && buf[0] !== CHAR_F)) {
      const text = cString(buf, len);
      this.fail(AsbErrorCode.PARSE, stop, false, `Unknown boolean value encoding: "${text}" (`, `)`);
    }
    this.pos = stop;
    return buf[0] === CHAR_T;
  }

  /**
   * `<len> <len raw bytes>` (C text_parse_string / text_parse_data): a view of the bytes. `steps` is
   * the first of the value's three steps (size, space, data).
   */
  private readRaw(b: Buffer, p: number, steps: number, tooLarge: string | null, view: boolean): Buffer {
    this.step = steps;
    const size = this.readSize(b, p);
    const dataStart = this.pos + 1;
    this.step = steps + 1;
    if (size > UINT32_MAX) this.valueTooLarge(dataStart - 1, size, tooLarge);
    const dataEnd = dataStart + size;
    if (dataEnd > this.limit) {
      this.step = steps + 2;
      this.needUpTo(dataEnd + 1);
    }
    if (size < 32) {
      for (let i = dataStart; i < dataEnd; i++) if (b[i] === LF) this.extraLines++;
    } else {
      this.extraLines += countLf(b, dataStart, dataEnd);
    }
    this.pos = dataEnd;
    this.valueStart = dataStart;
    return view ? bufferView(this.bBuffer, this.bOffset + dataStart, size) : EMPTY;
  }

  /** `<b64len> <base64>` (C text_parse_data_dec): the decoded bytes when `build`, else EMPTY once checked. */
  private readBase64(b: Buffer, p: number, steps: number, tooLarge: string | null, build: boolean): Buffer {
    const size = this.readBase64Size(b, p, steps, tooLarge);
    const dataStart = this.valueStart;
    if (!build) {
      if (!isValidBase64(b, dataStart, size)) this.base64Invalid(dataStart, size);
      return EMPTY;
    }
    if (size === 0) return this.slabs.allocate(0);
    const length = base64LengthByLastGroup(b, dataStart, size);
    const out = this.slabs.allocate(length);
    const status = decodeBase64Into(b, dataStart, size, out, 0, length);
    if (status === BASE64_OK) return out;
    if (status === BASE64_INVALID) this.base64Invalid(dataStart, size);
    return decodeBase64C(b, dataStart, size)!;
  }

  /**
   * The size and the presence of a base64 value's text (its characters are not checked yet):
   * returns the size, leaves the text's start in `valueStart` and its end in `pos`.
   */
  private readBase64Size(b: Buffer, p: number, steps: number, tooLarge: string | null): number {
    this.step = steps;
    const size = this.readSize(b, p);
    const sizeEnd = this.pos;
    this.step = steps + 1;
    if (size % 4 !== 0) {
      this.fail(AsbErrorCode.PARSE, sizeEnd, false, `Invalid encoded data size ${size} (`, `)`);
    }
    if ((size / 4) * 3 > UINT32_MAX) this.valueTooLarge(sizeEnd, (size / 4) * 3, tooLarge);
    const dataStart = sizeEnd + 1;
    this.step = steps + 2;
    if (dataStart + size > this.limit) this.base64Short(dataStart, size);
    this.pos = dataStart + size;
    this.valueStart = dataStart;
    return size;
  }

  private valueTooLarge(sizeEnd: number, size: number, what: string | null): never {
    return this.fail(AsbErrorCode.PARSE, sizeEnd, false, `${what ?? 'String value too large'} (${size} bytes)`, null);
  }

  /** Base64 data running past the buffer: an invalid group already read wins over the shortage. */
  private base64Short(start: number, length: number): never {
    if (!this.final) this.needUpTo(start + length + 1);
    const available = Math.max(0, this.limit - start);
    if (findInvalidBase64Group(this.b, start, available) >= 0) this.base64Invalid(start, length);
    // C reads all four characters of the group it is in; each read past the end logs once more.
    const missing = 4 - (available & 3);
    const eof = this.locate(this.limit);
    const lines: string[] = [];
    for (let k = 1; k < missing; k++) {
      lines.push(`Unexpected end of file in backup block (line ${eof.line}, col ${eof.column})`);
    }
    lines.push(BASE64_EOF);
    return this.failEof(lines);
  }

  private base64Invalid(start: number, length: number): never {
    const group = findInvalidBase64Group(this.b, start, Math.min(length, this.limit - start));
    const b = this.b;
    const chars = [b[group], b[group + 1], b[group + 2], b[group + 3]].map(printChar);
    return this.fail(
      AsbErrorCode.PARSE,
      group + 3,
      true,
      `Invalid base-64 character (${chars[0]}, ${chars[1]}, ${chars[2]}, or ${chars[3]} at or before `,
      `)`,
    );
  }

  /**
   * C text_nul_read_until, byte by byte: reads up to an unescaped delimiter (space and/or LF),
   * unescaping unless the file is version 3.0, with C's checks in C's order (buffer overflow,
   * digits, floating-point characters). Leaves the unescaped bytes in `scratch` and returns the
   * delimiter's position.
   */
  private readTokenExact(
    b: Buffer,
    p: number,
    bufferSize: number,
    spaceEnds: boolean,
    lfEnds: boolean,
    mode: number,
    unescape = !this.legacy,
  ): number {
    const out = this.scratch;
    let len = 0;
    let escaped = false;
    for (;;) {
      if (p >= this.limit) this.needMore(p);
      const ch = b[p];
      if (unescape && ch === BACKSLASH && !escaped) {
        escaped = true;
        p++;
        continue;
      }
      if (!escaped && ((spaceEnds && ch === SPACE) || (lfEnds && ch === LF))) {
        this.scratchLength = len;
        return p;
      }
      if (ch === LF) this.extraLines++;
      const at = p;
      p++;
      escaped = false;
      if (len === bufferSize - 1) {
        this.fail(AsbErrorCode.PARSE, at, true, `Buffer overflow while reading token in backup block (`, `)`);
      }
      if (
        (mode === TOKEN_DIGITS || mode === TOKEN_SIGNED) &&
        (ch < CHAR_0 || ch > CHAR_9) &&
        (mode !== TOKEN_SIGNED || len > 0 || ch !== MINUS)
      ) {
        this.fail(AsbErrorCode.PARSE, at, true, `Invalid character ${printChar(ch)} in backup block (`, `), expected digit`);
      }
      out[len++] = ch;
      if (mode === TOKEN_FLOAT && !cFloatPrefixOk(out, len)) {
        this.fail(
          AsbErrorCode.PARSE,
          at,
          true,
          `Invalid character ${printChar(ch)} in backup block (`,
          `), expected floating point notation`,
        );
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Global section: secondary indexes and UDFs (rare: decoded with the exact readers only)

  private parseGlobal(b: Buffer, start: number): number {
    this.extraLines = 0;
    this.step = STEP_NONE;
    let p = start + 1;
    this.expectAt(p, SPACE);
    p++;
    const type = this.byteAt(p);
    p++;
    if (type === LOWER_I) return this.parseIndex(b, p, false);
    if (type === LOWER_E && this.version === '3.2') return this.parseIndex(b, p, true);
    if (type === LOWER_U) return this.parseUdf(b, p);
    return this.fail(AsbErrorCode.PARSE, p - 1, true, `Invalid global type character ${printChar(type)} in block (`, `)`);
  }

  /** A token of the global section (always unescaped, as C reads them); its position after is in `pos`. */
  private tokenString(b: Buffer, p: number, spaceEnds: boolean, lfEnds: boolean): string {
    this.pos = this.readTokenExact(b, p, MAX_TOKEN, spaceEnds, lfEnds, TOKEN_PLAIN, true);
    return this.scratch.toString('utf8', 0, this.scratchLength);
  }

  private parseIndex(b: Buffer, p: number, isExpression: boolean): number {
    this.expectAt(p, SPACE);
    const namespace = this.tokenString(b, p + 1, true, false);
    this.expectAt(this.pos, SPACE);
    const set = this.tokenString(b, this.pos + 1, true, false);
    this.expectAt(this.pos, SPACE);
    const name = this.tokenString(b, this.pos + 1, true, false);
    p = this.pos;
    if (this.namespaceRemapped && namespace !== this.sourceNamespace!.toString('utf8')) {
      const expected = this.sourceNamespace!.toString('utf8');
      this.fail(AsbErrorCode.NAMESPACE, p, false, `Invalid namespace ${namespace} in index ${name}, expected: ${expected} (`, `)`);
    }
    this.expectAt(p, SPACE);
    const typeChar = this.byteAt(p + 1);
    const indexType = INDEX_TYPES[typeChar];
    if (indexType === undefined) {
      this.fail(AsbErrorCode.PARSE, p + 1, true, `Invalid index type character ${printChar(typeChar)} in block (`, `)`);
    }
    p += 2;
    this.expectAt(p, SPACE);
    const pathCount = this.readSizeExact(b, p + 1);
    p = this.pos;
    if (pathCount === 0) {
      this.fail(AsbErrorCode.PARSE, p, false, `Missing path(s) in index block (`, `)`);
    }
    const paths: SindexPath[] = [];
    for (let i = 0; i < pathCount; i++) {
      this.expectAt(p, SPACE);
      const path = this.tokenString(b, p + 1, true, false);
      const afterPath = this.pos;
      this.expectAt(afterPath, SPACE);
      const pathChar = this.byteAt(afterPath + 1);
      const pathType = PATH_TYPES[pathChar];
      if (pathType === undefined) {
        this.fail(AsbErrorCode.PARSE, afterPath + 1, true, `Invalid path type character ${printChar(pathChar)} in block (`, `)`);
      }
      p = afterPath + 2;
      // C expects a separating space after every path spec but the last, then the next spec's own
      // leading space: path specs are separated by two spaces.
      if (i !== pathCount - 1) {
        this.expectAt(p, SPACE);
        p++;
      }
      paths.push({ path, type: pathType });
    }
    if (p >= this.limit) {
      // C peeks for the LF (one end-of-file message), then expects the space before a context (another).
      if (!this.final) this.needMore(p);
      const eof = this.locate(this.limit);
      this.failEof([`Unexpected end of file in backup block (line ${eof.line}, col ${eof.column})`]);
    }
    if (b[p] !== LF) {
      this.expectAt(p, SPACE);
      p++;
    }
    const trailing = this.tokenString(b, p, false, true);
    const lineEnd = this.pos;
    this.expectAt(lineEnd, LF);
    const token = trailing === '' ? null : trailing;
    const index: SecondaryIndexDef = {
      namespace,
      set: set === '' ? null : set,
      name,
      indexType,
      paths,
      context: isExpression ? null : token,
      expression: isExpression ? token : null,
      line: this.itemLine,
    };
    this.nextLine = this.itemLine + 1 + this.extraLines;
    this.indexes++;
    this.sink.secondaryIndex(index);
    return lineEnd + 1;
  }

  private parseUdf(b: Buffer, p: number): number {
    this.expectAt(p, SPACE);
    const typeChar = this.byteAt(p + 1);
    if (typeChar !== CHAR_L) {
      this.fail(AsbErrorCode.PARSE, p + 1, true, `Invalid UDF type character ${printChar(typeChar)} in block (`, `)`);
    }
    this.expectAt(p + 2, SPACE);
    const name = this.tokenString(b, p + 3, true, false);
    this.expectAt(this.pos, SPACE);
    const size = this.readSizeExact(b, this.pos + 1);
    const sizeEnd = this.pos;
    if (size > UINT32_MAX) {
      this.fail(AsbErrorCode.PARSE, sizeEnd, false, `UDF file ${name} is too large (${size} bytes)`, null);
    }
    this.expectAt(sizeEnd, SPACE);
    const dataStart = sizeEnd + 1;
    const dataEnd = dataStart + size;
    if (dataEnd > this.limit) this.needUpTo(dataEnd + 1);
    this.expectAt(dataEnd, LF);
    this.extraLines += countLf(b, dataStart, dataEnd);
    const udf: UdfModule = { language: 'L', name, content: b.subarray(dataStart, dataEnd), line: this.itemLine };
    this.nextLine = this.itemLine + 1 + this.extraLines;
    this.udfs++;
    this.sink.udf(udf);
    return dataEnd + 1;
  }
}

const FIRST_FILE = Buffer.from('first-file');
const NAMESPACE_KEY = Buffer.from('namespace');

function unescapeBytes(raw: Buffer): Buffer {
  if (raw.indexOf(BACKSLASH) < 0) return raw;
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  let escaped = false;
  for (const c of raw) {
    if (c === BACKSLASH && !escaped) {
      escaped = true;
      continue;
    }
    escaped = false;
    out[n++] = c;
  }
  return out.subarray(0, n);
}

function countLf(b: Buffer, start: number, end: number): number {
  let count = 0;
  if (end - start < 32) {
    for (let i = start; i < end; i++) if (b[i] === LF) count++;
    return count;
  }
  let i = b.indexOf(LF, start);
  while (i >= 0 && i < end) {
    count++;
    i = b.indexOf(LF, i + 1);
  }
  return count;
}

function equalsRange(token: Buffer, b: Uint8Array, start: number, end: number): boolean {
  const len = end - start;
  if (token.length !== len) return false;
  for (let i = 0; i < len; i++) if (token[i] !== b[start + i]) return false;
  return true;
}

function copyRange(b: Uint8Array, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  for (let i = start; i < end; i++) out[i - start] = b[i];
  return out;
}

function hashRange(b: Uint8Array, start: number, end: number): number {
  let hash = 0;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + b[i]) | 0;
  return hash;
}

/** The table's Buffer for these bytes (a private copy made on first sight), so equal names share one object. */
function intern(table: Array<Buffer | undefined>, b: Uint8Array, start: number, end: number, hash: number): Buffer {
  const len = end - start;
  const slot = (hash ^ (hash >>> 9) ^ (len << 5)) & (table.length - 1);
  const cached = table[slot];
  if (cached !== undefined && equalsRange(cached, b, start, end)) return cached;
  const copy = copyRange(b, start, end);
  table[slot] = copy;
  return copy;
}

type Latin1Slicer = { latin1Slice?: (start: number, end: number) => string };
const hasLatin1Slice = typeof (Buffer.prototype as unknown as Latin1Slicer).latin1Slice === 'function';

/** Bytes as a one-byte string (Node's latin1Slice skips toString's encoding dispatch). */
function latin1(b: Buffer, start: number, end: number): string {
  return hasLatin1Slice ? (b as unknown as Required<Latin1Slicer>).latin1Slice(start, end) : b.toString('latin1', start, end);
}

function shortText(value: Buffer): string {
  const text = cString(value, value.length);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/**
 * Records of every shape the hot path meets: each key type, with and without a set, every kind of
 * bin value, raw and compact bytes, escaped tokens, long digit runs and values holding LFs. Each is
 * split at every byte.
 */
const WARM_UP_RECORDS: readonly Buffer[] = [
  [
    '+ k S 13 user-00000002',
    '+ n test',
    '+ d RLS8rXzvIMWIg660pzJRuRaZiBU=',
    '+ s with\\ space',
    '+ g 65535',
    '+ t 3000000000',
    '+ b 6',
    '- I ts 1700000000014',
    '- I big -9223372036854775808',
    '- D amount 43115.25',
    '- D score 35.460999999999999',
    '- S name 11 Ivan\nMensah',
    '- G where 9 {"a":[1]}',
  ],
  [
    '+ n test',
    '+ d RLS8rXzvIMWIg660pzJRuRaZiBU=',
    '+ s events',
    '+ g 1',
    '+ t 0',
    '+ b 8',
    '- Z ok T',
    '- N gone',
    '- M prefs 12 k80CTmDMqA==',
    '- B! raw 3 a\nb',
    '- X text 8 aGVsbG8=',
    '- B none 0 ',
    '- S e\\ scaped 0 ',
    '- Y hll 4 AAE=',
  ],
  [
    '+ k I -1000',
    '+ n test',
    '+ d G6fzMnBINZcHSwxVxTMT7I3X+Bw=',
    '+ g 1',
    '+ t 0',
    '+ b 4',
    '- I n -1700000000014',
    '- I m 9223372036854775807',
    '- D d -0.25',
    '- Z no F',
  ],
  ['+ k D 2.5', '+ n test', '+ d pkxBzf+InuZmqgyzmbBgIIEMP4k=', '+ s set', '+ g 1', '+ t 1', '+ b 1', '- I n 1'],
  ['+ k X 8 aGVsbG8=', '+ n test', '+ d 5yFpcoCVNECxTCuuB9uXjdxlnaA=', '+ s set', '+ g 1', '+ t 1', '+ b 0'],
  ['+ k B 4 AAE=', '+ n test', '+ d cYrN7r0I0NWA3zztC8XM8i+vg4M=', '+ g 1', '+ t 1', '+ b 0'],
  ['+ k B! 3 a\nb', '+ n test', '+ d cYrN7r0I0NWA3zztC8XM8i+vg4M=', '+ g 1', '+ t 1', '+ b 0'],
].map((lines) => Buffer.from(lines.join('\n') + '\n'));
/**
 * Records decoded whole (not split at every byte: the split copies cost the square of a record's
 * length): paths the split records leave out.
 */
const WARM_UP_WHOLE_RECORDS: readonly Buffer[] = [
  // A string long enough for the decoder's bulk line-feed count.
  [
    '+ k S 13 user-00000004',
    '+ n test',
    '+ d 5yFpcoCVNECxTCuuB9uXjdxlnaA=',
    '+ s events',
    '+ g 1',
    '+ t 0',
    '+ b 2',
    '- S email 38 ivan.mensah.00000004@mail.example.test',
    '- I n 4',
  ],
  // Expired when restored: the restore reads its bins only to check them.
  [
    '+ k S 13 user-00000003',
    '+ n test',
    '+ d 8Y7B3UJO61YKY2SolB4ITsswmD8=',
    '+ s events',
    '+ g 2',
    '+ t 1',
    '+ b 7',
    '- I id -3',
    '- D score 34',
    '- S city 5 Cairo',
    '- S email 38 ivan.mensah.00000003@mail.example.test',
    '- L tags 12 k80CTmDMqA==',
    '- B data 8 aGVsbG8=',
    '- Z ok T',
  ],
].map((lines) => Buffer.from(lines.join('\n') + '\n'));
const WARM_UP_HEADER = Buffer.from('Version 3.1\n# namespace test\n');
// No `*` block: the restore's sink reports an ignored one (--no-indexes -v), and a warm-up says nothing.
const FRESH_DECODERS = 12;
const warmedUp = new Set<string>();

/** Takes rows and keeps nothing: the sink of the row path's warm-up. */
class DiscardingRowSink implements AsbRowSink, AsbRowWriter {
  rowBytes = Buffer.allocUnsafe(4096);
  private used = 0;
  private lastLength = 0;
  record(): void {}
  secondaryIndex(): void {}
  udf(): void {}
  beginRecord(): AsbRowWriter {
    this.used = 0;
    return this;
  }
  binSpace(_name: Buffer, _type: ParticleType, length: number): number {
    if (this.used + length > this.rowBytes.length) {
      this.rowBytes = Buffer.allocUnsafe(2 * (this.used + length));
    }
    const at = this.used;
    this.used += length;
    this.lastLength = length;
    return at;
  }
  retractBin(): void {
    this.used -= this.lastLength;
  }
  binInteger(): void {}
  binFloat(): void {}
  binBool(): void {}
  binNil(): void {}
  endRecord(): void {}
  get rowView(): DataView {
    return new DataView(this.rowBytes.buffer, this.rowBytes.byteOffset, this.rowBytes.length);
  }
}

/**
 * Below this input size a unit does not pay for warmUpDecoder (about 0.13 CPU-s, once per thread
 * and mode), which saves several times that on big inputs by sparing the decoder's recompilations.
 */
export const WARM_UP_MIN_INPUT_BYTES = 8 * 1024 * 1024;

/**
 * Runs the decoder over a few records, each split at every byte, before real input arrives. Every
 * path a chunk boundary can take then has type feedback when V8 first optimises the hot functions;
 * otherwise each boundary that lands somewhere new deoptimises parseRecord and its inlined callees,
 * and the thread recompiles them a dozen times. Once per thread and mode (`countOnly`; a full decoder
 * building objects, or with `rows`, writing rows: into the AsbRowSink given, else into one that
 * keeps nothing).
 */
export function warmUpDecoder(options: { countOnly: boolean; rows?: boolean | AsbRowSink }): void {
  const rows = options.rows !== undefined && options.rows !== false && !options.countOnly;
  const mode = options.countOnly ? 'count' : rows ? 'rows' : 'objects';
  if (warmedUp.has(mode)) return;
  warmedUp.add(mode);
  try {
    runDecoderWarmUp(options);
  } catch (error) {
    // Its input is fixed: a failure is this program's bug, never something about the user's backup.
    throw new Error(`internal: the decoder warm-up failed: ${(error as Error).message}`, { cause: error });
  }
}

/** The work of {@link warmUpDecoder}, every time it is called (tests check that its input decodes). */
export function runDecoderWarmUp(options: { countOnly: boolean; rows?: boolean | AsbRowSink }): void {
  const rows = options.rows !== undefined && options.rows !== false && !options.countOnly;
  // The caller's own kind of row sink (one that writes nowhere) gives the calls into it the type
  // feedback of the real run: a sink of another class there deoptimises the decoder once more.
  const sink = !rows ? { record() {}, secondaryIndex() {}, udf() {} } : options.rows === true ? new DiscardingRowSink() : (options.rows as AsbRowSink);
  const decoderOptions = { file: 'warm-up', countOnly: options.countOnly, transientInput: rows };
  // What each new decoder does once (the version line, the first namespace) runs in a few short
  // decoders first, and so do the whole records: V8 gathers type feedback only once a function has
  // run several times, and a path optimised code meets without feedback deoptimises it (at the
  // start of every real file, or at its first long string or expired record).
  for (let i = 0; i < FRESH_DECODERS; i++) {
    const fresh = new AsbDecoder(sink, decoderOptions);
    fresh.write(WARM_UP_HEADER);
    fresh.write(WARM_UP_RECORDS[0]);
    for (const record of WARM_UP_WHOLE_RECORDS) fresh.write(record);
    fresh.end();
  }
  const decoder = new AsbDecoder(sink, decoderOptions);
  decoder.write(WARM_UP_HEADER);
  for (const record of WARM_UP_RECORDS) {
    // As many copies as the record has bytes; copy k is split after its k-th byte.
    const length = record.length;
    const copies = Buffer.concat(new Array<Buffer>(length).fill(record));
    let start = 0;
    for (let k = 1; k < length; k++) {
      const cut = k * length + k;
      decoder.write(copies.subarray(start, cut));
      start = cut;
    }
    decoder.write(copies.subarray(start));
  }
  decoder.end();
}
