/**
 * Login and TLS through the Cluster and WriteClient, against the test cluster with security and
 * TLS listeners: good and bad logins, session-token reuse by worker connections, re-login when the
 * session is due or a command says it expired, and TLS with a good CA, a wrong CA, a wrong TLS
 * name, a required client certificate, and PKI login by that certificate.
 */
import { expect } from 'chai';
import { TestCluster } from '../cluster/cluster.js';
import { testPki, type TestPki } from '../support/tls-certs.js';
import type { SecurityRealm } from '../cluster/security.js';
import { Cluster, type ClusterOptions } from '../../src/shared/aerospike/cluster.js';
import { WriteClient } from '../../src/shared/aerospike/write-client.js';
import { prepareAuth } from '../../src/shared/aerospike/auth.js';
import { resolveTlsSettings, type TlsSettings } from '../../src/shared/aerospike/tls-options.js';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { Info2, ParticleType, ResultCode, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import { bin, makeRecord, seedList, waitFor } from './support.js';

const WRITE = { info2: Info2.WRITE, info3: 0 };
const PASSWORD = 'pa55-word!';

async function connectError(options: ClusterOptions): Promise<AerospikeError> {
  try {
    const cluster = await Cluster.connect(options);
    await cluster.close();
  } catch (error) {
    expect(error).to.be.instanceOf(AerospikeError);
    return error as AerospikeError;
  }
  throw new Error('expected Cluster.connect to fail');
}

/** LOGIN requests the cluster's security realm answered (AUTHENTICATE by token not counted). */
function logins(tc: TestCluster): number {
  return (tc.security as SecurityRealm).counters.logins;
}

function authentications(tc: TestCluster): number {
  return (tc.security as SecurityRealm).counters.authentications;
}

describe('client: login', function () {
  this.timeout(30_000);
  let tc: TestCluster;

  beforeEach(async () => {
    tc = await TestCluster.start({ nodes: 3, users: [{ name: 'restorer', password: PASSWORD }], sessionTtlSeconds: 62 });
  });
  afterEach(async () => {
    tc.faults.clear();
    await tc.stop();
  });

  it('logs in once per node and lets worker connections reuse the session tokens', async () => {
    const auth = prepareAuth({ user: 'restorer', password: PASSWORD }, { tlsEnabled: false })!;
    const cluster = await Cluster.connect({ hosts: seedList(tc.seeds), auth, tendIntervalMs: 60_000 });
    const writer = new WriteClient(cluster.sharedSettings.routing, { auth: cluster.sharedSettings.auth, maxCommandsInFlight: 6 });
    try {
      const before = logins(tc);
      const tokenUses = authentications(tc);
      const records = Array.from({ length: 200 }, (_, i) => makeRecord('test', 'auth', i, [bin('v', ParticleType.INTEGER, i)]));
      const results = await Promise.all([0, 50, 100, 150].map((start) => writer.writeBatch(records.slice(start, start + 50), new Array(50).fill(TTL_NEVER_EXPIRE), WRITE)));
      expect(results.every((result) => result.failures.length === 0 && result.resultCodes.every((code) => code === 0))).to.equal(true);
      expect(logins(tc), 'new connections authenticate with the token, they do not log in').to.equal(before);
      expect(authentications(tc) - tokenUses).to.be.at.least(3);
      expect(tc.records('test', 'auth')).to.have.length(200);
    } finally {
      await writer.close();
      await cluster.close();
    }
  });

  it('logs in an external (LDAP) user with EXTERNAL_INSECURE, sending the clear password', async () => {
    await tc.stop();
    tc = await TestCluster.start({ nodes: 2, users: [{ name: 'ldap-user', password: PASSWORD, external: true }] });
    const auth = prepareAuth({ mode: 'EXTERNAL_INSECURE', user: 'ldap-user', password: PASSWORD }, { tlsEnabled: false })!;
    const cluster = await Cluster.connect({ hosts: seedList(tc.seeds), auth });
    const writer = new WriteClient(cluster.sharedSettings.routing, { auth });
    try {
      const record = makeRecord('test', 'ldap', 'one', [bin('v', ParticleType.INTEGER, 1)]);
      expect(await writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE)).to.equal(ResultCode.OK);
    } finally {
      await writer.close();
      await cluster.close();
    }
    // INTERNAL login cannot work for an external user: the server has no credential for it.
    const internal = await connectError({ hosts: seedList(tc.seeds), auth: prepareAuth({ user: 'ldap-user', password: PASSWORD }, { tlsEnabled: false })!, timeoutMs: 3000 });
    expect(internal.code).to.equal(ClientErrorCode.AUTH);
    expect(internal.message).to.not.include(PASSWORD);
  });

  it('refuses a wrong password with an AUTH error that does not show the password', async () => {
    const auth = prepareAuth({ user: 'restorer', password: 'wrong-secret' }, { tlsEnabled: false })!;
    const error = await connectError({ hosts: seedList(tc.seeds), auth, timeoutMs: 3000 });
    expect(error.code).to.equal(ClientErrorCode.AUTH);
    expect([ResultCode.INVALID_PASSWORD, ResultCode.INVALID_CREDENTIAL]).to.include(error.resultCode);
    expect(error.message).to.include('restorer');
    expect(error.message).to.not.include('wrong-secret');
    expect(error.message).to.not.include(auth.credential!);
    const unknown = await connectError({ hosts: seedList(tc.seeds), auth: prepareAuth({ user: 'nobody', password: 'x' }, { tlsEnabled: false })!, timeoutMs: 3000 });
    expect(unknown.code).to.equal(ClientErrorCode.AUTH);
    expect(unknown.resultCode).to.equal(ResultCode.INVALID_USER);
  });

  it('tells a client without credentials that the cluster requires authentication', async () => {
    const error = await connectError({ hosts: seedList(tc.seeds), timeoutMs: 3000 });
    expect(error.code).to.equal(ClientErrorCode.AUTH);
    expect(error.resultCode).to.equal(ResultCode.NOT_AUTHENTICATED);
    expect(error.message).to.include('requires authentication');
  });

  it('logs in again when the session is due, and when a command says it expired', async () => {
    const auth = prepareAuth({ user: 'restorer', password: PASSWORD }, { tlsEnabled: false })!;
    // TTL 62 s: the client stops using a token 60 s early, so it is due after 2 s.
    const cluster = await Cluster.connect({ hosts: seedList(tc.seeds), auth, tendIntervalMs: 100 });
    const writer = new WriteClient(cluster.sharedSettings.routing, { auth });
    try {
      const first = logins(tc);
      await waitFor(() => logins(tc) >= first + 3, 10_000, 'the tender to renew every node session');
      const record = makeRecord('test', 'auth', 'renewed', [bin('v', ParticleType.INTEGER, 1)]);
      expect(await writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE)).to.equal(ResultCode.OK);

      const beforeExpiry = logins(tc);
      tc.faults.failCommands(ResultCode.EXPIRED_SESSION, { count: 1, kinds: ['single-write'] });
      expect(await writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE)).to.equal(ResultCode.EXPIRED_SESSION);
      await waitFor(() => logins(tc) > beforeExpiry, 5_000, 'a login after EXPIRED_SESSION');
      expect(await writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE)).to.equal(ResultCode.OK);
    } finally {
      await writer.close();
      await cluster.close();
    }
  });
});

describe('client: TLS', function () {
  this.timeout(60_000);
  let pki: TestPki;

  before(function () {
    try {
      pki = testPki();
    } catch (error) {
      this.skip();
      void error;
    }
  });

  async function withCluster(
    nodeTls: { requestCert?: boolean },
    users: { name: string; password: string; external?: boolean }[] | undefined,
    run: (tc: TestCluster) => Promise<void>,
  ): Promise<void> {
    const tc = await TestCluster.start({
      nodes: 2,
      users,
      tls: { key: pki.node.key, cert: pki.node.cert, ca: pki.ca.cert, name: pki.nodeTlsName, ...nodeTls },
    });
    try {
      await run(tc);
    } finally {
      await tc.stop();
    }
  }

  async function tlsFor(settings: TlsSettings) {
    return (await resolveTlsSettings({ enable: true, ...settings }))!;
  }

  it('connects, discovers peers over peers-tls-std and writes with the right CA and TLS name', async () => {
    await withCluster({}, undefined, async (tc) => {
      const tls = await tlsFor({ cafile: pki.ca.certPath, name: pki.nodeTlsName });
      const cluster = await Cluster.connect({ hosts: seedList([tc.seeds[0]]), tls, timeoutMs: 5000 });
      const writer = new WriteClient(cluster.sharedSettings.routing, { tls: cluster.sharedSettings.tls });
      try {
        expect(cluster.nodes).to.have.length(2);
        expect(cluster.nodes.every((node) => node.tlsName === pki.nodeTlsName)).to.equal(true);
        const records = Array.from({ length: 20 }, (_, i) => makeRecord('test', 'tls', i, [bin('v', ParticleType.INTEGER, i)]));
        const result = await writer.writeBatch(records, new Array(20).fill(TTL_NEVER_EXPIRE), WRITE);
        expect(result.failures).to.deep.equal([]);
        expect(tc.records('test', 'tls')).to.have.length(20);
      } finally {
        await writer.close();
        await cluster.close();
      }
    });
  });

  it('refuses a server whose certificate is not from the given CA', async () => {
    await withCluster({}, undefined, async (tc) => {
      const tls = await tlsFor({ cafile: pki.wrongCa.certPath, name: pki.nodeTlsName });
      const error = await connectError({ hosts: seedList(tc.seeds), tls, timeoutMs: 3000 });
      expect(error.code).to.equal(ClientErrorCode.TLS);
      expect(error.message).to.match(/trusted CA|tls-cafile/);
    });
  });

  it('refuses a server whose certificate does not carry the TLS name', async () => {
    await withCluster({}, undefined, async (tc) => {
      const tls = await tlsFor({ cafile: pki.ca.certPath, name: 'other.cluster.test' });
      const error = await connectError({ hosts: seedList(tc.seeds), tls, timeoutMs: 3000 });
      expect(error.code).to.equal(ClientErrorCode.TLS);
      expect(error.message).to.include('other.cluster.test');
      // The per-host TLS name of HOST:TLSNAME:PORT wins over --tls-name.
      const hosts = tc.seeds.map((seed) => `${seed.host}:${pki.nodeTlsName}:${seed.port}`).join(',');
      const cluster = await Cluster.connect({ hosts, tls, timeoutMs: 3000 });
      expect(cluster.nodes.length).to.be.at.least(1);
      await cluster.close();
    });
  });

  it('logs in with EXTERNAL over TLS', async () => {
    await withCluster({}, [{ name: 'ldap-user', password: PASSWORD, external: true }], async (tc) => {
      const tls = await tlsFor({ cafile: pki.ca.certPath, name: pki.nodeTlsName });
      const auth = prepareAuth({ mode: 'EXTERNAL', user: 'ldap-user', password: PASSWORD }, { tlsEnabled: true })!;
      const cluster = await Cluster.connect({ hosts: seedList(tc.seeds), tls, auth, timeoutMs: 5000 });
      const writer = new WriteClient(cluster.sharedSettings.routing, { tls, auth });
      try {
        const record = makeRecord('test', 'ldap-tls', 'one', [bin('v', ParticleType.INTEGER, 1)]);
        expect(await writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE)).to.equal(ResultCode.OK);
      } finally {
        await writer.close();
        await cluster.close();
      }
    });
  });

  it('presents a client certificate when the server requires one, and logs in by it (PKI)', async () => {
    await withCluster({ requestCert: true }, [{ name: pki.clientUser, password: 'unused-pass' }], async (tc) => {
      const withoutCert = await tlsFor({ cafile: pki.ca.certPath, name: pki.nodeTlsName });
      const refused = await connectError({ hosts: seedList(tc.seeds), tls: withoutCert, auth: prepareAuth({ mode: 'PKI' }, { tlsEnabled: true }), timeoutMs: 3000 });
      expect([ClientErrorCode.TLS, ClientErrorCode.CONNECTION]).to.include(refused.code);

      const tls = await tlsFor({ cafile: pki.ca.certPath, name: pki.nodeTlsName, certfile: pki.client.certPath, keyfile: pki.client.keyPath });
      const auth = prepareAuth({ mode: 'PKI' }, { tlsEnabled: true })!;
      const cluster = await Cluster.connect({ hosts: seedList(tc.seeds), tls, auth, timeoutMs: 5000 });
      const writer = new WriteClient(cluster.sharedSettings.routing, { tls, auth });
      try {
        const record = makeRecord('test', 'pki', 'one', [bin('v', ParticleType.INTEGER, 1)]);
        expect(await writer.writeRecord(record, TTL_NEVER_EXPIRE, WRITE)).to.equal(ResultCode.OK);
        expect(tc.records('test', 'pki')).to.have.length(1);
      } finally {
        await writer.close();
        await cluster.close();
      }
    });
  });
});
