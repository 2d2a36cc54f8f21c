/**
 * Server-side AS_MSG parsing and answer encoding for the test cluster. Layouts are the server's
 * (as/include/base/proto.h): a 22-byte header, then fields (size:u32 counting the type byte, type:u8,
 * data), then ops (size:u32 counting everything after it, op, particle type, flags, name_len, name,
 * value). Every integer is big-endian.
 */
import { MSG_HEADER_SIZE, PROTO_HEADER_SIZE, ProtoType } from '../../src/shared/aerospike/protocol.js';
import { writeProtoHeader } from '../../src/shared/aerospike/framing.js';

export interface MsgHeader {
  info1: number;
  info2: number;
  info3: number;
  info4: number;
  resultCode: number;
  generation: number;
  recordTtl: number;
  transactionTtl: number;
  nFields: number;
  nOps: number;
}

export interface MsgField {
  type: number;
  /** A view into the request body. */
  data: Buffer;
}

export interface MsgOp {
  op: number;
  particleType: number;
  flags: number;
  /** Views into the request body. */
  name: Buffer;
  value: Buffer;
}

export interface ParsedMsg {
  header: MsgHeader;
  fields: MsgField[];
  ops: MsgOp[];
}

/** A request the server cannot even take apart: it answers rc 4 (as_transaction_demarshal_error). */
export class MalformedMessage extends Error {}

export function readMsgHeader(body: Buffer, offset: number): MsgHeader {
  if (body.length - offset < MSG_HEADER_SIZE) throw new MalformedMessage('as_msg header truncated');
  return {
    info1: body[offset + 1],
    info2: body[offset + 2],
    info3: body[offset + 3],
    info4: body[offset + 4],
    resultCode: body[offset + 5],
    generation: body.readUInt32BE(offset + 6),
    recordTtl: body.readUInt32BE(offset + 10),
    transactionTtl: body.readUInt32BE(offset + 14),
    nFields: body.readUInt16BE(offset + 18),
    nOps: body.readUInt16BE(offset + 20),
  };
}

/** Reads `count` fields from `offset`; returns the offset after them. */
export function readFields(body: Buffer, offset: number, count: number, out: MsgField[], limit = body.length): number {
  for (let i = 0; i < count; i++) {
    if (limit - offset < 5) throw new MalformedMessage('field header truncated');
    const size = body.readUInt32BE(offset);
    if (size < 1 || offset + 4 + size > limit) throw new MalformedMessage('field overruns the message');
    out.push({ type: body[offset + 4], data: body.subarray(offset + 5, offset + 4 + size) });
    offset += 4 + size;
  }
  return offset;
}

/** Reads `count` ops from `offset`; returns the offset after them. */
export function readOps(body: Buffer, offset: number, count: number, out: MsgOp[], limit = body.length): number {
  for (let i = 0; i < count; i++) {
    if (limit - offset < 8) throw new MalformedMessage('op header truncated');
    const size = body.readUInt32BE(offset);
    const nameLength = body[offset + 7];
    if (size < 4 + nameLength || offset + 4 + size > limit) throw new MalformedMessage('op overruns the message');
    const nameStart = offset + 8;
    out.push({
      op: body[offset + 4],
      particleType: body[offset + 5],
      flags: body[offset + 6],
      name: body.subarray(nameStart, nameStart + nameLength),
      value: body.subarray(nameStart + nameLength, offset + 4 + size),
    });
    offset += 4 + size;
  }
  return offset;
}

export function parseAsMsg(body: Buffer): ParsedMsg {
  const header = readMsgHeader(body, 0);
  if (body[0] !== MSG_HEADER_SIZE) throw new MalformedMessage(`header_sz ${body[0]}`);
  const fields: MsgField[] = [];
  const ops: MsgOp[] = [];
  let offset = readFields(body, MSG_HEADER_SIZE, header.nFields, fields);
  offset = readOps(body, offset, header.nOps, ops);
  return { header, fields, ops };
}

export function findField(fields: MsgField[], type: number): MsgField | undefined {
  for (const field of fields) if (field.type === type) return field;
  return undefined;
}

/** One op of an answer: a bin value (READ), or an op echoed with no value (particle 0) under RESPOND_ALL_OPS. */
export interface AnswerOp {
  op: number;
  particleType: number;
  name: Buffer;
  value: Buffer | null;
}

export interface AnswerMeta {
  resultCode: number;
  generation: number;
  voidTime: number;
  /** 0 in single-record answers; the row's index in batch answers. */
  transactionTtl: number;
  info3?: number;
}

export function answerSize(ops: readonly AnswerOp[]): number {
  let size = MSG_HEADER_SIZE;
  for (const op of ops) size += 8 + op.name.length + (op.value ? op.value.length : 0);
  return size;
}

/** Writes one as_msg (header + ops, no fields: CE answers carry none) at `offset`; returns the end offset. */
export function writeAnswer(buf: Buffer, offset: number, meta: AnswerMeta, ops: readonly AnswerOp[]): number {
  buf[offset] = MSG_HEADER_SIZE;
  buf[offset + 1] = 0;
  buf[offset + 2] = 0;
  buf[offset + 3] = meta.info3 ?? 0;
  buf[offset + 4] = 0;
  buf[offset + 5] = meta.resultCode;
  buf.writeUInt32BE(meta.generation >>> 0, offset + 6);
  buf.writeUInt32BE(meta.voidTime >>> 0, offset + 10);
  buf.writeUInt32BE(meta.transactionTtl >>> 0, offset + 14);
  buf.writeUInt16BE(0, offset + 18);
  buf.writeUInt16BE(ops.length, offset + 20);
  offset += MSG_HEADER_SIZE;
  for (const op of ops) {
    const valueLength = op.value ? op.value.length : 0;
    buf.writeUInt32BE(4 + op.name.length + valueLength, offset);
    buf[offset + 4] = op.op;
    buf[offset + 5] = op.value ? op.particleType : 0;
    buf[offset + 6] = 0;
    buf[offset + 7] = op.name.length;
    op.name.copy(buf, offset + 8);
    offset += 8 + op.name.length;
    if (op.value) {
      op.value.copy(buf, offset);
      offset += valueLength;
    }
  }
  return offset;
}

/** A whole type-3 proto message holding one as_msg. */
export function singleAnswerFrame(meta: AnswerMeta, ops: readonly AnswerOp[] = []): Buffer {
  const size = answerSize(ops);
  const buf = Buffer.allocUnsafe(PROTO_HEADER_SIZE + size);
  writeProtoHeader(buf, 0, ProtoType.AS_MSG, size);
  writeAnswer(buf, PROTO_HEADER_SIZE, meta, ops);
  return buf;
}

/** The 30-byte message that ends a batch (or query) answer stream: info3 LAST and the overall rc. */
export function lastFrame(resultCode: number): Buffer {
  return singleAnswerFrame({ resultCode, generation: 0, voidTime: 0, transactionTtl: 0, info3: 0x01 });
}

/**
 * Packs per-record answers into type-3 proto messages of at most `bufferSize` body bytes each, as the
 * server's batch buffers do (128 KB; a record larger than that gets a message of its own), followed
 * by the LAST message as its own proto message. Everything goes into one buffer: one socket write.
 */
export class StreamAnswerWriter {
  private readonly entries: { meta: AnswerMeta; ops: readonly AnswerOp[]; size: number }[] = [];

  constructor(private readonly bufferSize = 128 * 1024) {}

  add(meta: AnswerMeta, ops: readonly AnswerOp[]): void {
    this.entries.push({ meta, ops, size: answerSize(ops) });
  }

  finish(lastResultCode: number): Buffer {
    // Message boundaries first, so that a single exact-size buffer can be allocated.
    const messageSizes: number[] = [];
    let current = 0;
    for (const entry of this.entries) {
      if (current > 0 && current + entry.size > this.bufferSize) {
        messageSizes.push(current);
        current = 0;
      }
      current += entry.size;
    }
    if (current > 0) messageSizes.push(current);
    let total = PROTO_HEADER_SIZE + MSG_HEADER_SIZE;
    for (const size of messageSizes) total += PROTO_HEADER_SIZE + size;
    const buf = Buffer.allocUnsafe(total);
    let at = 0;
    let entryIndex = 0;
    for (const size of messageSizes) {
      writeProtoHeader(buf, at, ProtoType.AS_MSG, size);
      at += PROTO_HEADER_SIZE;
      const end = at + size;
      while (at < end) {
        const entry = this.entries[entryIndex++];
        at = writeAnswer(buf, at, entry.meta, entry.ops);
      }
    }
    writeProtoHeader(buf, at, ProtoType.AS_MSG, MSG_HEADER_SIZE);
    writeAnswer(buf, at + PROTO_HEADER_SIZE, { resultCode: lastResultCode, generation: 0, voidTime: 0, transactionTtl: 0, info3: 0x01 }, []);
    return buf;
  }
}
