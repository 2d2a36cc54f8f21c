import { createCipheriv, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  AesCtrDecryptor,
  AesCtrEncryptor,
  addToCounter128,
  decryptAesCtrChunks,
  newInitialCounter,
} from '../../src/shared/io/aes-ctr.js';
import { encodeBackupBytes } from '../../src/shared/io/backup-writer.js';
import { openBackupStream } from '../../src/shared/io/backup-input.js';
import { IoErrorCode } from '../../src/shared/io/io-error-codes.js';
import { collect, expectAsrestoreError, expectThrowsAsrestoreError, sampleAsbText } from './helpers.js';

const MASK128 = (1n << 128n) - 1n;

function blockToBigInt(block: Buffer): bigint {
  return BigInt(`0x${block.toString('hex')}`);
}

function bigIntToBlock(value: bigint): Buffer {
  return Buffer.from((value & MASK128).toString(16).padStart(32, '0'), 'hex');
}

function ecbEncrypt(key: Buffer, block: Buffer): Buffer {
  const cipher = createCipheriv(key.length === 16 ? 'aes-128-ecb' : 'aes-256-ecb', key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/** The asbackup file for `plain`, computed block by block from the format's definition. */
function referenceEncrypt(key: Buffer, iv0: Buffer, plain: Buffer): Buffer {
  const out = Buffer.alloc(16 + plain.length);
  ecbEncrypt(key, iv0).copy(out, 0);
  const start = blockToBigInt(iv0) + 1n;
  for (let offset = 0, block = 0n; offset < plain.length; offset += 16, block++) {
    const keystream = ecbEncrypt(key, bigIntToBlock(start + block));
    for (let i = 0; i < 16 && offset + i < plain.length; i++) out[16 + offset + i] = plain[offset + i]! ^ keystream[i]!;
  }
  return out;
}

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

describe('io/aes-ctr', () => {
  const text = sampleAsbText(200_000, 3);

  it('adds to a 128-bit big-endian counter with carry', () => {
    const lowAllOnes = Buffer.from('0000000000000000ffffffffffffffff', 'hex');
    expect(addToCounter128(lowAllOnes, 1).toString('hex')).to.equal('00000000000000010000000000000000');
    expect(addToCounter128(Buffer.alloc(16, 0xff), 1).toString('hex')).to.equal('0'.repeat(32));
    expect(addToCounter128(Buffer.from('000000000000000000000000000000fe', 'hex'), 3).toString('hex')).to.equal(
      '00000000000000000000000000000101',
    );
    const random = randomBytes(16);
    expect(addToCounter128(random, 1000).equals(bigIntToBlock(blockToBigInt(random) + 1000n))).to.equal(true);
  });

  it('makes IV0 from the time (4 bytes BE) and 12 random bytes', () => {
    const a = newInitialCounter(1_700_000_000_123);
    const b = newInitialCounter(1_700_000_000_123);
    expect(a.readUInt32BE(0)).to.equal(1_700_000_000);
    expect(a.subarray(4).equals(b.subarray(4))).to.equal(false);
  });

  for (const bytes of [16, 32] as const) {
    const algorithm = bytes === 16 ? 'aes128' : 'aes256';
    for (const [label, iv0hex] of [
      ['random IV0', randomBytes(16).toString('hex')],
      ['IV0 whose +1 carries out of the low 64 bits', '0011223344556677ffffffffffffffff'],
      ['IV0 = ...fe: the counter carries after the first block', '0011223344556677fffffffffffffffe'],
      ['IV0 = all ff: the counter wraps to 0', 'ffffffffffffffffffffffffffffffff'],
    ] as const) {
      it(`${algorithm}: matches the block-by-block reference (${label})`, async () => {
        const key = randomBytes(bytes);
        const iv0 = Buffer.from(iv0hex, 'hex');
        const plain = text.subarray(0, 1000 + bytes); // not a multiple of 16
        const expected = referenceEncrypt(key, iv0, plain);
        const encoded = encodeBackupBytes(plain, { encryption: { algorithm, key }, initialCounter: iv0 });
        expect(encoded.equals(expected)).to.equal(true);
        const decrypted = Buffer.concat(await collect(decryptAesCtrChunks(pieces(encoded, 7), { algorithm, key }, 'x')));
        expect(decrypted.equals(plain)).to.equal(true);
      });
    }
  }

  it('keeps one keystream across pushes of any size (incl. the header split 1 byte at a time)', () => {
    const key = randomBytes(16);
    const encryptor = new AesCtrEncryptor({ algorithm: 'aes128', key });
    const parts = [encryptor.header];
    for (let offset = 0; offset < text.length; offset += 9_999) parts.push(encryptor.push(text.subarray(offset, offset + 9_999)));
    const file = Buffer.concat(parts);
    const decryptor = new AesCtrDecryptor({ algorithm: 'aes128', key }, 'x');
    const out: Buffer[] = [];
    for (let i = 0; i < 16; i++) expect(decryptor.push(file.subarray(i, i + 1))).to.equal(undefined);
    for (let offset = 16; offset < file.length; offset += 4_321) {
      const plain = decryptor.push(file.subarray(offset, offset + 4_321));
      if (plain) out.push(plain);
    }
    decryptor.finish();
    expect(Buffer.concat(out).equals(text)).to.equal(true);
  });

  for (const algorithm of ['aes128', 'aes256'] as const) {
    for (const compress of [undefined, 'zstd'] as const) {
      it(`round-trips ${algorithm}${compress ? ' + zstd (multi-frame)' : ''} through the writer and openBackupStream`, async () => {
        const key = randomBytes(algorithm === 'aes128' ? 16 : 32);
        const file = encodeBackupBytes(text, { encryption: { algorithm, key }, compress, frameInputBytes: 50_000 });
        const input = openBackupStream(pieces(file, 3_000), 'mem.asb', { encryption: { algorithm, key }, compress });
        expect(Buffer.concat(await collect(input.chunks)).equals(text)).to.equal(true);
        expect(input.rawBytesRead()).to.equal(file.length);
      });
    }
  }

  it('a wrong key gives garbage without zstd and a clear zstd error with it', async () => {
    const key = randomBytes(32);
    const wrong = randomBytes(32);
    const plainFile = encodeBackupBytes(text, { encryption: { algorithm: 'aes256', key } });
    const garbage = Buffer.concat(
      await collect(openBackupStream(pieces(plainFile, 65_536), 'p.asb', { encryption: { algorithm: 'aes256', key: wrong } }).chunks),
    );
    expect(garbage.length).to.equal(text.length);
    expect(garbage.subarray(0, 8).toString('latin1')).not.to.equal('Version ');

    const zstdFile = encodeBackupBytes(text, { encryption: { algorithm: 'aes256', key }, compress: 'zstd' });
    const error = await expectAsrestoreError(
      collect(
        openBackupStream(pieces(zstdFile, 65_536), 'z.asb', { encryption: { algorithm: 'aes256', key: wrong }, compress: 'zstd' })
          .chunks,
      ),
      IoErrorCode.ZSTD_DECOMPRESS_FAILED,
      /z\.asb.*byte 16.*encryption key/,
    );
    expect(error.file).to.equal('z.asb');
  });

  it('rejects an encrypted input shorter than the IV header', async () => {
    const key = randomBytes(16);
    for (const length of [0, 5, 15]) {
      await expectAsrestoreError(
        collect(decryptAesCtrChunks(pieces(randomBytes(length), 4), { algorithm: 'aes128', key }, 'short.asb')),
        IoErrorCode.ENCRYPTED_INPUT_TOO_SHORT,
        `only ${length} bytes`,
      );
    }
    // Exactly the header: an empty payload, no error.
    const emptyFile = encodeBackupBytes(Buffer.alloc(0), { encryption: { algorithm: 'aes128', key } });
    expect(emptyFile.length).to.equal(16);
    expect(await collect(decryptAesCtrChunks(pieces(emptyFile, 16), { algorithm: 'aes128', key }, 'e'))).to.deep.equal([]);
  });

  it('rejects a key of the wrong length', () => {
    expectThrowsAsrestoreError(
      () => new AesCtrDecryptor({ algorithm: 'aes256', key: randomBytes(16) }, 'x'),
      IoErrorCode.ENCRYPTION_KEY_LENGTH,
      'must be 32 bytes',
    );
    expectThrowsAsrestoreError(() => new AesCtrEncryptor({ algorithm: 'aes128', key: randomBytes(32) }), IoErrorCode.ENCRYPTION_KEY_LENGTH);
  });
});
