/**
 * A hand-rolled peer for wire-level tests of the test cluster: builds AS_MSG / info / batch bytes the
 * way the captures show real clients sending them, and reads answers frame by frame.
 */
import net from 'node:net';
import { ProtoFrameReader, writeProtoHeader, type ProtoFrame } from '../../src/shared/aerospike/framing.js';
import { FieldType, MSG_HEADER_SIZE, PROTO_HEADER_SIZE, ProtoType } from '../../src/shared/aerospike/protocol.js';
import { readMsgHeader, readOps, type MsgHeader, type MsgOp } from './wire.js';

export function frame(type: number, body: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(PROTO_HEADER_SIZE + body.length);
  writeProtoHeader(buf, 0, type, body.length);
  body.copy(buf, PROTO_HEADER_SIZE);
  return buf;
}

export function field(type: number, data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out.writeUInt32BE(1 + bytes.length, 0);
  out[4] = type;
  bytes.copy(out, 5);
  return out;
}

export function op(opType: number, particleType: number, name: string, value: Buffer = Buffer.alloc(0)): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const out = Buffer.allocUnsafe(8 + nameBytes.length + value.length);
  out.writeUInt32BE(4 + nameBytes.length + value.length, 0);
  out[4] = opType;
  out[5] = particleType;
  out[6] = 0;
  out[7] = nameBytes.length;
  nameBytes.copy(out, 8);
  value.copy(out, 8 + nameBytes.length);
  return out;
}

export function int64(n: number | bigint): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(BigInt(n));
  return out;
}

export interface MsgSpec {
  info1?: number;
  info2?: number;
  info3?: number;
  generation?: number;
  recordTtl?: number;
  timeoutMs?: number;
  fields: Buffer[];
  ops?: Buffer[];
}

export function asMsg(spec: MsgSpec): Buffer {
  const header = Buffer.alloc(MSG_HEADER_SIZE);
  header[0] = MSG_HEADER_SIZE;
  header[1] = spec.info1 ?? 0;
  header[2] = spec.info2 ?? 0;
  header[3] = spec.info3 ?? 0;
  header.writeUInt32BE(spec.generation ?? 0, 6);
  header.writeUInt32BE((spec.recordTtl ?? 0) >>> 0, 10);
  header.writeUInt32BE(spec.timeoutMs ?? 1000, 14);
  header.writeUInt16BE(spec.fields.length, 18);
  header.writeUInt16BE(spec.ops?.length ?? 0, 20);
  return frame(ProtoType.AS_MSG, Buffer.concat([header, ...spec.fields, ...(spec.ops ?? [])]));
}

/** NAMESPACE, SET, DIGEST fields as Node and asrestore send them. */
export function keyFields(namespace: string, set: string, digest: Buffer): Buffer[] {
  return [field(FieldType.NAMESPACE, namespace), field(FieldType.SET, set), field(FieldType.DIGEST_RIPE, digest)];
}

export interface BatchRowSpec {
  index: number;
  digest: Buffer;
  repeat?: boolean;
  /** meta bits other than REPEAT; default 0x0e (info2/3, gen, ttl) */
  meta?: number;
  info1?: number;
  info2?: number;
  info3?: number;
  generation?: number;
  ttl?: number;
  fields?: Buffer[];
  ops?: Buffer[];
}

export function batchMsg(rows: BatchRowSpec[], options: { count?: number; parentFlags?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32BE(options.count ?? rows.length, 0);
  head[4] = options.parentFlags ?? 0x0d;
  parts.push(head);
  for (const row of rows) {
    const rowHead = Buffer.allocUnsafe(25);
    rowHead.writeUInt32BE(row.index, 0);
    row.digest.copy(rowHead, 4);
    if (row.repeat) {
      rowHead[24] = 0x01;
      parts.push(rowHead);
      continue;
    }
    const meta = row.meta ?? 0x0e;
    rowHead[24] = meta;
    parts.push(rowHead);
    const rest: number[] = [row.info1 ?? 0];
    if (meta & 0x02) rest.push(row.info2 ?? 0, row.info3 ?? 0);
    const restBuf = [Buffer.from(rest)];
    if (meta & 0x04) {
      const g = Buffer.allocUnsafe(2);
      g.writeUInt16BE(row.generation ?? 0, 0);
      restBuf.push(g);
    }
    if (meta & 0x08) {
      const t = Buffer.allocUnsafe(4);
      t.writeUInt32BE((row.ttl ?? 0) >>> 0, 0);
      restBuf.push(t);
    }
    const counts = Buffer.allocUnsafe(4);
    counts.writeUInt16BE(row.fields?.length ?? 0, 0);
    counts.writeUInt16BE(row.ops?.length ?? 0, 2);
    parts.push(...restBuf, counts, ...(row.fields ?? []), ...(row.ops ?? []));
  }
  return asMsg({ info1: 0x08, fields: [field(FieldType.BATCH_INDEX, Buffer.concat(parts))] });
}

export interface Answer {
  header: MsgHeader;
  ops: MsgOp[];
}

/** The as_msgs of one type-3 frame body. */
export function answers(body: Buffer): Answer[] {
  const out: Answer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const header = readMsgHeader(body, offset);
    const ops: MsgOp[] = [];
    offset = readOps(body, offset + MSG_HEADER_SIZE, header.nOps, ops);
    out.push({ header, ops });
  }
  return out;
}

export class RawClient {
  private readonly reader = new ProtoFrameReader();
  private readonly frames: ProtoFrame[] = [];
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.reader.push(chunk));
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame, or null when the socket closed first. */
  async next(timeoutMs = 2000): Promise<ProtoFrame | null> {
    const end = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) return null;
      const left = end - Date.now();
      if (left <= 0) throw new Error('no answer in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.frames.shift()!;
  }

  async info(commands: string): Promise<string> {
    this.send(frame(ProtoType.INFO, Buffer.from(commands, 'latin1')));
    const answer = await this.next();
    if (!answer) throw new Error('closed');
    return answer.body.toString('latin1');
  }

  /** Sends a request and collects frames up to the one holding info3 LAST (batch/query answers). */
  async stream(request: Buffer): Promise<ProtoFrame[]> {
    this.send(request);
    const out: ProtoFrame[] = [];
    for (;;) {
      const f = await this.next();
      if (!f) throw new Error('closed');
      out.push(f);
      if (answers(f.body).some((a) => (a.header.info3 & 0x01) !== 0)) return out;
    }
  }

  async single(request: Buffer): Promise<Answer> {
    this.send(request);
    const f = await this.next();
    if (!f) throw new Error('closed');
    return answers(f.body)[0];
  }

  close(): void {
    this.socket.destroy();
  }
}
