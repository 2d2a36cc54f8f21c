/**
 * One cluster node as the tender sees it (C client as_node.c, as_lookup.c): how it is validated
 * (`node`, `partition-generation`, `build`, optional `cluster-name` and load-balancer check), its
 * dedicated tend connection (authenticated with the node's session, renewed by a new login when
 * due), and a small pool for the caller's info commands.
 */
import { networkInterfaces } from 'node:os';
import { Connection, type ConnectSettings } from './connection.js';
import { ConnectionPool } from './pool.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import { formatAddress, parseServiceAddresses, type HostAddress } from './host-list.js';
import { parseInfoError } from './info-codec.js';
import { ResultCode } from './protocol.js';
import { login, type PreparedAuth, type SessionManager } from './auth.js';

export interface NodeContext {
  connect: ConnectSettings;
  /** Connect and info timeout (asrestore --timeout). */
  timeoutMs: number;
  sessions: SessionManager | null;
  auth: PreparedAuth | null;
  clusterName: string | null;
  servicesAlternate: boolean;
  /** Sent with user-agent-set to servers 8.1 and later: "1,<client>-<version>,<app id>". */
  userAgent: string;
  log: (level: 'debug' | 'info' | 'warn', message: string) => void;
}

/** Compares dotted versions numerically ("8.1.2.0" > "8.1.10" is false). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((part) => parseInt(part, 10) || 0);
  const pb = b.split('.').map((part) => parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Partition scans (4.9) are the oldest servers the C client (and asrestore) accept. */
export const MIN_SERVER_VERSION = '4.9';

export function isLocalAddress(ip: string | undefined): boolean {
  if (ip === undefined) return false;
  const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (plain.startsWith('127.') || plain === '::1') return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (entry.address === plain) return true;
  }
  return false;
}

function sessionKey(address: HostAddress): string {
  return `address ${formatAddress(address)}`;
}

/** Authenticates a fresh connection to a node known by `key` (its name, or its address before that). */
export async function authenticateConnection(
  context: NodeContext,
  key: string,
  connection: Connection,
  deadline: number,
): Promise<void> {
  if (context.sessions === null) return;
  await context.sessions.authenticateConnection(key, connection.adminTransport(context.timeoutMs, deadline));
}

export interface ProbedNode {
  name: string;
  build: string;
  address: HostAddress;
  connection: Connection;
}

function infoValue(answers: Map<string, string>, command: string, label: string): string {
  const value = answers.get(command);
  if (value === undefined) {
    // A secured node answers a request from an unauthenticated connection with one bare error line.
    for (const line of answers.keys()) {
      const error = parseInfoError(line);
      if (error === null) continue;
      if (error.code === ResultCode.NOT_AUTHENTICATED) {
        throw new AerospikeError(ClientErrorCode.AUTH, `node ${label} requires authentication: give a user and password (or --auth PKI)`, {
          node: label,
          resultCode: error.code,
        });
      }
      throw new AerospikeError(ClientErrorCode.INFO, `node ${label} answered the info request with ${line}`, { node: label, resultCode: error.code });
    }
    throw new AerospikeError(ClientErrorCode.PROTOCOL, `invalid node info answer from ${label}: no "${command}"`, { node: label });
  }
  if (value.startsWith('ERROR:')) {
    throw new AerospikeError(ClientErrorCode.INFO, `node ${label} answered "${command}" with ${value}`, {
      node: label,
      resultCode: parseInfoError(value)?.code,
    });
  }
  return value;
}

/**
 * Connects to `address`, logs in, and checks it is a usable node of the expected cluster
 * (as_lookup_node). For seeds that are not local addresses, also checks whether the address is a
 * load balancer and switches to the node's own service address if so.
 */
export async function probeNode(
  context: NodeContext,
  address: HostAddress,
  options: { detectLoadBalancer: boolean; expectedName?: string },
  deadline: number,
): Promise<ProbedNode> {
  const label = formatAddress(address);
  const connection = await Connection.open(address, context.connect, deadline, label);
  try {
    const key = sessionKey(address);
    await authenticateConnection(context, key, connection, deadline);
    const commands = ['node', 'partition-generation', 'build'];
    if (context.clusterName !== null) commands.push('cluster-name');
    const detect = options.detectLoadBalancer && !isLocalAddress(connection.remoteAddress);
    const serviceCommand = serviceCommandName(context);
    if (detect) commands.push(serviceCommand);
    const answers = await connection.info(commands, context.timeoutMs, deadline);
    const name = infoValue(answers, 'node', label);
    if (name === '') throw new AerospikeError(ClientErrorCode.PROTOCOL, `node at ${label} sent an empty node name`, { node: label });
    if (options.expectedName !== undefined && name !== options.expectedName) {
      throw new AerospikeError(
        ClientErrorCode.NODE_NOT_FOUND,
        `peer ${label} is node ${name}, not the expected node ${options.expectedName}`,
        { node: label },
      );
    }
    const generation = infoValue(answers, 'partition-generation', label);
    if (generation === '-1' || generation === '4294967295') {
      throw new AerospikeError(ClientErrorCode.CONNECTION, `node ${name} ${label} is not yet fully initialized`, { node: label });
    }
    const build = infoValue(answers, 'build', label);
    if (!/^\d+(\.\d+)*/.test(build)) {
      throw new AerospikeError(ClientErrorCode.PROTOCOL, `node ${name} ${label} version is invalid: ${build}`, { node: label });
    }
    if (compareVersions(build, MIN_SERVER_VERSION) < 0) {
      throw new AerospikeError(
        ClientErrorCode.PROTOCOL,
        `node ${name} ${label} runs server ${build}; server ${MIN_SERVER_VERSION} or later is required`,
        { node: label },
      );
    }
    if (context.clusterName !== null) {
      const actual = answers.get('cluster-name') ?? '';
      if (actual !== context.clusterName) {
        throw new AerospikeError(
          ClientErrorCode.CLUSTER_NAME_MISMATCH,
          `node ${name} ${label} belongs to cluster '${actual}', not the expected cluster '${context.clusterName}'`,
          { node: label },
        );
      }
    }
    if (context.sessions !== null) {
      const session = context.sessions.session(key);
      if (session !== undefined) context.sessions.adopt(name, session);
      context.sessions.forget(key);
    }
    const probed: ProbedNode = { name, build, address, connection };
    if (detect) {
      const switched = await switchFromLoadBalancer(context, probed, answers.get(serviceCommand) ?? '', deadline);
      if (switched !== null) return switched;
    }
    return probed;
  } catch (error) {
    connection.close();
    throw error;
  }
}

function serviceCommandName(context: NodeContext): string {
  const kind = context.connect.tls !== null ? 'tls' : 'clear';
  return `service-${kind}-${context.servicesAlternate ? 'alt' : 'std'}`;
}

/**
 * as_set_node_address: when the seed address is not among the node's own service addresses, it
 * is probably a load balancer; use the first service address that reaches the same node.
 */
async function switchFromLoadBalancer(
  context: NodeContext,
  probed: ProbedNode,
  services: string,
  deadline: number,
): Promise<ProbedNode | null> {
  if (services === '' || parseInfoError(services) !== null) return null;
  let hosts: HostAddress[];
  try {
    hosts = parseServiceAddresses(services, probed.address.tlsName);
  } catch {
    return null;
  }
  const dialled = probed.connection.remoteAddress;
  if (hosts.some((host) => host.host === probed.address.host || host.host === dialled)) return null;
  for (const host of hosts) {
    let connection: Connection | null = null;
    try {
      connection = await Connection.open(host, context.connect, deadline);
      await authenticateConnection(context, probed.name, connection, deadline);
      const name = (await connection.info(['node'], context.timeoutMs, deadline)).get('node');
      if (name === probed.name) {
        context.log('info', `switching node ${probed.name} from ${formatAddress(probed.address)} to its access address ${formatAddress(host)}`);
        probed.connection.close();
        return { ...probed, address: host, connection };
      }
    } catch {
      // Try the next address.
    }
    connection?.close();
  }
  context.log('info', `node ${probed.name}: service addresses ${services} are not reachable; keeping ${formatAddress(probed.address)}`);
  return null;
}

/** A live node of the cluster, on the tender's side. */
export class ClusterNode {
  readonly name: string;
  build: string;
  address: HostAddress;
  label: string;
  /** Routing-table slot; assigned when the node joins the table. */
  slot = -1;
  active = true;
  /** Consecutive tend failures. */
  failures = 0;
  /** Peers that listed this node in the current tend. */
  friends = 0;
  peersGeneration = -1;
  partitionGeneration = -1;
  peersCount = 0;
  partitionChanged = true;
  /** Partitions (all namespaces) this node is master of in the current map. */
  partitionRefCount = 0;
  /** A login was asked for (a worker's token was refused, or a command said the session expired). */
  loginRequested = false;
  private tendConnection: Connection | null;
  private readonly infoPool: ConnectionPool;
  private userAgentSent = false;

  constructor(
    probed: ProbedNode,
    private readonly context: NodeContext,
  ) {
    this.name = probed.name;
    this.build = probed.build;
    this.address = probed.address;
    this.label = `${probed.name} ${formatAddress(probed.address)}`;
    this.tendConnection = probed.connection;
    probed.connection.label = this.label;
    this.infoPool = new ConnectionPool(this.address, this.label, {
      connect: context.connect,
      maxConnections: 4,
      connectTimeoutMs: context.timeoutMs,
      setup: (connection, deadline) => authenticateConnection(context, this.name, connection, deadline),
    });
  }

  /** Info commands on the tend connection, reopened and authenticated as needed. */
  async tendInfo(commands: readonly string[]): Promise<Map<string, string>> {
    const deadline = Date.now() + this.context.timeoutMs;
    const connection = await this.readyTendConnection(deadline);
    try {
      return await connection.info(commands, this.context.timeoutMs, deadline);
    } catch (error) {
      this.closeTendConnection();
      throw error;
    }
  }

  /** Info commands for the caller, on a pooled connection. */
  async info(commands: readonly string[]): Promise<Map<string, string>> {
    const deadline = Date.now() + this.context.timeoutMs;
    const connection = await this.infoPool.acquire(deadline);
    try {
      return await connection.info(commands, this.context.timeoutMs, deadline);
    } finally {
      this.infoPool.release(connection);
    }
  }

  close(): void {
    this.active = false;
    this.closeTendConnection();
    this.infoPool.close();
  }

  private closeTendConnection(): void {
    this.tendConnection?.close();
    this.tendConnection = null;
  }

  private async readyTendConnection(deadline: number): Promise<Connection> {
    const sessions = this.context.sessions;
    let connection = this.tendConnection;
    if (connection === null || !connection.isOpen) {
      this.tendConnection = null;
      if (sessions !== null && this.loginRequested) sessions.requestLogin(this.name);
      connection = await Connection.open(this.address, this.context.connect, deadline, this.label);
      try {
        await authenticateConnection(this.context, this.name, connection, deadline);
      } catch (error) {
        connection.close();
        throw error;
      }
      this.tendConnection = connection;
      this.loginRequested = false;
      this.userAgentSent = false;
    } else if (sessions !== null && this.context.auth !== null && (this.loginRequested || sessions.shouldLogin(this.name))) {
      // as_node_get_tend_connection: renew the session on the open tend connection.
      const session = await login(connection.adminTransport(this.context.timeoutMs, deadline), this.context.auth, { node: this.label });
      sessions.adopt(this.name, session);
      this.loginRequested = false;
    }
    if (!this.userAgentSent) {
      this.userAgentSent = true;
      if (compareVersions(this.build, '8.1') >= 0) {
        const value = Buffer.from(this.context.userAgent).toString('base64');
        // Only informative for the server's logs; a refusal changes nothing.
        await connection.info([`user-agent-set:value=${value}`], this.context.timeoutMs, deadline).catch(() => undefined);
      }
    }
    if (!connection.isOpen) throw new AerospikeError(ClientErrorCode.CONNECTION, `tend connection to ${this.label} closed`, { node: this.label });
    return connection;
  }
}
