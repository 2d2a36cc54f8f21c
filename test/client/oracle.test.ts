/**
 * Records written by this client layer, read back by the official `aerospike` client (the oracle)
 * from the 3-node test cluster (run on a worker thread, as the official client blocks the main
 * thread while it connects), and by inspecting what the cluster stored.
 *
 * 1. The whole fixture backup a-default, decoded by the project's decoder and restored with batch
 *    writes into `bar`, compared record by record with the fixture's manifest (an independent
 *    description of every value: types, int64 text, double bits, raw CDT msgpack, HLL bytes, keys).
 * 2. Hand-made records for every particle type and the policy combinations, batch and single.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfExists, fixturesDir } from '../support/paths.js';
import { loadManifest, manifestParticleType, type ManifestTypedValue } from '../support/manifest.js';
import { RemoteTestCluster, type RemoteRecord } from '../cluster/remote-cluster.js';
import { AsbDecoder } from '../../src/shared/asb/decoder.js';
import type { AsbRecord } from '../../src/shared/asb/types.js';
import { Cluster } from '../../src/shared/aerospike/cluster.js';
import { WriteClient } from '../../src/shared/aerospike/write-client.js';
import { CITRUSLEAF_EPOCH, Info2, Info3, ParticleType, ResultCode, TTL_DONT_UPDATE, TTL_NAMESPACE_DEFAULT, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import type { WriteFlags } from '../../src/shared/aerospike/write-flags.js';
import { bin, makeRecord, nowCitrusleaf, seedList, ttlFor } from './support.js';
import { Aerospike } from './official-client.js';

const backupFile = join(fixturesDir, 'a-default', 'backup', 'test_00000.asb');
const manifestFile = join(fixturesDir, 'manifests', 'test-all.records.jsonl.gz');

const DEFAULT: WriteFlags = { info2: Info2.WRITE | Info2.GENERATION_GT, info3: 0 };

function doubleBits(value: number): string {
  const buf = Buffer.alloc(8);
  buf.writeDoubleBE(value);
  return buf.toString('hex');
}

/** Compares one bin read by the official client (deserialize: false) with the manifest. */
function expectOracleBin(actual: unknown, expected: ManifestTypedValue, what: string): void {
  switch (expected.type) {
    case 'int':
      expect(BigInt(actual as number | bigint), what).to.equal(BigInt(expected.value as string));
      break;
    case 'double':
      expect(doubleBits(actual as number), what).to.equal(expected.bits);
      break;
    case 'string':
    case 'bool':
      expect(actual, what).to.equal(expected.value);
      break;
    case 'bytes':
    case 'hll':
      expect(Buffer.from(actual as Buffer).toString('base64'), what).to.equal(expected.value);
      break;
    case 'geojson':
      {
        const geo = JSON.parse(JSON.stringify(actual)) as unknown;
        expect(typeof geo === 'string' ? JSON.parse(geo) : geo, what).to.deep.equal(JSON.parse(expected.value as string));
      }
      break;
    case 'list':
    case 'map':
      expect(Buffer.from(actual as Buffer).toString('base64'), what).to.equal(expected.msgpack);
      break;
    default:
      throw new Error(`unknown manifest type ${expected.type}`);
  }
}

describeIfExists(fixturesDir, 'client: writes read back by the official client', function () {
  this.timeout(60_000);
  let tc: RemoteTestCluster;
  let cluster: Cluster;
  let writer: WriteClient;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let oracle: any;

  before(async () => {
    tc = await RemoteTestCluster.start({
      nodes: 3,
      namespaces: [
        { name: 'test', replicationFactor: 2 },
        { name: 'bar', replicationFactor: 2 },
      ],
    });
    cluster = await Cluster.connect({ hosts: seedList(tc.seeds), requiredNamespaces: ['test', 'bar'] });
    writer = new WriteClient(cluster.routingTable.buffer, { maxCommandsInFlight: 8 });
    oracle = await Aerospike.connect({ hosts: tc.hosts, log: { level: Aerospike.log.OFF } });
  });

  after(async () => {
    oracle?.close();
    await writer?.close();
    await cluster?.close();
    await tc?.stop();
  });

  it('restores the fixture a-default with batch writes; every record reads back as the manifest describes it', async () => {
    const records: AsbRecord[] = [];
    const target = Buffer.from('bar');
    const decoder = new AsbDecoder(
      { record: (record) => records.push({ ...record, namespace: target }), secondaryIndex: () => undefined, udf: () => undefined },
      { file: backupFile },
    );
    decoder.write(readFileSync(backupFile));
    decoder.end();
    const now = nowCitrusleaf();
    const live = records.filter((record) => record.voidTime === 0 || record.voidTime > now + 5);
    for (let start = 0; start < live.length; start += 128) {
      const batch = live.slice(start, start + 128);
      const result = await writer.writeBatch(batch, batch.map((record) => ttlFor(record)), DEFAULT);
      expect(result.failures).to.deep.equal([]);
      expect([...result.resultCodes].every((code) => code === 0)).to.equal(true);
    }

    const manifest = loadManifest(manifestFile).filter((record) => record.void_time === 0 || record.void_time > now + 5);
    expect(manifest.length).to.equal(live.length);

    const stored = new Map<string, RemoteRecord>();
    for (const record of await tc.records('bar')) stored.set(Buffer.from(record.digest).toString('base64'), record);
    expect(stored.size).to.equal(manifest.length);

    const keys = manifest.map((record) => new Aerospike.Key('bar', record.set ?? null, null, Buffer.from(record.digest, 'base64')));
    const reads = await oracle.batchRead(
      keys.map((key: unknown) => ({ key, readAllBins: true })),
      { deserialize: false },
    );
    for (let i = 0; i < manifest.length; i++) {
      const expected = manifest[i];
      const what = `record ${expected.digest}`;
      expect(reads[i].status, what).to.equal(0);
      const bins = reads[i].record.bins as Record<string, unknown>;
      expect(Object.keys(bins).sort(), what).to.deep.equal(Object.keys(expected.bins).sort());
      for (const [name, value] of Object.entries(expected.bins)) expectOracleBin(bins[name], value, `${what} bin ${name}`);
      expect(reads[i].record.gen, what).to.equal(1);
      if (expected.void_time === 0) expect(reads[i].record.ttl, what).to.equal(-1);

      // What the cluster stored: particle types exactly (int vs integral double, HLL vs blob), keys, sets, void times.
      const record = stored.get(expected.digest)!;
      expect(record.set, what).to.equal(expected.set ?? '');
      for (const [name, storedBin] of record.bins) {
        expect(storedBin.particleType, `${what} bin ${name} type`).to.equal(manifestParticleType(expected.bins[name]));
      }
      if (expected.key === null) {
        expect(record.key, what).to.equal(null);
      } else {
        expect(record.key, what).to.not.equal(null);
        const keyType = { int: ParticleType.INTEGER, string: ParticleType.STRING, bytes: ParticleType.BLOB }[expected.key.type];
        expect(record.key!.particleType, what).to.equal(keyType);
        const keyValue = Buffer.from(record.key!.value);
        if (expected.key.type === 'int') expect(keyValue.readBigInt64BE(0).toString(), what).to.equal(expected.key.value);
        else if (expected.key.type === 'string') expect(keyValue.toString('utf8'), what).to.equal(expected.key.value);
        else expect(keyValue.toString('base64'), what).to.equal(expected.key.value);
      }
      expect(Math.abs(record.voidTime - expected.void_time), `${what} void time`).to.be.at.most(expected.void_time === 0 ? 0 : 3);
    }
  });

  it('writes every particle type, batch and single, byte-exact and typed', async () => {
    const hll = Buffer.from('AAYAAAAAAAAAAAAAAAEAAAAAAEAAAAAAAAAAAAAAAIAEAAAQAAAAAEAAAAAAAAAAAAAAAAAAAAEAAQA=', 'base64');
    const bins = [
      bin('int0', ParticleType.INTEGER, 0),
      bin('intneg', ParticleType.INTEGER, -233),
      bin('int53', ParticleType.INTEGER, 9007199254740993n),
      bin('intmax', ParticleType.INTEGER, 9223372036854775807n),
      bin('intmin', ParticleType.INTEGER, -9223372036854775808n),
      bin('dbl1', ParticleType.FLOAT, 1),
      bin('dblneg0', ParticleType.FLOAT, -0),
      bin('dblnan', ParticleType.FLOAT, NaN),
      bin('dblinf', ParticleType.FLOAT, -Infinity),
      bin('dblsub', ParticleType.FLOAT, 5e-324),
      bin('str', ParticleType.STRING, Buffer.from('Iñaki 😀 \n\t')),
      bin('strempty', ParticleType.STRING, Buffer.alloc(0)),
      bin('blob', ParticleType.BLOB, Buffer.from(Array.from({ length: 256 }, (_, i) => i))),
      bin('blobempty', ParticleType.BLOB, Buffer.alloc(0)),
      bin('java', ParticleType.JAVA_BLOB, Buffer.from([0xac, 0xed, 0, 5])),
      bin('python', ParticleType.PYTHON_BLOB, Buffer.from([0x80, 4])),
      bin('yes', ParticleType.BOOL, true),
      bin('no', ParticleType.BOOL, false),
      bin('geo', ParticleType.GEOJSON, Buffer.from('{"type":"Point","coordinates":[123.056,-61.835]}')),
      bin('hll', ParticleType.HLL, hll),
      bin('list', ParticleType.LIST, Buffer.from('93a303616201c0', 'hex')),
      bin('olist', ParticleType.LIST, Buffer.from('93d7ff010000000000000001a2036102', 'hex').subarray(0, 0)),
      bin('map', ParticleType.MAP, Buffer.from('83c70001c0a2036101a203620293a1', 'hex').subarray(0, 0)),
    ];
    // An ordered list (ext header first) and a key-ordered map, as asbackup stores them.
    bins[21].value = Buffer.from('92c7000101', 'hex');
    bins[22].value = Buffer.from('83c70001c0a2036101a20362c3', 'hex');
    const batchRecord = makeRecord('test', 'types', 'batch', bins);
    const singleRecord = makeRecord('test', 'types', 'single', bins);
    const result = await writer.writeBatch([batchRecord], [TTL_NEVER_EXPIRE], DEFAULT);
    expect([...result.resultCodes]).to.deep.equal([0]);
    expect(await writer.writeRecord(singleRecord, TTL_NEVER_EXPIRE, DEFAULT)).to.equal(0);

    const stored = await tc.records('test', 'types');
    expect(stored.length).to.equal(2);
    for (const record of stored) {
      const byName = new Map(record.bins);
      for (const sent of bins) {
        const got = byName.get(sent.name.toString())!;
        expect(got.particleType, sent.name.toString()).to.equal(sent.type);
        if (sent.type === ParticleType.GEOJSON) continue; // stored with the server's cells
        if (sent.type === ParticleType.INTEGER) {
          expect(Buffer.from(got.value).readBigInt64BE(0)).to.equal(BigInt(sent.value as number | bigint));
        } else if (sent.type === ParticleType.FLOAT) {
          expect(Buffer.from(got.value).toString('hex')).to.equal(doubleBits(sent.value as number));
        } else if (sent.type === ParticleType.BOOL) {
          expect(got.value[0]).to.equal(sent.value ? 1 : 0);
        } else {
          expect(Buffer.from(got.value).equals(sent.value as Buffer), sent.name.toString()).to.equal(true);
        }
      }
    }

    for (const key of ['batch', 'single']) {
      const read = await oracle.get(new Aerospike.Key('test', 'types', key));
      const b = read.bins;
      expect(b.intneg).to.equal(-233);
      expect(b.int53).to.equal(9007199254740993n);
      expect(b.intmax).to.equal(9223372036854775807n);
      expect(b.intmin).to.equal(-9223372036854775808n);
      expect(Object.is(b.dblneg0, -0)).to.equal(true);
      expect(b.dblnan).to.be.NaN;
      expect(b.dblinf).to.equal(-Infinity);
      expect(b.dblsub).to.equal(5e-324);
      expect(b.str).to.equal('Iñaki 😀 \n\t');
      expect(b.strempty).to.equal('');
      expect(Buffer.from(b.blob).equals(bins[12].value as Buffer)).to.equal(true);
      expect(b.yes).to.equal(true);
      expect(b.no).to.equal(false);
      expect(b.list).to.deep.equal(['ab', 1, null]);
      expect(b.olist).to.deep.equal([1]);
      expect(b.map).to.deep.equal({ a: 1, b: true });
      const geo = JSON.parse(JSON.stringify(b.geo));
      expect(typeof geo === 'string' ? JSON.parse(geo) : geo).to.deep.equal({ type: 'Point', coordinates: [123.056, -61.835] });
      expect(Buffer.from(b.hll).equals(hll)).to.equal(true);
      expect(read.gen).to.equal(1);
      expect(read.ttl).to.equal(-1);
    }
  });

  it('applies every policy combination per record and maps each row to its result code', async () => {
    const set = 'policies';
    const v = (n: number) => [bin('v', ParticleType.INTEGER, n)];
    // Existing records at generation 2 (written twice).
    const existing = ['gt-low', 'gt-high', 'unique', 'replace', 'update', 'eq-ok', 'eq-bad', 'nil'].map((key) =>
      makeRecord('test', set, key, [bin('v', ParticleType.INTEGER, 1), bin('old', ParticleType.STRING, Buffer.from('x'))]),
    );
    for (let round = 0; round < 2; round++) {
      const setup = await writer.writeBatch(existing, existing.map(() => TTL_NEVER_EXPIRE), { info2: Info2.WRITE, info3: 0 });
      expect([...setup.resultCodes].every((code) => code === 0)).to.equal(true);
    }

    type Case = { key: string; flags: WriteFlags; gen: number; ttl: number; expect: number; sendKey?: boolean; bins?: ReturnType<typeof v> };
    const cases: Case[] = [
      { key: 'gt-low', flags: DEFAULT, gen: 2, ttl: TTL_NEVER_EXPIRE, expect: ResultCode.GENERATION_ERROR },
      { key: 'gt-high', flags: DEFAULT, gen: 7, ttl: TTL_NEVER_EXPIRE, expect: ResultCode.OK },
      { key: 'unique', flags: { info2: Info2.WRITE | Info2.CREATE_ONLY | Info2.GENERATION_GT, info3: 0 }, gen: 9, ttl: TTL_NEVER_EXPIRE, expect: ResultCode.KEY_EXISTS },
      { key: 'unique-new', flags: { info2: Info2.WRITE | Info2.CREATE_ONLY, info3: 0 }, gen: 1, ttl: 3600, expect: ResultCode.OK, sendKey: false },
      { key: 'replace', flags: { info2: Info2.WRITE, info3: Info3.CREATE_OR_REPLACE }, gen: 0, ttl: TTL_NAMESPACE_DEFAULT, expect: ResultCode.OK },
      { key: 'replace-only-missing', flags: { info2: Info2.WRITE, info3: Info3.REPLACE_ONLY }, gen: 0, ttl: TTL_NEVER_EXPIRE, expect: ResultCode.KEY_NOT_FOUND },
      { key: 'update', flags: { info2: Info2.WRITE, info3: Info3.UPDATE_ONLY }, gen: 0, ttl: TTL_DONT_UPDATE, expect: ResultCode.OK },
      { key: 'update-missing', flags: { info2: Info2.WRITE, info3: Info3.UPDATE_ONLY }, gen: 0, ttl: TTL_NEVER_EXPIRE, expect: ResultCode.KEY_NOT_FOUND },
      { key: 'eq-ok', flags: { info2: Info2.WRITE | Info2.GENERATION, info3: 0 }, gen: 2, ttl: TTL_NEVER_EXPIRE, expect: ResultCode.OK },
      { key: 'eq-bad', flags: { info2: Info2.WRITE | Info2.GENERATION, info3: 0 }, gen: 1, ttl: TTL_NEVER_EXPIRE, expect: ResultCode.GENERATION_ERROR },
      { key: 'nil', flags: { info2: Info2.WRITE, info3: 0 }, gen: 0, ttl: TTL_NEVER_EXPIRE, expect: ResultCode.OK, bins: [bin('old', ParticleType.NULL, null), bin('v', ParticleType.INTEGER, 5)] },
    ];
    const build = (c: Case, suffix: string) =>
      makeRecord('test', set, c.key + suffix, c.bins ?? v(42), { generation: c.gen, sendKey: c.sendKey });

    // Batch: one record per case; each row carries its own flags by being sent in its own group of
    // one flag set, so send cases grouped by flags while mixing nodes within each group.
    const byFlags = new Map<string, Case[]>();
    for (const c of cases) byFlags.set(JSON.stringify(c.flags), [...(byFlags.get(JSON.stringify(c.flags)) ?? []), c]);
    for (const group of byFlags.values()) {
      const records = group.map((c) => build(c, ''));
      const result = await writer.writeBatch(records, group.map((c) => c.ttl), group[0].flags);
      expect(result.failures).to.deep.equal([]);
      expect([...result.resultCodes], group.map((c) => c.key).join(',')).to.deep.equal(group.map((c) => c.expect));
    }

    const stored = new Map((await tc.records('test', set)).map((record) => [Buffer.from(record.digest).toString('hex'), record]));
    const get = (key: string) => stored.get(makeRecord('test', set, key, []).digest.toString('hex'));
    expect(get('gt-low')!.generation).to.equal(2);
    expect(get('gt-high')!.generation, 'a GT write stores old + 1, not the sent generation').to.equal(3);
    expect(get('unique')!.generation).to.equal(2);
    expect(get('unique-new')!.key, 'no key sent').to.equal(null);
    expect(Math.abs(get('unique-new')!.voidTime - (nowCitrusleaf() + 3600))).to.be.at.most(3);
    expect(get('replace')!.bins.map(([name]) => name)).to.deep.equal(['v']);
    expect(get('update')!.bins.map(([name]) => name).sort()).to.deep.equal(['old', 'v']);
    expect(get('replace-only-missing')).to.equal(undefined);
    expect(get('eq-ok')!.generation).to.equal(3);
    expect(get('nil')!.bins.map(([name]) => name)).to.deep.equal(['v']);
    expect(get('gt-high')!.key, 'key sent').to.not.equal(null);

    // The same cases as single-record writes, on fresh copies of the existing records.
    const singles = cases.map((c) => ({ c, record: build(c, '-single') }));
    for (const { c, record } of singles) {
      if (existing.some((e) => e.digest.equals(makeRecord('test', set, c.key, []).digest))) {
        const copy = makeRecord('test', set, c.key + '-single', [bin('v', ParticleType.INTEGER, 1), bin('old', ParticleType.STRING, Buffer.from('x'))]);
        expect(await writer.writeRecord(copy, TTL_NEVER_EXPIRE, { info2: Info2.WRITE, info3: 0 })).to.equal(0);
        expect(await writer.writeRecord(copy, TTL_NEVER_EXPIRE, { info2: Info2.WRITE, info3: 0 })).to.equal(0);
      }
      expect(await writer.writeRecord(record, c.ttl, c.flags), c.key).to.equal(c.expect);
    }
    const read = await oracle.get(new Aerospike.Key('test', set, 'gt-high-single'));
    expect(read.gen).to.equal(3);
    expect(read.bins).to.deep.equal({ v: 42, old: 'x' });
    void CITRUSLEAF_EPOCH;
  });
});
