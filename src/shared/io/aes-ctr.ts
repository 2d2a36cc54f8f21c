/**
 * AES-CTR as asbackup (C) writes it, for `--encrypt aes128|aes256`:
 * - bytes 0..15 of the file: AES-ECB-encrypt(key, IV0), outside the CTR stream;
 * - then the payload (plain .asb text, or the zstd stream when compressed too) in AES-CTR whose
 *   128-bit big-endian counter starts at IV0 + 1 and runs on without a break to the end of the file,
 *   across zstd frame boundaries.
 * There is no MAC: a wrong key decrypts to garbage that the next layer rejects.
 */
import type { Cipher, Decipher } from 'node:crypto';
import { AsrestoreError } from '../errors.js';
import { lazyModule } from '../lazy-module.js';
import { aesKeyBytes, type EncryptionAlgorithm } from './codec-options.js';
import { INPUT_OPTIONS_HINT, IoErrorCode } from './io-error-codes.js';

// node:crypto is loaded on first use: a thread that meets no encrypted data does not load it.
const crypto = lazyModule<typeof import('node:crypto')>('node:crypto');

export const AES_BLOCK_BYTES = 16;
/** Length of the encrypted IV at the start of every encrypted file. */
export const AES_IV_HEADER_BYTES = AES_BLOCK_BYTES;

export interface AesCtrKey {
  algorithm: EncryptionAlgorithm;
  /** 16 bytes for aes128, 32 for aes256 (see encryption-key.ts). */
  key: Buffer;
}

function checkKey({ algorithm, key }: AesCtrKey): void {
  if (key.length !== aesKeyBytes(algorithm)) {
    throw new AsrestoreError(
      IoErrorCode.ENCRYPTION_KEY_LENGTH,
      `An ${algorithm} key must be ${aesKeyBytes(algorithm)} bytes, got ${key.length}`,
    );
  }
}

function ecbCipherName(algorithm: EncryptionAlgorithm): string {
  return algorithm === 'aes128' ? 'aes-128-ecb' : 'aes-256-ecb';
}

function ctrCipherName(algorithm: EncryptionAlgorithm): string {
  return algorithm === 'aes128' ? 'aes-128-ctr' : 'aes-256-ctr';
}

/** A 16-byte big-endian counter plus `n`, with carry across all 128 bits (wrapping at 2^128). */
export function addToCounter128(counter: Uint8Array, n: number): Buffer {
  if (counter.length !== AES_BLOCK_BYTES) throw new RangeError('a counter block is 16 bytes');
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('n must be a non-negative safe integer');
  const out = Buffer.from(counter);
  let carry = n;
  for (let i = AES_BLOCK_BYTES - 1; i >= 0 && carry > 0; i--) {
    const sum = out[i]! + (carry % 256);
    out[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
  return out;
}

/** A new IV0 as C asbackup makes it: 4-byte big-endian Unix time, then 12 random bytes. */
export function newInitialCounter(nowMs: number = Date.now()): Buffer {
  const iv = crypto().randomBytes(AES_BLOCK_BYTES);
  iv.writeUInt32BE(Math.floor(nowMs / 1000) >>> 0, 0);
  return iv;
}

function ecb(algorithm: EncryptionAlgorithm, key: Buffer, block: Buffer, encrypt: boolean): Buffer {
  const cipher = encrypt
    ? crypto().createCipheriv(ecbCipherName(algorithm), key, null)
    : crypto().createDecipheriv(ecbCipherName(algorithm), key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/**
 * Incremental decryptor. Each push returns the plaintext of that chunk (a fresh Buffer), or
 * undefined while the IV header is still incomplete.
 */
export class AesCtrDecryptor {
  private readonly header = Buffer.alloc(AES_IV_HEADER_BYTES);
  private headerFilled = 0;
  private decipher: Decipher | undefined;

  constructor(
    private readonly key: AesCtrKey,
    private readonly name: string,
  ) {
    checkKey(key);
  }

  push(chunk: Uint8Array): Buffer | undefined {
    let rest = chunk;
    if (this.decipher === undefined) {
      const take = Math.min(rest.length, AES_IV_HEADER_BYTES - this.headerFilled);
      this.header.set(rest.subarray(0, take), this.headerFilled);
      this.headerFilled += take;
      rest = rest.subarray(take);
      if (this.headerFilled < AES_IV_HEADER_BYTES) return undefined;
      const iv0 = ecb(this.key.algorithm, this.key.key, this.header, false);
      this.decipher = crypto().createDecipheriv(ctrCipherName(this.key.algorithm), this.key.key, addToCounter128(iv0, 1));
      if (rest.length === 0) return undefined;
    }
    return this.decipher.update(rest);
  }

  /** Ends the input; throws when it was shorter than the IV header. */
  finish(): void {
    if (this.decipher === undefined) {
      throw new AsrestoreError(
        IoErrorCode.ENCRYPTED_INPUT_TOO_SHORT,
        `Error when reading IV from backup file ${this.name}: only ${this.headerFilled} bytes were found, but expected ${AES_IV_HEADER_BYTES}; ${INPUT_OPTIONS_HINT}`,
        { file: this.name },
      );
    }
  }
}

/** Decrypts a chunk stream; output chunks have the input chunks' sizes (minus the header). */
export async function* decryptAesCtrChunks(
  source: AsyncIterable<Uint8Array>,
  key: AesCtrKey,
  name: string,
): AsyncGenerator<Buffer, void, undefined> {
  const decryptor = new AesCtrDecryptor(key, name);
  for await (const chunk of source) {
    const plain = decryptor.push(chunk);
    if (plain !== undefined && plain.length > 0) yield plain;
  }
  decryptor.finish();
}

/** Incremental encryptor (writer side). */
export class AesCtrEncryptor {
  private readonly cipher: Cipher;
  /** The 16 bytes that must open the file: ECB(key, IV0). */
  readonly header: Buffer;

  /** `initialCounter` (IV0) defaults to a new time+random one; tests pass their own. */
  constructor(key: AesCtrKey, initialCounter: Buffer = newInitialCounter()) {
    checkKey(key);
    if (initialCounter.length !== AES_BLOCK_BYTES) throw new RangeError('IV0 is 16 bytes');
    this.header = ecb(key.algorithm, key.key, initialCounter, true);
    this.cipher = crypto().createCipheriv(ctrCipherName(key.algorithm), key.key, addToCounter128(initialCounter, 1));
  }

  push(chunk: Uint8Array): Buffer {
    return this.cipher.update(chunk);
  }
}
