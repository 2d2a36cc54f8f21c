/**
 * Standalone protocol-accurate Aerospike test cluster (test infrastructure, not part of the product).
 *
 *   npm run cluster -- --nodes 3 --port 3000
 *   scripts/test-cluster --nodes 3 --port 3000 --processes --namespace test --namespace bar
 *
 * Prints one line `READY {"seeds":[...],...}` on stdout once every node listens, then serves until
 * SIGINT/SIGTERM. See README "Test cluster" for every flag.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TestCluster, defaultNodeId } from '../test/cluster/cluster.js';
import { applyFaultFlags, type FaultFlags, type NodeProcessOptions } from '../test/cluster/node-process.js';
import type { MemberInfo } from '../test/cluster/partition-map.js';
import type { NamespaceConfig } from '../test/cluster/store.js';
import type { ClusterUser } from '../test/cluster/security.js';

const USAGE = `Usage: test-cluster [options]
  --nodes N                  number of nodes (default 1)
  --host HOST                listen address (default 127.0.0.1)
  --port P                   port of node 0, node i listens on P+i; 0 = ephemeral (default 3000)
  --namespace SPEC           NAME[:replication-factor[:max-record-size]] (repeatable; default test)
  --cluster-name NAME        (default asrestore-test)
  --build VERSION            the build answer (default 8.1.2.0)
  --batch-index-threads N    get-config batch-index-threads (default 2; 0 = no batch writes for asrestore)
  --discard-writes           answer every record write OK without storing it (a benchmark peer)
  --processes                run each node in its own process (replication factor 1, static membership)
  --user NAME:PASSWORD       enable security with this user (repeatable)
  --tls-key FILE --tls-cert FILE [--tls-ca FILE] [--tls-name NAME]   TLS listeners (in-process mode)
  --non-owner proxy|unavailable   what a node does for a partition it does not own (default proxy)
  --fail-writes-fraction F   fail this fraction of record writes ...
  --fail-writes-rc RC        ... with this result code (default 14 KEY_BUSY)
  --fail-next N              answer the next N data commands ...
  --fail-rc RC               ... with this result code (default 9 TIMEOUT)
  --latency-ms MS            delay every data command answer
  --stats-interval S         print per-node counters every S seconds
  --help`;

function fail(message: string): never {
  process.stderr.write(`test-cluster: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function intFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

function parseNamespace(spec: string): NamespaceConfig {
  const [name, rf, maxRecordSize] = spec.split(':');
  if (!name) fail(`bad --namespace ${JSON.stringify(spec)}`);
  return {
    name,
    replicationFactor: rf === undefined ? undefined : intFlag(rf, 'namespace replication factor', 1),
    maxRecordSize: maxRecordSize === undefined ? undefined : intFlag(maxRecordSize, 'namespace max-record-size', 0),
  };
}

const FLAGS = {
  nodes: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  namespace: { type: 'string', multiple: true },
  'cluster-name': { type: 'string' },
  build: { type: 'string' },
  'batch-index-threads': { type: 'string' },
  'discard-writes': { type: 'boolean' },
  processes: { type: 'boolean' },
  user: { type: 'string', multiple: true },
  'tls-key': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-name': { type: 'string' },
  'non-owner': { type: 'string' },
  'fail-writes-fraction': { type: 'string' },
  'fail-writes-rc': { type: 'string' },
  'fail-next': { type: 'string' },
  'fail-rc': { type: 'string' },
  'latency-ms': { type: 'string' },
  'stats-interval': { type: 'string' },
  help: { type: 'boolean' },
} as const;

function parseFlags() {
  try {
    return parseArgs({ options: FLAGS, strict: true, allowPositionals: false });
  } catch (error) {
    fail((error as Error).message);
  }
}



const { values } = parseFlags();

if (values.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}

const nodes = intFlag(values.nodes, 'nodes', 1);
if (nodes < 1) fail('--nodes must be at least 1');
const host = values.host ?? '127.0.0.1';
const port = intFlag(values.port, 'port', 3000);
const namespaces = (values.namespace ?? ['test']).map(parseNamespace);
const users: ClusterUser[] = (values.user ?? []).map((spec) => {
  const colon = spec.indexOf(':');
  if (colon <= 0) fail(`--user takes NAME:PASSWORD, got ${JSON.stringify(spec)}`);
  return { name: spec.slice(0, colon), password: spec.slice(colon + 1) };
});
const nonOwner = values['non-owner'] ?? 'proxy';
if (nonOwner !== 'proxy' && nonOwner !== 'unavailable') fail('--non-owner must be proxy or unavailable');
const fraction = values['fail-writes-fraction'] === undefined ? undefined : Number(values['fail-writes-fraction']);
if (fraction !== undefined && !(fraction >= 0 && fraction <= 1)) fail('--fail-writes-fraction must be within 0..1');
const faults: FaultFlags = {
  failWritesFraction: fraction,
  failWritesRc: values['fail-writes-rc'] === undefined ? undefined : intFlag(values['fail-writes-rc'], 'fail-writes-rc', 14),
  failNext: values['fail-next'] === undefined ? undefined : intFlag(values['fail-next'], 'fail-next', 0),
  failRc: values['fail-rc'] === undefined ? undefined : intFlag(values['fail-rc'], 'fail-rc', 9),
  latencyMs: values['latency-ms'] === undefined ? undefined : intFlag(values['latency-ms'], 'latency-ms', 0),
};
const clusterName = values['cluster-name'] ?? 'asrestore-test';
const batchIndexThreads = intFlag(values['batch-index-threads'], 'batch-index-threads', 2);
const statsInterval = intFlag(values['stats-interval'], 'stats-interval', 0);

function log(line: string): void {
  process.stderr.write(`[test-cluster] ${line}\n`);
}

async function runInProcess(): Promise<() => Promise<void>> {
  const tls =
    values['tls-key'] && values['tls-cert']
      ? {
          key: readFileSync(values['tls-key']),
          cert: readFileSync(values['tls-cert']),
          ca: values['tls-ca'] ? readFileSync(values['tls-ca']) : undefined,
          name: values['tls-name'],
        }
      : undefined;
  const cluster = await TestCluster.start({
    nodes,
    host,
    port,
    namespaces,
    clusterName,
    build: values.build,
    users,
    tls,
    nonOwnerPolicy: nonOwner as 'proxy' | 'unavailable',
    batchIndexThreads,
    discardWrites: values['discard-writes'] === true,
  });
  applyFaultFlags(cluster.faults, faults);
  process.stdout.write(
    `READY ${JSON.stringify({ seeds: cluster.seeds, nodeIds: cluster.seeds.map((_, i) => cluster.node(i).nodeId), processes: false })}\n`,
  );
  if (statsInterval > 0) {
    setInterval(() => log(JSON.stringify(cluster.stats().map(summarize))), statsInterval * 1000).unref();
  }
  return () => cluster.stop();
}

function summarize(s: { singleWrites: number; batchRequests: number; batchWriteRows: number; infoRequests: number; refused: number }) {
  return { singleWrites: s.singleWrites, batchRequests: s.batchRequests, batchWriteRows: s.batchWriteRows, info: s.infoRequests, refused: s.refused };
}

function waitFor<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; message?: string }) => {
      if (message.type === 'error') reject(new Error(message.message));
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`node process exited with ${code}`)));
  });
}

async function runProcesses(): Promise<() => Promise<void>> {
  if (users.length > 0 || values['tls-key']) log('note: --user works per node process; TLS needs the in-process mode');
  const entry = fileURLToPath(new URL('../test/cluster/node-process.js', import.meta.url));
  const children = Array.from({ length: nodes }, () => fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const options: NodeProcessOptions = { namespaces, clusterName, host, port: 0, build: values.build, users, batchIndexThreads, nonOwnerPolicy: nonOwner as 'proxy' | 'unavailable', faults, discardWrites: values['discard-writes'] === true };
  const members: MemberInfo[] = [];
  for (let i = 0; i < nodes; i++) {
    const listening = waitFor<{ port: number }>(children[i], 'listening');
    children[i].send({ type: 'init', index: i, nodeId: defaultNodeId(i), options: { ...options, port: port ? port + i : 0 } });
    members.push({ index: i, nodeId: defaultNodeId(i), host, port: (await listening).port, alive: true });
  }
  await Promise.all(
    children.map((child) => {
      const ready = waitFor(child, 'ready');
      child.send({ type: 'members', members });
      return ready;
    }),
  );
  // Metadata (sindexes, UDFs) and truncates made on one node reach all of them, as SMD does.
  children.forEach((child, i) => {
    child.on('message', (message: { type: string }) => {
      if (message.type !== 'metadata' && message.type !== 'truncate') return;
      children.forEach((other, j) => {
        if (j !== i && other.connected) other.send(message);
      });
    });
  });
  process.stdout.write(
    `READY ${JSON.stringify({ seeds: members.map((m) => ({ host: m.host, port: m.port })), nodeIds: members.map((m) => m.nodeId), processes: true, pids: children.map((c) => c.pid) })}\n`,
  );
  if (statsInterval > 0) {
    setInterval(async () => {
      const stats = await Promise.all(
        children.map((child) => {
          const answer = waitFor<{ stats: Parameters<typeof summarize>[0] }>(child, 'stats');
          child.send({ type: 'stats' });
          return answer;
        }),
      );
      log(JSON.stringify(stats.map((s) => summarize(s.stats))));
    }, statsInterval * 1000).unref();
  }
  return async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || !child.connected) return resolve();
            child.once('exit', () => resolve());
            child.send({ type: 'stop' });
          }),
      ),
    );
  };
}

const stop = await (values.processes ? runProcesses() : runInProcess()).catch((error: Error) => {
  process.stderr.write(`test-cluster: ${error.message}\n`);
  process.exit(1);
});
log(`${nodes} node(s) serving; stop with Ctrl-C`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void stop().then(() => process.exit(0));
  });
}
