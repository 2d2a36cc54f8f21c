import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { NodeState, RoutingTable, SessionState } from '../../src/shared/aerospike/routing-table.js';
import { PARTITION_COUNT } from '../../src/shared/aerospike/replicas.js';
import { AerospikeError } from '../../src/shared/aerospike/client-errors.js';

describe('client: routing table in a SharedArrayBuffer', () => {
  it('publishes nodes, sessions and partition owners that an attached reader sees', () => {
    const table = RoutingTable.create({ maxNodes: 4, maxNamespaces: 2, tokenCapacity: 64 });
    const owners = new Uint16Array(PARTITION_COUNT).fill(2);
    owners[7] = 0;
    table.update((writer) => {
      writer.setNode(1, { name: 'BB9', host: '::1', port: 3100, tlsName: 'tls-a', state: NodeState.ACTIVE }, true);
      writer.setSession(1, { token: Buffer.from('token-bytes'), expiresAtMs: 1_900_000_000_000 });
      writer.setOwners(writer.namespaceIndex('test', 2, false), owners);
    });
    const reader = RoutingTable.attach(table.buffer);
    const snapshot = reader.snapshot();
    expect(snapshot.generation).to.equal(table.generation).and.equal(1);
    expect(snapshot.nodes[0]).to.equal(undefined);
    const node = snapshot.nodes[1]!;
    expect([node.name, node.host, node.port, node.tlsName, node.state, node.incarnation]).to.deep.equal(['BB9', '::1', 3100, 'tls-a', NodeState.ACTIVE, 1]);
    expect(node.sessionState).to.equal(SessionState.TOKEN);
    expect(node.token!.toString()).to.equal('token-bytes');
    expect(node.tokenExpiresAtMs).to.equal(1_900_000_000_000);
    expect(snapshot.namespaces.map((ns) => [ns.name, ns.replicaCount, ns.strongConsistency])).to.deep.equal([['test', 2, false]]);
    expect(snapshot.namespaces[0].owners[7]).to.equal(0);
    expect(snapshot.namespaces[0].owners[8]).to.equal(2);

    table.update((writer) => {
      writer.setNodeState(1, NodeState.REMOVED);
      writer.setSession(1, null);
    });
    const later = reader.snapshot();
    expect(later.nodes[1]!.state).to.equal(NodeState.REMOVED);
    expect(later.nodes[1]!.sessionState).to.equal(SessionState.NOT_NEEDED);
    expect(later.generation).to.equal(2);

    reader.requestLogin(1);
    reader.requestLogin(1);
    expect(table.loginRequestCount).to.equal(1);
    expect(table.takeLoginRequest(1)).to.equal(true);
    expect(table.takeLoginRequest(1)).to.equal(false);

    expect(() => table.update((writer) => writer.setSession(1, { token: Buffer.alloc(65), expiresAtMs: 0 }))).to.throw(AerospikeError);
    expect(() => RoutingTable.attach(new SharedArrayBuffer(1024))).to.throw(AerospikeError);
  });

  it('never shows a worker a half-written map (sequence lock)', async function () {
    this.timeout(20_000);
    const table = RoutingTable.create({ maxNodes: 2, maxNamespaces: 3 });
    const worker = new Worker(new URL('./routing-reader.js', import.meta.url), { workerData: { routing: table.buffer, durationMs: 1500 } });
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    const done = new Promise<{ snapshots: number; torn: number; generations: number }>((resolve, reject) => {
      worker.on('message', (message: { ready?: boolean; snapshots: number; torn: number; generations: number }) => (message.ready === true ? ready() : resolve(message)));
      worker.once('error', reject);
    });
    await Promise.race([started, done]);
    const owners = new Uint16Array(PARTITION_COUNT);
    const end = Date.now() + 1500;
    let version = 0;
    while (Date.now() < end) {
      version = (version % 1000) + 1;
      owners.fill(version);
      table.update((writer) => {
        writer.setNode(0, { name: `owner-${version}`, host: '127.0.0.1', port: 3000, tlsName: null, state: NodeState.ACTIVE }, false);
        for (const name of ['a', 'b', 'c']) writer.setOwners(writer.namespaceIndex(name, 1, false), owners);
      });
      // Short pauses: on an idle machine the reader runs beside the writer on the other core, and
      // without them nearly every snapshot it starts meets a write and begins again.
      if (version % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const report = await done;
    await worker.terminate();
    expect(report.snapshots).to.be.greaterThan(100);
    expect(report.generations).to.be.greaterThan(10);
    expect(report.torn).to.equal(0);
  });
});
