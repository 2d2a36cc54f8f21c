/**
 * The batch index request (field 41) as the server reads it (as/src/base/batch.c as_batch_queue_task):
 * `count:u32 parent_flags:u8`, then rows `index:u32 digest:20 meta:u8 [rest unless REPEAT]`. A bad row
 * (REPEAT first or after a KEY row, unknown namespace, truncation, fewer rows than count) ends parsing;
 * the whole batch is then answered with a lone LAST message carrying rc 4.
 */
import { BatchRowMeta, FieldType, Info1, Info3 } from '../../src/shared/aerospike/protocol.js';
import { readFields, readOps, type MsgField, type MsgOp } from './wire.js';
import type { RecordRequest } from './record-ops.js';
import type { StoredKey } from './store.js';

export interface BatchRow {
  index: number;
  namespace: string;
  request: RecordRequest;
}

export interface ParsedBatch {
  parentFlags: number;
  rows: BatchRow[];
  /** true when the request was malformed: rows parsed so far still run, but the answer is rc 4 only. */
  malformed: boolean;
}

interface RowTemplate {
  namespace: string;
  info1: number;
  info2: number;
  info3: number;
  generation: number;
  recordTtl: number;
  setName: Buffer | null;
  key: StoredKey | null;
  ops: MsgOp[];
}

export function keyFromField(field: MsgField | undefined): StoredKey | null {
  if (!field || field.data.length < 1) return null;
  return { particleType: field.data[0], value: field.data.subarray(1) };
}

const ROW_HEADER = 25;

/**
 * The row indexes of a batch request, each row's fields and ops skipped by their sizes (the
 * --discard-writes answer); null when it is malformed as parseBatchField would find it by layout.
 */
export function batchRowIndexes(data: Buffer): number[] | null {
  const limit = data.length;
  if (limit < 5) return null;
  const count = data.readUInt32BE(0);
  if (count === 0) return null;
  const indexes: number[] = [];
  let offset = 5;
  let previousHadKey = true;
  while (indexes.length < count) {
    if (offset + ROW_HEADER > limit) return null;
    const index = data.readUInt32BE(offset);
    const meta = data[offset + 24];
    offset += ROW_HEADER;
    if ((meta & BatchRowMeta.REPEAT) !== 0) {
      if (previousHadKey) return null;
    } else {
      offset +=
        1 +
        ((meta & BatchRowMeta.HAS_INFO2_INFO3) !== 0 ? 2 : 0) +
        ((meta & BatchRowMeta.HAS_INFO4) !== 0 ? 1 : 0) +
        ((meta & BatchRowMeta.HAS_GENERATION) !== 0 ? 2 : 0) +
        ((meta & BatchRowMeta.HAS_TTL) !== 0 ? 4 : 0);
      if (offset + 4 > limit) return null;
      const fields = Math.max(1, data.readUInt16BE(offset));
      const items = fields + data.readUInt16BE(offset + 2);
      offset += 4;
      previousHadKey = false;
      for (let i = 0; i < items; i++) {
        if (offset + 5 > limit) return null;
        if (i > 0 && i < fields && data[offset + 4] === FieldType.KEY) previousHadKey = true;
        offset += 4 + data.readUInt32BE(offset);
      }
      if (offset > limit) return null;
    }
    indexes.push(index);
  }
  return indexes;
}

export function parseBatchField(data: Buffer, parentInfo3: number, isKnownNamespace: (name: string) => boolean): ParsedBatch {
  const limit = data.length;
  if (limit < 5) return { parentFlags: 0, rows: [], malformed: true };
  const count = data.readUInt32BE(0);
  const parentFlags = data[4];
  const rows: BatchRow[] = [];
  if (count === 0) return { parentFlags, rows, malformed: true };
  let offset = 5;
  let previous: RowTemplate | null = null;
  while (rows.length < count && offset + ROW_HEADER <= limit) {
    const index = data.readUInt32BE(offset);
    const digest = data.subarray(offset + 4, offset + 24);
    const meta = data[offset + 24];
    let template: RowTemplate;
    if ((meta & BatchRowMeta.REPEAT) !== 0) {
      if (!previous || previous.key) break;
      template = previous;
      offset += ROW_HEADER;
    } else {
      const hasExtra = (meta & BatchRowMeta.HAS_INFO2_INFO3) !== 0;
      const hasInfo4 = (meta & BatchRowMeta.HAS_INFO4) !== 0;
      const hasGeneration = (meta & BatchRowMeta.HAS_GENERATION) !== 0;
      const hasTtl = (meta & BatchRowMeta.HAS_TTL) !== 0;
      let at = offset + ROW_HEADER;
      const fixed = 1 + (hasExtra ? 2 : 0) + (hasInfo4 ? 1 : 0) + (hasGeneration ? 2 : 0) + (hasTtl ? 4 : 0) + 4;
      if (at + fixed + 5 > limit) break;
      const info1 = data[at++] & ~(Info1.COMPRESS_RESPONSE | Info1.XDR);
      let info2 = 0;
      let info3 = parentInfo3 & (Info3.SC_READ_RELAX | Info3.SC_READ_TYPE);
      if (hasExtra) {
        info2 = data[at++];
        info3 = data[at++];
      }
      if (hasInfo4) at++;
      let generation = 0;
      if (hasGeneration) {
        generation = data.readUInt16BE(at);
        at += 2;
      }
      let recordTtl = 0;
      if (hasTtl) {
        recordTtl = data.readUInt32BE(at);
        at += 4;
      }
      let nFields = data.readUInt16BE(at);
      if (nFields === 0) nFields = 1;
      const nOps = data.readUInt16BE(at + 2);
      at += 4;
      const fields: MsgField[] = [];
      const ops: MsgOp[] = [];
      try {
        // The first field is taken as the namespace whatever its type.
        at = readFields(data, at, 1, fields, limit);
        const namespace = fields[0].data.toString('utf8');
        if (!isKnownNamespace(namespace)) break;
        at = readFields(data, at, nFields - 1, fields, limit);
        at = readOps(data, at, nOps, ops, limit);
        let setName: Buffer | null = null;
        let key: StoredKey | null = null;
        for (let i = 1; i < fields.length; i++) {
          if (fields[i].type === FieldType.SET) setName = fields[i].data;
          else if (fields[i].type === FieldType.KEY) key = keyFromField(fields[i]);
        }
        template = { namespace, info1, info2, info3, generation, recordTtl, setName, key, ops };
      } catch {
        break;
      }
      offset = at;
      previous = template;
    }
    rows.push({
      index,
      namespace: template.namespace,
      request: {
        info1: template.info1,
        info2: template.info2,
        info3: template.info3,
        generation: template.generation,
        recordTtl: template.recordTtl,
        setName: template.setName,
        digest,
        key: template.key,
        ops: template.ops,
      },
    });
  }
  return { parentFlags, rows, malformed: rows.length < count };
}
