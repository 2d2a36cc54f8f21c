/**
 * Realistic value builders for generated backups: names and text (incl. unicode), GeoJSON,
 * HyperLogLog particles, and the edge values real data sets hold (int64 extremes, NaN/Inf/-0,
 * strings with LF/CRLF/spaces/backslashes, blobs full of LF and spaces).
 */
import { Prng } from './prng.js';

export const FIRST_NAMES = [
  'Ana', 'Iñaki', 'Kai', 'Dmitri', 'José', 'Hana', 'Zoë', 'Łukasz', 'Søren', 'Amélie', 'Chloé', 'Björn', 'Mia', 'Noah',
  'Liam', 'Olivia', 'Emma', 'Ava', 'Lucas', 'Mateo', 'Yuki', 'Aiko', 'Wei', 'Li', 'Priya', 'Arjun', 'Fatima', 'Omar',
  'Ngozi', 'Chinedu', 'Seo-yeon', 'Min-jun', 'Ömer', 'Çağla', 'Renée', 'François', 'Jürgen', 'Åsa', 'Dóra', 'Ivan',
];
export const LAST_NAMES = [
  'Ivanova', 'Ødegaard', 'Okafor', 'García', 'Müller', 'Smith', 'Nakamura', 'Kowalski', 'Rossi', 'Dubois', 'Novák',
  'Johansson', 'Papadopoulos', 'Nguyễn', 'Kim', 'Singh', 'Haddad', 'Silva', 'O\'Brien', 'van der Berg', 'Ångström',
  'Yılmaz', 'Fernández', 'Schmidt', 'Jensen', 'Costa', 'Tanaka', 'Chen', 'Wang', 'Petrov', 'Mensah', 'Cohen',
];
export const WORDS = [
  'alpha', 'beta', 'gamma', 'delta', 'order', 'shipped', 'pending', 'account', 'premium', 'basic', 'mobile', 'web',
  'android', 'ios', 'checkout', 'cart', 'session', 'refund', 'click', 'view', 'purchase', 'signup', 'login', 'logout',
  'search', 'result', 'product', 'catalog', 'review', 'rating', 'coupon', 'discount', 'invoice', 'payment', 'card',
  'wallet', 'transfer', 'balance', 'limit', 'region', 'europe', 'asia', 'america', 'africa', 'oceania', 'north',
  'south', 'east', 'west', 'central', 'the', 'a', 'of', 'and', 'to', 'in', 'is', 'for', 'on', 'with', 'as', 'by',
  'at', 'from', 'this', 'that', 'be', 'are', 'was', 'it', 'or', 'an', 'not', 'but', 'all', 'new', 'more', 'data',
  'café', 'naïve', 'résumé', 'über', 'façade', 'smörgåsbord', '東京', '日本語', 'данные', 'привет', 'مرحبا', 'שלום',
  'γειά', '😀', '✓', 'Ω≈ç√',
];
/** WORDS starts with its ASCII words; the rest are non-ASCII. */
const ASCII_WORD_COUNT = WORDS.findIndex((w) => /[^\x00-\x7f]/.test(w));

export const CITIES = [
  'Lisbon', 'Zürich', 'São Paulo', 'Kraków', 'Reykjavík', 'Tokyo', 'Seoul', 'Lagos', 'Nairobi', 'Montréal', 'Austin',
  'Bengaluru', 'Jakarta', 'Istanbul', 'Málaga', 'Göteborg', 'Wrocław', 'Ho Chi Minh City', 'New York', 'Cairo',
];
export const EVENT_KINDS = ['click', 'view', 'purchase', 'refund', 'signup', 'login', 'logout', 'search', 'share'];
export const TAGS = ['new', 'vip', 'a b', 'beta', 'churn-risk', 'mobile', 'web', 'trial', 'ünïcode', 'promo', 'q"uote'];
export const THEMES = ['dark', 'light', 'solarized', 'high-contrast', 'sépia'];
export const LANGS = ['en', 'fr', 'de', 'es', 'ja', 'zh', 'pt', 'ru', 'ar', 'he'];
export const SOURCES = ['web', 'api', 'ios', 'android', 'batch', 'partner'];

/**
 * A pool of ASCII-and-unicode prose that long strings are cut from (aligned to UTF-8 character
 * boundaries), so text costs a copy rather than per-character work.
 */
export class TextCorpus {
  readonly bytes: Buffer;

  constructor(rng: Prng, size = 256 * 1024) {
    const parts: string[] = [];
    let length = 0;
    while (length < size) {
      // Mostly ASCII words: real text is, and it keeps UTF-8 byte counts close to character counts.
      const word = rng.chance(0.92) ? WORDS[rng.int(0, ASCII_WORD_COUNT - 1)]! : rng.pick(WORDS);
      parts.push(word);
      length += Buffer.byteLength(word) + 1;
      if (rng.chance(0.08)) {
        parts.push(rng.chance(0.5) ? '.' : ',');
        length += 2;
      }
    }
    this.bytes = Buffer.from(parts.join(' ').slice(0, size), 'utf8');
  }

  /**
   * About `length` bytes of valid UTF-8 text starting at a word (never more; shorter by at most a
   * few bytes). The result is a view into the corpus: callers must not modify it.
   */
  text(rng: Prng, length: number): Buffer {
    if (length <= 0) return Buffer.alloc(0);
    const pool = this.bytes;
    if (length >= pool.length / 2) {
      const copies = Math.ceil(length / pool.length) + 1;
      return alignUtf8(Buffer.concat(Array.from({ length: copies }, () => pool)), 0, length);
    }
    let start = rng.int(0, pool.length - length - 1);
    const wordStart = pool.indexOf(0x20, start);
    if (wordStart !== -1 && wordStart + 1 + length <= pool.length && wordStart - start < 32) start = wordStart + 1;
    return alignUtf8(pool, start, length);
  }
}

/** A view of source[start, start+length), moved forward / trimmed so it neither starts nor ends inside a character. */
function alignUtf8(source: Buffer, start: number, length: number): Buffer {
  let s = start;
  while (s < source.length && (source[s]! & 0xc0) === 0x80) s++;
  let e = Math.min(source.length, s + length);
  while (e > s && e < source.length && (source[e]! & 0xc0) === 0x80) e--;
  return source.subarray(s, e);
}

export function personName(rng: Prng): string {
  return `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
}

export function email(rng: Prng, serial: number): string {
  const first = rng.pick(FIRST_NAMES).toLowerCase().normalize('NFKD').replace(/[^a-z]/g, '') || 'user';
  return `${first}.${serial.toString(36)}@${rng.pick(['example.com', 'mail.test', 'corp.example', 'posteo.test'])}`;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function geoPoint(rng: Prng): string {
  return `{"type":"Point","coordinates":[${round3(rng.float() * 360 - 180)},${round3(rng.float() * 170 - 85)}]}`;
}

export function geoPolygon(rng: Prng): string {
  const lng = round3(rng.float() * 300 - 150);
  const lat = round3(rng.float() * 140 - 70);
  const d = round3(0.01 + rng.float() * 0.5);
  const ring = [[lng, lat], [round3(lng + d), lat], [round3(lng + d), round3(lat + d)], [lng, round3(lat + d)], [lng, lat]];
  return `{"type":"Polygon","coordinates":[${JSON.stringify(ring)}]}`;
}

export function geoCircle(rng: Prng): string {
  return `{"type":"AeroCircle","coordinates":[[${round3(rng.float() * 360 - 180)},${round3(rng.float() * 170 - 85)}],${rng.int(10, 50000)}]}`;
}

export function geoJson(rng: Prng): string {
  const x = rng.float();
  return x < 0.9 ? geoPoint(rng) : x < 0.96 ? geoPolygon(rng) : geoCircle(rng);
}

/**
 * A HyperLogLog particle as the server stores it: a flags byte, index bits, minhash bits, an
 * 8-byte cached-count field, then 2^indexBits registers of (6 + minhashBits) bits, bit-packed.
 * The layout matches the fixtures' HLL bins (6/0 bits: 59 bytes; 6/4: 91; 8/0: 203).
 */
export function hllParticle(rng: Prng, indexBits = 6, minhashBits = 0, elements = 100): Buffer {
  const registers = 1 << indexBits;
  const registerBits = 6 + minhashBits;
  const out = Buffer.alloc(11 + Math.ceil((registers * registerBits) / 8));
  out[1] = indexBits;
  out[2] = minhashBits;
  const filled = Math.min(registers, elements);
  let bit = 11 * 8;
  for (let r = 0; r < registers; r++, bit += registerBits) {
    if (r >= filled && !rng.chance(0.1)) continue;
    // Leading-zero counts of random hashes are geometric.
    let hllValue = 1;
    while (hllValue < 63 && rng.chance(0.5)) hllValue++;
    const minhash = minhashBits > 0 ? rng.u32() & ((1 << minhashBits) - 1) : 0;
    const value = (hllValue << minhashBits) | minhash;
    for (let i = registerBits - 1; i >= 0; i--) {
      const pos = bit + (registerBits - 1 - i);
      if ((value >>> i) & 1) out[pos >> 3]! |= 0x80 >> (pos & 7);
    }
  }
  return out;
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** An int bin value as AsbBin wants it: number when safe, else bigint. */
export function intValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const EDGE_INTS: readonly bigint[] = [
  0n, 1n, -1n, INT64_MIN, INT64_MAX, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 31n, 2n ** 32n - 1n,
  -(2n ** 31n), 127n, 128n, -32n, -33n, 255n, 65535n, 65536n,
];
export function edgeInt(rng: Prng): number | bigint {
  return intValue(rng.pick(EDGE_INTS));
}

const EDGE_DOUBLES: readonly number[] = [
  NaN, Infinity, -Infinity, -0, 0, 1, 2 ** 53, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, 2.2250738585072014e-308, Math.PI,
  0.1, 1e-10, -123.5, 1e20, 4,
];
export function edgeDouble(rng: Prng): number {
  return rng.pick(EDGE_DOUBLES);
}

const EDGE_STRINGS: readonly string[] = [
  '', 'x', 'ünïcödé ✓ 😀 𝄞', '日本語のテキスト', 'line one\nline two\n', 'crlf line\r\nnext', '  leading and trailing  ',
  'back\\slash \\n not a newline', '# namespace test', '+ k S 3 abc\n- I bin 1\n* u L fake.lua 1 x', 'tab\there',
  'control \u0001\u0002\u001f chars', 'Version 3.1\n', ' ', '\n', 'quote " and apostrophe \'',
];
export function edgeString(rng: Prng): Buffer {
  return Buffer.from(rng.pick(EDGE_STRINGS), 'utf8');
}

export function edgeBlob(rng: Prng): Buffer {
  switch (rng.int(0, 4)) {
    case 0: return Buffer.alloc(0);
    case 1: return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    case 2: return Buffer.from('\n \n  \n\n  \n', 'latin1');
    case 3: return Buffer.from([0x00, 0x0a, 0x20, 0x0d, 0x2b, 0x2d, 0x2a, 0x0a]);
    default: return rng.bytes(rng.int(1, 64));
  }
}
