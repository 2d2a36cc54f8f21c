/**
 * Small text conventions of the .asb format shared by the decoder (error messages) and the encoder:
 * C `print_char`, C `printf("%.17g")` for doubles, and token escaping.
 */
import { Buffer } from 'node:buffer';

const LF = 0x0a;
const SPACE = 0x20;
const BACKSLASH = 0x5c;

/** C asrestore's `print_char`: a printable byte as `"x"`, anything else as `\xNN`. */
export function printChar(byte: number): string {
  if (byte >= 32 && byte <= 126) return `"${String.fromCharCode(byte)}"`;
  return `\\x${(byte & 255).toString(16).padStart(2, '0')}`;
}

const float64 = new Float64Array(1);
const float64Bits = new BigUint64Array(float64.buffer);

function signBitSet(x: number): boolean {
  float64[0] = x;
  return (float64Bits[0] >> 63n) === 1n;
}

/**
 * Formats a double exactly as glibc's `printf("%.17g")` does (what asbackup writes for `D` values):
 * the exact binary value rounded half-to-even to 17 significant digits, trailing zeros removed,
 * exponent form below 1e-4 and from 1e17 on, and `nan`, `-nan`, `inf`, `-inf`, `-0`.
 */
export function formatDouble17g(x: number): string {
  if (Number.isNaN(x)) return signBitSet(x) ? '-nan' : 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return signBitSet(x) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  float64[0] = Math.abs(x);
  const bits = float64Bits[0];
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exponent2: number;
  if (biasedExponent === 0) {
    exponent2 = -1074;
  } else {
    mantissa |= 1n << 52n;
    exponent2 = biasedExponent - 1075;
  }
  // value = digits x 10^scale, exactly
  let digits: string;
  let scale: number;
  if (exponent2 >= 0) {
    digits = (mantissa << BigInt(exponent2)).toString();
    scale = 0;
  } else {
    digits = (mantissa * 5n ** BigInt(-exponent2)).toString();
    scale = exponent2;
  }
  let decimalExponent = digits.length - 1 + scale;
  let kept: string;
  if (digits.length <= 17) {
    kept = digits.padEnd(17, '0');
  } else {
    kept = digits.slice(0, 17);
    const rest = digits.slice(17);
    const first = rest.charCodeAt(0) - 48;
    const restNonZeroAfterFirst = /[1-9]/.test(rest.slice(1));
    const lastKeptOdd = (kept.charCodeAt(16) - 48) % 2 === 1;
    const roundUp = first > 5 || (first === 5 && (restNonZeroAfterFirst || lastKeptOdd));
    if (roundUp) {
      kept = (BigInt(kept) + 1n).toString();
      if (kept.length > 17) {
        kept = kept.slice(0, 17);
        decimalExponent += 1;
      }
    }
  }
  if (decimalExponent < -4 || decimalExponent >= 17) {
    const fraction = kept.slice(1).replace(/0+$/, '');
    const absExponent = Math.abs(decimalExponent);
    return `${sign}${kept[0]}${fraction ? '.' + fraction : ''}e${decimalExponent < 0 ? '-' : '+'}${absExponent < 10 ? '0' : ''}${absExponent}`;
  }
  let integerPart: string;
  let fractionPart: string;
  if (decimalExponent >= 0) {
    integerPart = kept.slice(0, decimalExponent + 1);
    fractionPart = kept.slice(decimalExponent + 1);
  } else {
    integerPart = '0';
    fractionPart = '0'.repeat(-decimalExponent - 1) + kept;
  }
  fractionPart = fractionPart.replace(/0+$/, '');
  return `${sign}${integerPart}${fractionPart ? '.' + fractionPart : ''}`;
}

/** Whether a token needs escaping (holds a backslash, space or LF). */
export function tokenNeedsEscape(token: Uint8Array): boolean {
  for (let i = 0; i < token.length; i++) {
    const c = token[i];
    if (c === BACKSLASH || c === SPACE || c === LF) return true;
  }
  return false;
}

/** C `escape()`: a backslash before every backslash, space and LF of a token (bytes in, bytes out). */
export function escapeToken(token: Uint8Array): Buffer {
  if (!tokenNeedsEscape(token)) return Buffer.from(token.buffer, token.byteOffset, token.length);
  const out: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const c = token[i];
    if (c === BACKSLASH || c === SPACE || c === LF) out.push(BACKSLASH);
    out.push(c);
  }
  return Buffer.from(out);
}

/** Inverse of {@link escapeToken} (C `unescape_space`): a backslash makes the next byte literal. */
export function unescapeToken(escaped: Uint8Array): Buffer {
  const out: number[] = [];
  let escapeNext = false;
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i];
    if (c === BACKSLASH && !escapeNext) {
      escapeNext = true;
      continue;
    }
    escapeNext = false;
    out.push(c);
  }
  return Buffer.from(out);
}
