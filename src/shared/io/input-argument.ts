/**
 * What an input path names: `-i -` / `-i -:<bytes>` (stdin, with an optional size for progress),
 * an S3 URL, or a local path.
 */
import { AsrestoreError } from '../errors.js';
import { IoErrorCode } from './io-error-codes.js';

export type InputFileArgument = { kind: 'stdin'; sizeHint?: number } | { kind: 'file'; path: string };

/** C caps the stdin size hint at 1024^5 bytes. */
export const MAX_STDIN_SIZE_HINT = 1024 ** 5;

/** C parses the size with strtol: optional leading whitespace and sign, then decimal digits only. */
const STRTOL_DECIMAL = /^[\t\n\v\f\r ]*[+-]?[0-9]+$/;

/** Parses the value of `-i/--input-file`. */
export function parseInputFileArgument(argument: string): InputFileArgument {
  if (argument === '-') return { kind: 'stdin' };
  if (!argument.startsWith('-:')) return { kind: 'file', path: argument };
  const text = argument.slice(2);
  const value = STRTOL_DECIMAL.test(text) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_STDIN_SIZE_HINT) {
    throw new AsrestoreError(IoErrorCode.INVALID_STDIN_SIZE, `Invalid stdin input size ${text}`);
  }
  return { kind: 'stdin', sizeHint: value };
}

/** How the C tools tell S3 paths apart: an "s3://" prefix in any case. */
export function isS3Path(path: string): boolean {
  return path.slice(0, 5).toLowerCase() === 's3://';
}
