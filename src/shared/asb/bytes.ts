/**
 * Cheap Buffer objects for the decoder's hot path.
 *
 * Creating a Buffer with `Buffer.allocUnsafe` or `buf.subarray` costs about twice what V8 needs
 * to make a typed-array view (Node's pool bookkeeping and argument handling on top), and the
 * decoder makes one to three per record. `BufferView` is a Uint8Array subclass whose prototype
 * chain goes through Buffer.prototype, exactly like Node's own internal FastBuffer: instances are
 * real Buffers (`Buffer.isBuffer`, every Buffer method, `constructor === Buffer`).
 */
import { Buffer } from 'node:buffer';

class BufferView extends Uint8Array {}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);
Object.defineProperty(BufferView.prototype, 'constructor', { value: Buffer, writable: true, configurable: true });

/** A Buffer viewing `length` bytes of `buffer` from `byteOffset` (no copy). */
export function bufferView(buffer: ArrayBufferLike, byteOffset: number, length: number): Buffer {
  return new BufferView(buffer as ArrayBuffer, byteOffset, length) as unknown as Buffer;
}

const SLAB_BYTES = 64 * 1024;

/**
 * Hands out small Buffers carved from 64 KiB slabs (larger ones get their own memory). A slab is
 * freed once every Buffer cut from it is unreachable.
 */
export class SlabAllocator {
  private slab = new ArrayBuffer(SLAB_BYTES);
  private offset = 0;

  /**
   * Hands the current slab out again from its start: for a caller that knows no Buffer cut so far
   * is used any more (the decoder with `transientInput`, at each record's start). Spares the
   * allocation of a fresh slab per 64 KiB of values, and the collector's work on them.
   */
  rewind(): void {
    this.offset = 0;
  }

  allocate(length: number): Buffer {
    if (length > SLAB_BYTES >> 3) return bufferView(new ArrayBuffer(length), 0, length);
    if (this.offset + length > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES);
      this.offset = 0;
    }
    const view = bufferView(this.slab, this.offset, length);
    this.offset += length;
    return view;
  }
}
