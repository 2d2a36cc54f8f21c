/**
 * TestCluster: an in-memory Aerospike cluster of N nodes in this process, for tests.
 *
 *   const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'test', replicationFactor: 2 }] });
 *   cluster.seeds;                      // [{ host, port }, ...]
 *   await cluster.node(1).stop();       // the node dies; its partitions move to the others
 *   await cluster.node(1).restart();    // it comes back on the same port; data migrates back
 *   cluster.faults.failWrites(14, { fraction: 0.1 });
 *   cluster.records('test', 'set');     // what is stored
 *   cluster.stats();                    // per-node counters
 *   await cluster.stop();
 */
import { createHash, randomBytes } from 'node:crypto';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { FaultInjector } from './faults.js';
import { DEFAULT_BUILD } from './info.js';
import { ClusterMetadata } from './metadata.js';
import { ClusterNode, type ClusterRuntime, type NodeStats, type NodeTlsOptions } from './node.js';
import { computeOwners, type MemberInfo, type PartitionOwners } from './partition-map.js';
import type { RecordOutcome, RecordRequest } from './record-ops.js';
import {
  encodedGeneration,
  encodedLastUpdate,
  N_PARTITIONS,
  partitionId,
  resolveNamespace,
  type NamespaceConfig,
  type ResolvedNamespaceConfig,
  type StoredRecord,
} from './store.js';
import type { ClusterUser, SecurityRealm } from './security.js';

export interface TestClusterOptions {
  /** Number of nodes (default 1). */
  nodes?: number;
  /** Default: one namespace `test` with replication factor 1. */
  namespaces?: NamespaceConfig[];
  clusterName?: string;
  host?: string;
  /** 0 (default) = ephemeral ports; otherwise node i listens on port + i. */
  port?: number;
  /** The `build` answer (default 8.1.2.0); clients use batch writes from 6.0 on. */
  build?: string;
  /** Default: Community Edition, or Enterprise Edition when users or TLS are configured. */
  edition?: string;
  /** Enables security: connections must log in (or authenticate with a session token). */
  users?: ClusterUser[];
  sessionTtlSeconds?: number;
  /** Users that log in with their client certificate's name (PKI), on TLS with requestCert. */
  pkiUsers?: string[];
  /** TLS on every node's listener; an array or a function gives each node its own certificate. */
  tls?: NodeTlsOptions | NodeTlsOptions[] | ((nodeIndex: number) => NodeTlsOptions);
  /** What a node does with a record whose partition it does not own (default 'proxy', as an AP server). */
  nonOwnerPolicy?: 'proxy' | 'unavailable';
  /** get-config batch-index-threads (default 2); 0 makes asrestore use single-record writes. */
  batchIndexThreads?: number;
  /**
   * Answer every record write OK without storing it (a benchmark peer that costs its client as
   * little as a server can; reads find nothing).
   */
  discardWrites?: boolean;
  /** Node ids (hex); default BB9<n>... */
  nodeIds?: string[];
}

export interface InspectedBin {
  particleType: number;
  /** The stored particle bytes (for GeoJSON: flags, cells and JSON as a read returns them). */
  value: Buffer;
}

export interface InspectedRecord {
  digest: Buffer;
  set: string;
  key: { particleType: number; value: Buffer } | null;
  generation: number;
  /** Seconds since 2010-01-01; 0 = never expires. */
  voidTime: number;
  bins: Map<string, InspectedBin>;
}

export interface NodeHandle {
  readonly index: number;
  readonly nodeId: string;
  readonly host: string;
  readonly port: number;
  readonly running: boolean;
  readonly stats: NodeStats;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Closes every client connection of the node now. */
  dropConnections(): number;
}

export function defaultNodeId(index: number): string {
  return `BB9${(index + 1).toString(16).toUpperCase().padStart(2, '0')}0000000FC02`;
}

/** The record digest a client computes: RIPEMD-160 over set name, key particle type and key bytes. */
export function computeDigest(set: string, key: string | number | bigint | Buffer): Buffer {
  let type: number;
  let bytes: Buffer;
  if (typeof key === 'string') {
    type = ParticleType.STRING;
    bytes = Buffer.from(key, 'utf8');
  } else if (Buffer.isBuffer(key)) {
    type = ParticleType.BLOB;
    bytes = key;
  } else {
    type = ParticleType.INTEGER;
    bytes = Buffer.alloc(8);
    bytes.writeBigInt64BE(BigInt(key));
  }
  return createHash('ripemd160').update(Buffer.from(set, 'utf8')).update(Buffer.from([type])).update(bytes).digest();
}

/** A stored particle as a JS value: integers as bigint, floats as number, strings, booleans, else bytes. */
export function decodeParticle(bin: InspectedBin): bigint | number | string | boolean | Buffer | null {
  switch (bin.particleType) {
    case ParticleType.NULL: return null;
    case ParticleType.INTEGER: return bin.value.readBigInt64BE(0);
    case ParticleType.FLOAT: return bin.value.readDoubleBE(0);
    case ParticleType.STRING: return bin.value.toString('utf8');
    case ParticleType.BOOL: return bin.value[0] === 1;
    default: return bin.value;
  }
}

function randomClusterKey(): string {
  return randomBytes(6).toString('hex').toUpperCase();
}

/** Migration conflict resolution (generation, then last-update time), on encoded records. */
function newer(a: Buffer, b: Buffer): Buffer {
  const ga = encodedGeneration(a);
  const gb = encodedGeneration(b);
  if (ga !== gb) return ga > gb ? a : b;
  return encodedLastUpdate(a) >= encodedLastUpdate(b) ? a : b;
}

export class TestCluster implements ClusterRuntime {
  readonly faults = new FaultInjector();
  readonly metadata = new ClusterMetadata();
  readonly namespaces: ResolvedNamespaceConfig[];
  readonly clusterName: string;
  readonly build: string;
  readonly edition: string;
  readonly nonOwnerPolicy: 'proxy' | 'unavailable';
  /** The security realm when users are configured (expireSessions, failNextLogin, counters). */
  security: SecurityRealm | null = null;
  members: MemberInfo[] = [];
  clusterKey = randomClusterKey();
  clusterGeneration = 1;
  partitionGeneration = 1;
  peersGeneration = 1;
  private readonly nodes: ClusterNode[] = [];
  private ownersByNamespace = new Map<string, PartitionOwners>();
  private readonly masterOverrides = new Map<string, Map<number, number>>();

  private constructor(private readonly options: TestClusterOptions) {
    const namespaces = options.namespaces ?? [{ name: 'test' }];
    this.namespaces = namespaces.map(resolveNamespace);
    this.clusterName = options.clusterName ?? 'asrestore-test';
    this.build = options.build ?? DEFAULT_BUILD;
    const secured = (options.users?.length ?? 0) > 0 || options.tls !== undefined;
    this.edition = options.edition ?? (secured ? 'Aerospike Enterprise Edition' : 'Aerospike Community Edition');
    this.nonOwnerPolicy = options.nonOwnerPolicy ?? 'proxy';
  }

  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const cluster = new TestCluster(options);
    await cluster.init();
    return cluster;
  }

  private async init(): Promise<void> {
    const count = this.options.nodes ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`nodes must be a positive integer, got ${count}`);
    if ((this.options.users?.length ?? 0) > 0 || (this.options.pkiUsers?.length ?? 0) > 0) {
      // Loaded only when needed: the realm depends on the client layer's admin codec.
      const { SecurityRealm } = await import('./security.js');
      this.security = new SecurityRealm(this.options.users ?? [], {
        sessionTtlSeconds: this.options.sessionTtlSeconds,
        pkiUsers: this.options.pkiUsers,
      });
    }
    const host = this.options.host ?? '127.0.0.1';
    for (let i = 0; i < count; i++) {
      const tlsOption = this.options.tls;
      const tlsOptions = typeof tlsOption === 'function' ? tlsOption(i) : Array.isArray(tlsOption) ? tlsOption[i] : tlsOption;
      const nodeId = this.options.nodeIds?.[i] ?? defaultNodeId(i);
      this.members.push({ index: i, nodeId, host, port: 0, alive: false });
      this.nodes.push(
        new ClusterNode(this, {
          index: i,
          nodeId,
          host,
          port: this.options.port ? this.options.port + i : 0,
          tls: tlsOptions,
          batchIndexThreads: this.options.batchIndexThreads,
          discardWrites: this.options.discardWrites,
        }),
      );
    }
    try {
      for (const node of this.nodes) {
        await node.start();
        this.members[node.index] = { ...this.members[node.index], port: node.port, tlsName: node.tlsName, alive: true };
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.rebalance(true);
  }

  // ---- ClusterRuntime ---------------------------------------------------------------------

  owners(namespace: string): PartitionOwners {
    return this.ownersByNamespace.get(namespace) ?? [];
  }

  proxy(target: number, namespace: string, request: RecordRequest): RecordOutcome {
    return this.nodes[target].executeProxied(namespace, request);
  }

  replicate(target: number, namespace: string, digest: Buffer, change: Buffer | 'deleted'): void {
    this.nodes[target].applyReplica(namespace, digest, change);
  }

  truncate(namespace: string, set: string | undefined): boolean {
    if (!this.namespaces.some((n) => n.name === namespace)) return false;
    for (const node of this.nodes) node.stores.get(namespace)?.clear(set);
    return true;
  }

  // ---- membership and partitions ----------------------------------------------------------

  /**
   * Recomputes ownership; partitions whose owners changed migrate: the new owners get the merged
   * copies of every live holder (per record the higher generation, then the later update wins),
   * and live nodes that no longer own a partition drop it. A stopped node keeps its data.
   */
  private rebalance(initial = false): void {
    for (const ns of this.namespaces) {
      const before = this.ownersByNamespace.get(ns.name);
      const after = computeOwners(this.members, ns.replicationFactor, this.masterOverrides.get(ns.name));
      this.ownersByNamespace.set(ns.name, after);
      if (initial || !before) continue;
      for (let pid = 0; pid < N_PARTITIONS; pid++) {
        const was = before[pid] ?? [];
        const now = after[pid];
        if (was.length === now.length && was.every((n, i) => n === now[i])) continue;
        const merged = new Map<string, Buffer>();
        for (const node of this.nodes) {
          if (!node.isRunning) continue;
          const part = node.stores.get(ns.name)?.partition(pid);
          if (!part) continue;
          for (const [key, record] of part) {
            const existing = merged.get(key);
            merged.set(key, existing ? newer(existing, record) : record);
          }
        }
        for (const node of this.nodes) {
          if (!node.isRunning) continue;
          const store = node.stores.get(ns.name)!;
          if (now.includes(node.index)) store.setPartition(pid, new Map(merged));
          else store.dropPartition(pid);
        }
      }
    }
    if (!initial) {
      this.partitionGeneration++;
      this.clusterGeneration++;
    }
  }

  private membershipChanged(): void {
    this.peersGeneration++;
    this.clusterKey = randomClusterKey();
    this.rebalance();
  }

  /**
   * Moves the mastership of partitions to node `to` (data migrates, the partition generation is
   * bumped). The old master then proxies commands sent to it with a stale map (or answers rc 11
   * with nonOwnerPolicy 'unavailable'). Returns the moved partition ids.
   */
  movePartitions(namespace: string, partitions: number[] | { count: number; from?: number }, to: number): number[] {
    const owners = this.owners(namespace);
    if (owners.length === 0) throw new Error(`unknown namespace ${namespace}`);
    if (!this.members[to]?.alive) throw new Error(`node ${to} is not running`);
    let pids: number[];
    if (Array.isArray(partitions)) {
      pids = partitions;
    } else {
      pids = [];
      for (let pid = 0; pid < N_PARTITIONS && pids.length < partitions.count; pid++) {
        const master = owners[pid][0];
        if (master !== to && (partitions.from === undefined || master === partitions.from)) pids.push(pid);
      }
    }
    let overrides = this.masterOverrides.get(namespace);
    if (!overrides) {
      overrides = new Map();
      this.masterOverrides.set(namespace, overrides);
    }
    for (const pid of pids) overrides.set(pid, to);
    this.rebalance();
    return pids;
  }

  // ---- public API -------------------------------------------------------------------------

  get seeds(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  get size(): number {
    return this.nodes.length;
  }

  node(index: number): NodeHandle {
    const node = this.nodes[index];
    if (!node) throw new RangeError(`no node ${index} (cluster has ${this.nodes.length})`);
    const cluster = this;
    return {
      index,
      nodeId: node.nodeId,
      host: node.host,
      get port() {
        return node.port;
      },
      get running() {
        return node.isRunning;
      },
      get stats() {
        return node.stats;
      },
      async stop() {
        if (!node.isRunning) return;
        await node.stop();
        cluster.members[index] = { ...cluster.members[index], alive: false };
        cluster.membershipChanged();
      },
      async restart() {
        if (node.isRunning) return;
        await node.start();
        cluster.members[index] = { ...cluster.members[index], port: node.port, alive: true };
        cluster.membershipChanged();
      },
      dropConnections() {
        return node.dropAllConnections();
      },
    };
  }

  /** The master copy of every live record of a namespace (and set, if given). */
  records(namespace: string, set?: string): InspectedRecord[] {
    const owners = this.owners(namespace);
    if (owners.length === 0) throw new Error(`unknown namespace ${namespace}`);
    const out: InspectedRecord[] = [];
    const now = Date.now();
    for (let pid = 0; pid < N_PARTITIONS; pid++) {
      const master = owners[pid][0];
      const store = master === undefined ? undefined : this.nodes[master].stores.get(namespace);
      const part = store?.partition(pid);
      if (!part) continue;
      for (const key of part.keys()) {
        const record = store!.get(Buffer.from(key, 'latin1'), now);
        if (!record || (set !== undefined && record.setName !== set)) continue;
        out.push(inspect(record));
      }
    }
    return out;
  }

  /** One record by digest (or by set and user key), from its master; undefined if absent. */
  record(namespace: string, digestOrSet: Buffer | string, key?: string | number | bigint | Buffer): InspectedRecord | undefined {
    const digest = Buffer.isBuffer(digestOrSet) ? digestOrSet : computeDigest(digestOrSet, key!);
    const master = this.owners(namespace)[partitionId(digest)]?.[0];
    if (master === undefined) return undefined;
    const record = this.nodes[master].stores.get(namespace)?.get(digest);
    return record ? inspect(record) : undefined;
  }

  /** The node index that masters a digest's partition. */
  masterOf(namespace: string, digest: Buffer): number | undefined {
    return this.owners(namespace)[partitionId(digest)]?.[0];
  }

  stats(): NodeStats[] {
    return this.nodes.map((n) => n.stats);
  }

  resetStats(): void {
    for (const node of this.nodes) node.resetStats();
  }

  async stop(): Promise<void> {
    this.faults.clear();
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

function inspect(record: StoredRecord): InspectedRecord {
  const bins = new Map<string, InspectedBin>();
  for (const bin of record.bins) bins.set(bin.name.toString('utf8'), { particleType: bin.particleType, value: bin.value });
  return {
    digest: record.digest,
    set: record.setName,
    key: record.key,
    generation: record.generation,
    voidTime: record.voidTime,
    bins,
  };
}
