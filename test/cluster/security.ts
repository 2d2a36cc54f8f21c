/**
 * The test cluster's security: answers admin (proto type 2) messages as an Aerospike Enterprise
 * server with security enabled does (its security.c: cmd_login / login, cmd_authenticate /
 * authenticate, handle_req_msg), plus the answers of servers without security:
 * - Community Edition answers every admin message SECURITY_NOT_SUPPORTED (51) (security_ce.c);
 * - Enterprise without security answers SECURITY_NOT_ENABLED (52), which clients treat as "no login".
 *
 * Users hold clear passwords here; the realm stores bcrypt(password, fixed salt), the credential
 * clients send. `external: true` users stand for LDAP users: they log in with the clear password
 * (EXTERNAL modes), and internal users are refused in those modes, as the server refuses them.
 */
import { randomBytes } from 'node:crypto';
import {
  AdminCommand,
  AdminField,
  CREDENTIAL_LENGTH,
  MAX_CLEAR_PASSWORD_BYTES,
  MAX_USER_NAME_BYTES,
  encodeAdminResult,
  encodeLoginSuccess,
  parseAdminRequest,
} from '../../src/shared/aerospike/admin-codec.js';
import { passwordCredential } from '../../src/shared/aerospike/credentials.js';
import { ResultCode } from '../../src/shared/aerospike/protocol.js';

export interface ClusterUser {
  name: string;
  password: string;
  roles?: string[];
  /** An external (LDAP) user: logs in with the clear password only. */
  external?: boolean;
}

/** The per-connection state the cluster keeps and the realm updates. */
export interface SecurityConnection {
  authenticated: boolean;
  user?: string;
  /** The client certificate's name (its CN) on a TLS connection that presented one: PKI logins use it. */
  peerCertificateName?: string;
}

/** The server's default `session-ttl` (seconds). */
export const DEFAULT_SESSION_TTL_SECONDS = 86400;

interface SessionRecord {
  user: string;
  expiresAtMs: number;
}

export class SecurityRealm {
  private readonly users = new Map<string, { credential: string; clearPassword: string; external: boolean; roles: string[] }>();
  private readonly pkiUsers: Set<string>;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly sessionTtlSeconds: number;
  private readonly now: () => number;
  private nextLoginFailure: number | undefined;
  /** How many LOGIN and AUTHENTICATE requests arrived, for tests of the client's session reuse. */
  readonly counters = { logins: 0, authentications: 0 };

  constructor(
    users: ClusterUser[],
    options: { sessionTtlSeconds?: number; pkiUsers?: string[]; now?: () => number } = {},
  ) {
    for (const user of users) {
      this.users.set(user.name, {
        credential: passwordCredential(user.password),
        clearPassword: user.password,
        external: user.external ?? false,
        roles: user.roles ?? [],
      });
    }
    this.pkiUsers = new Set(options.pkiUsers ?? []);
    this.sessionTtlSeconds = options.sessionTtlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Handles one admin message body from a connection; returns the whole answer frame (proto header
   * included). Updates `connection.authenticated/user` on success.
   */
  handleAdminMessage(body: Buffer, connection: SecurityConnection): Buffer {
    const request = parseAdminRequest(body);
    if (!request.ok) return encodeAdminResult(request.result);
    switch (request.command) {
      case AdminCommand.LOGIN:
        this.counters.logins++;
        return this.login(request.fields, connection);
      case AdminCommand.AUTHENTICATE:
        this.counters.authentications++;
        return encodeAdminResult(this.authenticate(request.fields, connection));
      default:
        // User/role administration is not needed to restore; a real server would check permissions.
        return encodeAdminResult(connection.authenticated ? ResultCode.INVALID_COMMAND : ResultCode.NOT_AUTHENTICATED);
    }
  }

  /** The answer a data or info command gets on this connection: OK, or NOT_AUTHENTICATED. */
  checkAuthenticated(connection: SecurityConnection): number {
    return connection.authenticated ? ResultCode.OK : ResultCode.NOT_AUTHENTICATED;
  }

  /** For tests: every session token issued so far is expired from now on. */
  expireSessions(): void {
    for (const session of this.sessions.values()) session.expiresAtMs = 0;
  }

  /** For tests: the next LOGIN is answered with `resultCode` (once). */
  failNextLogin(resultCode: number): void {
    this.nextLoginFailure = resultCode;
  }

  private login(fields: Map<number, Buffer>, connection: SecurityConnection): Buffer {
    // Logging in on an authenticated socket first strips its authentication.
    connection.authenticated = false;
    connection.user = undefined;

    if (this.nextLoginFailure !== undefined) {
      const result = this.nextLoginFailure;
      this.nextLoginFailure = undefined;
      return encodeAdminResult(result);
    }

    const userField = fields.get(AdminField.USER);
    const credential = fields.get(AdminField.CREDENTIAL);
    const clearPassword = fields.get(AdminField.CLEAR_PASSWORD);
    let userName: string;
    if (userField) {
      if (!credential && !clearPassword) return encodeAdminResult(ResultCode.INVALID_CREDENTIAL);
      userName = userField.toString('utf8');
      if (userField.length === 0 || userField.length > MAX_USER_NAME_BYTES) return encodeAdminResult(ResultCode.INVALID_USER);
    } else {
      // PKI: the user is the client certificate's name, and no password may come with it.
      if (connection.peerCertificateName === undefined) return encodeAdminResult(ResultCode.INVALID_USER);
      if (credential || clearPassword) return encodeAdminResult(ResultCode.INVALID_CREDENTIAL);
      userName = connection.peerCertificateName;
      if (!this.pkiUsers.has(userName) && !this.users.has(userName)) return encodeAdminResult(ResultCode.INVALID_USER);
      return this.loginSucceeded(userName, connection);
    }

    if (credential && credential.length !== CREDENTIAL_LENGTH) return encodeAdminResult(ResultCode.INVALID_CREDENTIAL);
    if (clearPassword && (clearPassword.length === 0 || clearPassword.length > MAX_CLEAR_PASSWORD_BYTES)) {
      return encodeAdminResult(ResultCode.INVALID_PASSWORD);
    }
    const user = this.users.get(userName);
    if (!user) return encodeAdminResult(ResultCode.INVALID_USER);
    if (clearPassword) {
      // The server refuses internal users in external mode ("internal user but external mode").
      if (!user.external) return encodeAdminResult(ResultCode.INVALID_USER);
      // A real server asks LDAP here; this realm compares the clear password itself.
      if (!clearPassword.equals(Buffer.from(user.clearPassword, 'utf8'))) return encodeAdminResult(ResultCode.INVALID_PASSWORD);
      return this.loginSucceeded(userName, connection);
    }
    if (user.external || !credential!.equals(Buffer.from(user.credential, 'latin1'))) {
      return encodeAdminResult(ResultCode.INVALID_CREDENTIAL);
    }
    return this.loginSucceeded(userName, connection);
  }

  private loginSucceeded(userName: string, connection: SecurityConnection): Buffer {
    const token = randomBytes(32);
    const expiresAtMs = this.sessionTtlSeconds === 0 ? Number.POSITIVE_INFINITY : this.now() + this.sessionTtlSeconds * 1000;
    this.sessions.set(token.toString('hex'), { user: userName, expiresAtMs });
    connection.authenticated = true;
    connection.user = userName;
    return encodeLoginSuccess(token, this.sessionTtlSeconds);
  }

  private authenticate(fields: Map<number, Buffer>, connection: SecurityConnection): number {
    if (connection.authenticated) return ResultCode.ILLEGAL_STATE;
    const userField = fields.get(AdminField.USER);
    let userName: string;
    if (userField) {
      userName = userField.toString('utf8');
    } else {
      if (connection.peerCertificateName === undefined) return ResultCode.INVALID_USER;
      userName = connection.peerCertificateName;
    }
    const token = fields.get(AdminField.SESSION_TOKEN);
    if (!token) return ResultCode.INVALID_CREDENTIAL;
    if (userName.length === 0 || Buffer.byteLength(userName) > MAX_USER_NAME_BYTES) return ResultCode.INVALID_USER;
    if (!this.users.has(userName) && !this.pkiUsers.has(userName)) return ResultCode.INVALID_USER;
    const session = this.sessions.get(token.toString('hex'));
    if (!session || session.user !== userName) return ResultCode.INVALID_CREDENTIAL;
    if (this.now() >= session.expiresAtMs) return ResultCode.EXPIRED_SESSION;
    connection.authenticated = true;
    connection.user = userName;
    return ResultCode.OK;
  }
}

/** What a Community Edition server answers to any admin message (security_ce.c as_security_transact). */
export function communityEditionAdminAnswer(): Buffer {
  return encodeAdminResult(ResultCode.SECURITY_NOT_SUPPORTED);
}

/** What an Enterprise server without security configured answers to any admin message. */
export function securityNotEnabledAdminAnswer(): Buffer {
  return encodeAdminResult(ResultCode.SECURITY_NOT_ENABLED);
}
