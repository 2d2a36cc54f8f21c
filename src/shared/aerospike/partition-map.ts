/**
 * The tender's partition ownership (masters only: restores write to masters), merged from each
 * node's `replicas` answer as the C client does (as_partition.c decode_and_update): a node claims
 * the partitions set in its bitmap unless a higher regime is already known for them; a node that
 * loses a partition is told to re-read its own map on the next tend.
 */
import type { RoutingTableWriter } from './routing-table.js';
import { PARTITION_COUNT, hasPartition, type NamespaceReplicas } from './replicas.js';

interface NamespaceOwners {
  /** Node slot per partition, -1 = none. */
  owners: Int16Array;
  regimes: Uint32Array;
  replicaCount: number;
  strongConsistency: boolean;
}

export class PartitionMap {
  private readonly tables = new Map<string, NamespaceOwners>();
  /** Set by any change since the last publish. */
  changed = false;

  get namespaces(): string[] {
    return [...this.tables.keys()];
  }

  /**
   * Applies one node's replicas answer. `onDisplaced(slot)` is called for each node that lost a
   * partition to this one. Returns the regime conflicts seen (a map older than what is known).
   */
  apply(slot: number, answer: readonly NamespaceReplicas[], onDisplaced: (slot: number) => void): number {
    let staleRegimes = 0;
    for (const entry of answer) {
      let table = this.tables.get(entry.namespace);
      if (table === undefined) {
        table = {
          owners: new Int16Array(PARTITION_COUNT).fill(-1),
          regimes: new Uint32Array(PARTITION_COUNT),
          replicaCount: entry.replicaCount,
          strongConsistency: entry.regime !== 0,
        };
        this.tables.set(entry.namespace, table);
        this.changed = true;
      }
      if (table.replicaCount !== entry.replicaCount) {
        table.replicaCount = entry.replicaCount;
        this.changed = true;
      }
      const { owners, regimes } = table;
      for (let partition = 0; partition < PARTITION_COUNT; partition++) {
        if (!hasPartition(entry.master, partition)) continue;
        if (entry.regime < regimes[partition]) {
          staleRegimes++;
          continue;
        }
        regimes[partition] = entry.regime;
        const previous = owners[partition];
        if (previous !== slot) {
          owners[partition] = slot;
          this.changed = true;
          if (previous >= 0) onDisplaced(previous);
        }
      }
    }
    return staleRegimes;
  }

  /** Forgets a removed node's partitions (no live owner until another node claims them). */
  removeNode(slot: number): void {
    for (const table of this.tables.values()) {
      const owners = table.owners;
      for (let partition = 0; partition < PARTITION_COUNT; partition++) {
        if (owners[partition] === slot) {
          owners[partition] = -1;
          this.changed = true;
        }
      }
    }
  }

  /** Partitions, over all namespaces, whose master is `slot`. */
  refCount(slot: number): number {
    let count = 0;
    for (const table of this.tables.values()) {
      const owners = table.owners;
      for (let partition = 0; partition < PARTITION_COUNT; partition++) if (owners[partition] === slot) count++;
    }
    return count;
  }

  /** The master's slot of a partition, or -1. */
  owner(namespace: string, partition: number): number {
    return this.tables.get(namespace)?.owners[partition] ?? -1;
  }

  /** Writes every namespace into the routing table (owners as slot + 1, 0 = none). */
  publish(writer: RoutingTableWriter): void {
    const encoded = new Uint16Array(PARTITION_COUNT);
    for (const [namespace, table] of this.tables) {
      const index = writer.namespaceIndex(namespace, table.replicaCount, table.strongConsistency);
      for (let partition = 0; partition < PARTITION_COUNT; partition++) encoded[partition] = table.owners[partition] + 1;
      writer.setOwners(index, encoded);
    }
    this.changed = false;
  }
}
