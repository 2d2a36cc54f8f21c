/**
 * The decoder's `countOnly` mode (what --validate runs) and its warm-up. Every decode of the
 * conformance suite already runs a countOnly decoder next to the full one (conformance-helpers.ts)
 * and requires the same counts or the same failure; these tests add what that cannot show: that
 * no record reaches the sink, that chunks are free once write() returns, and base64 runs checked
 * without decoding at every length, split and invalid position.
 */
import { Buffer } from 'node:buffer';
import { expect } from 'chai';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { AsbDecoder, runDecoderWarmUp, warmUpDecoder } from '../../src/shared/asb/decoder.js';
import { AsbDecodeError } from '../../src/shared/asb/errors.js';
import { encodeHeader, encodeRecord, encodeSecondaryIndex, encodeUdf } from '../../src/shared/asb/encoder.js';
import type { AsbHeader } from '../../src/shared/asb/types.js';
import {
  asb,
  bin,
  countOnlyRun,
  decode,
  decodeFailure,
  decodeFailureChunks,
  digest,
  HEADER_31,
  pseudoRandomBytes,
  record,
} from './conformance-helpers.js';

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** `length` base64 characters (a multiple of 4) without padding, deterministic. */
function base64Text(length: number, seed: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += BASE64_ALPHABET[(i * 7 + seed * 13) % 64];
  return text;
}

function withBinLine(line: string): Buffer {
  return asb(HEADER_31, '+ n test\n', `+ d ${digest(1).toString('base64')}\n`, '+ g 1\n+ t 0\n+ b 1\n', line);
}

describe('asb countOnly decoding (--validate)', () => {
  it('checks and counts records without handing any to the sink; header, indexes and UDFs still arrive', () => {
    const input = Buffer.concat([
      encodeHeader({ namespace: 'test', firstFile: true }),
      encodeSecondaryIndex({
        namespace: 'test', set: 'users', name: 'idx', indexType: 'N', paths: [{ path: 'age', type: 'N' }], context: null, expression: null, line: 0,
      }),
      encodeUdf({ language: 'L', name: 'm.lua', content: Buffer.from('return 1\n'), line: 0 }),
      encodeRecord(record({ bins: [bin('a', ParticleType.INTEGER, 1), bin('s', ParticleType.STRING, Buffer.from('x\ny'))] })),
      encodeRecord(record({ key: { type: ParticleType.BLOB, value: Buffer.from([1, 2, 3]) }, bins: [bin('b', ParticleType.BLOB, pseudoRandomBytes(300, 3))] })),
    ]);
    const seen: string[] = [];
    let header: AsbHeader | null = null;
    const decoder = new AsbDecoder(
      {
        header: (h) => (header = h),
        record: () => seen.push('record'),
        secondaryIndex: (index) => seen.push(`index ${index.name}`),
        udf: (udf) => seen.push(`udf ${udf.name} ${udf.content.toString()}`),
      },
      { file: 'count.asb', countOnly: true },
    );
    decoder.write(input);
    decoder.end();
    expect(seen).to.deep.equal(['index idx', 'udf m.lua return 1\n']);
    expect(header).to.deep.equal({ version: '3.1', namespace: 'test', firstFile: true });
    const full = decode(input);
    expect([decoder.recordCount, decoder.indexCount, decoder.udfCount, decoder.line]).to.deep.equal([
      2, 1, 1, full.decoder.line,
    ]);
  });

  it('keeps nothing of a chunk: a record spread over many chunks that are overwritten after each write decodes the same', () => {
    const records = [
      record({ bins: [bin('big', ParticleType.BLOB, pseudoRandomBytes(5000, 7)), bin('s', ParticleType.STRING, Buffer.from('a\n'.repeat(900)))] }),
      record({ key: { type: ParticleType.STRING, value: Buffer.from('k') }, bins: [bin('i', ParticleType.INTEGER, -5)] }),
    ];
    const input = Buffer.concat([encodeHeader({}), ...records.map((r) => encodeRecord(r))]);
    const full = decode(input);
    for (const size of [1, 7, 64, 1000, 4096]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
      const counted = countOnlyRun(chunks);
      expect(counted.error, `chunks of ${size}`).to.equal(undefined);
      expect([counted.decoder.recordCount, counted.decoder.line], `chunks of ${size}`).to.deep.equal([2, full.decoder.line]);
    }
  });

  it('base64 runs from empty to 4000 characters, whole and split inside, pass in both modes', () => {
    for (const length of [0, 4, 8, 12, 28, 32, 60, 64, 400, 4000]) {
      const text = base64Text(length, length);
      const input = withBinLine(`- B b ${length} ${text}\n`);
      const full = decode(input);
      expect((full.records[0].bins[0].value as Buffer).equals(Buffer.from(text, 'base64')), `length ${length}`).to.equal(true);
      const valueStart = input.indexOf(`${text}\n`, input.indexOf('- B b '));
      for (const cut of [valueStart, valueStart + 1, valueStart + (length >> 1), valueStart + length - 1, valueStart + length]) {
        const counted = countOnlyRun([input.subarray(0, cut), input.subarray(cut)]);
        expect(counted.error, `length ${length}, cut at ${cut}`).to.equal(undefined);
        expect(counted.decoder.recordCount).to.equal(1);
      }
    }
  });

  it('an invalid character at every position of a long base64 run: the same error in both modes, whole and split at it', () => {
    const length = 400;
    const text = base64Text(length, 5);
    for (let position = 0; position < length; position++) {
      for (const bad of [position % 3 === 0 ? '*' : position % 3 === 1 ? '\n' : '\u00e9']) {
        const broken = Buffer.from(text, 'latin1');
        broken[position] = bad.charCodeAt(0);
        const input = Buffer.concat([withBinLine(`- M m ${length} `), broken, Buffer.from('\n')]);
        // decodeFailure* run the countOnly decoder too and require the identical error.
        const whole = decodeFailure(input).error;
        expect(whole).to.be.instanceOf(AsbDecodeError);
        expect(whole.message, `position ${position}`).to.match(/^Invalid base-64 character/);
        const at = input.length - 1 - length + position;
        const split = decodeFailureChunks([input.subarray(0, at), input.subarray(at)]).error;
        expect([split.message, split.line, split.column], `position ${position}, split`).to.deep.equal([whole.message, whole.line, whole.column]);
      }
    }
  });

  it('a `=` at every position of a base64 run decodes by C\'s per-group rule (the pair-table decoder falls back exactly)', () => {
    /** C: every group gives 3 bytes (`=` as zero bits); the value keeps the first sum-of-group-sizes bytes. */
    function reference(text: string): Buffer {
      const full: number[] = [];
      let size = 0;
      for (let g = 0; g < text.length; g += 4) {
        const sextets = [...text.slice(g, g + 4)].map((c) => (c === '=' ? 0 : BASE64_ALPHABET.indexOf(c)));
        const v = (sextets[0]! << 18) | (sextets[1]! << 12) | (sextets[2]! << 6) | sextets[3]!;
        full.push((v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
        size += text[g + 3] === '=' ? (text[g + 2] === '=' ? 1 : 2) : 3;
      }
      return Buffer.from(full.slice(0, size));
    }
    const length = 64;
    const text = base64Text(length, 11);
    for (let position = 0; position < length; position++) {
      const padded = text.slice(0, position) + '=' + text.slice(position + 1);
      const value = decode(withBinLine(`- B b ${length} ${padded}\n`)).records[0].bins[0].value as Buffer;
      expect(value.toString('hex'), `position ${position}`).to.equal(reference(padded).toString('hex'));
    }
  });

  it('an invalid digest character at each of the 28 positions fails the same way in both modes', () => {
    const good = digest(9).toString('base64');
    for (let position = 0; position < 28; position++) {
      const bad = good.slice(0, position) + '#' + good.slice(position + 1);
      const input = asb(HEADER_31, '+ n test\n', `+ d ${bad}\n`, '+ g 1\n+ t 0\n+ b 0\n');
      expect(decodeFailure(input).error.message, `position ${position}`).to.match(/^Invalid base-64 character/);
    }
  });

  it('a too-long bin name shows the value in both modes, also for base64 strings and escaped names', () => {
    const name = 'sixteen_chars_xy';
    const cases: Array<[string, string]> = [
      [`- X ${name} 8 aGVsbG8=\n`, `Error while setting string bin ${name} to hello (`],
      [`- S ${name} 3 a\nc\n`, `Error while setting string bin ${name} to a\nc (`],
      [`- G ${name} 2 {}\n`, `Error while setting geojson bin ${name} to {} (`],
      [`- S ${'\\ '.repeat(16)} 3 abc\n`, `Error while setting string bin ${' '.repeat(16)} to abc (`],
    ];
    for (const [line, start] of cases) {
      // decodeFailure requires the countOnly decoder's error to equal the full decoder's.
      const { error } = decodeFailure(withBinLine(line));
      expect(error.message.startsWith(start), error.message).to.equal(true);
    }
  });

  it('the warm-up input decodes without an error in every mode (a failure would surface as an internal error)', () => {
    for (const options of [{ countOnly: true }, { countOnly: false }, { countOnly: false, rows: true }]) {
      expect(() => runDecoderWarmUp(options), JSON.stringify(options)).not.to.throw();
    }
  });

  it('warmUpDecoder runs in every mode (count, objects, rows), once per mode, and decoding stays exact afterwards', () => {
    warmUpDecoder({ countOnly: true });
    warmUpDecoder({ countOnly: false });
    warmUpDecoder({ countOnly: false, rows: true });
    warmUpDecoder({ countOnly: true });
    warmUpDecoder({ countOnly: false, rows: true });
    const input = Buffer.concat([encodeHeader({}), encodeRecord(record({ bins: [bin('d', ParticleType.FLOAT, 0.1)] }))]);
    expect(decode(input).records[0].bins[0].value).to.equal(0.1);
  });
});
