/**
 * The worker side: writes records through connections this thread owns, routed by the routing
 * table a Cluster (the tender, usually on the main thread) publishes in a SharedArrayBuffer.
 *
 * - The unit of work is an encoded batch command for one node (batch-command.ts): callers route
 *   each record as it arrives (routeOf / routeOfRow) and append its row to that node's command,
 *   so every command carries a full batch; sendCommand sends one and returns its rows' codes.
 *   writeBatch (records in, one command per owning node) is built on the same pieces.
 * - At most `maxCommandsInFlight` commands run at once over all nodes (asrestore's
 *   --max-async-batches); further ones wait their turn within their total timeout.
 * - Nothing is retried here: a failed node command reports its error and the rows it left
 *   unanswered, with `inDoubt` telling whether the request reached the wire, and the caller's
 *   retry policy decides. A retry reads the routing table afresh, so it follows partition moves.
 */
import type { AsbRecord } from '../asb/types.js';
import { ProtoType, ResultCode } from './protocol.js';
import type { WriteFlags } from './write-flags.js';
import { AerospikeError, ClientErrorCode, serverError } from './client-errors.js';
import { ROW_DIGEST_OFFSET, ROW_NAMESPACE_FIELD_OFFSET, TRANSACTION_TTL_OFFSET, encodeRecordWriteFromRow } from './batch-codec.js';
import { NodeCommandSet, rowNamespace, type EncodedCommand } from './batch-command.js';
import { encodeRecordWrite } from './message-codec.js';
import { BatchAnswerParser, ROW_UNANSWERED, parseRecordAnswer } from './response-parser.js';
import { partitionAt, partitionOf } from './replicas.js';
import { NodeState, RoutingTable, SessionState, type RoutedNamespace, type RoutedNode, type RoutingSnapshot } from './routing-table.js';
import { ConnectionPool } from './pool.js';
import type { Connection, ConnectSettings } from './connection.js';
import { SessionManager, needsNewLogin, type PreparedAuth } from './auth.js';
import { TlsConnector, type ResolvedTls } from './tls-options.js';
import { formatAddress } from './host-list.js';

export { ROW_UNANSWERED };
export type { EncodedCommand };


export interface WriteClientOptions {
  /** From prepareAuth; the same the Cluster was given. */
  auth?: PreparedAuth;
  /** From resolveTlsSettings; the same the Cluster was given. */
  tls?: ResolvedTls;
  /** Longest time to open and authenticate a connection (asrestore --timeout). Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Budget of one command from the call to the answer, queueing included; sent as the server-side timeout. Default 10000 ms. */
  totalTimeoutMs?: number;
  /** Longest silence while an answer is awaited (asrestore --socket-timeout); 0 = none. Default 10000 ms. */
  socketTimeoutMs?: number;
  /** Commands (per-node batches or single writes) running at once. Default 32. */
  maxCommandsInFlight?: number;
  /** Connections per node. Default maxCommandsInFlight. */
  maxConnectionsPerNode?: number;
  /** Idle connections older than this are closed instead of reused. Default 55 s. */
  idleTimeoutMs?: number;
  log?: (message: string) => void;
}

/** One per-node command of a batch that failed as a whole, and the rows it left unanswered. */
export interface BatchFailure {
  error: AerospikeError;
  /** Indices into the batch's records. */
  rows: number[];
}

export interface BatchResult {
  /** Per record (by index): the server's result code, or ROW_UNANSWERED when its command failed first. */
  resultCodes: Int32Array;
  /** How many records are ROW_UNANSWERED. */
  unanswered: number;
  /** Why: one entry per failed per-node command (transport error, timeout, batch-level result code, no node). */
  failures: BatchFailure[];
}

/** The answer to one encoded command. */
export interface CommandResult {
  /** Per row: the server's result code, or ROW_UNANSWERED when the command failed first. */
  resultCodes: Int32Array;
  /** Why the command failed as a whole (transport error, timeout, batch-level result code, no node); null when it did not. */
  failure: AerospikeError | null;
}

interface NodePool {
  incarnation: number;
  node: RoutedNode;
  pool: ConnectionPool;
}

interface Waiter {
  resolve: () => void;
  reject: (error: AerospikeError) => void;
  timer: NodeJS.Timeout;
}

export class WriteClient {
  private readonly routing: RoutingTable;
  private snapshot: RoutingSnapshot;
  private readonly pools = new Map<number, NodePool>();
  private readonly sessions: SessionManager | null;
  private readonly adoptedTokens = new Map<string, number>();
  private readonly connect: ConnectSettings;
  private readonly connectTimeoutMs: number;
  private readonly totalTimeoutMs: number;
  private readonly socketTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxConnectionsPerNode: number;
  private readonly idleTimeoutMs: number;
  private running = 0;
  private readonly waiters: Waiter[] = [];
  private lastNamespaceBytes: Uint8Array | null = null;
  private lastNamespace: RoutedNamespace | null = null;
  private readonly trimTimer: NodeJS.Timeout;
  private closed = false;

  constructor(routing: SharedArrayBuffer | RoutingTable, options: WriteClientOptions = {}) {
    this.routing = routing instanceof RoutingTable ? routing : RoutingTable.attach(routing);
    this.sessions = options.auth ? new SessionManager(options.auth) : null;
    this.connect = { tls: options.tls ? new TlsConnector(options.tls) : null, log: options.log };
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.totalTimeoutMs = options.totalTimeoutMs ?? 10_000;
    this.socketTimeoutMs = options.socketTimeoutMs ?? 10_000;
    this.maxInFlight = Math.max(1, options.maxCommandsInFlight ?? 32);
    this.maxConnectionsPerNode = Math.max(1, options.maxConnectionsPerNode ?? this.maxInFlight);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 55_000;
    this.snapshot = this.routing.snapshot();
    this.adoptSessions();
    this.trimTimer = setInterval(() => {
      for (const entry of this.pools.values()) entry.pool.trim();
    }, Math.max(1000, Math.min(this.idleTimeoutMs, 10_000)));
    this.trimTimer.unref();
  }

  /**
   * The routing slot of the node that masters the record's partition now (-1: none). Lets a caller
   * gather per-node batches, so that each command carries a full batch (per-command costs dominate
   * small commands). Throws NAMESPACE_NOT_FOUND.
   */
  routeOf(record: AsbRecord): number {
    this.refreshRouting();
    return this.masterSlot(record);
  }

  /** {@link routeOf} for a record given by its namespace and digest. */
  routeOfDigest(namespace: Buffer, digest: Uint8Array): number {
    this.refreshRouting();
    return this.liveOwner(this.namespaceOfBytes(namespace), partitionOf(digest));
  }

  /**
   * The routing slot of the node that masters the partition of the write row at `rowStart` of
   * `bytes` now (-1: none), from the namespace and digest the row carries. Throws NAMESPACE_NOT_FOUND.
   */
  routeOfRow(bytes: Buffer, rowStart: number): number {
    this.refreshRouting();
    // Read in place: this runs once per row handed between threads or retried.
    const field = rowStart + ROW_NAMESPACE_FIELD_OFFSET;
    const length = ((bytes[field] << 24) | (bytes[field + 1] << 16) | (bytes[field + 2] << 8) | bytes[field + 3]) - 1;
    const last = this.lastNamespace;
    const namespace = last !== null && sameBytesAt(last.nameBytes, bytes, field + 5, length) ? last : this.namespaceNamed(rowNamespace(bytes, rowStart));
    return this.liveOwner(namespace, partitionAt(bytes, rowStart + ROW_DIGEST_OFFSET));
  }

  /** Changes whenever the shared routing table does. */
  get routingGeneration(): number {
    return this.routing.generation;
  }

  /**
   * `out[partition]` = routing slot + 1 of the node that masters the partition of `namespace` now,
   * 0 when no live node does (what {@link routeOfDigest} gives, + 1, for every partition at once).
   * Throws NAMESPACE_NOT_FOUND.
   */
  fillOwnerSlots(namespace: Buffer, out: Uint16Array): void {
    this.refreshRouting();
    const routed = this.namespaceOfBytes(namespace);
    for (let partition = 0; partition < out.length; partition++) out[partition] = this.liveOwner(routed, partition) + 1;
  }

  /** Commands running now. */
  get inFlight(): number {
    return this.running;
  }

  /**
   * Writes `records` (their namespace already the target one) as batch commands, one per owning
   * node. `ttls[i]` is record i's TTL on the wire. Rejects only for NAMESPACE_NOT_FOUND (the
   * cluster has no such namespace), ENCODE (a record that cannot be sent) or CLOSED; every other
   * failure is in the result.
   */
  async writeBatch(records: readonly AsbRecord[], ttls: ArrayLike<number>, flags: WriteFlags): Promise<BatchResult> {
    const count = records.length;
    const resultCodes = new Int32Array(count).fill(ROW_UNANSWERED);
    const result: BatchResult = { resultCodes, unanswered: count, failures: [] };
    if (count === 0) return result;
    if (this.closed || this.routing.closed) throw this.closedError();
    this.refreshRouting();
    // Per slot + 1, the record indices in row order; each command takes its rows from the front.
    const indicesOfSlot: number[][] = [];
    const taken: number[] = [];
    const sent: Promise<void>[] = [];
    const commands = new NodeCommandSet(count, flags, (command) => {
      const at = command.slot + 1;
      const first = taken[at] ?? 0;
      const indices = indicesOfSlot[at].slice(first, first + command.rowCount);
      taken[at] = first + command.rowCount;
      sent.push(
        this.sendCommand(command).then(({ resultCodes: codes, failure }) => {
          for (let row = 0; row < indices.length; row++) resultCodes[indices[row]] = codes[row];
          if (failure !== null) {
            result.failures.push({ error: failure, rows: indices.filter((_, row) => codes[row] === ROW_UNANSWERED) });
          }
        }),
      );
    });
    for (let i = 0; i < count; i++) {
      const slot = this.masterSlot(records[i]);
      (indicesOfSlot[slot + 1] ??= []).push(i);
      commands.addRecord(slot, records[i], ttls[i], '');
    }
    commands.flush('');
    await Promise.all(sent);
    let unanswered = 0;
    for (let i = 0; i < count; i++) if (resultCodes[i] === ROW_UNANSWERED) unanswered++;
    result.unanswered = unanswered;
    return result;
  }

  /**
   * Sends an encoded batch command to the node it was built for and collects its rows' result
   * codes. Never rejects: a command that fails as a whole (including a node that has left, or
   * slot -1) reports why in `failure`, its unanswered rows ROW_UNANSWERED, `inDoubt` telling
   * whether the request reached the wire.
   */
  async sendCommand(command: EncodedCommand): Promise<CommandResult> {
    const resultCodes = new Int32Array(command.rowCount).fill(ROW_UNANSWERED);
    const failure = await this.runCommand(command, resultCodes);
    return { resultCodes, failure };
  }

  /**
   * Writes row `row` of `command` as a single-record write (byte-identical to writeRecord of its
   * record) to the command's node; resolves with the server's result code. Rejects with a typed
   * AerospikeError for client-side failures (connection, timeouts, no node).
   */
  async writeRow(command: EncodedCommand, row: number, flags: WriteFlags): Promise<number> {
    if (this.closed || this.routing.closed) throw this.closedError();
    const deadline = Date.now() + this.totalTimeoutMs;
    this.refreshRouting();
    if (command.slot < 0) {
      throw new AerospikeError(ClientErrorCode.PARTITION_UNAVAILABLE, `no live node masters the partition of the record at line ${command.lines[row]}`);
    }
    const request = encodeRecordWriteFromRow(command.bytes, command.rowOffsets[row], command.rowOffsets[row + 1], flags, this.totalTimeoutMs);
    return this.executeSingle(command.slot, request, deadline);
  }

  /**
   * Writes one record; resolves with the server's result code (0 = written). Rejects with a typed
   * AerospikeError for client-side failures (connection, timeouts, no node, encoding).
   */
  async writeRecord(record: AsbRecord, ttl: number, flags: WriteFlags): Promise<number> {
    if (this.closed || this.routing.closed) throw this.closedError();
    const deadline = Date.now() + this.totalTimeoutMs;
    this.refreshRouting();
    const slot = this.masterSlot(record);
    if (slot < 0) {
      throw new AerospikeError(ClientErrorCode.PARTITION_UNAVAILABLE, `no live node masters the partition of the record at line ${record.line}`);
    }
    const request = encodeRecordWrite(record, ttl, flags, this.totalTimeoutMs);
    return this.executeSingle(slot, request, deadline);
  }

  private async executeSingle(slot: number, request: Buffer, deadline: number): Promise<number> {
    await this.acquirePermit(deadline);
    try {
      const entry = this.poolFor(slot);
      const connection = await entry.pool.acquire(deadline);
      let resultCode = -1;
      try {
        await connection.execute(
          request,
          (type, body) => {
            if (type !== ProtoType.AS_MSG) throw unexpectedType(type, entry.pool.label);
            resultCode = parseRecordAnswer(body, entry.pool.label).resultCode;
            return true;
          },
          this.socketTimeoutMs,
          deadline,
        );
        if (needsNewLogin(resultCode)) this.sessionRefused(entry, connection);
        return resultCode;
      } finally {
        entry.pool.release(connection);
      }
    } finally {
      this.releasePermit();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.trimTimer);
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.closedError());
    }
    for (const entry of this.pools.values()) entry.pool.close();
    this.pools.clear();
  }

  // ---------------------------------------------------------------------------------------------

  /** Runs one batch command; fills `resultCodes` by row; returns why it failed as a whole, or null. */
  private async runCommand(command: EncodedCommand, resultCodes: Int32Array): Promise<AerospikeError | null> {
    const rows = command.rowCount;
    if (this.closed || this.routing.closed) return this.closedError();
    if (command.slot < 0) {
      return new AerospikeError(
        ClientErrorCode.PARTITION_UNAVAILABLE,
        `no live node masters the partitions of ${rows} record(s) (the cluster is changing)`,
      );
    }
    const deadline = Date.now() + this.totalTimeoutMs;
    this.refreshRouting();
    let permitted = false;
    try {
      const waiting = this.acquirePermit(deadline);
      if (waiting !== undefined) await waiting;
      permitted = true;
      const entry = this.poolFor(command.slot);
      const connection = await entry.pool.acquire(deadline);
      const label = entry.pool.label;
      const parser = new BatchAnswerParser(resultCodes, null, 0, label);
      try {
        command.bytes.writeUInt32BE(this.totalTimeoutMs >>> 0, TRANSACTION_TTL_OFFSET);
        await connection.execute(
          command.bytes,
          (type, body) => {
            if (type !== ProtoType.AS_MSG) throw unexpectedType(type, label);
            return parser.consume(body);
          },
          this.socketTimeoutMs,
          deadline,
        );
        if (parser.batchResultCode !== ResultCode.OK) {
          if (needsNewLogin(parser.batchResultCode)) this.sessionRefused(entry, connection);
          return serverError(parser.batchResultCode, `batch write of ${rows} records`, label);
        }
        if (parser.answered < rows) {
          return new AerospikeError(ClientErrorCode.PROTOCOL, `node ${label} ended a batch answer after ${parser.answered} of ${rows} records`, {
            node: label,
            inDoubt: true,
          });
        }
        return null;
      } finally {
        entry.pool.release(connection);
      }
    } catch (error) {
      return error instanceof AerospikeError
        ? error
        : new AerospikeError(ClientErrorCode.PROTOCOL, `batch write failed: ${(error as Error).message}`, { cause: error, inDoubt: true });
    } finally {
      if (permitted) this.releasePermit();
    }
  }

  /** The node slot mastering the record's partition, or -1 when no live node does. */
  private masterSlot(record: AsbRecord): number {
    return this.liveOwner(this.namespaceOf(record), partitionOf(record.digest));
  }

  private liveOwner(namespace: RoutedNamespace, partition: number): number {
    const owner = namespace.owners[partition] - 1;
    if (owner < 0) return -1;
    const node = this.snapshot.nodes[owner];
    return node !== undefined && node.state === NodeState.ACTIVE ? owner : -1;
  }

  private namespaceOf(record: AsbRecord): RoutedNamespace {
    return this.namespaceOfBytes(record.namespace);
  }

  private namespaceOfBytes(bytes: Buffer): RoutedNamespace {
    if (bytes === this.lastNamespaceBytes && this.lastNamespace !== null) return this.lastNamespace;
    const namespace = this.namespaceNamed(bytes);
    this.lastNamespaceBytes = bytes;
    return namespace;
  }

  private namespaceNamed(bytes: Uint8Array): RoutedNamespace {
    const last = this.lastNamespace;
    if (last !== null && sameBytes(last.nameBytes, bytes)) return last;
    for (const namespace of this.snapshot.namespaces) {
      if (sameBytes(namespace.nameBytes, bytes)) {
        this.lastNamespaceBytes = bytes;
        this.lastNamespace = namespace;
        return namespace;
      }
    }
    const known = this.snapshot.namespaces.map((namespace) => namespace.name);
    throw new AerospikeError(
      ClientErrorCode.NAMESPACE_NOT_FOUND,
      `namespace '${Buffer.from(bytes).toString('utf8')}' does not exist in the cluster (it has: ${known.length === 0 ? 'none' : known.join(', ')})`,
    );
  }

  /** Takes a new snapshot when the tender published changes; drops pools of changed nodes. */
  private refreshRouting(): void {
    if (!this.routing.changedSince(this.snapshot.generation)) return;
    this.snapshot = this.routing.snapshot();
    this.lastNamespaceBytes = null;
    this.lastNamespace = null;
    for (const [slot, entry] of this.pools) {
      const node = this.snapshot.nodes[slot];
      if (node === undefined || node.state !== NodeState.ACTIVE || node.incarnation !== entry.incarnation) {
        entry.pool.close();
        this.pools.delete(slot);
      }
    }
    this.adoptSessions();
  }

  private adoptSessions(): void {
    const sessions = this.sessions;
    if (sessions === null) return;
    for (const node of this.snapshot.nodes) {
      if (node === undefined || node.state !== NodeState.ACTIVE) continue;
      if (this.adoptedTokens.get(node.name) === node.tokenVersion) continue;
      this.adoptedTokens.set(node.name, node.tokenVersion);
      if (node.sessionState === SessionState.NOT_NEEDED) sessions.adopt(node.name, null);
      else if (node.sessionState === SessionState.TOKEN && node.token !== null) {
        sessions.adopt(node.name, { token: node.token, expiresAtMs: node.tokenExpiresAtMs });
      }
    }
  }

  private poolFor(slot: number): NodePool {
    const existing = this.pools.get(slot);
    if (existing !== undefined) return existing;
    const node = this.snapshot.nodes[slot];
    if (node === undefined || node.state !== NodeState.ACTIVE) {
      throw new AerospikeError(ClientErrorCode.NODE_NOT_FOUND, `the node in routing slot ${slot} has left the cluster`);
    }
    const address = { host: node.host, port: node.port, tlsName: node.tlsName };
    const label = `${node.name} ${formatAddress(address)}`;
    const sessions = this.sessions;
    const entry: NodePool = {
      incarnation: node.incarnation,
      node,
      pool: new ConnectionPool(address, label, {
        connect: this.connect,
        maxConnections: this.maxConnectionsPerNode,
        connectTimeoutMs: this.connectTimeoutMs,
        idleTimeoutMs: this.idleTimeoutMs,
        setup:
          sessions === null
            ? undefined
            : async (connection, deadline) => {
                const before = sessions.session(node.name);
                await sessions.authenticateConnection(node.name, connection.adminTransport(this.connectTimeoutMs, deadline));
                // The shared token was refused and this connection logged in itself: renew it for all.
                if (sessions.session(node.name) !== before) this.routing.requestLogin(slot);
              },
      }),
    };
    this.pools.set(slot, entry);
    return entry;
  }

  /** A command said the session expired: renew it, and do not reuse this connection. */
  private sessionRefused(entry: NodePool, connection: Connection): void {
    this.sessions?.requestLogin(entry.node.name);
    this.routing.requestLogin(entry.node.slot);
    connection.close();
  }

  private acquirePermit(deadline: number): Promise<void> | void {
    if (this.running < this.maxInFlight) {
      this.running++;
      return;
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(
            new AerospikeError(
              ClientErrorCode.TOTAL_TIMEOUT,
              `the command waited for one of ${this.maxInFlight} in-flight places past its total timeout of ${this.totalTimeoutMs} ms`,
            ),
          );
        }, Math.max(deadline - Date.now(), 1)),
      };
      this.waiters.push(waiter);
    });
  }

  private releasePermit(): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    } else {
      this.running--;
    }
  }

  private closedError(): AerospikeError {
    return new AerospikeError(ClientErrorCode.CLOSED, 'the write client or its cluster is closed');
  }
}

/** Byte equality for short names (a native compare costs more than the loop). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return sameBytesAt(a, b, 0, b.length);
}

/** Whether `a` equals the `length` bytes of `b` at `offset`. */
function sameBytesAt(a: Uint8Array, b: Uint8Array, offset: number, length: number): boolean {
  if (a.length !== length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[offset + i]) return false;
  return true;
}

function unexpectedType(type: number, label: string): AerospikeError {
  return new AerospikeError(ClientErrorCode.PROTOCOL, `node ${label} answered a write with a type ${type} message`, { node: label });
}
