/**
 * Worker-thread entry that hosts a TestCluster for RemoteTestCluster. The official `aerospike` client
 * seeds its cluster synchronously on the main thread (Aerospike.connect blocks the event loop), so a
 * cluster it talks to must run on another thread. Requests are `{ id, method, args }`; answers are
 * `{ id, result }` or `{ id, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TestCluster, type TestClusterOptions } from './cluster.js';
import type { FaultHandle, FaultRuleOptions } from './faults.js';

export interface HostRequest {
  id: number;
  method: string;
  args: unknown[];
}

export interface HostResponse {
  id: number;
  result?: unknown;
  error?: string;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('cluster-host must run in a worker thread');
  let cluster: TestCluster;
  try {
    cluster = await TestCluster.start(workerData as TestClusterOptions);
  } catch (error) {
    port.postMessage({ id: 0, error: String((error as Error)?.stack ?? error) } satisfies HostResponse);
    return;
  }
  const handles = new Map<number, FaultHandle>();
  const keep = (handle: FaultHandle) => {
    handles.set(handle.id, handle);
    return handle.id;
  };
  const nodeInfo = () =>
    cluster.seeds.map((seed, i) => ({ ...seed, nodeId: cluster.node(i).nodeId, running: cluster.node(i).running }));

  const methods: Record<string, (...args: any[]) => unknown> = {
    nodes: () => nodeInfo(),
    stopNode: async (i: number) => {
      await cluster.node(i).stop();
      return nodeInfo();
    },
    restartNode: async (i: number) => {
      await cluster.node(i).restart();
      return nodeInfo();
    },
    dropConnections: (i: number) => cluster.node(i).dropConnections(),
    failCommands: (rc: number, o?: FaultRuleOptions) => keep(cluster.faults.failCommands(rc, o)),
    failWrites: (rc: number, o?: FaultRuleOptions) => keep(cluster.faults.failWrites(rc, o)),
    addLatency: (ms: number, o?: FaultRuleOptions) => keep(cluster.faults.addLatency(ms, o)),
    hang: (o?: FaultRuleOptions) => keep(cluster.faults.hang(o)),
    dropOnCommand: (o?: FaultRuleOptions) => keep(cluster.faults.dropConnections(o)),
    faultFired: (id: number) => handles.get(id)?.fired ?? 0,
    removeFault: (id: number) => {
      handles.get(id)?.remove();
      handles.delete(id);
    },
    clearFaults: () => {
      cluster.faults.clear();
      handles.clear();
    },
    movePartitions: (ns: string, partitions: number[] | { count: number; from?: number }, to: number) =>
      cluster.movePartitions(ns, partitions, to),
    records: (ns: string, set?: string) =>
      cluster.records(ns, set).map((r) => ({ ...r, bins: [...r.bins.entries()] })),
    stats: () => cluster.stats().map((s) => ({ ...s, recordsPerBatch: [...s.recordsPerBatch], resultCodes: [...s.resultCodes] })),
    resetStats: () => cluster.resetStats(),
    masterOf: (ns: string, digest: Uint8Array) => cluster.masterOf(ns, Buffer.from(digest)),
    metadata: () => ({ sindexes: cluster.metadata.sindexDefinitions(), udfs: cluster.metadata.udfModules() }),
    partitionGeneration: () => cluster.partitionGeneration,
    stop: async () => {
      await cluster.stop();
      setImmediate(() => port.close());
    },
  };

  port.on('message', async (request: HostRequest) => {
    try {
      const method = methods[request.method];
      if (!method) throw new Error(`unknown method ${request.method}`);
      const result = await method(...request.args);
      port.postMessage({ id: request.id, result } satisfies HostResponse);
    } catch (error) {
      port.postMessage({ id: request.id, error: String((error as Error)?.message ?? error) } satisfies HostResponse);
    }
  });
  port.postMessage({ id: 0, result: nodeInfo() } satisfies HostResponse);
}

void main();
