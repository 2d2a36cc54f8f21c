/**
 * Opens one backup input — a local file, stdin or any byte stream — as the plain .asb text chunks the
 * decoder parses: read → AES-CTR decrypt (--encrypt) → zstd decompress (--compress).
 *
 * Contract for the consumer: every chunk is a fresh Buffer that nothing modifies or reuses after it
 * was yielded, so the decoder may keep zero-copy views into it. The layers are plain async
 * generators (no Node streams, no per-chunk copies beyond those crypto and zstd make).
 */
import { AsrestoreError } from '../errors.js';
import { AES_IV_HEADER_BYTES, decryptAesCtrChunks, type AesCtrKey } from './aes-ctr.js';
import type { CompressionType } from './codec-options.js';
import { IoErrorCode } from './io-error-codes.js';
import { readFileChunks } from './local-files.js';
import { coalesceStreamChunks, countStreamChunks, type ChunkSource } from './stdin.js';
import { decompressZstdChunks, startsWithZstdMagic } from './zstd.js';

export interface BackupInputOptions {
  /** --compress zstd */
  compress?: CompressionType;
  /** --encrypt with the derived AES key (see encryption-key.ts) */
  encryption?: AesCtrKey;
  /** Called with every increment of rawBytesRead() (e.g. to add to the shared BYTES_READ counter). */
  onRawBytes?: (bytes: number) => void;
  /**
   * The consumer keeps no view of a chunk once it asks for the next one (the decoder's countOnly
   * mode): a plain local file is then read into one reused buffer (local-files.ts reuseBuffer).
   * Ignored with decryption or decompression, whose stages may still hold their input.
   */
  transientChunks?: boolean;
}

export interface OpenedBackupInput {
  /** The name errors use: the path, or "[stdin]". */
  readonly name: string;
  /** Plain .asb text. Iterate once. */
  readonly chunks: AsyncIterable<Buffer>;
  /**
   * Bytes consumed so far from the underlying file or stream (compressed/encrypted size), for
   * progress and --nice. Advances in steps of up to one read chunk (1 MiB) as chunks are handed on.
   */
  rawBytesRead(): number;
  /** Stops reading and releases the file; safe to call at any time, more than once. */
  close(): Promise<void>;
}

/** Opens a local backup file. Opening errors surface on the first iteration, naming the file. */
export function openBackupFile(path: string, options: BackupInputOptions = {}): OpenedBackupInput {
  const reuseBuffer = options.transientChunks === true && options.encryption === undefined && options.compress === undefined;
  return openLayers(path, options, (onBytes) => readFileChunks(path, { onBytes, reuseBuffer }));
}

/**
 * Opens a byte stream (stdin, a download, ...) as a backup input. The stream must deliver Buffers
 * (no encoding set). It is consumed, not closed: the caller owns it.
 */
export function openBackupStream(
  source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  name: string,
  options: BackupInputOptions = {},
): OpenedBackupInput {
  const chunkSource = source as ChunkSource;
  // Chunks that go straight to the decoder are copied into fresh 1 MiB buffers (see stdin.ts);
  // decryption and decompression write fresh output anyway.
  const goesStraightToDecoder = options.encryption === undefined && options.compress === undefined;
  return openLayers(
    name,
    options,
    (onBytes) =>
      goesStraightToDecoder
        ? coalesceStreamChunks(chunkSource, name, onBytes)
        : countStreamChunks(chunkSource, name, onBytes),
  );
}

function openLayers(
  name: string,
  options: BackupInputOptions,
  openRaw: (onBytes: (bytes: number) => void) => AsyncIterable<Uint8Array>,
): OpenedBackupInput {
  let rawBytes = 0;
  const onRawBytes = options.onRawBytes;
  const raw = openRaw((bytes) => {
    rawBytes += bytes;
    onRawBytes?.(bytes);
  });
  let text: AsyncIterable<Uint8Array> = raw;
  if (options.encryption !== undefined) text = decryptAesCtrChunks(text, options.encryption, name);
  if (options.compress === 'zstd') {
    text = decompressZstdChunks(text, {
      name,
      baseOffset: options.encryption !== undefined ? AES_IV_HEADER_BYTES : 0,
    });
  } else {
    text = rejectZstdWithoutCompress(text, name);
  }
  const chunks = text as AsyncGenerator<Buffer, void, undefined>;
  let closed = false;
  return {
    name,
    chunks,
    rawBytesRead: () => rawBytes,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await chunks.return(undefined);
    },
  };
}

/**
 * A plain .asb file starts with "Version"; one starting with a zstd frame header was written with
 * --compress zstd, and saying so beats the decoder's "Invalid version line".
 */
async function* rejectZstdWithoutCompress(
  source: AsyncIterable<Uint8Array>,
  name: string,
): AsyncGenerator<Buffer, void, undefined> {
  let first = true;
  for await (const chunk of source) {
    if (first && chunk.length > 0) {
      first = false;
      if (startsWithZstdMagic(chunk)) {
        throw new AsrestoreError(
          IoErrorCode.INPUT_IS_COMPRESSED,
          `Backup file ${name} is zstd-compressed (it starts with a zstd frame header): restore it with --compress zstd`,
          { file: name },
        );
      }
    }
    yield chunk as Buffer;
  }
}
