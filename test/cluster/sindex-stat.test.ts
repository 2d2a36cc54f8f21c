/**
 * The 8.1 index-stats command (thr_info.c cmd_sindex_stat) and the 10-year TTL limit on batch rows,
 * over raw sockets.
 */
import { expect } from 'chai';
import { FieldType, OpType } from '../../src/shared/aerospike/protocol.js';
import { TestCluster, computeDigest } from './cluster.js';
import { answers, batchMsg, field, int64, op, RawClient } from './raw-client.js';

describe('test cluster: sindex-stat and TTL limits (raw sockets)', function () {
  this.timeout(15000);
  let cluster: TestCluster;
  const clients: RawClient[] = [];

  async function rawClient(node = 0): Promise<RawClient> {
    const client = await RawClient.connect(cluster.seeds[node].port);
    clients.push(client);
    return client;
  }

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, namespaces: [{ name: 'test' }, { name: 'bar' }] });
  });

  after(async () => {
    for (const client of clients) client.close();
    await cluster.stop();
  });

  it('answers sindex-stat with the index stats on every node, as sindex/<ns>/<name> does', async () => {
    const client = await rawClient();
    const create = 'sindex-create:namespace=test;set=users;indexname=age_idx;indextype=DEFAULT;bin=age;type=NUMERIC\n';
    expect(await client.info(create)).to.equal(`${create.slice(0, -1)}\tok\n`);
    const stats = 'entries=0;used_bytes=16777216;entries_per_bval=0;entries_per_rec=0;load_pct=100;load_time=0;stat_gc_recs=0';
    for (const node of [0, 1]) {
      const c = await rawClient(node);
      expect(await c.info('sindex-stat:namespace=test;indexname=age_idx\n')).to.equal(
        `sindex-stat:namespace=test;indexname=age_idx\t${stats}\n`,
      );
      expect(await c.info('sindex/test/age_idx\n')).to.equal(`sindex/test/age_idx\t${stats}\n`);
    }
    // `ns` is the deprecated alias of `namespace`; the parameters may come in any order.
    expect(await client.info('sindex-stat:indexname=age_idx;ns=test\n')).to.equal(`sindex-stat:indexname=age_idx;ns=test\t${stats}\n`);
  });

  it('answers the server errors: unknown index 201, unknown or missing namespace 20, missing indexname 4', async () => {
    const client = await rawClient();
    const ask = async (command: string): Promise<string> => {
      const answer = await client.info(`${command}\n`);
      expect(answer.startsWith(`${command}\t`), answer).to.equal(true);
      return answer.slice(command.length + 1, -1);
    };
    expect(await ask('sindex-stat:namespace=test;indexname=missing_idx')).to.equal('ERROR:201:no index');
    // An index is per namespace: age_idx lives in test only.
    expect(await ask('sindex-stat:namespace=bar;indexname=age_idx')).to.equal('ERROR:201:no index');
    expect(await ask('sindex-stat:namespace=nope;indexname=age_idx')).to.equal('ERROR:20:namespace not found on node');
    expect(await ask('sindex-stat:indexname=age_idx')).to.equal("ERROR:20:missing 'namespace'");
    expect(await ask('sindex-stat:namespace=;indexname=age_idx')).to.equal("ERROR:20:missing 'namespace' value");
    expect(await ask(`sindex-stat:namespace=test;indexname=${'x'.repeat(64)}`)).to.equal(
      "ERROR:4:'indexname' value too long" + 'ERROR:201:no index',
    );
    // The server goes on after a bad indexname, so a second error follows the first.
    expect(await ask('sindex-stat:namespace=test')).to.equal("ERROR:4:missing 'indexname'ERROR:201:no index");
    expect(await ask('sindex-stat')).to.equal("ERROR:4:missing 'indexname'ERROR:20:missing 'namespace'");
  });

  it('refuses a batch-row TTL above 10 years with rc 4, accepts exactly 10 years', async () => {
    const digest = computeDigest('ttl', 'batch');
    const client = await rawClient(cluster.masterOf('test', digest)!);
    const nsSet = [field(FieldType.NAMESPACE, 'test'), field(FieldType.SET, 'ttl')];
    const row = (index: number, ttl: number) => ({ index, digest, info2: 0x01, ttl, fields: nsSet, ops: [op(OpType.WRITE, 1, 'v', int64(index))] });
    const frames = await client.stream(batchMsg([row(0, 315_360_001), row(1, 315_360_000)]));
    const rows = answers(frames[0].body);
    expect(rows.map((r) => [r.header.transactionTtl, r.header.resultCode])).to.deep.equal([[0, 4], [1, 0]]);
    const nowCl = Math.floor(Date.now() / 1000) - 1262304000;
    expect(rows[1].header.recordTtl).to.be.within(nowCl + 315_360_000 - 2, nowCl + 315_360_000 + 2);
  });
});
