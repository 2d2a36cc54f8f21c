/**
 * Input arrives in chunks split anywhere: a small backup holding every item kind (raw values with
 * LFs and spaces, a UDF with LFs, escaped tokens, X keys and bins) must decode to the same items,
 * lines and errors however it is cut, and values handed out as views into a chunk must stay
 * correct after later chunks arrive.
 */
import { Buffer } from 'node:buffer';
import { expect } from 'chai';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { encodeHeader, encodeRecord, encodeSecondaryIndex, encodeUdf } from '../../src/shared/asb/encoder.js';
import type { AsbBin, SecondaryIndexDef } from '../../src/shared/asb/types.js';
import {
  asb,
  bin,
  decode,
  decodeChunks,
  decodeFailureChunks,
  digest,
  intKey,
  pseudoRandomBytes,
  record,
  snapshotAll,
  type Decoded,
  type Failure,
} from './conformance-helpers.js';

const RAW_WITH_LF_AND_SPACES = Buffer.from('\n- I x 1\n \n+ n test \\ \n');

function index(fields: Partial<SecondaryIndexDef>): SecondaryIndexDef {
  return { namespace: 'test', set: 'users', name: 'idx', indexType: 'N', paths: [{ path: 'bin', type: 'S' }], context: null, expression: null, line: 0, ...fields };
}

function everyBinType(compactSuffix: string): AsbBin[] {
  return [
    bin('nil', ParticleType.NULL, null),
    bin('bool', ParticleType.BOOL, false),
    bin('int', ParticleType.INTEGER, -(2n ** 63n)),
    bin('dbl', ParticleType.FLOAT, -0),
    bin('nan', ParticleType.FLOAT, NaN),
    bin('str', ParticleType.STRING, Buffer.from('a\nb c\r\n')),
    bin('geo', ParticleType.GEOJSON, Buffer.from('{"type":"Point","coordinates":[1,2]}')),
    bin(`blob${compactSuffix}`, ParticleType.BLOB, RAW_WITH_LF_AND_SPACES),
    bin('java', ParticleType.JAVA_BLOB, Buffer.from([0x0a])),
    bin('hll', ParticleType.HLL, pseudoRandomBytes(40, 3)),
    bin('map', ParticleType.MAP, Buffer.from('81a3036b0aa3032076', 'hex')),
    bin('list', ParticleType.LIST, Buffer.from('92a4036120620a', 'hex')),
  ];
}

/** About 2 KiB holding every item kind; compact raw values and the UDF body contain LFs and spaces. */
function smallBackup(): Buffer {
  const xRecord = asb(
    `+ k X 8 ${Buffer.from('key\n x').toString('base64')}\n`,
    `+ n test\n+ d ${digest(40).toString('base64')}\n+ g 2\n+ t 500000000\n+ b 2\n`,
    `- X xs 8 ${Buffer.from('x\n y').toString('base64')}\n`,
    '- S empty 0 \n',
  );
  return asb(
    encodeHeader({ namespace: 'test', firstFile: true }),
    encodeSecondaryIndex(index({ set: 'with space', name: 'space_idx', paths: [{ path: 'a b', type: 'N' }] })),
    encodeSecondaryIndex(index({ set: null, name: 'ctx_idx', indexType: 'L', paths: [{ path: 'prefs', type: 'S' }], context: 'kiKmA2xhbmdz' })),
    encodeSecondaryIndex(index({ name: 'two_paths', indexType: 'K', paths: [{ path: 'p1', type: 'G' }, { path: 'p2', type: 'B' }] })),
    encodeUdf({ language: 'L', name: 'lf module.lua', content: Buffer.from('-- + n x\n\nfunction f(r)\r\n  return 1 \nend\n'), line: 0 }),
    encodeUdf({ language: 'L', name: 'empty.lua', content: Buffer.alloc(0), line: 0 }),
    encodeRecord(record({ digest: digest(1), key: intKey(2n ** 60n), set: Buffer.from('users'), bins: everyBinType('_c') }), { compact: true }),
    encodeRecord(record({ digest: digest(2), set: Buffer.from('with space'), voidTime: 533172681, bins: everyBinType('_b') })),
    encodeRecord(
      record({ digest: digest(3), key: { type: ParticleType.BLOB, value: Buffer.from(' \n\n ') }, bins: [bin('a b', ParticleType.STRING, RAW_WITH_LF_AND_SPACES)] }),
      { compact: true },
    ),
    encodeRecord(record({ digest: digest(4), key: { type: ParticleType.STRING, value: Buffer.from('s \nkey') }, set: Buffer.from('lf\nset'), bins: [] })),
    xRecord,
    encodeRecord(record({ digest: digest(5), key: { type: ParticleType.FLOAT, value: 1.5 }, bins: [bin('new\nline', ParticleType.INTEGER, 7)] })),
    encodeUdf({ language: 'L', name: 'late.lua', content: Buffer.from('\n'), line: 0 }),
  );
}

const SMALL = smallBackup();
const REFERENCE = decode(SMALL);
const REFERENCE_JSON = JSON.stringify(snapshotAll(REFERENCE));

/** Checks a chunked decode against the single-write reference, both as emitted and after the last chunk. */
function expectSameAsReference(decoded: Decoded, what: string): void {
  const atEnd = JSON.stringify(snapshotAll(decoded));
  const atEmission = JSON.stringify(decoded.snapshotsAtEmission);
  if (atEnd !== REFERENCE_JSON || atEmission !== REFERENCE_JSON) {
    expect(decoded.snapshotsAtEmission, `${what}: items as emitted`).to.deep.equal(snapshotAll(REFERENCE));
    expect(snapshotAll(decoded), `${what}: items after the last chunk`).to.deep.equal(snapshotAll(REFERENCE));
  }
  expect(decoded.header, what).to.deep.equal(REFERENCE.header);
  expect([decoded.decoder.recordCount, decoded.decoder.indexCount, decoded.decoder.udfCount], what).to.deep.equal([
    REFERENCE.records.length,
    REFERENCE.indexes.length,
    REFERENCE.udfs.length,
  ]);
}

/** Copies, so each chunk has its own memory (values cannot be right by accident of sharing). */
function copy(bytes: Buffer): Buffer {
  const out = Buffer.alloc(bytes.length);
  bytes.copy(out);
  return out;
}

function failureKey(failure: Failure): string {
  const { error, decoded } = failure;
  return JSON.stringify({
    code: error.code,
    message: error.message,
    line: error.line,
    column: error.column,
    nextLine: error.nextLine,
    trace: error.trace,
    items: decoded.snapshotsAtEmission,
    counts: [decoded.decoder.recordCount, decoded.decoder.indexCount, decoded.decoder.udfCount],
  });
}

describe('asb conformance: chunk boundaries', () => {
  it('the sample holds every item kind, values with LFs and spaces, and decodes in one write', () => {
    expect(SMALL.length).to.be.within(1000, 4096);
    expect(REFERENCE.indexes).to.have.length(3);
    expect(REFERENCE.udfs.map((u) => u.name)).to.deep.equal(['lf module.lua', 'empty.lua', 'late.lua']);
    expect(REFERENCE.records).to.have.length(6);
    expect(REFERENCE.items.map((i) => i.kind)).to.deep.equal(['index', 'index', 'index', 'udf', 'udf', 'record', 'record', 'record', 'record', 'record', 'record', 'udf']);
    const compactList = REFERENCE.records[0].bins.find((b) => b.name.toString() === 'blob_c');
    expect(compactList?.value).to.deep.equal(RAW_WITH_LF_AND_SPACES);
    expect(SMALL.includes(Buffer.concat([Buffer.from(`- B! blob_c ${RAW_WITH_LF_AND_SPACES.length} `), RAW_WITH_LF_AND_SPACES]))).to.equal(true);
  });

  it('split in two at every byte offset: same items, lines and counts', () => {
    for (let cut = 0; cut <= SMALL.length; cut++) {
      const decoded = decodeChunks([copy(SMALL.subarray(0, cut)), copy(SMALL.subarray(cut))]);
      expectSameAsReference(decoded, `cut at ${cut}`);
    }
  });

  it('split in two at every byte offset, chunks as views of one buffer', () => {
    for (let cut = 0; cut <= SMALL.length; cut++) {
      expectSameAsReference(decodeChunks([SMALL.subarray(0, cut), SMALL.subarray(cut)]), `cut at ${cut}`);
    }
  });

  it('one byte at a time', () => {
    const chunks = Array.from({ length: SMALL.length }, (_, i) => copy(SMALL.subarray(i, i + 1)));
    expectSameAsReference(decodeChunks(chunks), 'byte by byte');
  });

  it('400 pseudo-random cuts into 2 to 40 chunks, with empty chunks in between', () => {
    const random = pseudoRandomBytes(400 * 41 * 2, 99);
    let r = 0;
    for (let run = 0; run < 400; run++) {
      const pieces = 2 + (random[r++] % 39);
      const cuts = new Set<number>();
      for (let k = 0; k < pieces - 1; k++) cuts.add(((random[r++] << 8) | random[r++]) % (SMALL.length + 1));
      const sorted = [0, ...[...cuts].sort((a, b) => a - b), SMALL.length];
      const chunks: Buffer[] = [];
      for (let k = 0; k + 1 < sorted.length; k++) {
        chunks.push(copy(SMALL.subarray(sorted[k], sorted[k + 1])));
        if (k % 3 === 0) chunks.push(Buffer.alloc(0));
      }
      expectSameAsReference(decodeChunks(chunks), `run ${run}, cuts ${sorted.join(',')}`);
    }
  });

  it('views handed out stay correct while later chunks arrive, and share the chunk\'s memory when an item lies in one chunk', () => {
    const cut = SMALL.indexOf('+ k I');
    const first = copy(SMALL.subarray(0, cut + 700));
    const second = copy(SMALL.subarray(cut + 700));
    const decoded = decodeChunks([first, second]);
    expectSameAsReference(decoded, 'two chunks');
    const compactRecord = decoded.records[0];
    expect(compactRecord.line).to.be.greaterThan(1);
    const str = compactRecord.bins.find((b) => b.name.toString() === 'str')!.value as Buffer;
    expect(str.buffer, 'a raw string value of an item inside one chunk is a view into it').to.equal(first.buffer);
    const udf = decoded.udfs[0].content;
    expect(udf.buffer).to.equal(first.buffer);
  });

  describe('errors are the same however the input is cut', () => {
    function expectSameFailureAtEveryCut(input: Buffer): Failure {
      const reference = decodeFailureChunks([input]);
      const expected = failureKey(reference);
      for (let cut = 0; cut <= input.length; cut++) {
        const failure = decodeFailureChunks([copy(input.subarray(0, cut)), copy(input.subarray(cut))]);
        const key = failureKey(failure);
        if (key !== expected) expect(JSON.parse(key), `cut at ${cut}`).to.deep.equal(JSON.parse(expected));
      }
      const byteByByte = decodeFailureChunks(Array.from({ length: input.length }, (_, i) => copy(input.subarray(i, i + 1))));
      expect(JSON.parse(failureKey(byteByByte)), 'byte by byte').to.deep.equal(JSON.parse(expected));
      return reference;
    }

    it('an invalid base64 character in the last record', () => {
      const at = SMALL.lastIndexOf('- L list 12 ') + '- L list 12 '.length + 5;
      const corrupted = copy(SMALL);
      corrupted[at] = 0x21;
      const { error, decoded } = expectSameFailureAtEveryCut(corrupted);
      expect(error.message).to.match(/^Invalid base-64 character \(/);
      expect(decoded.records).to.have.length(1);
    });

    it('the input ends inside a compact raw value', () => {
      const end = SMALL.indexOf(RAW_WITH_LF_AND_SPACES, SMALL.indexOf('+ k B!')) + 5;
      const { error, decoded } = expectSameFailureAtEveryCut(SMALL.subarray(0, end));
      expect(error.message).to.match(/^Unexpected end of file in backup block \(line \d+, col \d+\)$/);
      expect(decoded.records).to.have.length(2);
    });

    it('a version line cut short, and a bad meta line', () => {
      expectSameFailureAtEveryCut(SMALL.subarray(0, 9));
      const badMeta = asb('Version 3.1\n# namespace test\n# first_file\n', SMALL.subarray(SMALL.indexOf('* i')));
      expect(expectSameFailureAtEveryCut(badMeta).error.line).to.equal(3);
    });
  });
});
