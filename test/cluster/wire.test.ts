/**
 * Wire-level exactness of the test cluster: raw bytes in, raw bytes out, compared with what the
 * captures in ../shared/reference/wire show a real CE 8.1.2.0 server answering.
 */
import { expect } from 'chai';
import { FieldType, Info1, Info2, Info3, OpType, ParticleType, ProtoType } from '../../src/shared/aerospike/protocol.js';
import { TestCluster, computeDigest } from './cluster.js';
import { answers, asMsg, batchMsg, field, frame, int64, keyFields, op, RawClient } from './raw-client.js';
import { N_PARTITIONS } from './store.js';

const WRITE = Info2.WRITE;

describe('test cluster wire protocol (raw sockets)', function () {
  this.timeout(15000);
  let cluster: TestCluster;
  const clients: RawClient[] = [];

  async function rawClient(node = 0): Promise<RawClient> {
    const client = await RawClient.connect(cluster.seeds[node].port);
    clients.push(client);
    return client;
  }

  /** A client on the node that masters `digest`. */
  async function masterClient(digest: Buffer): Promise<RawClient> {
    return rawClient(cluster.masterOf('test', digest)!);
  }

  before(async () => {
    cluster = await TestCluster.start({
      nodes: 3,
      namespaces: [{ name: 'test', replicationFactor: 2 }, { name: 'bar', maxRecordSize: 2048 }],
    });
  });

  afterEach(() => {
    cluster.faults.clear();
  });

  after(async () => {
    for (const client of clients) client.close();
    await cluster.stop();
  });

  describe('info', () => {
    it('echoes each command exactly, answers only text up to the last newline', async () => {
      const client = await rawClient();
      expect(await client.info('node\nbuild\ncluster-name\n')).to.equal(
        `node\t${cluster.node(0).nodeId}\nbuild\t8.1.2.0\ncluster-name\tasrestore-test\n`,
      );
      expect(await client.info('build')).to.equal('');
      expect(await client.info('no-such-command\nbuild\n')).to.equal(
        'no-such-command\tERROR:4:unrecognized command\nbuild\t8.1.2.0\n',
      );
      expect(await client.info('sindex-create:namespace=test;set=s;indexname=i;bin=x;type=WRONG\n')).to.equal(
        "sindex-create:namespace=test;set=s;indexname=i;bin=x;type=WRONG\tERROR:4:bad 'type' - must be one of 'numeric', 'string', 'blob', 'geo2dsphere'\n",
      );
      const summary = await client.info('');
      expect(summary.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).to.deep.equal([
        'features', 'node', 'compatibility-id', 'edition', 'build_ee_sha', 'build_sha', 'build_arch', 'build_time',
        'build_os', 'build', 'version', 'statistics', 'services-alumni', 'services', 'partition-generation',
      ]);
      expect(await client.info('service-tls-std\n')).to.equal('service-tls-std\tERROR:25:enterprise only\n');
    });

    it('peers lists the other nodes with their real ids and ports', async () => {
      const client = await rawClient(1);
      const answer = await client.info('peers-clear-std\n');
      const expected = [0, 2]
        .map((i) => `[${cluster.node(i).nodeId},,[127.0.0.1:${cluster.node(i).port}]]`)
        .join(',');
      expect(answer).to.equal(`peers-clear-std\t${cluster.peersGeneration},3000,[${expected}]\n`);
    });

    it('replicas bitmaps give every partition exactly one master and one replica', async () => {
      const masters = new Uint8Array(N_PARTITIONS);
      const proles = new Uint8Array(N_PARTITIONS);
      for (let n = 0; n < 3; n++) {
        const client = await rawClient(n);
        const answer = await client.info('replicas\n');
        const value = answer.slice('replicas\t'.length, -1);
        const test = value.split(';').find((e) => e.startsWith('test:'))!;
        const [regime, count, master, prole] = test.slice(5).split(',');
        expect(regime).to.equal('0');
        expect(count).to.equal('2');
        expect(master).to.have.length(684);
        const m = Buffer.from(master, 'base64');
        const p = Buffer.from(prole, 'base64');
        for (let pid = 0; pid < N_PARTITIONS; pid++) {
          if (m[pid >> 3] & (0x80 >> (pid & 7))) masters[pid]++;
          if (p[pid >> 3] & (0x80 >> (pid & 7))) proles[pid]++;
        }
      }
      expect(masters.every((c) => c === 1)).to.equal(true);
      expect(proles.every((c) => c === 1)).to.equal(true);
    });

    it('sindex-list with b64 and without, the server rename rule, udf hash', async () => {
      const client = await rawClient();
      await client.info('sindex-create:namespace=test;set=demo;indexname=ctx_idx;context=kiKmA2xhbmdz;indextype=LIST;bin=prefs;type=STRING\n');
      await client.info('sindex-create:ns=test;set=demo;indexname=old_idx;indextype=list;indexdata=tags,string\n');
      expect(await client.info('sindex-list:namespace=test\n')).to.equal(
        'sindex-list:namespace=test\tns=test:indexname=ctx_idx:set=demo:bin=prefs:type=string:indextype=list:context=[map_key(<string#5>)]:exp=null:state=RW;' +
          'ns=test:indexname=old_idx:set=demo:bin=tags:type=string:indextype=list:context=null:exp=null:state=RW\n',
      );
      expect(await client.info('sindex-list:ns=test;b64=true\n')).to.contain('context=kiKmA2xhbmdz:exp=null');
      expect(await client.info('sindex-create:ns=test;set=demo;indexname=new_idx;indextype=list;indexdata=tags,string\n')).to.match(/\tok\n$/);
      expect(await client.info('sindex/test/old_idx\n')).to.equal('sindex/test/old_idx\tERROR:201:no index\n');
      expect(await client.info('sindex/test/new_idx\n')).to.contain('load_pct=100');
      expect(await client.info('sindex-delete:namespace=test;indexname=nope\n')).to.equal('sindex-delete:namespace=test;indexname=nope\tok\n');
      expect(await client.info('sindex-list:ns=nope\n')).to.equal('sindex-list:ns=nope\tERROR:20:namespace not found on node\n');
      await client.info('sindex-delete:namespace=test;indexname=ctx_idx\nsindex-delete:namespace=test;indexname=new_idx\n');
      const put = 'udf-put:filename=user_utils.lua;content=LS0gdXNlcl91dGlscy5sdWE6IHNtYWxsIGhlbHBlcnMgdXNlZCBieSB0aGUgZml4dHVyZSBnZW5lcmF0b3IKZnVuY3Rpb24gdG91Y2hfY291bnQocmVjLCBiaW4pCiAgaWYgcmVjW2Jpbl0gPT0gbmlsIHRoZW4gcmVjW2Jpbl0gPSAwIGVuZAogIHJlY1tiaW5dID0gcmVjW2Jpbl0gKyAxCiAgYWVyb3NwaWtlOnVwZGF0ZShyZWMpCiAgcmV0dXJuIHJlY1tiaW5dCmVuZAoKZnVuY3Rpb24gbmFtZV9vZihyZWMpCiAgcmV0dXJuIHJlY1snbmFtZSddCmVuZAo=;content-len=344;udf-type=LUA;\n';
      expect(await client.info(put)).to.equal(put.slice(0, -1) + '\tok\n');
      expect(await client.info('udf-list\n')).to.equal('udf-list\tfilename=user_utils.lua,hash=4de26e7ab189e5a9dabfb02c6d5f37c61eeb4e16,type=LUA;\n');
      expect(await client.info('udf-get:filename=missing.lua\n')).to.equal('udf-get:filename=missing.lua\terror=not_found\n');
      await client.info('udf-remove:filename=user_utils.lua;\n');
    });

    it('truncate-namespace removes the namespace records on every node', async () => {
      const digest = computeDigest('trunc', 1);
      const client = await masterClient(digest);
      await client.single(asMsg({ info2: WRITE, fields: keyFields('test', 'trunc', digest), ops: [op(OpType.WRITE, 1, 'v', int64(1))] }));
      expect(cluster.records('test', 'trunc')).to.have.length(1);
      expect(await client.info('truncate-namespace:namespace=test\n')).to.equal('truncate-namespace:namespace=test\tok\n');
      expect(cluster.records('test')).to.have.length(0);
    });
  });

  describe('single-record commands', () => {
    it('stores language blobs and HLL and returns them byte for byte', async () => {
      const digest = computeDigest('blobs', 'k');
      const client = await masterClient(digest);
      const values: [string, number, Buffer][] = [
        ['java', ParticleType.JAVA_BLOB, Buffer.from('aced0005740003616263', 'hex')],
        ['py', ParticleType.PYTHON_BLOB, Buffer.from([0x80, 0x04, 0x4b, 0x01, 0x2e])],
        ['hll', ParticleType.HLL, Buffer.from('0e0000000000000000' + 'ab'.repeat(20), 'hex')],
        ['empty', ParticleType.STRING, Buffer.alloc(0)],
      ];
      const put = await client.single(
        asMsg({ info2: WRITE, recordTtl: 0xffffffff, fields: keyFields('test', 'blobs', digest), ops: values.map(([n, t, v]) => op(OpType.WRITE, t, n, v)) }),
      );
      expect(put.header.resultCode).to.equal(0);
      expect(put.header.generation).to.equal(1);
      const got = await client.single(asMsg({ info1: Info1.READ | Info1.GET_ALL, fields: keyFields('test', 'blobs', digest) }));
      expect(got.ops.map((o) => [o.name.toString(), o.particleType, o.value.toString('hex')])).to.deep.equal(
        values.map(([n, t, v]) => [n, t, v.toString('hex')]),
      );
    });

    it('answers rc 21 for a 16-byte bin name, 20 for an unknown namespace, 13 over max-record-size, 160 for bad GeoJSON', async () => {
      const digest = computeDigest('probe', 'p');
      const client = await masterClient(digest);
      const write = (ns: string, ops: Buffer[]) => client.single(asMsg({ info2: WRITE, fields: keyFields(ns, 'probe', digest), ops }));
      expect((await write('test', [op(OpType.WRITE, 1, 'abcdefghijklmnop', int64(1))])).header.resultCode).to.equal(21);
      expect((await write('test', [op(OpType.WRITE, 1, 'abcdefghijklmno', int64(1))])).header.resultCode).to.equal(0);
      expect((await write('nope', [op(OpType.WRITE, 1, 'a', int64(1))])).header.resultCode).to.equal(20);
      const geo = Buffer.concat([Buffer.from([0, 0, 0]), Buffer.from('{"type":"Nope"}')]);
      const bad = await write('test', [op(OpType.WRITE, ParticleType.GEOJSON, 'g', geo)]);
      expect(bad.header.resultCode).to.equal(160);
      expect(bad.header.generation).to.equal(1);
      const barDigest = computeDigest('probe', 'big');
      const barClient = await rawClient(cluster.masterOf('bar', barDigest)!);
      const big = await barClient.single(
        asMsg({ info2: WRITE, fields: keyFields('bar', 'probe', barDigest), ops: [op(OpType.WRITE, 3, 's', Buffer.alloc(3000, 0x61))] }),
      );
      expect(big.header.resultCode).to.equal(13);
    });

    it('treats a message without a digest as a query (background ops over the set)', async () => {
      const digest = computeDigest('q', 1);
      const client = await masterClient(digest);
      await client.single(asMsg({ info2: WRITE, fields: keyFields('test', 'q', digest), ops: [op(OpType.WRITE, 1, 'v', int64(1))] }));
      const frames = [];
      for (let n = 0; n < 3; n++) {
        const c = await rawClient(n);
        frames.push(...(await c.stream(asMsg({ info2: WRITE, fields: [field(FieldType.NAMESPACE, 'test'), field(FieldType.SET, 'q')], ops: [op(OpType.WRITE, 1, 'a', int64(7))] }))));
      }
      for (const f of frames) expect(answers(f.body)[0].header.info3).to.equal(Info3.LAST);
      const stored = cluster.record('test', digest)!;
      expect([...stored.bins.keys()]).to.deep.equal(['v', 'a']);
    });

    it('gen GT is strictly greater; the new gen is old + 1; failures carry the stored gen', async () => {
      const digest = computeDigest('gen', 'g');
      const client = await masterClient(digest);
      const put = (info2: number, generation: number) =>
        client.single(asMsg({ info2, generation, fields: keyFields('test', 'gen', digest), ops: [op(OpType.WRITE, 3, 's', Buffer.from('x'))] }));
      expect((await put(WRITE, 0)).header.generation).to.equal(1);
      expect((await put(WRITE, 0)).header.generation).to.equal(2);
      const refused = await put(WRITE | Info2.GENERATION_GT, 2);
      expect([refused.header.resultCode, refused.header.generation]).to.deep.equal([3, 2]);
      const accepted = await put(WRITE | Info2.GENERATION_GT, 7);
      expect([accepted.header.resultCode, accepted.header.generation]).to.deep.equal([0, 3]);
      const exists = await put(WRITE | Info2.CREATE_ONLY, 0);
      expect([exists.header.resultCode, exists.header.generation]).to.deep.equal([5, 3]);
      const removed = await client.single(asMsg({ info2: WRITE | Info2.DELETE | Info2.GENERATION, generation: 9, fields: keyFields('test', 'gen', digest) }));
      expect([removed.header.resultCode, removed.header.generation]).to.deep.equal([3, 0]);
    });

    it('TTL: void time in the answer, -2 keeps it, over 10 years is rc 4, nsup-period 0 forbids TTLs', async () => {
      const digest = computeDigest('ttl', 't');
      const client = await masterClient(digest);
      const put = (recordTtl: number) =>
        client.single(asMsg({ info2: WRITE, recordTtl, fields: keyFields('test', 'ttl', digest), ops: [op(OpType.WRITE, 1, 'v', int64(1))] }));
      const now = Math.floor(Date.now() / 1000) - 1262304000;
      const first = await put(3600);
      expect(first.header.recordTtl).to.be.within(now + 3599, now + 3601);
      expect((await put(0xfffffffe)).header.recordTtl).to.equal(first.header.recordTtl);
      expect((await put(0xffffffff)).header.recordTtl).to.equal(0);
      expect((await put(315360001)).header.resultCode).to.equal(4);
      expect((await put(315360000)).header.resultCode).to.equal(0);
      const strict = await TestCluster.start({ namespaces: [{ name: 'test', nsupPeriod: 0 }] });
      try {
        const c = await RawClient.connect(strict.seeds[0].port);
        const answer = await c.single(asMsg({ info2: WRITE, recordTtl: 60, fields: keyFields('test', 'ttl', digest), ops: [op(OpType.WRITE, 1, 'v', int64(1))] }));
        c.close();
        expect(answer.header.resultCode).to.equal(22);
      } finally {
        await strict.stop();
      }
    });

    it('ignores COMPRESS_RESPONSE as CE does (plain answer)', async () => {
      const digest = computeDigest('cmp', 1);
      const client = await masterClient(digest);
      await client.single(asMsg({ info2: WRITE, fields: keyFields('test', 'cmp', digest), ops: [op(OpType.WRITE, 1, 'v', int64(3))] }));
      client.send(asMsg({ info1: Info1.READ | Info1.GET_ALL | Info1.COMPRESS_RESPONSE, fields: keyFields('test', 'cmp', digest) }));
      const answer = await client.next();
      expect(answer!.type).to.equal(ProtoType.AS_MSG);
      expect(answers(answer!.body)[0].ops[0].value.readBigInt64BE(0)).to.equal(3n);
    });

    it('refuses compressed messages as CE does and drops a connection speaking proto version 1', async () => {
      const client = await rawClient();
      const compressed = await client.single(frame(ProtoType.COMPRESSED, Buffer.alloc(30)));
      expect(compressed.header.resultCode).to.equal(25);
      const bad = Buffer.from(frame(ProtoType.INFO, Buffer.from('build\n')));
      bad[0] = 1;
      client.send(bad);
      expect(await client.next()).to.equal(null);
    });
  });

  describe('batch index', () => {
    const digests = [1, 2, 3, 4].map((i) => computeDigest('bt', i));
    const nsSet = [field(FieldType.NAMESPACE, 'test'), field(FieldType.SET, 'bt')];

    it('answers per-record messages with the row index in transaction_ttl, then a separate LAST message', async () => {
      const client = await rawClient();
      const frames = await client.stream(
        batchMsg([
          { index: 0, digest: digests[0], info2: 0x81, fields: nsSet, ops: [op(OpType.WRITE, 1, 'v', int64(1))] },
          { index: 1, digest: digests[1], info2: 0x81, fields: nsSet, ops: [op(OpType.WRITE, 1, 'v', int64(2))] },
          { index: 2, digest: digests[0], meta: 0x0a, info1: 0x03, fields: nsSet },
          { index: 3, digest: digests[3], repeat: true },
        ]),
      );
      expect(frames).to.have.length(2);
      expect(frames[1].body).to.have.length(22);
      expect(answers(frames[1].body)[0].header.info3).to.equal(Info3.LAST);
      const rows = answers(frames[0].body);
      expect(rows.map((r) => [r.header.transactionTtl, r.header.resultCode])).to.deep.equal([[0, 0], [1, 0], [2, 0], [3, 2]]);
      expect(rows[0].ops.map((o) => [o.op, o.particleType, o.value.length])).to.deep.equal([[OpType.WRITE, 0, 0]]);
      expect(rows[2].ops[0].value.readBigInt64BE(0)).to.equal(1n);
    });

    it('reads the 16-bit generation of rows (GT) and answers failures with the stored generation', async () => {
      const client = await rawClient();
      const row = (index: number, generation: number) => ({
        index, digest: digests[2], info2: 0x89, generation, fields: nsSet, ops: [op(OpType.WRITE, 1, 'v', int64(index))],
      });
      const frames = await client.stream(batchMsg([row(0, 300), row(1, 300), row(2, 0x1ff)]));
      expect(answers(frames[0].body).map((r) => [r.header.resultCode, r.header.generation])).to.deep.equal([[0, 1], [0, 2], [0, 3]]);
      const again = await client.stream(batchMsg([row(0, 3)]));
      expect(answers(again[0].body).map((r) => [r.header.resultCode, r.header.generation])).to.deep.equal([[3, 3]]);
    });

    for (const [title, request] of [
      ['count 0', () => batchMsg([])],
      ['REPEAT on the first row', () => batchMsg([{ index: 0, digest: digests[0], repeat: true }])],
      ['count larger than the rows sent', () => batchMsg([{ index: 0, digest: digests[0], meta: 0x0a, info1: 3, fields: nsSet }], { count: 3 })],
      ['an unknown namespace', () => batchMsg([{ index: 0, digest: digests[0], meta: 0x0a, info1: 3, fields: [field(0, 'nope'), field(1, 'bt')] }])],
      [
        'REPEAT after a KEY row',
        () =>
          batchMsg([
            { index: 0, digest: digests[0], info2: 0x81, fields: [...nsSet, field(FieldType.KEY, Buffer.from([3, 0x62]))], ops: [op(OpType.WRITE, 1, 'w', int64(1))] },
            { index: 1, digest: digests[1], repeat: true },
          ]),
      ],
    ] as const) {
      it(`answers a lone LAST with rc 4 for ${title}`, async () => {
        const client = await rawClient();
        const frames = await client.stream(request());
        expect(frames).to.have.length(1);
        const only = answers(frames[0].body);
        expect(only).to.have.length(1);
        expect([only[0].header.info3, only[0].header.resultCode]).to.deep.equal([Info3.LAST, 4]);
      });
    }

    it('without RESPOND_ALL_KEYS, the first real error becomes the batch rc (rows are still answered)', async () => {
      const client = await rawClient();
      const digest = computeDigest('bt-rc', 1);
      await client.stream(batchMsg([{ index: 0, digest, info2: 0x81, fields: nsSet, ops: [op(OpType.WRITE, 1, 'v', int64(1))] }]));
      const frames = await client.stream(
        batchMsg(
          [
            { index: 0, digest: computeDigest('bt-rc', 2), meta: 0x0a, info1: 3, fields: nsSet },
            { index: 1, digest, info2: 0xa1, fields: nsSet, ops: [op(OpType.WRITE, 1, 'v', int64(2))] },
          ],
          { parentFlags: 0x08 },
        ),
      );
      const all = frames.flatMap((f) => answers(f.body));
      expect(all.map((a) => [a.header.transactionTtl, a.header.resultCode, a.header.info3])).to.deep.equal([[0, 2, 0], [1, 5, 0], [0, 5, 1]]);
    });

    it('answers BATCH_DISABLED (150) when batch-index-threads is 0', async () => {
      const noBatch = await TestCluster.start({ batchIndexThreads: 0 });
      try {
        const c = await RawClient.connect(noBatch.seeds[0].port);
        expect(await c.info('get-config:context=service\n')).to.contain(';batch-index-threads=0;');
        const frames = await c.stream(batchMsg([{ index: 0, digest: digests[0], meta: 0x0a, info1: 3, fields: nsSet }]));
        c.close();
        expect(answers(frames[0].body).map((a) => [a.header.info3, a.header.resultCode])).to.deep.equal([[Info3.LAST, 150]]);
      } finally {
        await noBatch.stop();
      }
    });

    it('splits a large answer into proto messages of at most 128 KB', async () => {
      const client = await rawClient();
      const value = Buffer.alloc(1000, 0x61);
      const rows = Array.from({ length: 300 }, (_, i) => ({
        index: i, digest: computeDigest('huge', i), info2: 0x81, fields: [field(0, 'test'), field(1, 'huge')], ops: [op(OpType.WRITE, 3, 's', value)],
      }));
      await client.stream(batchMsg(rows));
      const reads = rows.map((r, i) => (i === 0 ? { index: i, digest: r.digest, meta: 0x0a, info1: 3, fields: r.fields } : { index: i, digest: r.digest, repeat: true }));
      const frames = await client.stream(batchMsg(reads));
      expect(frames.length).to.equal(4);
      for (const f of frames) expect(f.body.length).to.be.at.most(128 * 1024);
      expect(frames.slice(0, -1).reduce((n, f) => n + answers(f.body).length, 0)).to.equal(300);
    });
  });

  describe('faults', () => {
    it('targets one node and one command kind, and expires after count', async () => {
      cluster.faults.failCommands(9, { kinds: ['info'], node: 1, count: 1 });
      const other = await rawClient(0);
      const target = await rawClient(1);
      expect(await other.info('build\n')).to.equal('build\t8.1.2.0\n');
      expect(await target.info('build\nnode\n')).to.equal('build\tERROR:9:injected fault\nnode\tERROR:9:injected fault\n');
      expect(await target.info('build\n')).to.equal('build\t8.1.2.0\n');
    });

    it('fails record writes (not reads) for a fraction, reproducibly counted by the handle', async () => {
      const handle = cluster.faults.failWrites(14, { fraction: 0.25 });
      let failed = 0;
      for (let i = 0; i < 200; i++) {
        const digest = computeDigest('fw', i);
        const client = await masterClient(digest);
        const put = await client.single(asMsg({ info2: WRITE, fields: keyFields('test', 'fw', digest), ops: [op(OpType.WRITE, 1, 'v', int64(i))] }));
        if (put.header.resultCode === 14) failed++;
        else expect(put.header.resultCode).to.equal(0);
      }
      expect(failed).to.equal(handle.fired);
      expect(failed).to.be.within(25, 75);
      handle.remove();
      expect(cluster.faults.active).to.equal(false);
    });

    it('closes a connection without an answer (drop) and leaves the others alone', async () => {
      cluster.faults.dropConnections({ kinds: ['info'], count: 1, node: 2 });
      const client = await rawClient(2);
      client.send(frame(ProtoType.INFO, Buffer.from('build\n')));
      expect(await client.next()).to.equal(null);
      const again = await rawClient(2);
      expect(await again.info('build\n')).to.equal('build\t8.1.2.0\n');
    });
  });

  describe('security', () => {
    it('answers admin messages with SECURITY_NOT_SUPPORTED (51) when security is off, as CE does', async () => {
      const client = await rawClient();
      client.send(frame(ProtoType.ADMIN, Buffer.alloc(16)));
      const answer = await client.next();
      expect([answer!.type, answer!.body.length, answer!.body[1]]).to.deep.equal([ProtoType.ADMIN, 16, 51]);
    });

    it('refuses info and data commands on a connection that has not logged in (rc 80)', async () => {
      const secured = await TestCluster.start({ users: [{ name: 'u', password: 'p' }] });
      try {
        const c = await RawClient.connect(secured.seeds[0].port);
        expect(await c.info('build\nnode\n')).to.equal('ERROR:80:not authenticated\n');
        const digest = computeDigest('sec', 1);
        const write = await c.single(asMsg({ info2: WRITE, fields: keyFields('test', 'sec', digest), ops: [op(OpType.WRITE, 1, 'v', int64(1))] }));
        expect(write.header.resultCode).to.equal(80);
        const batch = await c.stream(batchMsg([{ index: 0, digest, meta: 0x0a, info1: 3, fields: [field(0, 'test'), field(1, 'sec')] }]));
        expect([answers(batch[0].body)[0].header.info3, answers(batch[0].body)[0].header.resultCode]).to.deep.equal([Info3.LAST, 80]);
        c.close();
        expect(secured.node(0).stats.refused).to.equal(3);
      } finally {
        await secured.stop();
      }
    });
  });

  describe('partition ownership', () => {
    it('proxies a command sent to a non-owner (AP), or answers rc 11 with nonOwnerPolicy unavailable', async () => {
      const digest = computeDigest('own', 'x');
      const master = cluster.masterOf('test', digest)!;
      const other = [0, 1, 2].find((n) => n !== master && !cluster.owners('test')[(digest[0] | (digest[1] << 8)) & 4095].includes(n))!;
      const client = await rawClient(other);
      const before = cluster.node(other).stats.proxiedOut;
      const answer = await client.single(asMsg({ info2: WRITE, fields: keyFields('test', 'own', digest), ops: [op(OpType.WRITE, 1, 'v', int64(5))] }));
      expect(answer.header.resultCode).to.equal(0);
      expect(cluster.node(other).stats.proxiedOut).to.equal(before + 1);
      expect(cluster.record('test', digest)!.generation).to.equal(1);

      const strict = await TestCluster.start({ nodes: 2, nonOwnerPolicy: 'unavailable' });
      try {
        const d = computeDigest('own', 'y');
        const notMaster = 1 - strict.masterOf('test', d)!;
        const c = await RawClient.connect(strict.seeds[notMaster].port);
        const refused = await c.single(asMsg({ info2: WRITE, fields: keyFields('test', 'own', d), ops: [op(OpType.WRITE, 1, 'v', int64(5))] }));
        c.close();
        expect(refused.header.resultCode).to.equal(11);
      } finally {
        await strict.stop();
      }
    });

    it('keeps replicas in step and migrates data when partitions move', async () => {
      const digest = computeDigest('mig', 'm');
      const client = await masterClient(digest);
      await client.single(asMsg({ info2: WRITE, fields: keyFields('test', 'mig', digest), ops: [op(OpType.WRITE, 1, 'v', int64(9))] }));
      const pid = (digest[0] | (digest[1] << 8)) & 4095;
      const [master, replica] = cluster.owners('test')[pid];
      const target = [0, 1, 2].find((n) => n !== master && n !== replica)!;
      const generation = cluster.partitionGeneration;
      cluster.movePartitions('test', [pid], target);
      expect(cluster.partitionGeneration).to.equal(generation + 1);
      expect(cluster.masterOf('test', digest)).to.equal(target);
      expect(cluster.record('test', digest)!.bins.get('v')!.value.readBigInt64BE(0)).to.equal(9n);
    });

    it('accepts about 600 concurrent connections', async () => {
      const many = await Promise.all(Array.from({ length: 600 }, (_, i) => RawClient.connect(cluster.seeds[i % 3].port)));
      try {
        const replies = await Promise.all(many.map((c) => c.info('build\n')));
        expect(replies.every((r) => r === 'build\t8.1.2.0\n')).to.equal(true);
      } finally {
        for (const c of many) c.close();
      }
    });
  });
});
