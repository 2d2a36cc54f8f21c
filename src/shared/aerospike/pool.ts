/**
 * Connections to one node, owned by the thread that uses them (sockets cannot move between
 * threads). At most `maxConnections` exist at once, connecting ones included; callers beyond that
 * wait in order. A connection comes back after a successful command; a failed one is closed and
 * its place freed, so a broken connection is replaced by a fresh one on the next acquire.
 * Idle connections older than `idleTimeoutMs` are closed instead of reused (the server may have
 * dropped them: proto-fd-idle-ms).
 */
import { Connection, type ConnectSettings } from './connection.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import type { HostAddress } from './host-list.js';

export interface PoolSettings {
  connect: ConnectSettings;
  maxConnections: number;
  /** Longest idle time before a pooled connection is closed rather than reused. Default 55 s. */
  idleTimeoutMs?: number;
  /** Longest time to open (and set up) a connection; bounded by the command's deadline. */
  connectTimeoutMs: number;
  /** Runs on each new connection before use (authentication). Throwing closes the connection. */
  setup?: (connection: Connection, deadline: number) => Promise<void>;
}

interface Waiter {
  resolve: (connection: Connection) => void;
  reject: (error: AerospikeError) => void;
  deadline: number;
  timer: NodeJS.Timeout | null;
}

export class ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly waiters: Waiter[] = [];
  /** Connections that exist (idle, busy or being opened). */
  private total = 0;
  private closed = false;
  private readonly idleTimeoutMs: number;

  constructor(
    readonly address: HostAddress,
    public label: string,
    private readonly settings: PoolSettings,
  ) {
    this.idleTimeoutMs = settings.idleTimeoutMs ?? 55_000;
  }

  get size(): number {
    return this.total;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /** A ready connection: an idle one, a new one while under the limit, else the next one released. */
  acquire(deadline: number): Promise<Connection> {
    if (this.closed) return Promise.reject(this.closedError());
    const connection = this.takeIdle();
    if (connection !== null) return Promise.resolve(connection);
    if (this.total < this.settings.maxConnections) return this.create(deadline);
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, deadline, timer: null };
      if (deadline > 0) {
        waiter.timer = setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(
            new AerospikeError(
              ClientErrorCode.TOTAL_TIMEOUT,
              `no connection to node ${this.label} became free before the command's total timeout`,
              { node: this.label },
            ),
          );
        }, Math.max(deadline - Date.now(), 1));
      }
      this.waiters.push(waiter);
    });
  }

  /** Returns a connection after its command; a closed one gives its place to a waiter or a new one. */
  release(connection: Connection): void {
    if (this.closed || !connection.isOpen || connection.isBusy) {
      if (connection.isOpen) connection.close();
      this.total--;
      this.serveWaiter();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      if (waiter.timer !== null) clearTimeout(waiter.timer);
      waiter.resolve(connection);
      return;
    }
    this.idle.push(connection);
  }

  /** Closes idle connections; busy ones close when released. Waiters fail with CLOSED. */
  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) {
      connection.close();
      this.total--;
    }
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.timer !== null) clearTimeout(waiter.timer);
      waiter.reject(this.closedError());
    }
  }

  /** Closes idle connections unused for longer than the idle timeout. */
  trim(now = Date.now()): void {
    // The oldest idle connections sit at the bottom of the stack.
    while (this.idle.length > 0 && (!this.idle[0].isOpen || now - this.idle[0].lastUsed > this.idleTimeoutMs)) {
      this.idle.shift()!.close();
      this.total--;
    }
  }

  private takeIdle(): Connection | null {
    const now = Date.now();
    while (this.idle.length > 0) {
      const connection = this.idle.pop()!;
      if (connection.isOpen && now - connection.lastUsed <= this.idleTimeoutMs) return connection;
      connection.close();
      this.total--;
    }
    return null;
  }

  private async create(deadline: number): Promise<Connection> {
    this.total++;
    let connection: Connection | null = null;
    try {
      const connectDeadline = Date.now() + this.settings.connectTimeoutMs;
      const limit = deadline > 0 ? Math.min(deadline, connectDeadline) : connectDeadline;
      connection = await Connection.open(this.address, this.settings.connect, limit, this.label);
      if (this.settings.setup) await this.settings.setup(connection, limit);
      if (this.closed) throw this.closedError();
      return connection;
    } catch (error) {
      connection?.close();
      this.total--;
      this.serveWaiter();
      throw error;
    }
  }

  /** A place became free: let the oldest waiter open a connection. */
  private serveWaiter(): void {
    if (this.closed || this.total >= this.settings.maxConnections) return;
    const waiter = this.waiters.shift();
    if (waiter === undefined) return;
    if (waiter.timer !== null) clearTimeout(waiter.timer);
    const connection = this.takeIdle();
    if (connection !== null) {
      waiter.resolve(connection);
      return;
    }
    this.create(waiter.deadline).then(waiter.resolve, waiter.reject);
  }

  private closedError(): AerospikeError {
    return new AerospikeError(ClientErrorCode.CLOSED, `connections to node ${this.label} are closed`, { node: this.label });
  }
}
