/**
 * Several Piscina worker threads write concurrently, each through its own connection pools, all
 * routed by the one routing table the main thread's tender keeps in a SharedArrayBuffer; a
 * partition move published by the tender reaches every worker.
 */
import { expect } from 'chai';
import { Piscina } from 'piscina';
import { TestCluster } from '../cluster/cluster.js';
import { Cluster } from '../../src/shared/aerospike/cluster.js';
import { ResultCode } from '../../src/shared/aerospike/protocol.js';
import type { WriteTask, WriteTaskResult } from './write-worker.js';
import { seedList } from './support.js';

describe('client: worker threads sharing one routing table', function () {
  this.timeout(60_000);

  it('writes from 3 workers through their own pools and follows a partition move', async () => {
    const tc = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'test', replicationFactor: 2 }], nonOwnerPolicy: 'unavailable' });
    const cluster = await Cluster.connect({ hosts: seedList(tc.seeds), tendIntervalMs: 60_000 });
    const pool = new Piscina<WriteTask, WriteTaskResult>({
      filename: new URL('./write-worker.js', import.meta.url).href,
      minThreads: 3,
      maxThreads: 3,
      idleTimeout: 60_000,
    });
    try {
      const routing = cluster.routingTable.buffer;
      const wave = (name: string) =>
        Promise.all(Array.from({ length: 6 }, (_, t) => pool.run({ routing, prefix: `${name}${t}`, count: 400, batchSize: 100 })));
      const first = await wave('a');
      expect(new Set(first.map((result) => result.threadId)).size, 'threads used').to.equal(3);
      for (const result of first) {
        expect(result.failures).to.deep.equal([]);
        expect(result.codes).to.deep.equal({ [ResultCode.OK]: 400 });
      }

      // Move a third of node 0's partitions to node 1; only the tender learns it, from the cluster.
      const moved = tc.movePartitions('test', { count: 400, from: 0 }, 1);
      expect(moved).to.have.length(400);
      await cluster.tendNow();
      const second = await wave('b');
      for (const result of second) {
        expect(result.failures).to.deep.equal([]);
        expect(result.codes, 'no PARTITION_UNAVAILABLE: every worker routes by the new map').to.deep.equal({ [ResultCode.OK]: 400 });
      }
      const stored = tc.records('test', 'workers');
      expect(stored).to.have.length(2 * 6 * 400);
      expect(stored.every((record) => record.generation === 1)).to.equal(true);
      const perNode = tc.stats().map((stats) => stats.batchRequests);
      expect(perNode.every((count) => count > 0)).to.equal(true);
    } finally {
      await pool.destroy();
      await cluster.close();
      await tc.stop();
    }
  });
});
