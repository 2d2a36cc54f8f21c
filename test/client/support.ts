/** Helpers shared by the client-layer tests. */
import type { AsbBin, AsbKey, AsbRecord } from '../../src/shared/asb/types.js';
import { CITRUSLEAF_EPOCH, ParticleType, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import { computeDigest } from '../cluster/cluster.js';

export function seedList(seeds: readonly { host: string; port: number }[]): string {
  return seeds.map((seed) => `${seed.host}:${seed.port}`).join(',');
}

export function bin(name: string, type: AsbBin['type'], value: AsbBin['value']): AsbBin {
  return { name: Buffer.from(name), type, value };
}

const namespaces = new Map<string, Buffer>();
const sets = new Map<string, Buffer>();

/** A record keyed by (set, string key) as a client would address it; the key is sent unless `sendKey` is false. */
export function makeRecord(
  namespace: string,
  set: string,
  key: string | number,
  bins: AsbBin[],
  options: { sendKey?: boolean; generation?: number; voidTime?: number; line?: number } = {},
): AsbRecord {
  let ns = namespaces.get(namespace);
  if (ns === undefined) namespaces.set(namespace, (ns = Buffer.from(namespace)));
  let setBytes = sets.get(set);
  if (setBytes === undefined) sets.set(set, (setBytes = Buffer.from(set)));
  const asbKey: AsbKey =
    typeof key === 'number' ? { type: ParticleType.INTEGER, value: key } : { type: ParticleType.STRING, value: Buffer.from(key) };
  return {
    namespace: ns,
    set: set === '' ? null : setBytes,
    digest: computeDigest(set, key),
    key: options.sendKey === false ? null : asbKey,
    generation: options.generation ?? 1,
    voidTime: options.voidTime ?? 0,
    bins,
    line: options.line ?? 1,
  };
}

/** asrestore's TTL for a record: seconds left until its void time, or never. */
export function ttlFor(record: AsbRecord, nowMs = Date.now()): number {
  if (record.voidTime === 0) return TTL_NEVER_EXPIRE;
  return record.voidTime - Math.floor(nowMs / 1000 - CITRUSLEAF_EPOCH);
}

export function nowCitrusleaf(): number {
  return Math.floor(Date.now() / 1000) - CITRUSLEAF_EPOCH;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
