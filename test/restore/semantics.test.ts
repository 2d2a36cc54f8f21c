/**
 * Restore semantics on small generated backups, each checked against what the 3-node test cluster
 * stored and against the run's counters: write policies against pre-existing records of lower /
 * equal / higher generation, TTL and --extra-ttl, namespace remap, --set-list / --bin-list,
 * --no-records / --no-indexes / --no-udfs, batch sizes and single-record writes, stdin, and the
 * counters' invariant (every record decoded lands in exactly one outcome).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { Aerospike, errorLines, startHarness, summaryOf, tempDir, type Harness } from './harness.js';
import { backupText, digestOf, index, manyRecords, udf, writeBackupDirectory, type SimpleRecord } from './backup-builder.js';
import { nowClepoch } from './readback.js';
import type { RemoteRecord } from '../cluster/remote-cluster.js';
import { TestCluster } from '../cluster/cluster.js';
import { runCli, type CliRun } from '../support/run-cli.js';

function binText(record: RemoteRecord | undefined, name: string): string | undefined {
  const bin = record?.bins.find(([n]) => n === name)?.[1];
  return bin === undefined ? undefined : Buffer.from(bin.value).toString('utf8');
}

function storedByKey(records: RemoteRecord[], set: string, key: string): RemoteRecord | undefined {
  const digest = digestOf({ set, key });
  return records.find((record) => Buffer.from(record.digest).equals(digest));
}

describe('restore: semantics on generated backups (3-node cluster)', function () {
  this.timeout(60_000);
  let harness: Harness;
  let dir: { path: string; remove: () => void };

  before(async () => {
    harness = await startHarness({
      namespaces: [
        { name: 'test', replicationFactor: 2 },
        { name: 'bar', replicationFactor: 2 },
        { name: 'small', maxRecordSize: 2048 },
      ],
    });
    dir = tempDir('semantics');
  });
  after(async () => {
    await harness?.stop();
    dir?.remove();
  });

  describe('write policies against existing records (C.5)', () => {
    // Backup generation 2 for all; the cluster holds k-low at gen 1, k-equal at 2, k-high at 3.
    const backup = (): string => {
      const path = join(dir.path, 'policy');
      writeBackupDirectory(path, {
        records: ['k-low', 'k-equal', 'k-high', 'k-new'].map((key) => ({ set: 'pol', key, generation: 2, bins: { a: 'backup' } })),
      });
      return path;
    };
    const prepare = async (): Promise<void> => {
      await harness.truncate('test');
      const client = await harness.client();
      const gens: Record<string, number> = { 'k-low': 1, 'k-equal': 2, 'k-high': 3 };
      for (const [key, gen] of Object.entries(gens)) {
        for (let i = 0; i < gen; i++) await client.put(new Aerospike.Key('test', 'pol', key), { a: 'old', extra: 'x' });
      }
    };
    const cases: { name: string; args: string[]; outcome: Record<string, 'written' | 'replaced' | 'kept'>; counts: Partial<ReturnType<typeof summaryOf>> }[] = [
      {
        name: 'default: write when new or backup gen > server gen, bins merged; else fresher',
        args: [],
        outcome: { 'k-low': 'written', 'k-equal': 'kept', 'k-high': 'kept', 'k-new': 'written' },
        counts: { inserted: 2, fresher: 2, existed: 0 },
      },
      {
        name: '-u: only new records, existing ones counted existed',
        args: ['-u'],
        outcome: { 'k-low': 'kept', 'k-equal': 'kept', 'k-high': 'kept', 'k-new': 'written' },
        counts: { inserted: 1, existed: 3, fresher: 0 },
      },
      {
        name: '-r: replace (no merge), still generation-checked',
        args: ['-r'],
        outcome: { 'k-low': 'replaced', 'k-equal': 'kept', 'k-high': 'kept', 'k-new': 'replaced' },
        counts: { inserted: 2, fresher: 2 },
      },
      {
        name: '-g: write whatever the generation, bins merged',
        args: ['-g'],
        outcome: { 'k-low': 'written', 'k-equal': 'written', 'k-high': 'written', 'k-new': 'written' },
        counts: { inserted: 4, fresher: 0 },
      },
      {
        name: '-r -g: replace everything',
        args: ['-r', '-g'],
        outcome: { 'k-low': 'replaced', 'k-equal': 'replaced', 'k-high': 'replaced', 'k-new': 'replaced' },
        counts: { inserted: 4 },
      },
    ];
    for (const testCase of cases) {
      for (const mode of [[], ['--disable-batch-writes']]) {
        it(`${testCase.name}${mode.length ? ' (single-record writes)' : ''}`, async () => {
          const path = backup();
          await prepare();
          const run = await harness.restore(['-d', path, ...testCase.args, ...mode]);
          expect(run.code, run.stderr).to.equal(0);
          const summary = summaryOf(run);
          for (const [counter, value] of Object.entries(testCase.counts)) expect(summary[counter as keyof typeof summary], counter).to.equal(value);
          const stored = await harness.cluster.records('test', 'pol');
          for (const [key, outcome] of Object.entries(testCase.outcome)) {
            const record = storedByKey(stored, 'pol', key);
            if (outcome === 'kept') {
              expect(binText(record, 'a'), key).to.equal('old');
            } else {
              expect(binText(record, 'a'), key).to.equal('backup');
              expect(binText(record, 'extra'), key).to.equal(outcome === 'written' && key !== 'k-new' ? 'x' : undefined);
            }
          }
        });
      }
    }

    it('rejects --unique with --replace', async () => {
      const run = await harness.restore(['-d', backup(), '-u', '-r']);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/mutually exclusive|--unique/);
    });
  });

  describe('TTL', () => {
    it('void time → TTL; never-expiring stays so; expired records counted and not sent; --extra-ttl revives and extends', async () => {
      const now = nowClepoch();
      const records: SimpleRecord[] = [
        { set: 'ttl', key: 'never', voidTime: 0, bins: { a: 1 } },
        { set: 'ttl', key: 'hour', voidTime: now + 3600, bins: { a: 2 } },
        { set: 'ttl', key: 'past', voidTime: now - 100, bins: { a: 3 } },
      ];
      const path = join(dir.path, 'ttl');
      writeBackupDirectory(path, { records });
      await harness.truncate('test');
      let run = await harness.restore(['-d', path]);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: 3, expired: 1, inserted: 2, skipped: 0 });
      let stored = await harness.cluster.records('test', 'ttl');
      expect(stored.length).to.equal(2);
      expect(storedByKey(stored, 'ttl', 'never')!.voidTime).to.equal(0);
      expect(Math.abs(storedByKey(stored, 'ttl', 'hour')!.voidTime - (now + 3600))).to.be.at.most(2);
      expect(storedByKey(stored, 'ttl', 'past')).to.equal(undefined);

      await harness.truncate('test');
      run = await harness.restore(['-d', path, '--extra-ttl', '1000']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ expired: 0, inserted: 3 });
      stored = await harness.cluster.records('test', 'ttl');
      expect(storedByKey(stored, 'ttl', 'never')!.voidTime).to.equal(0);
      expect(Math.abs(storedByKey(stored, 'ttl', 'hour')!.voidTime - (now + 4600))).to.be.at.most(2);
      expect(Math.abs(storedByKey(stored, 'ttl', 'past')!.voidTime - (now + 900))).to.be.at.most(2);
      // The official client sees the same TTL.
      const client = await harness.client();
      const got = await client.get(new Aerospike.Key('test', 'ttl', 'hour'));
      expect(Math.abs(got.ttl - (now + 4600 - nowClepoch()))).to.be.at.most(2);
    });
  });

  describe('selection', () => {
    const records: SimpleRecord[] = [
      { set: 'keep', key: 'a1', bins: { x: 1, y: 'y1' } },
      { set: 'keep', key: 'a2', bins: { y: 'only-y' } },
      { set: 'drop', key: 'b1', bins: { x: 2 } },
      { set: null, key: 'c1', bins: { x: 3 } },
      { set: 'keep', key: 'a3', storeKey: false, bins: { x: 4 } },
    ];
    let path: string;
    before(() => {
      path = join(dir.path, 'selection');
      writeBackupDirectory(path, {
        records,
        files: 2,
        indexes: [index('keep_x', 'keep', 'x'), index('drop_x', 'drop', 'x')],
        udfs: [udf('sel.lua', 'return 1\n')],
      });
    });

    it('--set-list: other sets (and set-less records) skipped, indexes of other sets skipped', async () => {
      await harness.truncate('test');
      const run = await harness.restore(['-d', path, '-s', 'keep']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: 5, skipped: 2, inserted: 3, indexes: 2, udfs: 1 });
      expect(run.stderr).to.contain('Skipped 1 index(es) with unwanted set(s)');
      expect((await harness.cluster.records('test')).map((r) => r.set).sort()).to.deep.equal(['keep', 'keep', 'keep']);
    });

    it('--bin-list: other bins dropped, a record left without bins skipped; key stored only with + k', async () => {
      await harness.truncate('test');
      const run = await harness.restore(['-d', path, '-B', 'x']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: 5, skipped: 1, inserted: 4 });
      const stored = await harness.cluster.records('test');
      for (const record of stored) expect(record.bins.map(([name]) => name)).to.deep.equal(['x']);
      expect(storedByKey(stored, 'keep', 'a1')!.key).to.not.equal(null);
      expect(storedByKey(stored, 'keep', 'a3')!.key).to.equal(null);
    });

    it('-n test,bar: records and indexes land in bar', async () => {
      await harness.truncate('test', 'bar');
      const run = await harness.restore(['-d', path, '-n', 'test,bar']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ inserted: 5 });
      expect((await harness.cluster.records('bar')).length).to.equal(5);
      expect((await harness.cluster.records('test')).length).to.equal(0);
      const metadata = await harness.cluster.metadata();
      expect(metadata.sindexes.some((s) => s.name === 'keep_x' && JSON.stringify(s.def).includes('bar'))).to.equal(true);
    });

    it('-n with a record of another namespace: error naming file and line, exit 1', async () => {
      const other = join(dir.path, 'other-ns');
      writeBackupDirectory(other, { records: [{ set: 's', key: 'k', namespace: 'elsewhere', bins: { a: 1 } }] });
      const run = await harness.restore(['-d', other, '-n', 'test,bar']);
      expect(run.code).to.equal(1);
      expect(errorLines(run).join('\n')).to.match(/Invalid namespace elsewhere/);
    });

    it('--indexes-last: indexes created after the records', async () => {
      await harness.truncate('test');
      const run = await harness.restore(['-d', path, '--indexes-last', '-v']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ inserted: 5, indexes: 2, udfs: 1 });
      const lines = run.stderrLines;
      const recordWork = lines.findIndex((line) => line.includes('Opened backup file'));
      const firstIndexWork = lines.findIndex((line) => /\[VER\] .*(Restoring|Checking) index/.test(line));
      expect(firstIndexWork, run.stderr).to.be.greaterThan(recordWork);
    });

    it('--wait: waits until every node lists the UDF', async () => {
      const udfOnly = join(dir.path, 'udf-only');
      writeBackupDirectory(udfOnly, { records: manyRecords(3, 'w'), udfs: [udf('wait_me.lua', 'return 2\n')] });
      const run = await harness.restore(['-d', udfOnly, '--wait', '-v']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).to.match(/Waiting for UDF file wait_me\.lua/);
      const metadata = await harness.cluster.metadata();
      expect(metadata.udfs.some((u) => u.filename === 'wait_me.lua')).to.equal(true);
    });

    it('--no-records restores only metadata; --no-indexes / --no-udfs leave those out', async () => {
      await harness.truncate('test');
      let run = await harness.restore(['-d', path, '--no-records']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: 0, inserted: 0, indexes: 2, udfs: 1 });
      expect(run.stderr).to.not.contain('Restoring records');
      expect((await harness.cluster.records('test')).length).to.equal(0);

      run = await harness.restore(['-d', path, '--no-indexes', '--no-udfs']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: 5, inserted: 5, indexes: 0, udfs: 0 });
    });
  });

  describe('write paths', () => {
    let path: string;
    before(() => {
      path = join(dir.path, 'paths');
      writeBackupDirectory(path, { records: manyRecords(300, 'wp'), files: 3 });
    });

    it('--batch-size bounds the rows per batch request; --max-async-batches 1 still restores everything', async () => {
      await harness.truncate('test');
      await harness.cluster.resetStats();
      const run = await harness.restore(['-d', path, '--batch-size', '10', '--max-async-batches', '1']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ inserted: 300 });
      const stats = await harness.cluster.stats();
      const rowsPerRequest = stats.flatMap((s) => s.recordsPerBatch.map(([rows]) => rows));
      expect(Math.max(...rowsPerRequest)).to.be.at.most(10);
      expect(stats.reduce((sum, s) => sum + s.batchWriteRows, 0)).to.equal(300);
      expect((await harness.cluster.records('test', 'wp')).length).to.equal(300);
    });

    it('--disable-batch-writes: one write per record', async () => {
      await harness.truncate('test');
      await harness.cluster.resetStats();
      const run = await harness.restore(['-d', path, '--disable-batch-writes']);
      expect(run.code, run.stderr).to.equal(0);
      const stats = await harness.cluster.stats();
      expect(stats.reduce((sum, s) => sum + s.singleWrites, 0)).to.equal(300);
      expect(stats.reduce((sum, s) => sum + s.batchRequests, 0)).to.equal(0);
    });

    it('--event-loops 2: files go to the first thread while it has room (-v names it); ASRESTORE_TS_SPREAD=always spreads them', async () => {
      await harness.truncate('test');
      const run = await harness.restore(['-d', path, '--event-loops', '2', '-v']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ inserted: 300 });
      // Small files end within the first thread's warm-up: each goes to it, nothing judged yet.
      const placed = run.stderrLines.filter((line) => / on worker thread \d+ \(files per thread: /.test(line));
      expect(placed.length).to.equal(3);
      for (const line of placed) expect(line).to.match(/: on worker thread 1 \(files per thread: \d+, 0; last utilisation judged: [-\d.]+, -\)$/);
      await harness.truncate('test');
      const spread = await harness.restore(['-d', path, '--event-loops', '2', '-v'], { env: { ASRESTORE_TS_SPREAD: 'always' } });
      expect(spread.code, spread.stderr).to.equal(0);
      expect(summaryOf(spread)).to.include({ inserted: 300 });
      expect(spread.stderr).to.not.contain('on worker thread');
      expect((await harness.cluster.records('test', 'wp')).length).to.equal(300);
    });

    it('-i FILE and -i - (stdin) restore a single file', async () => {
      const file = join(dir.path, 'single.asb');
      const text = backupText({ records: manyRecords(50, 'single') });
      (await import('node:fs')).writeFileSync(file, text);
      await harness.truncate('test');
      let run = await harness.restore(['-i', file]);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ inserted: 50 });
      await harness.truncate('test');
      run = await harness.restore(['-i', '-'], { stdin: readFileSync(file) });
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: 50, inserted: 50 });
      expect((await harness.cluster.records('test', 'single')).length).to.equal(50);
    });
  });
});

describe('restore: when the cluster has no batch writes', function () {
  this.timeout(30_000);
  for (const [what, options] of [
    ['batch-index-threads 0', { batchIndexThreads: 0 }],
    ['a server before 6.0', { build: '5.7.0.0' }],
  ] as const) {
    it(`${what}: single-record writes, as C asrestore decides`, async () => {
      const dir = tempDir('nobatch');
      const cluster = await TestCluster.start({ nodes: 2, ...options });
      try {
        const path = join(dir.path, 'b');
        writeBackupDirectory(path, { records: manyRecords(40, 'nb') });
        const hosts = cluster.seeds.map((seed) => `${seed.host}:${seed.port}`).join(',');
        const run = await runCli(['-h', hosts, '-d', path]);
        expect(run.code, run.stderr).to.equal(0);
        expect(summaryOf(run)).to.include({ inserted: 40 });
        const stats = cluster.stats();
        expect(stats.reduce((sum, s) => sum + s.singleWrites, 0)).to.equal(40);
        expect(stats.reduce((sum, s) => sum + s.batchRequests, 0)).to.equal(0);
      } finally {
        await cluster.stop();
        dir.remove();
      }
    });
  }
});

describe('restore: one input written by every worker thread', function () {
  this.timeout(60_000);
  let harness: Harness;
  let dir: { path: string; remove: () => void };
  let file: string;
  const COUNT = 3000;

  before(async () => {
    harness = await startHarness();
    dir = tempDir('fanout');
    file = join(dir.path, 'one.asb');
    (await import('node:fs')).writeFileSync(file, backupText({ records: manyRecords(COUNT, 'fan'), indexes: [index('fan_n', 'fan', 'n')] }));
  });
  after(async () => {
    await harness?.stop();
    dir?.remove();
  });

  // Batches go to the other threads only while the decoding thread is busy, which a test-sized
  // input never makes it; ASRESTORE_TS_SPREAD=always hands them over from the start.
  const SPREAD = { env: { ASRESTORE_TS_SPREAD: 'always' } };
  const writtenByWriters = (run: CliRun): number[] =>
    run.stderrLines
      .map((line) => /Batch writer wrote (\d+) record\(s\)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));

  for (const source of ['file', 'stdin'] as const) {
    it(`-i ${source === 'file' ? 'FILE' : '-'} --event-loops 3: decoded by one worker, batches written by the others too; nothing lost`, async () => {
      await harness.truncate('test');
      await harness.cluster.addLatency(5, { kinds: ['batch'] });
      try {
        const args = ['-i', source === 'file' ? file : '-', '--event-loops', '3', '--batch-size', '20', '-v'];
        const run = await harness.restore(args, source === 'stdin' ? { ...SPREAD, stdin: readFileSync(file) } : SPREAD);
        expect(run.code, run.stderr).to.equal(0);
        expect(summaryOf(run)).to.include({ records: COUNT, inserted: COUNT, indexes: 1 });
        const written = writtenByWriters(run);
        expect(written.length).to.equal(2);
        expect(written.reduce((a, b) => a + b, 0)).to.be.greaterThan(0);
        expect((await harness.cluster.records('test', 'fan')).length).to.equal(COUNT);
      } finally {
        await harness.cluster.clearFaults();
      }
    });
  }

  it('-i FILE --event-loops 3 by default: a decoding thread with time to spare writes every batch itself', async () => {
    await harness.truncate('test');
    await harness.cluster.addLatency(5, { kinds: ['batch'] });
    try {
      const run = await harness.restore(['-i', file, '--event-loops', '3', '--batch-size', '20', '-v']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: COUNT, inserted: COUNT });
      expect(writtenByWriters(run)).to.deep.equal([0, 0]);
      expect((await harness.cluster.records('test', 'fan')).length).to.equal(COUNT);
    } finally {
      await harness.cluster.clearFaults();
    }
  });

  it('an ASRESTORE_TS_SPREAD that is neither as-needed nor always is an error', async () => {
    const run = await harness.restore(['-i', file], { env: { ASRESTORE_TS_SPREAD: 'sometimes' } });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain("Invalid ASRESTORE_TS_SPREAD value 'sometimes': use 'as-needed' or 'always'");
  });

  it('a batch too big for a shared slot travels as its own buffer, bytes intact', async () => {
    await harness.truncate('test');
    const bigFile = join(dir.path, 'big-first.asb');
    const blob = Buffer.alloc(600 * 1024);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 31) & 0xff;
    (await import('node:fs')).writeFileSync(
      bigFile,
      backupText({ records: [{ set: 'bigfan', key: 'big', bins: { blob } }, ...manyRecords(20, 'bigfan', 'small-')] }),
    );
    const run = await harness.restore(['-i', bigFile, '--event-loops', '3', '--batch-size', '1', '-v'], SPREAD);
    expect(run.code, run.stderr).to.equal(0);
    expect(summaryOf(run)).to.include({ inserted: 21 });
    const stored = storedByKey(await harness.cluster.records('test', 'bigfan'), 'bigfan', 'big');
    expect(Buffer.from(stored!.bins.find(([name]) => name === 'blob')![1].value).equals(blob)).to.equal(true);
    // The first batch goes to a remote writer (none is busy yet).
    expect(run.stderr).to.match(/Batch writer wrote [1-9]\d* record/);
  });

  it('a fatal error in a remote writer stops the whole run (exit 1)', async () => {
    await harness.truncate('test');
    await harness.cluster.failCommands(4, { kinds: ['batch'] });
    try {
      const run = await harness.restore(['-i', file, '--event-loops', '3', '--batch-size', '20'], SPREAD);
      expect(run.code).to.equal(1);
      expect(errorLines(run).join('\n')).to.contain('Error while storing record - code 4');
    } finally {
      await harness.cluster.clearFaults();
    }
  });

  it('--nice caps the record rate', async () => {
    const small = join(dir.path, 'nice.asb');
    (await import('node:fs')).writeFileSync(small, backupText({ records: manyRecords(400, 'nice') }));
    const timed = async (args: string[]): Promise<number> => {
      await harness.truncate('test');
      const started = Date.now();
      const run = await harness.restore(['-i', small, ...args]);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ inserted: 400 });
      return Date.now() - started;
    };
    // 100 records/s, the first second's worth at once: the 400 records take 3 s at least (an
    // unthrottled run of them takes about 1.5 s, start-up included).
    expect(await timed(['--nice', '100,100'])).to.be.at.least(3000);
  });
});
