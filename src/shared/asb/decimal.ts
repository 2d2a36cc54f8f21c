/**
 * Exact decimal -> double conversion for the decimal forms `%.17g` writes (16 to 19 significant
 * digits, up to 22 fraction digits), without building a string for Number().
 *
 * The decimal M / 10^k is formed exactly as a double-double (M < 10^19 < 2^64), divided by the
 * exact double 10^k in double-double arithmetic (error below 2^-100 relative), and rounded. When
 * the result lies so close to a rounding boundary that the error could matter, the function
 * returns NaN and the caller falls back to the full string conversion, so every answer it gives
 * is the correctly rounded double.
 */

const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp splitting)
const TWO_26 = 67108864;

/** 10^k, exact as doubles for k <= 22. */
export const EXACT_POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const POW10_HIGH = EXACT_POW10.map((d) => {
  const c = SPLITTER * d;
  return c - (c - d);
});
const POW10_LOW = EXACT_POW10.map((d, k) => d - POW10_HIGH[k]);
const POW5 = [1, 5, 25, 125, 625];
const POW2_SMALL = [1, 2, 4, 8, 16];

const float64 = new Float64Array(1);
const words = new Uint32Array(float64.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // index of the high word

/** 2^e for e in [-1100, 1100], exact. */
const POW2 = (() => {
  const table = new Float64Array(2201);
  table[1100] = 1;
  for (let e = 1; e <= 1100; e++) table[1100 + e] = table[1100 + e - 1] * 2;
  for (let e = 1; e <= 1100; e++) table[1100 - e] = table[1100 - e + 1] / 2;
  return table;
})();

/**
 * The double nearest to (head * 10^tailDigits + tail) / 10^fractionDigits, or NaN when undecided.
 * head < 10^15, tail < 10^tailDigits, tailDigits <= 4, fractionDigits <= 22.
 */
export function decimalToDouble(head: number, tail: number, tailDigits: number, fractionDigits: number): number {
  // M = head * 10^t + tail exactly, as hi + lo (TwoSum of two exact parts).
  let hi: number;
  let lo: number;
  if (tailDigits === 0) {
    hi = head;
    lo = 0;
  } else {
    const headHigh = Math.floor(head / TWO_26);
    const headLow = head - headHigh * TWO_26;
    const pow5 = POW5[tailDigits];
    const pow2 = POW2_SMALL[tailDigits];
    const x = headHigh * pow5 * (TWO_26 * pow2);
    const y = headLow * pow5 * pow2 + tail;
    hi = x + y;
    const bb = hi - x;
    lo = x - (hi - bb) + (y - bb);
  }
  if (fractionDigits === 0) return hi;
  if (hi === 0) return 0;
  const d = EXACT_POW10[fractionDigits];
  const q1 = hi / d;
  // q1 * d exactly as p + pe (Dekker's product with Veltkamp splitting).
  const p = q1 * d;
  const c = SPLITTER * q1;
  const qHigh = c - (c - q1);
  const qLow = q1 - qHigh;
  const dHigh = POW10_HIGH[fractionDigits];
  const dLow = POW10_LOW[fractionDigits];
  const pe = qHigh * dHigh - p + qHigh * dLow + qLow * dHigh + qLow * dLow;
  const remainder = hi - p - pe + lo;
  const q2 = remainder / d;
  const x = q1 + q2;
  const excess = q1 - x + q2;
  float64[0] = x;
  const high = words[HIGH];
  const exponent = (high >>> 20) & 0x7ff;
  // Powers of two (the ulp below is smaller), subnormals and non-finite values: let strtod decide.
  if (exponent === 0 || exponent === 0x7ff || ((high & 0xfffff) === 0 && words[1 - HIGH] === 0)) return NaN;
  const halfUlp = POW2[1100 + exponent - 1023 - 53];
  const distance = Math.abs(excess) - halfUlp;
  if (distance < halfUlp * 1e-9 && distance > -halfUlp * 1e-9) return NaN;
  return x;
}
