/**
 * Batch write commands built row by row as records arrive: each record's write row is encoded once
 * (batch-codec.ts writeBatchWriteRow) into the growing command of the node that masters its
 * partition, and a finished command is plain bytes plus, per row, its offset and the backup line
 * of its record. Retries and hand-overs between threads work on these bytes: a row is copied out
 * by its offsets and re-indexed, never encoded again, and no decoded record outlives its row.
 */
import type { AsbRecord } from '../asb/types.js';
import {
  BATCH_PREFIX_SIZE,
  ROW_DIGEST_OFFSET,
  ROW_NAMESPACE_FIELD_OFFSET,
  batchRowInfo,
  checkBatchBodySize,
  checkedRowSize,
  writeBatchPrefix,
  writeBatchWriteRow,
} from './batch-codec.js';
import { encodeTarget, type EncodeTarget } from './message-codec.js';
import { PROTO_HEADER_SIZE, PROTO_SIZE_MAX } from './protocol.js';
import { sendsGeneration, type WriteFlags } from './write-flags.js';

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

/** The digest of the row at `rowStart`. */
export function rowDigest(bytes: Buffer, rowStart: number): Buffer {
  return bytes.subarray(rowStart + ROW_DIGEST_OFFSET, rowStart + ROW_DIGEST_OFFSET + 20);
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

  /** Copies row `row` of `command` in as this command's next row (re-indexed). */
  appendRowOf(command: EncodedCommand, row: number): void {
    const from = command.rowOffsets[row];
    const to = command.rowOffsets[row + 1];
    const start = this.reserve(to - from);
    command.bytes.copy(this.bytes, start, from, to);
    this.target.view.setUint32(start, this.count);
    this.lines[this.count] = command.lines[row];
    this.count++;
    this.rowOffsets[this.count] = start + to - from;
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
    if (needed > this.bytes.length) {
      const old = { bytes: this.bytes, rowOffsets: this.rowOffsets, lines: this.lines };
      this.useMemory(commandMemory(this.arraysBytes + Math.max(needed, old.bytes.length * 2)));
      old.bytes.copy(this.bytes, 0, 0, start);
      this.rowOffsets.set(old.rowOffsets.subarray(0, this.count + 1));
      this.lines.set(old.lines.subarray(0, this.count));
      spare(old.bytes.buffer);
    }
    this.rowOffsets[this.count] = start;
    this.offset = needed;
    return start;
  }
}

/**
 * Commands for several nodes at once: rows are appended by routing slot, and a node's command is
 * handed to `onCommand` when it holds `maxRows` rows or the next row would pass the proto size
 * limit; {@link flush} hands on every partial one.
 */
export class NodeCommandSet {
  /** By routing slot + 1 (index 0: rows no live node masters). */
  private readonly builders: (BatchCommandBuilder | undefined)[] = [];

  constructor(
    private readonly maxRows: number,
    private readonly flags: WriteFlags,
    private readonly onCommand: (command: EncodedCommand) => void,
    private readonly timeoutMs = 0,
  ) {}

  private builder(slot: number): BatchCommandBuilder {
    return (this.builders[slot + 1] ??= new BatchCommandBuilder(slot, this.maxRows, this.flags));
  }

  /** Encodes `record`'s row into the command for `slot`. Throws ENCODE for what cannot be sent. */
  addRecord(slot: number, record: AsbRecord, ttl: number, file: string): void {
    const size = checkedRowSize(record);
    const builder = this.builder(slot);
    if (builder.rowCount > 0 && !builder.fits(size)) this.cut(builder, file);
    builder.appendRecord(record, size, ttl);
    if (builder.full) this.cut(builder, file);
  }

  /** Copies row `row` of `command` into the command for `slot`. */
  addRowOf(slot: number, command: EncodedCommand, row: number): void {
    const builder = this.builder(slot);
    if (builder.rowCount > 0 && !builder.fits(command.rowOffsets[row + 1] - command.rowOffsets[row])) this.cut(builder, command.file);
    builder.appendRowOf(command, row);
    if (builder.full) this.cut(builder, command.file);
  }

  /** Hands on every partial command. */
  flush(file: string): void {
    for (const builder of this.builders) if (builder !== undefined && builder.rowCount > 0) this.cut(builder, file);
  }

  private cut(builder: BatchCommandBuilder, file: string): void {
    const command = builder.take(file, this.timeoutMs);
    if (command !== null) this.onCommand(command);
  }
}
