import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { openBackupStream } from '../../src/shared/io/backup-input.js';
import { encodeBackupBytes } from '../../src/shared/io/backup-writer.js';
import { MAX_STDIN_SIZE_HINT, isS3Path, parseInputFileArgument } from '../../src/shared/io/input-argument.js';
import { IoErrorCode } from '../../src/shared/io/io-error-codes.js';
import { STDIN_NAME } from '../../src/shared/io/stdin.js';
import { collect, expectDisjointChunks, expectThrowsAsrestoreError, sampleAsbText } from './helpers.js';

describe('io/stdin and stream inputs', () => {
  const text = sampleAsbText(2 * 1024 * 1024 + 777, 9);

  it('parses -i values: "-", "-:<bytes>", paths', () => {
    expect(parseInputFileArgument('-')).to.deep.equal({ kind: 'stdin' });
    expect(parseInputFileArgument('-:0')).to.deep.equal({ kind: 'stdin', sizeHint: 0 });
    expect(parseInputFileArgument('-:123456')).to.deep.equal({ kind: 'stdin', sizeHint: 123456 });
    expect(parseInputFileArgument('-: +42')).to.deep.equal({ kind: 'stdin', sizeHint: 42 }); // strtol leniency
    expect(parseInputFileArgument(`-:${MAX_STDIN_SIZE_HINT}`)).to.deep.equal({ kind: 'stdin', sizeHint: MAX_STDIN_SIZE_HINT });
    expect(parseInputFileArgument('backup.asb')).to.deep.equal({ kind: 'file', path: 'backup.asb' });
    expect(parseInputFileArgument('-x.asb')).to.deep.equal({ kind: 'file', path: '-x.asb' });
    for (const bad of ['-:', '-:-1', '-:12ab', '-:1.5', `-:${MAX_STDIN_SIZE_HINT + 1}`, '-:99999999999999999999']) {
      expectThrowsAsrestoreError(() => parseInputFileArgument(bad), IoErrorCode.INVALID_STDIN_SIZE, `Invalid stdin input size ${bad.slice(2)}`);
    }
  });

  it('recognises s3:// paths in any case', () => {
    expect(isS3Path('s3://bucket/dir')).to.equal(true);
    expect(isS3Path('S3://bucket/dir')).to.equal(true);
    expect(isS3Path('./s3://x')).to.equal(false);
  });

  it('coalesces small PassThrough chunks into fresh 1 MiB chunks', async () => {
    const source = new PassThrough();
    const input = openBackupStream(source, STDIN_NAME, {});
    const writing = (async () => {
      for (let offset = 0; offset < text.length; offset += 65_536) {
        if (!source.write(text.subarray(offset, offset + 65_536))) await new Promise((resolve) => source.once('drain', resolve));
      }
      source.end();
    })();
    const chunks = await collect(input.chunks);
    await writing;
    expect(chunks.map((c) => c.length)).to.deep.equal([1048576, 1048576, 777]);
    expectDisjointChunks(chunks);
    expect(Buffer.concat(chunks).equals(text)).to.equal(true);
    expect(input.rawBytesRead()).to.equal(text.length);
  });

  it('is safe against a producer that reuses its buffer (plain and zstd)', async () => {
    async function* reusingProducer(data: Buffer): AsyncGenerator<Buffer> {
      const scratch = Buffer.alloc(10_000);
      for (let offset = 0; offset < data.length; offset += scratch.length) {
        const n = data.copy(scratch, 0, offset, offset + scratch.length);
        yield scratch.subarray(0, n);
        scratch.fill(0x21); // overwritten as soon as the consumer asks for more
      }
    }
    const plain = await collect(openBackupStream(reusingProducer(text), 'reuse', {}).chunks);
    expect(Buffer.concat(plain).equals(text)).to.equal(true);
    const compressed = encodeBackupBytes(text, { compress: 'zstd' });
    const decompressed = await collect(openBackupStream(reusingProducer(compressed), 'reuse', { compress: 'zstd' }).chunks);
    expect(Buffer.concat(decompressed).equals(text)).to.equal(true);
  });

  it('refuses a stream with an encoding set', async () => {
    const source = new PassThrough();
    source.setEncoding('utf8');
    source.end('Version 3.1\n');
    let caught: unknown;
    try {
      await collect(openBackupStream(source, STDIN_NAME, {}).chunks);
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).to.include('must not have an encoding set');
  });

  it('reads real stdin of a child process (aes256 + zstd), counting raw bytes', async function () {
    this.timeout(20_000);
    const key = randomBytes(32);
    const file = encodeBackupBytes(text, { compress: 'zstd', encryption: { algorithm: 'aes256', key }, frameInputBytes: 600_000 });
    const moduleUrl = new URL('../../src/shared/io/backup-input.js', import.meta.url).href;
    const script = `
      const { openBackupStream } = await import(${JSON.stringify(moduleUrl)});
      const { createHash } = await import('node:crypto');
      const key = Buffer.from(process.env.TEST_KEY_HEX, 'hex');
      const input = openBackupStream(process.stdin, '[stdin]', { compress: 'zstd', encryption: { algorithm: 'aes256', key } });
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of input.chunks) { hash.update(chunk); bytes += chunk.length; }
      process.stdout.write(JSON.stringify({ sha256: hash.digest('hex'), bytes, raw: input.rawBytesRead() }));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TEST_KEY_HEX: key.toString('hex') },
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Written in uneven pieces so the IV header and frame boundaries fall inside pipe reads.
    for (let offset = 0; offset < file.length; offset += 70_001) child.stdin.write(file.subarray(offset, offset + 70_001));
    child.stdin.end();
    const code = await exited;
    expect(code, stderr).to.equal(0);
    const result = JSON.parse(stdout) as { sha256: string; bytes: number; raw: number };
    expect(result).to.deep.equal({
      sha256: createHash('sha256').update(text).digest('hex'),
      bytes: text.length,
      raw: file.length,
    });
  });
});
