/**
 * One TCP (or TLS) connection to a node, carrying one command at a time: send a request, feed the
 * answer's proto frames to a handler until it says the answer is complete. Neither the C client
 * nor the server pipeline commands on a connection (NOTES §1), and a connection whose command
 * failed half-way is closed, never reused: stray answer bytes would be read as the next answer.
 *
 * Timeouts: `socketTimeoutMs` is the longest silence allowed while an answer is awaited (0 = none);
 * `deadline` (Date.now() ms, 0 = none) ends the whole command. Either one closes the connection.
 */
import net from 'node:net';
import { ProtoFrameReader } from './framing.js';
import { ProtoType } from './protocol.js';
import { AerospikeError, ClientErrorCode, socketError } from './client-errors.js';
import { inflateCompressedFrame } from './response-parser.js';
import { encodeInfoRequest, parseInfoResponse } from './info-codec.js';
import { formatAddress, type HostAddress } from './host-list.js';
import type { AdminTransport } from './auth.js';
import { describeTlsSession, nodeTls, tlsConnectError, type TlsConnector } from './tls-options.js';

/** Takes each answer frame; returns true when the answer is complete. May throw to fail the command. */
export type FrameHandler = (type: number, body: Buffer) => boolean;

/** How to open a socket to a node. */
export interface ConnectSettings {
  /** Builds each node's TLS options (CA, client certificate, name check); null for clear TCP. */
  tls: TlsConnector | null;
  /** Receives `--tls-log-session-info` lines. */
  log?: (message: string) => void;
}

interface PendingCommand {
  handler: FrameHandler;
  resolve: () => void;
  reject: (error: AerospikeError) => void;
  socketTimeoutMs: number;
  deadline: number;
  lastActivity: number;
  timer: NodeJS.Timeout | null;
  written: boolean;
}

/** A handshake or certificate failure, as opposed to the TCP connection itself failing. */
function isTlsFailure(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return !/^E[A-Z]+$/.test(code) || code === 'EPROTO';
}

/** Bytes of the buffer each plain TCP connection reads into, reused for every read. */
const READ_BUFFER_BYTES = 64 * 1024;

/** Where a socket's reads go once its Connection exists (reads are wired up before it does). */
interface ReadTarget {
  connection: Connection | null;
}

export class Connection {
  private readonly reader: ProtoFrameReader;
  private pending: PendingCommand | null = null;
  private closedWith: AerospikeError | null = null;
  /** Date.now() when the last command on it ended (for idle trimming). */
  lastUsed = Date.now();
  /** Reused for every request: the previous one has been consumed once its answer arrived. */
  private requestBuffer: Buffer | null = null;

  private constructor(
    private readonly socket: net.Socket,
    /** "NAME host:port" or "host:port": for messages. */
    public label: string,
    /** Set when the socket reads into one reused buffer (plain TCP): else its 'data' events bring fresh chunks. */
    reads: ReadTarget | null,
  ) {
    socket.setNoDelay(true);
    // Reads into a reused buffer spare an allocation and a stream event per read; what the frame
    // reader keeps past a read (part of a frame) it then copies.
    this.reader = new ProtoFrameReader(undefined, reads !== null);
    if (reads !== null) reads.connection = this;
    else socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => this.onBroken(socketError(error, this.label, true)));
    socket.on('close', () =>
      this.onBroken(new AerospikeError(ClientErrorCode.CONNECTION, `node ${this.label} closed the connection`, { node: this.label, inDoubt: true })),
    );
  }

  /**
   * Opens a connection (TCP, then the TLS handshake when configured). Fails with CONNECTION, TLS
   * or TOTAL_TIMEOUT (when `deadline` passes first).
   */
  static open(address: HostAddress, settings: ConnectSettings, deadline: number, label = formatAddress(address)): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      let socket: net.Socket;
      let settled = false;
      const fail = (error: AerospikeError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const remaining = deadline > 0 ? Math.max(deadline - Date.now(), 1) : 0;
      const timer = setTimeout(
        () =>
          fail(
            new AerospikeError(ClientErrorCode.TOTAL_TIMEOUT, `connecting to ${label} timed out after ${remaining} ms`, { node: label }),
          ),
        remaining > 0 ? remaining : 2 ** 31 - 1,
      );
      const onReady = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new Connection(socket, label, reads));
      };
      const connector = settings.tls;
      const reads: ReadTarget | null = connector ? null : { connection: null };
      const onError = (error: Error): void => {
        if (connector !== null && isTlsFailure(error)) {
          fail(tlsConnectError(error, address, address.tlsName ?? connector.resolved.defaultTlsName));
        } else {
          fail(socketError(error, label, false));
        }
      };
      try {
        if (connector) {
          const tlsSocket = nodeTls().connect(connector.connectOptions(address));
          socket = tlsSocket;
          tlsSocket.once('secureConnect', () => {
            if (connector.resolved.logSessionInfo && settings.log) settings.log(describeTlsSession(tlsSocket, address));
            onReady();
          });
        } else {
          const target = reads!;
          const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
          socket = net.connect({
            host: address.host,
            port: address.port,
            onread: {
              buffer: readBuffer,
              callback: (bytes: number): boolean => {
                target.connection?.onData(readBuffer.subarray(0, bytes));
                return true;
              },
            },
          });
          socket.once('connect', onReady);
        }
      } catch (error) {
        clearTimeout(timer);
        reject(socketError(error, label, false));
        return;
      }
      socket.once('error', onError);
    });
  }

  /**
   * A buffer of `size` bytes to encode the next request into, reused across commands (one
   * allocation per connection instead of one per command). Valid until the next call.
   */
  requestSpace(size: number): Buffer {
    let buffer = this.requestBuffer;
    if (buffer === null || buffer.length < size) {
      buffer = Buffer.allocUnsafeSlow(Math.max(size, buffer === null ? 0 : Math.min(buffer.length * 2, 16 * 1024 * 1024)));
      this.requestBuffer = buffer;
    }
    return buffer.subarray(0, size);
  }

  get isOpen(): boolean {
    return this.closedWith === null && !this.socket.destroyed;
  }

  get isBusy(): boolean {
    return this.pending !== null;
  }

  /**
   * Sends `request` and feeds the answer frames to `handler` until it returns true. Rejects with
   * SOCKET_TIMEOUT, TOTAL_TIMEOUT, CONNECTION or PROTOCOL (then the connection is closed); the
   * error's inDoubt says whether any of the request had been handed to the socket.
   */
  execute(request: Buffer, handler: FrameHandler, socketTimeoutMs: number, deadline: number): Promise<void> {
    if (this.pending !== null) {
      return Promise.reject(new Error(`internal: connection to ${this.label} already runs a command`));
    }
    if (this.closedWith !== null || this.socket.destroyed) {
      const error =
        this.closedWith ?? new AerospikeError(ClientErrorCode.CONNECTION, `connection to ${this.label} is closed`, { node: this.label });
      return Promise.reject(new AerospikeError(error.code as ClientErrorCode, error.message, { node: this.label, inDoubt: false }));
    }
    return new Promise<void>((resolve, reject) => {
      const now = Date.now();
      const command: PendingCommand = {
        handler,
        resolve,
        reject,
        socketTimeoutMs,
        deadline,
        lastActivity: now,
        timer: null,
        written: false,
      };
      this.pending = command;
      if (deadline > 0 && now >= deadline) {
        this.fail(this.timeoutError(ClientErrorCode.TOTAL_TIMEOUT, command));
        return;
      }
      this.armTimer(command, now);
      command.written = true;
      this.socket.write(request);
    });
  }

  /** Runs info commands; resolves with command → value (errors inside values are the caller's). */
  async info(commands: readonly string[], socketTimeoutMs: number, deadline: number): Promise<Map<string, string>> {
    let answer: Map<string, string> | null = null;
    await this.execute(
      encodeInfoRequest(commands),
      (type, body) => {
        if (type !== ProtoType.INFO) {
          throw new AerospikeError(ClientErrorCode.PROTOCOL, `node ${this.label} answered an info request with a type ${type} message`, {
            node: this.label,
          });
        }
        answer = parseInfoResponse(body);
        return true;
      },
      socketTimeoutMs,
      deadline,
    );
    return answer!;
  }

  /** The peer's IP address, once connected. */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /** An AdminTransport over this connection, for login/authentication during connection setup. */
  adminTransport(socketTimeoutMs: number, deadline: number): AdminTransport {
    return {
      exchange: async (frame: Buffer): Promise<Buffer> => {
        let answer: Buffer | null = null;
        await this.execute(
          frame,
          (type, body) => {
            if (type !== ProtoType.ADMIN) {
              throw new AerospikeError(ClientErrorCode.PROTOCOL, `node ${this.label} answered an admin request with a type ${type} message`, {
                node: this.label,
              });
            }
            // A copy: the body may lie in the socket's reused read buffer.
            answer = Buffer.from(body);
            return true;
          },
          socketTimeoutMs,
          deadline,
        );
        return answer!;
      },
    };
  }

  /** Closes the connection; a running command fails with CLOSED. */
  close(): void {
    if (this.closedWith === null) {
      this.onBroken(new AerospikeError(ClientErrorCode.CLOSED, `connection to ${this.label} was closed by the client`, { node: this.label, inDoubt: true }));
    }
    this.socket.destroy();
  }

  private armTimer(command: PendingCommand, now: number): void {
    let wait = command.socketTimeoutMs > 0 ? command.lastActivity + command.socketTimeoutMs - now : Infinity;
    if (command.deadline > 0) wait = Math.min(wait, command.deadline - now);
    if (wait === Infinity) return;
    command.timer = setTimeout(() => this.onTimer(command), Math.max(wait, 1));
  }

  private onTimer(command: PendingCommand): void {
    if (this.pending !== command) return;
    command.timer = null;
    const now = Date.now();
    if (command.deadline > 0 && now >= command.deadline) {
      this.fail(this.timeoutError(ClientErrorCode.TOTAL_TIMEOUT, command));
    } else if (command.socketTimeoutMs > 0 && now - command.lastActivity >= command.socketTimeoutMs) {
      this.fail(this.timeoutError(ClientErrorCode.SOCKET_TIMEOUT, command));
    } else {
      this.armTimer(command, now);
    }
  }

  private timeoutError(code: typeof ClientErrorCode.SOCKET_TIMEOUT | typeof ClientErrorCode.TOTAL_TIMEOUT, command: PendingCommand): AerospikeError {
    const what =
      code === ClientErrorCode.SOCKET_TIMEOUT
        ? `no data from node ${this.label} for ${command.socketTimeoutMs} ms (socket timeout)`
        : `command on node ${this.label} ran past its total timeout`;
    return new AerospikeError(code, what, { node: this.label, inDoubt: command.written });
  }

  /** Answer bytes: valid during the call only (they may lie in the reused read buffer). */
  private onData(chunk: Buffer): void {
    const command = this.pending;
    if (command === null) {
      // Bytes while no command runs: the stream is out of step, so the connection is useless.
      this.closeWith(new AerospikeError(ClientErrorCode.PROTOCOL, `node ${this.label} sent data while no command was running`, { node: this.label }));
      return;
    }
    command.lastActivity = Date.now();
    try {
      const frames = this.reader.push(chunk);
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i];
        let done: boolean;
        if (frame.type === ProtoType.COMPRESSED) {
          done = false;
          const inner = inflateCompressedFrame(frame.body, this.label);
          for (let j = 0; j < inner.length; j++) {
            if (done) throw new AerospikeError(ClientErrorCode.PROTOCOL, 'data after a complete answer', { node: this.label });
            done = command.handler(inner[j].type, inner[j].body);
          }
        } else {
          done = command.handler(frame.type, frame.body);
        }
        if (done) {
          if (i !== frames.length - 1 || this.reader.bufferedBytes !== 0) {
            throw new AerospikeError(ClientErrorCode.PROTOCOL, `node ${this.label} sent data after a complete answer`, { node: this.label });
          }
          this.finish(command);
          return;
        }
      }
    } catch (error) {
      const failure =
        error instanceof AerospikeError
          ? new AerospikeError(error.code as ClientErrorCode, error.message, {
              node: this.label,
              inDoubt: true,
              resultCode: error.resultCode,
              cause: error.cause,
            })
          : new AerospikeError(ClientErrorCode.PROTOCOL, `bad answer from node ${this.label}: ${(error as Error).message}`, {
              node: this.label,
              inDoubt: true,
              cause: error,
            });
      this.fail(failure);
    }
  }

  private finish(command: PendingCommand): void {
    if (command.timer !== null) clearTimeout(command.timer);
    this.pending = null;
    this.lastUsed = Date.now();
    command.resolve();
  }

  /** Fails the running command and closes the connection. */
  private fail(error: AerospikeError): void {
    this.closeWith(error);
  }

  private closeWith(error: AerospikeError): void {
    this.onBroken(error);
    this.socket.destroy();
  }

  private onBroken(error: AerospikeError): void {
    if (this.closedWith === null) this.closedWith = error;
    const command = this.pending;
    if (command === null) return;
    this.pending = null;
    if (command.timer !== null) clearTimeout(command.timer);
    command.reject(command.written || !error.inDoubt ? error : new AerospikeError(error.code as ClientErrorCode, error.message, { node: this.label, resultCode: error.resultCode, cause: error.cause }));
  }
}
