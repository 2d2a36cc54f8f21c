/**
 * The routing table in a SharedArrayBuffer: one tender (the main thread's Cluster) writes it, any
 * number of worker threads read it, so every worker routes by the same partition map without
 * tending the cluster itself.
 *
 * Layout (all offsets in bytes, integers in the platform's order; the buffer never leaves the process):
 *   header      16 × int32: SEQ, GENERATION, NODE_SLOTS_USED, NAMESPACE_COUNT, CLOSED, MAX_NODES,
 *               MAX_NAMESPACES, NODE_SLOT_BYTES, TOKEN_CAPACITY, MAGIC, LOGIN_REQUESTS, ...
 *   node slots  MAX_NODES × NODE_SLOT_BYTES:
 *               int32 state (0 empty, 1 active, 2 removed), int32 incarnation (bumped whenever the
 *               slot's node or address changes, so workers drop their connections to it),
 *               int32 port, int32 login-requested, int32 token version, int32 token length,
 *               int32 session state, int32 token expiry (Unix seconds),
 *               host (u8 length + 255), TLS name (u8 length + 255), node name (u8 length + 63),
 *               session token (TOKEN_CAPACITY bytes)
 *   namespaces  MAX_NAMESPACES × (name: u8 length + 31 bytes, int32 replica count, int32 sc flag,
 *               4096 × uint16 master owner: node slot + 1, 0 = no live owner)
 *
 * Consistency: a sequence lock. The tender makes SEQ odd, writes, bumps GENERATION, makes SEQ even;
 * a reader copies what it needs and retries when SEQ was odd or changed meanwhile. Readers keep a
 * snapshot and refresh it only when GENERATION moved, so the hot path costs one atomic load.
 * Workers write only their login requests (Atomics), outside the lock.
 */
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import { NAMESPACE_NAME_MAX, PARTITION_COUNT } from './replicas.js';

const Header = {
  SEQ: 0,
  GENERATION: 1,
  NODE_SLOTS_USED: 2,
  NAMESPACE_COUNT: 3,
  CLOSED: 4,
  MAX_NODES: 5,
  MAX_NAMESPACES: 6,
  NODE_SLOT_BYTES: 7,
  TOKEN_CAPACITY: 8,
  MAGIC: 9,
  /** Bumped by a worker whenever it sets a node's login-requested flag; the tender watches it. */
  LOGIN_REQUESTS: 10,
} as const;
const HEADER_BYTES = 64;
const MAGIC = 0x41535254; // "ASRT"

const NodeField = {
  STATE: 0,
  INCARNATION: 1,
  PORT: 2,
  LOGIN_REQUESTED: 3,
  TOKEN_VERSION: 4,
  TOKEN_LENGTH: 5,
  SESSION_STATE: 6,
  /** Seconds since the Unix epoch (as uint32) when the token stops being used; 0 = never. */
  TOKEN_EXPIRES: 7,
} as const;
const NODE_INTS_BYTES = 32;

/** What a node's session slot holds. */
export const SessionState = {
  /** No login has succeeded yet: a connection must log in itself. */
  UNKNOWN: 0,
  /** A session token is stored. */
  TOKEN: 1,
  /** The node answered SECURITY_NOT_ENABLED: no authentication needed. */
  NOT_NEEDED: 2,
} as const;
const HOST_OFFSET = NODE_INTS_BYTES;
const HOST_MAX = 255;
const TLS_NAME_OFFSET = HOST_OFFSET + 1 + HOST_MAX;
const TLS_NAME_MAX = 255;
const NAME_OFFSET = TLS_NAME_OFFSET + 1 + TLS_NAME_MAX;
const NAME_MAX = 63;
const TOKEN_OFFSET = NAME_OFFSET + 1 + NAME_MAX;

const NS_NAME_BYTES = 32;
const NS_INTS_OFFSET = NS_NAME_BYTES;
const NS_OWNERS_OFFSET = NS_NAME_BYTES + 8;
const NS_SLOT_BYTES = NS_OWNERS_OFFSET + PARTITION_COUNT * 2;

export const NodeState = { EMPTY: 0, ACTIVE: 1, REMOVED: 2 } as const;

export interface RoutingTableCapacity {
  /** Node slots (a removed node's slot is reused by a later one). Default 256. */
  maxNodes?: number;
  /** Namespaces tracked. Default 32 (the server's limit). */
  maxNamespaces?: number;
  /** Largest session token stored. Default 2048 bytes. */
  tokenCapacity?: number;
}

export interface RoutedNode {
  slot: number;
  state: number;
  incarnation: number;
  name: string;
  host: string;
  port: number;
  tlsName: string | null;
  /** SessionState of the node's login. */
  sessionState: number;
  /** The node's session token when sessionState is TOKEN. */
  token: Buffer | null;
  /** Date.now() milliseconds when the token stops being used; 0 = never. */
  tokenExpiresAtMs: number;
  tokenVersion: number;
}

export interface RoutedNamespace {
  name: string;
  /** Name bytes, to match records' namespace Buffers without decoding them. */
  nameBytes: Buffer;
  replicaCount: number;
  strongConsistency: boolean;
  /** Per partition: node slot + 1 of the master, 0 when no live node owns it. */
  owners: Uint16Array;
}

/** A consistent copy of the table as of `generation`. */
export interface RoutingSnapshot {
  generation: number;
  closed: boolean;
  /** Indexed by slot; undefined for slots never used. */
  nodes: (RoutedNode | undefined)[];
  namespaces: RoutedNamespace[];
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class RoutingTable {
  readonly buffer: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly bytes: Uint8Array;
  readonly maxNodes: number;
  readonly maxNamespaces: number;
  readonly tokenCapacity: number;
  private readonly nodeSlotBytes: number;
  private readonly namespacesOffset: number;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.ints = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    if (this.ints[Header.MAGIC] !== MAGIC) {
      throw new AerospikeError(ClientErrorCode.PROTOCOL, 'the buffer given is not a routing table');
    }
    this.maxNodes = this.ints[Header.MAX_NODES];
    this.maxNamespaces = this.ints[Header.MAX_NAMESPACES];
    this.nodeSlotBytes = this.ints[Header.NODE_SLOT_BYTES];
    this.tokenCapacity = this.ints[Header.TOKEN_CAPACITY];
    this.namespacesOffset = HEADER_BYTES + this.maxNodes * this.nodeSlotBytes;
  }

  /** A new, empty table (the tender's side). */
  static create(capacity: RoutingTableCapacity = {}): RoutingTable {
    const maxNodes = capacity.maxNodes ?? 256;
    const maxNamespaces = capacity.maxNamespaces ?? 32;
    const tokenCapacity = capacity.tokenCapacity ?? 2048;
    const nodeSlotBytes = align4(TOKEN_OFFSET + tokenCapacity);
    const size = HEADER_BYTES + maxNodes * nodeSlotBytes + maxNamespaces * NS_SLOT_BYTES;
    const buffer = new SharedArrayBuffer(size);
    const ints = new Int32Array(buffer);
    ints[Header.MAX_NODES] = maxNodes;
    ints[Header.MAX_NAMESPACES] = maxNamespaces;
    ints[Header.NODE_SLOT_BYTES] = nodeSlotBytes;
    ints[Header.TOKEN_CAPACITY] = tokenCapacity;
    Atomics.store(ints, Header.MAGIC, MAGIC);
    return new RoutingTable(buffer);
  }

  /** Attaches to a table another thread created (a worker's side). */
  static attach(buffer: SharedArrayBuffer): RoutingTable {
    return new RoutingTable(buffer);
  }

  get generation(): number {
    return Atomics.load(this.ints, Header.GENERATION);
  }

  /**
   * Whether the table moved past `generation`, read without an atomic (checked once per routed row:
   * Atomics.load is a builtin call there). A stale read only delays the refresh to the next row;
   * {@link snapshot} then reads the table under the sequence lock.
   */
  changedSince(generation: number): boolean {
    return this.ints[Header.GENERATION] !== generation;
  }

  get closed(): boolean {
    return Atomics.load(this.ints, Header.CLOSED) !== 0;
  }

  // ---- writer side (the tender; one thread only) ----

  /** Runs `write` under the sequence lock and publishes a new generation. */
  update(write: (writer: RoutingTableWriter) => void): void {
    Atomics.add(this.ints, Header.SEQ, 1);
    try {
      write(new RoutingTableWriter(this));
    } finally {
      Atomics.add(this.ints, Header.GENERATION, 1);
      Atomics.add(this.ints, Header.SEQ, 1);
    }
  }

  markClosed(): void {
    this.update(() => Atomics.store(this.ints, Header.CLOSED, 1));
  }

  /** @internal */ nodeBase(slot: number): number {
    return HEADER_BYTES + slot * this.nodeSlotBytes;
  }

  /** @internal */ namespaceBase(index: number): number {
    return this.namespacesOffset + index * NS_SLOT_BYTES;
  }

  /** @internal */ get rawInts(): Int32Array {
    return this.ints;
  }

  /** @internal */ get rawBytes(): Uint8Array {
    return this.bytes;
  }

  // ---- login requests (workers → tender) ----

  /** A worker's note that the node's session token was refused: the tender should log in again. */
  requestLogin(slot: number): void {
    const base = this.nodeBase(slot) >> 2;
    if (Atomics.compareExchange(this.ints, base + NodeField.LOGIN_REQUESTED, 0, 1) === 0) {
      Atomics.add(this.ints, Header.LOGIN_REQUESTS, 1);
    }
  }

  /** Tender: takes (and clears) the login request of a slot. */
  takeLoginRequest(slot: number): boolean {
    const base = this.nodeBase(slot) >> 2;
    return Atomics.exchange(this.ints, base + NodeField.LOGIN_REQUESTED, 0) !== 0;
  }

  get loginRequestCount(): number {
    return Atomics.load(this.ints, Header.LOGIN_REQUESTS);
  }

  // ---- reader side ----

  /** A consistent copy of the whole table. */
  snapshot(): RoutingSnapshot {
    const ints = this.ints;
    for (let attempt = 0; ; attempt++) {
      const seq = Atomics.load(ints, Header.SEQ);
      if ((seq & 1) !== 0) {
        pause(attempt);
        continue;
      }
      const snapshot = this.copy();
      if (Atomics.load(ints, Header.SEQ) === seq) return snapshot;
    }
  }

  private copy(): RoutingSnapshot {
    const ints = this.ints;
    const bytes = this.bytes;
    const generation = ints[Header.GENERATION];
    const nodes: (RoutedNode | undefined)[] = [];
    const used = Math.min(ints[Header.NODE_SLOTS_USED], this.maxNodes);
    for (let slot = 0; slot < used; slot++) {
      const base = this.nodeBase(slot);
      const intBase = base >> 2;
      const state = ints[intBase + NodeField.STATE];
      if (state === NodeState.EMPTY) {
        nodes.push(undefined);
        continue;
      }
      const tokenLength = Math.min(Math.max(ints[intBase + NodeField.TOKEN_LENGTH], 0), this.tokenCapacity);
      const tlsName = readShortString(bytes, base + TLS_NAME_OFFSET);
      nodes.push({
        slot,
        state,
        incarnation: ints[intBase + NodeField.INCARNATION],
        port: ints[intBase + NodeField.PORT],
        host: readShortString(bytes, base + HOST_OFFSET),
        tlsName: tlsName === '' ? null : tlsName,
        name: readShortString(bytes, base + NAME_OFFSET),
        sessionState: ints[intBase + NodeField.SESSION_STATE],
        token: tokenLength > 0 ? Buffer.from(bytes.slice(base + TOKEN_OFFSET, base + TOKEN_OFFSET + tokenLength)) : null,
        tokenExpiresAtMs: (ints[intBase + NodeField.TOKEN_EXPIRES] >>> 0) * 1000,
        tokenVersion: ints[intBase + NodeField.TOKEN_VERSION],
      });
    }
    const namespaces: RoutedNamespace[] = [];
    const nsCount = Math.min(ints[Header.NAMESPACE_COUNT], this.maxNamespaces);
    for (let i = 0; i < nsCount; i++) {
      const base = this.namespaceBase(i);
      const nameLength = Math.min(bytes[base], NAMESPACE_NAME_MAX);
      const nameBytes = Buffer.from(bytes.slice(base + 1, base + 1 + nameLength));
      const owners = new Uint16Array(PARTITION_COUNT);
      owners.set(new Uint16Array(this.buffer, base + NS_OWNERS_OFFSET, PARTITION_COUNT));
      namespaces.push({
        name: utf8Decoder.decode(nameBytes),
        nameBytes,
        replicaCount: ints[(base + NS_INTS_OFFSET) >> 2],
        strongConsistency: ints[((base + NS_INTS_OFFSET) >> 2) + 1] !== 0,
        owners,
      });
    }
    return { generation, closed: ints[Header.CLOSED] !== 0, nodes, namespaces };
  }
}

/** Writes inside RoutingTable.update(). */
export class RoutingTableWriter {
  constructor(private readonly table: RoutingTable) {}

  setNode(
    slot: number,
    node: { name: string; host: string; port: number; tlsName: string | null; state: number },
    newIncarnation: boolean,
  ): void {
    const table = this.table;
    if (slot < 0 || slot >= table.maxNodes) {
      throw new AerospikeError(ClientErrorCode.PROTOCOL, `the cluster has more than ${table.maxNodes} nodes`);
    }
    const ints = table.rawInts;
    const bytes = table.rawBytes;
    const base = table.nodeBase(slot);
    const intBase = base >> 2;
    writeShortString(bytes, base + HOST_OFFSET, node.host, HOST_MAX, 'host');
    writeShortString(bytes, base + TLS_NAME_OFFSET, node.tlsName ?? '', TLS_NAME_MAX, 'TLS name');
    writeShortString(bytes, base + NAME_OFFSET, node.name, NAME_MAX, 'node name');
    ints[intBase + NodeField.PORT] = node.port;
    ints[intBase + NodeField.STATE] = node.state;
    if (newIncarnation) ints[intBase + NodeField.INCARNATION]++;
    if (slot >= ints[Header.NODE_SLOTS_USED]) ints[Header.NODE_SLOTS_USED] = slot + 1;
  }

  setNodeState(slot: number, state: number): void {
    const table = this.table;
    table.rawInts[(table.nodeBase(slot) >> 2) + NodeField.STATE] = state;
  }

  /** Publishes a node's session: undefined = none yet, null = not needed, else the token. */
  setSession(slot: number, session: { token: Uint8Array; expiresAtMs: number } | null | undefined): void {
    const table = this.table;
    const token = session ? session.token : null;
    const length = token === null ? 0 : token.length;
    if (length > table.tokenCapacity) {
      throw new AerospikeError(
        ClientErrorCode.AUTH,
        `the server's session token of ${length} bytes exceeds the routing table's ${table.tokenCapacity}-byte capacity`,
      );
    }
    const base = table.nodeBase(slot);
    const intBase = base >> 2;
    if (token !== null) table.rawBytes.set(token, base + TOKEN_OFFSET);
    table.rawInts[intBase + NodeField.TOKEN_LENGTH] = length;
    table.rawInts[intBase + NodeField.SESSION_STATE] =
      session === undefined ? SessionState.UNKNOWN : session === null ? SessionState.NOT_NEEDED : SessionState.TOKEN;
    table.rawInts[intBase + NodeField.TOKEN_EXPIRES] = session ? Math.ceil(session.expiresAtMs / 1000) | 0 : 0;
    table.rawInts[intBase + NodeField.TOKEN_VERSION]++;
  }

  /** Adds (or finds) a namespace; returns its index. */
  namespaceIndex(name: string, replicaCount: number, strongConsistency: boolean): number {
    const table = this.table;
    const ints = table.rawInts;
    const bytes = table.rawBytes;
    const encoded = utf8.encode(name);
    const count = ints[Header.NAMESPACE_COUNT];
    for (let i = 0; i < count; i++) {
      const base = table.namespaceBase(i);
      if (bytes[base] === encoded.length && equalBytes(bytes, base + 1, encoded)) {
        ints[(base + NS_INTS_OFFSET) >> 2] = replicaCount;
        ints[((base + NS_INTS_OFFSET) >> 2) + 1] = strongConsistency ? 1 : 0;
        return i;
      }
    }
    if (count >= table.maxNamespaces) {
      throw new AerospikeError(ClientErrorCode.PROTOCOL, `the cluster has more than ${table.maxNamespaces} namespaces`);
    }
    if (encoded.length > NAMESPACE_NAME_MAX) {
      throw new AerospikeError(ClientErrorCode.PROTOCOL, `namespace name "${name}" is longer than ${NAMESPACE_NAME_MAX} bytes`);
    }
    const base = table.namespaceBase(count);
    bytes[base] = encoded.length;
    bytes.set(encoded, base + 1);
    ints[(base + NS_INTS_OFFSET) >> 2] = replicaCount;
    ints[((base + NS_INTS_OFFSET) >> 2) + 1] = strongConsistency ? 1 : 0;
    new Uint16Array(table.buffer, base + NS_OWNERS_OFFSET, PARTITION_COUNT).fill(0);
    ints[Header.NAMESPACE_COUNT] = count + 1;
    return count;
  }

  /** Copies a whole owner map (slot + 1 per partition, 0 = none) into a namespace. */
  setOwners(namespaceIndex: number, owners: Uint16Array): void {
    const table = this.table;
    new Uint16Array(table.buffer, table.namespaceBase(namespaceIndex) + NS_OWNERS_OFFSET, PARTITION_COUNT).set(owners);
  }
}

function equalBytes(bytes: Uint8Array, offset: number, other: Uint8Array): boolean {
  for (let i = 0; i < other.length; i++) if (bytes[offset + i] !== other[i]) return false;
  return true;
}

function writeShortString(bytes: Uint8Array, offset: number, text: string, max: number, what: string): void {
  const encoded = utf8.encode(text);
  if (encoded.length > max) {
    throw new AerospikeError(ClientErrorCode.PROTOCOL, `${what} "${text.slice(0, 80)}" is longer than ${max} bytes`);
  }
  bytes[offset] = encoded.length;
  bytes.set(encoded, offset + 1);
}

function readShortString(bytes: Uint8Array, offset: number): string {
  const length = bytes[offset];
  return utf8Decoder.decode(bytes.slice(offset + 1, offset + 1 + length));
}

const canWait = (() => {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/** Backs off while the writer holds the lock: spin first, then sleep a millisecond where allowed. */
function pause(attempt: number): void {
  if (attempt < 1000) return;
  if (canWait) Atomics.wait(pauseCell, 0, 0, 1);
}
