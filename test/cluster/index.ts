/**
 * The test cluster's public API (test infrastructure: used by tests, benchmarks and scripts).
 * - TestCluster: nodes in this thread; for peers that never block the event loop.
 * - RemoteTestCluster: the same cluster on a worker thread; for the official `aerospike` client,
 *   whose connect blocks its thread.
 */
export { TestCluster, computeDigest, decodeParticle, defaultNodeId } from './cluster.js';
export type { TestClusterOptions, InspectedRecord, InspectedBin, NodeHandle } from './cluster.js';
export { RemoteTestCluster } from './remote-cluster.js';
export type { RemoteNodeInfo, RemoteRecord, RemoteNodeStats } from './remote-cluster.js';
export { FaultInjector, COMMAND_KINDS } from './faults.js';
export type { CommandKind, FaultHandle, FaultRuleOptions } from './faults.js';
export type { NodeStats, NodeTlsOptions } from './node.js';
export type { NamespaceConfig } from './store.js';
export { N_PARTITIONS, partitionId } from './store.js';
