/**
 * The writer side of the backup stream, byte-compatible with C asbackup: .asb text → zstd (optional)
 * → AES-CTR with the ECB-encrypted IV header (optional) → file. Used by tests and the backup
 * generator; restore never writes backups.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { AsrestoreError } from '../errors.js';
import { AesCtrEncryptor, type AesCtrKey } from './aes-ctr.js';
import type { CompressionType } from './codec-options.js';
import { IoErrorCode } from './io-error-codes.js';
import { ZstdEncoder } from './zstd.js';

export interface BackupOutputOptions {
  compress?: CompressionType;
  /** zstd level (0 = zstd default, as asbackup's --compression-level default). */
  compressionLevel?: number;
  encryption?: AesCtrKey;
  /** IV0 for the AES-CTR layer; default: 4-byte time + 12 random bytes, as asbackup. Tests only. */
  initialCounter?: Buffer;
  /**
   * With zstd: end the frame after this many plain bytes and start a new one, producing the
   * multi-frame files C asbackup writes when it reopens a file. Unset: one frame per file.
   */
  frameInputBytes?: number;
}

/** Incremental encoder of the whole layer stack; every output chunk is a new Buffer. */
export class BackupEncoder {
  private readonly zstd: ZstdEncoder | undefined;
  private readonly encryptor: AesCtrEncryptor | undefined;
  private readonly frameLimit: number;
  private frameFill = 0;
  private headerWritten = false;
  private readonly scratch: Buffer[] = [];

  constructor(options: BackupOutputOptions = {}) {
    this.zstd = options.compress === 'zstd' ? new ZstdEncoder({ level: options.compressionLevel }) : undefined;
    this.encryptor =
      options.encryption !== undefined ? new AesCtrEncryptor(options.encryption, options.initialCounter) : undefined;
    this.frameLimit = options.frameInputBytes ?? Infinity;
    if (!(this.frameLimit > 0)) throw new RangeError('frameInputBytes must be > 0');
  }

  /** Encodes `plain`, appending the file bytes ready so far to `out`. */
  push(plain: Uint8Array, out: Buffer[]): void {
    this.writeHeader(out);
    if (this.zstd === undefined) {
      if (plain.length > 0) out.push(this.encryptor !== undefined ? this.encryptor.push(plain) : Buffer.from(plain));
      return;
    }
    let rest = plain;
    while (rest.length > 0) {
      const take = Math.min(rest.length, this.frameLimit - this.frameFill);
      this.zstd.push(rest.subarray(0, take), this.scratch);
      this.frameFill += take;
      rest = rest.subarray(take);
      if (this.frameFill >= this.frameLimit) this.endZstdFrame();
    }
    this.drain(out);
  }

  /** Ends the current zstd frame now (no-op without zstd or when no frame is open). */
  endFrame(out: Buffer[]): void {
    this.writeHeader(out);
    this.endZstdFrame();
    this.drain(out);
  }

  /** Ends the stream: closes the last frame; an empty encrypted file still gets its IV header. */
  finish(out: Buffer[]): void {
    this.endFrame(out);
  }

  private endZstdFrame(): void {
    this.zstd?.endFrame(this.scratch);
    this.frameFill = 0;
  }

  private writeHeader(out: Buffer[]): void {
    if (this.headerWritten) return;
    this.headerWritten = true;
    if (this.encryptor !== undefined) out.push(Buffer.from(this.encryptor.header));
  }

  private drain(out: Buffer[]): void {
    for (const chunk of this.scratch) out.push(this.encryptor !== undefined ? this.encryptor.push(chunk) : chunk);
    this.scratch.length = 0;
  }
}

/** Encodes a whole plain .asb text in one call (tests, small fixtures). */
export function encodeBackupBytes(plain: Uint8Array, options: BackupOutputOptions = {}): Buffer {
  const encoder = new BackupEncoder(options);
  const out: Buffer[] = [];
  encoder.push(plain, out);
  encoder.finish(out);
  return Buffer.concat(out);
}

/** A Transform from plain .asb text to backup file bytes (e.g. to pipe into a file or stdout). */
export function createBackupOutputStream(options: BackupOutputOptions = {}): Transform {
  const encoder = new BackupEncoder(options);
  const out: Buffer[] = [];
  const flushOut = (stream: Transform): void => {
    for (const chunk of out) stream.push(chunk);
    out.length = 0;
  };
  return new Transform({
    transform(this: Transform, chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
      try {
        encoder.push(chunk, out);
        flushOut(this);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(this: Transform, done: TransformCallback): void {
      try {
        encoder.finish(out);
        flushOut(this);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

export interface BackupWriter {
  readonly path: string;
  /** Appends plain .asb text (strings are written as UTF-8). */
  write(plain: Uint8Array | string): Promise<void>;
  /** Ends the current zstd frame (multi-frame files); no-op without --compress. */
  endFrame(): Promise<void>;
  /** Finishes the stream and closes the file; returns the file's size. */
  close(): Promise<number>;
}

/** Creates (or truncates) a backup file and returns a writer for it. */
export async function createBackupWriter(path: string, options: BackupOutputOptions = {}): Promise<BackupWriter> {
  const encoder = new BackupEncoder(options);
  let handle: FileHandle;
  try {
    handle = await open(path, 'w');
  } catch (error) {
    throw writeError(path, error);
  }
  let bytesWritten = 0;
  let closed = false;
  const out: Buffer[] = [];
  const flush = async (): Promise<void> => {
    if (out.length === 0) return;
    const buffers = out.splice(0, out.length);
    try {
      // writev may write partially; loop until every buffer is on disk.
      let pendingBuffers = buffers;
      while (pendingBuffers.length > 0) {
        const { bytesWritten: written } = await handle.writev(pendingBuffers);
        bytesWritten += written;
        pendingBuffers = dropWritten(pendingBuffers, written);
      }
    } catch (error) {
      throw writeError(path, error);
    }
  };
  const assertOpen = (): void => {
    if (closed) throw new Error(`backup writer for ${path} is closed`);
  };
  return {
    path,
    async write(plain: Uint8Array | string): Promise<void> {
      assertOpen();
      encoder.push(typeof plain === 'string' ? Buffer.from(plain) : plain, out);
      await flush();
    },
    async endFrame(): Promise<void> {
      assertOpen();
      encoder.endFrame(out);
      await flush();
    },
    async close(): Promise<number> {
      if (closed) return bytesWritten;
      closed = true;
      try {
        encoder.finish(out);
        await flush();
      } finally {
        await handle.close();
      }
      return bytesWritten;
    },
  };
}

function dropWritten(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  let index = 0;
  while (index < buffers.length && skip >= buffers[index]!.length) {
    skip -= buffers[index]!.length;
    index++;
  }
  const rest = buffers.slice(index);
  if (rest.length > 0 && skip > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}

function writeError(path: string, error: unknown): AsrestoreError {
  return new AsrestoreError(
    IoErrorCode.OUTPUT_WRITE_FAILED,
    `Error while writing backup file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    { file: path },
    { cause: error },
  );
}
