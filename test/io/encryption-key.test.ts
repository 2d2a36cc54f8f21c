import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseCompressionType, parseEncryptionType } from '../../src/shared/io/codec-options.js';
import {
  deriveAesKey,
  encryptionKeyFromEnv,
  encryptionKeyFromPem,
  readEncryptionKeyFile,
} from '../../src/shared/io/encryption-key.js';
import { IoErrorCode } from '../../src/shared/io/io-error-codes.js';
import { expectThrowsAsrestoreError, makeTempDir } from './helpers.js';

// Throwaway test keys. The expected hashes are SHA-256 of OpenSSL 3.0's i2d_PrivateKey output for
// each key (computed with a small C program calling PEM_read_PrivateKey + i2d_PrivateKey, as
// asbackup does): SEC1 DER for EC, PKCS#8 DER for Ed25519.
const EC_P256_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgiLsFXagisoyHF+Ei
VYxb9gLc4/0LsyjjvunHTdlH6kyhRANCAATVjvb8OeoiRfJd22wzRCK6FVKaP7G4
hvFp3MFTA9CKpG5p/f8fGucXDJl0lcnRIZPBcYNg1ZGY/99U2pN4B3M1
-----END PRIVATE KEY-----
`;
const EC_P256_I2D_SHA256 = '721edec6143ff9ac564abf36fde13f5338e3d2d2d63f53cde1df179e123a6b57';
const ED25519_PEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIM+Ud38jpboUppf5c1qwaerzyhZb5kgur5DYn+EOUhPw
-----END PRIVATE KEY-----
`;
const ED25519_I2D_SHA256 = '6302ee19b6fbf50fd312f2b32b5c2e0af63331d13360a587e670d8dd56850449';

describe('io/encryption-key', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pkcs1Pem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const pkcs8Pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const pkcs1Der = privateKey.export({ type: 'pkcs1', format: 'der' });
  const expected256 = createHash('sha256').update(pkcs1Der).digest();
  let temp: ReturnType<typeof makeTempDir>;

  before(() => {
    temp = makeTempDir();
  });
  after(() => temp.cleanup());

  it('derives SHA-256 of the PKCS#1 DER, truncated per algorithm', () => {
    expect(deriveAesKey(pkcs1Der, 'aes256').equals(expected256)).to.equal(true);
    expect(deriveAesKey(pkcs1Der, 'aes128').equals(expected256.subarray(0, 16))).to.equal(true);
  });

  it('gives the same key for PKCS#1 and PKCS#8 PEM files', () => {
    const file1 = join(temp.dir, 'pkcs1.pem');
    const file8 = join(temp.dir, 'pkcs8.pem');
    writeFileSync(file1, pkcs1Pem);
    writeFileSync(file8, pkcs8Pem);
    expect(pkcs1Pem).to.include('BEGIN RSA PRIVATE KEY');
    expect(pkcs8Pem).to.include('BEGIN PRIVATE KEY');
    for (const algorithm of ['aes128', 'aes256'] as const) {
      const fromPkcs1 = readEncryptionKeyFile(file1, algorithm);
      const fromPkcs8 = readEncryptionKeyFile(file8, algorithm);
      expect(fromPkcs1.equals(fromPkcs8)).to.equal(true);
      expect(fromPkcs1.equals(expected256.subarray(0, algorithm === 'aes128' ? 16 : 32))).to.equal(true);
    }
  });

  it('matches OpenSSL i2d_PrivateKey for EC (SEC1) and Ed25519 (PKCS#8) keys', () => {
    expect(encryptionKeyFromPem(EC_P256_PEM, 'aes256', 'ec').toString('hex')).to.equal(EC_P256_I2D_SHA256);
    expect(encryptionKeyFromPem(ED25519_PEM, 'aes256', 'ed').toString('hex')).to.equal(ED25519_I2D_SHA256);
  });

  it('refuses DSA keys clearly', () => {
    const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expectThrowsAsrestoreError(() => encryptionKeyFromPem(dsa, 'aes128', 'dsa.pem'), IoErrorCode.ENCRYPTION_KEY_FILE, 'DSA');
  });

  it('reads the key from an env var holding base64 of the DER (C semantics)', () => {
    const env = { ASB_KEY: pkcs1Der.toString('base64') };
    expect(encryptionKeyFromEnv('ASB_KEY', 'aes256', env).equals(expected256)).to.equal(true);
    expect(encryptionKeyFromEnv('ASB_KEY', 'aes128', env).equals(expected256.subarray(0, 16))).to.equal(true);
  });

  it('hashes base64 of a PEM file as raw bytes, like C (a different key, no error)', () => {
    const env = { ASB_KEY: Buffer.from(pkcs1Pem).toString('base64') };
    const key = encryptionKeyFromEnv('ASB_KEY', 'aes256', env);
    expect(key.equals(createHash('sha256').update(pkcs1Pem).digest())).to.equal(true);
    expect(key.equals(expected256)).to.equal(false);
  });

  it('rejects a missing, empty or non-base64 env var without echoing its value', () => {
    expectThrowsAsrestoreError(
      () => encryptionKeyFromEnv('NOPE', 'aes128', {}),
      IoErrorCode.ENCRYPTION_KEY_ENV,
      'No environment variable "NOPE" found',
    );
    expectThrowsAsrestoreError(() => encryptionKeyFromEnv('K', 'aes128', { K: '' }), IoErrorCode.ENCRYPTION_KEY_ENV, 'empty');
    const good = pkcs1Der.toString('base64');
    const bad = [
      good.slice(0, -1), // length not a multiple of 4
      `${good.slice(0, 8)}=${good.slice(9)}`, // padding inside
      `${good.slice(0, 40)}\n${good.slice(40, -1)}`, // line break
      ` ${good.slice(1)}`, // leading space
      good.replace(/[+/]/, '-'), // url-safe alphabet
      'AB=C',
    ];
    for (const value of bad) {
      const error = expectThrowsAsrestoreError(
        () => encryptionKeyFromEnv('K', 'aes128', { K: value }),
        IoErrorCode.ENCRYPTION_KEY_ENV,
        'Unable to decode environment variable "K" as base64',
      );
      if (value.length > 40) expect(error.message).not.to.include(value.slice(8, 40));
    }
    const pemError = expectThrowsAsrestoreError(
      () => encryptionKeyFromEnv('K', 'aes128', { K: pkcs1Pem }),
      IoErrorCode.ENCRYPTION_KEY_ENV,
      'PEM',
    );
    expect(pemError.message).not.to.include(pkcs1Pem.split('\n')[1]!.slice(0, 20));
  });

  it('reports unreadable, invalid and passphrase-protected key files without key material', () => {
    expectThrowsAsrestoreError(
      () => readEncryptionKeyFile(join(temp.dir, 'missing.pem'), 'aes128'),
      IoErrorCode.ENCRYPTION_KEY_FILE,
      'Could not open private key file',
    );
    const garbage = join(temp.dir, 'garbage.pem');
    writeFileSync(garbage, 'this is not a key\n');
    expectThrowsAsrestoreError(() => readEncryptionKeyFile(garbage, 'aes128'), IoErrorCode.ENCRYPTION_KEY_FILE, 'PEM format');
    const publicOnly = join(temp.dir, 'public.pem');
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    writeFileSync(publicOnly, publicKey.export({ type: 'spki', format: 'pem' }));
    expectThrowsAsrestoreError(() => readEncryptionKeyFile(publicOnly, 'aes128'), IoErrorCode.ENCRYPTION_KEY_FILE);
    const encrypted = join(temp.dir, 'encrypted.pem');
    writeFileSync(
      encrypted,
      privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'secret' }),
    );
    const error = expectThrowsAsrestoreError(
      () => readEncryptionKeyFile(encrypted, 'aes128'),
      IoErrorCode.ENCRYPTION_KEY_FILE,
      'passphrase-protected',
    );
    expect(error.message).to.include(encrypted);
    expect(error.message).not.to.match(/MII/);
  });

  it('parses --compress and --encrypt values exactly as C', () => {
    expect(parseCompressionType('zstd')).to.equal('zstd');
    expect(parseEncryptionType('aes128')).to.equal('aes128');
    expect(parseEncryptionType('aes256')).to.equal('aes256');
    expectThrowsAsrestoreError(() => parseCompressionType('ZSTD'), IoErrorCode.INVALID_COMPRESSION_TYPE, 'Invalid compression type "ZSTD"');
    expectThrowsAsrestoreError(() => parseEncryptionType('AES128'), IoErrorCode.INVALID_ENCRYPTION_TYPE, 'Invalid encryption type "AES128"');
  });
});
