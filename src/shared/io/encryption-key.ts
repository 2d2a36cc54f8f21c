/**
 * The AES key of an encrypted backup, derived as asbackup/asrestore (C) derive it:
 * AES key = SHA-256(key material), truncated to 16 bytes for aes128, all 32 for aes256, where
 * - --encryption-key-file PEM: the key material is OpenSSL's i2d_PrivateKey encoding of the private
 *   key, whatever the PEM wrapper (PKCS#1 or PKCS#8). For RSA that is the PKCS#1 RSAPrivateKey DER.
 * - --encryption-key-env VAR: the variable holds base64 of the key material itself; it is decoded
 *   and hashed as is, never parsed as PEM (C semantics; Go also accepts PEM text there).
 * Error messages never contain key bytes.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AsrestoreError } from '../errors.js';
import { lazyModule } from '../lazy-module.js';
import { aesKeyBytes, type EncryptionAlgorithm } from './codec-options.js';
import { IoErrorCode } from './io-error-codes.js';

// node:crypto is loaded on first use: a run without an encryption key does not load it.
const crypto = lazyModule<typeof import('node:crypto')>('node:crypto');

/** AES key from the bytes asbackup hashes. */
export function deriveAesKey(keyMaterial: Uint8Array, algorithm: EncryptionAlgorithm): Buffer {
  const digest = crypto().createHash('sha256').update(keyMaterial).digest();
  const key = Buffer.from(digest.subarray(0, aesKeyBytes(algorithm)));
  digest.fill(0);
  return key;
}

/**
 * The bytes OpenSSL's i2d_PrivateKey produces for a private key (checked against OpenSSL 3.0):
 * the type-specific "traditional" form where one exists (PKCS#1 for RSA, SEC1 for EC), PKCS#8
 * otherwise (RSA-PSS, Ed25519, X25519, ...). DSA's traditional form cannot be produced by Node, so DSA keys are refused.
 */
export function privateKeyMaterial(key: KeyObject, source: string): Buffer {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return key.export({ type: 'pkcs1', format: 'der' });
    case 'ec':
      return key.export({ type: 'sec1', format: 'der' });
    case 'dsa':
      throw new AsrestoreError(
        IoErrorCode.ENCRYPTION_KEY_FILE,
        `The ${key.asymmetricKeyType.toUpperCase()} private key in ${source} is not supported: use an RSA key (as asbackup documents)`,
      );
    default:
      return key.export({ type: 'pkcs8', format: 'der' });
  }
}

/** AES key from PEM text (a key file's content or a secret-agent value holding PEM). */
export function encryptionKeyFromPem(pem: string | Buffer, algorithm: EncryptionAlgorithm, source: string): Buffer {
  let key: KeyObject;
  try {
    key = crypto().createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const text = typeof pem === 'string' ? pem : pem.toString('latin1');
    const passphraseProtected =
      code === 'ERR_MISSING_PASSPHRASE' ||
      text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') ||
      text.includes('Proc-Type: 4,ENCRYPTED');
    const reason = passphraseProtected
      ? 'the key is passphrase-protected, which asrestore does not support'
      : 'make sure the key is in PEM format';
    throw new AsrestoreError(
      IoErrorCode.ENCRYPTION_KEY_FILE,
      `Unable to parse private key from ${source}: ${reason}`,
      { file: source },
      { cause: error },
    );
  }
  const material = privateKeyMaterial(key, source);
  try {
    return deriveAesKey(material, algorithm);
  } finally {
    material.fill(0);
  }
}

/** --encryption-key-file PATH. */
export function readEncryptionKeyFile(path: string, algorithm: EncryptionAlgorithm): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new AsrestoreError(
      IoErrorCode.ENCRYPTION_KEY_FILE,
      `Could not open private key file "${path}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { file: path },
      { cause: error },
    );
  }
  try {
    return encryptionKeyFromPem(pem, algorithm, `"${path}"`);
  } finally {
    pem.fill(0);
  }
}

/** Strict base64 as the C tools validate it: non-empty, length a multiple of 4, padding only at the end. */
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;

/** --encryption-key-env NAME: the variable holds base64 of the key material (C semantics). */
export function encryptionKeyFromEnv(
  variableName: string,
  algorithm: EncryptionAlgorithm,
  env: NodeJS.ProcessEnv = process.env,
): Buffer {
  const value = env[variableName];
  if (value === undefined) {
    throw new AsrestoreError(IoErrorCode.ENCRYPTION_KEY_ENV, `No environment variable "${variableName}" found`);
  }
  if (value.length === 0) {
    throw new AsrestoreError(IoErrorCode.ENCRYPTION_KEY_ENV, `Environment variable "${variableName}" is empty`);
  }
  if (!STRICT_BASE64.test(value)) {
    const looksLikePem = value.startsWith('-----BEGIN');
    throw new AsrestoreError(
      IoErrorCode.ENCRYPTION_KEY_ENV,
      `Unable to decode environment variable "${variableName}" as base64` +
        (looksLikePem
          ? ': it holds PEM text; it must hold base64 of the DER key (the body of an "RSA PRIVATE KEY" PEM)'
          : ' (it must be one line of standard base64 with "=" padding)'),
    );
  }
  const material = Buffer.from(value, 'base64');
  try {
    return deriveAesKey(material, algorithm);
  } finally {
    material.fill(0);
  }
}
