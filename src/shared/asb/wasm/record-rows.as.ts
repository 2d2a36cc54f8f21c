// AssemblyScript (compiled to record-rows.wasm by `npm run build`; not part of the tsc build).
//
// The restore's fast tier for records of the common shape: decodes consecutive .asb records from
// input copied into this module's memory and writes each one's batch-write row, byte for byte as
// batch-codec.ts lays it out, into the row region of the node that masters its partition.
// It accepts only what the TypeScript decoder (decoder.ts) would accept and turn into exactly the
// same row; at anything else (another key type, an escape, a repeated bin name, a value
// needing the exact conversions, a record cut by the end of the input) it stops
// at that record's first byte and the TypeScript decoder takes the record, with its checks and C's
// error messages. It never reports an error itself. record-rows.ts drives it;
// test/restore/restore-sink.test.ts compares its rows with the TypeScript decoder's.
//
// Built with SIMD (--enable simd): base64, strings and bin names are read 16 bytes at a time. Such
// reads may pass the end of the input by up to 15 bytes (the window is followed by a 16-byte gap);
// the bytes past `end` are stale and never count: every value's end is checked against `end` first,
// and a name whose delimiter lies past it fails atEnd as the byte loop did. Stores may pass a value's
// end too (into the row scratch, whose slack takes them); later ops overwrite those bytes.

// ---- memory layout (offsets in bytes) ----
const BASE64: usize = 0; //          u32 x 256: value | 0x1000000 invalid | 0x2000000 '='
const POW10: usize = 1024; //        f64 x 23: 10^k, exact
const BYTES_KIND: usize = 1280; //   u8 x 256: bin label -> particle type of a base64 bytes value, 0 = other
const NAMES: usize = 4096; //        v128 per bin of the current record (MAX_BINS): its name's bytes, zero-padded
const NS_EXPECTED: usize = 2048; //  the namespace records must name (as written), <= 31 bytes
const NS_TARGET: usize = 2112; //    the namespace rows carry, <= 31 bytes
export const MAX_REGIONS: i32 = 513;
export const INPUT: usize = 65536 * 2; // input window
export const INPUT_CAPACITY: usize = 1 << 20;
const SCRATCH: usize = INPUT + INPUT_CAPACITY + 16; // the row being encoded
export const MAX_ROW: usize = 128 * 1024;
export const DYNAMIC: usize = SCRATCH + MAX_ROW + 65536; // region memory starts here (record-rows.ts)
// A region: u32 rowOffsets[maxRows + 1], u32 lines[maxRows], then the rows (regionBytes).

const MAX_BINS: usize = 64;
const LANE_INDEX = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
const MAX_BIN_NAME: usize = 14;
const MAX_SET: usize = 63;
const MAX_KEY_STRING: u64 = 65536;

// ---- settings (record-rows.ts sets them) ----
/** u16 x 4096: partition -> region (routing slot + 1; 0: no live master). */
export let ownersAt: usize = 0;
/** Per region (MAX_REGIONS): u32 base (0: none yet), u32 bytes used, u32 rows. */
export let regionsAt: usize = 0;
export let expectedLength: i32 = 0;
export let targetLength: i32 = 0;
export let now: i64 = 0;
export let extraTtl: i64 = 0;
export let rowInfo: u32 = 0;
export let withGeneration: i32 = 1;
export let maxRows: u32 = 128;
/**
 * --set-list (0: none): u32 count, then from byte 16 an entry of 64 bytes per set (its bytes
 * zero-padded, its length in byte 63): the sets a record must name to be written; a record of
 * another set, or of none, is counted as skipped.
 */
export let setListAt: usize = 0;
/**
 * --bin-list (0: none): u32 count, then from byte 16 a v128 per bin name (its bytes zero-padded,
 * its length in lane 15): the bins written; a record left with none is skipped.
 */
export let binListAt: usize = 0;
export let regionBytes: u32 = 256 * 1024;

// ---- results of decode() ----
export let stopAt: usize = 0;
export let nextLine: i32 = 0;
export let records: i32 = 0;
export let expired: i32 = 0;
export let skipped: i32 = 0;
/** With decode() returning REGION_FULL or REGION_MISSING: which region. */
export let region: i32 = 0;
/** Set when decode() stopped because the input ended inside the record at stopAt (nothing else stopped it). */
export let short: i32 = 0;

export const STOPPED: i32 = 0;
export const REGION_FULL: i32 = 1;
export const REGION_MISSING: i32 = 2;

export function init(): void {
  for (let c: usize = 0; c < 256; c++) store<u32>(BASE64 + (c << 2), 0x1000000);
  for (let i: u32 = 0; i < 26; i++) {
    store<u32>(BASE64 + ((65 + <usize>i) << 2), i);
    store<u32>(BASE64 + ((97 + <usize>i) << 2), 26 + i);
  }
  for (let i: u32 = 0; i < 10; i++) store<u32>(BASE64 + ((48 + <usize>i) << 2), 52 + i);
  store<u32>(BASE64 + (43 << 2), 62);
  store<u32>(BASE64 + (47 << 2), 63);
  store<u32>(BASE64 + (61 << 2), 0x2000000);
  let p: f64 = 1;
  for (let k: usize = 0; k < 23; k++) {
    store<f64>(POW10 + (k << 3), p);
    p *= 10;
  }
  // decoder.ts BYTES_PARTICLE: B J C P R H E Y M L
  store<u8>(BYTES_KIND + 66, 4);
  store<u8>(BYTES_KIND + 74, 7);
  store<u8>(BYTES_KIND + 67, 8);
  store<u8>(BYTES_KIND + 80, 9);
  store<u8>(BYTES_KIND + 82, 10);
  store<u8>(BYTES_KIND + 72, 11);
  store<u8>(BYTES_KIND + 69, 12);
  store<u8>(BYTES_KIND + 89, 18);
  store<u8>(BYTES_KIND + 77, 19);
  store<u8>(BYTES_KIND + 76, 20);
}

export function expectedNamespace(): usize {
  return NS_EXPECTED;
}
export function targetNamespace(): usize {
  return NS_TARGET;
}

// ---- helpers ----

// memory.copy is a call into the engine here: short copies (names, short strings) are cheaper inline.
@inline function copyBytes(dst: usize, src: usize, n: usize): void {
  if (n < 32) {
    for (let i: usize = 0; i < n; i++) store<u8>(dst + i, load<u8>(src + i));
  } else {
    memory.copy(dst, src, n);
  }
}

// Copies `n` bytes 16 at a time (the bytes up to 15 past either end are read or overwritten: the
// input window and the row scratch have room) and returns how many of them are LFs.
@inline function copyCountingLfs(dst: usize, src: usize, n: usize): i32 {
  const lf = i8x16.splat(10);
  let lfs: i32 = 0;
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) {
    const v = v128.load(src + i);
    v128.store(dst + i, v);
    lfs += <i32>popcnt<u32>(i8x16.bitmask(i8x16.eq(v, lf)));
  }
  if (i < n) {
    const v = v128.load(src + i);
    v128.store(dst + i, v);
    lfs += <i32>popcnt<u32>(i8x16.bitmask(i8x16.eq(v, lf)) & ((<u32>1 << <u32>(n - i)) - 1));
  }
  return lfs;
}

// Whether the set named by `length` bytes at `start` is one of --set-list's.
function listsSet(start: usize, length: usize): bool {
  const count = load<u32>(setListAt);
  for (let i: u32 = 0; i < count; i++) {
    const entry = setListAt + 16 + (<usize>i << 6);
    if (<usize>load<u8>(entry + 63) == length && memory.compare(entry, start, length) == 0) return true;
  }
  return false;
}

// Whether --bin-list keeps the bin whose name is `name` (zero-padded, its length in lane 15).
function listsBin(name: v128): bool {
  const count = load<u32>(binListAt);
  for (let i: u32 = 0; i < count; i++) {
    if (i8x16.all_true(i8x16.eq(v128.load(binListAt + 16 + (<usize>i << 4)), name))) return true;
  }
  return false;
}

let parsedEnd: usize = 0; // where readDigits stopped (after the delimiter); 0: not a number

// Whether `x` bytes are more than the input holds: then the record is incomplete (`short`).
@inline function atEnd(x: usize, end: usize): bool {
  if (x <= end) return false;
  short = 1;
  return true;
}

// Digits 1..maxDigits, then `delimiter`.
@inline function readDigits(p: usize, end: usize, delimiter: u8, maxDigits: usize): u64 {
  let v: u64 = 0;
  let q = p;
  while (q < end) {
    const c = load<u8>(q);
    if (c < 48 || c > 57) break;
    v = v * 10 + <u64>(c - 48);
    q++;
  }
  if (atEnd(q + 1, end) || load<u8>(q) != delimiter || q == p || q - p > maxDigits) {
    parsedEnd = 0;
    return 0;
  }
  parsedEnd = q + 1;
  return v;
}

// Groups of four base64 characters into 3 bytes each (4 bytes stored per group, the next group
// overwrites the fourth); returns the OR of the values: above 0xffffff when one is invalid or '='.
@inline function base64Groups(src: usize, length: usize, dst: usize): u32 {
  let flags: u32 = 0;
  let o = dst;
  const end = src + length;
  for (let p = src; p < end; p += 4) {
    const w = load<u32>(p);
    const v: u32 =
      (load<u32>(BASE64 + ((<usize>(w & 0xff)) << 2)) << 18) |
      (load<u32>(BASE64 + ((<usize>((w >> 8) & 0xff)) << 2)) << 12) |
      (load<u32>(BASE64 + ((<usize>((w >> 16) & 0xff)) << 2)) << 6) |
      load<u32>(BASE64 + ((<usize>(w >> 24)) << 2));
    flags |= v;
    store<u32>(o, bswap<u32>(v << 8));
    o += 3;
  }
  return flags;
}

// Base64 characters 16 at a time: the same bytes as base64Groups, 12 per block (16 stored, the
// next block overwrites the last 4). False when one of the 16 is not in the alphabet ('=' included).
@inline function base64Block(src: usize, dst: usize): bool {
  const c = v128.load(src);
  const upper = i8x16.lt_u(i8x16.sub(c, i8x16.splat(65)), i8x16.splat(26));
  const lower = i8x16.lt_u(i8x16.sub(c, i8x16.splat(97)), i8x16.splat(26));
  const digit = i8x16.lt_u(i8x16.sub(c, i8x16.splat(48)), i8x16.splat(10));
  const plus = i8x16.eq(c, i8x16.splat(43));
  const slash = i8x16.eq(c, i8x16.splat(47));
  if (!i8x16.all_true(v128.or(v128.or(v128.or(upper, lower), v128.or(digit, plus)), slash))) return false;
  // A..Z -65, a..z -71, 0..9 +4, '+' +19, '/' +16: each lane is in exactly one class.
  const offset = v128.or(
    v128.or(v128.and(upper, i8x16.splat(-65)), v128.and(lower, i8x16.splat(-71))),
    v128.or(v128.and(digit, i8x16.splat(4)), v128.or(v128.and(plus, i8x16.splat(19)), v128.and(slash, i8x16.splat(16)))),
  );
  const sextets = i8x16.add(c, offset);
  // Pairs of sextets into 12 bits (first one high), then pairs of those into 24 bits per 4 characters.
  const pairs = v128.or(i16x8.shl(v128.and(sextets, i16x8.splat(0xff)), 6), i16x8.shr_u(sextets, 8));
  const quads = v128.or(i32x4.shl(v128.and(pairs, i32x4.splat(0xffff)), 12), i32x4.shr_u(pairs, 16));
  v128.store(dst, i8x16.swizzle(quads, i8x16(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1)));
  return true;
}

// Whole groups of four characters, `length` a multiple of 4: blocks of 16, then single groups.
// Returns false when a character is not in the alphabet ('=' included).
@inline function base64Body(src: usize, length: usize, dst: usize): bool {
  let p = src;
  let o = dst;
  const end = src + length;
  while (p + 16 <= end) {
    if (!base64Block(p, o)) return false;
    p += 16;
    o += 12;
  }
  return base64Groups(p, end - p, o) <= 0xffffff;
}

// The last group of a value: `xxxx`, `xxx=` or `xx==` (anything else: -1); writes its bytes at `o`
// and returns how many.
@inline function base64LastGroup(p: usize, o: usize): i32 {
  const c0 = load<u32>(BASE64 + (<usize>load<u8>(p) << 2));
  const c1 = load<u32>(BASE64 + (<usize>load<u8>(p + 1) << 2));
  const c2 = load<u32>(BASE64 + (<usize>load<u8>(p + 2) << 2));
  const c3 = load<u32>(BASE64 + (<usize>load<u8>(p + 3) << 2));
  if (((c0 | c1 | c2 | c3) & 0x1000000) != 0 || ((c0 | c1) & 0x2000000) != 0) return -1;
  const pad2 = (c2 & 0x2000000) != 0;
  const pad3 = (c3 & 0x2000000) != 0;
  if (pad2 && !pad3) return -1;
  const v: u32 = ((c0 & 63) << 18) | ((c1 & 63) << 12) | ((c2 & 63) << 6) | (c3 & 63);
  store<u8>(o, <u8>(v >> 16));
  if (pad2) return 1;
  store<u8>(o + 1, <u8>(v >> 8));
  if (pad3) return 2;
  store<u8>(o + 2, <u8>v);
  return 3;
}

// decimal.ts decimalToDouble, operation for operation: NaN when the result is too close to call.
const SPLITTER: f64 = 134217729;
const TWO_26: f64 = 67108864;
function decimalToDouble(head: f64, tail: f64, tailDigits: i32, fractionDigits: i32): f64 {
  let hi: f64;
  let lo: f64;
  if (tailDigits == 0) {
    hi = head;
    lo = 0;
  } else {
    const headHigh = Math.floor(head / TWO_26);
    const headLow = head - headHigh * TWO_26;
    let pow5: f64 = 1;
    let pow2: f64 = 1;
    for (let k = 0; k < tailDigits; k++) {
      pow5 *= 5;
      pow2 *= 2;
    }
    const x = headHigh * pow5 * (TWO_26 * pow2);
    const y = headLow * pow5 * pow2 + tail;
    hi = x + y;
    const bb = hi - x;
    lo = x - (hi - bb) + (y - bb);
  }
  if (fractionDigits == 0) return hi;
  if (hi == 0) return 0;
  const d = load<f64>(POW10 + (<usize>fractionDigits << 3));
  const q1 = hi / d;
  const p = q1 * d;
  const c = SPLITTER * q1;
  const qHigh = c - (c - q1);
  const qLow = q1 - qHigh;
  const cd = SPLITTER * d;
  const dHigh = cd - (cd - d);
  const dLow = d - dHigh;
  const pe = qHigh * dHigh - p + qHigh * dLow + qLow * dHigh + qLow * dLow;
  const remainder = hi - p - pe + lo;
  const q2 = remainder / d;
  const x = q1 + q2;
  const excess = q1 - x + q2;
  const bits = reinterpret<u64>(x);
  const high = <u32>(bits >> 32);
  const exponent = (high >> 20) & 0x7ff;
  if (exponent == 0 || exponent == 0x7ff || ((high & 0xfffff) == 0 && <u32>bits == 0)) return NaN;
  const halfUlp = reinterpret<f64>(<u64>(exponent - 53) << 52);
  const distance = Math.abs(excess) - halfUlp;
  if (distance < halfUlp * 1e-9 && distance > -halfUlp * 1e-9) return NaN;
  return x;
}

/**
 * Decodes records from [from, end) (in the input window), `line` being the line of `from`.
 * Returns STOPPED (at stopAt: the first byte not taken), or REGION_FULL / REGION_MISSING for
 * `region` (record-rows.ts makes room and calls again from stopAt).
 */
export function decode(from: usize, end: usize, line: i32): i32 {
  let p = from;
  let lf = line;
  records = 0;
  expired = 0;
  skipped = 0;
  short = 0;
  stopAt = from;
  nextLine = line;
  const expectedLen = <usize>expectedLength;
  while (p < end) {
    const recordLine = lf;
    let o = SCRATCH;
    // + k S <len> <bytes> | + k I <integer> | + k B <base64 len> <base64>
    if (atEnd(p + 6, end) || load<u16>(p) != 0x202b) break;
    let keyType: u8 = 0;
    let keyStart: usize = 0;
    let keyLength: usize = 0;
    let keyInteger: i64 = 0;
    if (load<u8>(p + 2) == 0x6b) {
      if (load<u8>(p + 3) != 0x20 || load<u8>(p + 5) != 0x20) break;
      const type = load<u8>(p + 4);
      if (type == 0x53) {
        const length = readDigits(p + 6, end, 0x20, 6);
        if (parsedEnd == 0 || length > MAX_KEY_STRING) break;
        keyStart = parsedEnd;
        keyLength = <usize>length;
        p = keyStart + keyLength;
        if (atEnd(p + 1, end) || load<u8>(p) != 10) break;
        // Its LFs are counted when it is copied into the row.
        p++;
        keyType = 3;
      } else if (type == 0x49) {
        let q = p + 6;
        const negative = q < end && load<u8>(q) == 0x2d;
        if (negative) q++;
        const v = readDigits(q, end, 10, 18);
        if (parsedEnd == 0) break;
        keyInteger = negative ? -(<i64>v) : <i64>v;
        p = parsedEnd;
        keyType = 1;
      } else if (type == 0x42) {
        // Decoded when the row is written (`B!`, the compact form, fails the space check above).
        const length = readDigits(p + 6, end, 0x20, 8);
        if (parsedEnd == 0 || length == 0 || (length & 3) != 0) break;
        keyStart = parsedEnd;
        keyLength = <usize>length;
        p = keyStart + keyLength;
        if (atEnd(p + 1, end) || load<u8>(p) != 10) break;
        p++;
        keyType = 4;
      } else break;
      lf++;
    }
    // + n <namespace>: the one expected, as written
    if (atEnd(p + 5 + expectedLen, end) || load<u32>(p) != 0x206e202b) break;
    if (load<u8>(p + 4 + expectedLen) != 10 || memory.compare(p + 4, NS_EXPECTED, expectedLen) != 0) break;
    p += 5 + expectedLen;
    lf++;
    // + d <28 characters>
    if (atEnd(p + 33, end) || load<u32>(p) != 0x2064202b || load<u8>(p + 32) != 10) break;
    const digest = SCRATCH + 4;
    if (!base64Body(p + 4, 24, digest)) break;
    if (base64LastGroup(p + 28, digest + 18) != 2) break;
    p += 33;
    lf++;
    // + s <set>
    let setStart: usize = 0;
    let setLength: usize = 0;
    if (atEnd(p + 4, end)) break;
    if (load<u32>(p) == 0x2073202b) {
      setStart = p + 4;
      let q = setStart;
      while (q < end) {
        const c = load<u8>(q);
        if (c == 10 || c == 0x5c) break;
        q++;
      }
      if (atEnd(q + 1, end) || load<u8>(q) != 10) break;
      setLength = q - setStart;
      if (setLength == 0 || setLength > MAX_SET) break;
      p = q + 1;
      lf++;
    }
    let skip = false;
    if (setListAt != 0) {
      if (setLength == 0) skip = true;
      else {
        // The TypeScript path compares the set's UTF-8 text: a set of other bytes than ASCII is its.
        let ascii = true;
        for (let z = setStart; z < setStart + setLength; z++) if (load<u8>(z) >= 0x80) ascii = false;
        if (!ascii) break;
        skip = !listsSet(setStart, setLength);
      }
    }
    // + g, + t, + b
    if (atEnd(p + 4, end) || load<u32>(p) != 0x2067202b) break;
    const generation = readDigits(p + 4, end, 10, 5);
    if (parsedEnd == 0 || generation > 65535) break;
    p = parsedEnd;
    lf++;
    if (atEnd(p + 4, end) || load<u32>(p) != 0x2074202b) break;
    const voidTime = readDigits(p + 4, end, 10, 10);
    if (parsedEnd == 0 || voidTime > 0xffffffff) break;
    p = parsedEnd;
    lf++;
    if (atEnd(p + 4, end) || load<u32>(p) != 0x2062202b) break;
    const binCount = <usize>readDigits(p + 4, end, 10, 2);
    if (parsedEnd == 0 || binCount == 0 || binCount > MAX_BINS) break;
    p = parsedEnd;
    lf++;

    // write-policy.ts ttlFor
    let ttl: u32 = 0xffffffff;
    let isExpired = false;
    if (voidTime != 0) {
      const remaining = <i64>voidTime + extraTtl - now;
      if (remaining <= 0) isExpired = true;
      else ttl = remaining > 0xfffffffd ? 0xfffffffd : <u32>remaining;
    }
    // batch-codec.ts writeBatchRowHead (the index is set when the row joins its region)
    o = digest + 20;
    store<u32>(o, bswap<u32>(rowInfo));
    store<u16>(o + 4, bswap<u16>(withGeneration != 0 ? <u16>generation : 0));
    store<u32>(o + 6, bswap<u32>(ttl));
    store<u16>(o + 10, bswap<u16>(keyType == 0 ? 2 : 3));
    // The op count: the bins --bin-list keeps, set again once they are known.
    const opCountAt = o + 12;
    store<u16>(opCountAt, bswap<u16>(<u16>binCount));
    o += 14;
    const targetLen = <usize>targetLength;
    store<u32>(o, bswap<u32>(<u32>targetLen + 1));
    store<u8>(o + 4, 0);
    copyBytes(o + 5, NS_TARGET, targetLen);
    o += 5 + targetLen;
    store<u32>(o, bswap<u32>(<u32>setLength + 1));
    store<u8>(o + 4, 1);
    copyBytes(o + 5, setStart, setLength);
    o += 5 + setLength;
    if (keyType == 3) {
      if (o + keyLength + 6 > SCRATCH + MAX_ROW) break;
      store<u32>(o, bswap<u32>(<u32>keyLength + 2));
      store<u8>(o + 4, 2);
      store<u8>(o + 5, 3);
      lf += copyCountingLfs(o + 6, keyStart, keyLength);
      o += 6 + keyLength;
    } else if (keyType == 1) {
      store<u32>(o, bswap<u32>(10));
      store<u8>(o + 4, 2);
      store<u8>(o + 5, 1);
      store<u64>(o + 6, bswap<u64>(<u64>keyInteger));
      o += 14;
    } else if (keyType == 4) {
      const groupBytes = (keyLength >> 2) * 3;
      if (o + 6 + groupBytes > SCRATCH + MAX_ROW) break;
      if (!base64Body(keyStart, keyLength - 4, o + 6)) break;
      const last = base64LastGroup(keyStart + keyLength - 4, o + 6 + groupBytes - 3);
      if (last < 0) break;
      const keyBytes = groupBytes - 3 + <usize>last;
      store<u32>(o, bswap<u32>(<u32>keyBytes + 2));
      store<u8>(o + 4, 2);
      store<u8>(o + 5, 4);
      o += 6 + keyBytes;
    }

    let ok = true;
    let keptBins: usize = 0;
    for (let i: usize = 0; i < binCount; i++) {
      // - <label> <name> <value>
      if (atEnd(p + 4, end) || load<u8>(p) != 0x2d || load<u8>(p + 1) != 0x20 || load<u8>(p + 3) != 0x20) {
        ok = false;
        break;
      }
      const label = load<u8>(p + 2);
      const nameStart = p + 4;
      // The name ends at the first space, LF or backslash among the 16 bytes from its start (16: a
      // name longer than the tier takes). One found past `end` is not input, and atEnd says so.
      const nameBytes = v128.load(nameStart);
      const delimiters = i8x16.bitmask(
        v128.or(v128.or(i8x16.eq(nameBytes, i8x16.splat(0x20)), i8x16.eq(nameBytes, i8x16.splat(10))), i8x16.eq(nameBytes, i8x16.splat(0x5c))),
      );
      let q = nameStart + <usize>ctz<u32>(delimiters | 0x10000);
      const nameLength = q - nameStart;
      // A nil bin (N) has no value: its name ends its line.
      const nil = label == 0x4e;
      if (atEnd(q + 1, end) || load<u8>(q) != (nil ? 10 : 0x20) || nameLength == 0 || nameLength > MAX_BIN_NAME) {
        ok = false;
        break;
      }
      // A repeated name: the TypeScript decoder builds that record as an object (C keeps the last
      // value). Names are compared zero-padded to 16 bytes: two that differ only by trailing NULs
      // look repeated too, and the TypeScript decoder takes their record.
      const name = v128.and(nameBytes, i8x16.lt_u(LANE_INDEX, i8x16.splat(<i8>nameLength)));
      for (let k: usize = 0; k < i; k++) {
        if (i8x16.all_true(i8x16.eq(v128.load(NAMES + (k << 4)), name))) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
      v128.store(NAMES + (i << 4), name);
      let keepBin = true;
      if (binListAt != 0) {
        // The TypeScript path compares the name's UTF-8 text: a name of other bytes than ASCII is its.
        if (i8x16.bitmask(name) != 0) {
          ok = false;
          break;
        }
        keepBin = listsBin(i8x16.replace_lane(name, 15, <i8>nameLength));
      }
      // message-codec.ts write op head: size:u32 op:u8 particle:u8 flags:u8 name_len:u8 name
      const op = o;
      store<u8>(op + 4, 2);
      store<u8>(op + 6, 0);
      store<u8>(op + 7, <u8>nameLength);
      // The name and the bytes after it (the value overwrites them; the scratch has room).
      v128.store(op + 8, nameBytes);
      o = op + 8 + nameLength;
      q++;
      if (nil) {
        store<u8>(op + 5, 0);
        p = q;
      } else if (label == 0x49) {
        // I: [-]digits (up to 18: exact in 64 bits)
        const negative = q < end && load<u8>(q) == 0x2d;
        if (negative) q++;
        const v = readDigits(q, end, 10, 18);
        if (parsedEnd == 0) {
          ok = false;
          break;
        }
        store<u64>(o, bswap<u64>(negative ? <u64>(-(<i64>v)) : v));
        o += 8;
        store<u8>(op + 5, 1);
        p = parsedEnd;
      } else if (label == 0x44) {
        // D: decoder.ts readDouble's fast path, [-]digits[.digits]
        const negative = q < end && load<u8>(q) == 0x2d;
        if (negative) q++;
        let head: f64 = 0;
        let tail: f64 = 0;
        let tailDigits = 0;
        let significant = 0;
        let digits = 0;
        let fraction = 0;
        let inFraction = false;
        let r = q;
        let c: u8 = 0;
        while (r < end) {
          c = load<u8>(r);
          if (c >= 48 && c <= 57) {
            const d = <f64>(c - 48);
            digits++;
            if (inFraction) fraction++;
            if (significant > 0 || d != 0) {
              if (significant < 15) head = head * 10 + d;
              else if (significant < 19) {
                tail = tail * 10 + d;
                tailDigits++;
              }
              significant++;
            }
          } else if (c == 0x2e && !inFraction) {
            inFraction = true;
          } else break;
          r++;
        }
        if (atEnd(r + 1, end) || c != 10 || digits == 0 || fraction > 22 || significant > 19) {
          ok = false;
          break;
        }
        let magnitude: f64;
        if (significant <= 15) magnitude = fraction == 0 ? head : head / load<f64>(POW10 + (<usize>fraction << 3));
        else {
          magnitude = decimalToDouble(head, tail, tailDigits, fraction);
          if (magnitude != magnitude) {
            ok = false;
            break;
          }
        }
        store<u64>(o, bswap<u64>(reinterpret<u64>(negative ? -magnitude : magnitude)));
        o += 8;
        store<u8>(op + 5, 2);
        p = r + 1;
      } else if (label == 0x53 || label == 0x47) {
        // S: <length> <bytes>; G the same after a 3-byte prefix (flags 0, ncells 0: the server
        // computes the cells)
        const prefix: usize = label == 0x47 ? 3 : 0;
        const length = readDigits(q, end, 0x20, 7);
        if (parsedEnd == 0) {
          ok = false;
          break;
        }
        const value = parsedEnd;
        const valueEnd = value + <usize>length;
        if (atEnd(valueEnd + 1, end) || load<u8>(valueEnd) != 10 || o + prefix + <usize>length > SCRATCH + MAX_ROW) {
          ok = false;
          break;
        }
        // The prefix (a string writes its value, or the next op, over these bytes).
        store<u8>(o, 0);
        store<u16>(o + 1, 0);
        o += prefix;
        lf += copyCountingLfs(o, value, <usize>length);
        o += <usize>length;
        store<u8>(op + 5, label == 0x47 ? 23 : 3);
        p = valueEnd + 1;
      } else if (label == 0x5a) {
        // Z: T or F alone on its line
        if (atEnd(q + 2, end)) {
          ok = false;
          break;
        }
        const c = load<u8>(q);
        if ((c != 0x54 && c != 0x46) || load<u8>(q + 1) != 10) {
          ok = false;
          break;
        }
        store<u8>(o, c == 0x54 ? 1 : 0);
        o += 1;
        store<u8>(op + 5, 17);
        p = q + 2;
      } else if (load<u8>(BYTES_KIND + <usize>label) != 0) {
        // B, L, M, ...: <base64 length> <base64>
        const length = <usize>readDigits(q, end, 0x20, 8);
        if (parsedEnd == 0 || (length & 3) != 0) {
          ok = false;
          break;
        }
        const value = parsedEnd;
        const valueEnd = value + length;
        if (atEnd(valueEnd + 1, end) || load<u8>(valueEnd) != 10 || o + (length >> 2) * 3 > SCRATCH + MAX_ROW) {
          ok = false;
          break;
        }
        if (length > 0) {
          if (!base64Body(value, length - 4, o)) {
            ok = false;
            break;
          }
          const last = base64LastGroup(valueEnd - 4, o + (length >> 2) * 3 - 3);
          if (last < 0) {
            ok = false;
            break;
          }
          o += (length >> 2) * 3 - 3 + <usize>last;
        }
        store<u8>(op + 5, load<u8>(BYTES_KIND + <usize>label));
        p = valueEnd + 1;
      } else {
        ok = false;
        break;
      }
      store<u32>(op, bswap<u32>(<u32>(o - op - 4)));
      lf++;
      if (keepBin) keptBins++;
      else o = op;
    }
    // Any row the scratch holds fits an empty region (record-rows.ts sizes regions at MAX_ROW or more).
    if (!ok || o > SCRATCH + MAX_ROW) break;

    if (isExpired) {
      records++;
      expired++;
      stopAt = p;
      nextLine = lf;
      continue;
    }
    if (skip || keptBins == 0) {
      records++;
      skipped++;
      stopAt = p;
      nextLine = lf;
      continue;
    }
    if (keptBins != binCount) store<u16>(opCountAt, bswap<u16>(<u16>keptBins));
    // Into the region of the node that masters the digest's partition.
    const partition = <usize>(load<u16>(digest) & 4095);
    const r = <usize>load<u16>(ownersAt + (partition << 1));
    const entry = regionsAt + r * 12;
    const base = <usize>load<u32>(entry);
    if (base == 0) {
      region = <i32>r;
      return REGION_MISSING;
    }
    const used = load<u32>(entry + 4);
    const rows = load<u32>(entry + 8);
    const rowLength = <u32>(o - SCRATCH);
    if (used + rowLength > regionBytes) {
      // Never with an empty region (any row up to MAX_ROW fits one); left to the TypeScript path if so.
      if (rows == 0) break;
      region = <i32>r;
      return REGION_FULL;
    }
    store<u32>(SCRATCH, bswap<u32>(rows));
    const rowsAt = base + (<usize>maxRows * 2 + 1) * 4;
    memory.copy(rowsAt + <usize>used, SCRATCH, <usize>rowLength);
    store<u32>(base + (<usize>rows << 2), used);
    store<u32>(base + ((<usize>maxRows + 1 + <usize>rows) << 2), <u32>recordLine);
    store<u32>(entry + 4, used + rowLength);
    store<u32>(entry + 8, rows + 1);
    records++;
    stopAt = p;
    nextLine = lf;
    if (rows + 1 >= maxRows) {
      region = <i32>r;
      return REGION_FULL;
    }
  }
  return STOPPED;
}
