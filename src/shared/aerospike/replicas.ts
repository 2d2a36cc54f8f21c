/**
 * The `replicas` info answer (C client as_partition.c as_partition_tables_update_all):
 *   <ns>:<regime>,<replica count>,<base64 bitmap of replica 0>[,<bitmap of replica 1>...];<ns>:...
 * Partition i is bit 0x80 >> (i & 7) of byte i >> 3. Writes go to the master, so only the
 * replica-0 bitmap is kept; the others are checked for length.
 */
import { AerospikeError, ClientErrorCode } from './client-errors.js';

export const PARTITION_COUNT = 4096;
/** The longest namespace name the server allows is 31 bytes. */
export const NAMESPACE_NAME_MAX = 31;

export interface NamespaceReplicas {
  namespace: string;
  /** Strong-consistency regime; 0 in AP namespaces. A map from a lower regime than known is stale. */
  regime: number;
  replicaCount: number;
  /** PARTITION_COUNT / 8 bytes: the partitions this node is master of. */
  master: Uint8Array;
}

function invalid(why: string): AerospikeError {
  return new AerospikeError(ClientErrorCode.PROTOCOL, `invalid replicas answer: ${why}`);
}

export function parseReplicas(value: string, partitionCount = PARTITION_COUNT): NamespaceReplicas[] {
  const bitmapBytes = partitionCount >>> 3;
  const expectedLength = Math.ceil(bitmapBytes / 3) * 4;
  const out: NamespaceReplicas[] = [];
  for (const entry of value.split(';')) {
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    if (colon <= 0) throw invalid(`entry "${entry.slice(0, 40)}" has no namespace`);
    const namespace = entry.slice(0, colon);
    if (Buffer.byteLength(namespace) > NAMESPACE_NAME_MAX) throw invalid(`namespace "${namespace}" is too long`);
    const parts = entry.slice(colon + 1).split(',');
    if (parts.length < 3) throw invalid(`namespace ${namespace} has no regime, replica count and bitmaps`);
    if (!/^\d+$/.test(parts[0]) || !/^\d+$/.test(parts[1])) throw invalid(`namespace ${namespace}: bad regime or replica count`);
    const regime = Number(parts[0]);
    const replicaCount = Number(parts[1]);
    if (replicaCount < 1 || replicaCount > 255) throw invalid(`namespace ${namespace}: replica count ${replicaCount}`);
    if (parts.length !== 2 + replicaCount) {
      throw invalid(`namespace ${namespace}: ${parts.length - 2} bitmaps for ${replicaCount} replicas`);
    }
    for (let r = 0; r < replicaCount; r++) {
      if (parts[2 + r].length !== expectedLength) {
        throw invalid(`namespace ${namespace}: bitmap of ${parts[2 + r].length} characters, expected ${expectedLength}`);
      }
    }
    const master = Buffer.from(parts[2], 'base64');
    if (master.length !== bitmapBytes) throw invalid(`namespace ${namespace}: bitmap decodes to ${master.length} bytes`);
    out.push({ namespace, regime, replicaCount, master });
  }
  return out;
}

/** Whether partition `partition` is set in `bitmap`. */
export function hasPartition(bitmap: Uint8Array, partition: number): boolean {
  return (bitmap[partition >>> 3] & (0x80 >>> (partition & 7))) !== 0;
}

/** The partition a digest belongs to: its first two bytes, little-endian, modulo 4096. */
export function partitionOf(digest: Uint8Array): number {
  return partitionAt(digest, 0);
}

/** {@link partitionOf} of the digest at `offset` of `bytes`. */
export function partitionAt(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8)) & (PARTITION_COUNT - 1);
}
