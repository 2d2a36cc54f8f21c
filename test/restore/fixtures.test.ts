/**
 * Every asbackup 4.5.8 fixture case restored into a 3-node test cluster with the case's own
 * asrestore options, then read back with the official client and from the cluster's store and
 * compared with the case's records manifest: bins byte-exact and typed, keys stored or not, set,
 * TTL within 2 s, generation 1; counters as asrestore reports them; indexes and UDFs created. For
 * a-default also the log lines and the --machine file against the real asrestore's formats.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { describeIfExists, fixturesDir } from '../support/paths.js';
import { logBody } from '../support/run-cli.js';
import { Aerospike, startHarness, summaryOf, tempDir, type Harness } from './harness.js';
import { compareStored, compareWithOfficialClient, expectedRecords, loadManifest } from './readback.js';

interface CaseInfo {
  restore_options: string[];
  manifest: { records_file: string; sindexes_in_backup: number; udfs_in_backup: number };
}

function caseInfo(name: string): CaseInfo {
  return JSON.parse(readFileSync(join(fixturesDir, name, 'CASE.json'), 'utf8')) as CaseInfo;
}

const CASES = [
  'a-default',
  'b-split-parallel',
  'c-zstd',
  'd1-aes128',
  'd2-aes256-zstd',
  'e-single-file',
  'f1-set',
  'f2-bin-list',
  'g1-no-records',
  'g2-no-indexes-no-udfs',
  'h-bar-after-restore',
  'i-compact',
];

describeIfExists(fixturesDir, 'restore: asbackup 4.5.8 fixtures into a 3-node cluster, read back with the official client', function () {
  this.timeout(60_000);
  let harness: Harness;

  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness?.stop();
  });

  for (const name of CASES) {
    it(`${name}: every record restored exactly as the manifest says`, async () => {
      const info = caseInfo(name);
      const manifest = loadManifest(join(fixturesDir, name, info.manifest.records_file));
      const namespace = manifest[0]?.namespace ?? 'test';
      await harness.truncate('test', 'bar');
      const run = await harness.restore(info.restore_options, { cwd: join(fixturesDir, name) });
      expect(run.code, run.stderr).to.equal(0);
      const expected = expectedRecords(manifest);

      const summary = summaryOf(run);
      expect(summary.records, 'records').to.equal(manifest.length);
      expect(summary.expired, 'expired').to.equal(expected.expired);
      expect(summary.skipped, 'skipped').to.equal(0);
      expect(summary.inserted, 'inserted').to.equal(expected.records.length);
      expect(summary.failed + summary.ignored, 'failed').to.equal(0);
      expect(summary.indexes, 'indexes').to.equal(info.manifest.sindexes_in_backup);
      expect(summary.udfs, 'udfs').to.equal(info.manifest.udfs_in_backup);

      const stored = await harness.cluster.records(namespace);
      expect(compareStored(stored, expected.records, { freshGeneration: true })).to.deep.equal([]);
      expect(await compareWithOfficialClient(Aerospike, await harness.client(), namespace, expected.records)).to.deep.equal([]);
    });
  }

  it('a-default: indexes and UDFs are on the cluster, UDF bodies byte for byte', async () => {
    const metadata = await harness.cluster.metadata();
    const names = metadata.sindexes.map((index) => index.name).sort();
    expect(names).to.include.members(['users_age_idx', 'users_langs_ctx', 'space_set_idx', 'noset_n_idx', 'events_where_geo']);
    for (const file of ['user_utils.lua', 'tricky_module.lua']) {
      const udf = metadata.udfs.find((u) => u.filename === file);
      expect(udf, file).to.not.equal(undefined);
      expect(Buffer.from(udf!.content64, 'base64').equals(readFileSync(join(fixturesDir, 'udfs', file)))).to.equal(true);
    }
  });

  it('a-default: log lines and --machine in the reference formats', async () => {
    await harness.truncate('test');
    const dir = tempDir('machine');
    try {
      const machine = join(dir.path, 'progress.txt');
      const run = await harness.restore(['-d', 'backup', '-m', machine], { cwd: join(fixturesDir, 'a-default') });
      expect(run.code, run.stderr).to.equal(0);
      for (const line of run.stderrLines) expect(line).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT \[(INF|ERR|VER)\] \[[ \d]{5}\] /);

      // The real asrestore's lines (its C client's own log lines left out), with what differs by
      // run made alike: host list, rates.
      const normalise = (body: string): string =>
        body
          .replace(/^(\[INF\] Starting restore to )\S+/, '$1HOSTS')
          .replace(/^\[INF\] Processing \d+ node\(s\)$/, '[INF] Processing N node(s)')
          .replace(/\(\d+ rec\/s, \d+ KiB\/s, /, '(R rec/s, K KiB/s, ')
          .replace(/~\S+ remaining/, '~ETA remaining');
      const reference = readFileSync(join(fixturesDir, 'a-default', 'asrestore-output.txt'), 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !line.includes('[src/main/'))
        .map((line) => normalise(logBody(line)));
      const ours = run.stderrLines.map((line) => normalise(logBody(line)));
      // The start-up lines in C's order, then every other reference line somewhere (threads
      // interleave them; ours may hold one more counter print).
      expect(ours.slice(0, 7), ours.join('\n')).to.deep.equal(reference.slice(0, 7));
      for (const line of reference.slice(7)) expect(ours, ours.join('\n')).to.include(line);
      // Matched indexes are reported the C way (they exist from the first case).
      expect(ours).to.include('[INF] Skipped 11 matched index(es)');

      const lines = readFileSync(machine, 'utf8').split('\n');
      expect(lines.pop()).to.equal('');
      expect(lines.at(-1)).to.equal(`SUMMARY:2:11:1894:${summaryOf(run).expired}:0:0 :${summaryOf(run).inserted}:0:0`);
      for (const line of lines.slice(0, -1)) expect(line).to.match(/^(PROGRESS:\d+|REMAINING:(\d+d)?(\d+h)?(\d+m)?\d+s)$/);
    } finally {
      dir.remove();
    }
  });
});
