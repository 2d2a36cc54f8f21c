import { expect } from 'chai';
import { getopt, type GetoptSpec } from '../../src/main/getopt.js';

const specs: GetoptSpec[] = [
  { id: 'directory', long: ['directory'], short: 'd', argument: 'required' },
  { id: 'directory-list', long: ['directory-list'], argument: 'required' },
  { id: 'input-file', long: ['input-file'], short: 'i', argument: 'required' },
  { id: 'unique', long: ['unique'], short: 'u', argument: 'none' },
  { id: 'replace', long: ['replace'], short: 'r', argument: 'none' },
  { id: 'password', long: ['password'], short: 'P', argument: 'optional' },
  { id: 'help', long: ['usage', 'help'], short: 'Z', argument: 'none' },
  { id: 'tls-name', long: ['tls-name', 'tlsName'], argument: 'required' },
];

function items(argv: string[], takesNext = false): [string, string | undefined][] {
  return getopt(argv, specs, { optionalTakesNextWord: () => takesNext }).items.map((i) => [i.spec.id, i.value]);
}

describe('cli: getopt_long semantics', () => {
  it('takes values attached, separate, after =, and values starting with a dash', () => {
    expect(items(['-dbackup', '-d', 'b2', '--directory=b3', '--directory', 'b4'])).to.deep.equal([
      ['directory', 'backup'],
      ['directory', 'b2'],
      ['directory', 'b3'],
      ['directory', 'b4'],
    ]);
    expect(items(['-i', '-'])).to.deep.equal([['input-file', '-']]);
    expect(items(['-i', '-:1024'])).to.deep.equal([['input-file', '-:1024']]);
    expect(items(['--input-file', '--'])).to.deep.equal([['input-file', '--']]);
    expect(items(['--directory='])).to.deep.equal([['directory', '']]);
  });

  it('splits clusters of short flags, the last one may take a value', () => {
    expect(items(['-ur'])).to.deep.equal([
      ['unique', undefined],
      ['replace', undefined],
    ]);
    expect(items(['-urdx'])).to.deep.equal([
      ['unique', undefined],
      ['replace', undefined],
      ['directory', 'x'],
    ]);
  });

  it('optional arguments attach only, unless the option takes the next word', () => {
    expect(items(['-Psecret'])).to.deep.equal([['password', 'secret']]);
    expect(items(['--password=secret'])).to.deep.equal([['password', 'secret']]);
    expect(getopt(['-P', 'word'], specs).items.map((i) => i.value)).to.deep.equal([undefined]);
    expect(getopt(['-P', 'word'], specs).operands).to.deep.equal(['word']);
    expect(items(['-P', 'word'], true)).to.deep.equal([['password', 'word']]);
    expect(items(['-P', '-u'], true)).to.deep.equal([
      ['password', undefined],
      ['unique', undefined],
    ]);
    expect(items(['-P'], true)).to.deep.equal([['password', undefined]]);
  });

  it('accepts unique prefixes of long names and rejects ambiguous ones', () => {
    expect(items(['--uniq'])).to.deep.equal([['unique', undefined]]);
    expect(items(['--hel'])).to.deep.equal([['help', undefined]]);
    expect(items(['--directory', 'x'])).to.deep.equal([['directory', 'x']]);
    expect(() => getopt(['--dir', 'x'], specs)).to.throw("option '--dir' is ambiguous; possibilities: '--directory' '--directory-list'");
    expect(items(['--tlsN', 'n'])).to.deep.equal([['tls-name', 'n']]);
  });

  it('reports unknown options and missing values in glibc wording', () => {
    expect(() => getopt(['--bogus'], specs)).to.throw("unrecognized option '--bogus'");
    expect(() => getopt(['-x'], specs)).to.throw("invalid option -- 'x'");
    expect(() => getopt(['-d'], specs)).to.throw("option requires an argument -- 'd'");
    expect(() => getopt(['--directory'], specs)).to.throw("option '--directory' requires an argument");
    expect(() => getopt(['--unique=yes'], specs)).to.throw("option '--unique' doesn't allow an argument");
  });

  it('collects operands and everything after --', () => {
    const r = getopt(['a', '-u', '-', '--', '-d', 'x'], specs);
    expect(r.operands).to.deep.equal(['a', '-', '-d', 'x']);
    expect(r.items.map((i) => i.spec.id)).to.deep.equal(['unique']);
  });

  it('lenient mode skips what it does not know', () => {
    const r = getopt(['--bogus', '-x', '--help', '-d'], specs, { lenient: true });
    expect(r.items.map((i) => i.spec.id)).to.deep.equal(['help']);
  });
});
