/**
 * One single-record transaction against a node's store, following the server's write_master /
 * read / delete paths (as/src/transaction/write.c, read.c, delete.c, rw_utils*.c): the order of the
 * checks decides which result code a client sees, so it is kept.
 */
import { Info1, Info2, Info3, OpType, ParticleType, ResultCode, TTL_DONT_UPDATE, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import type { AnswerOp, MsgOp } from './wire.js';
import {
  MAX_ALLOWED_TTL,
  NamespaceStore,
  nowVoidTimeBase,
  recordSize,
  type StoredBin,
  type StoredKey,
  decodeRecord,
  encodedSet,
  encodeRecord,
} from './store.js';

const NO_SET = Buffer.alloc(0);
import { InvalidGeoJson, storedGeoJson } from './geo.js';
import { applyCdtModify, applyCdtRead, CdtError } from './cdt.js';
import { isSingleElement } from './msgpack.js';

/** AS_BIN_NAME_MAX_SZ is 16 with the NUL: 15 bytes at most. */
const BIN_NAME_MAX = 15;

export interface RecordRequest {
  info1: number;
  info2: number;
  info3: number;
  generation: number;
  recordTtl: number;
  /** The SET field's value; null when the message had no SET field. */
  setName: Buffer | null;
  digest: Buffer;
  key: StoredKey | null;
  ops: MsgOp[];
}

export interface RecordOutcome {
  resultCode: number;
  generation: number;
  voidTime: number;
  ops: AnswerOp[];
  /** What changed, for replication: the new encoded record, or 'deleted'. Absent when nothing changed. */
  change?: Buffer | 'deleted';
}

class OpFailure extends Error {
  constructor(readonly resultCode: number) {
    super(`rc ${resultCode}`);
  }
}

function fail(resultCode: number, generation = 0, voidTime = 0): RecordOutcome {
  return { resultCode, generation, voidTime, ops: [] };
}

function isModifyOp(op: number): boolean {
  return op === OpType.INCR || op === OpType.APPEND || op === OpType.PREPEND;
}

function binNameOk(name: Buffer): boolean {
  return name.length <= BIN_NAME_MAX && !name.includes(0);
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.equals(b);
}

export function executeRecord(store: NamespaceStore, req: RecordRequest, nowMs = Date.now()): RecordOutcome {
  const isWrite = (req.info2 & Info2.WRITE) !== 0;
  const isRead = (req.info1 & Info1.READ) !== 0;
  if (isWrite) {
    if ((req.info2 & Info2.DELETE) !== 0 && req.ops.length === 0) return executeDelete(store, req, nowMs);
    return executeWrite(store, req, nowMs);
  }
  if (isRead) return executeRead(store, req, nowMs);
  return fail(ResultCode.PARAMETER_ERROR);
}

function generationOk(req: RecordRequest, storedGeneration: number): boolean {
  if ((req.info2 & Info2.GENERATION) !== 0) return req.generation === storedGeneration;
  if ((req.info2 & Info2.GENERATION_GT) !== 0) return req.generation > storedGeneration;
  return true;
}

function executeDelete(store: NamespaceStore, req: RecordRequest, nowMs: number): RecordOutcome {
  const record = store.get(req.digest, nowMs);
  if (!record) return fail(ResultCode.KEY_NOT_FOUND);
  if (!generationOk(req, record.generation)) return fail(ResultCode.GENERATION_ERROR);
  store.delete(req.digest);
  return { resultCode: ResultCode.OK, generation: 0, voidTime: 0, ops: [], change: 'deleted' };
}

function executeRead(store: NamespaceStore, req: RecordRequest, nowMs: number): RecordOutcome {
  const record = store.get(req.digest, nowMs);
  if (!record) return fail(ResultCode.KEY_NOT_FOUND);
  const ops: AnswerOp[] = [];
  if ((req.info1 & Info1.GET_NO_BINS) === 0) {
    if ((req.info1 & Info1.GET_ALL) !== 0) {
      for (const bin of record.bins) ops.push(binAnswer(bin));
    } else {
      try {
        for (const op of req.ops) {
          if (op.op === OpType.READ) {
            if (op.name.length === 0) {
              for (const bin of record.bins) ops.push(binAnswer(bin));
              continue;
            }
            const bin = findBin(record.bins, op.name);
            if (bin) ops.push(binAnswer(bin));
          } else if (op.op === OpType.CDT_READ) {
            const bin = findBin(record.bins, op.name);
            const result = applyCdtRead(bin ? { particleType: bin.particleType, value: bin.value } : null, op.value);
            ops.push({ op: OpType.CDT_READ, particleType: result?.particleType ?? 0, name: op.name, value: result?.value ?? null });
          } else {
            return fail(ResultCode.PARAMETER_ERROR);
          }
        }
      } catch (error) {
        if (error instanceof CdtError) return fail(error.resultCode, record.generation, record.voidTime);
        throw error;
      }
    }
  }
  return { resultCode: ResultCode.OK, generation: record.generation, voidTime: record.voidTime, ops };
}

function binAnswer(bin: StoredBin, op: number = OpType.READ): AnswerOp {
  return { op, particleType: bin.particleType, name: bin.name, value: bin.value };
}

function findBinIndex(bins: readonly StoredBin[], name: Buffer): number {
  for (let i = 0; i < bins.length; i++) if (sameBytes(bins[i].name, name)) return i;
  return -1;
}

function findBin(bins: readonly StoredBin[], name: Buffer): StoredBin | undefined {
  const index = findBinIndex(bins, name);
  return index >= 0 ? bins[index] : undefined;
}

/** write_master_policies: checks that need no record. Returns an rc, or flags. */
function checkWritePolicies(req: RecordRequest): number | { mustNotCreate: boolean; isReplace: boolean } {
  if (req.ops.length === 0) return ResultCode.PARAMETER_ERROR;
  let mustNotCreate = (req.info3 & (Info3.UPDATE_ONLY | Info3.REPLACE_ONLY)) !== 0;
  const isReplace = (req.info3 & (Info3.CREATE_OR_REPLACE | Info3.REPLACE_ONLY)) !== 0;
  const getAll = (req.info1 & Info1.GET_ALL) !== 0;
  const respondAllOps = (req.info2 & Info2.RESPOND_ALL_OPS) !== 0;
  let hasReadOp = false;
  let hasReadAllOp = false;
  let generatesResponseBin = false;
  for (const op of req.ops) {
    if (op.op === OpType.TOUCH) {
      if (isReplace) return ResultCode.PARAMETER_ERROR;
      mustNotCreate = true;
      continue;
    }
    if (!binNameOk(op.name)) return ResultCode.BIN_NAME_TOO_LONG;
    if (op.op === OpType.WRITE) {
      if (op.particleType === ParticleType.NULL && isReplace) return ResultCode.PARAMETER_ERROR;
    } else if (isModifyOp(op.op) || op.op === OpType.DELETE_ALL) {
      if (isReplace) return ResultCode.PARAMETER_ERROR;
    } else if (op.op === OpType.READ && op.name.length === 0 && getAll) {
      if (respondAllOps || hasReadAllOp) return ResultCode.PARAMETER_ERROR;
      hasReadOp = true;
      hasReadAllOp = true;
    } else if (op.op === OpType.READ || op.op === OpType.CDT_READ) {
      hasReadOp = true;
      generatesResponseBin = true;
    } else if (op.op === OpType.CDT_MODIFY) {
      if (isReplace) return ResultCode.PARAMETER_ERROR;
      generatesResponseBin = true;
    }
  }
  if (hasReadOp && (req.info1 & Info1.READ) === 0) return ResultCode.PARAMETER_ERROR;
  if (hasReadAllOp && generatesResponseBin) return ResultCode.PARAMETER_ERROR;
  if (getAll && !hasReadAllOp) return ResultCode.PARAMETER_ERROR;
  return { mustNotCreate, isReplace };
}

/**
 * Converts a client WRITE value into the stored particle (particle_*.c from_client checks). May return
 * a view into the request: encodeRecord copies every value into the record's own buffer.
 */
function storedValue(op: MsgOp): Buffer {
  switch (op.particleType) {
    case ParticleType.INTEGER: {
      if (op.value.length === 8) return op.value;
      if (op.value.length === 1 || op.value.length === 2 || op.value.length === 4) {
        const out = Buffer.alloc(8);
        out.writeUIntBE(op.value.readUIntBE(0, op.value.length), 8 - op.value.length, op.value.length);
        return out;
      }
      throw new OpFailure(ResultCode.PARAMETER_ERROR);
    }
    case ParticleType.FLOAT:
      if (op.value.length !== 8) throw new OpFailure(ResultCode.PARAMETER_ERROR);
      return op.value;
    case ParticleType.BOOL:
      if (op.value.length !== 1 || op.value[0] > 1) throw new OpFailure(ResultCode.PARAMETER_ERROR);
      return op.value;
    case ParticleType.STRING:
    case ParticleType.BLOB:
    case ParticleType.JAVA_BLOB:
    case ParticleType.CSHARP_BLOB:
    case ParticleType.PYTHON_BLOB:
    case ParticleType.RUBY_BLOB:
    case ParticleType.PHP_BLOB:
    case ParticleType.ERLANG_BLOB:
    case ParticleType.HLL:
      return op.value;
    case ParticleType.LIST:
    case ParticleType.MAP:
      if (!isSingleElement(op.value)) throw new OpFailure(ResultCode.PARAMETER_ERROR);
      return op.value;
    case ParticleType.GEOJSON:
      try {
        return storedGeoJson(op.value);
      } catch (error) {
        if (error instanceof InvalidGeoJson) throw new OpFailure(ResultCode.GEO_INVALID_GEOJSON);
        throw error;
      }
    default:
      throw new OpFailure(ResultCode.BIN_TYPE_ERROR);
  }
}

function modifiedValue(bin: StoredBin | undefined, op: MsgOp): { particleType: number; value: Buffer } {
  if (op.op === OpType.INCR) {
    if (op.particleType === ParticleType.INTEGER) {
      if (![1, 2, 4, 8].includes(op.value.length)) throw new OpFailure(ResultCode.PARAMETER_ERROR);
      const delta = op.value.length === 8 ? op.value.readBigInt64BE(0) : BigInt(op.value.readUIntBE(0, op.value.length));
      if (bin && bin.particleType !== ParticleType.INTEGER) throw new OpFailure(ResultCode.BIN_TYPE_ERROR);
      const current = bin ? bin.value.readBigInt64BE(0) : 0n;
      const out = Buffer.allocUnsafe(8);
      out.writeBigInt64BE(BigInt.asIntN(64, current + delta));
      return { particleType: ParticleType.INTEGER, value: out };
    }
    if (op.particleType === ParticleType.FLOAT) {
      if (op.value.length !== 8) throw new OpFailure(ResultCode.PARAMETER_ERROR);
      if (bin && bin.particleType !== ParticleType.FLOAT) throw new OpFailure(ResultCode.BIN_TYPE_ERROR);
      const out = Buffer.allocUnsafe(8);
      out.writeDoubleBE((bin ? bin.value.readDoubleBE(0) : 0) + op.value.readDoubleBE(0));
      return { particleType: ParticleType.FLOAT, value: out };
    }
    throw new OpFailure(ResultCode.BIN_TYPE_ERROR);
  }
  // APPEND / PREPEND: strings and blobs, same type as the bin.
  if (op.particleType !== ParticleType.STRING && op.particleType !== ParticleType.BLOB) {
    throw new OpFailure(ResultCode.BIN_TYPE_ERROR);
  }
  if (!bin) return { particleType: op.particleType, value: op.value };
  if (bin.particleType !== op.particleType) throw new OpFailure(ResultCode.BIN_TYPE_ERROR);
  const value = op.op === OpType.APPEND ? Buffer.concat([bin.value, op.value]) : Buffer.concat([op.value, bin.value]);
  return { particleType: bin.particleType, value };
}

function nextGeneration(generation: number): number {
  const next = (generation + 1) & 0xffff;
  return next === 0 ? 1 : next;
}

function executeWrite(store: NamespaceStore, req: RecordRequest, nowMs: number): RecordOutcome {
  const config = store.config;
  const policies = checkWritePolicies(req);
  if (typeof policies === 'number') return fail(policies);
  const { mustNotCreate, isReplace } = policies;

  const existingEncoded = store.getEncoded(req.digest, nowMs);
  const existing = existingEncoded ? decodeRecord(req.digest, existingEncoded) : undefined;
  if (mustNotCreate && !existing) return fail(ResultCode.KEY_NOT_FOUND);
  const generation = existing?.generation ?? 0;
  const currentVoidTime = existing?.voidTime ?? 0;
  // From here a failure answers with the record's current generation and void time (tr->generation).
  const failHere = (rc: number) => fail(rc, generation, currentVoidTime);

  if ((req.info2 & Info2.CREATE_ONLY) !== 0 && existing) return failHere(ResultCode.KEY_EXISTS);
  if (!generationOk(req, generation)) return failHere(ResultCode.GENERATION_ERROR);

  const setBytes = req.setName ?? NO_SET;
  if (existingEncoded && !encodedSet(existingEncoded).equals(setBytes)) return failHere(ResultCode.PARAMETER_ERROR);

  let key: StoredKey | null = existing?.key ?? null;
  if (existing?.key && req.key) {
    if (existing.key.particleType !== req.key.particleType || !sameBytes(existing.key.value, req.key.value)) {
      return failHere(ResultCode.KEY_MISMATCH);
    }
  } else if (!existing?.key && req.key) {
    key = req.key;
  }

  let ttl = req.recordTtl >>> 0;
  if (ttl === TTL_DONT_UPDATE && !existing) ttl = 0;
  if (!(ttl <= MAX_ALLOWED_TTL || ttl === TTL_NEVER_EXPIRE || ttl === TTL_DONT_UPDATE)) {
    return failHere(ResultCode.PARAMETER_ERROR);
  }
  const ttlDisallowed =
    ((ttl | 0) > 0 || (ttl === 0 && config.defaultTtl !== 0)) && config.nsupPeriod === 0 && !config.allowTtlWithoutNsup;
  if (ttlDisallowed) return failHere(ResultCode.FAIL_FORBIDDEN);

  const now = nowVoidTimeBase(nowMs);
  let voidTime: number;
  if (ttl === 0) voidTime = config.defaultTtl !== 0 ? now + config.defaultTtl : 0;
  else if (ttl === TTL_NEVER_EXPIRE) voidTime = 0;
  else if (ttl === TTL_DONT_UPDATE) voidTime = currentVoidTime;
  else voidTime = now + ttl;
  if (existing && !config.applyTtlReductions && ((currentVoidTime === 0 && voidTime !== 0) || voidTime < currentVoidTime)) {
    voidTime = currentVoidTime;
  }

  const bins: StoredBin[] = isReplace || !existing ? [] : existing.bins.slice();
  const respondAllOps = (req.info2 & Info2.RESPOND_ALL_OPS) !== 0;
  const answerOps: AnswerOp[] = [];
  const newGeneration = nextGeneration(generation);

  const setBin = (name: Buffer, particleType: number, value: Buffer) => {
    const index = findBinIndex(bins, name);
    if (index >= 0) bins[index] = { name: bins[index].name, particleType, value };
    else bins.push({ name, particleType, value });
  };
  const deleteBin = (name: Buffer) => {
    const index = findBinIndex(bins, name);
    if (index >= 0) bins.splice(index, 1);
  };

  try {
    for (const op of req.ops) {
      switch (op.op) {
        case OpType.TOUCH:
          break;
        case OpType.WRITE:
          if (op.particleType === ParticleType.NULL) deleteBin(op.name);
          else setBin(op.name, op.particleType, storedValue(op));
          if (respondAllOps) answerOps.push({ op: op.op, particleType: 0, name: op.name, value: null });
          break;
        case OpType.INCR:
        case OpType.APPEND:
        case OpType.PREPEND: {
          const result = modifiedValue(findBin(bins, op.name), op);
          setBin(op.name, result.particleType, result.value);
          if (respondAllOps) answerOps.push({ op: op.op, particleType: 0, name: op.name, value: null });
          break;
        }
        case OpType.DELETE_ALL:
          bins.length = 0;
          if (respondAllOps) answerOps.push({ op: op.op, particleType: 0, name: op.name, value: null });
          break;
        case OpType.CDT_MODIFY: {
          const bin = findBin(bins, op.name);
          const result = applyCdtModify(bin ? { particleType: bin.particleType, value: bin.value } : null, op.value);
          if (result.bin) setBin(op.name, result.bin.particleType, result.bin.value);
          else deleteBin(op.name);
          if (respondAllOps || result.response) {
            answerOps.push({
              op: op.op,
              particleType: result.response?.particleType ?? 0,
              name: op.name,
              value: result.response?.value ?? null,
            });
          }
          break;
        }
        case OpType.READ:
          if (op.name.length === 0) {
            for (const bin of bins) answerOps.push(binAnswer(bin));
          } else {
            const bin = findBin(bins, op.name);
            if (bin) answerOps.push(binAnswer(bin));
            else if (respondAllOps) answerOps.push({ op: op.op, particleType: 0, name: op.name, value: null });
          }
          break;
        case OpType.CDT_READ: {
          const bin = findBin(bins, op.name);
          const result = applyCdtRead(bin ? { particleType: bin.particleType, value: bin.value } : null, op.value);
          answerOps.push({ op: op.op, particleType: result?.particleType ?? 0, name: op.name, value: result?.value ?? null });
          break;
        }
        default:
          throw new OpFailure(ResultCode.PARAMETER_ERROR);
      }
    }
  } catch (error) {
    if (error instanceof OpFailure || error instanceof CdtError) return failHere(error.resultCode);
    throw error;
  }

  if (bins.length === 0) {
    // The write removed every bin: it becomes a delete, or fails if there was nothing to delete.
    if (!existing) return failHere(ResultCode.KEY_NOT_FOUND);
    store.delete(req.digest);
    return { resultCode: ResultCode.OK, generation: 0, voidTime: 0, ops: answerOps, change: 'deleted' };
  }

  if (recordSize(setBytes.length, key, bins) > config.maxRecordSize) return failHere(ResultCode.RECORD_TOO_BIG);

  const encoded = encodeRecord({ setName: '', key, bins, generation: newGeneration, voidTime, lastUpdateMs: nowMs }, setBytes);
  store.putEncoded(req.digest, encoded);
  return { resultCode: ResultCode.OK, generation: newGeneration, voidTime, ops: answerOps, change: encoded };
}
