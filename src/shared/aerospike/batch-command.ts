/**
 * Batch write commands built row by row as records arrive: each record's write row is encoded once
 * (batch-codec.ts writeBatchWriteRow) into the growing command of the node that masters its
 * partition, and a finished command is plain bytes plus, per row, its offset and the backup line
 * of its record. Retries and hand-overs between threads work on these bytes: a row is copied out
 * by its offsets and re-indexed, never encoded again, and no decoded record outlives its row.
 */
import type { AsbKey, AsbRecord, AsbRowWriter } from '../asb/types.js';
import {
  BATCH_PREFIX_SIZE,
  ROW_NAMESPACE_FIELD_OFFSET,
  ROW_OP_COUNT_OFFSET,
  batchRowHeadSize,
  batchRowInfo,
  checkBatchBodySize,
  checkedRowSize,
  writeBatchPrefix,
  writeBatchRowHead,
  writeBatchWriteRow,
} from './batch-codec.js';
import { DIGEST_SIZE, GEOJSON_PREFIX_SIZE, OP_HEADER_SIZE, encodeTarget, writeInt64, writeWriteOpHead, type EncodeTarget } from './message-codec.js';
import { PROTO_HEADER_SIZE, PROTO_SIZE_MAX, ParticleType } from './protocol.js';
import { sendsGeneration, type WriteFlags } from './write-flags.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';

/** A complete batch write command for one node: row i carries index i. */
export interface EncodedCommand {
  /** The whole request: proto header, AS_MSG header, batch field with its rows. */
  bytes: Buffer;
  rowCount: number;
  /** Start of row i at [i]; [rowCount] is the end of the last row (rowCount + 1 entries). */
  rowOffsets: Uint32Array;
  /** The backup line of each row's record (for messages naming file and line). */
  lines: Uint32Array;
  /** The input the rows came from. */
  file: string;
  /** The routing slot of the node it was built for; -1: no live node mastered the rows' partitions. */
  slot: number;
}

/** Where a row's record lives in the cluster: its namespace name and digest, inside the row. */
export function rowNamespace(bytes: Buffer, rowStart: number): Buffer {
  const field = rowStart + ROW_NAMESPACE_FIELD_OFFSET;
  const length = bytes.readUInt32BE(field) - 1;
  return bytes.subarray(field + 5, field + 5 + length);
}

/** Room for a first command; later ones start at the size the previous one reached. */
const INITIAL_CAPACITY = 32 * 1024;

/**
 * Memory of answered commands, reused by the next ones of this thread: a restore otherwise
 * allocates (and leaves the collector to free) a ~64 KiB buffer per command. One block holds a
 * command's row offsets and lines, then its bytes.
 */
const spareMemory: ArrayBuffer[] = [];
const SPARE_MAX = 64;
const SPARE_LARGEST = 2 * 1024 * 1024;

/** Memory comes in whole granules, so that a spare fits the next command of about the same size. */
const GRANULE = 32 * 1024;

function commandMemory(minimum: number): ArrayBuffer {
  const capacity = Math.ceil(minimum / GRANULE) * GRANULE;
  for (let i = spareMemory.length - 1; i >= 0; i--) {
    const memory = spareMemory[i];
    if (memory.byteLength >= capacity) {
      spareMemory[i] = spareMemory[spareMemory.length - 1];
      spareMemory.pop();
      return memory;
    }
  }
  return Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
}

/**
 * Gives a command's memory back for reuse, once nothing will read or send its bytes again (its
 * answer arrived, or its rows were copied elsewhere). Memory shared between threads is left alone.
 */
export function recycleCommand(command: EncodedCommand): void {
  spare(command.bytes.buffer);
}

function spare(memory: ArrayBufferLike): void {
  if (!(memory instanceof ArrayBuffer) || memory.byteLength < INITIAL_CAPACITY || memory.byteLength > SPARE_LARGEST) return;
  if (spareMemory.length >= SPARE_MAX || spareMemory.includes(memory)) return;
  spareMemory.push(memory);
}

/**
 * One node's command being filled. Rows are appended (encoded from a record, or copied from an
 * earlier command) until the owner {@link take}s the finished command; the builder then starts a
 * new one.
 */
export class BatchCommandBuilder {
  private bytes!: Buffer;
  private target!: EncodeTarget;
  private rowOffsets!: Uint32Array;
  private lines!: Uint32Array;
  private offset = BATCH_PREFIX_SIZE;
  private count = 0;
  private readonly rowInfo: number;
  private readonly withGeneration: boolean;
  /** Bytes of the row offsets and lines at the start of the memory (8-byte aligned). */
  private readonly arraysBytes: number;
  /** The source rows were last copied from, and a plain view of it (reading a Buffer's `buffer` is a runtime call). */
  private copySource: Buffer | null = null;
  private copySourceView: Uint8Array | null = null;

  constructor(
    /** The node's routing slot (-1: none). */
    readonly slot: number,
    /** Rows per command: the command is full at this many. */
    readonly maxRows: number,
    flags: WriteFlags,
    capacity = INITIAL_CAPACITY,
  ) {
    this.rowInfo = batchRowInfo(flags);
    this.withGeneration = sendsGeneration(flags);
    this.arraysBytes = Math.ceil((4 * (2 * maxRows + 1)) / 8) * 8;
    this.useMemory(commandMemory(this.arraysBytes + Math.max(capacity, BATCH_PREFIX_SIZE)));
  }

  get rowCount(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.maxRows;
  }

  /** Whether a row of `rowSize` bytes still fits the proto size limit. */
  fits(rowSize: number): boolean {
    return this.offset + rowSize - PROTO_HEADER_SIZE <= PROTO_SIZE_MAX;
  }

  /** Bytes of the row `record` would take; throws ENCODE (naming its line) for what cannot be sent. */
  static rowSize(record: AsbRecord): number {
    return checkedRowSize(record);
  }

  /** Encodes `record`'s row (size from {@link rowSize}); the caller checked {@link full} and {@link fits}. */
  appendRecord(record: AsbRecord, rowSize: number, ttl: number): void {
    const start = this.reserve(rowSize);
    const end = writeBatchWriteRow(this.target, start, this.count, record, ttl, this.rowInfo, this.withGeneration);
    if (end !== start + rowSize) throw new Error(`internal: row encoded ${end - start} of ${rowSize} bytes`);
    this.lines[this.count] = record.line;
    this.count++;
    this.rowOffsets[this.count] = end;
  }

  /** Copies the row at `source[from..to)` in as this command's next row (re-indexed). */
  appendRowBytes(source: Buffer, from: number, to: number, line: number): void {
    const start = this.reserve(to - from);
    if (source !== this.copySource) {
      this.copySource = source;
      this.copySourceView = new Uint8Array(source.buffer, source.byteOffset, source.length);
    }
    // set() of a plain view: Buffer.copy's argument checks cost more than the copy of a row.
    this.bytes.set(this.copySourceView!.subarray(from, to), start);
    this.target.view.setUint32(start, this.count);
    this.lines[this.count] = line;
    this.count++;
    this.rowOffsets[this.count] = start + to - from;
  }

  /**
   * Fills the empty command with `rows`: row i at `offsets[i]` (ending where row i + 1 starts, the
   * last at the end of `rows`), already indexed i, from the backup line `lines[i]`.
   */
  appendRegion(rows: Uint8Array, offsets: Uint32Array, lines: Uint32Array): void {
    const count = offsets.length;
    if (this.count !== 0 || count > this.maxRows) throw new Error('internal: a region of rows appended to a command that cannot take it');
    const start = this.offset;
    const end = start + rows.length;
    if (end > this.bytes.length) this.grow(end, start);
    this.bytes.set(rows, start);
    for (let i = 0; i < count; i++) {
      this.rowOffsets[i] = start + offsets[i];
      this.lines[i] = lines[i];
    }
    this.rowOffsets[count] = end;
    this.count = count;
    this.offset = end;
  }

  /** Where the next row starts. */
  get rowStart(): number {
    return this.offset;
  }

  /** The bytes and view rows are written into (replaced when the command grows: re-read after {@link room}). */
  get encodeTarget(): EncodeTarget {
    return this.target;
  }

  /**
   * Makes the memory reach `end`, for a row written in place from {@link rowStart}: the bytes
   * before `written` (the rows so far and the open row's bytes) are kept when it grows.
   */
  room(end: number, written: number): void {
    if (this.count >= this.maxRows) throw new Error('internal: row written into a full batch command');
    if (end > this.bytes.length) this.grow(end, written);
  }

  /** Makes the row written in place at {@link rowStart} up to `end` the command's next row. */
  commitRow(end: number, line: number): void {
    this.rowOffsets[this.count] = this.offset;
    this.lines[this.count] = line;
    this.count++;
    this.rowOffsets[this.count] = end;
    this.offset = end;
  }

  /** The finished command (null when it has no rows); the builder starts an empty one. */
  take(file: string, timeoutMs = 0): EncodedCommand | null {
    const count = this.count;
    if (count === 0) return null;
    const size = this.offset;
    checkBatchBodySize(size - PROTO_HEADER_SIZE, count);
    const bytes = this.bytes.subarray(0, size);
    writeBatchPrefix(bytes, this.target.view, size, count, timeoutMs);
    const command: EncodedCommand = {
      bytes,
      rowCount: count,
      rowOffsets: this.rowOffsets.subarray(0, count + 1),
      lines: this.lines.subarray(0, count),
      file,
      slot: this.slot,
    };
    // Next command: as large as this one was, so it rarely grows.
    this.useMemory(commandMemory(this.arraysBytes + Math.max(size, INITIAL_CAPACITY)));
    this.offset = BATCH_PREFIX_SIZE;
    this.count = 0;
    return command;
  }

  private useMemory(memory: ArrayBuffer): void {
    const rows = this.maxRows;
    this.rowOffsets = new Uint32Array(memory, 0, rows + 1);
    this.lines = new Uint32Array(memory, 4 * (rows + 1), rows);
    this.bytes = Buffer.from(memory, this.arraysBytes, memory.byteLength - this.arraysBytes);
    this.target = encodeTarget(this.bytes);
  }

  /** Makes room for `size` more bytes; returns where they go. */
  private reserve(size: number): number {
    const start = this.offset;
    if (this.count >= this.maxRows) throw new Error('internal: row appended to a full batch command');
    const needed = start + size;
    if (needed > this.bytes.length) this.grow(needed, start);
    this.rowOffsets[this.count] = start;
    this.offset = needed;
    return start;
  }

  /** Moves to memory of at least `needed` bytes, keeping bytes [0, `written`), the row offsets and lines. */
  private grow(needed: number, written: number): void {
    const old = { bytes: this.bytes, rowOffsets: this.rowOffsets, lines: this.lines };
    this.useMemory(commandMemory(this.arraysBytes + Math.max(needed, old.bytes.length * 2)));
    old.bytes.copy(this.bytes, 0, 0, written);
    this.rowOffsets.set(old.rowOffsets.subarray(0, this.count + 1));
    this.lines.set(old.lines.subarray(0, this.count));
    spare(old.bytes.buffer);
  }
}

/**
 * Commands for several nodes at once: rows are appended by routing slot, and a node's command is
 * handed to `onCommand` when it holds `maxRows` rows or the next row would pass the proto size
 * limit; {@link flush} hands on every partial one.
 *
 * A row is either encoded from a record in one go ({@link addRecord}) or written in place op by op
 * while the record is being decoded ({@link openRow}, the bin methods, {@link closeRow}): the
 * decoder then writes values (base64 decoded, text copied) straight into the command (the set is the
 * AsbRowWriter the restore's sink hands the decoder). An open row
 * becomes part of its command only when closed; opening another row, or {@link cancelRow}, drops it.
 */
export class NodeCommandSet implements AsbRowWriter {
  /** By routing slot + 1 (index 0: rows no live node masters). */
  private readonly builders: (BatchCommandBuilder | undefined)[] = [];
  private readonly rowInfo: number;
  private readonly withGeneration: boolean;
  /** The builder of the open row, or null. */
  private open: BatchCommandBuilder | null = null;
  /** Where the open row's next op goes. */
  private cursor = 0;
  private opCount = 0;
  private lastOpStart = 0;
  private rowLine = 0;

  constructor(
    private readonly maxRows: number,
    private readonly flags: WriteFlags,
    private readonly onCommand: (command: EncodedCommand) => void,
    private readonly timeoutMs = 0,
  ) {
    this.rowInfo = batchRowInfo(flags);
    this.withGeneration = sendsGeneration(flags);
  }

  private builder(slot: number): BatchCommandBuilder {
    return (this.builders[slot + 1] ??= new BatchCommandBuilder(slot, this.maxRows, this.flags));
  }

  /** Encodes `record`'s row into the command for `slot`. Throws ENCODE for what cannot be sent. */
  addRecord(slot: number, record: AsbRecord, ttl: number, file: string): void {
    this.open = null;
    const size = checkedRowSize(record);
    const builder = this.builder(slot);
    if (builder.rowCount > 0 && !builder.fits(size)) this.cut(builder, file);
    builder.appendRecord(record, size, ttl);
    if (builder.full) this.cut(builder, file);
  }

  /** Copies row `row` of `command` into the command for `slot`. */
  addRowOf(slot: number, command: EncodedCommand, row: number): void {
    this.open = null;
    const from = command.rowOffsets[row];
    const to = command.rowOffsets[row + 1];
    const builder = this.builder(slot);
    if (builder.rowCount > 0 && !builder.fits(to - from)) this.cut(builder, command.file);
    builder.appendRowBytes(command.bytes, from, to, command.lines[row]);
    if (builder.full) this.cut(builder, command.file);
  }

  /**
   * Opens the row of a record for the command of `slot`, writing its head (the op count is filled
   * in by {@link closeRow}). Throws ENCODE for a key that cannot be sent.
   */
  openRow(
    slot: number,
    namespace: Uint8Array,
    digest: Uint8Array,
    set: Uint8Array | null,
    key: AsbKey | null,
    generation: number,
    ttl: number,
    line: number,
  ): void {
    this.open = null;
    if (digest.length !== DIGEST_SIZE) {
      throw new AerospikeError(ClientErrorCode.ENCODE, `a record digest must be ${DIGEST_SIZE} bytes (record at line ${line})`);
    }
    const builder = this.builder(slot);
    const start = builder.rowStart;
    builder.room(start + batchRowHeadSize(namespace, set, key), start);
    this.cursor = writeBatchRowHead(
      builder.encodeTarget, start, builder.rowCount, digest, namespace, set, key, generation, ttl, this.rowInfo, this.withGeneration, 0,
    );
    this.open = builder;
    this.opCount = 0;
    this.rowLine = line;
  }

  /** The memory the open row is written into: re-read after every op call (it moves when it grows). */
  get rowBytes(): Buffer {
    return this.open!.encodeTarget.bytes;
  }

  /** A DataView of {@link rowBytes}. */
  get rowView(): DataView {
    return this.open!.encodeTarget.view;
  }

  /**
   * Adds a WRITE op for a value of `length` bytes of particle `type` to the open row; returns where
   * in {@link rowBytes} the caller writes the value (GeoJSON: after the 3-byte prefix, written here).
   */
  binSpace(name: Uint8Array, type: number, length: number): number {
    const valueStart = this.opHead(name, type, type === ParticleType.GEOJSON ? GEOJSON_PREFIX_SIZE + length : length);
    if (type !== ParticleType.GEOJSON) return valueStart;
    // flags 0, ncells 0: the server computes the cells itself.
    const bytes = this.open!.encodeTarget.bytes;
    bytes[valueStart] = 0;
    bytes[valueStart + 1] = 0;
    bytes[valueStart + 2] = 0;
    return valueStart + GEOJSON_PREFIX_SIZE;
  }

  /** Adds an INTEGER op (a 64-bit value) to the open row. */
  binInteger(name: Uint8Array, value: number | bigint): void {
    // The op head first: it may move the row to larger memory.
    const at = this.opHead(name, ParticleType.INTEGER, 8);
    writeInt64(this.open!.encodeTarget.view, at, value);
  }

  /** Adds a FLOAT op to the open row. */
  binFloat(name: Uint8Array, value: number): void {
    const at = this.opHead(name, ParticleType.FLOAT, 8);
    this.open!.encodeTarget.view.setFloat64(at, value);
  }

  /** Adds a BOOL op to the open row. */
  binBool(name: Uint8Array, value: boolean): void {
    const at = this.opHead(name, ParticleType.BOOL, 1);
    this.open!.encodeTarget.bytes[at] = value ? 1 : 0;
  }

  /** Adds a NULL op (deletes the bin) to the open row. */
  binNil(name: Uint8Array): void {
    this.opHead(name, ParticleType.NULL, 0);
  }

  /** Removes the op added last to the open row (a bin --bin-list leaves out, or one the decoder writes again). */
  retractBin(): void {
    this.cursor = this.lastOpStart;
    this.opCount--;
  }

  /** Ops in the open row. */
  get rowOpCount(): number {
    return this.opCount;
  }

  /** Makes the open row its command's next row; hands the command on when it is full. */
  closeRow(file: string): void {
    const builder = this.open;
    if (builder === null) throw new Error('internal: no open row to close');
    this.open = null;
    const start = builder.rowStart;
    const end = this.cursor;
    const target = builder.encodeTarget;
    target.view.setUint16(start + ROW_OP_COUNT_OFFSET, this.opCount);
    if (builder.rowCount > 0 && !builder.fits(end - start)) {
      // The row passes the proto size limit in this command: it opens the next one. The handed-on
      // command keeps the old memory, which still holds the row until it is sent.
      this.cut(builder, file);
      builder.appendRowBytes(target.bytes, start, end, this.rowLine);
    } else {
      builder.commitRow(end, this.rowLine);
    }
    if (builder.full) this.cut(builder, file);
  }

  /** Drops the open row, if any. */
  cancelRow(): void {
    this.open = null;
  }

  /** Hands on every partial command (an open row is dropped). */
  flush(file: string): void {
    this.open = null;
    for (const builder of this.builders) if (builder !== undefined && builder.rowCount > 0) this.cut(builder, file);
  }

  /** Writes an op head of a `length`-byte value at the open row's end; returns where the value goes. */
  private opHead(name: Uint8Array, type: number, length: number): number {
    if (name.length > 255) throw new AerospikeError(ClientErrorCode.ENCODE, `bin name of ${name.length} bytes cannot be encoded (record at line ${this.rowLine})`);
    const builder = this.open!;
    const start = this.cursor;
    const end = start + OP_HEADER_SIZE + name.length + length;
    builder.room(end, start);
    this.lastOpStart = start;
    this.cursor = end;
    this.opCount++;
    return writeWriteOpHead(builder.encodeTarget, start, type, name, end);
  }

  private cut(builder: BatchCommandBuilder, file: string): void {
    const command = builder.take(file, this.timeoutMs);
    if (command !== null) this.onCommand(command);
  }
}
