/**
 * The test cluster's --discard-writes mode, the benchmark peer that answers every write OK without
 * storing it (README, "Performance"): its answers must still be right row for row, or a benchmark
 * against it would measure a client that mishandles them.
 */
import { expect } from 'chai';
import { TestCluster } from '../cluster/cluster.js';
import { batchRowIndexes } from '../cluster/batch.js';
import { Cluster } from '../../src/shared/aerospike/cluster.js';
import { WriteClient } from '../../src/shared/aerospike/write-client.js';
import { NodeCommandSet, type EncodedCommand } from '../../src/shared/aerospike/batch-command.js';
import { FIELD_HEADER_SIZE } from '../../src/shared/aerospike/message-codec.js';
import { Info2, MSG_HEADER_SIZE, PROTO_HEADER_SIZE, ParticleType, ResultCode, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import { bin, makeRecord, seedList } from './support.js';

const WRITE = { info2: Info2.WRITE, info3: 0 };

function records(count: number) {
  return Array.from({ length: count }, (_, i) =>
    makeRecord('test', 'discard', `k${i}`, [bin('v', ParticleType.INTEGER, i), bin('s', ParticleType.STRING, Buffer.from('x'.repeat(i)))]),
  );
}

describe('test cluster --discard-writes (the benchmark peer)', function () {
  this.timeout(30_000);

  it('answers every row of a batch and every single write OK, by its index, and stores nothing', async () => {
    const tc = await TestCluster.start({ nodes: 2, discardWrites: true });
    const cluster = await Cluster.connect({ hosts: seedList(tc.seeds) });
    const writer = new WriteClient(cluster.routingTable.buffer);
    try {
      const batch = records(60);
      const result = await writer.writeBatch(batch, batch.map(() => TTL_NEVER_EXPIRE), WRITE);
      expect(result.failures).to.deep.equal([]);
      expect([...result.resultCodes]).to.deep.equal(batch.map(() => ResultCode.OK));
      expect(await writer.writeRecord(batch[0], TTL_NEVER_EXPIRE, WRITE)).to.equal(ResultCode.OK);
      expect(tc.records('test', 'discard')).to.have.length(0);
      expect(tc.stats().reduce((rows, stats) => rows + stats.batchWriteRows, 0)).to.equal(60);
    } finally {
      await writer.close();
      await cluster.close();
      await tc.stop();
    }
  });

  it('finds the row indexes of a batch request by the rows sizes alone, and nothing in a cut one', () => {
    let command: EncodedCommand | null = null;
    const set = new NodeCommandSet(3, WRITE, (built) => (command = built));
    for (const record of records(3)) set.addRecord(0, record, TTL_NEVER_EXPIRE, 'test');
    const bytes = command!.bytes;
    const field = bytes.subarray(PROTO_HEADER_SIZE + MSG_HEADER_SIZE + FIELD_HEADER_SIZE);
    expect(batchRowIndexes(field)).to.deep.equal([0, 1, 2]);
    for (const cut of [1, 10, 40]) expect(batchRowIndexes(field.subarray(0, field.length - cut)), `cut ${cut}`).to.equal(null);
  });
});
