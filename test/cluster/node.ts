/**
 * One node of the test cluster: a TCP (or TLS) listener speaking the Aerospike wire protocol, its
 * record stores, and its counters. What a node shares with the rest of the cluster (membership,
 * partition ownership, metadata, faults, security) comes from its ClusterRuntime.
 */
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ProtoFrameReader, writeProtoHeader } from '../../src/shared/aerospike/framing.js';
import {
  BatchParentFlags,
  FieldType,
  Info1,
  Info2,
  PROTO_HEADER_SIZE,
  ProtoType,
  ResultCode,
} from '../../src/shared/aerospike/protocol.js';
import { batchRowIndexes, parseBatchField, keyFromField } from './batch.js';
import type { CommandKind, FaultAction, FaultInjector } from './faults.js';
import { infoAnswer, infoFrame, notAuthenticatedInfoAnswer, type InfoContext, type NamespaceInfoStats } from './info.js';
import type { ClusterMetadata } from './metadata.js';
import type { MemberInfo, PartitionOwners } from './partition-map.js';
import { executeRecord, type RecordOutcome, type RecordRequest } from './record-ops.js';
import { NamespaceStore, partitionId, recordSize, type ResolvedNamespaceConfig } from './store.js';
import { findField, lastFrame, MalformedMessage, parseAsMsg, singleAnswerFrame, StreamAnswerWriter } from './wire.js';

export interface NodeTlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  ca?: string | Buffer;
  /** Ask for (and require) a client certificate. */
  requestCert?: boolean;
  /** The TLS name peers-tls-std announces; default: the certificate's subject CN. */
  name?: string;
}

/** The minimal security interface a node needs (implemented by security.ts SecurityRealm). */
export interface AdminHandler {
  handleAdminMessage(body: Buffer, connection: ConnectionSecurityState): Buffer;
}

export interface ConnectionSecurityState {
  authenticated: boolean;
  user?: string;
  peerCertificateName?: string;
}

/** What changes cluster-wide and what a node asks of the cluster. */
export interface ClusterRuntime {
  readonly members: readonly MemberInfo[];
  readonly clusterName: string;
  readonly clusterKey: string;
  readonly clusterGeneration: number;
  readonly partitionGeneration: number;
  readonly peersGeneration: number;
  readonly namespaces: readonly ResolvedNamespaceConfig[];
  readonly metadata: ClusterMetadata;
  readonly build: string;
  readonly edition: string;
  readonly faults: FaultInjector;
  readonly security: AdminHandler | null;
  /** 'proxy' (what an AP server does for a partition it does not own) or 'unavailable' (rc 11). */
  readonly nonOwnerPolicy: 'proxy' | 'unavailable';
  owners(namespace: string): PartitionOwners;
  /** Runs a record transaction on node `target` as a proxied request. */
  proxy(target: number, namespace: string, request: RecordRequest): RecordOutcome | Promise<RecordOutcome>;
  /** Applies a master's change to a replica node. */
  replicate(target: number, namespace: string, digest: Buffer, change: Buffer | 'deleted'): void;
  truncate(namespace: string, set: string | undefined): boolean;
}

export interface NodeStats {
  connectionsOpened: number;
  connectionsClosed: number;
  singleWrites: number;
  singleReads: number;
  singleDeletes: number;
  batchRequests: number;
  batchWriteRows: number;
  batchReadRows: number;
  /** Rows per batch request: rows -> number of batch requests of that size. */
  recordsPerBatch: Map<number, number>;
  infoRequests: number;
  infoCommands: number;
  adminMessages: number;
  logins: number;
  /** Commands refused before execution: injected errors, not authenticated, compressed, unavailable, malformed. */
  refused: number;
  proxiedOut: number;
  proxiedIn: number;
  /** Result codes of record results (single commands and batch rows). */
  resultCodes: Map<number, number>;
}

function newStats(): NodeStats {
  return {
    connectionsOpened: 0,
    connectionsClosed: 0,
    singleWrites: 0,
    singleReads: 0,
    singleDeletes: 0,
    batchRequests: 0,
    batchWriteRows: 0,
    batchReadRows: 0,
    recordsPerBatch: new Map(),
    infoRequests: 0,
    infoCommands: 0,
    adminMessages: 0,
    logins: 0,
    refused: 0,
    proxiedOut: 0,
    proxiedIn: 0,
    resultCodes: new Map(),
  };
}

export interface NodeOptions {
  index: number;
  nodeId: string;
  host?: string;
  port?: number;
  tls?: NodeTlsOptions;
  batchIndexThreads?: number;
  /** Answer every record write OK without storing it (see TestClusterOptions.discardWrites). */
  discardWrites?: boolean;
}

const VALID_TYPES = new Set<number>([ProtoType.INFO, ProtoType.ADMIN, ProtoType.AS_MSG, ProtoType.COMPRESSED]);

/** An admin answer with no fields: the 16-byte as_sec_msg with `resultCode`. */
function adminResultFrame(resultCode: number): Buffer {
  const buf = Buffer.alloc(PROTO_HEADER_SIZE + 16);
  writeProtoHeader(buf, 0, ProtoType.ADMIN, 16);
  buf[PROTO_HEADER_SIZE + 1] = resultCode;
  return buf;
}

/** The admin answer of a server without security (CE's as_security_transact): rc 51, no fields. */
function securityNotSupportedFrame(): Buffer {
  return adminResultFrame(ResultCode.SECURITY_NOT_SUPPORTED);
}

/** An injected info failure: every command of the request answers `ERROR:<rc>:injected fault`. */
function injectedInfoError(body: Buffer, resultCode: number): Buffer {
  const request = body.toString('latin1');
  let text = '';
  let start = 0;
  for (let nl = request.indexOf('\n'); nl >= 0; nl = request.indexOf('\n', start)) {
    text += `${request.slice(start, nl)}\tERROR:${resultCode}:injected fault\n`;
    start = nl + 1;
  }
  return infoFrame(text);
}

type FrameResult = Buffer | Buffer[] | null | 'drop';

class Connection implements ConnectionSecurityState {
  authenticated = false;
  user?: string;
  peerCertificateName?: string;
  readonly reader = new ProtoFrameReader();
  private queue: Promise<void> | null = null;
  closed = false;

  constructor(readonly socket: net.Socket) {}

  write(result: Buffer | Buffer[]): void {
    if (this.closed) return;
    if (Array.isArray(result)) {
      if (result.length === 1) this.socket.write(result[0]);
      else this.socket.write(Buffer.concat(result));
    } else {
      this.socket.write(result);
    }
  }

  /** Runs answers in request order, even when one of them is asynchronous. */
  deliver(result: FrameResult | Promise<FrameResult>): void {
    if (!this.queue && !(result instanceof Promise)) {
      this.apply(result);
      return;
    }
    const previous = this.queue ?? Promise.resolve();
    const next = previous.then(() => result).then(
      (r) => this.apply(r),
      () => this.destroy(),
    );
    this.queue = next;
    void next.then(() => {
      if (this.queue === next) this.queue = null;
    });
  }

  private apply(result: FrameResult): void {
    if (result === 'drop') this.destroy();
    else if (result !== null) this.write(result);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}

export class ClusterNode implements InfoContext {
  readonly index: number;
  readonly nodeId: string;
  readonly host: string;
  port: number;
  readonly tlsOptions?: NodeTlsOptions;
  readonly tlsName?: string;
  readonly stores = new Map<string, NamespaceStore>();
  stats: NodeStats = newStats();
  readonly startedAtMs = Date.now();
  readonly batchIndexThreads: number;
  readonly discardWrites: boolean;
  private server: net.Server | null = null;
  private readonly connections = new Set<Connection>();
  private running = false;

  constructor(private readonly runtime: ClusterRuntime, options: NodeOptions) {
    this.index = options.index;
    this.nodeId = options.nodeId;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.tlsOptions = options.tls;
    this.batchIndexThreads = options.batchIndexThreads ?? 2;
    this.discardWrites = options.discardWrites ?? false;
    if (options.tls) {
      this.tlsName = options.tls.name ?? new X509Certificate(options.tls.cert).subject.match(/CN=([^\n,]+)/)?.[1];
    }
    for (const ns of runtime.namespaces) this.stores.set(ns.name, new NamespaceStore(ns));
  }

  // ---- InfoContext -------------------------------------------------------------------------

  get build(): string { return this.runtime.build; }
  get edition(): string { return this.runtime.edition; }
  get clusterName(): string { return this.runtime.clusterName; }
  get clusterKey(): string { return this.runtime.clusterKey; }
  get members(): readonly MemberInfo[] { return this.runtime.members; }
  get self(): MemberInfo { return this.runtime.members[this.index]; }
  get tlsEnabled(): boolean { return this.tlsOptions !== undefined; }
  get partitionGeneration(): number { return this.runtime.partitionGeneration; }
  get peersGeneration(): number { return this.runtime.peersGeneration; }
  get clusterGeneration(): number { return this.runtime.clusterGeneration; }
  get namespaces(): readonly ResolvedNamespaceConfig[] { return this.runtime.namespaces; }
  get metadata(): ClusterMetadata { return this.runtime.metadata; }
  get clientConnections(): number { return this.connections.size; }
  get isRunning(): boolean { return this.running; }

  owners(namespace: string): PartitionOwners {
    return this.runtime.owners(namespace);
  }

  truncate(namespace: string, set: string | undefined): boolean {
    return this.runtime.truncate(namespace, set);
  }

  namespaceStats(namespace: string): NamespaceInfoStats {
    const stats: NamespaceInfoStats = { objects: 0, masterObjects: 0, proleObjects: 0, sets: new Map() };
    const store = this.stores.get(namespace);
    if (!store) return stats;
    const owners = this.runtime.owners(namespace);
    for (const record of store.records()) {
      const pid = partitionId(record.digest);
      const position = owners[pid]?.indexOf(this.index) ?? -1;
      if (position < 0) continue;
      stats.objects++;
      if (position === 0) stats.masterObjects++;
      else stats.proleObjects++;
      const set = stats.sets.get(record.setName) ?? { objects: 0, bytes: 0 };
      set.objects++;
      set.bytes += recordSize(Buffer.byteLength(record.setName), record.key, record.bins);
      stats.sets.set(record.setName, set);
    }
    return stats;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.running) return;
    const onConnection = (socket: net.Socket) => this.accept(socket);
    const server = this.tlsOptions
      ? tls.createServer(
          {
            key: this.tlsOptions.key,
            cert: this.tlsOptions.cert,
            ca: this.tlsOptions.ca,
            requestCert: this.tlsOptions.requestCert ?? false,
            rejectUnauthorized: this.tlsOptions.requestCert ?? false,
          },
          onConnection,
        )
      : net.createServer(onConnection);
    server.maxConnections = 10000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: this.port, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
    this.running = true;
  }

  /** Closes the listener and every connection: clients see the node die. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const server = this.server;
    this.server = null;
    this.dropAllConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Closes every client connection now (the listener stays up). */
  dropAllConnections(): number {
    const count = this.connections.size;
    for (const connection of this.connections) connection.destroy();
    return count;
  }

  resetStats(): void {
    this.stats = newStats();
  }

  // ---- connections -------------------------------------------------------------------------

  private accept(socket: net.Socket): void {
    if (!this.running) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connection = new Connection(socket);
    if (socket instanceof tls.TLSSocket) {
      const peer = socket.getPeerCertificate();
      const cn = peer?.subject?.CN;
      if (typeof cn === 'string') connection.peerCertificateName = cn;
    }
    this.connections.add(connection);
    this.stats.connectionsOpened++;
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', () => connection.destroy());
    socket.on('close', () => {
      connection.closed = true;
      if (this.connections.delete(connection)) this.stats.connectionsClosed++;
    });
  }

  private onData(connection: Connection, chunk: Buffer): void {
    if (connection.closed) return;
    let frames;
    try {
      frames = connection.reader.push(chunk);
    } catch {
      // A bad version or size: the server drops the socket without an answer.
      connection.destroy();
      return;
    }
    for (const frame of frames) {
      if (!VALID_TYPES.has(frame.type)) {
        connection.destroy();
        return;
      }
      connection.deliver(this.handleFrame(connection, frame.type, frame.body));
      if (connection.closed) return;
    }
  }

  private kindOf(type: number, body: Buffer): CommandKind {
    if (type === ProtoType.INFO) return 'info';
    if (type === ProtoType.ADMIN) return 'admin';
    if (body.length >= 3 && (body[1] & Info1.BATCH) !== 0) return 'batch';
    if (body.length >= 3 && (body[2] & Info2.WRITE) !== 0) return 'single-write';
    return 'single-read';
  }

  private handleFrame(connection: Connection, type: number, body: Buffer): FrameResult | Promise<FrameResult> {
    const faults = this.runtime.faults;
    const kind = this.kindOf(type, body);
    const action: FaultAction | null = faults.active ? faults.commandAction(this.index, kind) : null;
    if (action) {
      switch (action.type) {
        case 'hang':
          return null;
        case 'drop':
          return 'drop';
        case 'latency': {
          const delayed = new Promise<void>((resolve) => setTimeout(resolve, action.latencyMs));
          return delayed.then(() => this.execute(connection, type, body, kind));
        }
        case 'error':
          this.stats.refused++;
          if (kind === 'info') return injectedInfoError(body, action.resultCode);
          if (kind === 'admin') return adminResultFrame(action.resultCode);
          return kind === 'batch'
            ? lastFrame(action.resultCode)
            : singleAnswerFrame({ resultCode: action.resultCode, generation: 0, voidTime: 0, transactionTtl: 0 });
      }
    }
    return this.execute(connection, type, body, kind);
  }

  private execute(connection: Connection, type: number, body: Buffer, kind: CommandKind): FrameResult | Promise<FrameResult> {
    const security = this.runtime.security;
    if (type === ProtoType.ADMIN) {
      this.stats.adminMessages++;
      if (!security) return securityNotSupportedFrame();
      const wasAuthenticated = connection.authenticated;
      const answer = security.handleAdminMessage(body, connection);
      if (!wasAuthenticated && connection.authenticated) this.stats.logins++;
      return answer;
    }
    if (type === ProtoType.INFO) {
      this.stats.infoRequests++;
      if (security && !connection.authenticated) {
        this.stats.refused++;
        return notAuthenticatedInfoAnswer();
      }
      for (const b of body) if (b === 0x0a) this.stats.infoCommands++;
      return infoAnswer(this, body);
    }
    if (security && !connection.authenticated) {
      this.stats.refused++;
      return kind === 'batch' ? lastFrame(ResultCode.NOT_AUTHENTICATED) : this.errorFrame(ResultCode.NOT_AUTHENTICATED);
    }
    if (type === ProtoType.COMPRESSED) {
      // CE cannot decompress (proto_ce.c as_proto_uncompress): ENTERPRISE_ONLY through the demarshal error path.
      this.stats.refused++;
      return this.errorFrame(ResultCode.ENTERPRISE_ONLY);
    }
    try {
      if (kind === 'batch') return this.executeBatch(body);
      return this.executeSingle(body);
    } catch (error) {
      if (error instanceof MalformedMessage) {
        this.stats.refused++;
        return this.errorFrame(ResultCode.PARAMETER_ERROR);
      }
      throw error;
    }
  }

  private errorFrame(resultCode: number): Buffer {
    return singleAnswerFrame({ resultCode, generation: 0, voidTime: 0, transactionTtl: 0 });
  }

  private countResult(resultCode: number): void {
    this.stats.resultCodes.set(resultCode, (this.stats.resultCodes.get(resultCode) ?? 0) + 1);
  }

  // ---- single-record commands --------------------------------------------------------------

  private executeSingle(body: Buffer): FrameResult | Promise<FrameResult> {
    const msg = parseAsMsg(body);
    const nsField = findField(msg.fields, FieldType.NAMESPACE);
    if (!nsField) {
      this.stats.refused++;
      return this.errorFrame(ResultCode.INVALID_NAMESPACE);
    }
    const namespace = nsField.data.toString('utf8');
    if (!this.stores.has(namespace)) {
      this.stats.refused++;
      return this.errorFrame(ResultCode.INVALID_NAMESPACE);
    }
    const digestField = findField(msg.fields, FieldType.DIGEST_RIPE);
    if (!digestField) return this.executeQuery(namespace, msg.header.info2, msg.fields, msg.ops);
    if (digestField.data.length !== 20) {
      this.stats.refused++;
      return this.errorFrame(ResultCode.PARAMETER_ERROR);
    }
    const request: RecordRequest = {
      info1: msg.header.info1,
      info2: msg.header.info2,
      info3: msg.header.info3,
      generation: msg.header.generation,
      recordTtl: msg.header.recordTtl,
      setName: findField(msg.fields, FieldType.SET)?.data ?? null,
      digest: digestField.data,
      key: keyFromField(findField(msg.fields, FieldType.KEY)),
      ops: msg.ops,
    };
    const isWrite = (request.info2 & Info2.WRITE) !== 0;
    if (isWrite) {
      if ((request.info2 & Info2.DELETE) !== 0 && request.ops.length === 0) this.stats.singleDeletes++;
      else this.stats.singleWrites++;
    } else {
      this.stats.singleReads++;
    }
    const outcome = this.transact(namespace, request);
    const toFrame = (o: RecordOutcome): Buffer => {
      this.countResult(o.resultCode);
      return singleAnswerFrame({ resultCode: o.resultCode, generation: o.generation, voidTime: o.voidTime, transactionTtl: 0 }, o.ops);
    };
    return outcome instanceof Promise ? outcome.then(toFrame) : toFrame(outcome);
  }

  /**
   * A message without a digest is a query to the server. A write without a digest runs as a
   * background ops query over the set (every record gets the ops) and is answered by one LAST
   * message; a foreground scan is not implemented and is answered with LAST rc 16.
   */
  private executeQuery(namespace: string, info2: number, fields: ReturnType<typeof parseAsMsg>['fields'], ops: RecordRequest['ops']): Buffer {
    if ((info2 & Info2.WRITE) === 0 || ops.length === 0) return lastFrame(ResultCode.UNSUPPORTED_FEATURE);
    const store = this.stores.get(namespace)!;
    const setField = findField(fields, FieldType.SET);
    const set = setField ? setField.data.toString('utf8') : '';
    const owners = this.runtime.owners(namespace);
    for (const record of [...store.records()]) {
      if (record.setName !== set || owners[partitionId(record.digest)]?.[0] !== this.index) continue;
      this.transact(namespace, {
        info1: 0,
        info2: Info2.WRITE | Info2.RESPOND_ALL_OPS,
        info3: 0,
        generation: 0,
        recordTtl: 0xfffffffe,
        setName: setField?.data ?? null,
        digest: record.digest,
        key: null,
        ops,
      });
    }
    return lastFrame(ResultCode.OK);
  }

  /** Runs a record transaction where its partition lives: here, proxied, or refused. */
  transact(namespace: string, request: RecordRequest): RecordOutcome | Promise<RecordOutcome> {
    const pid = partitionId(request.digest);
    const owners = this.runtime.owners(namespace)[pid] ?? [];
    const isWrite = (request.info2 & Info2.WRITE) !== 0;
    if (owners.length === 0) return { resultCode: ResultCode.PARTITION_UNAVAILABLE, generation: 0, voidTime: 0, ops: [] };
    const servesHere = isWrite ? owners[0] === this.index : owners.includes(this.index);
    if (!servesHere) {
      if (this.runtime.nonOwnerPolicy === 'unavailable') {
        this.stats.refused++;
        return { resultCode: ResultCode.PARTITION_UNAVAILABLE, generation: 0, voidTime: 0, ops: [] };
      }
      this.stats.proxiedOut++;
      return this.runtime.proxy(owners[0], namespace, request);
    }
    return this.executeLocal(namespace, request);
  }

  /** Executes on this node's store (the caller made sure it owns the partition). */
  executeLocal(namespace: string, request: RecordRequest): RecordOutcome {
    const store = this.stores.get(namespace);
    if (!store) return { resultCode: ResultCode.INVALID_NAMESPACE, generation: 0, voidTime: 0, ops: [] };
    if (this.discardWrites && (request.info2 & Info2.WRITE) !== 0) return { resultCode: ResultCode.OK, generation: 1, voidTime: 0, ops: [] };
    if ((request.info2 & Info2.WRITE) !== 0 && this.runtime.faults.active) {
      const injected = this.runtime.faults.recordWriteFailure(this.index);
      if (injected !== 0) {
        this.stats.refused++;
        return { resultCode: injected, generation: 0, voidTime: 0, ops: [] };
      }
    }
    const outcome = executeRecord(store, request);
    if (outcome.change) {
      const owners = this.runtime.owners(namespace)[partitionId(request.digest)] ?? [];
      for (let r = 1; r < owners.length; r++) this.runtime.replicate(owners[r], namespace, request.digest, outcome.change);
    }
    return outcome;
  }

  /** A proxied transaction arriving from another node. */
  executeProxied(namespace: string, request: RecordRequest): RecordOutcome {
    this.stats.proxiedIn++;
    const owners = this.runtime.owners(namespace)[partitionId(request.digest)] ?? [];
    const isWrite = (request.info2 & Info2.WRITE) !== 0;
    const servesHere = isWrite ? owners[0] === this.index : owners.includes(this.index);
    // FROM_PROXY with a failed reservation is returned to the sender: the client sees rc 11 here.
    if (!servesHere) return { resultCode: ResultCode.PARTITION_UNAVAILABLE, generation: 0, voidTime: 0, ops: [] };
    return this.executeLocal(namespace, request);
  }

  /** Stores a replica copy (or removes it), as a prole applies a master's replica write. */
  applyReplica(namespace: string, digest: Buffer, change: Buffer | 'deleted'): void {
    const store = this.stores.get(namespace);
    if (!store) return;
    if (change === 'deleted') store.delete(digest);
    else store.putEncoded(digest, change);
  }

  // ---- batch -------------------------------------------------------------------------------

  private executeBatch(body: Buffer): FrameResult | Promise<FrameResult> {
    this.stats.batchRequests++;
    if (this.batchIndexThreads === 0) {
      // batch-index-threads 0: as_batch_queue_task answers BATCH_DISABLED before reading the request.
      this.stats.refused++;
      return lastFrame(ResultCode.BATCH_DISABLED);
    }
    const msg = parseAsMsg(body);
    const field = findField(msg.fields, FieldType.BATCH_INDEX) ?? findField(msg.fields, FieldType.BATCH_INDEX_WITH_SET);
    if (!field) {
      this.stats.refused++;
      return lastFrame(ResultCode.PARAMETER_ERROR);
    }
    if (this.discardWrites) return this.discardBatch(field.data);
    const parsed = parseBatchField(field.data, msg.header.info3, (name) => this.stores.has(name));
    this.stats.recordsPerBatch.set(parsed.rows.length, (this.stats.recordsPerBatch.get(parsed.rows.length) ?? 0) + 1);
    const outcomes: (RecordOutcome | Promise<RecordOutcome>)[] = [];
    let anyAsync = false;
    for (const row of parsed.rows) {
      if ((row.request.info2 & Info2.WRITE) !== 0) this.stats.batchWriteRows++;
      else this.stats.batchReadRows++;
      const outcome = this.transact(row.namespace, row.request);
      if (outcome instanceof Promise) anyAsync = true;
      outcomes.push(outcome);
    }
    const finish = (results: RecordOutcome[]): Buffer => {
      if (parsed.malformed) {
        this.stats.refused++;
        return lastFrame(ResultCode.PARAMETER_ERROR);
      }
      const reportAll = (parsed.parentFlags & BatchParentFlags.RESPOND_ALL_KEYS) !== 0;
      let overall = ResultCode.OK as number;
      const writer = new StreamAnswerWriter();
      results.forEach((o, i) => {
        this.countResult(o.resultCode);
        const rc = o.resultCode;
        if (!reportAll && overall === 0 && rc !== 0 && rc !== ResultCode.KEY_NOT_FOUND && rc !== ResultCode.FILTERED_OUT) {
          overall = rc;
        }
        writer.add({ resultCode: rc, generation: o.generation, voidTime: o.voidTime, transactionTtl: parsed.rows[i].index }, o.ops);
      });
      return writer.finish(overall);
    };
    if (anyAsync) return Promise.all(outcomes).then(finish);
    return finish(outcomes as RecordOutcome[]);
  }

  /**
   * --discard-writes: every row answered OK from its index alone (its fields and ops skipped by their
   * sizes, nothing parsed or stored), so that the node costs its client as little CPU as a server can.
   */
  private discardBatch(data: Buffer): FrameResult {
    const indexes = batchRowIndexes(data);
    if (indexes === null) {
      this.stats.refused++;
      return lastFrame(ResultCode.PARAMETER_ERROR);
    }
    this.stats.batchWriteRows += indexes.length;
    const writer = new StreamAnswerWriter();
    for (const index of indexes) {
      this.countResult(ResultCode.OK);
      writer.add({ resultCode: ResultCode.OK, generation: 1, voidTime: 0, transactionTtl: index }, []);
    }
    return writer.finish(ResultCode.OK);
  }
}
