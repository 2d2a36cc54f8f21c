import { execFileSync, spawn } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { openBackupFile } from '../../src/shared/io/backup-input.js';
import { REUSED_READ_CHUNK_BYTES } from '../../src/shared/io/local-files.js';
import { createBackupOutputStream, createBackupWriter, encodeBackupBytes, type BackupOutputOptions } from '../../src/shared/io/backup-writer.js';
import { IoErrorCode } from '../../src/shared/io/io-error-codes.js';
import { collect, expectAsrestoreError, expectDisjointChunks, makeTempDir, openFdCount, sampleAsbText } from './helpers.js';

const KEY128 = randomBytes(16);
const KEY256 = randomBytes(32);

const MATRIX: Array<[string, BackupOutputOptions]> = [
  ['plain', {}],
  ['zstd', { compress: 'zstd' }],
  ['zstd multi-frame', { compress: 'zstd', frameInputBytes: 700_000 }],
  ['aes128', { encryption: { algorithm: 'aes128', key: KEY128 } }],
  ['aes256', { encryption: { algorithm: 'aes256', key: KEY256 } }],
  ['aes128 + zstd', { compress: 'zstd', encryption: { algorithm: 'aes128', key: KEY128 } }],
  ['aes256 + zstd multi-frame', { compress: 'zstd', frameInputBytes: 500_000, encryption: { algorithm: 'aes256', key: KEY256 } }],
];

describe('io/backup-input', () => {
  // Several read chunks of text, and more than one read chunk even when compressed.
  const text = sampleAsbText(3 * 1024 * 1024 + 12_345, 5);
  let temp: ReturnType<typeof makeTempDir>;

  before(() => {
    temp = makeTempDir();
  });
  after(() => temp.cleanup());

  for (const [label, options] of MATRIX) {
    it(`${label}: file round trip, fresh chunks, raw byte count`, async () => {
      const path = join(temp.dir, `${label.replace(/\W+/g, '-')}.asb`);
      const writer = await createBackupWriter(path, options);
      for (let offset = 0; offset < text.length; offset += 300_000) await writer.write(text.subarray(offset, offset + 300_000));
      const size = await writer.close();
      expect(statSync(path).size).to.equal(size);
      // The incremental writer and the one-shot encoder agree byte for byte (same frames, same keystream).
      expect(readFileSync(path).equals(encodeLikeFile(path, text, options))).to.equal(true);

      let reported = 0;
      const input = openBackupFile(path, { compress: options.compress, encryption: options.encryption, onRawBytes: (n) => (reported += n) });
      expect(input.name).to.equal(path);
      expect(input.rawBytesRead()).to.equal(0);
      const chunks = await collect(input.chunks);
      expectDisjointChunks(chunks);
      expect(Buffer.concat(chunks).equals(text)).to.equal(true);
      expect(input.rawBytesRead()).to.equal(size);
      expect(reported).to.equal(size);
      await input.close();
    });
  }

  it('transientChunks: a plain file is read into one reused buffer, in order, each chunk intact until the next is asked for', async () => {
    const path = join(temp.dir, 'transient.asb');
    writeFileSync(path, text);
    let reported = 0;
    const input = openBackupFile(path, { transientChunks: true, onRawBytes: (n) => (reported += n) });
    const copies: Buffer[] = [];
    const backing = new Set<ArrayBufferLike>();
    for await (const chunk of input.chunks) {
      const copy = Buffer.from(chunk);
      // No read may land in the buffer while the chunk is being used.
      await new Promise((resolve) => setTimeout(resolve, 2));
      expect(chunk.equals(copy)).to.equal(true);
      copies.push(copy);
      backing.add(chunk.buffer);
    }
    expect(Buffer.concat(copies).equals(text)).to.equal(true);
    expect(copies.length).to.equal(Math.ceil(text.length / REUSED_READ_CHUNK_BYTES));
    expect(backing.size).to.equal(1);
    expect(reported).to.equal(text.length);
  });

  it('transientChunks keeps asynchronous fresh chunks for a pipe (a synchronous read would wait on its writer)', async function () {
    const path = join(temp.dir, 'transient.fifo');
    try {
      execFileSync('mkfifo', [path]);
    } catch {
      this.skip();
    }
    // The writer runs in another process and holds back its second half: a synchronous read on
    // this thread would block the event loop, and the timer below could not fire.
    const source = join(temp.dir, 'fifo-source.asb');
    writeFileSync(source, text.subarray(0, 200_000));
    const writer = spawn(process.execPath, [
      '-e',
      `const fs=require('fs');const fd=fs.openSync(process.argv[1],'w');const t=fs.readFileSync(process.argv[2]);` +
        `fs.writeSync(fd,t.subarray(0,t.length>>1));setTimeout(()=>{fs.writeSync(fd,t.subarray(t.length>>1));fs.closeSync(fd);},300);`,
      path,
      source,
    ]);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    try {
      const chunks = await collect(openBackupFile(path, { transientChunks: true }).chunks);
      expectDisjointChunks(chunks);
      expect(Buffer.concat(chunks).equals(text.subarray(0, 200_000))).to.equal(true);
      expect(ticks, 'the event loop kept running while the pipe was silent').to.be.greaterThan(5);
    } finally {
      clearInterval(ticker);
      writer.kill();
    }
  });

  it('transientChunks is ignored when a decryption or decompression stage reads the file', async () => {
    const path = join(temp.dir, 'transient-zstd.asb');
    const writer = await createBackupWriter(path, { compress: 'zstd' });
    await writer.write(text);
    await writer.close();
    const chunks = await collect(openBackupFile(path, { compress: 'zstd', transientChunks: true }).chunks);
    expectDisjointChunks(chunks);
    expect(Buffer.concat(chunks).equals(text)).to.equal(true);
  });

  it('the writer can end frames explicitly and writes strings as UTF-8', async () => {
    const path = join(temp.dir, 'frames.asb');
    const writer = await createBackupWriter(path, { compress: 'zstd' });
    await writer.write('Version 3.1\n');
    await writer.endFrame();
    await writer.write('# namespace tést\n');
    await writer.close();
    const chunks = await collect(openBackupFile(path, { compress: 'zstd' }).chunks);
    expect(Buffer.concat(chunks).toString('utf8')).to.equal('Version 3.1\n# namespace tést\n');
  });

  it('createBackupOutputStream produces the same bytes as encodeBackupBytes', async () => {
    const iv = randomBytes(16);
    const options: BackupOutputOptions = { compress: 'zstd', encryption: { algorithm: 'aes128', key: KEY128 }, initialCounter: iv };
    const stream = createBackupOutputStream(options);
    const out: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    const done = new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
    const sample = text.subarray(0, 400_000);
    for (let offset = 0; offset < sample.length; offset += 100_000) stream.write(sample.subarray(offset, offset + 100_000));
    stream.end();
    await done;
    expect(Buffer.concat(out).equals(encodeBackupBytes(sample, options))).to.equal(true);
  });

  it('errors name the file: truncated zstd, missing file, compressed file read as plain', async () => {
    const full = encodeBackupBytes(text, { compress: 'zstd' });
    const truncated = join(temp.dir, 'truncated.asb');
    writeFileSync(truncated, full.subarray(0, full.length - 10));
    const error = await expectAsrestoreError(
      collect(openBackupFile(truncated, { compress: 'zstd' }).chunks),
      IoErrorCode.ZSTD_TRUNCATED,
      `${truncated} ends inside a zstd frame after ${full.length - 10} bytes`,
    );
    expect(error.file).to.equal(truncated);

    const missing = join(temp.dir, 'missing.asb');
    await expectAsrestoreError(collect(openBackupFile(missing, {}).chunks), IoErrorCode.INPUT_OPEN_FAILED, missing);

    const compressed = join(temp.dir, 'compressed.asb');
    writeFileSync(compressed, full);
    await expectAsrestoreError(collect(openBackupFile(compressed, {}).chunks), IoErrorCode.INPUT_IS_COMPRESSED, '--compress zstd');
    const encryptedCompressed = join(temp.dir, 'enc-compressed.asb');
    writeFileSync(encryptedCompressed, encodeBackupBytes(text, { compress: 'zstd', encryption: { algorithm: 'aes128', key: KEY128 } }));
    await expectAsrestoreError(
      collect(openBackupFile(encryptedCompressed, { encryption: { algorithm: 'aes128', key: KEY128 } }).chunks),
      IoErrorCode.INPUT_IS_COMPRESSED,
    );
  });

  it('close() releases the file mid-way and before any read', async function () {
    const path = join(temp.dir, 'close.asb');
    writeFileSync(path, encodeBackupBytes(text, { compress: 'zstd', encryption: { algorithm: 'aes256', key: KEY256 } }));
    const before = openFdCount();
    const input = openBackupFile(path, { compress: 'zstd', encryption: { algorithm: 'aes256', key: KEY256 } });
    const iterator = input.chunks[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).to.equal(false);
    expect(first.value.subarray(0, 12).toString()).to.equal('Version 3.1\n');
    if (before !== undefined) expect(openFdCount()).to.equal(before + 1);
    await input.close();
    await input.close();
    if (before !== undefined) expect(openFdCount()).to.equal(before);
    expect((await iterator.next()).done).to.equal(true);

    const untouched = openBackupFile(path, {});
    await untouched.close();
    if (before !== undefined) expect(openFdCount()).to.equal(before);
  });
});

/** What encodeBackupBytes gives for `plain` with the IV0 the file's writer chose (read back from its header). */
function encodeLikeFile(path: string, plain: Buffer, options: BackupOutputOptions): Buffer {
  if (options.encryption === undefined) return encodeBackupBytes(plain, options);
  const { algorithm, key } = options.encryption;
  const decipher = createDecipheriv(algorithm === 'aes128' ? 'aes-128-ecb' : 'aes-256-ecb', key, null);
  decipher.setAutoPadding(false);
  const header = readFileSync(path).subarray(0, 16);
  const iv0 = Buffer.concat([decipher.update(header), decipher.final()]);
  return encodeBackupBytes(plain, { ...options, initialCounter: iv0 });
}
