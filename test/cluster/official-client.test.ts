/**
 * Proof that the test cluster is a server to the official `aerospike` client (6.7.1, C client 7.x
 * inside): a 3-node cluster on a worker thread, driven through the client's public API; stored bytes
 * are compared with what a real server keeps (values from ../shared/reference/wire captures).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { RemoteTestCluster, type RemoteRecord } from './remote-cluster.js';
import { computeDigest } from './cluster.js';
import { testPki } from '../support/tls-certs.js';

// The official client is CommonJS with loose typings; it is only an oracle here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Aerospike: any = createRequire(import.meta.url)('aerospike');
Aerospike.setDefaultLogging({ level: Aerospike.log.OFF });

const TEND_MS = 250;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function connect(hosts: { addr: string; port: number; tlsname?: string }[], extra: Record<string, unknown> = {}): Promise<any> {
  return Aerospike.connect({
    hosts,
    tendInterval: TEND_MS,
    log: { level: Aerospike.log.OFF },
    policies: {
      read: new Aerospike.ReadPolicy({ totalTimeout: 2000 }),
      write: new Aerospike.WritePolicy({ totalTimeout: 2000 }),
      batch: new Aerospike.BatchPolicy({ totalTimeout: 2000 }),
      operate: new Aerospike.OperatePolicy({ totalTimeout: 2000 }),
      info: new Aerospike.InfoPolicy({ timeout: 2000 }),
    },
    ...extra,
  });
}

async function expectCode(promise: Promise<unknown>, code: number): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as { code?: number }).code, String(error)).to.equal(code);
    return;
  }
  expect.fail(`expected an error with code ${code}`);
}

function bin(record: RemoteRecord | undefined, name: string): { particleType: number; value: Buffer } {
  const entry = record?.bins.find(([n]) => n === name);
  if (!entry) throw new Error(`bin ${name} not stored`);
  return { particleType: entry[1].particleType, value: Buffer.from(entry[1].value) };
}

async function storedRecord(cluster: RemoteTestCluster, ns: string, set: string, key: string | number | Buffer): Promise<RemoteRecord | undefined> {
  const digest = computeDigest(set, key);
  return (await cluster.records(ns, set)).find((r) => Buffer.from(r.digest).equals(digest));
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

describe('test cluster vs the official aerospike client (3 nodes)', function () {
  this.timeout(20000);
  let cluster: RemoteTestCluster;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let client: any;

  before(async () => {
    cluster = await RemoteTestCluster.start({
      nodes: 3,
      namespaces: [{ name: 'test', replicationFactor: 2 }, { name: 'bar', maxRecordSize: 4096 }],
    });
    client = await connect(cluster.hosts);
  });

  after(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('discovers all 3 nodes through peers, with their node ids', async () => {
    await until(() => client.getNodes().length === 3);
    const names = client.getNodes().map((n: { name: string }) => n.name).sort();
    expect(names).to.deep.equal(cluster.nodes.map((n) => n.nodeId).sort());
  });

  it('stores every bin type byte-exactly and returns it unchanged (int key, key SEND)', async () => {
    const key = new Aerospike.Key('test', 'demo', 42);
    const bins = {
      i: 42,
      neg: -7,
      big: BigInt('9007199254740993'),
      d: 3.25,
      d1: new Aerospike.Double(1.0),
      s: 'héllo',
      b: Buffer.from([1, 2, 3, 255]),
      t: true,
      l: [1, 'two', 3.5, [4], Buffer.from([5])],
      m: { a: 1, b: 'x', c: [1, 2] },
      g: new Aerospike.GeoJSON({ type: 'Point', coordinates: [103.9, 1.3] }),
    };
    await client.put(key, bins, { ttl: -1 }, new Aerospike.WritePolicy({ key: Aerospike.policy.key.SEND }));
    const stored = await storedRecord(cluster, 'test', 'demo', 42);
    expect(stored?.key?.particleType).to.equal(1);
    expect(Buffer.from(stored!.key!.value).toString('hex')).to.equal('000000000000002a');
    expect(bin(stored, 'i')).to.deep.equal({ particleType: 1, value: Buffer.from('000000000000002a', 'hex') });
    expect(bin(stored, 'big').value.toString('hex')).to.equal('0020000000000001');
    expect(bin(stored, 'd1')).to.deep.equal({ particleType: 2, value: Buffer.from('3ff0000000000000', 'hex') });
    expect(bin(stored, 's').value.toString('utf8')).to.equal('héllo');
    expect(bin(stored, 't')).to.deep.equal({ particleType: 17, value: Buffer.from([1]) });
    // The same msgpack bytes the real server stored for the same values (b-single capture).
    expect(bin(stored, 'l').value.toString('hex')).to.equal('9501a40374776fcb400c0000000000009104a20405');
    expect(bin(stored, 'm').value.toString('hex')).to.equal('84c70001c0a2036101a20362a20378a20363920102');
    // GeoJSON: the server's computed cell for this point (b-single capture) is stored and returned.
    const geo = bin(stored, 'g');
    expect(geo.particleType).to.equal(23);
    expect(geo.value.subarray(0, 11).toString('hex')).to.equal('00000131da186fa847d593');

    const record = await client.get(key);
    expect(record.gen).to.equal(1);
    expect(record.ttl).to.equal(-1);
    expect(record.bins.i).to.equal(42);
    expect(record.bins.neg).to.equal(-7);
    expect(BigInt(record.bins.big)).to.equal(BigInt('9007199254740993'));
    expect(record.bins.d).to.equal(3.25);
    expect(record.bins.d1).to.equal(1);
    expect(record.bins.s).to.equal('héllo');
    expect(Buffer.compare(record.bins.b, Buffer.from([1, 2, 3, 255]))).to.equal(0);
    expect(record.bins.t).to.equal(true);
    expect(record.bins.l).to.deep.equal([1, 'two', 3.5, [4], Buffer.from([5])]);
    expect(record.bins.m).to.deep.equal({ a: 1, b: 'x', c: [1, 2] });
    expect(JSON.parse(record.bins.g)).to.deep.equal({ type: 'Point', coordinates: [103.9, 1.3] });
  });

  it('handles string and blob keys, digest-only records, select, exists and remove', async () => {
    const sKey = new Aerospike.Key('test', 'demo', 'user-1');
    const bKey = new Aerospike.Key('test', 'demo', Buffer.from([0, 10, 32, 255]));
    await client.put(sKey, { s: 'v1', i: 1 });
    await client.put(bKey, { s: 'blobkey' }, {}, new Aerospike.WritePolicy({ key: Aerospike.policy.key.SEND }));
    expect((await storedRecord(cluster, 'test', 'demo', 'user-1'))?.key).to.equal(null);
    const blobStored = await storedRecord(cluster, 'test', 'demo', Buffer.from([0, 10, 32, 255]));
    expect(blobStored?.key?.particleType).to.equal(4);
    expect((await client.select(sKey, ['s'])).bins).to.deep.equal({ s: 'v1' });
    expect(await client.exists(sKey)).to.equal(true);
    expect(await client.exists(new Aerospike.Key('test', 'demo', 'missing'))).to.equal(false);
    await client.remove(sKey);
    expect(await client.exists(sKey)).to.equal(false);
    await expectCode(client.remove(sKey), 2);
    await expectCode(client.get(sKey), 2);
  });

  it('operate: incr, append, list append, map put, read and touch give the server answers', async () => {
    const key = new Aerospike.Key('test', 'ops', 1);
    await client.put(key, { i: 42, s: 'a', l: [1], m: { a: 1, b: 2, c: 3 } });
    const ops = Aerospike.operations;
    const result = await client.operate(key, [
      ops.incr('i', 1),
      ops.append('s', '!'),
      Aerospike.lists.append('l', 6),
      Aerospike.maps.put('m', 'z', 26),
      ops.read('i'),
      ops.touch(600),
    ]);
    expect(result.bins.i).to.equal(43);
    expect(result.bins.l).to.equal(2);
    expect(result.bins.m).to.equal(4);
    expect(result.gen).to.equal(2);
    expect(result.ttl).to.be.within(598, 600);
    const record = await client.get(key);
    expect(record.bins).to.deep.include({ i: 43, s: 'a!', l: [1, 6] });
    expect(record.bins.m).to.deep.equal({ a: 1, b: 2, c: 3, z: 26 });
    await expectCode(client.operate(new Aerospike.Key('test', 'ops', 'missing'), [ops.touch(10)]), 2);
  });

  it('exists and generation policies answer the server codes', async () => {
    const key = new Aerospike.Key('test', 'pol', 'p1');
    const missing = new Aerospike.Key('test', 'pol', 'nope');
    const exists = Aerospike.policy.exists;
    const wp = (props: Record<string, unknown>) => new Aerospike.WritePolicy(props);
    await client.put(key, { s: 'v1' });
    await expectCode(client.put(key, { s: 'v2' }, {}, wp({ exists: exists.CREATE })), 5);
    await expectCode(client.put(missing, { s: 'x' }, {}, wp({ exists: exists.UPDATE })), 2);
    await expectCode(client.put(missing, { s: 'x' }, {}, wp({ exists: exists.REPLACE })), 2);
    await expectCode(client.put(key, { s: 'v2' }, { gen: 99 }, wp({ gen: Aerospike.policy.gen.EQ })), 3);
    await client.put(key, { s: 'v2' }, { gen: 1 }, wp({ gen: Aerospike.policy.gen.EQ }));
    await expectCode(client.put(key, { s: 'v3' }, { gen: 2 }, wp({ gen: Aerospike.policy.gen.GT })), 3);
    await client.put(key, { s: 'v4' }, { gen: 7 }, wp({ gen: Aerospike.policy.gen.GT }));
    expect((await client.get(key)).gen).to.equal(3);
    await client.put(key, { only: 'this' }, {}, wp({ exists: exists.REPLACE }));
    expect((await client.get(key)).bins).to.deep.equal({ only: 'this' });
    await client.put(key, { s: 'v5' }, {}, wp({ exists: exists.CREATE_OR_REPLACE }));
    const record = await client.get(key);
    expect(record.bins).to.deep.equal({ s: 'v5' });
    expect(record.gen).to.equal(5);
  });

  it('TTLs round-trip: n seconds, never, do-not-update, namespace default, over 10 years', async () => {
    const key = new Aerospike.Key('test', 'ttl', 't1');
    await client.put(key, { v: 1 }, { ttl: 3600 });
    expect((await client.get(key)).ttl).to.be.within(3598, 3600);
    await client.put(key, { v: 2 }, { ttl: Aerospike.ttl.DONT_UPDATE });
    expect((await client.get(key)).ttl).to.be.within(3598, 3600);
    await client.put(key, { v: 3 }, { ttl: Aerospike.ttl.NEVER_EXPIRE });
    expect((await client.get(key)).ttl).to.equal(-1);
    await client.put(key, { v: 4 }, { ttl: Aerospike.ttl.NAMESPACE_DEFAULT });
    expect((await client.get(key)).ttl).to.equal(-1);
    await expectCode(client.put(key, { v: 5 }, { ttl: 315360001 }), 4);
  });

  it('enforces bin names, record size and namespaces as the server does', async () => {
    const big = new Aerospike.Key('bar', 'big', 1);
    await expectCode(client.put(big, { s: 'x'.repeat(5000) }), 13);
    await client.put(big, { s: 'x'.repeat(1000) });
  });

  it('batchWrite and batchRead give per-record results', async () => {
    const ops = Aerospike.operations;
    const key = (i: number) => new Aerospike.Key('test', 'bt', `b${i}`);
    await client.put(key(3), { v: 3, old: 'yes' });
    const results = await client.batchWrite([
      { type: Aerospike.batchType.BATCH_WRITE, key: key(1), ops: [ops.write('v', 1), ops.write('s', 'one')] },
      { type: Aerospike.batchType.BATCH_WRITE, key: key(2), ops: [ops.write('v', 2)] },
      {
        type: Aerospike.batchType.BATCH_WRITE,
        key: key(3),
        ops: [ops.write('v', 3)],
        policy: new Aerospike.BatchWritePolicy({ exists: Aerospike.policy.exists.CREATE }),
      },
      {
        type: Aerospike.batchType.BATCH_WRITE,
        key: key(4),
        ops: [ops.write('v', 4)],
        policy: new Aerospike.BatchWritePolicy({ exists: Aerospike.policy.exists.UPDATE }),
      },
      { type: Aerospike.batchType.BATCH_REMOVE, key: key(9) },
    ]);
    expect(results.map((r: { status: number }) => r.status)).to.deep.equal([0, 0, 5, 2, 2]);
    const reads = await client.batchRead([1, 2, 3, 4].map((i) => ({ key: key(i), readAllBins: true })));
    expect(reads.map((r: { status: number }) => r.status)).to.deep.equal([0, 0, 0, 2]);
    expect(reads[0].record.bins).to.deep.equal({ v: 1, s: 'one' });
    expect(reads[2].record.bins).to.deep.equal({ v: 3, old: 'yes' });
    // The C client sends a node's lone row as a single-record command.
    const stats = await cluster.stats();
    expect(stats.reduce((n, s) => n + s.batchRequests, 0)).to.be.at.least(1);
    expect(stats.reduce((n, s) => n + s.batchWriteRows + s.singleWrites + s.singleDeletes, 0)).to.be.at.least(5);
  });

  it('creates, waits for and removes secondary indexes', async () => {
    const job = await client.createIntegerIndex({ ns: 'test', set: 'demo', bin: 'age', index: 'age_idx' });
    await job.wait(10);
    let list = await client.infoAny('sindex-list:ns=test;b64=true');
    expect(list).to.contain('indexname=age_idx:set=demo:bin=age:type=numeric:indextype=default:context=null:exp=null:state=RW');
    // Same name, another bin: the server's answer.
    await expectCode(client.createStringIndex({ ns: 'test', set: 'demo', bin: 'other', index: 'age_idx' }), 200);
    await client.indexRemove('test', 'age_idx');
    list = await client.infoAny('sindex-list:ns=test;b64=true');
    expect(list).to.equal('sindex-list:ns=test;b64=true\t\n');
  });

  it('registers, waits for and removes UDF modules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-udf-'));
    const path = join(dir, 'probe.lua');
    writeFileSync(path, 'function f(rec)\n  return 1\nend\n');
    const job = await client.udfRegister(path);
    rmSync(dir, { recursive: true, force: true });
    await job.wait(10);
    // The same hash a real server shows for this module (f1 capture).
    expect(await client.infoAny('udf-list')).to.equal(
      'udf-list\tfilename=probe.lua,hash=bf958e1c821e5610ffd9b72c6d2b9a9c8b15f329,type=LUA;\n',
    );
    const removal = await client.udfRemove('probe.lua');
    await removal.wait(10);
    expect(await client.infoAny('udf-list')).to.equal('udf-list\t\n');
  });

  it('answers the info commands restore needs', async () => {
    const answer = await client.infoAny('build\nedition\nnamespaces\nget-config:context=service\n');
    expect(answer).to.match(/^build\t8\.1\.2\.0\nedition\tAerospike Community Edition\nnamespaces\ttest;bar\n/);
    expect(answer).to.contain('batch-index-threads=2;');
    const all = await client.infoAll('partition-generation');
    expect(all).to.have.length(3);
  });

  describe('fault injection, seen from the client', () => {
    afterEach(async () => {
      await cluster.clearFaults();
    });

    it('fails the next N commands with a result code', async () => {
      await cluster.failCommands(14, { count: 2 });
      const key = new Aerospike.Key('test', 'faults', 1);
      await expectCode(client.put(key, { v: 1 }, {}, new Aerospike.WritePolicy({ maxRetries: 0 })), 14);
      await expectCode(client.put(key, { v: 1 }, {}, new Aerospike.WritePolicy({ maxRetries: 0 })), 14);
      await client.put(key, { v: 1 });
    });

    it('fails a fraction of batch write rows with a result code', async () => {
      const id = await cluster.failWrites(18, { fraction: 0.5 });
      const results = await client.batchWrite(
        Array.from({ length: 40 }, (_, i) => ({
          type: Aerospike.batchType.BATCH_WRITE,
          key: new Aerospike.Key('test', 'fraction', i),
          ops: [Aerospike.operations.write('v', i)],
        })),
      );
      const failed = results.filter((r: { status: number }) => r.status === 18).length;
      expect(failed).to.equal(await cluster.faultFired(id));
      expect(failed).to.be.within(5, 35);
      expect(results.filter((r: { status: number }) => r.status === 0).length).to.equal(40 - failed);
    });

    it('adds latency: a short client timeout expires', async () => {
      await cluster.addLatency(400, { count: 1 });
      const key = new Aerospike.Key('test', 'faults', 2);
      await expectCode(client.put(key, { v: 1 }, {}, new Aerospike.WritePolicy({ totalTimeout: 150, maxRetries: 0 })), 9);
    });

    it('hangs without answering: the client times out', async () => {
      await cluster.hang({ count: 1 });
      const key = new Aerospike.Key('test', 'faults', 3);
      await expectCode(client.get(key, new Aerospike.ReadPolicy({ totalTimeout: 200, socketTimeout: 200, maxRetries: 0 })), 9);
    });

    it('drops connections: the command fails without retries, then succeeds', async () => {
      await cluster.dropOnCommand({ count: 1, kinds: ['single-write'] });
      const key = new Aerospike.Key('test', 'faults', 4);
      let failed = false;
      try {
        await client.put(key, { v: 1 }, {}, new Aerospike.WritePolicy({ maxRetries: 0 }));
      } catch (error) {
        failed = true;
        expect((error as { code: number }).code).to.be.oneOf([-10, -6, 9]);
      }
      expect(failed).to.equal(true);
      await client.put(key, { v: 1 });
    });

    it('moves partitions mid-run: the generation bumps and commands still land on the new master', async () => {
      const key = new Aerospike.Key('test', 'moved', 'm1');
      await client.put(key, { v: 1 });
      const digest = computeDigest('moved', 'm1');
      const from = (await cluster.masterOf('test', digest))!;
      const to = (from + 1) % 3;
      const generation = await cluster.partitionGeneration();
      const pid = (digest[0] | (digest[1] << 8)) & 4095;
      await cluster.movePartitions('test', [pid], to);
      expect(await cluster.partitionGeneration()).to.equal(generation + 1);
      expect(await cluster.masterOf('test', digest)).to.equal(to);
      // Sent at once, the write reaches the old master (stale map), which proxies it to the new one;
      // either way only the new master executes it.
      await cluster.resetStats();
      await client.put(key, { v: 2 });
      const stats = await cluster.stats();
      expect(stats[to].singleWrites + stats[to].proxiedIn).to.be.at.least(1);
      // Whatever reached the old master was proxied, never executed there.
      expect(stats[from].singleWrites).to.equal(stats[from].proxiedOut);
      expect((await client.get(key)).bins.v).to.equal(2);
    });

    it('fails over when a node stops (replication factor 2), and takes it back', async () => {
      const keys = Array.from({ length: 30 }, (_, i) => new Aerospike.Key('test', 'failover', i));
      for (const key of keys) await client.put(key, { v: 1 });
      await cluster.stopNode(2);
      await until(() => client.getNodes().length === 2);
      for (const key of keys) expect((await client.get(key)).bins.v).to.equal(1);
      for (const key of keys) await client.put(key, { v: 2 });
      await cluster.restartNode(2);
      await until(() => client.getNodes().length === 3);
      for (const key of keys) expect((await client.get(key)).bins.v).to.equal(2);
    });
  });
});

describe('test cluster security vs the official client', function () {
  this.timeout(20000);
  let cluster: RemoteTestCluster;

  before(async () => {
    cluster = await RemoteTestCluster.start({ nodes: 3, users: [{ name: 'restore', password: 'secret-pw' }] });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('logs in with the right password and serves commands', async () => {
    const client = await connect(cluster.hosts, { user: 'restore', password: 'secret-pw' });
    try {
      await until(() => client.getNodes().length === 3);
      const key = new Aerospike.Key('test', 'sec', 1);
      await client.put(key, { v: 1 });
      expect((await client.get(key)).bins).to.deep.equal({ v: 1 });
      const stats = await cluster.stats();
      expect(stats.reduce((n, s) => n + s.logins, 0)).to.be.at.least(3);
    } finally {
      await client.close();
    }
  });

  it('refuses a wrong password with the server code (INVALID_CREDENTIAL for internal users)', async () => {
    await expectCode(connect(cluster.hosts, { user: 'restore', password: 'wrong' }), 65);
  });

  it('refuses an unknown user', async () => {
    await expectCode(connect(cluster.hosts, { user: 'nobody', password: 'x' }), 60);
  });
});

describe('test cluster TLS vs the official client', function () {
  this.timeout(20000);
  let cluster: RemoteTestCluster;

  before(async function () {
    const pki = testPki();
    cluster = await RemoteTestCluster.start({ nodes: 2, tls: { key: pki.node.key, cert: pki.node.cert } });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('connects over TLS with the tls name, discovers peers and round-trips a record', async () => {
    const pki = testPki();
    const hosts = cluster.hosts.map((h) => ({ ...h, tlsname: pki.nodeTlsName }));
    const client = await connect(hosts, { tls: { enable: true, cafile: pki.ca.certPath } });
    try {
      await until(() => client.getNodes().length === 2);
      const key = new Aerospike.Key('test', 'tls', 1);
      await client.put(key, { v: 'over tls' });
      expect((await client.get(key)).bins).to.deep.equal({ v: 'over tls' });
    } finally {
      await client.close();
    }
  });

  it('is refused by a client that does not trust the CA', async () => {
    const pki = testPki();
    const hosts = cluster.hosts.map((h) => ({ ...h, tlsname: pki.nodeTlsName }));
    let failed = false;
    try {
      const client = await connect(hosts, { tls: { enable: true, cafile: pki.wrongCa.certPath } });
      await client.close();
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
  });
});
