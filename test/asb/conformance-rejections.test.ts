/**
 * Every input C asrestore's decoder rejects (asrestore-reference.md A.9), one test each, with C's
 * message, line and column as dec_text.c / restore.c compute them: a position is that of the last
 * byte C read or peeked (1-based line = 1 + LFs before it, 1-based byte column), and `trace` holds
 * the follow-up lines C logs for the same failure. Expected positions are located in the input by
 * the tests themselves, never taken from the decoder.
 */
import { Buffer } from 'node:buffer';
import { expect } from 'chai';
import type { AsbDecoderOptions } from '../../src/shared/asb/decoder.js';
import { AsbErrorCode } from '../../src/shared/asb/errors.js';
import {
  FILE,
  HEADER_31,
  asb,
  decode,
  decodeFailure,
  digest,
  expectFailure,
  lineCol,
  positionAt,
  positionOf,
  type Position,
} from './conformance-helpers.js';

const REC = 'Error while parsing record';
const D1 = digest(1).toString('base64');
const RECORD_HEAD = `+ n test\n+ d ${D1}\n+ g 1\n+ t 0\n`;

/** A record with one bin line (on line 7). */
function withBin(binLine: string): Buffer {
  return asb(HEADER_31, RECORD_HEAD, '+ b 1\n', binLine);
}

interface Rejection {
  code: string;
  at: Position;
  /** The message; `{at}` is replaced by `line L, col C` of `at`. */
  message: string;
  trace?: readonly string[];
  nextLine?: number;
}

function expectRejection(input: Buffer, expected: Rejection, options: Partial<AsbDecoderOptions> = {}): void {
  const { error } = decodeFailure(input, options);
  expectFailure(error, {
    code: expected.code,
    message: expected.message.replace('{at}', lineCol(expected.at)),
    line: expected.at.line,
    column: expected.at.column,
    trace: expected.trace,
    nextLine: expected.nextLine,
  });
}

/** The position right after the whole input (where C meets the end of file). */
function endOf(input: Buffer): Position {
  return positionAt(input, input.length);
}

describe('asb conformance: rejections (A.9)', () => {
  describe('header', () => {
    function expectHeaderRejection(input: Buffer, startsWith: string, column = 1): ReturnType<typeof decodeFailure>['error'] {
      const { error } = decodeFailure(input);
      expect({ code: error.code, line: error.line, column: error.column, whileOpening: error.whileOpening }).to.deep.equal({
        code: AsbErrorCode.HEADER,
        line: 1,
        column,
        whileOpening: true,
      });
      expect(error.message.startsWith(startsWith), error.message).to.equal(true);
      expect(error.logLines().at(-1)).to.equal('Error while opening backup file');
      return error;
    }

    it('an empty file has no version line', () => {
      const error = expectHeaderRejection(Buffer.alloc(0), `Error while reading version from backup file ${FILE}`);
      expect(error.message).to.equal(`Error while reading version from backup file ${FILE}`);
    });

    it('a short version line (no LF within 12 bytes)', () => {
      expectHeaderRejection(asb('Version 3.1'), `Invalid version line in backup file ${FILE}`);
    });

    it('a version line ending in CRLF', () => {
      expectHeaderRejection(asb('Version 3.1\r\n+ n test\r\n'), `Invalid version line in backup file ${FILE}`);
    });

    it('a lower-case or longer version line', () => {
      expectHeaderRejection(asb('version 3.1\n'), `Invalid version line in backup file ${FILE}`);
      expectHeaderRejection(asb('Version 3.10\n'), `Invalid version line in backup file ${FILE}`);
    });

    it('a version other than 3.0, 3.1 (and 3.2)', () => {
      for (const version of ['3.3', '2.0', '3.x', '4.0']) {
        const error = expectHeaderRejection(asb(`Version ${version}\n`), `Invalid backup file version ${version} in backup file ${FILE}`, 9);
        expect(error.message).to.equal(`Invalid backup file version ${version} in backup file ${FILE}`);
      }
    });

    it('binary data (an encrypted file): the message hints at --compress / --encrypt, the trace is C\'s hex dump', () => {
      const encrypted = Buffer.from('5938580d704754cd57164d74a1b2c3d4e5f60718', 'hex');
      const error = expectHeaderRejection(encrypted, `Invalid version line in backup file ${FILE}`);
      expect(error.message).to.contain('--compress');
      expect(error.message).to.contain('--encrypt');
      expect(error.trace).to.deep.equal(['0000 59 38 58 0d 70 47 54 cd 57 16 4d 74 00          Y8X.pGT.W.Mt.']);
    });

    it('a zstd frame (a compressed file): the message names --compress zstd', () => {
      const compressed = Buffer.from('28b52ffd00583404050ec38700112233', 'hex');
      const error = expectHeaderRejection(compressed, `Invalid version line in backup file ${FILE}`);
      expect(error.message).to.contain('--compress zstd');
      expect(error.trace).to.deep.equal(['0000 28 b5 2f fd 00 58 34 04 05 0e c3 87 00          (./..X4......']);
    });
  });

  describe('meta lines', () => {
    function expectMetaRejection(input: string, expected: { code?: string; message: string; line: number; column: number }, options: Partial<AsbDecoderOptions> = {}): void {
      const { error } = decodeFailure(input, options);
      expectFailure(error, { code: expected.code ?? AsbErrorCode.META, message: expected.message, line: expected.line, column: expected.column });
      expect(error.whileOpening).to.equal(true);
    }

    it('`#` not followed by a space ([1])', () => {
      expectMetaRejection('Version 3.1\n#namespace test\n', {
        message: `Invalid meta data line "#namespace test" in backup file ${FILE}:2 [1]`,
        line: 2,
        column: 2,
      });
    });

    it('an unknown meta key ([2])', () => {
      expectMetaRejection('Version 3.1\n# namespace test\n# bogus\n', {
        message: `Invalid meta data line "# bogus" in backup file ${FILE}:3 [2]`,
        line: 3,
        column: 3,
      });
      expectMetaRejection('Version 3.1\n# first-file \n', {
        message: `Invalid meta data line "# first-file " in backup file ${FILE}:2 [2]`,
        line: 2,
        column: 3,
      });
    });

    it('a `#` at the end of the file', () => {
      expectMetaRejection('Version 3.1\n#', { message: `Error while reading meta data from backup file ${FILE}:2 [1]`, line: 2, column: 2 });
    });

    it('a meta line longer than 999 bytes (999 pass)', () => {
      const longest = `Version 3.1\n# namespace ${'n'.repeat(988)}\n`;
      expect(decode(longest).header?.namespace).to.equal('n'.repeat(988));
      const content = ` namespace ${'n'.repeat(989)}`;
      expectMetaRejection(`Version 3.1\n#${content}\n`, {
        message: `Meta data line ${content} too long in backup file ${FILE}:2`,
        line: 2,
        column: 1001,
      });
    });

    it('a NUL inside a meta line reads as a line too long, at the NUL', () => {
      expectMetaRejection('Version 3.1\n# first-file\0\n', {
        message: `Meta data line  first-file too long in backup file ${FILE}:2`,
        line: 2,
        column: 13,
      });
    });

    it('-n src,dst: a namespace meta line naming another namespace', () => {
      expectMetaRejection(
        'Version 3.1\n# namespace other\n',
        { code: AsbErrorCode.NAMESPACE, message: `Invalid namespace other in backup file ${FILE} (expected: test)`, line: 2, column: 13 },
        { sourceNamespace: 'test', namespaceRemapped: true },
      );
    });

    it('-n src,dst: a namespace meta key without its space', () => {
      expectMetaRejection(
        'Version 3.1\n# namespacetest\n',
        { message: `Invalid namespace meta data line in backup file ${FILE}:2`, line: 2, column: 12 },
        { sourceNamespace: 'test', namespaceRemapped: true },
      );
    });
  });

  describe('block start', () => {
    const cases: Array<[string, string, string]> = [
      ['an empty line (LF)', '\n', '\\x0a'],
      ['a CR', '\r\n', '\\x0d'],
      ['a space', ' + n test\n', '" "'],
      ['a bin line', '- I x 1\n', '"-"'],
      ['a meta line after the meta section', '# first-file\n', '"#"'],
    ];
    for (const [title, block, shown] of cases) {
      it(`${title} cannot start a block`, () => {
        const input = asb(HEADER_31, RECORD_HEAD, '+ b 0\n', block);
        const at = positionAt(input, input.length - Buffer.byteLength(block));
        expect(at.line).to.equal(7);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at,
          message: `Invalid start character ${shown} in block ({at})`,
          trace: [],
          nextLine: block === '\n' ? 8 : 7,
        });
      });
    }

    it('a trailing blank line at the end of the file', () => {
      const input = asb(HEADER_31, RECORD_HEAD, '+ b 0\n\n');
      const { error, decoded } = decodeFailure(input);
      expect(decoded.records).to.have.length(1);
      expectFailure(error, { code: AsbErrorCode.PARSE, message: 'Invalid start character \\x0a in block (line 7, col 1)', line: 7, column: 1 });
    });
  });

  describe('end of file inside a block', () => {
    it('after a complete record line', () => {
      const input = asb(HEADER_31, '+ n test\n');
      expectRejection(input, {
        code: AsbErrorCode.TRUNCATED,
        at: endOf(input),
        message: 'Unexpected end of file in backup block ({at})',
        trace: [],
        nextLine: 3,
      });
      expect(endOf(input)).to.deep.equal({ line: 3, column: 1 });
    });

    it('right after the block\'s first byte', () => {
      const input = asb(HEADER_31, '+');
      expectRejection(input, { code: AsbErrorCode.TRUNCATED, at: { line: 2, column: 2 }, message: 'Unexpected end of file in backup block ({at})', trace: [] });
    });

    it('inside a token', () => {
      const input = asb(HEADER_31, '+ n te');
      expectRejection(input, {
        code: AsbErrorCode.TRUNCATED,
        at: { line: 2, column: 7 },
        message: 'Unexpected end of file in backup block ({at})',
        trace: ['Error while reading namespace token', REC],
      });
    });

    it('inside an integer key', () => {
      const input = asb(HEADER_31, '+ k I 5');
      expectRejection(input, {
        code: AsbErrorCode.TRUNCATED,
        at: endOf(input),
        message: 'Unexpected end of file in backup block ({at})',
        trace: ['Error while reading integer key value', REC],
      });
    });

    it('inside string data', () => {
      const input = withBin('- S s 10 abc\n');
      expectRejection(input, {
        code: AsbErrorCode.TRUNCATED,
        at: endOf(input),
        message: 'Unexpected end of file in backup block ({at})',
        trace: ['Error while reading string data', 'Error while reading string bin value', REC],
      });
    });

    it('inside base64 data (C reads the whole group of four, logging each missing byte)', () => {
      const input = withBin('- B b 8 AAAA');
      const eof = `Unexpected end of file in backup block (${lineCol(endOf(input))})`;
      expectRejection(input, {
        code: AsbErrorCode.TRUNCATED,
        at: endOf(input),
        message: 'Unexpected end of file in backup block ({at})',
        trace: [eof, eof, eof, 'Unexpected end of file in base-64 data', 'Error while reading encoded data', 'Error while reading encoded data bin value', REC],
      });
    });

    it('inside a bin list (fewer bin lines than the count)', () => {
      const input = asb(HEADER_31, RECORD_HEAD, '+ b 2\n- I a 1\n');
      expectRejection(input, { code: AsbErrorCode.TRUNCATED, at: endOf(input), message: 'Unexpected end of file in backup block ({at})', trace: [REC] });
    });

    it('inside UDF content (short content)', () => {
      const input = asb(HEADER_31, '* u L f.lua 10 abc\n');
      expectRejection(input, { code: AsbErrorCode.TRUNCATED, at: { line: 3, column: 1 }, message: 'Unexpected end of file in backup block ({at})', trace: [] });
    });

    it('a secondary index line without its LF', () => {
      // C peeks for the LF (meeting the end once), then expects a space (meeting it again): two log lines.
      const input = asb(HEADER_31, '* i test set idx N 1 bin S');
      const eof = `Unexpected end of file in backup block (${lineCol(endOf(input))})`;
      expectRejection(input, { code: AsbErrorCode.TRUNCATED, at: endOf(input), message: 'Unexpected end of file in backup block ({at})', trace: [eof] });
    });
  });

  describe('global lines', () => {
    it('a global type other than i and u', () => {
      const input = asb(HEADER_31, '* x foo\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 2, column: 3 }, message: 'Invalid global type character "x" in block ({at})', trace: [] });
    });

    it('`* e` before version 3.2', () => {
      const input = asb(HEADER_31, '* e test s idx N 1 b N AQID\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 2, column: 3 }, message: 'Invalid global type character "e" in block ({at})', trace: [] });
      const legacy = asb('Version 3.0\n', '* e test s idx N 1 b N AQID\n');
      expectRejection(legacy, { code: AsbErrorCode.PARSE, at: { line: 2, column: 1 }, message: 'Invalid start character "*" in block ({at})', trace: [] });
    });

    it('no space after `*`', () => {
      const input = asb(HEADER_31, '*i test s idx N 1 b N\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 2, column: 2 }, message: 'Unexpected character "i" in backup block ({at}), expected " "', trace: [] });
    });

    it('an index type other than N/L/K/V (incl. the writer\'s invalid I)', () => {
      for (const letter of ['X', 'I', 'n']) {
        const input = asb(HEADER_31, `* i test set idx ${letter} 1 bin S\n`);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at: positionOf(input, `idx ${letter}`, 0, 4),
          message: `Invalid index type character "${letter}" in block ({at})`,
          trace: [],
        });
      }
    });

    it('a path type other than S/N/G/B', () => {
      for (const letter of ['I', 'X', 's']) {
        const input = asb(HEADER_31, `* i test set idx N 1 bin ${letter}\n`);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at: positionOf(input, `bin ${letter}`, 0, 4),
          message: `Invalid path type character "${letter}" in block ({at})`,
          trace: [],
        });
      }
    });

    it('npaths 0', () => {
      const input = asb(HEADER_31, '* i test set idx N 0 bin S\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: positionOf(input, 'N 0 ', 0, 3), message: 'Missing path(s) in index block ({at})', trace: [] });
    });

    it('npaths that is not a number', () => {
      const input = asb(HEADER_31, '* i test set idx N x bin S\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, 'N x', 0, 2),
        message: 'Invalid character "x" in backup block ({at}), expected digit',
        trace: [],
      });
    });

    it('several paths separated by a single space', () => {
      const input = asb(HEADER_31, '* i test set idx N 2 a S b N\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, 'S b', 0, 2),
        message: 'Unexpected character "b" in backup block ({at}), expected " "',
        trace: [],
      });
    });

    it('-n src,dst: an index in another namespace', () => {
      const input = asb(HEADER_31, '* i other set idx N 1 bin S\n');
      expectRejection(
        input,
        { code: AsbErrorCode.NAMESPACE, at: positionOf(input, 'idx ', 0, 3), message: 'Invalid namespace other in index idx, expected: test ({at})', trace: [] },
        { sourceNamespace: 'test', namespaceRemapped: true },
      );
      expect(decode(input, { sourceNamespace: 'test' }).indexes).to.have.length(1);
    });

    it('a token longer than 999 bytes (index name; counted after unescaping)', () => {
      const input = asb(HEADER_31, `* i test set ${'x'.repeat(1000)} N 1 bin S\n`);
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, 'set x', 0, 4 + 999),
        message: 'Buffer overflow while reading token in backup block ({at})',
        trace: [],
      });
      const escaped = asb(HEADER_31, `* i test set ${'\\ '.repeat(1000)} N 1 bin S\n`);
      expectRejection(escaped, {
        code: AsbErrorCode.PARSE,
        at: positionOf(escaped, 'set \\', 0, 4 + 999 * 2 + 1),
        message: 'Buffer overflow while reading token in backup block ({at})',
        trace: [],
      });
    });

    it('a UDF type other than L', () => {
      const input = asb(HEADER_31, '* u X f.lua 3 abc\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 2, column: 5 }, message: 'Invalid UDF type character "X" in block ({at})', trace: [] });
    });

    it('a UDF length above 2^32-1', () => {
      const input = asb(HEADER_31, '* u L f.lua 4294967296 abc\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, '4294967296 ', 0, 10),
        message: 'UDF file f.lua is too large (4294967296 bytes)',
        trace: [],
      });
      const { error } = decodeFailure(asb(HEADER_31, '* u L f.lua 4294967295 abc\n'));
      expect(error.code).to.equal(AsbErrorCode.TRUNCATED);
    });

    it('a UDF length that is not a number', () => {
      const input = asb(HEADER_31, '* u L f.lua -3 abc\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, '-3'),
        message: 'Invalid character "-" in backup block ({at}), expected digit',
        trace: [],
      });
    });

    it('no LF after the UDF content', () => {
      const input = asb(HEADER_31, '* u L f.lua 3 abcX\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 2, column: 18 }, message: 'Unexpected character "X" in backup block ({at}), expected \\x0a', trace: [] });
    });
  });

  describe('record lines', () => {
    it('header letters out of order', () => {
      const input = asb(HEADER_31, `+ n test\n+ s set\n+ d ${D1}\n+ g 1\n+ t 0\n+ b 0\n`);
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: { line: 3, column: 3 },
        message: 'Unexpected character "s" in backup block ({at}), expected "d"',
        trace: [],
        nextLine: 3,
      });
    });

    it('a missing line names the optional letter C expects there first', () => {
      const noGeneration = asb(HEADER_31, `+ n test\n+ d ${D1}\n+ t 0\n+ b 0\n`);
      expectRejection(noGeneration, { code: AsbErrorCode.PARSE, at: { line: 4, column: 3 }, message: 'Unexpected character "t" in backup block ({at}), expected "s"', trace: [] });
      const noNamespace = asb(HEADER_31, `+ d ${D1}\n+ g 1\n+ t 0\n+ b 0\n`);
      expectRejection(noNamespace, { code: AsbErrorCode.PARSE, at: { line: 2, column: 3 }, message: 'Unexpected character "d" in backup block ({at}), expected "k"', trace: [] });
      const noExpiration = asb(HEADER_31, `+ n test\n+ d ${D1}\n+ g 1\n+ b 0\n`);
      expectRejection(noExpiration, { code: AsbErrorCode.PARSE, at: { line: 5, column: 3 }, message: 'Unexpected character "b" in backup block ({at}), expected "t"', trace: [] });
      const keyAfterNamespace = asb(HEADER_31, `+ n test\n+ k I 1\n+ d ${D1}\n+ g 1\n+ t 0\n+ b 0\n`);
      expectRejection(keyAfterNamespace, { code: AsbErrorCode.PARSE, at: { line: 3, column: 3 }, message: 'Unexpected character "k" in backup block ({at}), expected "d"', trace: [] });
    });

    it('a missing space after `+` or after the letter', () => {
      expectRejection(asb(HEADER_31, '+n test\n'), { code: AsbErrorCode.PARSE, at: { line: 2, column: 2 }, message: 'Unexpected character "n" in backup block ({at}), expected " "', trace: [] });
      expectRejection(asb(HEADER_31, '+ ntest\n'), { code: AsbErrorCode.PARSE, at: { line: 2, column: 4 }, message: 'Unexpected character "t" in backup block ({at}), expected " "', trace: [] });
    });

    it('a record line not starting with `+`', () => {
      const input = asb(HEADER_31, `+ n test\n- d ${D1}\n`);
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 3, column: 1 }, message: 'Unexpected character "-" in backup block ({at}), expected "+"', trace: [] });
    });

    it('a bin line not starting with `-`, e.g. fewer bins than counted', () => {
      const input = asb(HEADER_31, RECORD_HEAD, '+ b 2\n- I a 1\n', RECORD_HEAD, '+ b 0\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 8, column: 1 }, message: 'Unexpected character "+" in backup block ({at}), expected "-"', trace: [REC] });
    });

    it('an unknown key type', () => {
      const input = asb(HEADER_31, '+ k Q 1\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 2, column: 5 }, message: 'Invalid key type character "Q" in block ({at})', trace: [REC] });
    });

    it('no LF after a key value', () => {
      const input = asb(HEADER_31, '+ k S 3 abcd\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: positionOf(input, 'd\n'), message: 'Unexpected character "d" in backup block ({at}), expected \\x0a', trace: [REC] });
    });

    it('-n: a record in another namespace', () => {
      const input = asb(HEADER_31, `+ n other\n+ d ${D1}\n+ g 1\n+ t 0\n+ b 0\n`);
      expectRejection(
        input,
        { code: AsbErrorCode.NAMESPACE, at: { line: 2, column: 10 }, message: 'Invalid namespace other in backup record, expected: test ({at})', trace: [REC] },
        { sourceNamespace: 'test' },
      );
    });
  });

  describe('integers', () => {
    const cases: Array<[string, string, (input: Buffer) => Position, string]> = [
      ['int64 max + 1', '9223372036854775808', (i) => positionOf(i, '808\n', 0, 3), 'Integer overflow with number 9223372036854775808 in backup block ({at})'],
      ['int64 min - 1', '-9223372036854775809', (i) => positionOf(i, '809\n', 0, 3), 'Integer overflow with number -9223372036854775809 in backup block ({at})'],
      ['a letter', '12a', (i) => positionOf(i, '12a', 0, 2), 'Invalid character "a" in backup block ({at}), expected digit'],
      ['a minus sign after the first character', '1-2', (i) => positionOf(i, '1-2', 0, 1), 'Invalid character "-" in backup block ({at}), expected digit'],
      ['two minus signs', '--1', (i) => positionOf(i, '--1', 0, 1), 'Invalid character "-" in backup block ({at}), expected digit'],
      ['a plus sign', '+1', (i) => positionOf(i, 'x +1', 0, 2), 'Invalid character "+" in backup block ({at}), expected digit'],
      ['1000 digits', '1'.repeat(1000), (i) => positionOf(i, 'x 1', 0, 2 + 999), 'Buffer overflow while reading token in backup block ({at})'],
    ];
    for (const [title, text, where, message] of cases) {
      it(`an integer bin value with ${title}`, () => {
        const input = withBin(`- I x ${text}\n`);
        expectRejection(input, { code: AsbErrorCode.PARSE, at: where(input), message, trace: ['Error while reading integer bin value', REC] });
      });
    }

    it('an integer key out of range', () => {
      const input = asb(HEADER_31, '+ k I 9223372036854775808\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: { line: 2, column: 26 },
        message: 'Integer overflow with number 9223372036854775808 in backup block ({at})',
        trace: ['Error while reading integer key value', REC],
        nextLine: 2,
      });
    });

    it('a generation outside 0..65535', () => {
      for (const value of ['65536', '-1', '9223372036854775807']) {
        const input = asb(HEADER_31, `+ n test\n+ d ${D1}\n+ g ${value}\n+ t 0\n+ b 0\n`);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at: positionOf(input, `+ g ${value}\n`, 0, 4 + value.length),
          message: `Invalid generation count ${value} ({at})`,
          trace: [REC],
        });
      }
    });

    it('a generation that is not a number', () => {
      const input = asb(HEADER_31, `+ n test\n+ d ${D1}\n+ g 1x\n`);
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, '1x', 0, 1),
        message: 'Invalid character "x" in backup block ({at}), expected digit',
        trace: ['Error while reading generation count', REC],
      });
    });

    it('a void time outside 0..2^32-1 (printed unsigned, as C does)', () => {
      for (const [value, shown] of [['4294967296', '4294967296'], ['-1', '18446744073709551615']]) {
        const input = asb(HEADER_31, `+ n test\n+ d ${D1}\n+ g 1\n+ t ${value}\n+ b 0\n`);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at: positionOf(input, `+ t ${value}\n`, 0, 4 + value.length),
          message: `Invalid expiration time ${shown} ({at})`,
          trace: [REC],
        });
      }
    });

    it('a bin count outside 0..65535', () => {
      for (const [value, shown] of [['65536', '65536'], ['-1', '18446744073709551615']]) {
        const input = asb(HEADER_31, RECORD_HEAD, `+ b ${value}\n`);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at: positionOf(input, `+ b ${value}\n`, 0, 4 + value.length),
          message: `Invalid bin count ${shown} ({at})`,
          trace: [REC],
        });
      }
    });

    it('a bin count beyond int64', () => {
      const input = asb(HEADER_31, RECORD_HEAD, '+ b 9223372036854775808\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, '808\n', 0, 3),
        message: 'Integer overflow with number 9223372036854775808 in backup block ({at})',
        trace: ['Error while reading bin count', REC],
      });
    });
  });

  describe('doubles', () => {
    const badCharacter: Array<[string, string, number]> = [
      ['an upper-case E', '1.5E3', 3],
      ['a second dot', '1.2.3', 3],
      ['a second exponent', '1e5e', 3],
      ['text after nan', 'nanx', 3],
      ['hexadecimal notation', '0x10', 1],
      ['a comma', '1,5', 1],
      ['a leading space (two spaces before the value)', ' 1.5', 0],
    ];
    for (const [title, text, offset] of badCharacter) {
      it(`a double with ${title}`, () => {
        const input = withBin(`- D d ${text}\n`);
        const shown = JSON.stringify(text[offset]);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at: positionOf(input, `d ${text}`, 0, 2 + offset),
          message: `Invalid character ${shown} in backup block ({at}), expected floating point notation`,
          trace: ['Error while reading floating-point bin value', REC],
        });
      });
    }

    for (const text of ['e5', '-', '1e', '1e+', '.']) {
      it(`a double strtod cannot read whole: ${JSON.stringify(text)}`, () => {
        const input = withBin(`- D d ${text}\n`);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at: positionOf(input, `d ${text}\n`, 0, 2 + text.length),
          message: `Invalid floating-point value ${text} in backup block ({at})`,
          trace: ['Error while reading floating-point bin value', REC],
        });
      });
    }

    it('a double key with an upper-case E', () => {
      const input = asb(HEADER_31, '+ k D 1.5E3\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: { line: 2, column: 10 },
        message: 'Invalid character "E" in backup block ({at}), expected floating point notation',
        trace: ['Error while reading floating-point key value', REC],
      });
    });
  });

  describe('sized values and base64', () => {
    it('a base64 length that is not a multiple of 4', () => {
      const input = withBin('- B b 5 AAAAA\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, 'b 5 ', 0, 3),
        message: 'Invalid encoded data size 5 ({at})',
        trace: ['Error while reading encoded data bin value', REC],
      });
      const key = asb(HEADER_31, '+ k B 6 AAAAAA\n');
      expectRejection(key, { code: AsbErrorCode.PARSE, at: { line: 2, column: 8 }, message: 'Invalid encoded data size 6 ({at})', trace: ['Error while reading encoded key bytes', REC] });
    });

    it('an invalid base64 character (reported at the fourth character of its group)', () => {
      const input = withBin('- B b 8 AAAA!AAA\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, '!AAA', 0, 3),
        message: 'Invalid base-64 character ("!", "A", "A", or "A" at or before {at})',
        trace: ['Error while reading encoded data', 'Error while reading encoded data bin value', REC],
      });
    });

    it('a space inside base64 (an X string bin)', () => {
      const input = withBin('- X s 4 ab c\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, 'ab c', 0, 3),
        message: 'Invalid base-64 character ("a", "b", " ", or "c" at or before {at})',
        trace: ['Error while reading encoded data', 'Error while reading encoded string bin value', REC],
      });
    });

    it('an invalid base64 character in an X key', () => {
      const input = asb(HEADER_31, '+ k X 4 A*AA\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: { line: 2, column: 12 },
        message: 'Invalid base-64 character ("A", "*", "A", or "A" at or before {at})',
        trace: ['Error while reading encoded data', 'Error while reading encoded string key value', REC],
      });
    });

    it('a size above 1024^5', () => {
      const input = withBin('- S s 1125899906842625 x\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, '625 ', 0, 3),
        message: 'Size overflow with number 1125899906842625 in backup block ({at})',
        trace: ['Error while reading string size', 'Error while reading string bin value', REC],
      });
    });

    it('a size with a sign', () => {
      const input = withBin('- S s -1 x\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: positionOf(input, '-1 x'),
        message: 'Invalid character "-" in backup block ({at}), expected digit',
        trace: ['Error while reading string size', 'Error while reading string bin value', REC],
      });
    });

    it('sized data above 2^32-1 bytes (bin and key)', () => {
      const input = withBin('- B! b 4294967296 x\n');
      const { error } = decodeFailure(input);
      const at = positionOf(input, '296 ', 0, 3);
      expect([error.code, error.message, error.line, error.column]).to.deep.equal([
        AsbErrorCode.PARSE, 'Data bin value too large (4294967296 bytes)', at.line, at.column,
      ]);
      const key = asb(HEADER_31, '+ k B! 4294967296 x\n');
      const keyError = decodeFailure(key).error;
      expect([keyError.code, keyError.message, keyError.line, keyError.column]).to.deep.equal([
        AsbErrorCode.PARSE, 'Key value too large (4294967296 bytes)', 2, 18,
      ]);
    });

    it('no LF after string data', () => {
      const input = withBin('- S s 1 ab\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: positionOf(input, 'ab', 0, 1), message: 'Unexpected character "b" in backup block ({at}), expected \\x0a', trace: [REC] });
    });
  });

  describe('digest, namespace, set and token sizes', () => {
    it('a digest shorter than 20 bytes runs into the next line', () => {
      const input = asb(HEADER_31, '+ n test\n+ d AAAA\n+ g 1\n+ t 0\n+ b 0\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: { line: 4, column: 3 },
        message: 'Invalid base-64 character (\\x0a, "+", " ", or "g" at or before {at})',
        trace: ['Error while reading encoded digest string', REC],
      });
    });

    it('a digest longer than 20 bytes', () => {
      const input = asb(HEADER_31, `+ n test\n+ d ${'A'.repeat(32)}\n+ g 1\n+ t 0\n+ b 0\n`);
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 3, column: 33 }, message: 'Unexpected character "A" in backup block ({at}), expected \\x0a', trace: [REC] });
    });

    it('an invalid character in the digest', () => {
      const input = asb(HEADER_31, `+ n test\n+ d #!@%${D1.slice(4)}\n+ g 1\n+ t 0\n+ b 0\n`);
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: { line: 3, column: 8 },
        message: 'Invalid base-64 character ("#", "!", "@", or "%" at or before {at})',
        trace: ['Error while reading encoded digest string', REC],
        nextLine: 3,
      });
    });

    it('a namespace longer than 31 bytes (counted after unescaping)', () => {
      const input = asb(HEADER_31, `+ n ${'n'.repeat(32)}\n`);
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 2, column: 36 }, message: 'Buffer overflow while reading token in backup block ({at})', trace: ['Error while reading namespace token', REC] });
      const escaped = asb(HEADER_31, `+ n ${'\\ '.repeat(32)}\n`);
      expectRejection(escaped, { code: AsbErrorCode.PARSE, at: { line: 2, column: 4 + 64 }, message: 'Buffer overflow while reading token in backup block ({at})', trace: ['Error while reading namespace token', REC] });
    });

    it('a set longer than 63 bytes', () => {
      const input = asb(HEADER_31, `+ n test\n+ d ${D1}\n+ s ${'s'.repeat(64)}\n`);
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 4, column: 68 }, message: 'Buffer overflow while reading token in backup block ({at})', trace: ['Error while reading set token', REC] });
    });

    it('a bin name token longer than 999 bytes', () => {
      const input = withBin(`- I ${'b'.repeat(1000)} 1\n`);
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 7, column: 1004 }, message: 'Buffer overflow while reading token in backup block ({at})', trace: ['Error while reading bin name token', REC] });
    });
  });

  describe('bins', () => {
    it('an unknown bin type letter', () => {
      for (const letter of ['Q', 'x', 'A', ' ']) {
        const input = withBin(`- ${letter} baz T\n`);
        const shown = JSON.stringify(letter);
        expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 7, column: 3 }, message: `Invalid bytes label ${shown} ({at})`, trace: [REC], nextLine: 7 });
      }
    });

    it('a type letter followed by something other than `!` or a space', () => {
      const input = withBin('- IQ x 1\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 7, column: 4 }, message: 'Unexpected character "Q" in backup block ({at}), expected " "', trace: [REC] });
    });

    it('U (LDT) bins', () => {
      const input = withBin('- U x 5 abcde\n');
      expectRejection(input, {
        code: AsbErrorCode.PARSE,
        at: { line: 7, column: 6 },
        message: 'The backup contains LDTs - please use an older version of this tool to restore the backup ({at})',
        trace: [REC],
      });
    });

    it('a bool other than exactly T or F', () => {
      for (const text of ['Y', 'TRUE', 't', '', '1', 'T ']) {
        const input = withBin(`- Z z ${text}\n`);
        expectRejection(input, {
          code: AsbErrorCode.PARSE,
          at: positionOf(input, `z ${text}\n`, 0, 2 + text.length),
          message: `Unknown boolean value encoding: "${text}" ({at})`,
          trace: ['Error while reading boolean bin value', REC],
        });
      }
    });

    it('a bin name of 16 bytes or more (C\'s client refuses it when the bin is set)', () => {
      const name = 'sixteen_chars_xy';
      const cases: Array<[string, string]> = [
        [`- I ${name} 1\n`, `Error while setting integer bin ${name} to 1`],
        [`- N ${name}\n`, `Error while setting NIL bin ${name}`],
        [`- Z ${name} T\n`, `Error while setting boolean bin ${name} to true`],
        [`- D ${name} 1.5\n`, `Error while setting floating-point bin ${name} to 1.5`],
        [`- S ${name} 3 abc\n`, `Error while setting string bin ${name} to abc`],
        [`- G ${name} 2 {}\n`, `Error while setting geojson bin ${name} to {}`],
        [`- B ${name} 4 AAAA\n`, `Error while setting encoded data bin ${name}`],
        [`- L! ${name} 1 x\n`, `Error while setting encoded data bin ${name}`],
      ];
      for (const [line, wording] of cases) {
        const input = withBin(line);
        const at = positionOf(input, '\n', 6);
        const { error } = decodeFailure(input);
        expect([error.code, error.line, error.column, error.trace], line).to.deep.equal([AsbErrorCode.PARSE, at.line, at.column, [REC]]);
        expect(error.message.startsWith(`${wording} (${lineCol(at)})`), error.message).to.equal(true);
      }
      const escaped = withBin(`- I ${'\\ '.repeat(16)} 1\n`);
      expect(decodeFailure(escaped).error.message.startsWith(`Error while setting integer bin ${' '.repeat(16)} to 1`)).to.equal(true);
    });

    it('two spaces where one belongs', () => {
      const intInput = withBin('- I x  1\n');
      expectRejection(intInput, {
        code: AsbErrorCode.PARSE,
        at: { line: 7, column: 7 },
        message: 'Invalid character " " in backup block ({at}), expected digit',
        trace: ['Error while reading integer bin value', REC],
      });
      const generation = asb(HEADER_31, `+ n test\n+ d ${D1}\n+ g  1\n`);
      expectRejection(generation, {
        code: AsbErrorCode.PARSE,
        at: { line: 4, column: 5 },
        message: 'Invalid character " " in backup block ({at}), expected digit',
        trace: ['Error while reading generation count', REC],
      });
      const string = withBin('- S x  5 hello\n');
      expectRejection(string, { code: AsbErrorCode.PARSE, at: { line: 7, column: 8 }, message: 'Unexpected character "5" in backup block ({at}), expected \\x0a', trace: [REC] });
    });

    it('a nil bin with a value', () => {
      const input = withBin('- N x 5\n');
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 7, column: 6 }, message: 'Unexpected character " " in backup block ({at}), expected \\x0a', trace: [REC] });
    });

    it('CRLF line ends: the CR is part of the namespace token, then the digest line fails', () => {
      const input = asb(HEADER_31, `+ n test\r\n+ d ${D1}\r\n+ g 1\r\n+ t 0\r\n+ b 0\r\n`);
      expectRejection(input, { code: AsbErrorCode.PARSE, at: { line: 3, column: 33 }, message: 'Unexpected character \\x0d in backup block ({at}), expected \\x0a', trace: [REC] });
      const value = withBin('- I x 1\r\n');
      expectRejection(value, {
        code: AsbErrorCode.PARSE,
        at: { line: 7, column: 8 },
        message: 'Invalid character \\x0d in backup block ({at}), expected digit',
        trace: ['Error while reading integer bin value', REC],
      });
    });
  });

  describe('after an error', () => {
    it('the decoder stays failed: write() and end() rethrow the same error', () => {
      const failure = decodeFailure(withBin('- Q x 1\n'));
      expect(() => failure.decoded.decoder.write(Buffer.from('+'))).to.throw().that.equals(failure.error);
      expect(() => failure.decoded.decoder.end()).to.throw().that.equals(failure.error);
    });

    it('records before the failing one were delivered; the failing one was not', () => {
      const input = asb(HEADER_31, RECORD_HEAD, '+ b 0\n', RECORD_HEAD, '+ b 1\n- Q x 1\n');
      const { decoded } = decodeFailure(input);
      expect([decoded.records.length, decoded.decoder.recordCount]).to.deep.equal([1, 1]);
    });
  });
});
