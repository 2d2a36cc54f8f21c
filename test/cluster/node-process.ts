/**
 * One test-cluster node in its own process (forked by scripts/test-cluster.ts --processes and by the
 * cluster benchmark), so that the node does not share a CPU core with the load it serves.
 *
 * The parent speaks to it over the fork IPC channel:
 *   parent -> { type: 'init', index, nodeIds, options }      child -> { type: 'listening', port }
 *   parent -> { type: 'members', members }                   child -> { type: 'ready' }
 *   parent -> { type: 'metadata', snapshot } / { type: 'truncate', namespace, set }
 *   parent -> { type: 'stats' }                              child -> { type: 'stats', stats, cpu }
 *   parent -> { type: 'stop' }                               child exits
 *   child  -> { type: 'metadata', snapshot } after an info command changed sindexes or UDFs
 *
 * Membership is static: the partition map is computed from the member list the same way in every
 * process. Replication factor 1 only (replica writes and migrations would need a fabric between the
 * processes); a command that reaches a non-owner is proxied over the owner's service port.
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ProtoFrameReader } from '../../src/shared/aerospike/framing.js';
import { FieldType, MSG_HEADER_SIZE, ResultCode } from '../../src/shared/aerospike/protocol.js';
import { FaultInjector } from './faults.js';
import { DEFAULT_BUILD } from './info.js';
import { ClusterMetadata } from './metadata.js';
import { ClusterNode, type AdminHandler, type ClusterRuntime } from './node.js';
import { computeOwners, type MemberInfo, type PartitionOwners } from './partition-map.js';
import type { RecordOutcome, RecordRequest } from './record-ops.js';
import { resolveNamespace, type NamespaceConfig, type ResolvedNamespaceConfig } from './store.js';
import { readMsgHeader, readOps, type AnswerOp, type MsgOp } from './wire.js';
import type { ClusterUser } from './security.js';

/**
 * V8 flags for a node process: a larger young generation lets the short-lived per-request objects
 * die young instead of being promoted among the millions of stored records (measured: fewer
 * CPU-seconds per million writes).
 */
export const NODE_PROCESS_FLAGS = ['--max-semi-space-size=64'];

export interface NodeProcessOptions {
  namespaces: NamespaceConfig[];
  clusterName: string;
  host: string;
  port: number;
  build?: string;
  edition?: string;
  users?: ClusterUser[];
  batchIndexThreads?: number;
  nonOwnerPolicy?: 'proxy' | 'unavailable';
  faults?: FaultFlags;
  discardWrites?: boolean;
}

/** Faults the standalone command sets up from its flags. */
export interface FaultFlags {
  failWritesFraction?: number;
  failWritesRc?: number;
  failNext?: number;
  failRc?: number;
  latencyMs?: number;
}

export function applyFaultFlags(faults: FaultInjector, flags: FaultFlags | undefined, node?: number): void {
  if (!flags) return;
  if (flags.failWritesFraction !== undefined) {
    faults.failWrites(flags.failWritesRc ?? ResultCode.KEY_BUSY, { fraction: flags.failWritesFraction, node });
  }
  if (flags.failNext !== undefined) faults.failCommands(flags.failRc ?? ResultCode.TIMEOUT, { count: flags.failNext, node });
  if (flags.latencyMs !== undefined) faults.addLatency(flags.latencyMs, { node });
}

function encodeProxyRequest(namespace: string, request: RecordRequest): Buffer {
  const fields: Buffer[] = [];
  const addField = (type: number, data: Buffer) => {
    const f = Buffer.allocUnsafe(5 + data.length);
    f.writeUInt32BE(1 + data.length, 0);
    f[4] = type;
    data.copy(f, 5);
    fields.push(f);
  };
  addField(FieldType.NAMESPACE, Buffer.from(namespace, 'utf8'));
  if (request.setName) addField(FieldType.SET, request.setName);
  addField(FieldType.DIGEST_RIPE, request.digest);
  if (request.key) addField(FieldType.KEY, Buffer.concat([Buffer.from([request.key.particleType]), request.key.value]));
  const ops = request.ops.map((op: MsgOp) => {
    const o = Buffer.allocUnsafe(8 + op.name.length + op.value.length);
    o.writeUInt32BE(4 + op.name.length + op.value.length, 0);
    o[4] = op.op;
    o[5] = op.particleType;
    o[6] = op.flags;
    o[7] = op.name.length;
    op.name.copy(o, 8);
    op.value.copy(o, 8 + op.name.length);
    return o;
  });
  const header = Buffer.alloc(MSG_HEADER_SIZE);
  header[0] = MSG_HEADER_SIZE;
  header[1] = request.info1;
  header[2] = request.info2;
  header[3] = request.info3;
  header.writeUInt32BE(request.generation >>> 0, 6);
  header.writeUInt32BE(request.recordTtl >>> 0, 10);
  header.writeUInt32BE(1000, 14);
  header.writeUInt16BE(fields.length, 18);
  header.writeUInt16BE(ops.length, 20);
  const body = Buffer.concat([header, ...fields, ...ops]);
  const proto = Buffer.allocUnsafe(8);
  proto[0] = 2;
  proto[1] = 3;
  proto.writeUIntBE(body.length, 2, 6);
  return Buffer.concat([proto, body]);
}

/** A pooled connection to another node's service port, used to proxy. */
class ProxyLink {
  private readonly idle: net.Socket[] = [];

  constructor(private readonly host: string, private readonly port: number) {}

  async send(request: Buffer): Promise<Buffer> {
    const socket = this.idle.pop() ?? (await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port }, () => resolve(s));
      s.once('error', reject);
    }));
    return new Promise<Buffer>((resolve, reject) => {
      const reader = new ProtoFrameReader();
      const onData = (chunk: Buffer) => {
        const frames = reader.push(chunk);
        if (frames.length === 0) return;
        socket.off('data', onData);
        socket.off('error', onError);
        this.idle.push(socket);
        resolve(frames[0].body);
      };
      const onError = (error: Error) => {
        socket.off('data', onData);
        socket.destroy();
        reject(error);
      };
      socket.on('data', onData);
      socket.once('error', onError);
      socket.write(request);
    });
  }

  close(): void {
    for (const s of this.idle) s.destroy();
  }
}

class ProcessRuntime implements ClusterRuntime {
  members: MemberInfo[] = [];
  readonly clusterKey = 'A1B2C3D4E5F6';
  readonly clusterGeneration = 1;
  readonly partitionGeneration = 1;
  readonly peersGeneration = 1;
  readonly namespaces: ResolvedNamespaceConfig[];
  readonly metadata = new ClusterMetadata();
  readonly faults = new FaultInjector();
  security: AdminHandler | null = null;
  readonly nonOwnerPolicy: 'proxy' | 'unavailable';
  readonly build: string;
  readonly edition: string;
  readonly clusterName: string;
  private owned = new Map<string, PartitionOwners>();
  private readonly links = new Map<number, ProxyLink>();

  constructor(readonly options: NodeProcessOptions) {
    this.namespaces = options.namespaces.map(resolveNamespace);
    for (const ns of this.namespaces) {
      if (ns.replicationFactor > 1) {
        throw new Error(`namespace ${ns.name}: replication factor ${ns.replicationFactor} needs the in-process cluster (node processes support 1)`);
      }
    }
    this.nonOwnerPolicy = options.nonOwnerPolicy ?? 'proxy';
    this.build = options.build ?? DEFAULT_BUILD;
    this.edition = options.edition ?? ((options.users?.length ?? 0) > 0 ? 'Aerospike Enterprise Edition' : 'Aerospike Community Edition');
    this.clusterName = options.clusterName;
  }

  setMembers(members: MemberInfo[]): void {
    this.members = members;
    for (const ns of this.namespaces) this.owned.set(ns.name, computeOwners(members, ns.replicationFactor));
  }

  owners(namespace: string): PartitionOwners {
    return this.owned.get(namespace) ?? [];
  }

  async proxy(target: number, namespace: string, request: RecordRequest): Promise<RecordOutcome> {
    const member = this.members[target];
    let link = this.links.get(target);
    if (!link) {
      link = new ProxyLink(member.host, member.port);
      this.links.set(target, link);
    }
    const body = await link.send(encodeProxyRequest(namespace, request));
    const header = readMsgHeader(body, 0);
    const ops: MsgOp[] = [];
    readOps(body, MSG_HEADER_SIZE, header.nOps, ops);
    const answerOps: AnswerOp[] = ops.map((o) => ({
      op: o.op,
      particleType: o.particleType,
      name: Buffer.from(o.name),
      value: o.particleType === 0 && o.value.length === 0 ? null : Buffer.from(o.value),
    }));
    return { resultCode: header.resultCode, generation: header.generation, voidTime: header.recordTtl, ops: answerOps };
  }

  replicate(_target: number, _namespace: string, _digest: Buffer, _change: Buffer | 'deleted'): void {
    // Replication factor 1 only: there is never a replica to write.
  }

  truncate(namespace: string, set: string | undefined): boolean {
    if (!this.namespaces.some((n) => n.name === namespace)) return false;
    node?.stores.get(namespace)?.clear(set);
    process.send?.({ type: 'truncate', namespace, set });
    return true;
  }

  close(): void {
    for (const link of this.links.values()) link.close();
  }
}

let runtime: ProcessRuntime | null = null;
let node: ClusterNode | null = null;

type ParentMessage =
  | { type: 'init'; index: number; nodeId: string; options: NodeProcessOptions }
  | { type: 'members'; members: MemberInfo[] }
  | { type: 'metadata'; snapshot: ReturnType<ClusterMetadata['snapshot']> }
  | { type: 'truncate'; namespace: string; set?: string }
  | { type: 'stats' }
  | { type: 'stop' };

async function onMessage(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'init': {
      runtime = new ProcessRuntime(message.options);
      if (message.options.users && message.options.users.length > 0) {
        const { SecurityRealm } = await import('./security.js');
        runtime.security = new SecurityRealm(message.options.users);
      }
      applyFaultFlags(runtime.faults, message.options.faults);
      runtime.metadata.onChange = () => process.send?.({ type: 'metadata', snapshot: runtime!.metadata.snapshot() });
      node = new ClusterNode(runtime, {
        index: message.index,
        nodeId: message.nodeId,
        host: message.options.host,
        port: message.options.port,
        batchIndexThreads: message.options.batchIndexThreads,
        discardWrites: message.options.discardWrites,
      });
      await node.start();
      process.send?.({ type: 'listening', port: node.port });
      break;
    }
    case 'members':
      runtime?.setMembers(message.members);
      process.send?.({ type: 'ready' });
      break;
    case 'metadata':
      if (runtime) {
        const onChange = runtime.metadata.onChange;
        runtime.metadata.onChange = null;
        runtime.metadata.restore(message.snapshot);
        runtime.metadata.onChange = onChange;
      }
      break;
    case 'truncate':
      node?.stores.get(message.namespace)?.clear(message.set);
      break;
    case 'stats': {
      const stats = node?.stats;
      process.send?.({
        type: 'stats',
        stats: stats && { ...stats, recordsPerBatch: [...stats.recordsPerBatch], resultCodes: [...stats.resultCodes] },
        cpu: process.cpuUsage(),
        memory: process.memoryUsage().rss,
      });
      break;
    }
    case 'stop':
      await node?.stop();
      runtime?.close();
      process.exit(0);
  }
}

// Only as a forked entry point: importing this module (for its exports) must not touch the process.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on('message', (message: ParentMessage) => {
    onMessage(message).catch((error) => {
      process.send?.({ type: 'error', message: String((error as Error)?.stack ?? error) });
      process.exit(1);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
