import { PROTO_HEADER_SIZE, PROTO_SIZE_MAX, PROTO_VERSION } from './protocol.js';
import { AsrestoreError } from '../errors.js';

export interface ProtoFrame {
  type: number;
  /** The body, without the 8-byte proto header. A view: valid until the caller drops it. */
  body: Buffer;
}

/** Writes the 8-byte proto header (version 2, type, 48-bit big-endian body size) at `offset`. */
export function writeProtoHeader(buf: Buffer, offset: number, type: number, bodySize: number): void {
  buf[offset] = PROTO_VERSION;
  buf[offset + 1] = type;
  buf.writeUIntBE(bodySize, offset + 2, 6);
}

/**
 * Splits a byte stream (socket reads, split anywhere) into proto frames. One read may hold several
 * frames and one frame may span many reads; frames are cut strictly by the size field.
 */
export class ProtoFrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the frame at the head of `pending` needs in all. */
  private needed = PROTO_HEADER_SIZE;

  constructor(
    private readonly maxBodySize = PROTO_SIZE_MAX,
    /** The caller reuses each chunk's memory once push() returns: what is kept is copied. */
    private readonly transientChunks = false,
  ) {}

  /**
   * Feeds bytes; returns the frames they complete, in order (views of the chunks: with
   * `transientChunks`, valid until the next push). Throws on a bad version or size.
   */
  push(chunk: Buffer): ProtoFrame[] {
    if (this.pendingBytes > 0) {
      this.pending.push(this.transientChunks ? Buffer.from(chunk) : chunk);
      this.pendingBytes += chunk.length;
      // A large frame arrives in many reads: join only once it is complete (no quadratic copying).
      if (this.pendingBytes < this.needed) return [];
      chunk = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const frames: ProtoFrame[] = [];
    let offset = 0;
    this.needed = PROTO_HEADER_SIZE;
    while (chunk.length - offset >= PROTO_HEADER_SIZE) {
      const version = chunk[offset];
      if (version !== PROTO_VERSION) {
        throw new AsrestoreError('PROTO_VERSION', `unexpected proto version ${version} (expected ${PROTO_VERSION})`);
      }
      const type = chunk[offset + 1];
      const size = chunk.readUIntBE(offset + 2, 6);
      if (size > this.maxBodySize) {
        throw new AsrestoreError('PROTO_SIZE', `proto message of ${size} bytes exceeds the ${this.maxBodySize}-byte limit`);
      }
      const end = offset + PROTO_HEADER_SIZE + size;
      if (end > chunk.length) {
        this.needed = PROTO_HEADER_SIZE + size;
        break;
      }
      frames.push({ type, body: chunk.subarray(offset + PROTO_HEADER_SIZE, end) });
      offset = end;
    }
    if (offset < chunk.length) {
      const rest = this.transientChunks ? Buffer.from(chunk.subarray(offset)) : chunk.subarray(offset);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }
}
