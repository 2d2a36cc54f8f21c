/**
 * The CDT operations the test cluster executes (op codes from the C client's as_cdt / list and map
 * operations): list append / append-items / insert / clear / size / get-by-index, and map put /
 * put-items / clear / size / get-by-key, top level only (no context). Any other CDT op is answered
 * with rc 4 (PARAMETER) — an explicit refusal, never a silent no-op.
 */
import { ParticleType, ResultCode } from '../../src/shared/aerospike/protocol.js';
import {
  compareElements,
  containerHeader,
  elements,
  MsgpackError,
  readContainerHeader,
  readFlagsExt,
  readInteger,
  skipElement,
} from './msgpack.js';

export class CdtError extends Error {
  constructor(readonly resultCode: number, message: string) {
    super(message);
  }
}

export interface Particle {
  particleType: number;
  value: Buffer;
}

const ListOp = { APPEND: 1, APPEND_ITEMS: 2, INSERT: 3, CLEAR: 11, SIZE: 16, GET_BY_INDEX: 19 } as const;
const MapOp = { PUT: 67, PUT_ITEMS: 68, CLEAR: 75, SIZE: 96, GET_BY_KEY: 97 } as const;
const RETURN_VALUE = 7;
const MAP_KEY_ORDERED = 0x01;

interface ParsedCdt {
  opCode: number;
  args: Buffer[];
}

function parseRequest(value: Buffer): ParsedCdt {
  try {
    const header = readContainerHeader(value);
    if (!header || header.kind !== 'list' || header.count < 1) throw new CdtError(ResultCode.PARAMETER_ERROR, 'CDT op is not a list');
    const items = elements(value, header);
    const opCode = readInteger(items[0], 0);
    if (opCode === null) throw new CdtError(ResultCode.PARAMETER_ERROR, 'CDT op code is not an integer');
    return { opCode, args: items.slice(1) };
  } catch (error) {
    if (error instanceof MsgpackError) throw new CdtError(ResultCode.PARAMETER_ERROR, error.message);
    throw error;
  }
}

function integerParticle(n: number): Particle {
  const value = Buffer.allocUnsafe(8);
  value.writeBigInt64BE(BigInt(n));
  return { particleType: ParticleType.INTEGER, value };
}

/** A msgpack element as the particle a client receives for it. */
export function elementParticle(el: Buffer): Particle {
  const b = el[0];
  const int = readInteger(el, 0);
  if (int !== null) {
    const value = Buffer.allocUnsafe(8);
    if (b === 0xcf) el.copy(value, 0, 1, 9);
    else value.writeBigInt64BE(b === 0xd3 ? el.readBigInt64BE(1) : BigInt(int));
    return { particleType: ParticleType.INTEGER, value };
  }
  if (b === 0xc0) return { particleType: ParticleType.NULL, value: Buffer.alloc(0) };
  if (b === 0xc2 || b === 0xc3) return { particleType: ParticleType.BOOL, value: Buffer.from([b === 0xc3 ? 1 : 0]) };
  if (b === 0xcb) return { particleType: ParticleType.FLOAT, value: Buffer.from(el.subarray(1, 9)) };
  if (b === 0xca) {
    const value = Buffer.allocUnsafe(8);
    value.writeDoubleBE(el.readFloatBE(1));
    return { particleType: ParticleType.FLOAT, value };
  }
  const container = readContainerHeader(el);
  if (container) return { particleType: container.kind === 'list' ? ParticleType.LIST : ParticleType.MAP, value: Buffer.from(el) };
  let payload: Buffer;
  if ((b & 0xe0) === 0xa0) payload = el.subarray(1);
  else if (b === 0xd9 || b === 0xc4) payload = el.subarray(2);
  else if (b === 0xda || b === 0xc5) payload = el.subarray(3);
  else payload = el.subarray(5);
  // Aerospike strings and blobs inside CDTs carry their particle type as the first byte.
  if (payload.length > 0) return { particleType: payload[0], value: Buffer.from(payload.subarray(1)) };
  return { particleType: ParticleType.BLOB, value: Buffer.alloc(0) };
}

interface ListView {
  flagsExt: Buffer | null;
  items: Buffer[];
}

function readList(bin: Particle | null): ListView {
  if (!bin) return { flagsExt: null, items: [] };
  if (bin.particleType !== ParticleType.LIST) throw new CdtError(ResultCode.BIN_TYPE_ERROR, 'bin is not a list');
  const header = readContainerHeader(bin.value);
  if (!header) throw new CdtError(ResultCode.PARAMETER_ERROR, 'stored list is not msgpack');
  const items = elements(bin.value, header);
  if (items.length > 0 && readFlagsExt(items[0], 0) >= 0) return { flagsExt: items[0], items: items.slice(1) };
  return { flagsExt: null, items };
}

function writeList(view: ListView): Particle {
  const parts = view.flagsExt ? [view.flagsExt, ...view.items] : view.items;
  return { particleType: ParticleType.LIST, value: Buffer.concat([containerHeader('list', parts.length), ...parts]) };
}

interface MapView {
  flags: number;
  flagsPair: Buffer[] | null;
  keys: Buffer[];
  values: Buffer[];
}

function readMap(bin: Particle | null): MapView {
  if (!bin) return { flags: -1, flagsPair: null, keys: [], values: [] };
  if (bin.particleType !== ParticleType.MAP) throw new CdtError(ResultCode.BIN_TYPE_ERROR, 'bin is not a map');
  const header = readContainerHeader(bin.value);
  if (!header || header.kind !== 'map') throw new CdtError(ResultCode.PARAMETER_ERROR, 'stored map is not msgpack');
  const items = elements(bin.value, header);
  const view: MapView = { flags: 0, flagsPair: null, keys: [], values: [] };
  let start = 0;
  if (items.length >= 2 && readFlagsExt(items[0], 0) >= 0) {
    view.flags = readFlagsExt(items[0], 0);
    view.flagsPair = [items[0], items[1]];
    start = 2;
  }
  for (let i = start; i < items.length; i += 2) {
    view.keys.push(items[i]);
    view.values.push(items[i + 1]);
  }
  return view;
}

function writeMap(view: MapView): Particle {
  const parts: Buffer[] = view.flagsPair ? [...view.flagsPair] : [];
  for (let i = 0; i < view.keys.length; i++) parts.push(view.keys[i], view.values[i]);
  return { particleType: ParticleType.MAP, value: Buffer.concat([containerHeader('map', parts.length / 2), ...parts]) };
}

function mapPut(view: MapView, key: Buffer, value: Buffer): void {
  const index = view.keys.findIndex((k) => k.equals(key));
  if (index >= 0) {
    view.values[index] = value;
    return;
  }
  if ((view.flags & MAP_KEY_ORDERED) !== 0) {
    let at = view.keys.findIndex((k) => compareElements(key, k) < 0);
    if (at < 0) at = view.keys.length;
    view.keys.splice(at, 0, key);
    view.values.splice(at, 0, value);
  } else {
    view.keys.push(key);
    view.values.push(value);
  }
}

/** A new map created by a put: the policy's order attribute decides whether it carries a flags pair. */
function newMap(orderArg: Buffer | undefined): MapView {
  const order = orderArg ? readInteger(orderArg, 0) ?? 0 : 0;
  if ((order & MAP_KEY_ORDERED) === 0) return { flags: 0, flagsPair: null, keys: [], values: [] };
  return { flags: order, flagsPair: [Buffer.from([0xc7, 0x00, order]), Buffer.from([0xc0])], keys: [], values: [] };
}

function indexArg(arg: Buffer | undefined, size: number): number {
  const index = arg ? readInteger(arg, 0) : null;
  if (index === null) throw new CdtError(ResultCode.PARAMETER_ERROR, 'CDT index is not an integer');
  const resolved = index < 0 ? size + index : index;
  return resolved;
}

export interface CdtModifyResult {
  /** The bin after the op; null deletes it. */
  bin: Particle | null;
  response: Particle | null;
}

export function applyCdtModify(bin: Particle | null, request: Buffer): CdtModifyResult {
  const { opCode, args } = parseRequest(request);
  try {
    switch (opCode) {
      case ListOp.APPEND:
      case ListOp.APPEND_ITEMS:
      case ListOp.INSERT: {
        const list = readList(bin);
        if (opCode === ListOp.APPEND) list.items.push(requireArg(args, 0));
        else if (opCode === ListOp.APPEND_ITEMS) list.items.push(...itemsOf(requireArg(args, 0)));
        else {
          const at = indexArg(args[0], list.items.length);
          if (at < 0 || at > list.items.length) throw new CdtError(ResultCode.OP_NOT_APPLICABLE, 'insert index out of bounds');
          list.items.splice(at, 0, requireArg(args, 1));
        }
        return { bin: writeList(list), response: integerParticle(list.items.length) };
      }
      case ListOp.CLEAR: {
        const list = readList(bin);
        list.items = [];
        return { bin: bin ? writeList(list) : null, response: null };
      }
      case MapOp.PUT:
      case MapOp.PUT_ITEMS: {
        const map = bin ? readMap(bin) : newMap(opCode === MapOp.PUT ? args[2] : args[1]);
        if (opCode === MapOp.PUT) mapPut(map, requireArg(args, 0), requireArg(args, 1));
        else {
          const source = readMap({ particleType: ParticleType.MAP, value: requireArg(args, 0) });
          for (let i = 0; i < source.keys.length; i++) mapPut(map, source.keys[i], source.values[i]);
        }
        return { bin: writeMap(map), response: integerParticle(map.keys.length) };
      }
      case MapOp.CLEAR: {
        const map = readMap(bin);
        map.keys = [];
        map.values = [];
        return { bin: bin ? writeMap(map) : null, response: null };
      }
      default: {
        const read = applyCdtRead(bin, request);
        return { bin, response: read };
      }
    }
  } catch (error) {
    if (error instanceof MsgpackError) throw new CdtError(ResultCode.PARAMETER_ERROR, error.message);
    throw error;
  }
}

export function applyCdtRead(bin: Particle | null, request: Buffer): Particle | null {
  const { opCode, args } = parseRequest(request);
  try {
    switch (opCode) {
      case ListOp.SIZE:
        return bin ? integerParticle(readList(bin).items.length) : null;
      case ListOp.GET_BY_INDEX: {
        if (!bin) return null;
        const list = readList(bin);
        requireValueReturn(args[0]);
        const at = indexArg(args[1], list.items.length);
        if (at < 0 || at >= list.items.length) throw new CdtError(ResultCode.OP_NOT_APPLICABLE, 'index out of bounds');
        return elementParticle(list.items[at]);
      }
      case MapOp.SIZE:
        return bin ? integerParticle(readMap(bin).keys.length) : null;
      case MapOp.GET_BY_KEY: {
        if (!bin) return null;
        const map = readMap(bin);
        requireValueReturn(args[0]);
        const index = map.keys.findIndex((k) => k.equals(requireArg(args, 1)));
        return index >= 0 ? elementParticle(map.values[index]) : null;
      }
      default:
        throw new CdtError(ResultCode.PARAMETER_ERROR, `CDT op ${opCode} is not implemented by the test cluster`);
    }
  } catch (error) {
    if (error instanceof MsgpackError) throw new CdtError(ResultCode.PARAMETER_ERROR, error.message);
    throw error;
  }
}

function requireArg(args: Buffer[], index: number): Buffer {
  const arg = args[index];
  if (!arg) throw new CdtError(ResultCode.PARAMETER_ERROR, 'missing CDT argument');
  return arg;
}

function requireValueReturn(arg: Buffer | undefined): void {
  if (!arg || readInteger(arg, 0) !== RETURN_VALUE) {
    throw new CdtError(ResultCode.PARAMETER_ERROR, 'only return type VALUE is implemented by the test cluster');
  }
}

function itemsOf(listElement: Buffer): Buffer[] {
  const header = readContainerHeader(listElement);
  if (!header || header.kind !== 'list') throw new CdtError(ResultCode.PARAMETER_ERROR, 'items argument is not a list');
  const items = elements(listElement, header);
  skipElement(listElement, 0);
  return items;
}
