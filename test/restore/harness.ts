/**
 * Shared pieces of the restore suites: a 3-node test cluster on a worker thread (so the official
 * client, whose connect blocks its thread, can talk to it), the built CLI run against it as a child
 * process, and the counters its last summary lines report.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteTestCluster } from '../cluster/remote-cluster.js';
import type { TestClusterOptions } from '../cluster/cluster.js';
import { runCli, type CliRun, type RunCliOptions } from '../support/run-cli.js';

// The official client is CommonJS with loose typings; it is only an oracle here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const Aerospike: any = createRequire(import.meta.url)('aerospike');

export const DEFAULT_NAMESPACES: NonNullable<TestClusterOptions['namespaces']> = [
  { name: 'test', replicationFactor: 2 },
  { name: 'bar', replicationFactor: 2 },
];

export interface Harness {
  cluster: RemoteTestCluster;
  /** `host:port,...` for -h. */
  hosts: string;
  /** Runs asrestore against the cluster (`-h` added first). */
  restore(args: readonly string[], options?: RunCliOptions): Promise<CliRun>;
  /** The official client, connected on first use. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  client(): Promise<any>;
  /** Empties the namespaces (info truncate-namespace). */
  truncate(...namespaces: string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(options: Omit<TestClusterOptions, 'tls'> = {}): Promise<Harness> {
  const cluster = await RemoteTestCluster.start({ nodes: 3, namespaces: DEFAULT_NAMESPACES, ...options });
  const hosts = (): string => cluster.seeds.map((seed) => `${seed.host}:${seed.port}`).join(',');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let client: any = null;
  const harness: Harness = {
    cluster,
    get hosts() {
      return hosts();
    },
    restore: (args, runOptions = {}) => runCli(['-h', hosts(), ...args], { timeoutMs: 60_000, ...runOptions }),
    async client() {
      if (client === null) {
        client = await Aerospike.connect({
          hosts: cluster.hosts,
          tendInterval: 250,
          log: { level: Aerospike.log.OFF },
          policies: { info: new Aerospike.InfoPolicy({ timeout: 5000 }) },
        });
      }
      return client;
    },
    async truncate(...namespaces: string[]) {
      const c = await harness.client();
      for (const namespace of namespaces) await c.infoAny(`truncate-namespace:namespace=${namespace}`);
    },
    async stop() {
      if (client !== null) await client.close();
      await cluster.stop();
    },
  };
  return harness;
}

export interface Summary {
  udfs: number;
  indexes: number;
  records: number;
  retries: number;
  expired: number;
  skipped: number;
  ignored: number;
  inserted: number;
  failed: number;
  existed: number;
  fresher: number;
}

const COUNTS_LINE = /\] (\d+) UDF file\(s\), (\d+) secondary index\(es\), (\d+) record\(s\) \(\d+ rec\/s, \d+ KiB\/s, \d+ B\/rec, retries: (\d+)\)$/;
const OUTCOME_LINE = /\] Expired (\d+) : skipped (\d+) : err_ignored (\d+) : inserted (\d+): failed (\d+) \(existed (\d+) , fresher (\d+)\)$/;

/** The counters of the run's last progress print. */
export function summaryOf(run: CliRun): Summary {
  let counts: RegExpExecArray | null = null;
  let outcome: RegExpExecArray | null = null;
  for (const line of run.stderrLines) {
    counts = COUNTS_LINE.exec(line) ?? counts;
    outcome = OUTCOME_LINE.exec(line) ?? outcome;
  }
  if (counts === null || outcome === null) throw new Error(`no summary lines in:\n${run.stderr}`);
  const n = (m: RegExpExecArray, i: number): number => Number(m[i]);
  return {
    udfs: n(counts, 1),
    indexes: n(counts, 2),
    records: n(counts, 3),
    retries: n(counts, 4),
    expired: n(outcome, 1),
    skipped: n(outcome, 2),
    ignored: n(outcome, 3),
    inserted: n(outcome, 4),
    failed: n(outcome, 5),
    existed: n(outcome, 6),
    fresher: n(outcome, 7),
  };
}

/** A temporary folder, removed by the returned cleanup. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `asrestore-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The ERR lines of a run, without time and thread id. */
export function errorLines(run: CliRun): string[] {
  return run.stderrLines.filter((line) => line.includes(' [ERR] ')).map((line) => line.replace(/^.* \[ERR\] \[[ \d]{5}\] /, ''));
}
