/**
 * zstd streaming decompression and compression for .asb files written with `--compress zstd`.
 *
 * Built on zstd-napi's streaming binding (ZSTD_decompressStream / ZSTD_compressStream2) rather than
 * its Transform classes: one native call per output chunk with no stream machinery, output chunks
 * filled to a fixed size across input chunks (the .asb decoder keeps zero-copy views into them, so
 * half-empty chunks would pin memory) and yielded as each one fills (memory stays bounded at any
 * compression ratio), byte offsets for errors, and an exact end-of-frame state to reject truncated
 * input. The decoder runs on across concatenated frames: a C asbackup file that was
 * reopened for more data holds several frames back to back.
 */
import { lazyModule } from '../lazy-module.js';
import { AsrestoreError } from '../errors.js';
import { INPUT_OPTIONS_HINT, IoErrorCode } from './io-error-codes.js';

type ZstdBinding = typeof import('zstd-napi/binding.js');
// zstd-napi/binding is a CommonJS re-export of the native addon, so ESM named imports cannot see it.
// Loaded on first use: a thread that never meets compressed data does not load the addon.
const zstd = lazyModule<ZstdBinding>('zstd-napi/binding');

/** Whether `bytes` begin with the zstd frame magic number (0xFD2FB528, little-endian). */
export function startsWithZstdMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd;
}

/** Plain-text chunk size: large enough to amortise calls, small enough to stay in L2 while parsed. */
export const DEFAULT_DECOMPRESSED_CHUNK_BYTES = 256 * 1024;

export interface ZstdDecoderOptions {
  /** Names the input in errors (a file path, "[stdin]", an S3 URL). */
  name: string;
  /** File offset of the first compressed byte (16 when an AES IV header precedes the zstd data). */
  baseOffset?: number;
  /** Size of every emitted chunk but the last. */
  outputChunkBytes?: number;
}

/**
 * Incremental zstd decoder. Every chunk it returns is a freshly allocated Buffer that it never
 * touches again.
 */
export class ZstdDecoder {
  private readonly dctx = new (zstd().DCtx)();
  private readonly name: string;
  private readonly baseOffset: number;
  private readonly outputChunkBytes: number;
  private output: Buffer;
  private filled = 0;
  private consumed = 0;
  private inFrame = false;
  private finished = false;

  constructor(options: ZstdDecoderOptions) {
    this.name = options.name;
    this.baseOffset = options.baseOffset ?? 0;
    this.outputChunkBytes = options.outputChunkBytes ?? DEFAULT_DECOMPRESSED_CHUNK_BYTES;
    this.output = Buffer.allocUnsafeSlow(this.outputChunkBytes);
  }

  /** Compressed bytes consumed so far. */
  get compressedBytesConsumed(): number {
    return this.consumed;
  }

  /**
   * Decompresses all of `input`, yielding each output chunk as soon as it is full, so memory stays
   * bounded whatever the compression ratio. `input` must stay unchanged until the generator is done;
   * after that the caller may reuse it (zstd copies what it keeps).
   */
  *decode(input: Uint8Array): Generator<Buffer, void, undefined> {
    if (this.finished) throw new Error('ZstdDecoder.decode() after finish()');
    // An empty call would report "inside a frame" (zstd wants a header) before any frame began.
    if (input.length === 0) return;
    let rest = input;
    for (;;) {
      if (this.filled === this.output.length) {
        const full = this.output;
        this.output = Buffer.allocUnsafeSlow(this.outputChunkBytes);
        this.filled = 0;
        yield full;
      }
      let result: [number, number, number];
      try {
        result = this.dctx.decompressStream(this.output.subarray(this.filled), rest);
      } catch (error) {
        throw new AsrestoreError(
          IoErrorCode.ZSTD_DECOMPRESS_FAILED,
          `Failed to decompress backup file ${this.name} (zstd data at or after byte ${this.baseOffset + this.consumed}): ` +
            `${(error as Error).message}; ${INPUT_OPTIONS_HINT}`,
          { file: this.name },
          { cause: error },
        );
      }
      const [remainingHint, produced, consumed] = result;
      this.filled += produced;
      this.consumed += consumed;
      rest = rest.subarray(consumed);
      // 0 means a frame was fully decoded and flushed; anything else means we are inside one. A call
      // that moved nothing says nothing about frames (between frames zstd asks for a next header).
      if (produced > 0 || consumed > 0) this.inFrame = remainingHint !== 0;
      if (rest.length > 0) continue;
      // All input taken. Done when the frame ended flushed, or when zstd left the output buffer
      // partly empty (its guarantee that it flushed all it could).
      if (remainingHint === 0 || this.filled < this.output.length) return;
    }
  }

  /**
   * Ends the input. Returns the last (possibly short) chunk, or undefined when nothing is left.
   * Throws when the input stopped inside a frame: a truncated file must not pass as a short one.
   */
  finish(): Buffer | undefined {
    if (this.inFrame) {
      throw new AsrestoreError(
        IoErrorCode.ZSTD_TRUNCATED,
        `Backup file ${this.name} ends inside a zstd frame after ${this.baseOffset + this.consumed} bytes: ` +
          `the file is truncated or corrupt`,
        { file: this.name },
      );
    }
    this.finished = true;
    if (this.filled === 0) return undefined;
    return this.output.subarray(0, this.filled);
  }
}

/** Decompresses a stream of zstd chunks (any number of concatenated frames) into plain chunks. */
export async function* decompressZstdChunks(
  source: AsyncIterable<Uint8Array>,
  options: ZstdDecoderOptions,
): AsyncGenerator<Buffer, void, undefined> {
  const decoder = new ZstdDecoder(options);
  for await (const chunk of source) {
    for (const plain of decoder.decode(chunk)) yield plain;
  }
  const last = decoder.finish();
  if (last !== undefined) yield last;
}

export interface ZstdEncoderOptions {
  /** zstd level; 0 = zstd's default (3), as asbackup's --compression-level default. */
  level?: number;
}

/** Incremental zstd encoder (writer side: tests and the backup generator). */
export class ZstdEncoder {
  private readonly cctx = new (zstd().CCtx)();
  private output = Buffer.allocUnsafeSlow(zstd().cStreamOutSize());
  private filled = 0;
  private frameOpen = false;

  constructor(options: ZstdEncoderOptions = {}) {
    this.cctx.setParameter(zstd().CParameter.compressionLevel, options.level ?? 0);
  }

  /** Compresses `input` into the current frame; appends completed output chunks to `completed`. */
  push(input: Uint8Array, completed: Buffer[]): void {
    if (input.length === 0) return;
    this.frameOpen = true;
    this.run(input, zstd().EndDirective.continue, completed);
  }

  /**
   * Ends the current frame (a no-op when none is open) and appends all pending output, the last
   * chunk possibly short. The next push starts a new frame.
   */
  endFrame(completed: Buffer[]): void {
    if (!this.frameOpen) return;
    this.run(new Uint8Array(0), zstd().EndDirective.end, completed);
    this.frameOpen = false;
    if (this.filled > 0) {
      completed.push(this.output.subarray(0, this.filled));
      this.output = Buffer.allocUnsafeSlow(zstd().cStreamOutSize());
      this.filled = 0;
    }
  }

  private run(input: Uint8Array, directive: number, completed: Buffer[]): void {
    let rest = input;
    for (;;) {
      if (this.filled === this.output.length) {
        completed.push(this.output);
        this.output = Buffer.allocUnsafeSlow(zstd().cStreamOutSize());
        this.filled = 0;
      }
      const [remaining, produced, consumed] = this.cctx.compressStream2(
        this.output.subarray(this.filled),
        rest,
        directive,
      );
      this.filled += produced;
      rest = rest.subarray(consumed);
      if (rest.length > 0) continue;
      if (directive === zstd().EndDirective.continue || remaining === 0) return;
    }
  }
}
