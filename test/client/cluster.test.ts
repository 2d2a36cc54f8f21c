/**
 * The tender against the 3-node test cluster: discovery from one seed, partition maps, re-tending
 * after node loss, restart and partition moves, info commands, and the connect errors a user must
 * be able to read.
 */
import { expect } from 'chai';
import net from 'node:net';
import { TestCluster } from '../cluster/cluster.js';
import { Cluster } from '../../src/shared/aerospike/cluster.js';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { NodeState, RoutingTable } from '../../src/shared/aerospike/routing-table.js';
import { PARTITION_COUNT, partitionOf } from '../../src/shared/aerospike/replicas.js';
import { WriteClient } from '../../src/shared/aerospike/write-client.js';
import { Info2, ParticleType, ResultCode, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import { bin, makeRecord, seedList, waitFor } from './support.js';

const WRITE = { info2: Info2.WRITE, info3: 0 };

async function expectRejection(promise: Promise<unknown>, code: string): Promise<AerospikeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(AerospikeError);
    expect((error as AerospikeError).code, (error as Error).message).to.equal(code);
    return error as AerospikeError;
  }
  throw new Error(`expected a rejection with ${code}`);
}

describe('client: cluster tending', function () {
  this.timeout(30_000);
  let tc: TestCluster;
  let cluster: Cluster | undefined;

  beforeEach(async () => {
    tc = await TestCluster.start({
      nodes: 3,
      clusterName: 'restore-test',
      namespaces: [{ name: 'test', replicationFactor: 2 }, { name: 'bar' }],
      nonOwnerPolicy: 'unavailable',
    });
  });

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
    await tc.stop();
  });

  it('discovers every node from one seed and maps all 4096 partitions of each namespace', async () => {
    cluster = await Cluster.connect({ hosts: seedList([tc.seeds[1]]), clusterName: 'restore-test', requiredNamespaces: ['test', 'bar'] });
    expect(cluster.nodes.map((node) => node.name).sort()).to.deep.equal([0, 1, 2].map((i) => tc.node(i).nodeId).sort());
    expect(cluster.namespaces.sort()).to.deep.equal(['bar', 'test']);
    expect(cluster.serverVersion).to.equal('8.1.2.0');

    const snapshot = RoutingTable.attach(cluster.routingTable.buffer).snapshot();
    expect(snapshot.nodes.filter((node) => node?.state === NodeState.ACTIVE)).to.have.length(3);
    for (const namespace of snapshot.namespaces) {
      const slots = new Set<number>();
      for (let p = 0; p < PARTITION_COUNT; p++) {
        const owner = namespace.owners[p] - 1;
        expect(owner, `${namespace.name} partition ${p}`).to.be.at.least(0);
        // The routing table's master is the cluster's master.
        const digest = Buffer.from([p & 0xff, p >> 8]);
        expect(snapshot.nodes[owner]!.name).to.equal(tc.node(tc.masterOf(namespace.name, Buffer.concat([digest, Buffer.alloc(18)]))!).nodeId);
        slots.add(owner);
      }
      expect(slots.size).to.equal(3);
    }
  });

  it('discovers peers through their alternate addresses with servicesAlternate', async () => {
    cluster = await Cluster.connect({ hosts: seedList([tc.seeds[0]]), servicesAlternate: true });
    expect(cluster.nodes).to.have.length(3);
  });

  it('runs info commands on one node or on all of them', async () => {
    cluster = await Cluster.connect({ hosts: seedList(tc.seeds) });
    const one = await cluster.info(['build', 'namespaces']);
    expect(one.get('build')).to.equal('8.1.2.0');
    expect(one.get('namespaces')!.split(';').sort()).to.deep.equal(['bar', 'test']);
    const all = await cluster.infoAllNodes(['node']);
    expect(all.map((answer) => answer.get('node'))).to.deep.equal(cluster.nodes.map((node) => node.name));
    const named = await cluster.info(['node'], cluster.nodes[2].name);
    expect(named.get('node')).to.equal(cluster.nodes[2].name);
    await expectRejection(cluster.info(['node'], 'NOSUCHNODE'), ClientErrorCode.NODE_NOT_FOUND);
  });

  it('notices a stopped node, re-routes its partitions, and takes it back after a restart', async () => {
    cluster = await Cluster.connect({ hosts: seedList(tc.seeds), tendIntervalMs: 50 });
    const routing = RoutingTable.attach(cluster.routingTable.buffer);
    const stopped = tc.node(2).nodeId;
    const before = routing.generation;
    await tc.node(2).stop();
    await waitFor(() => cluster!.nodes.length === 2, 10_000, 'the stopped node to leave');
    await waitFor(() => {
      const snapshot = routing.snapshot();
      const ns = snapshot.namespaces.find((entry) => entry.name === 'test')!;
      for (let p = 0; p < PARTITION_COUNT; p++) {
        const owner = snapshot.nodes[ns.owners[p] - 1];
        // The tender drops the node from its list before it republishes the table: until then the
        // stale table still names the stopped node, which is not yet re-routed.
        if (owner === undefined || owner.state !== NodeState.ACTIVE || owner.name === stopped) return false;
      }
      return true;
    }, 10_000, 'every partition to have a live master other than the stopped node');
    expect(routing.generation).to.be.greaterThan(before);
    expect(cluster.nodes.map((node) => node.name)).to.not.include(stopped);

    await tc.node(2).restart();
    await waitFor(() => cluster!.nodes.length === 3, 10_000, 'the restarted node to come back');
    expect(cluster.nodes.map((node) => node.name)).to.include(stopped);
  });

  it('follows a partition move: writes go to the new master after the next tend', async () => {
    cluster = await Cluster.connect({ hosts: seedList(tc.seeds), tendIntervalMs: 60_000 });
    const writer = new WriteClient(cluster.routingTable.buffer);
    try {
      const records = Array.from({ length: 60 }, (_, i) => makeRecord('test', 'moves', `k${i}`, [bin('v', ParticleType.INTEGER, i)]));
      const target = 0;
      const moved = tc.movePartitions('test', [...new Set(records.map((record) => partitionOf(record.digest)))], target);
      expect(moved.length).to.be.greaterThan(10);
      // The map is stale until the tender runs: the old masters answer PARTITION_UNAVAILABLE.
      const stale = await writer.writeBatch(records, records.map(() => TTL_NEVER_EXPIRE), WRITE);
      expect([...stale.resultCodes]).to.include(ResultCode.PARTITION_UNAVAILABLE);
      await cluster.tendNow();
      const retry = records.filter((_, i) => stale.resultCodes[i] !== ResultCode.OK);
      const fresh = await writer.writeBatch(retry, retry.map(() => TTL_NEVER_EXPIRE), WRITE);
      expect(fresh.failures).to.deep.equal([]);
      expect([...fresh.resultCodes].every((code) => code === ResultCode.OK)).to.equal(true);
      expect(tc.records('test', 'moves')).to.have.length(60);
      for (const record of records) {
        expect(tc.masterOf('test', record.digest)).to.equal(target);
        const slot = writer.routeOf(record);
        expect(cluster.nodes.find((node) => node.slot === slot)?.name, 'routeOf').to.equal(tc.node(target).nodeId);
      }
    } finally {
      await writer.close();
    }
  });

  it('fails clearly for a cluster-name mismatch', async () => {
    const error = await expectRejection(Cluster.connect({ hosts: seedList(tc.seeds), clusterName: 'other' }), ClientErrorCode.CLUSTER_NAME_MISMATCH);
    expect(error.message).to.include("'restore-test'").and.include("'other'");
  });

  it('fails clearly for a namespace the cluster does not have', async () => {
    const error = await expectRejection(
      Cluster.connect({ hosts: seedList(tc.seeds), requiredNamespaces: ['nope'] }),
      ClientErrorCode.NAMESPACE_NOT_FOUND,
    );
    expect(error.message).to.include("'nope'").and.include('bar').and.include('test');
    cluster = await Cluster.connect({ hosts: seedList(tc.seeds) });
    const writer = new WriteClient(cluster.routingTable.buffer);
    try {
      const record = makeRecord('nope', 's', 'k', [bin('v', ParticleType.INTEGER, 1)]);
      await expectRejection(writer.writeBatch([record], [TTL_NEVER_EXPIRE], WRITE), ClientErrorCode.NAMESPACE_NOT_FOUND);
      await expectRejection(writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE), ClientErrorCode.NAMESPACE_NOT_FOUND);
    } finally {
      await writer.close();
    }
  });
});

describe('client: unreachable seeds', function () {
  this.timeout(10_000);

  it('fails with SEED_UNREACHABLE when nothing listens', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await expectRejection(Cluster.connect({ hosts: `127.0.0.1:${port}`, timeoutMs: 2000 }), ClientErrorCode.SEED_UNREACHABLE);
    expect(error.message).to.include(`127.0.0.1:${port}`);
  });

  it('fails within --timeout when a seed accepts but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const error = await expectRejection(Cluster.connect({ hosts: `127.0.0.1:${port}`, timeoutMs: 400 }), ClientErrorCode.SEED_UNREACHABLE);
      const elapsed = Date.now() - started;
      expect(elapsed).to.be.at.least(350).and.below(2000);
      expect(error.message).to.include('400 ms');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('rejects an unparsable host list with INVALID_HOST', async () => {
    await expectRejection(Cluster.connect({ hosts: 'a:b:c:d' }), ClientErrorCode.INVALID_HOST);
  });
});
