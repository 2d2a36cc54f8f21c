/**
 * The items an .asb backup holds, as the decoder yields them and the encoder takes them.
 * Values keep exactly what a writer needs to send them to the server unchanged: bytes stay bytes
 * (views into the decoder's input where possible), integers are 64-bit, doubles stay doubles,
 * lists/maps/HLL stay raw particles.
 */
import { ParticleType } from '../aerospike/protocol.js';

/**
 * A bin value, by `type`:
 * - NULL: null (a nil bin: deletes that bin on update)
 * - INTEGER: number when |v| <= 2^53 - 1, else bigint (always an int64)
 * - FLOAT: number (also when integral, NaN, +-Infinity, -0)
 * - BOOL: boolean
 * - STRING: Buffer of the raw string bytes
 * - GEOJSON: Buffer of the GeoJSON text
 * - BLOB, JAVA_BLOB, CSHARP_BLOB, PYTHON_BLOB, RUBY_BLOB, PHP_BLOB, ERLANG_BLOB, HLL: Buffer of raw bytes
 * - MAP, LIST: Buffer of the server's msgpack particle bytes, verbatim
 */
export type BinValue = null | boolean | number | bigint | Buffer;

export interface AsbBin {
  /** Unescaped bin name bytes (at most 15). */
  name: Buffer;
  type: ParticleType;
  value: BinValue;
}

/**
 * A stored user key. INTEGER: number|bigint; FLOAT: number; STRING: Buffer (raw bytes; `X`
 * base64 keys are decoded); BLOB: Buffer.
 */
export interface AsbKey {
  type: typeof ParticleType.INTEGER | typeof ParticleType.FLOAT | typeof ParticleType.STRING | typeof ParticleType.BLOB;
  value: number | bigint | Buffer;
}

export interface AsbRecord {
  /** Unescaped namespace bytes. The decoder reuses one Buffer object while consecutive records share it. */
  namespace: Buffer;
  /** The 20-byte RIPEMD-160 digest from `+ d`. */
  digest: Buffer;
  /** Unescaped set bytes, or null when the record has no `+ s` line. Reused like `namespace`. */
  set: Buffer | null;
  /** The user key when the backup has a `+ k` line (it was stored with send-key), else null. */
  key: AsbKey | null;
  generation: number;
  /** Seconds since 2010-01-01T00:00:00Z; 0 = never expires. */
  voidTime: number;
  bins: AsbBin[];
  /** 1-based line of the record's first line, for error messages. */
  line: number;
}

export type SindexIndexType = 'N' | 'L' | 'K' | 'V';
export type SindexPathType = 'S' | 'N' | 'G' | 'B';

export interface SindexPath {
  path: string;
  type: SindexPathType;
}

export interface SecondaryIndexDef {
  namespace: string;
  /** null when the set token is empty. (asbackup 4.5.8 writes a set-less index as the literal `null`.) */
  set: string | null;
  name: string;
  indexType: SindexIndexType;
  /** At least one; restore uses the first. */
  paths: SindexPath[];
  /** Base64 of the msgpack CDT context (`* i` lines), or null when absent or empty. */
  context: string | null;
  /** Base64 of the expression of a v3.2 `* e` line; null for `* i` lines. */
  expression: string | null;
  line: number;
}

export interface UdfModule {
  /** Only Lua ('L') exists. */
  language: 'L';
  name: string;
  content: Buffer;
  line: number;
}

/** What the file's header and `#` meta lines said. */
export interface AsbHeader {
  version: '3.0' | '3.1' | '3.2';
  /** The `# namespace` value (unescaped in 3.1+), when present. */
  namespace: string | null;
  firstFile: boolean;
}

/** Receives decoded items in file order. */
export interface AsbSink {
  header?(header: AsbHeader): void;
  record(record: AsbRecord): void;
  secondaryIndex(index: SecondaryIndexDef): void;
  udf(udf: UdfModule): void;
}

/**
 * Where the bins of a record being written as a row go (AsbRowSink.beginRecord gives one): values
 * arrive already decoded, numbers as numbers, text and bytes written by the decoder itself into the
 * writer's memory at the place {@link binSpace} gives.
 */
export interface AsbRowWriter {
  /**
   * A bin whose value is `length` bytes of particle type `type` (STRING, GEOJSON, a blob type,
   * HLL, MAP, LIST): returns the offset in {@link rowBytes} where the decoder writes them.
   */
  binSpace(name: Buffer, type: ParticleType, length: number): number;
  /** Where {@link binSpace} values go: read again after each binSpace call. */
  readonly rowBytes: Uint8Array;
  /** A DataView of the same memory as {@link rowBytes}. */
  readonly rowView: DataView;
  /** Takes back the bin added last (the decoder adds it again, with a value of another length). */
  retractBin(): void;
  binInteger(name: Buffer, value: number | bigint): void;
  binFloat(name: Buffer, value: number): void;
  binBool(name: Buffer, value: boolean): void;
  /** A nil bin (deletes that bin on update). */
  binNil(name: Buffer): void;
}

/**
 * A faster decoder of runs of records of the common shape straight into write rows (the restore's
 * WebAssembly tier, asb/wasm/record-rows.ts), which the decoder offers each record start to. It
 * takes only records the decoder would accept and turn into the very same rows, and leaves every
 * other record (and every error) to the decoder.
 */
export interface AsbFastRecords {
  /**
   * Takes consecutive complete records from `b[p..end)`, each naming `namespace` (the decoder's
   * current one); `line` is the line of `p`, and `serial` changes whenever `b`'s bytes may have.
   * Returns the position after the last record taken (`p` when none).
   */
  take(b: Buffer, p: number, end: number, line: number, namespace: Buffer, serial: number): number;
  /** Records the last take() took. */
  readonly records: number;
  /** The line after them. */
  readonly nextLine: number;
  /**
   * The last take() stopped only because `b` ended inside the record there: everything before the
   * end is of the shape it takes, so the decoder would find nothing wrong with it yet either.
   */
  readonly inputEnded: boolean;
}

/**
 * A sink that takes records as write rows while they are decoded, instead of as AsbRecord objects
 * (the restore's path: no record, bin or value objects are built). For each record the decoder
 * calls {@link beginRecord} once its header lines are read, then one call per bin line, in file
 * order, on the writer beginRecord returned, then {@link endRecord}.
 *
 * - A record may begin again without having ended: it straddled two chunks and is read once more
 *   from its start when more input arrived. Only {@link endRecord} completes a record.
 * - A record whose bin names repeat is delivered through `record()` instead, after its
 *   beginRecord (C replaces the earlier value in place, which the object form applies).
 * - Every Buffer handed over (namespace, digest, set, key value, bin names) is valid during the
 *   call only; namespace, set and bin names are interned as for `record()`.
 */
export interface AsbRowSink extends AsbSink {
  /**
   * The record's header lines were read. Returns where its bins go, or null when the sink will not
   * write it (its bins are then only checked).
   */
  beginRecord(
    namespace: Buffer,
    digest: Buffer,
    set: Buffer | null,
    key: AsbKey | null,
    generation: number,
    voidTime: number,
    line: number,
  ): AsbRowWriter | null;
  /** Every bin of the record begun last was delivered. */
  endRecord(): void;
}
