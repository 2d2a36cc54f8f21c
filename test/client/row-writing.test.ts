/**
 * NodeCommandSet's rows written in place op by op (what the restore's decoder drives) against rows
 * encoded from records in one go: the same bytes for every key, set and value shape; the proto
 * size limit handled the same way (a row that would pass it opens the next command); bad input
 * refused with ENCODE.
 */
import { expect } from 'chai';
import { NodeCommandSet, type EncodedCommand } from '../../src/shared/aerospike/batch-command.js';
import { AerospikeError } from '../../src/shared/aerospike/client-errors.js';
import { Info2, ParticleType, PROTO_SIZE_MAX } from '../../src/shared/aerospike/protocol.js';
import type { AsbBin, AsbKey, AsbRecord } from '../../src/shared/asb/types.js';

const FLAGS = { info2: Info2.GENERATION, info3: 0 };

function digest(seed: number): Buffer {
  return Buffer.from(Array.from({ length: 20 }, (_, i) => (seed * 31 + i * 7) & 0xff));
}

function record(seed: number, key: AsbKey | null, set: string | null, bins: AsbBin[]): AsbRecord {
  return { namespace: Buffer.from('test'), digest: digest(seed), set: set === null ? null : Buffer.from(set), key, generation: seed, voidTime: 0, bins, line: seed };
}

const bin = (name: string, type: AsbBin['type'], value: AsbBin['value']): AsbBin => ({ name: Buffer.from(name), type, value });

const RECORDS: AsbRecord[] = [
  record(1, { type: ParticleType.INTEGER, value: -5 }, 'set', [
    bin('i', ParticleType.INTEGER, 42),
    bin('big', ParticleType.INTEGER, -9223372036854775808n),
    bin('f', ParticleType.FLOAT, -0.25),
    bin('s', ParticleType.STRING, Buffer.from('hello')),
    bin('g', ParticleType.GEOJSON, Buffer.from('{"type":"Point","coordinates":[1,2]}')),
    bin('t', ParticleType.BOOL, true),
    bin('n', ParticleType.NULL, null),
  ]),
  record(2, { type: ParticleType.STRING, value: Buffer.from('user-2') }, null, [bin('b', ParticleType.BLOB, Buffer.alloc(300, 9)), bin('e', ParticleType.STRING, Buffer.alloc(0))]),
  record(3, { type: ParticleType.FLOAT, value: 2.5 }, '', [bin('l', ParticleType.LIST, Buffer.from([0x93, 1, 2, 3])), bin('m', ParticleType.MAP, Buffer.from([0x81, 1, 2]))]),
  record(4, { type: ParticleType.BLOB, value: Buffer.from([0, 1, 2]) }, 'other', [bin('h', ParticleType.HLL, Buffer.alloc(40, 1)), bin('z', ParticleType.BOOL, false)]),
  record(5, null, 'set', [bin('p', ParticleType.PYTHON_BLOB, Buffer.from('pickle'))]),
];

/** Writes `r`'s row through the in-place API of `commands`, as the decoder does. */
function writeInPlace(commands: NodeCommandSet, slot: number, r: AsbRecord, ttl: number): void {
  commands.openRow(slot, r.namespace, r.digest, r.set, r.key, r.generation, ttl, r.line);
  for (const b of r.bins) {
    switch (b.type) {
      case ParticleType.INTEGER:
        commands.binInteger(b.name, b.value as number | bigint);
        break;
      case ParticleType.FLOAT:
        commands.binFloat(b.name, b.value as number);
        break;
      case ParticleType.BOOL:
        commands.binBool(b.name, b.value as boolean);
        break;
      case ParticleType.NULL:
        commands.binNil(b.name);
        break;
      default: {
        const value = b.value as Buffer;
        const at = commands.binSpace(b.name, b.type, value.length);
        commands.rowBytes.set(value, at);
      }
    }
  }
  commands.closeRow('rows.asb');
}

function collect(batchSize: number, write: (commands: NodeCommandSet) => void): EncodedCommand[] {
  const out: EncodedCommand[] = [];
  const commands = new NodeCommandSet(batchSize, FLAGS, (command) => out.push(command));
  write(commands);
  commands.flush('rows.asb');
  return out;
}

function shape(commands: EncodedCommand[]): unknown[] {
  return commands.map((c) => ({ slot: c.slot, rows: c.rowCount, bytes: c.bytes.toString('hex'), offsets: [...c.rowOffsets], lines: [...c.lines] }));
}

describe('client: rows written in place equal rows encoded from records', () => {
  it('every key kind, set or none, every value kind; across slots and batch sizes', () => {
    for (const batchSize of [1, 2, 3, 128]) {
      const slots = RECORDS.map((_, i) => (i % 3) - 1);
      const encoded = collect(batchSize, (commands) => RECORDS.forEach((r, i) => commands.addRecord(slots[i], r, 1000 + i, 'rows.asb')));
      const inPlace = collect(batchSize, (commands) => RECORDS.forEach((r, i) => writeInPlace(commands, slots[i], r, 1000 + i)));
      expect(shape(inPlace), `batch size ${batchSize}`).to.deep.equal(shape(encoded));
    }
  });

  it('an open row dropped (re-opened, cancelled, or replaced by a record) leaves no trace', () => {
    const encoded = collect(128, (commands) => RECORDS.forEach((r) => commands.addRecord(0, r, 7, 'rows.asb')));
    const inPlace = collect(128, (commands) => {
      RECORDS.forEach((r, i) => {
        commands.openRow(0, r.namespace, r.digest, r.set, r.key, r.generation, 7, r.line);
        commands.binInteger(Buffer.from('junk'), 1);
        commands.cancelRow();
        commands.openRow(0, r.namespace, r.digest, r.set, r.key, r.generation, 7, r.line);
        commands.binSpace(Buffer.from('junk'), ParticleType.BLOB, 5000);
        if (i % 2 === 0) writeInPlace(commands, 0, r, 7);
        else commands.addRecord(0, r, 7, 'rows.asb');
      });
    });
    expect(shape(inPlace)).to.deep.equal(shape(encoded));
  });

  it('a row that would pass the proto size limit opens the next command, in both ways', function () {
    this.timeout(60_000);
    const big = Buffer.alloc(Math.ceil(PROTO_SIZE_MAX / 2) + 1024, 0x5a);
    const rows = [1, 2].map((seed) => record(seed, null, 'set', [bin('b', ParticleType.BLOB, big)]));
    const encoded = collect(128, (commands) => rows.forEach((r) => commands.addRecord(0, r, 7, 'rows.asb')));
    const inPlace = collect(128, (commands) => rows.forEach((r) => writeInPlace(commands, 0, r, 7)));
    expect(encoded.map((c) => c.rowCount)).to.deep.equal([1, 1]);
    expect(inPlace.map((c) => c.rowCount)).to.deep.equal([1, 1]);
    for (let i = 0; i < 2; i++) expect(inPlace[i].bytes.equals(encoded[i].bytes), `command ${i}`).to.equal(true);
  });

  it('rows copied from other commands, switching sources row by row, equal the rows encoded directly', () => {
    const encoded = collect(128, (commands) => RECORDS.forEach((r, i) => commands.addRecord(i % 2, r, 9, 'rows.asb')));
    // Two sources: the rows in order, and in reverse order inside a larger buffer (a non-zero byte offset).
    const [inOrder] = collect(128, (commands) => RECORDS.forEach((r) => commands.addRecord(0, r, 9, 'rows.asb')));
    const [reversed] = collect(128, (commands) => [...RECORDS].reverse().forEach((r) => commands.addRecord(0, r, 9, 'rows.asb')));
    const padded = Buffer.alloc(reversed.bytes.length + 3, 0xee);
    reversed.bytes.copy(padded, 3);
    const shifted: EncodedCommand = { ...reversed, bytes: padded.subarray(3) };
    const last = RECORDS.length - 1;
    const copied = collect(128, (commands) => {
      RECORDS.forEach((_, i) => (i % 3 === 1 ? commands.addRowOf(i % 2, shifted, last - i) : commands.addRowOf(i % 2, inOrder, i)));
    });
    expect(shape(copied)).to.deep.equal(shape(encoded));
  });

  it('refuses a digest that is not 20 bytes and a bin name over 255 bytes', () => {
    const commands = new NodeCommandSet(128, FLAGS, () => {});
    expect(() => commands.openRow(0, Buffer.from('test'), Buffer.alloc(19), null, null, 1, 0, 12)).to.throw(AerospikeError, /digest must be 20 bytes .*line 12/);
    commands.openRow(0, Buffer.from('test'), digest(1), null, null, 1, 0, 13);
    expect(() => commands.binInteger(Buffer.alloc(256, 0x61), 1)).to.throw(AerospikeError, /bin name of 256 bytes.*line 13/);
  });
});
