/**
 * The values of --compress and --encrypt, parsed exactly as C asrestore does (case-sensitive).
 */
import { AsrestoreError } from '../errors.js';
import { IoErrorCode } from './io-error-codes.js';

export type CompressionType = 'zstd';
export type EncryptionAlgorithm = 'aes128' | 'aes256';

export function parseCompressionType(text: string): CompressionType {
  if (text === 'zstd') return text;
  throw new AsrestoreError(IoErrorCode.INVALID_COMPRESSION_TYPE, `Invalid compression type "${text}"`);
}

export function parseEncryptionType(text: string): EncryptionAlgorithm {
  if (text === 'aes128' || text === 'aes256') return text;
  throw new AsrestoreError(IoErrorCode.INVALID_ENCRYPTION_TYPE, `Invalid encryption type "${text}"`);
}

/** AES key size in bytes: the first 16 (aes128) or all 32 (aes256) bytes of the SHA-256 digest. */
export function aesKeyBytes(algorithm: EncryptionAlgorithm): 16 | 32 {
  return algorithm === 'aes128' ? 16 : 32;
}
