/**
 * Encoded per-node commands end to end against the test cluster: rows routed on arrival, sent with
 * sendCommand (per-row codes), single writes shuffled out of rows (writeRow), rows re-routed by the
 * digest they carry after a partition move, and a command for a node that has left.
 */
import { expect } from 'chai';
import { TestCluster } from '../cluster/cluster.js';
import { Cluster } from '../../src/shared/aerospike/cluster.js';
import { NodeCommandSet, type EncodedCommand } from '../../src/shared/aerospike/batch-command.js';
import { ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { partitionOf } from '../../src/shared/aerospike/replicas.js';
import { ROW_UNANSWERED, WriteClient } from '../../src/shared/aerospike/write-client.js';
import { Info2, ParticleType, ResultCode, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import type { AsbRecord } from '../../src/shared/asb/types.js';
import type { WriteFlags } from '../../src/shared/aerospike/write-flags.js';
import { bin, makeRecord, seedList } from './support.js';

const WRITE: WriteFlags = { info2: Info2.WRITE, info3: 0 };
const CREATE_ONLY: WriteFlags = { info2: Info2.WRITE | Info2.CREATE_ONLY, info3: 0 };

function records(prefix: string, count: number): AsbRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    ...makeRecord('test', 'enc', `${prefix}-${i}`, [bin('v', ParticleType.INTEGER, i), bin('s', ParticleType.STRING, Buffer.from(`value ${i}`))]),
    line: 100 + i,
  }));
}

/** The records routed by `writer` into per-node commands of at most `maxRows` rows. */
function commandsFor(writer: WriteClient, all: AsbRecord[], maxRows: number, flags = WRITE): EncodedCommand[] {
  const out: EncodedCommand[] = [];
  const set = new NodeCommandSet(maxRows, flags, (command) => out.push(command));
  for (const record of all) set.addRecord(writer.routeOf(record), record, TTL_NEVER_EXPIRE, 'enc.asb');
  set.flush('enc.asb');
  return out;
}

describe('client: encoded per-node commands', function () {
  this.timeout(30_000);
  let tc: TestCluster;
  let cluster: Cluster;
  let writer: WriteClient;

  beforeEach(async () => {
    tc = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'test', replicationFactor: 2 }], nonOwnerPolicy: 'unavailable' });
    cluster = await Cluster.connect({ hosts: seedList(tc.seeds), tendIntervalMs: 60_000 });
    writer = new WriteClient(cluster.routingTable.buffer, { socketTimeoutMs: 2000, totalTimeoutMs: 4000 });
  });

  afterEach(async () => {
    await writer.close();
    await cluster.close();
    await tc.stop();
  });

  it('routes each row to its master on arrival; every command holds one node\'s rows, full batches first', async () => {
    const all = records('route', 200);
    const commands = commandsFor(writer, all, 32);
    expect(commands.reduce((sum, c) => sum + c.rowCount, 0)).to.equal(200);
    const full = commands.filter((c) => c.rowCount === 32).length;
    // At most one partial command per node.
    expect(commands.length - full).to.be.at.most(3);
    for (const command of commands) {
      const node = cluster.nodes.find((n) => n.slot === command.slot)!.name;
      for (let row = 0; row < command.rowCount; row++) {
        const record = all[command.lines[row] - 100];
        expect(tc.node(tc.masterOf("test", record.digest)!).nodeId).to.equal(node);
        expect(writer.routeOfRow(command.bytes, command.rowOffsets[row])).to.equal(command.slot);
      }
      const result = await writer.sendCommand(command);
      expect(result.failure).to.equal(null);
      expect([...result.resultCodes].every((code) => code === ResultCode.OK)).to.equal(true);
    }
    expect(tc.records('test', 'enc')).to.have.length(200);
    // Per-row codes come back by row: CREATE_ONLY over the same records says KEY_EXISTS for each.
    for (const command of commandsFor(writer, all, 32, CREATE_ONLY)) {
      const result = await writer.sendCommand(command);
      expect([...result.resultCodes]).to.deep.equal(new Array(command.rowCount).fill(ResultCode.KEY_EXISTS));
    }
  });

  it('single writes are made from rows and answer per row', async () => {
    const all = records('single', 20);
    for (const command of commandsFor(writer, all, 8)) {
      for (let row = 0; row < command.rowCount; row++) expect(await writer.writeRow(command, row, WRITE)).to.equal(ResultCode.OK);
    }
    for (const command of commandsFor(writer, all, 8)) {
      expect(await writer.writeRow(command, 0, CREATE_ONLY)).to.equal(ResultCode.KEY_EXISTS);
    }
    expect(tc.records('test', 'enc')).to.have.length(20);
  });

  it('after a partition move the rows route afresh by the digest they carry', async () => {
    const all = records('moves', 60);
    const commands = commandsFor(writer, all, 60);
    const target = 0;
    expect(tc.movePartitions('test', [...new Set(all.map((record) => partitionOf(record.digest)))], target).length).to.be.greaterThan(10);
    const stale = await Promise.all(commands.map((command) => writer.sendCommand(command)));
    const codes = stale.flatMap((result) => [...result.resultCodes]);
    expect(codes).to.include(ResultCode.PARTITION_UNAVAILABLE);
    await cluster.tendNow();
    const slotOfTarget = cluster.nodes.find((node) => node.name === tc.node(target).nodeId)!.slot;
    for (const command of commands) {
      for (let row = 0; row < command.rowCount; row++) expect(writer.routeOfRow(command.bytes, command.rowOffsets[row])).to.equal(slotOfTarget);
    }
  });

  it('a command for a node that has left fails as a whole, not in doubt, every row unanswered', async () => {
    const all = records('gone', 30);
    const commands = commandsFor(writer, all, 30);
    const victim = commands[0];
    const name = cluster.nodes.find((node) => node.slot === victim.slot)!.name;
    const index = [0, 1, 2].find((i) => tc.node(i).nodeId === name)!;
    await tc.node(index).stop();
    await cluster.tendNow();
    const result = await writer.sendCommand(victim);
    expect(result.failure?.code).to.be.oneOf([ClientErrorCode.NODE_NOT_FOUND, ClientErrorCode.CONNECTION]);
    expect(result.failure?.inDoubt ?? false).to.equal(false);
    expect([...result.resultCodes].every((code) => code === ROW_UNANSWERED)).to.equal(true);
    // The unroutable group (slot -1) is a failure of its own, never sent.
    const orphan: EncodedCommand = { ...victim, slot: -1 };
    expect((await writer.sendCommand(orphan)).failure?.code).to.equal(ClientErrorCode.PARTITION_UNAVAILABLE);
  });
});
