import { expect } from 'chai';
import type { AsbBin, AsbRecord } from '../../src/shared/asb/types.js';
import { encodeBatchWrite, batchWriteRowSize } from '../../src/shared/aerospike/batch-codec.js';
import { encodeRecordWrite } from '../../src/shared/aerospike/message-codec.js';
import { encodeInfoRequest } from '../../src/shared/aerospike/info-codec.js';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { Info2, ParticleType, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import { bin, makeRecord } from './support.js';

const WRITE = { info2: Info2.WRITE, info3: 0 };

function expectEncodeError(run: () => unknown, pattern: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(AerospikeError);
    expect((error as AerospikeError).code).to.equal(ClientErrorCode.ENCODE);
    expect((error as Error).message).to.match(pattern);
    return;
  }
  throw new Error('expected an ENCODE error');
}

describe('client: encoders', () => {
  it('writes int64 extremes, 2^53+1 and negative numbers as 8-byte two\'s complement', () => {
    const values: [number | bigint, string][] = [
      [0, '0000000000000000'],
      [-1, 'ffffffffffffffff'],
      [-233, 'ffffffffffffff17'],
      [2 ** 31, '0000000080000000'],
      [-(2 ** 31) - 1, 'ffffffff7fffffff'],
      [2 ** 53 - 1, '001fffffffffffff'],
      [9007199254740993n, '0020000000000001'],
      [9223372036854775807n, '7fffffffffffffff'],
      [-9223372036854775808n, '8000000000000000'],
    ];
    for (const [value, hex] of values) {
      const message = encodeRecordWrite(makeRecord('test', 's', 'k', [bin('i', ParticleType.INTEGER, value)], { sendKey: false }), 0, WRITE, 0);
      expect(message.subarray(message.length - 8).toString('hex'), String(value)).to.equal(hex);
    }
  });

  it('keeps doubles as doubles (integral, -0, NaN, infinities) and GeoJSON with flags and no cells', () => {
    const record = makeRecord('test', 's', 'k', [
      bin('a', ParticleType.FLOAT, 1),
      bin('b', ParticleType.FLOAT, -0),
      bin('c', ParticleType.FLOAT, NaN),
      bin('d', ParticleType.FLOAT, -Infinity),
      bin('g', ParticleType.GEOJSON, Buffer.from('{}')),
    ], { sendKey: false });
    const message = encodeRecordWrite(record, 0, WRITE, 0);
    const hex = message.toString('hex');
    for (const expected of ['3ff0000000000000', '8000000000000000', '7ff8000000000000', 'fff0000000000000']) expect(hex).to.include(expected);
    expect(hex.endsWith('0000007b7d')).to.equal(true); // flags 0, ncells 0, "{}"
  });

  it('sizes batch rows exactly (proto size, row sizes)', () => {
    const records = [0, 1, 2].map((i) => makeRecord('test', i === 1 ? '' : 'set', `k${i}`, [bin('v', ParticleType.STRING, Buffer.from('x'.repeat(i * 10)))]));
    const whole = encodeBatchWrite(records, [TTL_NEVER_EXPIRE, 5, 0], WRITE, 1000);
    expect(whole.length).to.equal(40 + records.reduce((sum, record) => sum + batchWriteRowSize(record), 0));
    expect(whole.readUIntBE(2, 6)).to.equal(whole.length - 8);
  });

  for (const [what, bins, pattern] of [
    ['a string bin holding a number', [bin('s', ParticleType.STRING, 5)], /Buffer value, got number.*line 7/],
    ['a float bin holding a bigint', [bin('f', ParticleType.FLOAT, 5n)], /float bin needs a number.*line 7/],
    ['an int beyond int64', [bin('i', ParticleType.INTEGER, 2n ** 63n)], /not a 64-bit integer.*line 7/],
    ['a fractional int', [bin('i', ParticleType.INTEGER, 1.5)], /not a 64-bit integer/],
    ['a bool bin holding a number', [bin('b', ParticleType.BOOL, 1)], /bool bin needs a boolean/],
    ['a 256-byte bin name', [{ name: Buffer.alloc(256, 0x61), type: ParticleType.INTEGER, value: 1 }], /bin name of 256 bytes/],
  ] as [string, AsbBin[], RegExp][]) {
    it(`refuses ${what} with an ENCODE error naming the record's line`, () => {
      const record: AsbRecord = makeRecord('test', 's', 'k', bins, { line: 7 });
      expectEncodeError(() => encodeRecordWrite(record, 0, WRITE, 0), pattern);
      expectEncodeError(() => encodeBatchWrite([makeRecord('test', 's', 'ok', [bin('v', ParticleType.INTEGER, 1)]), record], [0, 0], WRITE, 0), pattern);
    });
  }

  it('refuses a digest that is not 20 bytes, an empty batch and an info command with a newline', () => {
    const record = { ...makeRecord('test', 's', 'k', []), digest: Buffer.alloc(19) };
    expectEncodeError(() => encodeRecordWrite(record, 0, WRITE, 0), /digest must be 20 bytes/);
    expectEncodeError(() => encodeBatchWrite([record], [0], WRITE, 0), /digest must be 20 bytes/);
    expectEncodeError(() => encodeBatchWrite([], [], WRITE, 0), /at least one record/);
    expectEncodeError(() => encodeInfoRequest(['a\nb']), /newline/);
  });
});
