/**
 * RemoteTestCluster: the TestCluster API, with the cluster running on a worker thread. Use it when the
 * peer is the official `aerospike` client, whose connect blocks the calling thread's event loop (an
 * in-thread cluster could not answer the seed requests).
 *
 *   const cluster = await RemoteTestCluster.start({ nodes: 3 });
 *   const client = await Aerospike.connect({ hosts: cluster.hosts });
 *   await cluster.stopNode(2);
 *   await cluster.stop();
 */
import { Worker } from 'node:worker_threads';
import type { TestClusterOptions } from './cluster.js';
import type { HostRequest, HostResponse } from './cluster-host.js';
import type { FaultRuleOptions } from './faults.js';

export interface RemoteNodeInfo {
  host: string;
  port: number;
  nodeId: string;
  running: boolean;
}

export interface RemoteRecord {
  digest: Uint8Array;
  set: string;
  key: { particleType: number; value: Uint8Array } | null;
  generation: number;
  voidTime: number;
  bins: [string, { particleType: number; value: Uint8Array }][];
}

export interface RemoteNodeStats {
  connectionsOpened: number;
  connectionsClosed: number;
  singleWrites: number;
  singleReads: number;
  singleDeletes: number;
  batchRequests: number;
  batchWriteRows: number;
  batchReadRows: number;
  recordsPerBatch: [number, number][];
  infoRequests: number;
  infoCommands: number;
  adminMessages: number;
  logins: number;
  refused: number;
  proxiedOut: number;
  proxiedIn: number;
  resultCodes: [number, number][];
}

export class RemoteTestCluster {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  nodes: RemoteNodeInfo[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: HostResponse) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
    worker.on('error', (error) => {
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
    worker.on('exit', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('cluster worker exited'));
      this.pending.clear();
    });
  }

  static async start(options: Omit<TestClusterOptions, 'tls'> & { tls?: TestClusterOptions['tls'] & object } = {}): Promise<RemoteTestCluster> {
    if (typeof options.tls === 'function') throw new TypeError('RemoteTestCluster takes tls as an object or an array');
    const worker = new Worker(new URL('./cluster-host.js', import.meta.url), { workerData: options });
    const cluster = new RemoteTestCluster(worker);
    const ready = new Promise<unknown>((resolve, reject) => cluster.pending.set(0, { resolve, reject }));
    try {
      cluster.nodes = (await ready) as RemoteNodeInfo[];
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return cluster;
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies HostRequest);
    });
  }

  get seeds(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  /** Seeds in the official client's `hosts` form. */
  get hosts(): { addr: string; port: number }[] {
    return this.nodes.map((n) => ({ addr: n.host, port: n.port }));
  }

  /** The in-thread cluster's node(i) shape: stop, restart, dropConnections. */
  node(index: number): { stop(): Promise<void>; restart(): Promise<void>; dropConnections(): Promise<number> } {
    return {
      stop: () => this.stopNode(index),
      restart: () => this.restartNode(index),
      dropConnections: () => this.dropConnections(index),
    };
  }

  async stopNode(index: number): Promise<void> {
    this.nodes = await this.call<RemoteNodeInfo[]>('stopNode', index);
  }

  async restartNode(index: number): Promise<void> {
    this.nodes = await this.call<RemoteNodeInfo[]>('restartNode', index);
  }

  dropConnections(index: number): Promise<number> {
    return this.call('dropConnections', index);
  }

  failCommands(resultCode: number, options?: FaultRuleOptions): Promise<number> {
    return this.call('failCommands', resultCode, options);
  }

  failWrites(resultCode: number, options?: FaultRuleOptions): Promise<number> {
    return this.call('failWrites', resultCode, options);
  }

  addLatency(latencyMs: number, options?: FaultRuleOptions): Promise<number> {
    return this.call('addLatency', latencyMs, options);
  }

  hang(options?: FaultRuleOptions): Promise<number> {
    return this.call('hang', options);
  }

  dropOnCommand(options?: FaultRuleOptions): Promise<number> {
    return this.call('dropOnCommand', options);
  }

  faultFired(id: number): Promise<number> {
    return this.call('faultFired', id);
  }

  removeFault(id: number): Promise<void> {
    return this.call('removeFault', id);
  }

  clearFaults(): Promise<void> {
    return this.call('clearFaults');
  }

  movePartitions(namespace: string, partitions: number[] | { count: number; from?: number }, to: number): Promise<number[]> {
    return this.call('movePartitions', namespace, partitions, to);
  }

  records(namespace: string, set?: string): Promise<RemoteRecord[]> {
    return this.call('records', namespace, set);
  }

  stats(): Promise<RemoteNodeStats[]> {
    return this.call('stats');
  }

  resetStats(): Promise<void> {
    return this.call('resetStats');
  }

  masterOf(namespace: string, digest: Uint8Array): Promise<number | undefined> {
    return this.call('masterOf', namespace, digest);
  }

  partitionGeneration(): Promise<number> {
    return this.call('partitionGeneration');
  }

  metadata(): Promise<{ sindexes: { name: string; def: Record<string, unknown> }[]; udfs: { filename: string; content64: string }[] }> {
    return this.call('metadata');
  }

  async stop(): Promise<void> {
    try {
      await this.call('stop');
    } finally {
      await this.worker.terminate();
    }
  }
}
