/**
 * Client-side authentication, as the Aerospike C client (and so asrestore) does it:
 * - a node is logged in once (LOGIN with user + bcrypt credential, plus the clear password in the
 *   EXTERNAL modes, or no fields at all for PKI), which answers a session token and its TTL;
 * - every further connection to that node sends AUTHENTICATE with the token before any command;
 * - the session is renewed by a new LOGIN once it is 60 s short of the server's TTL, when a command
 *   reports NOT_AUTHENTICATED / EXPIRED_SESSION, or when AUTHENTICATE is refused;
 * - a server answering SECURITY_NOT_ENABLED (an Enterprise server without security) needs no login.
 * (C client: as_admin.c as_cluster_login / as_authenticate, as_node.c as_node_login /
 * as_node_should_login / as_node_get_tend_connection, as_cluster.c as_cluster_create.)
 */
import type { Duplex } from 'node:stream';
import { AsrestoreError } from '../errors.js';
import {
  MAX_USER_NAME_BYTES,
  decodeAdminResult,
  decodeLoginResponse,
  encodeAuthenticateRequest,
  encodeLoginRequest,
  type LoginRequest,
} from './admin-codec.js';
import { passwordCredential } from './credentials.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import { ProtoFrameReader } from './framing.js';
import { ProtoType, ResultCode, describeResultCode } from './protocol.js';

export type AuthMode = 'INTERNAL' | 'EXTERNAL' | 'EXTERNAL_INSECURE' | 'PKI';
const AUTH_MODES: readonly AuthMode[] = ['INTERNAL', 'EXTERNAL', 'EXTERNAL_INSECURE', 'PKI'];

/** `-A/--auth`: case-insensitive, as as_auth_mode_from_string. */
export function parseAuthMode(text: string): AuthMode {
  const mode = AUTH_MODES.find((candidate) => candidate === text.toUpperCase());
  if (mode === undefined) {
    throw new AsrestoreError('AUTH_CONFIG', `Invalid authentication mode ${text}. Allowed values are INTERNAL / EXTERNAL / EXTERNAL_INSECURE / PKI`);
  }
  return mode;
}

/** The C client's password buffer is 64 bytes with the NUL (AS_PASSWORD_SIZE): longer ones are refused. */
export const MAX_PASSWORD_BYTES = 63;
/** The client treats its session as expired this long before the server's TTL runs out. */
export const SESSION_EXPIRY_MARGIN_SECONDS = 60;

/**
 * What a connection needs to log in: plain data (structured-clone safe), so the coordinator hashes
 * the password once and hands this to worker threads. `clearPassword` is present only in the
 * EXTERNAL modes, which send it. Never log this object.
 */
export interface PreparedAuth {
  mode: AuthMode;
  /** Absent in PKI mode: the server takes the user from the client certificate. */
  user?: string;
  credential?: string;
  clearPassword?: string;
}

/**
 * Validates the auth options and computes the credential. Returns undefined when no login is
 * configured (no user and not PKI), as the C client enables auth only then.
 */
export function prepareAuth(
  settings: { mode?: AuthMode; user?: string; password?: string },
  context: { tlsEnabled: boolean },
): PreparedAuth | undefined {
  const mode = settings.mode ?? 'INTERNAL';
  if (mode === 'PKI') {
    if (settings.password) {
      throw new AsrestoreError('AUTH_CONFIG', 'Password authentication is disabled for PKI-only users. Please authenticate using your certificate.');
    }
    if (!context.tlsEnabled) throw new AsrestoreError('AUTH_CONFIG', 'TLS is required for external or PKI authentication');
    return { mode };
  }
  if (!settings.user) return undefined;
  if (Buffer.byteLength(settings.user, 'utf8') > MAX_USER_NAME_BYTES) {
    throw new AsrestoreError('AUTH_CONFIG', `user name is longer than ${MAX_USER_NAME_BYTES} bytes`);
  }
  const password = settings.password ?? '';
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new AsrestoreError('AUTH_CONFIG', `Invalid password for user name \`${settings.user}\`: longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  if (mode === 'EXTERNAL' && !context.tlsEnabled) {
    throw new AsrestoreError('AUTH_CONFIG', 'TLS is required for external or PKI authentication');
  }
  const prepared: PreparedAuth = { mode, user: settings.user, credential: passwordCredential(password) };
  if (mode !== 'INTERNAL') prepared.clearPassword = password;
  return prepared;
}

/** A refused LOGIN or AUTHENTICATE: code AUTH, `resultCode` is the server's answer. Never carries a secret. */
function authError(resultCode: number, message: string, node?: string): AerospikeError {
  return new AerospikeError(ClientErrorCode.AUTH, message, { resultCode, node });
}

export function isAuthError(error: unknown): error is AerospikeError {
  return error instanceof AerospikeError && error.code === ClientErrorCode.AUTH;
}

/** Sends one whole admin frame and resolves with the body of the one admin frame answering it. */
export interface AdminTransport {
  exchange(frame: Buffer): Promise<Buffer>;
}

/**
 * An AdminTransport over a connected socket (plain or TLS), for a connection that is being set up:
 * use it before the connection's own reader is attached. It leaves the socket as it found it
 * (listeners removed; paused only if it was paused).
 */
export function socketAdminTransport(socket: Duplex, options: { timeoutMs: number }): AdminTransport {
  return {
    exchange: (frame) =>
      new Promise<Buffer>((resolve, reject) => {
        const reader = new ProtoFrameReader();
        const wasPaused = socket.readableFlowing === false;
        const cleanup = (): void => {
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('error', onError);
          socket.off('close', onClose);
          if (wasPaused) socket.pause();
        };
        const fail = (error: Error): void => {
          cleanup();
          reject(error);
        };
        const onData = (chunk: Buffer): void => {
          let frames;
          try {
            frames = reader.push(chunk);
          } catch (error) {
            fail(error as Error);
            return;
          }
          if (frames.length === 0) return;
          if (frames.length > 1 || reader.bufferedBytes > 0) {
            fail(new AerospikeError(ClientErrorCode.PROTOCOL, 'the server sent more than one message in answer to an admin request'));
            return;
          }
          const [answer] = frames;
          if (answer.type !== ProtoType.ADMIN) {
            fail(new AerospikeError(ClientErrorCode.PROTOCOL, `the server answered an admin request with a proto type ${answer.type} message`));
            return;
          }
          cleanup();
          resolve(answer.body);
        };
        const onError = (error: Error): void =>
          fail(new AerospikeError(ClientErrorCode.CONNECTION, `connection failed during login: ${error.message}`, { cause: error }));
        const onClose = (): void => fail(new AerospikeError(ClientErrorCode.CONNECTION, 'the server closed the connection during login'));
        const timer = setTimeout(
          () => fail(new AerospikeError(ClientErrorCode.SOCKET_TIMEOUT, `no answer to the admin request within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
        socket.on('data', onData);
        socket.on('error', onError);
        socket.on('close', onClose);
        if (socket.readableFlowing !== true) socket.resume();
        socket.write(frame);
      }),
  };
}

export interface Session {
  token: Buffer;
  /** The TTL the server sent; undefined when it sent none (its TTL is 0). */
  ttlSeconds?: number;
  /** When the client stops using the token (Date.now() milliseconds); 0 means never. */
  expiresAtMs: number;
}

export interface LoginParams {
  mode: AuthMode;
  user?: string;
  /** The bcrypt credential; computed from `password` when absent. */
  credential?: string;
  password?: string;
  clearPassword?: string;
}

function loginRequestFor(params: LoginParams): LoginRequest {
  if (params.mode === 'PKI') return { mode: 'PKI' };
  if (params.user === undefined) throw new AsrestoreError('AUTH_CONFIG', `${params.mode} login needs a user name`);
  const credential = params.credential ?? passwordCredential(params.password ?? '');
  if (params.mode === 'INTERNAL') return { mode: 'INTERNAL', user: params.user, credential };
  return { mode: params.mode, user: params.user, credential, clearPassword: params.clearPassword ?? params.password ?? '' };
}

function describeWho(params: { mode: AuthMode; user?: string }): string {
  return params.mode === 'PKI' ? 'with the client certificate (PKI)' : `as user '${params.user}'`;
}

function hintFor(resultCode: number): string {
  switch (resultCode) {
    case ResultCode.SECURITY_NOT_SUPPORTED:
      return '; the server has no security features (Community Edition): run without --user';
    case ResultCode.INVALID_USER:
    case ResultCode.INVALID_CREDENTIAL:
    case ResultCode.INVALID_PASSWORD:
      return '; check the user name, password and --auth mode';
    default:
      return '';
  }
}

/**
 * LOGIN on one connection. Resolves with the session, or null when the server answers
 * SECURITY_NOT_ENABLED (no login needed). A successful login also authenticates this connection.
 */
export async function login(
  transport: AdminTransport,
  params: LoginParams,
  options: { node?: string; now?: () => number } = {},
): Promise<Session | null> {
  const answer = decodeLoginResponse(await transport.exchange(encodeLoginRequest(loginRequestFor(params))));
  const where = options.node ? ` on node ${options.node}` : '';
  if (answer.result === ResultCode.SECURITY_NOT_ENABLED) return null;
  if (answer.result !== ResultCode.OK) {
    throw authError(answer.result, `login ${describeWho(params)} failed${where}: ${describeResultCode(answer.result)}${hintFor(answer.result)}`, options.node);
  }
  if (answer.token === undefined || answer.token.length === 0) {
    throw new AerospikeError(ClientErrorCode.PROTOCOL, `login${where} succeeded but the server sent no session token`, { node: options.node });
  }
  const now = (options.now ?? Date.now)();
  let expiresAtMs = 0;
  if (answer.ttlSeconds !== undefined && answer.ttlSeconds > SESSION_EXPIRY_MARGIN_SECONDS) {
    expiresAtMs = now + (answer.ttlSeconds - SESSION_EXPIRY_MARGIN_SECONDS) * 1000;
  }
  return { token: answer.token, ttlSeconds: answer.ttlSeconds, expiresAtMs };
}

/** AUTHENTICATE a new connection with a session token. SECURITY_NOT_ENABLED counts as success. */
export async function authenticate(
  transport: AdminTransport,
  params: { mode: AuthMode; user?: string },
  token: Buffer,
  options: { node?: string } = {},
): Promise<void> {
  const request = encodeAuthenticateRequest({ user: params.mode === 'PKI' ? undefined : params.user, token });
  const result = decodeAdminResult(await transport.exchange(request));
  if (result === ResultCode.OK || result === ResultCode.SECURITY_NOT_ENABLED) return;
  const where = options.node ? ` on node ${options.node}` : '';
  throw authError(result, `authentication ${describeWho(params)} with a session token failed${where}: ${describeResultCode(result)}`, options.node);
}

/** Result codes from a command that mean the node's session must be renewed by a new login. */
export function needsNewLogin(resultCode: number): boolean {
  return resultCode === ResultCode.NOT_AUTHENTICATED || resultCode === ResultCode.EXPIRED_SESSION;
}

interface NodeSessionState {
  /** null: the node answered SECURITY_NOT_ENABLED and needs no authentication. */
  session: Session | null;
  loginRequested: boolean;
}

/**
 * Session tokens per node, shared by every connection to that node (one per worker thread, or one
 * per process seeded with `adopt`). Concurrent new connections to a node wait for a single login.
 */
export class SessionManager {
  private readonly nodes = new Map<string, NodeSessionState>();
  private readonly pendingLogins = new Map<string, Promise<Session | null>>();
  private readonly now: () => number;

  constructor(
    private readonly auth: PreparedAuth,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The node's current session: undefined when never logged in, null when the node needs none. */
  session(node: string): Session | null | undefined {
    return this.nodes.get(node)?.session;
  }

  /** Uses a session obtained elsewhere (e.g. by the coordinator's tend connection). */
  adopt(node: string, session: Session | null): void {
    this.nodes.set(node, { session, loginRequested: false });
  }

  forget(node: string): void {
    this.nodes.delete(node);
  }

  /** A command on `node` answered NOT_AUTHENTICATED or EXPIRED_SESSION: the next connection logs in again. */
  requestLogin(node: string): void {
    const state = this.nodes.get(node);
    if (state) state.loginRequested = true;
  }

  /** as_node_should_login: a login was requested, or the session is past its (client-side) expiry. */
  shouldLogin(node: string): boolean {
    const state = this.nodes.get(node);
    if (!state) return true;
    if (state.loginRequested) return true;
    return state.session !== null && state.session.expiresAtMs > 0 && this.now() >= state.session.expiresAtMs;
  }

  /**
   * Authenticates a newly opened connection to `node` before any other command: by the node's
   * token when it has a valid one (falling back to a login on this connection if the server
   * refuses the token), else by logging in on this connection.
   */
  async authenticateConnection(node: string, transport: AdminTransport): Promise<void> {
    const pending = this.pendingLogins.get(node);
    if (pending) {
      const session = await pending;
      if (session === null) return;
      try {
        await authenticate(transport, this.auth, session.token, { node });
        return;
      } catch (error) {
        if (!isAuthError(error)) throw error;
        // The fresh token was refused (it may have been expired at once): log in ourselves.
      }
    } else if (!this.shouldLogin(node)) {
      const session = this.nodes.get(node)!.session;
      if (session === null) return;
      try {
        await authenticate(transport, this.auth, session.token, { node });
        return;
      } catch (error) {
        if (!isAuthError(error)) throw error;
        // The C client's tend connection does the same: a refused token means log in again.
      }
    }
    await this.loginOn(node, transport);
  }

  private async loginOn(node: string, transport: AdminTransport): Promise<void> {
    const attempt = login(transport, this.auth, { node, now: this.now });
    this.pendingLogins.set(node, attempt);
    try {
      const session = await attempt;
      this.nodes.set(node, { session, loginRequested: false });
    } catch (error) {
      const state = this.nodes.get(node);
      if (state) state.loginRequested = true;
      throw error;
    } finally {
      if (this.pendingLogins.get(node) === attempt) this.pendingLogins.delete(node);
    }
  }
}
