import { createRequire } from 'node:module';
import { expect } from 'chai';
import { encodeBackupBytes } from '../../src/shared/io/backup-writer.js';
import { IoErrorCode } from '../../src/shared/io/io-error-codes.js';
import { ZstdDecoder, ZstdEncoder, decompressZstdChunks, startsWithZstdMagic } from '../../src/shared/io/zstd.js';
import { collect, expectAsrestoreError, expectDisjointChunks, expectThrowsAsrestoreError, sampleAsbText } from './helpers.js';

// An independent zstd implementation path (zstd-napi's one-shot API) to build and check frames.
const zstdSimple = createRequire(import.meta.url)('zstd-napi') as typeof import('zstd-napi');
const zstdBinding = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');

async function* chunksOf(data: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let start = 0;
  for (const cut of [...cuts, data.length]) {
    yield data.subarray(start, cut);
    start = cut;
  }
}

async function* fixedChunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

function frameSizes(compressed: Buffer): number[] {
  const sizes: number[] = [];
  let rest = compressed;
  while (rest.length > 0) {
    const size = zstdBinding.findFrameCompressedSize(rest);
    sizes.push(size);
    rest = rest.subarray(size);
  }
  return sizes;
}

describe('io/zstd', () => {
  const text = sampleAsbText(700_000, 7);

  it('decodes a single frame written by an independent compressor', async () => {
    const compressed = zstdSimple.compress(text);
    const chunks = await collect(decompressZstdChunks(fixedChunks(compressed, 65_536), { name: 'one.asb' }));
    expect(Buffer.concat(chunks).equals(text)).to.equal(true);
  });

  it('decodes concatenated frames, with frame boundaries inside a chunk and on a chunk edge', async () => {
    const parts = [text.subarray(0, 1000), text.subarray(1000, 250_000), text.subarray(250_000)];
    const frames = parts.map((part) => zstdSimple.compress(part));
    const joined = Buffer.concat(frames);
    const boundary1 = frames[0]!.length;
    const boundary2 = boundary1 + frames[1]!.length;
    // One chunk spans boundary 1 (cut 10 bytes either side), then a cut exactly on boundary 2.
    const cuts = [boundary1 - 10, boundary1 + 10, boundary2];
    const chunks = await collect(decompressZstdChunks(chunksOf(joined, cuts), { name: 'multi.asb' }));
    expect(Buffer.concat(chunks).equals(text)).to.equal(true);
    // Whole file in one chunk: three frames in one push.
    const single = await collect(decompressZstdChunks(chunksOf(joined, []), { name: 'multi.asb' }));
    expect(Buffer.concat(single).equals(text)).to.equal(true);
  });

  it('decodes a multi-frame file fed one byte at a time', async () => {
    const small = text.subarray(0, 3000);
    const joined = Buffer.concat([zstdSimple.compress(small.subarray(0, 1200)), zstdSimple.compress(small.subarray(1200))]);
    const cuts = Array.from({ length: joined.length - 1 }, (_, i) => i + 1);
    const chunks = await collect(decompressZstdChunks(chunksOf(joined, cuts), { name: 'bytes.asb' }));
    expect(Buffer.concat(chunks).equals(small)).to.equal(true);
  });

  it('handles frames whose output ends exactly on an output chunk boundary', async () => {
    // Frame contents are whole multiples of the output chunk size, so after a frame's last byte the
    // output buffer is exactly full and the decoder must not mistake "between frames" for "inside".
    const content = text.subarray(0, 8 * 1024);
    const frames = [content.subarray(0, 2048), content.subarray(2048, 3072), content.subarray(3072)].map((part) =>
      zstdSimple.compress(part),
    );
    const joined = Buffer.concat(frames);
    for (const pieceSize of [joined.length, frames[0]!.length, 1, 7]) {
      const decoder = new ZstdDecoder({ name: 'aligned', outputChunkBytes: 1024 });
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < joined.length; offset += pieceSize) chunks.push(...decoder.decode(joined.subarray(offset, offset + pieceSize)));
      const last = decoder.finish();
      if (last) chunks.push(last);
      expect(Buffer.concat(chunks).equals(content), `pieces of ${pieceSize}`).to.equal(true);
      expect(chunks.every((chunk) => chunk.length === 1024)).to.equal(true);
    }
  });

  it('writes several frames with frameInputBytes and one frame without', () => {
    const multi = encodeBackupBytes(text, { compress: 'zstd', frameInputBytes: 200_000 });
    expect(frameSizes(multi)).to.have.length(4);
    const single = encodeBackupBytes(text, { compress: 'zstd' });
    expect(frameSizes(single)).to.have.length(1);
    expect(zstdSimple.decompress(multi).equals(text)).to.equal(true);
    expect(zstdSimple.decompress(single).equals(text)).to.equal(true);
  });

  it('ZstdEncoder.endFrame starts a new frame; an idle endFrame adds nothing', () => {
    const encoder = new ZstdEncoder({ level: 1 });
    const out: Buffer[] = [];
    encoder.push(text.subarray(0, 5000), out);
    encoder.endFrame(out);
    encoder.endFrame(out);
    encoder.push(text.subarray(5000, 9000), out);
    encoder.endFrame(out);
    const compressed = Buffer.concat(out);
    expect(frameSizes(compressed)).to.have.length(2);
    expect(zstdSimple.decompress(compressed).equals(text.subarray(0, 9000))).to.equal(true);
  });

  it('emits full-size fresh chunks that are never reused', async () => {
    const compressed = encodeBackupBytes(text, { compress: 'zstd', frameInputBytes: 100_000 });
    const decoder = new ZstdDecoder({ name: 'x', outputChunkBytes: 65_536 });
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < compressed.length; offset += 4096) {
      chunks.push(...decoder.decode(compressed.subarray(offset, offset + 4096)));
    }
    const last = decoder.finish();
    if (last) chunks.push(last);
    expect(chunks.slice(0, -1).every((chunk) => chunk.length === 65_536)).to.equal(true);
    expectDisjointChunks(chunks);
    expect(Buffer.concat(chunks).equals(text)).to.equal(true);
  });

  it('keeps memory bounded at extreme compression ratios (yields while decoding one input chunk)', () => {
    const encoder = new ZstdEncoder({ level: 1 });
    const compressedParts: Buffer[] = [];
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 256; i++) encoder.push(zeros, compressedParts);
    encoder.endFrame(compressedParts);
    const compressed = Buffer.concat(compressedParts); // 256 MiB of zeros in ~8 KiB
    const decoder = new ZstdDecoder({ name: 'zeros' });
    const chunks = decoder.decode(compressed);
    chunks.next();
    chunks.next();
    expect(decoder.compressedBytesConsumed).to.be.lessThan(compressed.length / 4);
    let total = 2 * 256 * 1024;
    let peakArrayBuffers = 0;
    for (const chunk of chunks) {
      total += chunk.length;
      peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
    }
    total += decoder.finish()?.length ?? 0;
    expect(total).to.equal(256 * 1024 * 1024);
    expect(peakArrayBuffers).to.be.lessThan(128 * 1024 * 1024);
  });

  it('rejects a truncated final frame, wherever it is cut', async () => {
    const frames = [zstdSimple.compress(text.subarray(0, 300_000)), zstdSimple.compress(text.subarray(300_000))];
    const joined = Buffer.concat(frames);
    for (const cut of [1, 3, 6, frames[0]!.length + 2, frames[0]!.length + 100, joined.length - 1]) {
      const error = await expectAsrestoreError(
        collect(decompressZstdChunks(fixedChunks(joined.subarray(0, cut), 50_000), { name: 'cut.asb' })),
        IoErrorCode.ZSTD_TRUNCATED,
        'cut.asb ends inside a zstd frame',
      );
      expect(error.file).to.equal('cut.asb');
    }
    // Cut exactly between frames the data is a valid shorter zstd stream (zstd cannot tell).
    const firstOnly = await collect(decompressZstdChunks(chunksOf(joined.subarray(0, frames[0]!.length), []), { name: 'f' }));
    expect(Buffer.concat(firstOnly).equals(text.subarray(0, 300_000))).to.equal(true);
  });

  it('rejects corrupt input with the file name, the byte offset and the options hint', async () => {
    const frames = [zstdSimple.compress(text.subarray(0, 2000)), zstdSimple.compress(text.subarray(2000, 4000))];
    const joined = Buffer.concat(frames);
    joined[frames[0]!.length] = 0x00; // damage the second frame's magic number
    const error = await expectAsrestoreError(
      collect(decompressZstdChunks(chunksOf(joined, []), { name: 'bad.asb', baseOffset: 16 })),
      IoErrorCode.ZSTD_DECOMPRESS_FAILED,
      /bad\.asb.*at or after byte (\d+).*Unknown frame descriptor.*--compress and --encrypt/,
    );
    const offset = Number(/at or after byte (\d+)/.exec(error.message)![1]);
    expect(offset).to.equal(16 + frames[0]!.length);

    await expectAsrestoreError(
      collect(decompressZstdChunks(chunksOf(Buffer.from('Version 3.1\n# namespace test\n'), []), { name: 'plain.asb' })),
      IoErrorCode.ZSTD_DECOMPRESS_FAILED,
      'at or after byte 0',
    );
  });

  it('rejects damage inside a block', async () => {
    const compressed = zstdSimple.compress(text);
    const damaged = Buffer.from(compressed);
    // Overwrite a run in the middle of the frame: the block's entropy-coded data becomes invalid.
    damaged.fill(0xff, Math.floor(damaged.length / 2), Math.floor(damaged.length / 2) + 64);
    await expectAsrestoreError(
      collect(decompressZstdChunks(fixedChunks(damaged, 8192), { name: 'mid.asb' })),
      IoErrorCode.ZSTD_DECOMPRESS_FAILED,
      /mid\.asb.*corruption/i,
    );
  });

  it('yields nothing for empty input and refuses push after finish', async () => {
    expect(await collect(decompressZstdChunks(chunksOf(Buffer.alloc(0), []), { name: 'empty' }))).to.deep.equal([]);
    const decoder = new ZstdDecoder({ name: 'x' });
    decoder.finish();
    expect(() => [...decoder.decode(Buffer.from([1]))]).to.throw('after finish');
  });

  it('recognises the zstd magic', () => {
    expect(startsWithZstdMagic(zstdSimple.compress(Buffer.from('x')))).to.equal(true);
    expect(startsWithZstdMagic(Buffer.from('Version 3.1\n'))).to.equal(false);
    expect(startsWithZstdMagic(Buffer.from([0x28, 0xb5]))).to.equal(false);
  });

  it('a truncated stream surfaces as an AsrestoreError from finish()', () => {
    const decoder = new ZstdDecoder({ name: 'trunc' });
    [...decoder.decode(zstdSimple.compress(text).subarray(0, 100))];
    expectThrowsAsrestoreError(() => decoder.finish(), IoErrorCode.ZSTD_TRUNCATED);
  });
});
