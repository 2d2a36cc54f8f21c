/**
 * The info protocol (proto type 1) of a test-cluster node, after as/src/base/thr_info.c: only text up
 * to the last `\n` is handled; each command's answer is `<command text as received>\t<value>\n`; an
 * unknown command answers `ERROR:4:unrecognized command`; an empty body answers the summary set.
 */
import { PROTO_HEADER_SIZE, ProtoType } from '../../src/shared/aerospike/protocol.js';
import { writeProtoHeader } from '../../src/shared/aerospike/framing.js';
import type { ClusterMetadata } from './metadata.js';
import { infoParam } from './metadata.js';
import { ownershipBitmap, type MemberInfo, type PartitionOwners } from './partition-map.js';
import type { ResolvedNamespaceConfig } from './store.js';

export const DEFAULT_BUILD = '8.1.2.0';

export interface NamespaceInfoStats {
  objects: number;
  masterObjects: number;
  proleObjects: number;
  /** per set name: objects and bytes */
  sets: Map<string, { objects: number; bytes: number }>;
}

/** What a node exposes to its info handler. */
export interface InfoContext {
  readonly nodeId: string;
  readonly build: string;
  readonly edition: string;
  readonly clusterName: string;
  readonly clusterKey: string;
  readonly self: MemberInfo;
  readonly members: readonly MemberInfo[];
  readonly tlsEnabled: boolean;
  readonly partitionGeneration: number;
  readonly peersGeneration: number;
  readonly clusterGeneration: number;
  readonly namespaces: readonly ResolvedNamespaceConfig[];
  readonly metadata: ClusterMetadata;
  readonly startedAtMs: number;
  readonly batchIndexThreads: number;
  readonly clientConnections: number;
  owners(namespace: string): PartitionOwners;
  namespaceStats(namespace: string): NamespaceInfoStats;
  /** truncate of a namespace (and set) on every node; returns false for an unknown namespace. */
  truncate(namespace: string, set: string | undefined): boolean;
}

const FEATURES =
  'batch-any;batch-index;blob-bits;cdt-index;cdt-list;cdt-map;cluster-stable;float;geo;sindex-exists;peers;pipelining;' +
  'pquery;pscans;query-show;relaxed-sc;replicas;replicas-all;replicas-master;replicas-max;truncate-namespace;udf';

const SUMMARY = [
  'features', 'node', 'compatibility-id', 'edition', 'build_ee_sha', 'build_sha', 'build_arch', 'build_time',
  'build_os', 'build', 'version', 'statistics', 'services-alumni', 'services', 'partition-generation',
];

/** Commands a Community Edition server answers `ERROR:25:enterprise only` (ee_only in thr_info.c). */
const ENTERPRISE_ONLY = new Set([
  'alumni-tls-alt', 'alumni-tls-std', 'peers-tls-alt', 'peers-tls-std', 'service-tls-alt', 'service-tls-std',
  'feature-key', 'quiesce', 'quiesce-undo', 'rack-ids', 'racks', 'revive', 'roster', 'roster-set',
]);

function serviceAddress(member: MemberInfo): string {
  return `${member.host}:${member.port}`;
}

/**
 * as_service_list build_peers: `<gen>,3000,[[<id>,<tls-name>,[<addr>]],...]`, ":3000" stripped. A node
 * serves either clear or TLS connections, so the other kind's list has no peers.
 */
function peersValue(ctx: InfoContext, tls: boolean): string {
  if (tls !== ctx.tlsEnabled) return `${ctx.peersGeneration},3000,[]`;
  const peers = ctx.members
    .filter((m) => m.alive && m.index !== ctx.self.index)
    .map((m) => {
      let address = serviceAddress(m);
      if (address.endsWith(':3000')) address = address.slice(0, -5);
      return `[${m.nodeId},${tls ? m.tlsName ?? '' : ''},[${address}]]`;
    });
  return `${ctx.peersGeneration},3000,[${peers.join(',')}]`;
}

function replicasValue(ctx: InfoContext, includeRegime: boolean, max: number, mastersOnly: boolean): string {
  const entries: string[] = [];
  for (const ns of ctx.namespaces) {
    const owners = ctx.owners(ns.name);
    const liveCount = ctx.members.filter((m) => m.alive).length;
    let factor = Math.max(1, Math.min(ns.replicationFactor, liveCount));
    if (max !== 0 && factor > max) factor = max;
    if (mastersOnly) {
      entries.push(`${ns.name}:${ownershipBitmap(owners, ctx.self.index, 0)}`);
      continue;
    }
    let entry = `${ns.name}:${includeRegime ? '0,' : ''}${factor}`;
    for (let r = 0; r < factor; r++) entry += ',' + ownershipBitmap(owners, ctx.self.index, r);
    entries.push(entry);
  }
  return entries.join(';');
}

function statistics(ctx: InfoContext): string {
  let objects = 0;
  for (const ns of ctx.namespaces) objects += ctx.namespaceStats(ns.name).objects;
  const live = ctx.members.filter((m) => m.alive);
  return [
    'failed_best_practices=false',
    `cluster_size=${live.length}`,
    `cluster_key=${ctx.clusterKey}`,
    `cluster_generation=${ctx.clusterGeneration}`,
    `cluster_principal=${live.reduce((a, m) => (m.nodeId > a ? m.nodeId : a), '')}`,
    'cluster_integrity=true',
    'cluster_is_member=true',
    `uptime=${Math.floor((Date.now() - ctx.startedAtMs) / 1000)}`,
    `objects=${objects}`,
    'tombstones=0',
    `client_connections=${ctx.clientConnections}`,
    'migrate_allowed=true',
    'migrate_partitions_remaining=0',
  ].join(';');
}

function serviceConfig(ctx: InfoContext): string {
  return (
    `advertise-ipv6=false;auto-pin=none;batch-index-threads=${ctx.batchIndexThreads};batch-max-buffers-per-queue=255;` +
    'batch-max-requests=0;batch-max-unused-buffers=256;cgroup-mem-tracking=false;' +
    `cluster-name=${ctx.clusterName || 'null'};debug-allocations=false;disable-udf-execution=false;` +
    'enable-benchmarks-fabric=false;enable-health-check=false;enable-hist-info=false;enforce-best-practices=false;' +
    'indent-allocations=false;info-max-ms=10000;info-threads=16;keep-caps-ssd-health=false;log-local-time=false;' +
    'log-millis=false;microsecond-histograms=false;migrate-fill-delay=0;migrate-max-num-incoming=4;migrate-threads=1;' +
    `min-cluster-size=1;node-id=${ctx.nodeId};node-id-interface=null;os-group-perms=false;pidfile=null;` +
    'poison-allocations=false;proto-fd-idle-ms=0;proto-fd-max=10000;quarantine-allocations=0;query-max-done=100;' +
    'query-threads-limit=128;run-as-daemon=false;secrets-address-port=null;secrets-tls-context=null;' +
    'secrets-uds-path=null;service-threads=2;sindex-builder-threads=4;sindex-gc-period=10;stay-quiesced=false;' +
    'ticker-interval=10;tls-refresh-period=0;transaction-max-ms=1000;transaction-retry-ms=1002;vault-ca=null;' +
    'vault-namespace=null;vault-path=null;vault-token-file=null;vault-url=null;work-directory=null'
  );
}

function namespaceConfig(ns: ResolvedNamespaceConfig): string {
  return (
    `allow-ttl-without-nsup=${ns.allowTtlWithoutNsup};apply-ttl-reductions=${ns.applyTtlReductions};` +
    `default-ttl=${ns.defaultTtl};max-record-size=${ns.maxRecordSize};nsup-period=${ns.nsupPeriod};` +
    `replication-factor=${ns.replicationFactor};storage-engine=memory`
  );
}

function namespaceInfo(ctx: InfoContext, ns: ResolvedNamespaceConfig): string {
  const stats = ctx.namespaceStats(ns.name);
  const live = ctx.members.filter((m) => m.alive).length;
  return (
    `ns_cluster_size=${live};effective_replication_factor=${Math.min(ns.replicationFactor, live)};` +
    `objects=${stats.objects};tombstones=0;master_objects=${stats.masterObjects};master_tombstones=0;` +
    `prole_objects=${stats.proleObjects};prole_tombstones=0;non_replica_objects=0;dead_partitions=0;` +
    `unavailable_partitions=0;stop_writes=false;hwm_breached=false;` +
    `current_time=${Math.floor(Date.now() / 1000) - 1262304000};${namespaceConfig(ns)}`
  );
}

function setsInfo(ctx: InfoContext, namespaces: readonly ResolvedNamespaceConfig[], onlySet?: string): string {
  let out = '';
  for (const ns of namespaces) {
    const stats = ctx.namespaceStats(ns.name);
    for (const [set, s] of stats.sets) {
      if (set === '' || (onlySet !== undefined && set !== onlySet)) continue;
      const sindexes = ctx.metadata.sindexDefinitions().filter((d) => d.def.namespace === ns.name && d.def.set === set).length;
      const setText = Buffer.from(set, 'utf8').toString('latin1');
      out +=
        `ns=${ns.name}:set=${setText}:objects=${s.objects}:tombstones=0:data_used_bytes=${s.bytes}:truncate_lut=0:` +
        `sindexes=${sindexes}:index_populating=false:truncating=false:default-read-touch-ttl-pct=0:default-ttl=0:` +
        'disable-eviction=false:enable-index=false:stop-writes-count=0:stop-writes-size=0;';
    }
  }
  return out;
}

function clusterStable(ctx: InfoContext, params: string): string {
  const size = infoParam(params, 'size');
  const live = ctx.members.filter((m) => m.alive).length;
  if (size !== undefined && Number(size) !== live) return 'ERROR::cluster not specified size';
  const namespace = infoParam(params, 'namespace');
  if (namespace !== undefined && !ctx.namespaces.some((n) => n.name === namespace)) {
    return 'ERROR::namespace not found';
  }
  return ctx.clusterKey;
}

/** The value for one command line; `line` is the exact text before its `\n`. */
export function infoValue(ctx: InfoContext, line: string): string {
  // parse_cmd: the name ends at the first '/', ':' or ';'.
  let end = line.length;
  for (const sep of ['/', ':', ';']) {
    const at = line.indexOf(sep);
    if (at >= 0 && at < end) end = at;
  }
  const name = line.slice(0, end);
  const rest = end < line.length ? line.slice(end + 1) : '';
  const args = line[end] === '/' ? rest.split('/') : [];
  const params = line[end] === '/' ? '' : rest;
  const nsNames = ctx.namespaces.map((n) => n.name);

  if (!ctx.tlsEnabled && ENTERPRISE_ONLY.has(name)) return 'ERROR:25:enterprise only';
  switch (name) {
    case 'features': return FEATURES;
    case 'node': return ctx.nodeId;
    case 'compatibility-id': return '15';
    case 'edition': return ctx.edition;
    case 'build_ee_sha': return '';
    case 'build_sha': return '0000000000000000000000000000000000000000';
    case 'build_arch': return 'x86_64';
    case 'build_time': return 'asrestore-ts test cluster';
    case 'build_os': return 'node';
    case 'build': return ctx.build;
    case 'version': return `${ctx.edition} build ${ctx.build}`;
    case 'statistics': return statistics(ctx);
    case 'services':
    case 'services-alumni':
    case 'services-alternate':
      if (ctx.tlsEnabled) return '';
      return ctx.members.filter((m) => m.alive && m.index !== ctx.self.index).map(serviceAddress).join(';');
    case 'service':
    case 'service-clear-std':
      return ctx.tlsEnabled ? '' : serviceAddress(ctx.self);
    case 'service-tls-std':
      return ctx.tlsEnabled ? serviceAddress(ctx.self) : '';
    case 'service-clear-alt':
    case 'service-tls-alt':
      return '';
    case 'peers-clear-std':
    case 'peers-clear-alt':
      return peersValue(ctx, false);
    case 'peers-tls-std':
    case 'peers-tls-alt':
      return peersValue(ctx, true);
    case 'alumni-clear-std':
    case 'alumni-clear-alt':
      return `${ctx.peersGeneration},3000,[]`;
    case 'peers-generation': return String(ctx.peersGeneration);
    case 'partition-generation': return String(ctx.partitionGeneration);
    case 'rebalance-generation': return String(ctx.partitionGeneration);
    case 'cluster-name': return ctx.clusterName || 'null';
    case 'cluster-stable': return clusterStable(ctx, params);
    case 'partitions': return '4096';
    case 'replicas': {
      const max = infoParam(params, 'max');
      if (max !== undefined && !/^\d+$/.test(max)) return 'ERROR:4:bad max';
      return replicasValue(ctx, true, max === undefined ? 0 : Number(max), false);
    }
    case 'replicas-all': return replicasValue(ctx, false, 0, false);
    case 'replicas-master': return replicasValue(ctx, false, 0, true);
    case 'namespaces': return nsNames.join(';');
    case 'namespace': {
      const ns = ctx.namespaces.find((n) => n.name === args[0]);
      // "For now, no info_respond_error(), clients won't handle error." (thr_info.c)
      return ns ? namespaceInfo(ctx, ns) : 'type=unknown';
    }
    case 'sets': {
      if (args.length === 0) return setsInfo(ctx, ctx.namespaces);
      const ns = ctx.namespaces.find((n) => n.name === args[0]);
      return ns ? setsInfo(ctx, [ns], args[1]) : 'ns_type=unknown';
    }
    case 'get-config': {
      const context = infoParam(params, 'context') ?? 'service';
      if (context === 'service') return serviceConfig(ctx);
      if (context === 'namespace') {
        const ns = ctx.namespaces.find((n) => n.name === (infoParam(params, 'id') ?? infoParam(params, 'namespace')));
        return ns ? namespaceConfig(ns) : 'ERROR:20:namespace not found';
      }
      return `ERROR:4:unknown context '${context}'`;
    }
    case 'sindex-list': return ctx.metadata.sindexList(params, nsNames);
    case 'sindex-create': return ctx.metadata.sindexCreate(params);
    case 'sindex-delete': return ctx.metadata.sindexDelete(params);
    case 'sindex-exists': {
      const ns = infoParam(params, 'namespace') ?? infoParam(params, 'ns') ?? '';
      const index = infoParam(params, 'indexname') ?? '';
      return String(ctx.metadata.sindexDefinitions().some((d) => d.def.namespace === ns && d.name === index));
    }
    case 'sindex-stat': return ctx.metadata.sindexStat(params, nsNames);
    case 'sindex':
      if (args.length >= 2) return ctx.metadata.sindexStats(args[0], args[1], nsNames);
      return ctx.metadata.sindexList('', nsNames);
    case 'udf-put': return ctx.metadata.udfPut(params);
    case 'udf-get': return ctx.metadata.udfGet(params);
    case 'udf-list': return ctx.metadata.udfList();
    case 'udf-remove': return ctx.metadata.udfRemove(params);
    case 'truncate-namespace': {
      const ns = infoParam(params, 'namespace');
      if (ns === undefined) return "ERROR:20:missing 'namespace'";
      return ctx.truncate(ns, undefined) ? 'ok' : 'ERROR:20:namespace not found';
    }
    case 'truncate': {
      const ns = infoParam(params, 'namespace');
      const set = infoParam(params, 'set');
      if (ns === undefined) return "ERROR:20:missing 'namespace'";
      if (set === undefined) return "ERROR:4:missing 'set'";
      return ctx.truncate(ns, set) ? 'ok' : 'ERROR:20:namespace not found';
    }
    case 'user-agent-set': return 'ok';
    case 'status': return 'ok';
    default: return 'ERROR:4:unrecognized command';
  }
}

/** A whole info answer frame for a request body. */
export function infoAnswer(ctx: InfoContext, body: Buffer): Buffer {
  let text = '';
  if (body.length === 0) {
    for (const name of SUMMARY) text += `${name}\t${infoValue(ctx, name)}\n`;
  } else {
    // latin1 both ways: every byte of a command is echoed back unchanged.
    const request = body.toString('latin1');
    let start = 0;
    for (let nl = request.indexOf('\n'); nl >= 0; nl = request.indexOf('\n', start)) {
      const line = request.slice(start, nl);
      text += `${line}\t${infoValue(ctx, line)}\n`;
      start = nl + 1;
    }
  }
  return infoFrame(text);
}

export function infoFrame(text: string): Buffer {
  const size = Buffer.byteLength(text, 'latin1');
  const buf = Buffer.allocUnsafe(PROTO_HEADER_SIZE + size);
  writeProtoHeader(buf, 0, ProtoType.INFO, size);
  buf.write(text, PROTO_HEADER_SIZE, 'latin1');
  return buf;
}

/** An unauthenticated info request on a secured node: one error line for the whole request. */
export function notAuthenticatedInfoAnswer(): Buffer {
  return infoFrame('ERROR:80:not authenticated\n');
}
