/**
 * Faults from the test cluster during a restore: a node stopped mid-run, partitions moved, hangs
 * and timeouts, overload and key-busy codes (retried, nothing lost, totals exact), record-too-big
 * (abort; with --ignore-record-error counted as err_ignored), permanent errors, retries used up,
 * wrong password, an unreachable host, TLS with the wrong CA, and SIGINT.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import { TestCluster } from '../cluster/cluster.js';
import { testPki } from '../support/tls-certs.js';
import { runCli } from '../support/run-cli.js';
import { errorLines, startHarness, summaryOf, tempDir, type Harness } from './harness.js';
import { manyRecords, writeBackupDirectory } from './backup-builder.js';

describe('restore: faults from the test cluster', function () {
  this.timeout(60_000);
  let harness: Harness;
  let dir: { path: string; remove: () => void };
  let path: string;
  const COUNT = 1200;

  before(async () => {
    harness = await startHarness({
      nonOwnerPolicy: 'unavailable',
      namespaces: [
        { name: 'test', replicationFactor: 2 },
        { name: 'small', maxRecordSize: 2048 },
      ],
    });
    dir = tempDir('faults');
    path = join(dir.path, 'many');
    writeBackupDirectory(path, { records: manyRecords(COUNT, 'f'), files: 3 });
  });
  after(async () => {
    await harness?.stop();
    dir?.remove();
  });
  beforeEach(async () => {
    await harness.cluster.clearFaults();
    if (harness.cluster.nodes.some((node) => !node.running)) {
      for (let i = 0; i < harness.cluster.nodes.length; i++) if (!harness.cluster.nodes[i].running) await harness.cluster.restartNode(i);
    }
    await harness.truncate('test', 'small');
  });

  /** Resolves once the cluster has taken `rows` batch rows (the restore is under way). */
  async function afterRows(rows: number): Promise<void> {
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      const stats = await harness.cluster.stats();
      if (stats.reduce((sum, s) => sum + s.batchWriteRows, 0) >= rows) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`the restore did not write ${rows} rows in time`);
  }

  /** Every record resolved, and every one stored. */
  async function expectAllRestored(run: Awaited<ReturnType<Harness['restore']>>): Promise<ReturnType<typeof summaryOf>> {
    expect(run.code, run.stderr).to.equal(0);
    const summary = summaryOf(run);
    expect(summary.records).to.equal(COUNT);
    // A write in doubt that is sent again can meet its own effect (fresher under the gen check).
    expect(summary.inserted + summary.fresher, JSON.stringify(summary)).to.equal(COUNT);
    expect(summary.ignored + summary.existed + summary.skipped + summary.expired).to.equal(0);
    expect((await harness.cluster.records('test', 'f')).length).to.equal(COUNT);
    return summary;
  }

  it('a node stopped mid-restore: its partitions move, writes are retried, nothing is lost', async () => {
    await harness.cluster.resetStats();
    await harness.cluster.addLatency(40, { kinds: ['batch'] });
    const running = harness.restore(['-d', path, '--batch-size', '20', '--max-async-batches', '4']);
    await afterRows(200);
    await harness.cluster.stopNode(2);
    const summary = await expectAllRestored(await running);
    // It was still running: writes to the stopped node failed and were sent again.
    expect(summary.retries).to.be.at.least(1);
  });

  it('partitions moved mid-restore (the old master answers "unavailable"): retried after the map changes', async () => {
    await harness.cluster.resetStats();
    await harness.cluster.addLatency(40, { kinds: ['batch'] });
    const running = harness.restore(['-d', path, '--batch-size', '20', '--max-async-batches', '4']);
    await afterRows(200);
    const moved = await harness.cluster.movePartitions('test', { count: 2048, from: 0 }, 1);
    expect(moved.length).to.be.greaterThan(0);
    const summary = await expectAllRestored(await running);
    expect(summary.inserted).to.equal(COUNT);
    expect(summary.retries).to.be.at.least(1);
  });

  it('hung batches time out (--socket-timeout/--total-timeout) and are sent again', async () => {
    await harness.cluster.hang({ kinds: ['batch'], count: 2 });
    const started = Date.now();
    const run = await harness.restore(['-d', path, '--socket-timeout', '300', '--total-timeout', '600']);
    const summary = await expectAllRestored(run);
    expect(summary.retries).to.be.at.least(1);
    expect(Date.now() - started).to.be.below(20_000);
  });

  it('device overload (batch level) and key busy (per record) are retried; counts exact', async () => {
    await harness.cluster.failCommands(18, { kinds: ['batch'], count: 3 });
    await harness.cluster.failWrites(14, { fraction: 0.05, count: 40 });
    const summary = await expectAllRestored(await harness.restore(['-d', path]));
    expect(summary.inserted).to.equal(COUNT);
    expect(summary.retries).to.be.at.least(3);
  });

  it('key busy in single-record mode is retried per record', async () => {
    await harness.cluster.failWrites(14, { fraction: 0.05, count: 30 });
    const summary = await expectAllRestored(await harness.restore(['-d', path, '--disable-batch-writes']));
    expect(summary.inserted).to.equal(COUNT);
    expect(summary.retries).to.be.at.least(1);
  });

  it('retries used up: exit 1, C message, the unresolved records named', async () => {
    await harness.cluster.failCommands(18, { kinds: ['batch'] });
    const run = await harness.restore(['-d', path, '--max-retries', '2', '--retry-scale-factor', '1000']);
    expect(run.code).to.equal(1);
    const errors = errorLines(run).join('\n');
    expect(errors).to.contain('Max batch-write retries exceeded (2)');
    expect(errors).to.match(/\d+ record\(s\) were read from the backup but not restored/);
  });

  it('a permanent error (PARAMETER) aborts at once with exit 1', async () => {
    await harness.cluster.failCommands(4, { kinds: ['batch'] });
    const run = await harness.restore(['-d', path]);
    expect(run.code).to.equal(1);
    expect(errorLines(run).join('\n')).to.contain('Error while storing record - code 4');
    expect(summaryOf(run).retries).to.equal(0);
  });

  it('records of a namespace the cluster does not have: exit 1 naming the namespace and the file; nothing counted as written', async () => {
    const absentPath = join(dir.path, 'absent');
    const [file] = writeBackupDirectory(absentPath, {
      records: [...manyRecords(5, 'a', 'ok-'), ...manyRecords(5, 'a', 'lost-', { namespace: 'absent' })],
    });
    const run = await harness.restore(['-d', absentPath]);
    expect(run.code, run.stderr).to.equal(1);
    const errors = errorLines(run).join('\n');
    expect(errors).to.contain("namespace 'absent' does not exist in the cluster");
    expect(errors).to.contain(`${file}, line `);
    const summary = summaryOf(run);
    expect(summary.inserted).to.be.at.most(5);
  });

  describe('record too big', () => {
    let bigPath: string;
    before(() => {
      bigPath = join(dir.path, 'big');
      writeBackupDirectory(bigPath, {
        records: [...manyRecords(20, 'big'), { set: 'big', key: 'huge', bins: { blob: Buffer.alloc(4000, 7) } }],
      });
    });

    it('aborts without --ignore-record-error (counted as err_ignored)', async () => {
      const run = await harness.restore(['-d', bigPath, '-n', 'test,small']);
      expect(run.code).to.equal(1);
      expect(summaryOf(run).ignored).to.equal(1);
      expect(errorLines(run).join('\n')).to.match(/code 13 \(RECORD_TOO_BIG\).*--ignore-record-error/);
    });

    it('with --ignore-record-error: counted as err_ignored, the rest restored, exit 0', async () => {
      const run = await harness.restore(['-d', bigPath, '-n', 'test,small', '--ignore-record-error']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: 21, ignored: 1, inserted: 20 });
      expect((await harness.cluster.records('small')).length).to.equal(20);
    });
  });

  it('an unreachable host fails within --timeout with a clear error', async () => {
    const started = Date.now();
    const run = await runCli(['-h', '127.0.0.1:1', '--timeout', '1000', '-d', path], { timeoutMs: 20_000 });
    expect(run.code).to.equal(1);
    expect(Date.now() - started).to.be.below(6000);
    expect(errorLines(run).join('\n')).to.match(/Error while connecting to 127\.0\.0\.1:1: .*127\.0\.0\.1:1/);
  });

  it('SIGINT: "### Restore interrupted ###", in-flight batches drain, exit 1', async () => {
    await harness.cluster.addLatency(100, { kinds: ['batch'] });
    let pid = 0;
    const running = harness.restore(['-d', path, '--batch-size', '10', '--max-async-batches', '2'], { onSpawn: (p) => (pid = p) });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    process.kill(pid, 'SIGINT');
    const run = await running;
    expect(run.code).to.equal(1);
    expect(errorLines(run)).to.include('### Restore interrupted ###');
    const summary = summaryOf(run);
    expect(summary.inserted).to.be.greaterThan(0);
    expect(summary.inserted).to.be.below(COUNT);
    // What was sent was answered and counted: the store holds exactly the inserted records.
    expect((await harness.cluster.records('test', 'f')).length).to.equal(summary.inserted);
  });
});

describe('restore: security failures', function () {
  this.timeout(30_000);
  let dir: { path: string; remove: () => void };
  let path: string;
  before(() => {
    dir = tempDir('security');
    path = join(dir.path, 'b');
    writeBackupDirectory(path, { records: manyRecords(10, 's') });
  });
  after(() => dir?.remove());

  it('a wrong password: exit 1 naming the refused login; the right one restores', async () => {
    const cluster = await TestCluster.start({ nodes: 2, users: [{ name: 'restorer', password: 'right-Pw1', roles: ['read-write'] }] });
    try {
      const hosts = cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',');
      const bad = await runCli(['-h', hosts, '-U', 'restorer', '-P', 'wrong', '--timeout', '2000', '-d', path]);
      expect(bad.code).to.equal(1);
      expect(errorLines(bad).join('\n')).to.match(/Error while connecting.*(password|auth|credential|NOT_AUTHENTICATED|INVALID)/i);
      const good = await runCli(['-h', hosts, '-U', 'restorer', '-Pright-Pw1', '-d', path]);
      expect(good.code, good.stderr).to.equal(0);
      expect(summaryOf(good).inserted).to.equal(10);
    } finally {
      await cluster.stop();
    }
  });

  it('TLS with the wrong CA: exit 1 with a TLS error; the right CA restores', async () => {
    const pki = testPki();
    const cluster = await TestCluster.start({ nodes: 1, tls: { key: pki.node.key, cert: pki.node.cert } });
    try {
      const host = `127.0.0.1:${pki.nodeTlsName}:${cluster.seeds[0].port}`;
      const bad = await runCli(['-h', host, '--tls-enable', '--tls-cafile', pki.wrongCa.certPath, '--timeout', '2000', '-d', path]);
      expect(bad.code).to.equal(1);
      expect(errorLines(bad).join('\n')).to.match(/Error while connecting.*(TLS|certificate)/i);
      const good = await runCli(['-h', host, '--tls-enable', '--tls-cafile', pki.ca.certPath, '-d', path]);
      expect(good.code, good.stderr).to.equal(0);
      expect(summaryOf(good).inserted).to.equal(10);
    } finally {
      await cluster.stop();
    }
  });
});
