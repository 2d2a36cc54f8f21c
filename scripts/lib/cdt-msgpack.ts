/**
 * Builds list and map particles exactly as an Aerospike server stores them (and asbackup writes
 * them in `- L` / `- M` lines): msgpack where strings, blobs and GeoJSON are msgpack str values
 * whose first byte is the particle type (3, 4, 23), ordered lists start with an ext "flags"
 * element, and maps with flags start with an ext-key/nil pair counted in the map header
 * (../shared/reference/wire/NOTES.md §4.4). Ordered containers are sorted the way the server
 * sorts them, so a generated key-ordered map is byte-identical to what the server would store.
 */

export const ListOrder = { UNORDERED: 0, ORDERED: 1 } as const;
export type ListOrder = (typeof ListOrder)[keyof typeof ListOrder];

export const MapOrder = { UNORDERED: 0, KEY_ORDERED: 1, KEY_VALUE_ORDERED: 3 } as const;
export type MapOrder = (typeof MapOrder)[keyof typeof MapOrder];

/** Aerospike particle-type prefixes of msgpack str payloads inside CDTs. */
export const CDT_STRING_PREFIX = 3;
export const CDT_BLOB_PREFIX = 4;
export const CDT_GEOJSON_PREFIX = 23;

export type CdtValue =
  | { kind: 'nil' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint | number }
  | { kind: 'double'; value: number }
  | { kind: 'string'; value: Buffer }
  | { kind: 'blob'; value: Buffer }
  | { kind: 'geojson'; value: Buffer }
  | { kind: 'list'; order: ListOrder; items: CdtValue[] }
  | { kind: 'map'; order: MapOrder; entries: [CdtValue, CdtValue][] };

const NIL: CdtValue = { kind: 'nil' };
const TRUE: CdtValue = { kind: 'bool', value: true };
const FALSE: CdtValue = { kind: 'bool', value: false };

/** Interned string values of small fixed vocabularies (map keys, tag pools): one encoding each. */
const WORDS = new Map<string, CdtValue>();
const MAX_INTERNED_WORDS = 4096;

/** Constructors, so call sites read like the data they describe. */
export const cdt = {
  /** A string from a small fixed vocabulary; the value is shared, so it must not be modified. */
  word: (value: string): CdtValue => {
    let v = WORDS.get(value);
    if (v === undefined) {
      v = { kind: 'string', value: Buffer.from(value, 'utf8') };
      if (WORDS.size < MAX_INTERNED_WORDS) WORDS.set(value, v);
    }
    return v;
  },
  nil: (): CdtValue => NIL,
  bool: (value: boolean): CdtValue => (value ? TRUE : FALSE),
  int: (value: bigint | number): CdtValue => ({ kind: 'int', value }),
  double: (value: number): CdtValue => ({ kind: 'double', value }),
  str: (value: string | Buffer): CdtValue => ({ kind: 'string', value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value }),
  blob: (value: Buffer): CdtValue => ({ kind: 'blob', value }),
  geojson: (value: string | Buffer): CdtValue => ({ kind: 'geojson', value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value }),
  list: (items: CdtValue[], order: ListOrder = ListOrder.UNORDERED): CdtValue => ({ kind: 'list', order, items }),
  map: (entries: [CdtValue, CdtValue][], order: MapOrder = MapOrder.KEY_ORDERED): CdtValue => ({ kind: 'map', order, entries }),
};

/**
 * The server's msgpack type rank (as_msgpack / msgpack_in.c compare order): values of different
 * types compare by rank alone.
 */
function typeRank(v: CdtValue): number {
  switch (v.kind) {
    case 'nil': return 1;
    case 'bool': return v.value ? 3 : 2;
    case 'int': return 4;
    case 'string': return 5;
    case 'list': return 6;
    case 'map': return 7;
    case 'blob': return 8;
    case 'double': return 9;
    case 'geojson': return 10;
  }
}

/** Server order for the values generators sort: scalars fully, containers by size then elements. */
export function compareCdt(a: CdtValue, b: CdtValue): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (a.kind) {
    case 'int': {
      const x = BigInt(a.value);
      const y = BigInt((b as typeof a).value);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'double': {
      const y = (b as typeof a).value;
      return a.value < y ? -1 : a.value > y ? 1 : 0;
    }
    case 'string':
    case 'blob':
    case 'geojson':
      return Buffer.compare(a.value, (b as typeof a).value);
    case 'list': {
      const other = b as typeof a;
      if (a.items.length !== other.items.length) return a.items.length - other.items.length;
      for (let i = 0; i < a.items.length; i++) {
        const c = compareCdt(a.items[i]!, other.items[i]!);
        if (c !== 0) return c;
      }
      return 0;
    }
    case 'map': {
      const other = b as typeof a;
      if (a.entries.length !== other.entries.length) return a.entries.length - other.entries.length;
      for (let i = 0; i < a.entries.length; i++) {
        const c = compareCdt(a.entries[i]![0], other.entries[i]![0]) || compareCdt(a.entries[i]![1], other.entries[i]![1]);
        if (c !== 0) return c;
      }
      return 0;
    }
    default:
      return 0;
  }
}

/** Growable output buffer reused across particles (one per generator) to avoid per-value allocations. */
export class CdtEncoder {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** The particle bytes of `value` (a list or map at top level), in a fresh Buffer. */
  encode(value: CdtValue): Buffer {
    this.pos = 0;
    this.write(value);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  private arrayHeader(count: number): void {
    this.ensure(5);
    if (count < 16) this.buf[this.pos++] = 0x90 | count;
    else if (count < 0x10000) {
      this.buf[this.pos] = 0xdc;
      this.buf.writeUInt16BE(count, this.pos + 1);
      this.pos += 3;
    } else {
      this.buf[this.pos] = 0xdd;
      this.buf.writeUInt32BE(count, this.pos + 1);
      this.pos += 5;
    }
  }

  private mapHeader(count: number): void {
    this.ensure(5);
    if (count < 16) this.buf[this.pos++] = 0x80 | count;
    else if (count < 0x10000) {
      this.buf[this.pos] = 0xde;
      this.buf.writeUInt16BE(count, this.pos + 1);
      this.pos += 3;
    } else {
      this.buf[this.pos] = 0xdf;
      this.buf.writeUInt32BE(count, this.pos + 1);
      this.pos += 5;
    }
  }

  /** ext8 of length 0 whose ext type carries the container flags: `c7 00 <flags>`. */
  private flagsExt(flags: number): void {
    this.ensure(3);
    this.buf[this.pos++] = 0xc7;
    this.buf[this.pos++] = 0x00;
    this.buf[this.pos++] = flags;
  }

  /** A msgpack str of (prefix + payload), minimal header as the clients write it. */
  private prefixedStr(prefix: number, payload: Buffer): void {
    const n = payload.length + 1;
    this.ensure(n + 5);
    if (n < 32) this.buf[this.pos++] = 0xa0 | n;
    else if (n < 0x100) {
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos] = 0xda;
      this.buf.writeUInt16BE(n, this.pos + 1);
      this.pos += 3;
    } else {
      this.buf[this.pos] = 0xdb;
      this.buf.writeUInt32BE(n, this.pos + 1);
      this.pos += 5;
    }
    this.buf[this.pos++] = prefix;
    payload.copy(this.buf, this.pos);
    this.pos += payload.length;
  }

  private integer(value: bigint | number): void {
    this.ensure(9);
    const b = this.buf;
    if (typeof value === 'number' && Number.isSafeInteger(value)) {
      if (value >= 0) {
        if (value < 128) b[this.pos++] = value;
        else if (value < 0x100) { b[this.pos++] = 0xcc; b[this.pos++] = value; }
        else if (value < 0x10000) { b[this.pos] = 0xcd; b.writeUInt16BE(value, this.pos + 1); this.pos += 3; }
        else if (value < 0x100000000) { b[this.pos] = 0xce; b.writeUInt32BE(value, this.pos + 1); this.pos += 5; }
        else { b[this.pos] = 0xcf; b.writeBigUInt64BE(BigInt(value), this.pos + 1); this.pos += 9; }
      } else {
        if (value >= -32) b[this.pos++] = value & 0xff;
        else if (value >= -128) { b[this.pos] = 0xd0; b.writeInt8(value, this.pos + 1); this.pos += 2; }
        else if (value >= -32768) { b[this.pos] = 0xd1; b.writeInt16BE(value, this.pos + 1); this.pos += 3; }
        else if (value >= -2147483648) { b[this.pos] = 0xd2; b.writeInt32BE(value, this.pos + 1); this.pos += 5; }
        else { b[this.pos] = 0xd3; b.writeBigInt64BE(BigInt(value), this.pos + 1); this.pos += 9; }
      }
      return;
    }
    const big = BigInt(value);
    if (big >= -(2n ** 31n) && big < 2n ** 32n) {
      this.integer(Number(big));
      return;
    }
    if (big >= 0n) { b[this.pos] = 0xcf; b.writeBigUInt64BE(big, this.pos + 1); }
    else { b[this.pos] = 0xd3; b.writeBigInt64BE(big, this.pos + 1); }
    this.pos += 9;
  }

  private write(v: CdtValue): void {
    switch (v.kind) {
      case 'nil': this.byte(0xc0); return;
      case 'bool': this.byte(v.value ? 0xc3 : 0xc2); return;
      case 'int': this.integer(v.value); return;
      case 'double':
        this.ensure(9);
        this.buf[this.pos] = 0xcb;
        this.buf.writeDoubleBE(v.value, this.pos + 1);
        this.pos += 9;
        return;
      case 'string': this.prefixedStr(CDT_STRING_PREFIX, v.value); return;
      case 'blob': this.prefixedStr(CDT_BLOB_PREFIX, v.value); return;
      case 'geojson': this.prefixedStr(CDT_GEOJSON_PREFIX, v.value); return;
      case 'list': {
        if (v.order === ListOrder.ORDERED) {
          const items = v.items.slice().sort(compareCdt);
          this.arrayHeader(items.length + 1);
          this.flagsExt(ListOrder.ORDERED);
          for (const item of items) this.write(item);
        } else {
          this.arrayHeader(v.items.length);
          for (const item of v.items) this.write(item);
        }
        return;
      }
      case 'map': {
        if (v.order === MapOrder.UNORDERED) {
          this.mapHeader(v.entries.length);
          for (const [k, val] of v.entries) { this.write(k); this.write(val); }
          return;
        }
        const entries = v.entries.slice().sort((a, b) =>
          compareCdt(a[0], b[0]) || (v.order === MapOrder.KEY_VALUE_ORDERED ? compareCdt(a[1], b[1]) : 0));
        this.mapHeader(entries.length + 1);
        this.flagsExt(v.order);
        this.byte(0xc0);
        for (const [k, val] of entries) { this.write(k); this.write(val); }
        return;
      }
    }
  }
}
