/**
 * Which node owns which partition: for each partition, the live nodes ordered by a hash of (node id,
 * partition id) — a succession list like the server's, so that losing a node moves only its own
 * partitions. The first node is the master, the next ones replicas, up to the effective replication
 * factor (the configured one capped by the number of live nodes).
 */
import { N_PARTITIONS } from './store.js';

export interface MemberInfo {
  index: number;
  /** Hex node id as `node` answers it (upper case, no leading zeros). */
  nodeId: string;
  host: string;
  port: number;
  tlsName?: string;
  alive: boolean;
}

/** owners[pid] = node indexes, master first. */
export type PartitionOwners = number[][];

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function nodeSeed(nodeId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < nodeId.length; i++) h = Math.imul(h ^ nodeId.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function computeOwners(
  members: readonly MemberInfo[],
  replicationFactor: number,
  masterOverrides: ReadonlyMap<number, number> = new Map(),
): PartitionOwners {
  const live = members.filter((m) => m.alive);
  const seeds = live.map((m) => nodeSeed(m.nodeId));
  const effective = Math.min(Math.max(1, replicationFactor), live.length);
  const owners: PartitionOwners = new Array(N_PARTITIONS);
  const scores = new Array<number>(live.length);
  const order = live.map((_, i) => i);
  for (let pid = 0; pid < N_PARTITIONS; pid++) {
    for (let i = 0; i < live.length; i++) scores[i] = mix32(seeds[i] ^ Math.imul(pid + 1, 0x9e3779b1));
    order.sort((a, b) => scores[b] - scores[a] || a - b);
    let list = order.map((i) => live[i].index);
    const forced = masterOverrides.get(pid);
    if (forced !== undefined && list.includes(forced)) list = [forced, ...list.filter((n) => n !== forced)];
    owners[pid] = list.slice(0, effective);
  }
  return owners;
}

/** The base64 bitmap of the partitions where `nodeIndex` is at `replicaIndex` (0 = master). */
export function ownershipBitmap(owners: PartitionOwners, nodeIndex: number, replicaIndex: number): string {
  const bitmap = Buffer.alloc(N_PARTITIONS / 8);
  for (let pid = 0; pid < N_PARTITIONS; pid++) {
    if (owners[pid][replicaIndex] === nodeIndex) bitmap[pid >> 3] |= 0x80 >> (pid & 7);
  }
  return bitmap.toString('base64');
}
