/**
 * Chunking of stream inputs (stdin, or any Readable the caller owns).
 *
 * A stream's chunks are small (64 KiB from a pipe) and may in principle be reused by their producer,
 * so for inputs that go straight to the .asb decoder they are copied into fresh 1 MiB buffers: that
 * gives the decoder the same large, never-reused chunks as a file read, for one memcpy per byte.
 */
import { READ_CHUNK_BYTES } from './local-files.js';

/** The name stdin has in messages (as C prints it). */
export const STDIN_NAME = '[stdin]';

export type ChunkSource = AsyncIterable<Uint8Array | string>;

function asBytes(chunk: Uint8Array | string, name: string): Uint8Array {
  if (typeof chunk === 'string') {
    throw new TypeError(`${name} yields strings: backup input streams must not have an encoding set`);
  }
  return chunk;
}

/**
 * Passes a stream's chunks on unchanged (for layers that copy anyway: decryption, decompression),
 * counting bytes.
 */
export async function* countStreamChunks(
  source: ChunkSource,
  name: string,
  onBytes: (bytes: number) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const raw of source) {
    const chunk = asBytes(raw, name);
    if (chunk.length === 0) continue;
    onBytes(chunk.length);
    yield chunk;
  }
}

/**
 * Copies a stream's chunks into fresh buffers of `chunkBytes` (the last one shorter), counting the
 * bytes as they arrive.
 */
export async function* coalesceStreamChunks(
  source: ChunkSource,
  name: string,
  onBytes: (bytes: number) => void,
  chunkBytes: number = READ_CHUNK_BYTES,
): AsyncGenerator<Buffer, void, undefined> {
  let current = Buffer.allocUnsafeSlow(chunkBytes);
  let filled = 0;
  for await (const raw of source) {
    let rest = asBytes(raw, name);
    onBytes(rest.length);
    while (rest.length > 0) {
      const take = Math.min(rest.length, chunkBytes - filled);
      current.set(take === rest.length ? rest : rest.subarray(0, take), filled);
      filled += take;
      rest = rest.subarray(take);
      if (filled === chunkBytes) {
        yield current;
        current = Buffer.allocUnsafeSlow(chunkBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield current.subarray(0, filled);
}
