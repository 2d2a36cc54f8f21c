/**
 * Conformance of the .asb encoder and decoder with each other and with what C asbackup writes and
 * C asrestore accepts: every bin and key type, escaping, secondary index and UDF forms, versions
 * 3.0/3.1/3.2, and the inputs C accepts although no tool writes them.
 */
import { Buffer } from 'node:buffer';
import { expect } from 'chai';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { AsbErrorCode } from '../../src/shared/asb/errors.js';
import {
  encodeHeader,
  encodeRecord,
  encodeSecondaryIndex,
  encodeUdf,
  type AsbVersion,
} from '../../src/shared/asb/encoder.js';
import type { AsbBin, AsbKey, AsbRecord, SecondaryIndexDef, SindexIndexType, SindexPathType, UdfModule } from '../../src/shared/asb/types.js';
import {
  HEADER_31,
  asb,
  bin,
  canonicalInt,
  decode,
  decodeFailure,
  digest,
  doubleBits,
  expectFailure,
  intKey,
  positionOf,
  pseudoRandomBytes,
  record,
  snapshotRecord,
  type RecordSnapshot,
} from './conformance-helpers.js';

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const SAFE = Number.MAX_SAFE_INTEGER;
const B64 = (data: string | Buffer): string => Buffer.from(data).toString('base64');

function withoutLine(snapshot: RecordSnapshot): Omit<RecordSnapshot, 'line'> {
  const { line: _line, ...rest } = snapshot;
  return rest;
}

/** The record as the decoder must give it back: int64 values in canonical number/bigint form. */
function canonical(r: AsbRecord): AsbRecord {
  const canonicalValue = (type: number, value: AsbBin['value']): AsbBin['value'] =>
    type === ParticleType.INTEGER ? canonicalInt(value as number | bigint) : value;
  return {
    ...r,
    key: r.key === null ? null : { ...r.key, value: canonicalValue(r.key.type, r.key.value as AsbBin['value']) as AsbKey['value'] },
    bins: r.bins.map((b) => ({ ...b, value: canonicalValue(b.type, b.value) })),
  };
}

interface RoundTripOptions {
  compact?: boolean;
  version?: AsbVersion;
}

/** Encodes the records after a header, decodes the result and checks every record came back exactly. */
function expectRoundTrip(records: AsbRecord[], options: RoundTripOptions = {}): AsbRecord[] {
  const version = options.version ?? '3.1';
  const text = Buffer.concat([encodeHeader({ version }), ...records.map((r) => encodeRecord(r, options))]);
  const decoded = decode(text);
  expect(decoded.records.map((r) => withoutLine(snapshotRecord(r)))).to.deep.equal(
    records.map((r) => withoutLine(snapshotRecord(canonical(r)))),
  );
  return decoded.records;
}

function expectBinsRoundTrip(bins: AsbBin[], options: RoundTripOptions = {}): AsbRecord[] {
  return expectRoundTrip(
    bins.map((b, i) => record({ digest: digest(i + 1), bins: [b] })),
    options,
  );
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const lfAndSpaces = Buffer.from('\n \n  \n\n x \\ \n');
const byteValues = [Buffer.alloc(0), Buffer.from([0]), Buffer.from([1, 2]), allBytes, lfAndSpaces, pseudoRandomBytes(102_400, 11)];
const bytesTypes: Array<[string, AsbBin['type']]> = [
  ['B', ParticleType.BLOB],
  ['J', ParticleType.JAVA_BLOB],
  ['C', ParticleType.CSHARP_BLOB],
  ['P', ParticleType.PYTHON_BLOB],
  ['R', ParticleType.RUBY_BLOB],
  ['H', ParticleType.PHP_BLOB],
  ['E', ParticleType.ERLANG_BLOB],
  ['Y', ParticleType.HLL],
  ['M', ParticleType.MAP],
  ['L', ParticleType.LIST],
];

describe('asb conformance: round trip', () => {
  describe('bin types', () => {
    it('N: a nil bin', () => {
      const [decoded] = expectBinsRoundTrip([bin('gone', ParticleType.NULL, null)]);
      expect(decoded.bins[0].value).to.equal(null);
    });

    it('Z: booleans', () => {
      expectBinsRoundTrip([bin('t', ParticleType.BOOL, true), bin('f', ParticleType.BOOL, false)]);
    });

    it('I: integers incl. int64 extremes, as numbers up to 2^53-1 and bigints beyond', () => {
      const values: Array<number | bigint> = [
        0, 1, -1, 42, -42, 1234567890123, SAFE, -SAFE, SAFE + 1, -(SAFE + 1), 2n ** 53n + 1n, -(2n ** 53n) - 1n,
        INT64_MAX, INT64_MIN, INT64_MAX - 1n, INT64_MIN + 1n, 10n ** 18n, -(10n ** 18n),
        5n, -5n, BigInt(SAFE), -BigInt(SAFE),
      ];
      const decoded = expectBinsRoundTrip(values.map((v) => bin('i', ParticleType.INTEGER, v)));
      const kinds = decoded.map((r) => typeof r.bins[0].value);
      expect(kinds).to.deep.equal(values.map((v) => typeof canonicalInt(v)));
      // The boundaries by name: 2^53-1 is a number, 2^53 and 2^53+1 are bigints.
      expect(decoded[6].bins[0].value).to.equal(SAFE);
      expect(decoded[8].bins[0].value).to.equal(2n ** 53n);
      expect(decoded[10].bins[0].value).to.equal(2n ** 53n + 1n);
      expect(decoded[12].bins[0].value).to.equal(INT64_MAX);
      expect(decoded[13].bins[0].value).to.equal(INT64_MIN);
    });

    it('D: doubles incl. NaN, ±Infinity, -0, integral, subnormal and extremes, bit for bit', () => {
      const values = [
        0, -0, 1, -1, 3, 1e3, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e17, 1e16, 0.1, 1 / 3, -1.5e-300, 74.651, 1e308,
        Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308,
        2.225073858507201e-308, 1e-310, 1e-4, 9.999999999999999e-5, 123456789012345.67, Number.EPSILON,
        NaN, Infinity, -Infinity,
      ];
      const decoded = expectBinsRoundTrip(values.map((v) => bin('d', ParticleType.FLOAT, v)));
      expect(decoded.map((r) => doubleBits(r.bins[0].value as number))).to.deep.equal(values.map(doubleBits));
    });

    it('D: 3000 pseudo-random bit patterns come back bit for bit', () => {
      const raw = pseudoRandomBytes(8 * 3000, 0xd0b1e);
      const values: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const value = raw.readDoubleBE(i * 8);
        if (!Number.isNaN(value)) values.push(value);
      }
      expectBinsRoundTrip(values.map((v) => bin('d', ParticleType.FLOAT, v)));
    });

    it('D: the forms %.17g writes (as in the fixtures) decode to the right doubles', () => {
      const text = asb(
        HEADER_31,
        ...[
          'nan', '-nan', 'inf', '-inf', '-0', '4.9406564584124654e-324', '1.7976931348623157e+308', '1e+20', '25',
          '74.650999999999996', '-1.5e-300', '2.2250738585072014e-308',
        ].map((d, i) => encodeRecord(record({ digest: digest(i + 1), bins: [bin('d', ParticleType.FLOAT, 0)] })).toString().replace('- D d 0', `- D d ${d}`)),
      );
      const values = decode(text).records.map((r) => r.bins[0].value as number);
      expect(Number.isNaN(values[0]) && Number.isNaN(values[1])).to.equal(true);
      expect(values.slice(2).map(doubleBits)).to.deep.equal(
        [Infinity, -Infinity, -0, 5e-324, Number.MAX_VALUE, 1e20, 25, 74.651, -1.5e-300, 2.2250738585072014e-308].map(doubleBits),
      );
    });

    it('S: strings, empty, with LF, CRLF, NUL, unicode, asb look-alikes and invalid UTF-8, byte for byte', () => {
      const values = [
        Buffer.alloc(0),
        Buffer.from('hello'),
        Buffer.from('\n'),
        Buffer.from('two\nlines\r\nand a CR\r'),
        Buffer.from('nul\0inside\0'),
        Buffer.from('ünïcødé 😀 日本語'),
        Buffer.from('\n+ n test\n- I x 1\n* u L a 1 x\n'),
        Buffer.from(' leading and trailing spaces '),
        Buffer.from('back\\slash'),
        Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x20, 0x80]),
        pseudoRandomBytes(100_000, 7),
      ];
      expectBinsRoundTrip(values.map((v) => bin('s', ParticleType.STRING, v)));
    });

    it('X: a base64 string bin decodes to a STRING of the decoded bytes', () => {
      const text = asb(HEADER_31, `+ n test\n+ d ${B64(digest(1))}\n+ g 1\n+ t 0\n+ b 3\n`,
        `- X a 8 ${B64('hello')}\n`, '- X b 0 \n', `- X c 4 ${B64('\n')}\n`);
      const [r] = decode(text).records;
      expect(r.bins.map((b) => [b.name.toString(), b.type, (b.value as Buffer).toString('hex')])).to.deep.equal([
        ['a', ParticleType.STRING, Buffer.from('hello').toString('hex')],
        ['b', ParticleType.STRING, ''],
        ['c', ParticleType.STRING, '0a'],
      ]);
    });

    it('G: GeoJSON text, raw', () => {
      expectBinsRoundTrip([
        bin('g', ParticleType.GEOJSON, Buffer.from('{"type":"Point","coordinates":[-122.5,37.75]}')),
        bin('g', ParticleType.GEOJSON, Buffer.from('{"type": "AeroCircle", "coordinates": [[0, 0], 1000]}')),
      ]);
    });

    for (const [label, type] of bytesTypes) {
      it(`${label} and ${label}!: bytes as base64 and compact, incl. empty, all byte values, LF and spaces`, () => {
        const bins = byteValues.map((v) => bin('v', type, v));
        const plain = Buffer.concat(bins.map((b) => encodeRecord(record({ bins: [b] }))));
        const compact = Buffer.concat(bins.map((b) => encodeRecord(record({ bins: [b] }), { compact: true })));
        expect(plain.includes(`\n- ${label} v `)).to.equal(true);
        expect(compact.includes(`\n- ${label}! v `)).to.equal(true);
        expectBinsRoundTrip(bins);
        expectBinsRoundTrip(bins, { compact: true });
      });
    }

    it('M and L: real msgpack particles stay verbatim', () => {
      const map = Buffer.from('hccAAcCmA2xhbmdzk6MDamGjA2VuowNmcqYDbGV2ZWwCpwNub3RpZnnCpgN0aGVtZaYDbGlnaHQ=', 'base64');
      const list = Buffer.from('kqQDbmV3pANhIGI=', 'base64');
      expectBinsRoundTrip([bin('prefs', ParticleType.MAP, map), bin('tags', ParticleType.LIST, list)]);
      expectBinsRoundTrip([bin('prefs', ParticleType.MAP, map), bin('tags', ParticleType.LIST, list)], { compact: true });
    });

    it('a record with every bin type at once, and a record with 0 bins', () => {
      const bins: AsbBin[] = [
        bin('n', ParticleType.NULL, null),
        bin('z', ParticleType.BOOL, true),
        bin('i', ParticleType.INTEGER, INT64_MIN),
        bin('d', ParticleType.FLOAT, -0),
        bin('s', ParticleType.STRING, Buffer.from('a\nb')),
        bin('g', ParticleType.GEOJSON, Buffer.from('{}')),
        ...bytesTypes.map(([label, type]) => bin(label.toLowerCase() + 'b', type, lfAndSpaces)),
      ];
      expectRoundTrip([record({ bins }), record({ digest: digest(2), bins: [] })]);
      expectRoundTrip([record({ bins }), record({ digest: digest(2), bins: [] })], { compact: true });
    });
  });

  describe('keys', () => {
    const keys: AsbKey[] = [
      intKey(0), intKey(-1), intKey(SAFE), intKey(2n ** 53n + 1n), intKey(-(2n ** 53n) - 1n), intKey(INT64_MAX), intKey(INT64_MIN),
      { type: ParticleType.FLOAT, value: 1.5 },
      { type: ParticleType.FLOAT, value: -0 },
      { type: ParticleType.STRING, value: Buffer.from('user-00429') },
      { type: ParticleType.STRING, value: Buffer.from('with space\nLF and \\ backslash') },
      { type: ParticleType.STRING, value: Buffer.from('x'.repeat(300)) },
      { type: ParticleType.BLOB, value: Buffer.from([0x00, 0x0a, 0x20, 0xff]) },
      { type: ParticleType.BLOB, value: allBytes },
    ];

    it('I, D, S, B keys round trip (base64 blobs)', () => {
      expectRoundTrip(keys.map((key, i) => record({ digest: digest(i + 1), key, bins: [bin('b', ParticleType.INTEGER, i)] })));
    });

    it('B! keys round trip (compact raw blobs holding LF and spaces)', () => {
      const text = Buffer.concat(keys.map((key, i) => encodeRecord(record({ digest: digest(i + 1), key }), { compact: true })));
      expect(text.includes('+ k B! 4 \x00\n \xff', 0, 'latin1')).to.equal(true);
      expectRoundTrip(keys.map((key, i) => record({ digest: digest(i + 1), key })), { compact: true });
    });

    it('X: a base64 string key decodes to a STRING key', () => {
      const text = asb(HEADER_31, `+ k X 12 ${B64('user-001')}\n+ n test\n+ d ${B64(digest(1))}\n+ g 1\n+ t 0\n+ b 0\n`);
      const [r] = decode(text).records;
      expect(r.key?.type).to.equal(ParticleType.STRING);
      expect((r.key?.value as Buffer).toString()).to.equal('user-001');
    });

    it('the key line is written first, as C asbackup does', () => {
      const text = encodeRecord(record({ key: intKey(7), set: Buffer.from('s') })).toString();
      expect(text).to.equal(`+ k I 7\n+ n test\n+ d ${B64(digest(1))}\n+ s s\n+ g 1\n+ t 0\n+ b 0\n`);
    });
  });

  describe('escaping', () => {
    it('namespace, set and bin names with space, backslash and LF', () => {
      const r = record({
        namespace: Buffer.from('n s\\x\ny'),
        set: Buffer.from('with space\\and\nLF'),
        bins: [bin('a b', ParticleType.INTEGER, 1), bin('back\\slash', ParticleType.INTEGER, 2), bin('new\nline', ParticleType.INTEGER, 3)],
      });
      const text = encodeRecord(r).toString();
      expect(text).to.contain('+ n n\\ s\\\\x\\\ny\n');
      expect(text).to.contain('+ s with\\ space\\\\and\\\nLF\n');
      expect(text).to.contain('- I a\\ b 1\n- I back\\\\slash 2\n- I new\\\nline 3\n');
      expectRoundTrip([r]);
    });

    it('the odd bin names of the fixtures', () => {
      const names = ['a b', 'x,y', 'semi;colon', 'col:on', 'hash#', 'back\\slash', 'q"uote', "apo'", 'tab\tx', 'new\nline', 'ünï',
        'fifteen_chars_x', 'eq=ual', ' lead', 'trail ', '+ k', '*', '-', '\\', ' ', '\n'];
      expectRoundTrip([record({ bins: names.map((name, i) => bin(name, ParticleType.INTEGER, i)) })]);
    });

    it('escaped LFs in tokens count as lines: the next record starts where C says', () => {
      const first = record({ set: Buffer.from('a\nb'), bins: [bin('x\ny', ParticleType.NULL, null)] });
      const second = record({ digest: digest(2) });
      const text = asb(HEADER_31, encodeRecord(first), encodeRecord(second));
      const lines = decode(text).records.map((r) => r.line);
      expect(lines).to.deep.equal([2, positionOf(text, '+ n test', 1).line]);
      expect(lines[1]).to.equal(2 + 7 + 2);
    });

    it('a backslash before an ordinary character is dropped (C unescape_space)', () => {
      const text = asb(HEADER_31, `+ n t\\est\n+ d ${B64(digest(1))}\n+ s \\s\\et\n+ g 1\n+ t 0\n+ b 1\n- I \\b\\in 5\n`);
      const [r] = decode(text).records;
      expect([r.namespace.toString(), r.set?.toString(), r.bins[0].name.toString()]).to.deep.equal(['test', 'set', 'bin']);
    });

    it('the header namespace is unescaped in 3.1', () => {
      const text = asb(encodeHeader({ namespace: 'a b\\c', firstFile: true }));
      expect(text.toString()).to.equal('Version 3.1\n# namespace a\\ b\\\\c\n# first-file\n');
      expect(decode(text).header).to.deep.equal({ version: '3.1', namespace: 'a b\\c', firstFile: true });
    });
  });

  describe('secondary indexes', () => {
    function index(fields: Partial<SecondaryIndexDef>): SecondaryIndexDef {
      return {
        namespace: 'test',
        set: 'users',
        name: 'idx',
        indexType: 'N',
        paths: [{ path: 'bin', type: 'S' }],
        context: null,
        expression: null,
        line: 0,
        ...fields,
      };
    }

    function expectIndexesRoundTrip(indexes: SecondaryIndexDef[], version: AsbVersion = '3.1'): void {
      const text = Buffer.concat([encodeHeader({ version }), ...indexes.map(encodeSecondaryIndex)]);
      const decoded = decode(text).indexes;
      expect(decoded).to.deep.equal(indexes.map((ix, i) => ({ ...ix, line: 2 + i })));
    }

    it('every index type N/L/K/V with every path type S/N/G/B, with and without a context', () => {
      const indexes: SecondaryIndexDef[] = [];
      for (const indexType of ['N', 'L', 'K', 'V'] as SindexIndexType[]) {
        for (const type of ['S', 'N', 'G', 'B'] as SindexPathType[]) {
          indexes.push(index({ name: `i_${indexType}${type}`, indexType, paths: [{ path: 'bin', type }] }));
          indexes.push(index({ name: `c_${indexType}${type}`, indexType, paths: [{ path: 'bin', type }], context: 'kiKmA2xhbmdz' }));
        }
      }
      expectIndexesRoundTrip(indexes);
    });

    it('the line forms asbackup writes, as written', () => {
      expect(encodeSecondaryIndex(index({ indexType: 'L', paths: [{ path: 'prefs', type: 'S' }], context: 'kiKmA2xhbmdz' })).toString())
        .to.equal('* i test users idx L 1 prefs S kiKmA2xhbmdz\n');
      expect(encodeSecondaryIndex(index({ set: 'with space', paths: [{ path: 'a b', type: 'N' }] })).toString())
        .to.equal('* i test with\\ space idx N 1 a\\ b N\n');
      expect(encodeSecondaryIndex(index({ set: null })).toString()).to.equal('* i test  idx N 1 bin S\n');
    });

    it('an empty set token (two spaces) is a set-less index; the literal `null` stays a set named null', () => {
      const decoded = decode(asb(HEADER_31, '* i test  a N 1 bin S\n* i test null b N 1 n N\n')).indexes;
      expect(decoded.map((ix) => ix.set)).to.deep.equal([null, 'null']);
      expectIndexesRoundTrip([index({ set: null })]);
    });

    it('an empty context (a trailing space before the LF) reads as no context', () => {
      const [ix] = decode(asb(HEADER_31, '* i test users idx N 1 bin S \n')).indexes;
      expect(ix.context).to.equal(null);
      expect(ix.paths).to.deep.equal([{ path: 'bin', type: 'S' }]);
    });

    it('escaped namespace, set, name, path and context tokens', () => {
      expectIndexesRoundTrip([
        index({ namespace: 'n s', set: 'with space', name: 'na\\me\nx', paths: [{ path: 'a b\\c\nd', type: 'N' }], context: 'c t\\x' }),
      ]);
    });

    it('several paths (separated by two spaces, as C reads them)', () => {
      const ix = index({ paths: [{ path: 'p1', type: 'S' }, { path: 'p 2', type: 'N' }, { path: 'p3', type: 'B' }], context: 'Y3R4' });
      expect(encodeSecondaryIndex(ix).toString()).to.equal('* i test users idx N 3 p1 S  p\\ 2 N  p3 B Y3R4\n');
      expectIndexesRoundTrip([ix, index({ paths: [{ path: 'a', type: 'G' }, { path: 'b', type: 'S' }] })]);
    });

    it('a 3.2 expression index (`* e`), with and without a bin path', () => {
      const indexes = [
        index({ name: 'exp1', expression: 'kwGTUQOnYmlu' }),
        index({ name: 'exp2', set: null, paths: [{ path: '', type: 'N' }], expression: 'lAEC' }),
      ];
      expect(encodeSecondaryIndex(indexes[1]).toString()).to.equal('* e test  exp2 N 1  N lAEC\n');
      expectIndexesRoundTrip(indexes, '3.2');
    });

    it('the longest token (999 bytes after unescaping) is accepted', () => {
      const name = ' '.repeat(999);
      expectIndexesRoundTrip([index({ name })]);
    });
  });

  describe('UDFs', () => {
    function udf(name: string, content: string | Buffer): UdfModule {
      return { language: 'L', name, content: Buffer.from(content), line: 0 };
    }

    it('bodies with LFs, CRLF, empty bodies and escaped names; lines of following items count the body LFs', () => {
      const udfs = [
        udf('test.lua', '-- just an empty Lua file\n\n'),
        udf('empty.lua', ''),
        udf('my module.lua', 'function f(r)\r\n  return "a\\nb"\nend\n'),
        udf('lf\nname.lua', '\n'),
      ];
      const text = Buffer.concat([encodeHeader(), ...udfs.map(encodeUdf), encodeRecord(record())]);
      expect(encodeUdf(udfs[0]).toString()).to.equal('* u L test.lua 27 -- just an empty Lua file\n\n\n');
      expect(encodeUdf(udfs[1]).toString()).to.equal('* u L empty.lua 0 \n');
      const decoded = decode(text);
      expect(decoded.udfs.map((u) => ({ ...u, content: u.content.toString('hex') }))).to.deep.equal(
        udfs.map((u, i) => ({
          ...u,
          content: u.content.toString('hex'),
          line: positionOf(text, '* u L', i).line,
        })),
      );
      expect(decoded.records[0].line).to.equal(positionOf(text, '+ n test').line);
    });

    it('the canonical sample of the format spec decodes and re-encodes byte for byte', () => {
      const sample = asb(
        'Version 3.1\n# namespace test\n# first-file\n',
        '* i test test-set int-index N 1 int-bin N\n',
        '* i test test-set string-index N 1 string-bin S\n',
        '* u L test.lua 27 -- just an empty Lua file\n\n\n',
        '+ n test\n+ d q+LsiGs1gD9duJDbzQSXytajtCY=\n+ s test-set\n+ g 1\n+ t 0\n+ b 2\n',
        '- I int-bin 12345\n- S string-bin 5 abcde\n',
      );
      expect(sample.length).to.equal(292);
      const decoded = decode(sample);
      expect(decoded.records[0].line).to.equal(9);
      const again = Buffer.concat([
        encodeHeader({ version: decoded.header!.version, namespace: decoded.header!.namespace, firstFile: decoded.header!.firstFile }),
        ...decoded.items.map((item) =>
          item.kind === 'record' ? encodeRecord(item.record) : item.kind === 'index' ? encodeSecondaryIndex(item.index) : encodeUdf(item.udf),
        ),
      ]);
      expect(again.toString('latin1')).to.equal(sample.toString('latin1'));
    });
  });

  describe('versions', () => {
    it('3.0: tokens are not unescaped (a backslash is an ordinary byte)', () => {
      const text = asb('Version 3.0\n# namespace te\\st\n', `+ n te\\st\n+ d ${B64(digest(1))}\n+ s s\\et\n+ g 1\n+ t 0\n+ b 1\n- I a\\b 1\n`);
      const decoded = decode(text);
      expect(decoded.header).to.deep.equal({ version: '3.0', namespace: 'te\\st', firstFile: false });
      const [r] = decoded.records;
      expect([r.namespace.toString(), r.set?.toString(), r.bins[0].name.toString()]).to.deep.equal(['te\\st', 's\\et', 'a\\b']);
    });

    it('3.0: records round trip; tokens that need escaping cannot be written', () => {
      expectRoundTrip([record({ set: Buffer.from('s'), bins: [bin('x', ParticleType.STRING, Buffer.from('a b\n'))] })], { version: '3.0' });
      expect(() => encodeRecord(record({ bins: [bin('a b', ParticleType.NULL, null)] }), { version: '3.0' })).to.throw(RangeError);
      expect(() => encodeHeader({ version: '3.0', namespace: 'a b' })).to.throw(RangeError);
    });

    it('3.0: a `*` line is rejected (no global section)', () => {
      const text = asb('Version 3.0\n', '* u L a.lua 1 x\n');
      const { error } = decodeFailure(text);
      expectFailure(error, {
        code: AsbErrorCode.PARSE,
        message: 'Invalid start character "*" in block (line 2, col 1)',
        line: 2,
        column: 1,
        trace: [],
        nextLine: 2,
      });
    });

    it('3.2: header accepted, with `* e` and `* i` lines and records', () => {
      const text = asb('Version 3.2\n# first-file\n', '* e test s e1 N 1 b N AQID\n', '* i test s i1 N 1 b N\n', encodeRecord(record()));
      const decoded = decode(text);
      expect(decoded.header).to.deep.equal({ version: '3.2', namespace: null, firstFile: true });
      expect(decoded.indexes.map((ix) => [ix.name, ix.context, ix.expression])).to.deep.equal([['e1', null, 'AQID'], ['i1', null, null]]);
      expect(decoded.records).to.have.length(1);
    });

    it('a header alone is an empty, valid file', () => {
      for (const text of ['Version 3.1\n', 'Version 3.0\n', 'Version 3.1\n# namespace test\n# first-file\n']) {
        const decoded = decode(text);
        expect(decoded.items).to.deep.equal([]);
        expect(decoded.header?.version).to.equal(text.slice(8, 11));
      }
    });
  });

  describe('what C asrestore accepts although no tool writes it', () => {
    const head = (bins: number) => `+ n test\n+ d ${B64(digest(1))}\n+ g 1\n+ t 0\n+ b ${bins}\n`;

    it('a repeated bin name: the last value wins, in the first one\'s place (C as_record_set)', () => {
      const [r] = decode(asb(HEADER_31, head(3), '- I a 1\n- S b 1 x\n- D a 2.5\n')).records;
      expect(r.bins.map((b) => [b.name.toString(), b.type, b.value])).to.deep.equal([
        ['a', ParticleType.FLOAT, 2.5],
        ['b', ParticleType.STRING, Buffer.from('x')],
      ]);
    });

    it('`!` after a non-bytes type letter is ignored', () => {
      const [r] = decode(asb(HEADER_31, head(4), '- I! i 5\n- S! s 3 abc\n- N! n\n- Z! z T\n')).records;
      expect(r.bins.map((b) => [b.type, b.value])).to.deep.equal([
        [ParticleType.INTEGER, 5],
        [ParticleType.STRING, Buffer.from('abc')],
        [ParticleType.NULL, null],
        [ParticleType.BOOL, true],
      ]);
    });

    it('empty and sign-only integers read as 0; doubles in every strtod form C lets through', () => {
      const doubles = ['', '.5', '5.', '+1.5', '1e+5', '1e-5', '1e5', 'INF', 'Infinity', '-INFINITY', 'NaN', '00012.50', '-.25e1'];
      const text = asb(HEADER_31, head(2 + doubles.length), '- I a \n- I b -\n', ...doubles.map((d, i) => `- D d${i} ${d}\n`));
      const [r] = decode(text).records;
      expect(r.bins.slice(0, 2).map((b) => b.value)).to.deep.equal([0, 0]);
      const got = r.bins.slice(2).map((b) => b.value as number);
      expect(Number.isNaN(got[10])).to.equal(true);
      got.splice(10, 1);
      expect(got.map(doubleBits)).to.deep.equal([0, 0.5, 5, 1.5, 1e5, 1e-5, 1e5, Infinity, Infinity, -Infinity, 12.5, -2.5].map(doubleBits));
    });

    it('lenient base64: `=` inside the data reads as zero bits and the length comes from each group\'s padding', () => {
      // "YQ==" gives 1 byte (0x61 0x00 0x00 decoded), "YWI=" 2 more: C keeps the first 3 of the 6 decoded bytes.
      const [r] = decode(asb(HEADER_31, head(2), '- X s 8 YQ==YWI=\n- B b 8 AB=DAAAA\n')).records;
      expect((r.bins[0].value as Buffer).toString('hex')).to.equal('610000');
      expect((r.bins[1].value as Buffer).toString('hex')).to.equal(Buffer.from([0x00, 0x10, 0x03, 0, 0, 0]).toString('hex'));
    });

    it('a digest of 28 characters without padding (21 bytes) keeps its first 20 bytes', () => {
      const text = asb(HEADER_31, `+ n test\n+ d ${'A'.repeat(27)}B\n+ g 1\n+ t 0\n+ b 0\n`);
      const [r] = decode(text).records;
      expect(r.digest.toString('hex')).to.equal('00'.repeat(20));
    });

    it('a namespace meta line is only checked under -n src,dst; any key starting with `namespace` passes', () => {
      const text = 'Version 3.1\n# namespace other\n# namespacefoo\n';
      expect(decode(text).header).to.not.equal(null);
      expect(decode(text, { sourceNamespace: 'test' }).header).to.not.equal(null);
    });

    it('global lines may appear between records', () => {
      const text = asb(HEADER_31, encodeRecord(record()), '* u L a.lua 1 x\n', encodeRecord(record({ digest: digest(2) })));
      expect(decode(text).items.map((i) => i.kind)).to.deep.equal(['record', 'udf', 'record']);
    });

    it('the namespace and set have room for 31 and 63 bytes', () => {
      expectRoundTrip([record({ namespace: Buffer.from('n'.repeat(31)), set: Buffer.from('s'.repeat(63)) })]);
      expectRoundTrip([record({ namespace: Buffer.from(' '.repeat(31)), set: Buffer.from('\\'.repeat(63)) })]);
    });

    it('bin names have room for 15 bytes (also when escaped)', () => {
      expectRoundTrip([record({ bins: [bin('fifteen_chars_x', ParticleType.INTEGER, 1), bin(' '.repeat(15), ParticleType.INTEGER, 2)] })]);
    });

    it('void time 2^32-1, generation and bin count 65535 are in range', () => {
      // 65535 bin lines under one name (distinct names would make the test slow): last one wins.
      const text = asb(HEADER_31, `+ n test\n+ d ${B64(digest(1))}\n+ g 65535\n+ t 4294967295\n+ b 65535\n`, '- I b 1\n'.repeat(65534), '- I b 2\n');
      const [r] = decode(text).records;
      expect([r.generation, r.voidTime, r.bins.length, r.bins[0].value]).to.deep.equal([65535, 0xffffffff, 1, 2]);
      expectRoundTrip([record({ generation: 65535, voidTime: 0xffffffff })]);
    });

    it('a record with 2000 distinct bins', () => {
      const bins = Array.from({ length: 2000 }, (_, i) => bin(`b${i}`, ParticleType.INTEGER, i));
      expectRoundTrip([record({ bins })]);
    });
  });
});
