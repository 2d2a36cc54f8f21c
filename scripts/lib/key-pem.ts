/**
 * RSA private keys for encrypted test backups. asbackup/asrestore derive the AES key from any PEM
 * private key (see src/shared/io/encryption-key.ts); RSA-2048 is what their docs and tests use.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** `pkcs8` = "BEGIN PRIVATE KEY" (openssl genrsa of OpenSSL 3), `pkcs1` = "BEGIN RSA PRIVATE KEY" (-traditional). */
export type KeyPemFormat = 'pkcs8' | 'pkcs1';

export function generateRsaKeyPem(format: KeyPemFormat = 'pkcs8', modulusLength = 2048): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength });
  return privateKey.export({ type: format, format: 'pem' }) as string;
}

/** Writes a new key to `path` unless a file is already there; returns whether it wrote one. */
export function ensureKeyFile(path: string, format: KeyPemFormat = 'pkcs8'): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, generateRsaKeyPem(format), { mode: 0o600, flag: 'wx' });
  return true;
}
