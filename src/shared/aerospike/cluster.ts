/**
 * The cluster tender (main thread): seeds, node discovery from peers, partition maps, periodic
 * re-tend, and the routing table it publishes in a SharedArrayBuffer for worker threads. The tend
 * algorithm follows the C client (as_cluster.c as_cluster_tend / as_cluster_seed_node /
 * as_cluster_find_nodes_to_remove, as_node.c as_node_refresh*, as_peers.c), sending the same info
 * commands a C-based client sends (NOTES §3).
 */
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import { DEFAULT_PORT, formatAddress, parseHostList, type HostAddress } from './host-list.js';
import { ClusterNode, compareVersions, probeNode, type NodeContext, type ProbedNode } from './node.js';
import { parsePeers, type PeersAnswer } from './peers.js';
import { parseReplicas } from './replicas.js';
import { PartitionMap } from './partition-map.js';
import { NodeState, RoutingTable, type RoutingTableCapacity } from './routing-table.js';
import { SessionManager, type PreparedAuth, type Session } from './auth.js';
import { TlsConnector, type ResolvedTls } from './tls-options.js';
import { parseInfoError } from './info-codec.js';

export type LogLevel = 'debug' | 'info' | 'warn';

export interface ClusterOptions {
  /** `HOST[:TLSNAME][:PORT],...` (asrestore --host) or parsed addresses. */
  hosts: string | readonly HostAddress[];
  /** Port for hosts given without one (asrestore --port). Default 3000. */
  port?: number;
  /** From prepareAuth (auth.ts); absent without --user (and not PKI). Never logged. */
  auth?: PreparedAuth;
  /** From resolveTlsSettings (tls-options.ts); absent without --tls-enable. */
  tls?: ResolvedTls;
  /** --services-alternate: use the nodes' alternate addresses (peers-*-alt). */
  servicesAlternate?: boolean;
  /** When set, every node must report this cluster-name. */
  clusterName?: string;
  /** Connect / info timeout, asrestore --timeout. Default 10000 ms. */
  timeoutMs?: number;
  /** Re-tend period. Default 1000 ms. */
  tendIntervalMs?: number;
  /** Namespaces that must exist; Cluster.connect fails with NAMESPACE_NOT_FOUND otherwise. */
  requiredNamespaces?: readonly string[];
  routingCapacity?: RoutingTableCapacity;
  /** Identifies this client in the server's logs (user-agent-set). */
  clientName?: string;
  log?: (level: LogLevel, message: string) => void;
}

export interface NodeDescription {
  name: string;
  host: string;
  port: number;
  tlsName: string | null;
  build: string;
  /** The node's slot in the routing table. */
  slot: number;
}

/** What a worker needs to write through the cluster: plain data, safe to post to a thread. */
export interface SharedClusterSettings {
  routing: SharedArrayBuffer;
  auth?: PreparedAuth;
  tls?: ResolvedTls;
  /** asrestore --timeout, used as the connect timeout. */
  connectTimeoutMs: number;
}

const CLIENT_VERSION = '0.1.0';

export class Cluster {
  readonly routingTable: RoutingTable;
  private readonly context: NodeContext;
  private readonly seeds: HostAddress[];
  private readonly tendIntervalMs: number;
  private readonly log: (level: LogLevel, message: string) => void;
  private nodeList: ClusterNode[] = [];
  private readonly partitions = new PartitionMap();
  /** Slot → name of the node that last used it. */
  private readonly slotNames: string[] = [];
  private readonly freedSlots = new Set<number>();
  private readonly publishedSessions = new Map<string, Session | null | undefined>();
  private topologyChanged = true;
  private readonly removedSlots: number[] = [];
  private readonly incarnationSlots = new Set<number>();
  private lastLoginRequests = 0;
  private tending: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(private readonly options: ClusterOptions) {
    this.seeds = typeof options.hosts === 'string' ? parseHostList(options.hosts, options.port ?? DEFAULT_PORT) : [...options.hosts];
    if (this.seeds.length === 0) throw new AerospikeError(ClientErrorCode.INVALID_HOST, 'no seed host given');
    this.tendIntervalMs = options.tendIntervalMs ?? 1000;
    this.log = options.log ?? (() => undefined);
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.context = {
      connect: { tls: options.tls ? new TlsConnector(options.tls) : null, log: (message) => this.log('info', message) },
      timeoutMs,
      sessions: options.auth ? new SessionManager(options.auth) : null,
      auth: options.auth ?? null,
      clusterName: options.clusterName ?? null,
      servicesAlternate: options.servicesAlternate ?? false,
      userAgent: `1,${options.clientName ?? `asrestore-ts-${CLIENT_VERSION}`},not-set`,
      log: this.log,
    };
    this.routingTable = RoutingTable.create(options.routingCapacity);
  }

  /**
   * Seeds the cluster, discovers its nodes and partition maps, then keeps tending it. Fails with
   * SEED_UNREACHABLE (no seed answered within the timeout), CLUSTER_NAME_MISMATCH, AUTH, TLS or
   * NAMESPACE_NOT_FOUND.
   */
  static async connect(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    try {
      await cluster.runTend(true);
      if (cluster.nodeList.length === 0) {
        throw new AerospikeError(ClientErrorCode.SEED_UNREACHABLE, 'the cluster seed(s) failed');
      }
      for (const namespace of options.requiredNamespaces ?? []) cluster.requireNamespace(namespace);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    cluster.schedule();
    return cluster;
  }

  get nodes(): NodeDescription[] {
    return this.nodeList.map((node) => ({
      name: node.name,
      host: node.address.host,
      port: node.address.port,
      tlsName: node.address.tlsName ?? (this.options.tls ? (this.options.tls.defaultTlsName ?? null) : null),
      build: node.build,
      slot: node.slot,
    }));
  }

  /** The lowest server build among the nodes (what feature checks must go by). */
  get serverVersion(): string {
    let lowest = '';
    for (const node of this.nodeList) if (lowest === '' || compareVersions(node.build, lowest) < 0) lowest = node.build;
    return lowest;
  }

  get namespaces(): string[] {
    return this.partitions.namespaces;
  }

  hasNamespace(namespace: string): boolean {
    return this.partitions.namespaces.includes(namespace);
  }

  /** Throws NAMESPACE_NOT_FOUND naming the namespaces the cluster has. */
  requireNamespace(namespace: string): void {
    if (this.hasNamespace(namespace)) return;
    const known = this.partitions.namespaces;
    throw new AerospikeError(
      ClientErrorCode.NAMESPACE_NOT_FOUND,
      `namespace '${namespace}' does not exist in the cluster (it has: ${known.length === 0 ? 'none' : known.join(', ')})`,
    );
  }

  get sharedSettings(): SharedClusterSettings {
    const settings: SharedClusterSettings = { routing: this.routingTable.buffer, connectTimeoutMs: this.context.timeoutMs };
    if (this.options.auth) settings.auth = this.options.auth;
    if (this.options.tls) settings.tls = this.options.tls;
    return settings;
  }

  /** Runs info commands on one node (by name; default: the first node). */
  async info(commands: readonly string[], nodeName?: string): Promise<Map<string, string>> {
    return this.nodeNamed(nodeName).info(commands);
  }

  /** Runs info commands on every node; answers in the order of `nodes`. */
  async infoAllNodes(commands: readonly string[]): Promise<Map<string, string>[]> {
    if (this.nodeList.length === 0) throw this.noNodesError();
    return Promise.all(this.nodeList.map((node) => node.info(commands)));
  }

  /** Tends now (after any running tend); resolves when the routing table reflects the cluster. */
  async tendNow(): Promise<void> {
    if (this.closed) throw this.closedError();
    while (this.tending !== null) await this.tending.catch(() => undefined);
    await this.runTend(false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.tending !== null) await this.tending.catch(() => undefined);
    for (const node of this.nodeList) node.close();
    this.nodeList = [];
    this.routingTable.markClosed();
  }

  // ---------------------------------------------------------------------------------------------

  private nodeNamed(name: string | undefined): ClusterNode {
    if (this.closed) throw this.closedError();
    if (this.nodeList.length === 0) throw this.noNodesError();
    if (name === undefined) return this.nodeList[0];
    const node = this.nodeList.find((candidate) => candidate.name === name);
    if (node === undefined) throw new AerospikeError(ClientErrorCode.NODE_NOT_FOUND, `node ${name} is not in the cluster`);
    return node;
  }

  private noNodesError(): AerospikeError {
    return new AerospikeError(ClientErrorCode.NODE_NOT_FOUND, 'the cluster has no reachable node');
  }

  private closedError(): AerospikeError {
    return new AerospikeError(ClientErrorCode.CLOSED, 'the cluster connection is closed');
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runTend(false)
        .catch((error: unknown) => this.log('warn', `tend failed: ${(error as Error).message}`))
        .finally(() => this.schedule());
    }, this.tendIntervalMs);
    this.timer.unref();
  }

  private runTend(isInit: boolean): Promise<void> {
    const run = this.tend(isInit).finally(() => {
      if (this.tending === run) this.tending = null;
    });
    this.tending = run;
    return run;
  }

  private peersCommand(): string {
    const kind = this.context.connect.tls !== null ? 'tls' : 'clear';
    return `peers-${kind}-${this.context.servicesAlternate ? 'alt' : 'std'}`;
  }

  private async readPeers(node: ClusterNode | ProbedNode): Promise<PeersAnswer> {
    const command = this.peersCommand();
    const answers =
      node instanceof ClusterNode
        ? await node.tendInfo([command])
        : await node.connection.info([command], this.context.timeoutMs, Date.now() + this.context.timeoutMs);
    const value = answers.get(command);
    const label = node instanceof ClusterNode ? node.label : formatAddress(node.address);
    if (value === undefined) throw new AerospikeError(ClientErrorCode.PROTOCOL, `node ${label} did not answer ${command}`, { node: label });
    const error = parseInfoError(value);
    if (error !== null) {
      throw new AerospikeError(ClientErrorCode.INFO, `node ${label} answered ${command} with ${value}`, { node: label, resultCode: error.code });
    }
    return parsePeers(value);
  }

  /** One tend cycle (as_cluster_tend). */
  private async tend(isInit: boolean): Promise<void> {
    if (this.closed) return;
    this.collectLoginRequests();
    const peersState = { refreshCount: 0, genChanged: false };
    for (const node of this.nodeList) {
      node.friends = 0;
      node.partitionChanged = false;
    }

    if (this.nodeList.length === 0) {
      await this.seed(isInit);
    } else {
      await Promise.all(this.nodeList.map((node) => this.refreshNode(node, peersState)));
      const added: ClusterNode[] = [];
      if (peersState.genChanged) {
        peersState.refreshCount = 0;
        for (const node of this.nodeList) {
          if (node.failures === 0 && node.active) await this.refreshPeers(node, peersState, added);
        }
        this.removeNodes(this.nodesToRemove(peersState.refreshCount));
      }
      if (added.length > 0) await this.addNodes(added, peersState);
    }

    // Partition maps (avoid the "split cluster" case: a node without peers that is not alone).
    const refreshOne = this.nodeList.length === 1 || peersState.refreshCount === 1;
    await Promise.all(
      this.nodeList
        .filter((node) => node.partitionChanged && node.failures === 0 && node.active && (node.peersCount > 0 || refreshOne))
        .map((node) => this.refreshPartitions(node)),
    );
    for (const node of this.nodeList) node.partitionRefCount = this.partitions.refCount(node.slot);
    this.publish();
  }

  private collectLoginRequests(): void {
    const count = this.routingTable.loginRequestCount;
    if (count === this.lastLoginRequests) return;
    this.lastLoginRequests = count;
    for (const node of this.nodeList) {
      if (node.slot >= 0 && this.routingTable.takeLoginRequest(node.slot)) node.loginRequested = true;
    }
  }

  /** as_cluster_seed_node: probe every seed at once, keep the first (in order) that has peers. */
  private async seed(isInit: boolean): Promise<void> {
    const deadline = Date.now() + this.context.timeoutMs;
    const attempts = await Promise.allSettled(
      this.seeds.map(async (seed) => {
        const probed = await probeNode(this.context, seed, { detectLoadBalancer: true }, deadline);
        try {
          return { probed, peers: await this.readPeers(probed) };
        } catch (error) {
          probed.connection.close();
          throw error;
        }
      }),
    );
    let pick = -1;
    for (let i = 0; i < attempts.length; i++) {
      const attempt = attempts[i];
      if (attempt.status !== 'fulfilled') continue;
      if (pick < 0 || (attempt.value.peers.peers.length > 0 && (attempts[pick] as PromiseFulfilledResult<{ peers: PeersAnswer }>).value.peers.peers.length === 0)) {
        pick = i;
      }
    }
    attempts.forEach((attempt, i) => {
      if (attempt.status === 'fulfilled' && i !== pick) attempt.value.probed.connection.close();
    });
    if (pick < 0) {
      const failures = attempts.map((attempt, i) => ({ seed: this.seeds[i], error: (attempt as PromiseRejectedResult).reason as unknown }));
      const error = seedFailure(failures, this.context.timeoutMs);
      if (isInit) throw error;
      this.log('warn', error.message);
      return;
    }
    const { probed, peers } = (attempts[pick] as PromiseFulfilledResult<{ probed: ProbedNode; peers: PeersAnswer }>).value;
    const seedNode = new ClusterNode(probed, this.context);
    seedNode.peersCount = peers.peers.length;
    this.addToCluster(seedNode);
    const peersState = { refreshCount: 1, genChanged: false };
    const added: ClusterNode[] = [];
    if (await this.applyPeers(peers, added)) seedNode.peersGeneration = peers.generation;
    if (added.length > 0) await this.addNodes(added, peersState);
  }

  /** Adds validated peers, then reads their own peers in turn (as_cluster_refresh_peers). */
  private async addNodes(added: ClusterNode[], peersState: { refreshCount: number; genChanged: boolean }): Promise<void> {
    let pending = added;
    while (pending.length > 0) {
      for (const node of pending) this.addToCluster(node);
      const next: ClusterNode[] = [];
      for (const node of pending) await this.refreshPeers(node, peersState, next);
      pending = next;
    }
  }

  private async refreshNode(node: ClusterNode, peersState: { refreshCount: number; genChanged: boolean }): Promise<void> {
    if (!node.active) return;
    try {
      const answers = await node.tendInfo(['node', 'peers-generation', 'partition-generation']);
      for (const [name, value] of answers) {
        if (value.startsWith('ERROR:')) {
          throw new AerospikeError(ClientErrorCode.INFO, `node ${node.label} answered "${name}" with ${value}`, { node: node.label });
        }
      }
      const name = answers.get('node');
      if (name !== node.name) {
        node.active = false;
        throw new AerospikeError(ClientErrorCode.NODE_NOT_FOUND, `node name has changed: old ${node.name}, new ${name ?? '(none)'}`, {
          node: node.label,
        });
      }
      const peersGeneration = Number(answers.get('peers-generation') ?? NaN);
      if (peersGeneration !== node.peersGeneration) {
        peersState.genChanged = true;
        if (node.peersGeneration > peersGeneration && node.peersGeneration !== -1) {
          this.log('info', `quick node restart detected: node ${node.label} peers generation ${node.peersGeneration} -> ${peersGeneration}`);
        }
      }
      const partitionGeneration = Number(answers.get('partition-generation') ?? NaN);
      if (partitionGeneration !== node.partitionGeneration) node.partitionChanged = true;
      peersState.refreshCount++;
      if (node.failures > 0) {
        peersState.genChanged = true;
        node.partitionChanged = true;
      }
      node.failures = 0;
    } catch (error) {
      this.log('info', `node ${node.label} refresh failed: ${(error as Error).message}`);
      peersState.genChanged = true;
      node.failures++;
    }
  }

  private async refreshPeers(node: ClusterNode, peersState: { refreshCount: number }, added: ClusterNode[]): Promise<void> {
    try {
      const peers = await this.readPeers(node);
      node.peersCount = peers.peers.length;
      if (await this.applyPeers(peers, added)) node.peersGeneration = peers.generation;
      peersState.refreshCount++;
    } catch (error) {
      this.log('warn', `node ${node.label} peers refresh failed: ${(error as Error).message}`);
      node.failures++;
    }
  }

  /**
   * as_peers_parse_peers / as_peers_find_node: counts friends, validates unknown peers into
   * `added`, replaces a failing node that a peer lists at another address. Returns whether every
   * peer is now known (only then is the peers generation taken as seen).
   */
  private async applyPeers(answer: PeersAnswer, added: ClusterNode[]): Promise<boolean> {
    let complete = true;
    for (const peer of answer.peers) {
      const existing = this.nodeList.find((node) => node.name === peer.nodeName);
      if (existing !== undefined) {
        const sameAddress = peer.hosts.some((host) => host.host === existing.address.host && host.port === existing.address.port);
        if (existing.failures === 0 || sameAddress || peer.hosts.length === 0) {
          existing.friends++;
          continue;
        }
      }
      const pending = added.find((node) => node.name === peer.nodeName);
      if (pending !== undefined) {
        pending.friends++;
        continue;
      }
      const validated = await this.validatePeer(peer.nodeName, peer.hosts);
      if (validated === null) {
        complete = false;
        continue;
      }
      if (existing !== undefined) {
        this.log('info', `replacing node ${existing.label} with ${validated.label}`);
        this.removeNodes([existing]);
      }
      validated.friends++;
      added.push(validated);
    }
    return complete;
  }

  private async validatePeer(name: string, hosts: readonly HostAddress[]): Promise<ClusterNode | null> {
    const deadline = Date.now() + this.context.timeoutMs;
    for (const host of hosts) {
      try {
        const probed = await probeNode(this.context, host, { detectLoadBalancer: false, expectedName: name }, deadline);
        return new ClusterNode(probed, this.context);
      } catch (error) {
        this.log('warn', `failed to connect to peer ${name} at ${formatAddress(host)}: ${(error as Error).message}`);
      }
    }
    return null;
  }

  /** as_cluster_find_nodes_to_remove. */
  private nodesToRemove(refreshCount: number): ClusterNode[] {
    const remove: ClusterNode[] = [];
    for (const node of this.nodeList) {
      if (!node.active) {
        remove.push(node);
      } else if (refreshCount === 0 && node.failures >= 5) {
        remove.push(node);
      } else if (this.nodeList.length > 1 && refreshCount >= 1 && node.friends === 0) {
        if (node.failures !== 0 || this.partitions.refCount(node.slot) === 0) remove.push(node);
      }
    }
    return remove;
  }

  private removeNodes(nodes: readonly ClusterNode[]): void {
    for (const node of nodes) {
      const at = this.nodeList.indexOf(node);
      if (at < 0) continue;
      this.nodeList.splice(at, 1);
      this.log('info', `removing node ${node.label}`);
      node.close();
      this.partitions.removeNode(node.slot);
      this.freedSlots.add(node.slot);
      this.removedSlots.push(node.slot);
      this.context.sessions?.forget(node.name);
      this.publishedSessions.delete(node.name);
      this.topologyChanged = true;
    }
  }

  private addToCluster(node: ClusterNode): void {
    node.slot = this.assignSlot(node.name);
    this.nodeList.push(node);
    this.incarnationSlots.add(node.slot);
    this.topologyChanged = true;
    this.log('info', `adding node ${node.label}`);
  }

  private assignSlot(name: string): number {
    const previous = this.slotNames.indexOf(name);
    if (previous >= 0 && this.freedSlots.has(previous)) {
      this.freedSlots.delete(previous);
      return previous;
    }
    if (this.slotNames.length < this.routingTable.maxNodes) {
      this.slotNames.push(name);
      return this.slotNames.length - 1;
    }
    for (const slot of this.freedSlots) {
      this.freedSlots.delete(slot);
      this.slotNames[slot] = name;
      return slot;
    }
    throw new AerospikeError(ClientErrorCode.PROTOCOL, `the cluster has more than ${this.routingTable.maxNodes} nodes`);
  }

  private async refreshPartitions(node: ClusterNode): Promise<void> {
    try {
      const answers = await node.tendInfo(['partition-generation', 'replicas']);
      const replicas = answers.get('replicas');
      const generation = answers.get('partition-generation');
      if (replicas === undefined || generation === undefined || replicas.startsWith('ERROR:')) {
        throw new AerospikeError(ClientErrorCode.PROTOCOL, `node ${node.label} sent no partition map`, { node: node.label });
      }
      const stale = this.partitions.apply(node.slot, parseReplicas(replicas), (displaced) => {
        const loser = this.nodeList.find((candidate) => candidate.slot === displaced);
        if (loser !== undefined) loser.partitionGeneration = -1;
      });
      if (stale > 0) this.log('info', `node ${node.label} sent a partition map from an older regime for ${stale} partitions`);
      node.partitionGeneration = Number(generation);
    } catch (error) {
      this.log('warn', `node ${node.label} partition refresh failed: ${(error as Error).message}`);
      node.failures++;
    }
  }

  /** Writes what changed into the routing table, in one update. */
  private publish(): void {
    const sessions = this.context.sessions;
    const sessionChanges: ClusterNode[] = [];
    if (sessions !== null) {
      for (const node of this.nodeList) {
        const current = sessions.session(node.name);
        if (!this.publishedSessions.has(node.name) || this.publishedSessions.get(node.name) !== current) sessionChanges.push(node);
      }
    }
    if (!this.topologyChanged && !this.partitions.changed && sessionChanges.length === 0) return;
    this.routingTable.update((writer) => {
      for (const slot of this.removedSlots.splice(0)) {
        if (!this.nodeList.some((node) => node.slot === slot)) writer.setNodeState(slot, NodeState.REMOVED);
      }
      if (this.topologyChanged) {
        for (const node of this.nodeList) {
          const newIncarnation = this.incarnationSlots.has(node.slot);
          writer.setNode(
            node.slot,
            { name: node.name, host: node.address.host, port: node.address.port, tlsName: node.address.tlsName, state: NodeState.ACTIVE },
            newIncarnation,
          );
        }
        this.incarnationSlots.clear();
      }
      for (const node of sessionChanges) {
        const session = sessions!.session(node.name);
        writer.setSession(node.slot, session === undefined ? undefined : session === null ? null : { token: session.token, expiresAtMs: session.expiresAtMs });
        this.publishedSessions.set(node.name, session);
      }
      this.partitions.publish(writer);
    });
    this.topologyChanged = false;
  }
}

/** The error for a failed seeding: the most specific shared cause, with every seed's reason. */
function seedFailure(failures: { seed: HostAddress; error: unknown }[], timeoutMs: number): AerospikeError {
  const typed = failures.map((failure) =>
    failure.error instanceof AerospikeError
      ? failure.error
      : new AerospikeError(ClientErrorCode.CONNECTION, String((failure.error as Error)?.message ?? failure.error)),
  );
  const details = failures.map((failure, i) => `${formatAddress(failure.seed)}: ${typed[i].message}`).join('; ');
  const specific = [ClientErrorCode.AUTH, ClientErrorCode.CLUSTER_NAME_MISMATCH, ClientErrorCode.TLS] as const;
  for (const code of specific) {
    const match = typed.find((error) => error.code === code);
    if (match !== undefined) {
      return new AerospikeError(code, `cannot connect to the cluster: ${details}`, { resultCode: match.resultCode, cause: match });
    }
  }
  return new AerospikeError(
    ClientErrorCode.SEED_UNREACHABLE,
    `cannot connect to any seed host within ${timeoutMs} ms: ${details}`,
    { cause: typed[0] },
  );
}
