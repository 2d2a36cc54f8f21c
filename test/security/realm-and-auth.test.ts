import { expect } from 'chai';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { AdminCommand, AdminField, encodeAdminMessage, encodeLoginRequest, decodeAdminResult } from '../../src/shared/aerospike/admin-codec.js';
import {
  SessionManager,
  authenticate,
  isAuthError,
  login,
  needsNewLogin,
  parseAuthMode,
  prepareAuth,
  socketAdminTransport,
  type AdminTransport,
  type PreparedAuth,
} from '../../src/shared/aerospike/auth.js';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { passwordCredential } from '../../src/shared/aerospike/credentials.js';
import { ProtoFrameReader } from '../../src/shared/aerospike/framing.js';
import { ResultCode } from '../../src/shared/aerospike/protocol.js';
import {
  SecurityRealm,
  communityEditionAdminAnswer,
  securityNotEnabledAdminAnswer,
  type SecurityConnection,
} from '../cluster/security.js';

const USERS = [
  { name: 'restorer', password: 'r3store-Pw' },
  { name: 'ldap-user', password: 'ldap-Pw', external: true },
];

/** A transport straight into the realm, answering asynchronously like a socket would. */
function realmTransport(realm: SecurityRealm, connection: SecurityConnection): AdminTransport {
  return {
    exchange: (frame) =>
      new Promise((resolve) => {
        expect(frame[0]).to.equal(2);
        expect(frame[1]).to.equal(2);
        expect(frame.readUIntBE(2, 6)).to.equal(frame.length - 8);
        setImmediate(() => resolve(realm.handleAdminMessage(frame.subarray(8), connection).subarray(8)));
      }),
  };
}

function fixedTransport(answer: Buffer): AdminTransport {
  return { exchange: async () => answer.subarray(8) };
}

function newConnection(peerCertificateName?: string): SecurityConnection {
  return { authenticated: false, ...(peerCertificateName === undefined ? {} : { peerCertificateName }) };
}

async function expectAuthFailure(promise: Promise<unknown>, resultCode: number): Promise<AerospikeError> {
  try {
    await promise;
  } catch (error) {
    expect(isAuthError(error), String(error)).to.equal(true);
    expect((error as AerospikeError).resultCode).to.equal(resultCode);
    return error as AerospikeError;
  }
  expect.fail(`expected result code ${resultCode}`);
}

const internal = (user: string, password: string): PreparedAuth => prepareAuth({ mode: 'INTERNAL', user, password }, { tlsEnabled: false })!;

describe('SecurityRealm (server side) with the client login/authenticate', () => {
  it('logs in a user with the right credential: token, TTL, connection authenticated', async () => {
    const realm = new SecurityRealm(USERS);
    const connection = newConnection();
    const session = await login(realmTransport(realm, connection), internal('restorer', 'r3store-Pw'));
    expect(session).to.not.equal(null);
    expect(session!.token.length).to.be.greaterThan(0);
    expect(session!.ttlSeconds).to.equal(86400);
    expect(connection).to.deep.include({ authenticated: true, user: 'restorer' });
    expect(realm.checkAuthenticated(connection)).to.equal(ResultCode.OK);
  });

  it('refuses an unknown user (INVALID_USER) and a wrong password (INVALID_CREDENTIAL)', async () => {
    const realm = new SecurityRealm(USERS);
    const connection = newConnection();
    const unknown = await expectAuthFailure(login(realmTransport(realm, connection), internal('nobody', 'r3store-Pw'), { node: 'BB9' }), 60);
    expect(unknown.message).to.equal("login as user 'nobody' failed on node BB9: INVALID_USER (60); check the user name, password and --auth mode");
    const wrong = await expectAuthFailure(login(realmTransport(realm, connection), internal('restorer', 'not-it')), 65);
    expect(wrong.message).to.not.include('not-it');
    expect(connection.authenticated).to.equal(false);
    expect(realm.checkAuthenticated(connection)).to.equal(ResultCode.NOT_AUTHENTICATED);
  });

  it('answers the server codes for malformed logins', () => {
    const realm = new SecurityRealm(USERS);
    const answer = (frame: Buffer): number => decodeAdminResult(realm.handleAdminMessage(frame.subarray(8), newConnection()).subarray(8));
    const user = { id: AdminField.USER, value: Buffer.from('restorer') };
    expect(answer(encodeAdminMessage({ command: AdminCommand.LOGIN, fields: [user] }))).to.equal(ResultCode.INVALID_CREDENTIAL);
    expect(answer(encodeAdminMessage({ command: AdminCommand.LOGIN, fields: [user, { id: AdminField.CREDENTIAL, value: Buffer.from('short') }] }))).to.equal(ResultCode.INVALID_CREDENTIAL);
    expect(answer(encodeAdminMessage({ command: AdminCommand.LOGIN, fields: [{ id: AdminField.USER, value: Buffer.alloc(64, 0x61) }, { id: AdminField.CREDENTIAL, value: Buffer.alloc(60) }] }))).to.equal(ResultCode.INVALID_USER);
    expect(answer(encodeAdminMessage({ command: AdminCommand.QUERY_USERS }))).to.equal(ResultCode.NOT_AUTHENTICATED);
  });

  it('authenticates new connections with the token; refuses a second AUTHENTICATE, a foreign token and an expired one', async () => {
    let now = 1_000_000;
    const realm = new SecurityRealm([...USERS, { name: 'other', password: 'x' }], { sessionTtlSeconds: 120, now: () => now });
    const auth = internal('restorer', 'r3store-Pw');
    const session = (await login(realmTransport(realm, newConnection()), auth))!;
    expect(session.ttlSeconds).to.equal(120);

    const second = newConnection();
    await authenticate(realmTransport(realm, second), auth, session.token);
    expect(second).to.deep.include({ authenticated: true, user: 'restorer' });
    await expectAuthFailure(authenticate(realmTransport(realm, second), auth, session.token), ResultCode.ILLEGAL_STATE);

    await expectAuthFailure(authenticate(realmTransport(realm, newConnection()), auth, Buffer.from('forged token')), ResultCode.INVALID_CREDENTIAL);
    await expectAuthFailure(authenticate(realmTransport(realm, newConnection()), { mode: 'INTERNAL', user: 'other' }, session.token), ResultCode.INVALID_CREDENTIAL);
    await expectAuthFailure(authenticate(realmTransport(realm, newConnection()), { mode: 'INTERNAL', user: 'ghost' }, session.token), ResultCode.INVALID_USER);

    now += 120_000;
    const late = await expectAuthFailure(authenticate(realmTransport(realm, newConnection()), auth, session.token), ResultCode.EXPIRED_SESSION);
    expect(needsNewLogin(late.resultCode!)).to.equal(true);
  });

  it('expireSessions() expires every issued token; failNextLogin() fails one login', async () => {
    const realm = new SecurityRealm(USERS);
    const auth = internal('restorer', 'r3store-Pw');
    const session = (await login(realmTransport(realm, newConnection()), auth))!;
    realm.expireSessions();
    await expectAuthFailure(authenticate(realmTransport(realm, newConnection()), auth, session.token), ResultCode.EXPIRED_SESSION);
    realm.failNextLogin(ResultCode.EXPIRED_PASSWORD);
    await expectAuthFailure(login(realmTransport(realm, newConnection()), auth), ResultCode.EXPIRED_PASSWORD);
    expect(await login(realmTransport(realm, newConnection()), auth)).to.not.equal(null);
  });

  it('EXTERNAL logins: clear password for external users; internal users are refused in that mode', async () => {
    const realm = new SecurityRealm(USERS);
    const external = prepareAuth({ mode: 'EXTERNAL_INSECURE', user: 'ldap-user', password: 'ldap-Pw' }, { tlsEnabled: false })!;
    expect(external.clearPassword).to.equal('ldap-Pw');
    const connection = newConnection();
    expect(await login(realmTransport(realm, connection), external)).to.not.equal(null);
    expect(connection.user).to.equal('ldap-user');
    await expectAuthFailure(login(realmTransport(realm, newConnection()), { ...external, clearPassword: 'wrong' }), ResultCode.INVALID_PASSWORD);
    const internalInExternal = prepareAuth({ mode: 'EXTERNAL_INSECURE', user: 'restorer', password: 'r3store-Pw' }, { tlsEnabled: false })!;
    await expectAuthFailure(login(realmTransport(realm, newConnection()), internalInExternal), ResultCode.INVALID_USER);
    // An external user has no internal password: an INTERNAL login is refused.
    await expectAuthFailure(login(realmTransport(realm, newConnection()), internal('ldap-user', 'ldap-Pw')), ResultCode.INVALID_CREDENTIAL);
  });

  it('PKI logins take the user from the client certificate', async () => {
    const realm = new SecurityRealm(USERS, { pkiUsers: ['cert-user'] });
    const pki = prepareAuth({ mode: 'PKI' }, { tlsEnabled: true })!;
    const connection = newConnection('cert-user');
    const session = (await login(realmTransport(realm, connection), pki))!;
    expect(connection).to.deep.include({ authenticated: true, user: 'cert-user' });
    const next = newConnection('cert-user');
    await authenticate(realmTransport(realm, next), pki, session.token);
    expect(next.authenticated).to.equal(true);
    await expectAuthFailure(login(realmTransport(realm, newConnection()), pki), ResultCode.INVALID_USER);
    await expectAuthFailure(login(realmTransport(realm, newConnection('stranger')), pki), ResultCode.INVALID_USER);
    const withPassword = encodeAdminMessage({ command: AdminCommand.LOGIN, fields: [{ id: AdminField.CREDENTIAL, value: Buffer.from(passwordCredential('x')) }] });
    expect(decodeAdminResult(realm.handleAdminMessage(withPassword.subarray(8), newConnection('cert-user')).subarray(8))).to.equal(ResultCode.INVALID_CREDENTIAL);
  });

  it('servers without security: CE refuses logins (51), Enterprise without security needs none (52)', async () => {
    const auth = internal('restorer', 'r3store-Pw');
    const ce = await expectAuthFailure(login(fixedTransport(communityEditionAdminAnswer()), auth), ResultCode.SECURITY_NOT_SUPPORTED);
    expect(ce.message).to.match(/Community Edition/);
    expect(await login(fixedTransport(securityNotEnabledAdminAnswer()), auth)).to.equal(null);
    await authenticate(fixedTransport(securityNotEnabledAdminAnswer()), auth, Buffer.from('t'));
  });
});

describe('auth configuration', () => {
  it('parses --auth case-insensitively and rejects others as asrestore does', () => {
    expect(parseAuthMode('internal')).to.equal('INTERNAL');
    expect(parseAuthMode('External_Insecure')).to.equal('EXTERNAL_INSECURE');
    expect(parseAuthMode('pki')).to.equal('PKI');
    expect(() => parseAuthMode('LDAP')).to.throw('Invalid authentication mode LDAP. Allowed values are INTERNAL / EXTERNAL / EXTERNAL_INSECURE / PKI');
  });

  it('validates modes, TLS needs and lengths without quoting the password', () => {
    expect(prepareAuth({ mode: 'INTERNAL' }, { tlsEnabled: false })).to.equal(undefined);
    expect(prepareAuth({ user: 'u', password: 'p' }, { tlsEnabled: false })).to.deep.equal({ mode: 'INTERNAL', user: 'u', credential: passwordCredential('p') });
    expect(() => prepareAuth({ mode: 'EXTERNAL', user: 'u', password: 'p' }, { tlsEnabled: false })).to.throw('TLS is required for external or PKI authentication');
    expect(() => prepareAuth({ mode: 'PKI' }, { tlsEnabled: false })).to.throw('TLS is required');
    expect(() => prepareAuth({ mode: 'PKI', password: 'p' }, { tlsEnabled: true })).to.throw(/Password authentication is disabled for PKI-only users/);
    const long = 'x'.repeat(64);
    try {
      prepareAuth({ user: 'u', password: long }, { tlsEnabled: false });
      expect.fail('accepted a 64-byte password');
    } catch (error) {
      expect((error as Error).message).to.equal('Invalid password for user name `u`: longer than 63 bytes');
    }
    expect(() => prepareAuth({ user: 'é'.repeat(32), password: 'p' }, { tlsEnabled: false })).to.throw('user name is longer than 63 bytes');
  });
});

describe('SessionManager (session reuse and renewal per node, as the C client)', () => {
  const auth = internal('restorer', 'r3store-Pw');

  it('logs in once and authenticates every further connection with the token', async () => {
    const realm = new SecurityRealm(USERS);
    const sessions = new SessionManager(auth);
    for (let i = 0; i < 4; i++) {
      const connection = newConnection();
      await sessions.authenticateConnection('A', realmTransport(realm, connection));
      expect(connection.authenticated).to.equal(true);
    }
    expect(realm.counters).to.deep.equal({ logins: 1, authentications: 3 });
    expect(sessions.session('A')!.ttlSeconds).to.equal(86400);
  });

  it('shares one login among connections opened at the same time', async () => {
    const realm = new SecurityRealm(USERS);
    const sessions = new SessionManager(auth);
    const connections = Array.from({ length: 5 }, () => newConnection());
    await Promise.all(connections.map((connection) => sessions.authenticateConnection('A', realmTransport(realm, connection))));
    expect(connections.every((connection) => connection.authenticated)).to.equal(true);
    expect(realm.counters).to.deep.equal({ logins: 1, authentications: 4 });
  });

  it('logs in again 60 s before the server TTL runs out', async () => {
    let now = 0;
    const realm = new SecurityRealm(USERS, { sessionTtlSeconds: 300, now: () => now });
    const sessions = new SessionManager(auth, { now: () => now });
    await sessions.authenticateConnection('A', realmTransport(realm, newConnection()));
    expect(sessions.session('A')!.expiresAtMs).to.equal(240_000);
    now = 239_999;
    await sessions.authenticateConnection('A', realmTransport(realm, newConnection()));
    expect(realm.counters).to.deep.equal({ logins: 1, authentications: 1 });
    now = 240_000;
    await sessions.authenticateConnection('A', realmTransport(realm, newConnection()));
    expect(realm.counters).to.deep.equal({ logins: 2, authentications: 1 });
  });

  it('a token the server no longer accepts leads to a new login on the same connection', async () => {
    const realm = new SecurityRealm(USERS, { sessionTtlSeconds: 30 });
    const sessions = new SessionManager(auth);
    await sessions.authenticateConnection('A', realmTransport(realm, newConnection()));
    // A TTL within the 60 s margin gives no client-side expiry (the C client warns and keeps it).
    expect(sessions.session('A')!.expiresAtMs).to.equal(0);
    realm.expireSessions();
    const connection = newConnection();
    await sessions.authenticateConnection('A', realmTransport(realm, connection));
    expect(connection.authenticated).to.equal(true);
    expect(realm.counters).to.deep.equal({ logins: 2, authentications: 1 });
  });

  it('requestLogin() after NOT_AUTHENTICATED / EXPIRED_SESSION forces a login; nodes are separate', async () => {
    const realm = new SecurityRealm(USERS);
    const sessions = new SessionManager(auth);
    await sessions.authenticateConnection('A', realmTransport(realm, newConnection()));
    await sessions.authenticateConnection('B', realmTransport(realm, newConnection()));
    expect(realm.counters.logins).to.equal(2);
    expect(needsNewLogin(ResultCode.NOT_AUTHENTICATED)).to.equal(true);
    expect(needsNewLogin(ResultCode.KEY_EXISTS)).to.equal(false);
    sessions.requestLogin('A');
    await sessions.authenticateConnection('A', realmTransport(realm, newConnection()));
    await sessions.authenticateConnection('B', realmTransport(realm, newConnection()));
    expect(realm.counters).to.deep.equal({ logins: 3, authentications: 1 });
  });

  it('a refused login fails the connection, and the next connection tries again', async () => {
    const realm = new SecurityRealm(USERS);
    const sessions = new SessionManager(auth);
    realm.failNextLogin(ResultCode.INVALID_CREDENTIAL);
    await expectAuthFailure(sessions.authenticateConnection('A', realmTransport(realm, newConnection())), ResultCode.INVALID_CREDENTIAL);
    const connection = newConnection();
    await sessions.authenticateConnection('A', realmTransport(realm, connection));
    expect(connection.authenticated).to.equal(true);
  });

  it('a node without security (SECURITY_NOT_ENABLED) is not asked again', async () => {
    let exchanges = 0;
    const transport: AdminTransport = {
      exchange: async () => {
        exchanges++;
        return securityNotEnabledAdminAnswer().subarray(8);
      },
    };
    const sessions = new SessionManager(auth);
    await sessions.authenticateConnection('A', transport);
    await sessions.authenticateConnection('A', transport);
    expect(sessions.session('A')).to.equal(null);
    expect(exchanges).to.equal(1);
  });
});

describe('socketAdminTransport over TCP', () => {
  let server: Server;
  let port: number;
  const realm = new SecurityRealm(USERS);
  let mode: 'realm' | 'silent' | 'close' | 'double' = 'realm';
  const open = new Set<Socket>();

  before(async () => {
    server = createServer((socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      const connection = newConnection();
      const reader = new ProtoFrameReader();
      socket.on('data', (chunk) => {
        for (const frame of reader.push(chunk)) {
          if (mode === 'silent') continue;
          if (mode === 'close') {
            socket.destroy();
            return;
          }
          const answer = realm.handleAdminMessage(frame.body, connection);
          // Split the answer to exercise reassembly; 'double' appends a stray second frame.
          socket.write(answer.subarray(0, 5));
          socket.write(mode === 'double' ? Buffer.concat([answer.subarray(5), answer]) : answer.subarray(5));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  after(async () => {
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  async function withSocket<T>(fn: (socket: Socket) => Promise<T>): Promise<T> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    try {
      return await fn(socket);
    } finally {
      socket.destroy();
    }
  }

  it('logs in over a real socket and leaves no listener behind', async () => {
    mode = 'realm';
    await withSocket(async (socket) => {
      const before = socket.listenerCount('data');
      const session = await login(socketAdminTransport(socket, { timeoutMs: 2000 }), auth());
      expect(session!.token.length).to.equal(32);
      expect(socket.listenerCount('data')).to.equal(before);
      expect(socket.listenerCount('close')).to.equal(0);
    });
  });

  it('reports a timeout, a closed connection and a stray extra frame as typed errors', async () => {
    const cases: Array<[typeof mode, string]> = [
      ['silent', ClientErrorCode.SOCKET_TIMEOUT],
      ['close', ClientErrorCode.CONNECTION],
      ['double', ClientErrorCode.PROTOCOL],
    ];
    for (const [serverMode, code] of cases) {
      mode = serverMode;
      await withSocket(async (socket) => {
        try {
          await socketAdminTransport(socket, { timeoutMs: 200 }).exchange(encodeLoginRequest({ mode: 'PKI' }));
          expect.fail(`no error in mode ${serverMode}`);
        } catch (error) {
          expect((error as AerospikeError).code, serverMode).to.equal(code);
        }
      });
    }
    mode = 'realm';
  });

  function auth(): PreparedAuth {
    return internal('restorer', 'r3store-Pw');
  }
});
