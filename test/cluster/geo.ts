/**
 * GeoJSON particles as the server keeps them (as/src/base/particle_geojson.c): the wire value is
 * `flags:u8, ncells:u16, ncells × u64 cell ids, JSON text`. The server ignores the cells a client
 * sends, validates the JSON and, on read, returns the cells it computed itself.
 *
 * What this module computes: for a Point, the one S2 leaf cell (level 30) that holds it, which is
 * what a real server returns (checked against a capture: [103.9, 1.3] gives 0x31da186fa847d593).
 * For Polygon, MultiPolygon and AeroCircle the server stores an S2 region covering of many cells;
 * this cluster stores none (ncells = 0) for them — see README "GeoJSON".
 */

export class InvalidGeoJson extends Error {}

const LOOKUP_BITS = 4;
const SWAP_MASK = 1;
const INVERT_MASK = 2;
const POS_TO_IJ = [
  [0, 1, 3, 2],
  [0, 2, 3, 1],
  [3, 2, 0, 1],
  [3, 1, 0, 2],
];
const POS_TO_ORIENTATION = [SWAP_MASK, 0, 0, INVERT_MASK | SWAP_MASK];
const lookupPos = new Int32Array(1 << (2 * LOOKUP_BITS + 2));

function initLookupCell(level: number, i: number, j: number, origOrientation: number, pos: number, orientation: number): void {
  if (level === LOOKUP_BITS) {
    const ij = (i << LOOKUP_BITS) + j;
    lookupPos[(ij << 2) + origOrientation] = (pos << 2) + orientation;
    return;
  }
  level++;
  i <<= 1;
  j <<= 1;
  pos <<= 2;
  const r = POS_TO_IJ[orientation];
  for (let index = 0; index < 4; index++) {
    initLookupCell(level, i + (r[index] >> 1), j + (r[index] & 1), origOrientation, pos + index, orientation ^ POS_TO_ORIENTATION[index]);
  }
}
for (let orientation = 0; orientation < 4; orientation++) initLookupCell(0, 0, 0, orientation, 0, orientation);

const MAX_LEVEL = 30;
const MAX_SIZE = 1 << MAX_LEVEL;

function uvToSt(u: number): number {
  return u >= 0 ? 0.5 * Math.sqrt(1 + 3 * u) : 1 - 0.5 * Math.sqrt(1 - 3 * u);
}

function stToIj(s: number): number {
  return Math.max(0, Math.min(MAX_SIZE - 1, Math.floor(MAX_SIZE * s)));
}

/** The S2 leaf cell id of a point given in degrees. */
export function s2LeafCellId(lngDeg: number, latDeg: number): bigint {
  const lat = (latDeg * Math.PI) / 180;
  const lng = (lngDeg * Math.PI) / 180;
  const x = Math.cos(lat) * Math.cos(lng);
  const y = Math.cos(lat) * Math.sin(lng);
  const z = Math.sin(lat);
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const az = Math.abs(z);
  let face = ax > ay ? (ax > az ? 0 : 2) : ay > az ? 1 : 2;
  const component = face === 0 ? x : face === 1 ? y : z;
  if (component < 0) face += 3;
  let u: number;
  let v: number;
  switch (face) {
    case 0: u = y / x; v = z / x; break;
    case 1: u = -x / y; v = z / y; break;
    case 2: u = -x / z; v = -y / z; break;
    case 3: u = z / x; v = y / x; break;
    case 4: u = z / y; v = -x / y; break;
    default: u = -y / z; v = -x / z; break;
  }
  const i = stToIj(uvToSt(u));
  const j = stToIj(uvToSt(v));
  let n = BigInt(face) << 60n;
  let bits = face & SWAP_MASK;
  const mask = (1 << LOOKUP_BITS) - 1;
  for (let k = 7; k >= 0; k--) {
    bits += ((i >> (k * LOOKUP_BITS)) & mask) << (LOOKUP_BITS + 2);
    bits += ((j >> (k * LOOKUP_BITS)) & mask) << 2;
    bits = lookupPos[bits];
    n |= BigInt(bits >> 2) << BigInt(k * 2 * LOOKUP_BITS);
    bits &= SWAP_MASK | INVERT_MASK;
  }
  return (n << 1n) | 1n;
}

function isPosition(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length >= 2 && value.every((c) => typeof c === 'number' && Number.isFinite(c));
}

function isLinearRing(value: unknown): boolean {
  return Array.isArray(value) && value.length >= 4 && value.every(isPosition);
}

function isPolygon(value: unknown): boolean {
  return Array.isArray(value) && value.length >= 1 && value.every(isLinearRing);
}

/** Validates the JSON text of a GeoJSON particle; returns the cells the server would store. */
export function geoJsonCells(jsonText: string): bigint[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonText);
  } catch {
    throw new InvalidGeoJson('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidGeoJson('not an object');
  const geo = parsed as { type?: unknown; coordinates?: unknown };
  switch (geo.type) {
    case 'Point': {
      if (!isPosition(geo.coordinates)) throw new InvalidGeoJson('bad Point coordinates');
      const [lng, lat] = geo.coordinates;
      if (lat < -90 || lat > 90 || lng < -180 || lng > 180) throw new InvalidGeoJson('Point out of range');
      return [s2LeafCellId(lng, lat)];
    }
    case 'Polygon':
      if (!isPolygon(geo.coordinates)) throw new InvalidGeoJson('bad Polygon coordinates');
      return [];
    case 'MultiPolygon':
      if (!Array.isArray(geo.coordinates) || !geo.coordinates.every(isPolygon)) {
        throw new InvalidGeoJson('bad MultiPolygon coordinates');
      }
      return [];
    case 'AeroCircle': {
      const c = geo.coordinates;
      if (!Array.isArray(c) || c.length !== 2 || !isPosition(c[0]) || typeof c[1] !== 'number' || c[1] < 0) {
        throw new InvalidGeoJson('bad AeroCircle coordinates');
      }
      return [];
    }
    default:
      throw new InvalidGeoJson('unsupported GeoJSON type');
  }
}

/**
 * Turns a client's GeoJSON particle into the stored form: the client's cells are dropped and the
 * computed ones put in. Throws InvalidGeoJson (the server answers rc 160).
 */
export function storedGeoJson(value: Buffer): Buffer {
  if (value.length < 3) throw new InvalidGeoJson('truncated GeoJSON particle');
  const incomingCells = value.readUInt16BE(1);
  const jsonStart = 3 + incomingCells * 8;
  if (jsonStart > value.length) throw new InvalidGeoJson('truncated GeoJSON cells');
  const json = value.subarray(jsonStart);
  const cells = geoJsonCells(json.toString('utf8'));
  const out = Buffer.allocUnsafe(3 + cells.length * 8 + json.length);
  out[0] = value[0];
  out.writeUInt16BE(cells.length, 1);
  cells.forEach((cell, i) => out.writeBigUInt64BE(cell, 3 + i * 8));
  json.copy(out, 3 + cells.length * 8);
  return out;
}
