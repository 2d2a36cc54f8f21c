/**
 * A strict reader of Aerospike list/map particles for the generator's tests: every msgpack str
 * must carry a particle-type prefix (3 string, 4 blob, 23 GeoJSON), flags may only appear as the
 * first element of a list / first pair of a map (with a nil value), counts must match, and
 * nothing may follow the top-level value. It yields the typed form the fixture manifests use
 * (`{type, value}`, lists/maps with `order` and `flags`), so it can be checked against them.
 */

export type Typed =
  | { type: 'nil' }
  | { type: 'bool'; value: boolean }
  | { type: 'int'; value: string }
  | { type: 'double'; bits: string }
  | { type: 'string'; value: string }
  | { type: 'bytes'; value: string }
  | { type: 'geojson'; value: string }
  | { type: 'list'; order: 'unordered' | 'ordered'; flags: number; value: Typed[] }
  | { type: 'map'; order: 'unordered' | 'key-ordered' | 'key-value-ordered'; flags: number; value: [Typed, Typed][] };

export class CdtParseError extends Error {}

export function parseParticle(buf: Buffer, expect: 'list' | 'map'): Typed {
  const reader = new Reader(buf);
  const value = reader.value();
  if (reader.pos !== buf.length) throw new CdtParseError(`${buf.length - reader.pos} trailing byte(s)`);
  if (value.type !== expect) throw new CdtParseError(`particle is a ${value.type}, expected a ${expect}`);
  return value;
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new CdtParseError(`truncated at ${this.pos}`);
  }
  private u8(): number { this.need(1); return this.buf[this.pos++]!; }
  private u16(): number { this.need(2); const v = this.buf.readUInt16BE(this.pos); this.pos += 2; return v; }
  private u32(): number { this.need(4); const v = this.buf.readUInt32BE(this.pos); this.pos += 4; return v; }
  private bytes(n: number): Buffer { this.need(n); const v = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return v; }

  /** The flags of an ext element at the current position, consuming it; null when there is none. */
  private flagsExt(): number | null {
    if (this.buf[this.pos] !== 0xc7 || this.buf[this.pos + 1] !== 0x00) return null;
    this.pos += 2;
    return this.u8();
  }

  value(): Typed {
    const b = this.u8();
    if (b <= 0x7f) return { type: 'int', value: String(b) };
    if (b >= 0xe0) return { type: 'int', value: String(b - 0x100) };
    if ((b & 0xe0) === 0xa0) return this.str(b & 0x1f);
    if ((b & 0xf0) === 0x90) return this.list(b & 0x0f);
    if ((b & 0xf0) === 0x80) return this.map(b & 0x0f);
    switch (b) {
      case 0xc0: return { type: 'nil' };
      case 0xc2: return { type: 'bool', value: false };
      case 0xc3: return { type: 'bool', value: true };
      case 0xc4: return this.str(this.u8());
      case 0xc5: return this.str(this.u16());
      case 0xc6: return this.str(this.u32());
      case 0xd9: return this.str(this.u8());
      case 0xda: return this.str(this.u16());
      case 0xdb: return this.str(this.u32());
      case 0xcb: return { type: 'double', bits: this.bytes(8).toString('hex') };
      case 0xcc: return { type: 'int', value: String(this.u8()) };
      case 0xcd: return { type: 'int', value: String(this.u16()) };
      case 0xce: return { type: 'int', value: String(this.u32()) };
      case 0xcf: return { type: 'int', value: this.bytes(8).readBigUInt64BE().toString() };
      case 0xd0: return { type: 'int', value: String(this.bytes(1).readInt8()) };
      case 0xd1: return { type: 'int', value: String(this.bytes(2).readInt16BE()) };
      case 0xd2: return { type: 'int', value: String(this.bytes(4).readInt32BE()) };
      case 0xd3: return { type: 'int', value: this.bytes(8).readBigInt64BE().toString() };
      case 0xdc: return this.list(this.u16());
      case 0xdd: return this.list(this.u32());
      case 0xde: return this.map(this.u16());
      case 0xdf: return this.map(this.u32());
      default: throw new CdtParseError(`unexpected msgpack byte 0x${b.toString(16)} at ${this.pos - 1}`);
    }
  }

  private str(length: number): Typed {
    if (length === 0) throw new CdtParseError(`msgpack str without a particle-type prefix at ${this.pos}`);
    const prefix = this.u8();
    const payload = this.bytes(length - 1);
    switch (prefix) {
      case 3: return { type: 'string', value: payload.toString('utf8') };
      case 4: return { type: 'bytes', value: payload.toString('base64') };
      case 23: return { type: 'geojson', value: payload.toString('utf8') };
      default: throw new CdtParseError(`msgpack str with particle-type prefix ${prefix} at ${this.pos - length}`);
    }
  }

  private list(count: number): Typed {
    let flags = 0;
    let n = count;
    if (n > 0) {
      const f = this.flagsExt();
      if (f !== null) { flags = f; n--; }
    }
    if (flags !== 0 && flags !== 1) throw new CdtParseError(`list flags ${flags}`);
    const value: Typed[] = [];
    for (let i = 0; i < n; i++) {
      if (this.buf[this.pos] === 0xc7 && this.buf[this.pos + 1] === 0x00) throw new CdtParseError('flags ext inside a list');
      value.push(this.value());
    }
    return { type: 'list', order: flags === 1 ? 'ordered' : 'unordered', flags, value };
  }

  private map(count: number): Typed {
    let flags = 0;
    let n = count;
    if (n > 0) {
      const f = this.flagsExt();
      if (f !== null) {
        flags = f;
        if (this.u8() !== 0xc0) throw new CdtParseError('map flags pair without a nil value');
        n--;
      }
    }
    if (flags !== 0 && flags !== 1 && flags !== 3) throw new CdtParseError(`map flags ${flags}`);
    const value: [Typed, Typed][] = [];
    for (let i = 0; i < n; i++) value.push([this.value(), this.value()]);
    const order = flags === 1 ? 'key-ordered' : flags === 3 ? 'key-value-ordered' : 'unordered';
    return { type: 'map', order, flags, value };
  }
}
