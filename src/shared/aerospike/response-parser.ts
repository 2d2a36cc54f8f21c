/**
 * Decoding of AS_MSG answers. Frames come from the streaming ProtoFrameReader (framing.ts), so a
 * socket read may end anywhere; a batch answer is a run of frames, each holding one or more
 * per-record as_msgs (index in transaction_ttl), ended by an as_msg with INFO3_LAST whose result
 * code is the batch's own (NOTES §5.3–5.4; C client as_batch_parse_records).
 */
import { inflateSync } from 'node:zlib';
import { ProtoFrameReader, type ProtoFrame } from './framing.js';
import { Info3, MSG_HEADER_SIZE, ProtoType } from './protocol.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';

/** The result slot of a batch row no answer has reached (yet). */
export const ROW_UNANSWERED = -1;

export interface RecordAnswer {
  resultCode: number;
  generation: number;
  /** Seconds since 2010-01-01 (0: never expires). */
  voidTime: number;
}

function protocolError(message: string, node?: string): AerospikeError {
  return new AerospikeError(ClientErrorCode.PROTOCOL, node === undefined ? message : `${message} (node ${node})`, { node });
}

function readUInt32(buf: Uint8Array, offset: number): number {
  return ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0;
}

function readUInt16(buf: Uint8Array, offset: number): number {
  return (buf[offset] << 8) | buf[offset + 1];
}

/** Parses the as_msg answer to a single-record command. */
export function parseRecordAnswer(body: Buffer, node?: string): RecordAnswer {
  if (body.length < MSG_HEADER_SIZE || body[0] < MSG_HEADER_SIZE) {
    throw protocolError(`record answer of ${body.length} bytes is shorter than a message header`, node);
  }
  return { resultCode: body[5], generation: readUInt32(body, 6), voidTime: readUInt32(body, 10) };
}

/**
 * Unpacks a compressed proto (type 4: uncompressed size:u64, then zlib of whole protos).
 * Clients only get these when they ask for compression; handled so an answer is never misread.
 */
export function inflateCompressedFrame(body: Buffer, node?: string): ProtoFrame[] {
  if (body.length < 8) throw protocolError('compressed message without its size prefix', node);
  const expected = Number(body.readBigUInt64BE(0));
  let inflated: Buffer;
  try {
    inflated = inflateSync(body.subarray(8));
  } catch (cause) {
    throw new AerospikeError(ClientErrorCode.PROTOCOL, `compressed message cannot be inflated: ${(cause as Error).message}`, { node, cause });
  }
  if (inflated.length !== expected) {
    throw protocolError(`compressed message inflated to ${inflated.length} bytes, ${expected} announced`, node);
  }
  const reader = new ProtoFrameReader();
  const frames = reader.push(inflated);
  if (reader.bufferedBytes !== 0) throw protocolError('compressed message ends inside a proto frame', node);
  for (const frame of frames) {
    if (frame.type === ProtoType.COMPRESSED) throw protocolError('compressed message nested in a compressed message', node);
  }
  return frames;
}

/**
 * Collects the per-record result codes of one batch command. `results` is indexed by row index
 * (the caller's record position) and shared by the per-node commands of one batch; `rowGroup`
 * names the command each row was sent in, so a row index the server should not answer on this
 * command is caught.
 */
export class BatchAnswerParser {
  /** The batch-level result code from the LAST message (0 normally). */
  batchResultCode = 0;
  /** Distinct rows answered so far. */
  answered = 0;
  done = false;

  constructor(
    private readonly results: Int32Array,
    private readonly rowGroup: Uint16Array | null,
    private readonly group: number,
    private readonly node?: string,
  ) {}

  /** Consumes one AS_MSG frame body; returns true once the LAST message was seen. */
  consume(body: Buffer): boolean {
    if (this.done) throw protocolError('data after the end of a batch answer', this.node);
    const end = body.length;
    const results = this.results;
    let offset = 0;
    while (offset < end) {
      if (end - offset < MSG_HEADER_SIZE) throw protocolError('batch answer ends inside a message header', this.node);
      const headerSize = body[offset];
      if (headerSize < MSG_HEADER_SIZE) throw protocolError(`batch answer message header of ${headerSize} bytes`, this.node);
      const info3 = body[offset + 3];
      const resultCode = body[offset + 5];
      const index = readUInt32(body, offset + 14);
      const nFields = readUInt16(body, offset + 18);
      const nOps = readUInt16(body, offset + 20);
      offset += headerSize;
      for (let i = 0; i < nFields + nOps; i++) {
        if (end - offset < 4) throw protocolError('batch answer ends inside a field or op', this.node);
        offset += 4 + readUInt32(body, offset);
      }
      if (offset > end) throw protocolError('batch answer field or op runs past its message', this.node);
      if ((info3 & Info3.LAST) !== 0) {
        this.batchResultCode = resultCode;
        this.done = true;
        if (offset !== end) throw protocolError('data after the LAST message of a batch answer', this.node);
        return true;
      }
      if (index >= results.length || (this.rowGroup !== null && this.rowGroup[index] !== this.group)) {
        throw protocolError(`batch answer for row ${index}, which this command did not send`, this.node);
      }
      if (results[index] === ROW_UNANSWERED) this.answered++;
      results[index] = resultCode;
    }
    return false;
  }
}
