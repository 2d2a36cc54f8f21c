import { Buffer } from 'node:buffer';
import { expect } from 'chai';
import {
  BASE64_INNER_PADDING,
  BASE64_INVALID,
  BASE64_OK,
  base64LengthByLastGroup,
  decodeBase64C,
  decodeBase64Into,
  decodeBase64View,
} from '../../src/shared/asb/base64.js';

function dataView(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}
import { bufferView, SlabAllocator } from '../../src/shared/asb/bytes.js';
import { decimalToDouble } from '../../src/shared/asb/decimal.js';
import { AsbDecoder } from '../../src/shared/asb/decoder.js';
import { formatDouble17g } from '../../src/shared/asb/text.js';
import type { AsbRecord } from '../../src/shared/asb/types.js';

/** Splits a fixed-form decimal the way the decoder does: 15 head digits, up to 4 tail digits. */
function parts(text: string): { head: number; tail: number; tailDigits: number; significant: number; fraction: number } {
  let head = 0;
  let tail = 0;
  let tailDigits = 0;
  let significant = 0;
  let fraction = 0;
  let inFraction = false;
  for (const ch of text) {
    if (ch === '.') {
      inFraction = true;
      continue;
    }
    const d = ch.charCodeAt(0) - 48;
    if (inFraction) fraction++;
    if (significant === 0 && d === 0) continue;
    if (significant < 15) head = head * 10 + d;
    else {
      tail = tail * 10 + d;
      tailDigits++;
    }
    significant++;
  }
  return { head, tail, tailDigits, significant, fraction };
}

/** A small deterministic generator (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('asb fast paths', () => {
  describe('decimalToDouble (16-19 significant digits without a string)', () => {
    function check(text: string): 'ok' | 'undecided' {
      const p = parts(text);
      const got = decimalToDouble(p.head, p.tail, p.tailDigits, p.fraction);
      if (Number.isNaN(got)) return 'undecided';
      expect(Object.is(got, Number(text)), `${text}: ${got} vs ${Number(text)}`).to.equal(true);
      return 'ok';
    }

    it('agrees with Number() on %.17g forms of random doubles and on random 16-19 digit decimals', () => {
      const random = rng(20261124);
      const bits = new Float64Array(1);
      const words = new Uint32Array(bits.buffer);
      let decided = 0;
      for (let i = 0; i < 60000; i++) {
        words[0] = (random() * 2 ** 32) >>> 0;
        words[1] = ((random() * 2 ** 20) >>> 0) | ((1023 - 18 + Math.floor(random() * 75)) << 20);
        const text = formatDouble17g(bits[0]);
        if (!text.includes('e') && parts(text).significant >= 16 && parts(text).fraction <= 22) {
          if (check(text) === 'ok') decided++;
        }
        const length = 16 + Math.floor(random() * 4);
        let digits = String(1 + Math.floor(random() * 9));
        for (let k = 1; k < length; k++) digits += Math.floor(random() * 10);
        const point = Math.floor(random() * (length + 1));
        const decimal = point === length ? digits : `${digits.slice(0, point)}.${digits.slice(point)}`;
        if (parts(decimal).fraction <= 22 && check(decimal) === 'ok') decided++;
      }
      // Nearly all are decided without the fallback.
      expect(decided).to.be.greaterThan(100000);
    });

    it('exact ties: an integer tie rounds to even, a tie with a fraction is left to strtod', () => {
      expect(check('9007199254740993')).to.equal('ok');
      expect(decimalToDouble(...Object.values(parts('9007199254740993')).slice(0, 3) as [number, number, number], 0)).to.equal(
        9007199254740992,
      );
      expect(check('9007199254740993.0')).to.equal('undecided');
      expect(check('900719925474099.3')).to.equal('ok');
    });
  });

  describe('decoder doubles', () => {
    function decodeDouble(text: string): number {
      const records: AsbRecord[] = [];
      const decoder = new AsbDecoder({ record: (r) => records.push(r), secondaryIndex() {}, udf() {} }, { file: 'd.asb' });
      decoder.write(
        Buffer.from(`Version 3.1\n+ n test\n+ d ${Buffer.alloc(20).toString('base64')}\n+ g 1\n+ t 0\n+ b 1\n- D x ${text}\n`),
      );
      decoder.end();
      return records[0].bins[0].value as number;
    }

    it('every fixed form decodes to what strtod gives: short, 17 digits, leading zeros, over 19 digits, signs', () => {
      for (const text of [
        '25',
        '37.6875',
        '-1503.0625',
        '74.650999999999996',
        '2239.0500000000002',
        '0.10000000000000001',
        '0.00012345678901234567',
        '-0.00099999999999999991',
        '123456789012345678901234',
        '1.00000000000000000000001',
        '-0',
        '0.0',
        '5.',
        '.5',
      ]) {
        expect(Object.is(decodeDouble(text), Number(text)), text).to.equal(true);
      }
    });
  });

  describe('decoder integers', () => {
    function decodeInteger(text: string): number | bigint {
      const records: AsbRecord[] = [];
      const decoder = new AsbDecoder({ record: (r) => records.push(r), secondaryIndex() {}, udf() {} }, { file: 'i.asb' });
      decoder.write(
        Buffer.from(`Version 3.1\n+ n test\n+ d ${Buffer.alloc(20).toString('base64')}\n+ g 1\n+ t 0\n+ b 1\n- I x ${text}\n`),
      );
      decoder.end();
      return records[0].bins[0].value as number | bigint;
    }

    it('15, 16 and 17 digits around 2^53: a number exactly when |v| <= 2^53 - 1, else the exact bigint', () => {
      const cases = [
        '999999999999999',
        '1000000000000000',
        '9007199254740991',
        '-9007199254740991',
        '9007199254740992',
        '-9007199254740992',
        '9007199254740993',
        '9999999999999999',
        '0000000000000123',
        '-0000000000000000',
        '10000000000000000',
        '9223372036854775807',
        '-9223372036854775808',
      ];
      for (const text of cases) {
        const exact = BigInt(text);
        const safe = exact >= -BigInt(Number.MAX_SAFE_INTEGER) && exact <= BigInt(Number.MAX_SAFE_INTEGER);
        const got = decodeInteger(text);
        if (safe) expect(got, text).to.equal(Number(exact));
        else expect(got, text).to.equal(exact);
      }
    });
  });

  describe('base64 (C rules through the shifted table)', () => {
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

    it('decodes every length and byte value as Node does, at odd offsets', () => {
      const random = rng(7);
      for (let n = 1; n <= 80; n++) {
        const data = Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
        const text = Buffer.from(`x${data.toString('base64')}`, 'latin1');
        const length = text.length - 1;
        const out = Buffer.alloc(base64LengthByLastGroup(text, 1, length));
        expect(decodeBase64Into(text, 1, length, out, 0, out.length), `n=${n}`).to.equal(BASE64_OK);
        expect(out.equals(data), `n=${n}`).to.equal(true);
        // Into the middle of a larger buffer: the bytes around it stay as they were.
        const framed = Buffer.alloc(out.length + 10, 0xee);
        expect(decodeBase64Into(text, 1, length, framed, 5, out.length), `n=${n} framed`).to.equal(BASE64_OK);
        expect(framed.subarray(5, 5 + out.length).equals(data), `n=${n} framed`).to.equal(true);
        expect([...framed.subarray(0, 5), ...framed.subarray(5 + out.length)].every((byte) => byte === 0xee), `n=${n} framed`).to.equal(true);
        // The DataView form (the restore's rows), into the middle of a larger buffer as well.
        const viewed = Buffer.alloc(out.length + 10, 0xee);
        const status = decodeBase64View(dataView(text), 1, length, dataView(viewed), 5, out.length);
        expect(status, `n=${n} view`).to.equal(BASE64_OK);
        expect(viewed.equals(framed), `n=${n} view`).to.equal(true);
      }
      const all = Buffer.from(ALPHABET, 'latin1');
      expect(decodeBase64C(all, 0, all.length)!.equals(Buffer.from(ALPHABET, 'base64'))).to.equal(true);
    });

    it('flags an invalid character in any position of any group, and a = inside the data', () => {
      const valid = Buffer.from('QUJDREVGR0hJSktM', 'latin1');
      for (let at = 0; at < valid.length; at++) {
        for (const bad of [0x00, 0x0a, 0x20, 0x2d, 0x5f, 0x80, 0xff]) {
          const text = Buffer.from(valid);
          text[at] = bad;
          const out = Buffer.alloc(base64LengthByLastGroup(text, 0, text.length));
          expect(decodeBase64Into(text, 0, text.length, out, 0, out.length), `${bad} at ${at}`).to.equal(BASE64_INVALID);
          expect(decodeBase64View(dataView(text), 0, text.length, dataView(out), 0, out.length), `${bad} at ${at}, view`).to.equal(BASE64_INVALID);
          expect(decodeBase64C(text, 0, text.length), `${bad} at ${at}`).to.equal(null);
        }
      }
      const padded = Buffer.from('QQ==QUJD', 'latin1');
      const out = Buffer.alloc(base64LengthByLastGroup(padded, 0, padded.length));
      expect(decodeBase64Into(padded, 0, padded.length, out, 0, out.length)).to.equal(BASE64_INNER_PADDING);
      expect(decodeBase64View(dataView(padded), 0, padded.length, dataView(out), 0, out.length)).to.equal(BASE64_INNER_PADDING);
      // C: the length is the sum of the groups' own lengths (1 for QQ==, 3), cut from the front of
      // the 3-bytes-per-group output.
      expect([...decodeBase64C(padded, 0, padded.length)!]).to.deep.equal([0x41, 0x00, 0x00, 0x41]);
    });
  });

  describe('bufferView and SlabAllocator', () => {
    it('views are real Buffers sharing memory, with Buffer methods and constructor', () => {
      const backing = Buffer.from('hello world');
      const view = bufferView(backing.buffer, backing.byteOffset + 6, 5);
      expect(Buffer.isBuffer(view)).to.equal(true);
      expect(view.constructor).to.equal(Buffer);
      expect(view.toString()).to.equal('world');
      expect(view.equals(Buffer.from('world'))).to.equal(true);
      expect(Buffer.isBuffer(view.subarray(1))).to.equal(true);
      backing[6] = 0x57;
      expect(view.toString()).to.equal('World');
    });

    it('slab buffers do not overlap and large ones get their own memory', () => {
      const slabs = new SlabAllocator();
      const a = slabs.allocate(20);
      const b = slabs.allocate(20);
      a.fill(1);
      b.fill(2);
      expect([...a].every((x) => x === 1)).to.equal(true);
      const many = Array.from({ length: 5000 }, (_, i) => slabs.allocate(20).fill(i & 255));
      many.forEach((buf, i) => expect(buf[19], `buffer ${i}`).to.equal(i & 255));
      const large = slabs.allocate(100000);
      expect(large.length).to.equal(100000);
      expect(large.byteOffset).to.equal(0);
    });
  });
});
