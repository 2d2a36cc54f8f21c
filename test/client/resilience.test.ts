/**
 * The write client under faults: a node stopped mid-stream (the caller retries what failed and
 * nothing is written twice), hung and dropped connections (typed timeouts, connections replaced),
 * the in-flight bound, and batch-level result codes.
 */
import { expect } from 'chai';
import { TestCluster } from '../cluster/cluster.js';
import { Cluster } from '../../src/shared/aerospike/cluster.js';
import { ROW_UNANSWERED, WriteClient, type BatchResult } from '../../src/shared/aerospike/write-client.js';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { Info2, ParticleType, ResultCode, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import type { AsbRecord } from '../../src/shared/asb/types.js';
import { bin, makeRecord, seedList } from './support.js';

const CREATE_ONLY = { info2: Info2.WRITE | Info2.CREATE_ONLY, info3: 0 };
const WRITE = { info2: Info2.WRITE, info3: 0 };

function records(prefix: string, count: number): AsbRecord[] {
  return Array.from({ length: count }, (_, i) => makeRecord('test', 'stream', `${prefix}-${i}`, [bin('v', ParticleType.INTEGER, i), bin('s', ParticleType.STRING, Buffer.from('x'.repeat(40)))]));
}

describe('client: writes under faults', function () {
  this.timeout(30_000);
  let tc: TestCluster;
  let cluster: Cluster;

  beforeEach(async () => {
    tc = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'test', replicationFactor: 2 }] });
    cluster = await Cluster.connect({ hosts: seedList(tc.seeds), tendIntervalMs: 50 });
  });

  afterEach(async () => {
    tc.faults.clear();
    await cluster.close();
    await tc.stop();
  });

  it('survives a node stopped mid-stream: failed rows are retried by the caller, none is written twice', async () => {
    const writer = new WriteClient(cluster.routingTable.buffer, { socketTimeoutMs: 1000, totalTimeoutMs: 3000 });
    const all = records('stop', 64 * 30);
    const finalCodes = new Int32Array(all.length).fill(ROW_UNANSWERED);
    const inDoubtRows = new Set<number>();
    const failureCodes = new Set<string>();
    let attempts = 0;
    try {
      for (let start = 0; start < all.length; start += 64) {
        if (start === 64 * 10) void tc.node(1).stop();
        // The caller's retry policy: resend only the rows left unanswered, with a short backoff.
        let pending = Array.from({ length: 64 }, (_, i) => start + i);
        for (let attempt = 0; pending.length > 0; attempt++) {
          expect(attempt, 'retries').to.be.below(40);
          attempts++;
          const batch = pending.map((i) => all[i]);
          const result: BatchResult = await writer.writeBatch(batch, batch.map(() => TTL_NEVER_EXPIRE), CREATE_ONLY);
          for (const failure of result.failures) {
            failureCodes.add(failure.error.code);
            for (const row of failure.rows) if (failure.error.inDoubt) inDoubtRows.add(pending[row]);
          }
          const next: number[] = [];
          pending.forEach((index, row) => {
            if (result.resultCodes[row] === ROW_UNANSWERED) next.push(index);
            else finalCodes[index] = result.resultCodes[row];
          });
          pending = next;
          if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    } finally {
      await writer.close();
    }
    expect(attempts).to.be.greaterThan(30, 'the stop made some batches fail');
    expect([...failureCodes].every((code) => [ClientErrorCode.CONNECTION, ClientErrorCode.PARTITION_UNAVAILABLE, ClientErrorCode.NODE_NOT_FOUND, ClientErrorCode.SOCKET_TIMEOUT, ClientErrorCode.TOTAL_TIMEOUT].includes(code as never)), [...failureCodes].join()).to.equal(true);
    for (let i = 0; i < all.length; i++) {
      // KEY_EXISTS is only acceptable where an earlier attempt may have been applied.
      if (finalCodes[i] === ResultCode.KEY_EXISTS) expect(inDoubtRows.has(i), `row ${i}`).to.equal(true);
      else expect(finalCodes[i], `row ${i}`).to.equal(ResultCode.OK);
    }
    const stored = tc.records('test', 'stream');
    expect(stored).to.have.length(all.length);
    expect(stored.every((record) => record.generation === 1), 'every record written once').to.equal(true);
  });

  it('times out a hung command (socket timeout, then total timeout) and replaces the connection', async () => {
    const writer = new WriteClient(cluster.routingTable.buffer, { socketTimeoutMs: 200, totalTimeoutMs: 5000 });
    const [record] = records('hang', 1);
    try {
      tc.faults.hang({ count: 1 });
      let error = await writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE).then(() => null, (e: unknown) => e as AerospikeError);
      expect(error).to.be.instanceOf(AerospikeError);
      expect(error!.code).to.equal(ClientErrorCode.SOCKET_TIMEOUT);
      expect(error!.inDoubt).to.equal(true);
      expect(await writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE)).to.equal(ResultCode.OK);

      const impatient = new WriteClient(cluster.routingTable.buffer, { socketTimeoutMs: 0, totalTimeoutMs: 300 });
      try {
        tc.faults.hang({ count: 1 });
        const started = Date.now();
        const result = await impatient.writeBatch([record], [TTL_NEVER_EXPIRE], WRITE);
        expect(Date.now() - started).to.be.below(2000);
        expect(result.failures).to.have.length(1);
        error = result.failures[0].error;
        expect(error.code).to.equal(ClientErrorCode.TOTAL_TIMEOUT);
        expect(error.inDoubt).to.equal(true);
        expect(result.failures[0].rows).to.deep.equal([0]);
        expect((await impatient.writeBatch([record], [TTL_NEVER_EXPIRE], WRITE)).resultCodes[0]).to.equal(ResultCode.OK);
      } finally {
        await impatient.close();
      }
    } finally {
      await writer.close();
    }
  });

  it('reports a dropped connection as an in-doubt CONNECTION error and opens a new one', async () => {
    const writer = new WriteClient(cluster.routingTable.buffer);
    const batch = records('drop', 30);
    try {
      expect((await writer.writeBatch(batch.slice(0, 3), [TTL_NEVER_EXPIRE, TTL_NEVER_EXPIRE, TTL_NEVER_EXPIRE], WRITE)).failures).to.deep.equal([]);
      const opened = tc.stats().reduce((sum, stats) => sum + stats.connectionsOpened, 0);
      tc.faults.dropConnections({ count: 1 });
      const result = await writer.writeBatch(batch, batch.map(() => TTL_NEVER_EXPIRE), WRITE);
      expect(result.failures).to.have.length(1);
      expect(result.failures[0].error.code).to.equal(ClientErrorCode.CONNECTION);
      expect(result.failures[0].error.inDoubt).to.equal(true);
      expect(result.unanswered).to.equal(result.failures[0].rows.length).and.be.greaterThan(0);
      const retry = result.failures[0].rows.map((row) => batch[row]);
      const again = await writer.writeBatch(retry, retry.map(() => TTL_NEVER_EXPIRE), WRITE);
      expect(again.failures).to.deep.equal([]);
      expect(tc.stats().reduce((sum, stats) => sum + stats.connectionsOpened, 0)).to.be.greaterThan(opened);
    } finally {
      await writer.close();
    }
  });

  it('keeps at most maxCommandsInFlight commands running and connections per node bounded', async () => {
    const writer = new WriteClient(cluster.routingTable.buffer, { maxCommandsInFlight: 2 });
    const many = records('bound', 40);
    tc.faults.addLatency(20);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, writer.inFlight)), 2);
    try {
      const codes = await Promise.all(many.map((record) => writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE)));
      expect(codes.every((code) => code === ResultCode.OK)).to.equal(true);
      const batches = await Promise.all([0, 10, 20, 30].map((start) => writer.writeBatch(many.slice(start, start + 10), new Array(10).fill(TTL_NEVER_EXPIRE), WRITE)));
      expect(batches.every((result) => result.failures.length === 0)).to.equal(true);
    } finally {
      clearInterval(sampler);
      await writer.close();
    }
    expect(peak).to.equal(2);
    for (const stats of tc.stats()) expect(stats.connectionsOpened).to.be.at.most(2 + 4 + 1);
  });

  it('reports a batch-level result code with the rows it left unanswered', async () => {
    const writer = new WriteClient(cluster.routingTable.buffer);
    const batch = records('batchrc', 20);
    try {
      tc.faults.failCommands(ResultCode.DEVICE_OVERLOAD, { kinds: ['batch'], count: 1 });
      const result = await writer.writeBatch(batch, batch.map(() => TTL_NEVER_EXPIRE), WRITE);
      expect(result.failures).to.have.length(1);
      const { error, rows } = result.failures[0];
      expect(error.code).to.equal(ClientErrorCode.SERVER);
      expect(error.resultCode).to.equal(ResultCode.DEVICE_OVERLOAD);
      expect(error.message).to.include('DEVICE_OVERLOAD (18)');
      expect(rows.length).to.be.greaterThan(0);
      for (let i = 0; i < batch.length; i++) {
        expect(result.resultCodes[i]).to.equal(rows.includes(i) ? ROW_UNANSWERED : ResultCode.OK);
      }
      tc.faults.failWrites(ResultCode.KEY_BUSY, { count: 3 });
      const partial = await writer.writeBatch(batch, batch.map(() => TTL_NEVER_EXPIRE), WRITE);
      expect(partial.failures).to.deep.equal([]);
      expect([...partial.resultCodes].filter((code) => code === ResultCode.KEY_BUSY)).to.have.length(3);
    } finally {
      await writer.close();
    }
  });
});
