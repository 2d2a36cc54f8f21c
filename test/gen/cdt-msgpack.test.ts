import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cdt, CdtEncoder, type CdtValue, ListOrder, MapOrder } from '../../scripts/lib/cdt-msgpack.js';
import { describeIfExists, fixturesDir } from '../support/paths.js';
import { CdtParseError, parseParticle, type Typed } from './cdt-parse.js';

interface ManifestValue {
  type: string;
  value?: unknown;
  bits?: string;
  order?: string;
  flags?: number;
  msgpack?: string;
}

/** The manifest's typed form, minus what the particle does not hold (readable doubles, msgpack). */
function normalise(v: ManifestValue): Typed {
  switch (v.type) {
    case 'double': return { type: 'double', bits: v.bits! };
    case 'list':
      return { type: 'list', order: v.order as 'ordered', flags: v.flags!, value: (v.value as ManifestValue[]).map(normalise) };
    case 'map':
      return {
        type: 'map', order: v.order as 'key-ordered', flags: v.flags!,
        value: (v.value as [ManifestValue, ManifestValue][]).map(([k, x]) => [normalise(k), normalise(x)]),
      };
    case 'nil': return { type: 'nil' };
    default: return { type: v.type, value: v.value } as Typed;
  }
}

/** The generator's builder input for a manifest value (ordered containers in any order: the builder sorts). */
function toCdt(v: ManifestValue): CdtValue {
  switch (v.type) {
    case 'nil': return cdt.nil();
    case 'bool': return cdt.bool(v.value as boolean);
    case 'int': return cdt.int(BigInt(v.value as string));
    case 'double': return cdt.double(Buffer.from(v.bits!, 'hex').readDoubleBE());
    case 'string': return cdt.str(v.value as string);
    case 'bytes': return cdt.blob(Buffer.from(v.value as string, 'base64'));
    case 'geojson': return cdt.geojson(v.value as string);
    case 'list': {
      const items = (v.value as ManifestValue[]).map(toCdt);
      return cdt.list(v.order === 'ordered' ? items.reverse() : items, v.order === 'ordered' ? ListOrder.ORDERED : ListOrder.UNORDERED);
    }
    case 'map': {
      const entries = (v.value as [ManifestValue, ManifestValue][]).map(([k, x]) => [toCdt(k), toCdt(x)] as [CdtValue, CdtValue]);
      const order = v.order === 'key-ordered' ? MapOrder.KEY_ORDERED : v.order === 'key-value-ordered' ? MapOrder.KEY_VALUE_ORDERED : MapOrder.UNORDERED;
      return cdt.map(order === MapOrder.UNORDERED ? entries : entries.reverse(), order);
    }
    default: throw new Error(`unexpected manifest type ${v.type}`);
  }
}

describeIfExists(fixturesDir, 'gen: CDT particles against the asbackup 4.5.8 fixtures', () => {
  const cdtBins: ManifestValue[] = [];
  before(() => {
    const text = gunzipSync(readFileSync(join(fixturesDir, 'manifests', 'test-all.records.jsonl.gz'))).toString('utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const record = JSON.parse(line) as { bins: Record<string, ManifestValue> };
      for (const value of Object.values(record.bins)) if (value.type === 'list' || value.type === 'map') cdtBins.push(value);
    }
  });

  it('the strict reader reads every real list/map particle to its manifest value', () => {
    expect(cdtBins.length).to.be.greaterThan(800);
    for (const bin of cdtBins) {
      const parsed = parseParticle(Buffer.from(bin.msgpack!, 'base64'), bin.type as 'list' | 'map');
      expect(parsed).to.deep.equal(normalise(bin));
    }
  });

  it('the builder reproduces every real particle byte for byte, sorting ordered lists and maps as the server does', () => {
    const encoder = new CdtEncoder(16);
    let ordered = 0;
    for (const bin of cdtBins) {
      if (bin.order !== 'unordered') ordered++;
      expect(encoder.encode(toCdt(bin)).toString('base64'), JSON.stringify(bin).slice(0, 200)).to.equal(bin.msgpack);
    }
    expect(ordered).to.be.greaterThan(400);
  });
});

describe('gen: strict CDT reader rejects what a server would not store', () => {
  const cases: [string, string][] = [
    ['a msgpack str without particle prefix', '91a161'],
    ['a str with an unknown prefix', '91a20561'],
    ['a map flags pair without nil', '81c7000101'],
    ['a flags ext in the middle of a list', '9201c7000101'],
    ['trailing bytes', '9001'],
    ['a truncated particle', '92a30361'],
  ];
  for (const [title, hex] of cases) {
    it(`rejects ${title}`, () => {
      const isMap = hex.startsWith('8');
      expect(() => parseParticle(Buffer.from(hex, 'hex'), isMap ? 'map' : 'list')).to.throw(CdtParseError);
    });
  }
});
