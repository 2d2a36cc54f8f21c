/**
 * The few msgpack facts the test cluster needs for CDT bins (Aerospike flavour, cf/src/msgpack_in.c):
 * element boundaries, integers, headers, and the ext element that carries list/map flags. Values stay
 * as raw bytes so that whatever a client wrote comes back byte for byte.
 */

export class MsgpackError extends Error {}

/** Offset just past the element that starts at `offset`. */
export function skipElement(buf: Buffer, offset: number): number {
  if (offset >= buf.length) throw new MsgpackError('truncated msgpack');
  const b = buf[offset];
  if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return offset + 1;
  if ((b & 0xe0) === 0xa0) return checked(buf, offset + 1 + (b & 0x1f));
  if ((b & 0xf0) === 0x90) return skipN(buf, offset + 1, b & 0x0f);
  if ((b & 0xf0) === 0x80) return skipN(buf, offset + 1, (b & 0x0f) * 2);
  switch (b) {
    case 0xc4: case 0xd9: return checked(buf, offset + 2 + u(buf, offset + 1, 1));
    case 0xc5: case 0xda: return checked(buf, offset + 3 + u(buf, offset + 1, 2));
    case 0xc6: case 0xdb: return checked(buf, offset + 5 + u(buf, offset + 1, 4));
    case 0xc7: return checked(buf, offset + 3 + u(buf, offset + 1, 1));
    case 0xc8: return checked(buf, offset + 4 + u(buf, offset + 1, 2));
    case 0xc9: return checked(buf, offset + 6 + u(buf, offset + 1, 4));
    case 0xca: return checked(buf, offset + 5);
    case 0xcb: return checked(buf, offset + 9);
    case 0xcc: case 0xd0: return checked(buf, offset + 2);
    case 0xcd: case 0xd1: return checked(buf, offset + 3);
    case 0xce: case 0xd2: return checked(buf, offset + 5);
    case 0xcf: case 0xd3: return checked(buf, offset + 9);
    case 0xd4: return checked(buf, offset + 3);
    case 0xd5: return checked(buf, offset + 4);
    case 0xd6: return checked(buf, offset + 6);
    case 0xd7: return checked(buf, offset + 10);
    case 0xd8: return checked(buf, offset + 18);
    case 0xdc: return skipN(buf, offset + 3, u(buf, offset + 1, 2));
    case 0xdd: return skipN(buf, offset + 5, u(buf, offset + 1, 4));
    case 0xde: return skipN(buf, offset + 3, u(buf, offset + 1, 2) * 2);
    case 0xdf: return skipN(buf, offset + 5, u(buf, offset + 1, 4) * 2);
    default: throw new MsgpackError(`bad msgpack byte 0x${b.toString(16)}`);
  }
}

function u(buf: Buffer, offset: number, size: number): number {
  if (offset + size > buf.length) throw new MsgpackError('truncated msgpack');
  return buf.readUIntBE(offset, size);
}

function checked(buf: Buffer, end: number): number {
  if (end > buf.length) throw new MsgpackError('truncated msgpack');
  return end;
}

function skipN(buf: Buffer, offset: number, count: number): number {
  for (let i = 0; i < count; i++) offset = skipElement(buf, offset);
  return offset;
}

/** Checks that `buf` is exactly one well-formed element. */
export function isSingleElement(buf: Buffer): boolean {
  try {
    return skipElement(buf, 0) === buf.length;
  } catch {
    return false;
  }
}

export interface Container {
  kind: 'list' | 'map';
  /** Number of elements (maps: pairs) as the header counts them, including a leading flags ext. */
  count: number;
  /** Offset of the first element after the header. */
  bodyOffset: number;
}

export function readContainerHeader(buf: Buffer, offset = 0): Container | null {
  const b = buf[offset];
  if ((b & 0xf0) === 0x90) return { kind: 'list', count: b & 0x0f, bodyOffset: offset + 1 };
  if ((b & 0xf0) === 0x80) return { kind: 'map', count: b & 0x0f, bodyOffset: offset + 1 };
  if (b === 0xdc) return { kind: 'list', count: u(buf, offset + 1, 2), bodyOffset: offset + 3 };
  if (b === 0xdd) return { kind: 'list', count: u(buf, offset + 1, 4), bodyOffset: offset + 5 };
  if (b === 0xde) return { kind: 'map', count: u(buf, offset + 1, 2), bodyOffset: offset + 3 };
  if (b === 0xdf) return { kind: 'map', count: u(buf, offset + 1, 4), bodyOffset: offset + 5 };
  return null;
}

/** An ext element of length 0 (`c7 00 <type>`): Aerospike's list/map flags marker. Returns the flags or -1. */
export function readFlagsExt(buf: Buffer, offset: number): number {
  if (buf[offset] === 0xc7 && buf[offset + 1] === 0x00) return buf[offset + 2];
  return -1;
}

export function containerHeader(kind: 'list' | 'map', count: number): Buffer {
  const small = kind === 'list' ? 0x90 : 0x80;
  if (count < 16) return Buffer.from([small | count]);
  if (count < 0x10000) {
    const buf = Buffer.allocUnsafe(3);
    buf[0] = kind === 'list' ? 0xdc : 0xde;
    buf.writeUInt16BE(count, 1);
    return buf;
  }
  const buf = Buffer.allocUnsafe(5);
  buf[0] = kind === 'list' ? 0xdd : 0xdf;
  buf.writeUInt32BE(count, 1);
  return buf;
}

export function readInteger(buf: Buffer, offset: number): number | null {
  const b = buf[offset];
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xcc: return buf.readUInt8(offset + 1);
    case 0xcd: return buf.readUInt16BE(offset + 1);
    case 0xce: return buf.readUInt32BE(offset + 1);
    case 0xcf: return Number(buf.readBigUInt64BE(offset + 1));
    case 0xd0: return buf.readInt8(offset + 1);
    case 0xd1: return buf.readInt16BE(offset + 1);
    case 0xd2: return buf.readInt32BE(offset + 1);
    case 0xd3: return Number(buf.readBigInt64BE(offset + 1));
    default: return null;
  }
}

/** The element slices of a list/map body (maps: key, value, key, value...). */
export function elements(buf: Buffer, container: Container): Buffer[] {
  const n = container.kind === 'map' ? container.count * 2 : container.count;
  const out: Buffer[] = [];
  let offset = container.bodyOffset;
  for (let i = 0; i < n; i++) {
    const end = skipElement(buf, offset);
    out.push(buf.subarray(offset, end));
    offset = end;
  }
  return out;
}

/**
 * Orders two elements as Aerospike's ordered maps/lists do for the common types: by type class
 * (nil, bool, integer, string, ...), then integers by value and strings/blobs bytewise. Other
 * kinds fall back to a bytewise comparison.
 */
export function compareElements(a: Buffer, b: Buffer): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 2) {
    const ia = readInteger(a, 0) ?? 0;
    const ib = readInteger(b, 0) ?? 0;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  }
  if (ra === 3) return Buffer.compare(stringPayload(a), stringPayload(b));
  return Buffer.compare(a, b);
}

function typeRank(el: Buffer): number {
  const b = el[0];
  if (b === 0xc0) return 0;
  if (b === 0xc2 || b === 0xc3) return 1;
  if (readInteger(el, 0) !== null) return 2;
  if ((b & 0xe0) === 0xa0 || b === 0xd9 || b === 0xda || b === 0xdb || b === 0xc4 || b === 0xc5 || b === 0xc6) return 3;
  if (readContainerHeader(el)?.kind === 'list') return 4;
  if (readContainerHeader(el)?.kind === 'map') return 5;
  return 6;
}

function stringPayload(el: Buffer): Buffer {
  const b = el[0];
  if ((b & 0xe0) === 0xa0) return el.subarray(1);
  if (b === 0xd9 || b === 0xc4) return el.subarray(2);
  if (b === 0xda || b === 0xc5) return el.subarray(3);
  return el.subarray(5);
}
