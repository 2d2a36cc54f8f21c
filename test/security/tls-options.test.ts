import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import {
  TlsConnector,
  certificateMatchesTlsName,
  describeTls,
  describeTlsSession,
  parseCertBlacklist,
  parseTlsProtocols,
  resolveTlsSettings,
  tlsConnectError,
  type ResolvedTls,
  type TlsSettings,
  type TlsTarget,
} from '../../src/shared/aerospike/tls-options.js';
import { AsrestoreError } from '../../src/shared/errors.js';
import { testPki, type TestCertificate, type TestPki } from '../support/tls-certs.js';

async function expectConfigError(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(AsrestoreError);
    expect((error as AsrestoreError).code).to.equal('TLS_CONFIG');
    expect((error as Error).message).to.match(pattern);
    return error as Error;
  }
  expect.fail(`expected a TLS_CONFIG error matching ${pattern}`);
}

describe('tls-options: --tls-protocols', () => {
  const cases: Array<[string | undefined, string, string]> = [
    [undefined, 'TLSv1.2', 'TLSv1.2'],
    ['TLSv1.2', 'TLSv1.2', 'TLSv1.2'],
    ['tlsv1.1', 'TLSv1.1', 'TLSv1.1'],
    ['+TLSv1.2', 'TLSv1.2', 'TLSv1.2'],
    ['TLSv1.2 TLSv1.3', 'TLSv1.2', 'TLSv1.3'],
    ['TLSv1.2\t+TLSv1.3', 'TLSv1.2', 'TLSv1.3'],
    ['all', 'TLSv1', 'TLSv1.3'],
    ['all -TLSv1', 'TLSv1.1', 'TLSv1.3'],
    ['all -TLSv1 -TLSv1.1 -TLSv1.3', 'TLSv1.2', 'TLSv1.2'],
    ['+TLSv1.1 +TLSv1.2', 'TLSv1.1', 'TLSv1.2'],
    ['TLSv1.3', 'TLSv1.3', 'TLSv1.3'],
  ];
  for (const [spec, min, max] of cases) {
    it(`${JSON.stringify(spec)} -> ${min}..${max}`, () => {
      expect(parseTlsProtocols(spec)).to.deep.equal({ minVersion: min, maxVersion: max });
    });
  }

  it('refuses SSL, unknown names, empty sets and sets with a gap, with the C messages where C has them', () => {
    expect(() => parseTlsProtocols('SSLv3')).to.throw('--tls-protocols: SSLv3 not supported');
    expect(() => parseTlsProtocols('+SSLv2')).to.throw('SSLv2 not supported (RFC 6176)');
    expect(() => parseTlsProtocols('TLSv9')).to.throw('--tls-protocols: unknown TLS protocol TLSv9');
    expect(() => parseTlsProtocols('-TLSv1.2')).to.throw('enables no protocol');
    expect(() => parseTlsProtocols('TLSv1 TLSv1.2')).to.throw('enables TLSv1, TLSv1.2: only a contiguous range of versions can be enabled');
  });
});

describe('tls-options: names, blacklist, description', () => {
  const cert = (subjectaltname: string | undefined, cn?: string | string[]): tls.PeerCertificate =>
    ({ subjectaltname, subject: cn === undefined ? {} : { CN: cn } }) as unknown as tls.PeerCertificate;

  it('matches SAN DNS names and subject CNs case-insensitively, with left-most-label wildcards', () => {
    expect(certificateMatchesTlsName(cert('DNS:node1.example, DNS:node2.example'), 'NODE2.example')).to.equal(true);
    expect(certificateMatchesTlsName(cert('DNS:other.example', 'node1.example'), 'node1.example')).to.equal(true);
    expect(certificateMatchesTlsName(cert(undefined, ['a', 'node1.example']), 'node1.example')).to.equal(true);
    expect(certificateMatchesTlsName(cert('DNS:*.example'), 'node1.example')).to.equal(true);
    expect(certificateMatchesTlsName(cert('DNS:*.example'), 'a.node1.example')).to.equal(false);
    expect(certificateMatchesTlsName(cert('DNS:*.example'), 'example')).to.equal(false);
    expect(certificateMatchesTlsName(cert('IP Address:127.0.0.1'), '127.0.0.1')).to.equal(false);
    expect(certificateMatchesTlsName(cert('DNS:"odd,name", DNS:plain'), 'odd,name')).to.equal(true);
  });

  it('reads a blacklist file as the C client does: comments, serial, optional issuer to the end of the line', () => {
    const entries = parseCertBlacklist('# comment\n867EC87482B2\n\n00ab12 /C=US/ST=CA/O=Acme/OU=Eng/CN=Test Chain CA\r\n');
    expect(entries).to.deep.equal([
      { serial: '867EC87482B2' },
      { serial: 'AB12', issuer: '/C=US/ST=CA/O=Acme/OU=Eng/CN=Test Chain CA' },
    ]);
  });

  it('describes settings without the key password', () => {
    const resolved: ResolvedTls = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', key: 'KEY', passphrase: 'pass-phrase-1', logSessionInfo: false, ca: ['x'] };
    const text = describeTls(resolved);
    expect(text).to.include('protocols TLSv1.2..TLSv1.2');
    expect(text).to.not.include('pass-phrase-1');
    expect(text).to.not.include('KEY');
  });
});

describe('tls-options: resolving files and secrets', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let scratch: string;
  before(() => {
    pki = testPki();
    scratch = mkdtempSync(join(tmpdir(), 'asrestore-tls-opts-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('is off unless --tls-enable is given', async () => {
    expect(await resolveTlsSettings({ cafile: '/nonexistent' })).to.equal(undefined);
  });

  it('loads --tls-cafile, --tls-capath (hashed names) and both together without duplicates', async () => {
    const fromFile = (await resolveTlsSettings({ enable: true, cafile: pki.ca.certPath }))!;
    expect(fromFile.ca).to.have.length(1);
    expect(fromFile).to.include({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', logSessionInfo: false });
    const fromDir = (await resolveTlsSettings({ enable: true, capath: pki.capath }))!;
    expect(fromDir.ca).to.deep.equal(fromFile.ca);
    const both = (await resolveTlsSettings({ enable: true, cafile: pki.ca.certPath, capath: pki.capath }))!;
    expect(both.ca).to.have.length(1);
    const two = (await resolveTlsSettings({ enable: true, cafile: pki.wrongCa.certPath, capath: pki.capath, name: 'n1', logSessionInfo: true, protocols: 'all -TLSv1 -TLSv1.1' }))!;
    expect(two.ca).to.have.length(2);
    expect(two).to.include({ defaultTlsName: 'n1', logSessionInfo: true, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
  });

  it('fails clearly on unreadable or empty CA sources', async () => {
    await expectConfigError(resolveTlsSettings({ enable: true, cafile: join(scratch, 'none.pem') }), /--tls-cafile: cannot read .*none\.pem \(ENOENT\)/);
    writeFileSync(join(scratch, 'not-a-cert.pem'), 'hello\n');
    await expectConfigError(resolveTlsSettings({ enable: true, cafile: join(scratch, 'not-a-cert.pem') }), /no PEM certificate/);
    await expectConfigError(resolveTlsSettings({ enable: true, capath: join(scratch, 'missing-dir') }), /--tls-capath: cannot read directory/);
    const empty = mkdtempSync(join(scratch, 'empty-'));
    await expectConfigError(resolveTlsSettings({ enable: true, capath: empty }), /--tls-capath: no PEM CA certificate/);
  });

  it('finds CRLs in the capath for --tls-crl-check / --tls-crl-check-all, and says so when there is none', async () => {
    const withCrl = (await resolveTlsSettings({ enable: true, capath: pki.capath, crlCheck: true }))!;
    expect(withCrl.crl).to.have.length(1);
    const all = (await resolveTlsSettings({ enable: true, capath: pki.capath, crlCheckAll: true }))!;
    expect(all.crl).to.have.length(1);
    await expectConfigError(
      resolveTlsSettings({ enable: true, capath: pki.capathWithoutCrl, crlCheck: true }),
      /--tls-crl-check: no CRL could be loaded \(--tls-capath .*capath-no-crl\)/,
    );
    await expectConfigError(resolveTlsSettings({ enable: true, cafile: pki.ca.certPath, crlCheckAll: true }), /--tls-crl-check-all: no CRL could be loaded \(no --tls-capath was given\)/);
    const noCheck = (await resolveTlsSettings({ enable: true, capath: pki.capath }))!;
    expect(noCheck.crl).to.equal(undefined);
  });

  it('decrypts --tls-keyfile with every --tls-keyfile-password form', async () => {
    const password = pki.encryptedClientKeyPassword;
    const base: TlsSettings = { enable: true, cafile: pki.ca.certPath, certfile: pki.client.certPath, keyfile: pki.encryptedClientKeyPath };
    const passwordFile = join(scratch, 'key-password');
    writeFileSync(passwordFile, `${password}\n`);
    const forms: Array<[TlsSettings['keyfilePassword'], object]> = [
      [password, {}],
      ['env:ASRESTORE_TEST_KEY_PW', { env: { ASRESTORE_TEST_KEY_PW: password } }],
      [`file:${passwordFile}`, {}],
      [true, { prompt: async (message: string) => (message === 'Enter TLS-Keyfile Password: ' ? password : 'wrong') }],
    ];
    for (const [form, deps] of forms) {
      const resolved = (await resolveTlsSettings({ ...base, keyfilePassword: form }, deps))!;
      expect(resolved.passphrase, String(form)).to.equal(password);
      expect(resolved.key).to.include('ENCRYPTED PRIVATE KEY');
      expect(resolved.cert).to.include('BEGIN CERTIFICATE');
    }
  });

  it('says when the key password is missing or wrong, without showing it', async () => {
    const base: TlsSettings = { enable: true, cafile: pki.ca.certPath, certfile: pki.client.certPath, keyfile: pki.encryptedClientKeyPath };
    await expectConfigError(resolveTlsSettings(base), /Private key password is required \(--tls-keyfile-password\)/);
    const wrong = await expectConfigError(resolveTlsSettings({ ...base, keyfilePassword: 'Wr0ng-secret' }), /Private key password is invalid/);
    expect(wrong.message).to.not.include('Wr0ng-secret');
    try {
      await resolveTlsSettings({ ...base, keyfilePassword: 'env:ASRESTORE_TEST_UNSET_VAR' }, { env: {} });
      expect.fail('resolved an unset variable');
    } catch (error) {
      expect((error as Error).message).to.equal('--tls-keyfile-password: environment variable ASRESTORE_TEST_UNSET_VAR is not set');
    }
  });

  it('refuses a key that does not match the certificate, and an unknown cipher list', async () => {
    await expectConfigError(
      resolveTlsSettings({ enable: true, cafile: pki.ca.certPath, certfile: pki.client.certPath, keyfile: pki.node.keyPath }),
      /--tls-keyfile .*node1\.key does not match the certificate in --tls-certfile .*client\.pem/,
    );
    await expectConfigError(resolveTlsSettings({ enable: true, cafile: pki.ca.certPath, cipherSuite: 'NO-SUCH-CIPHER' }), /--tls-cipher-suite "NO-SUCH-CIPHER": no compatible cipher found/);
    const ok = (await resolveTlsSettings({ enable: true, cafile: pki.ca.certPath, cipherSuite: 'ECDHE-ECDSA-AES128-GCM-SHA256' }))!;
    expect(ok.ciphers).to.equal('ECDHE-ECDSA-AES128-GCM-SHA256');
  });

  it('reads the deprecated --tls-cert-blacklist and warns as asrestore does', async () => {
    const file = join(scratch, 'blacklist');
    writeFileSync(file, `${pki.node.serial}\n`);
    const warnings: string[] = [];
    const resolved = (await resolveTlsSettings({ enable: true, cafile: pki.ca.certPath, certBlacklist: file }, { warn: (message) => warnings.push(message) }))!;
    expect(resolved.blacklist).to.deep.equal([{ serial: pki.node.serial }]);
    expect(warnings).to.deep.equal(['Warning: --tls-cert-blackList is deprecated and will be removed in the next release. Use a crl instead']);
    await expectConfigError(resolveTlsSettings({ enable: true, certBlacklist: join(scratch, 'nope') }), /Failed to read certificate blacklist: cannot read/);
  });

  it('needs a TLS name per host: HOST:TLSNAME:PORT wins over --tls-name; none is an error', () => {
    const connector = new TlsConnector({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', logSessionInfo: false, defaultTlsName: 'default.name' });
    expect(connector.tlsNameFor({ host: '10.0.0.1', port: 4333, tlsName: 'per-host.name' })).to.equal('per-host.name');
    expect(connector.tlsNameFor({ host: '10.0.0.1', port: 4333, tlsName: null })).to.equal('default.name');
    const options = connector.connectOptions({ host: '10.0.0.1', port: 4333 });
    expect(options).to.include({ host: '10.0.0.1', port: 4333, servername: 'default.name', rejectUnauthorized: true });
    const bare = new TlsConnector({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', logSessionInfo: false });
    expect(() => bare.connectOptions({ host: '10.0.0.1', port: 4333 })).to.throw(AerospikeError, 'TLS is enabled but 10.0.0.1:4333 has no TLS name: give --tls-name NAME or --host HOST:TLSNAME:PORT');
  });
});

describe('tls-options: real handshakes on 127.0.0.1', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let scratch: string;
  const servers: tls.Server[] = [];
  const sockets = new Set<tls.TLSSocket>();

  before(() => {
    pki = testPki();
    scratch = mkdtempSync(join(tmpdir(), 'asrestore-tls-hs-'));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    rmSync(scratch, { recursive: true, force: true });
  });

  interface ServerSeen {
    servername?: string | false;
    clientCertificateCn?: string;
  }

  async function startServer(
    certificate: TestCertificate,
    options: { requireClientCertificate?: boolean; minVersion?: tls.SecureVersion } = {},
  ): Promise<{ port: number; seen: ServerSeen }> {
    const seen: ServerSeen = {};
    const server = tls.createServer(
      {
        key: certificate.key,
        cert: certificate.cert,
        requestCert: options.requireClientCertificate ?? false,
        rejectUnauthorized: options.requireClientCertificate ?? false,
        ca: [pki.ca.cert],
        ...(options.minVersion ? { minVersion: options.minVersion } : {}),
      },
      (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        seen.servername = (socket as tls.TLSSocket & { servername?: string | false }).servername;
        const peer = socket.getPeerCertificate();
        if (peer && peer.subject) seen.clientCertificateCn = peer.subject.CN as string;
        socket.end('ok');
      },
    );
    server.on('tlsClientError', () => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as { port: number }).port, seen };
  }

  /** Connects with our options; resolves once the server's "ok" arrives (so refusals after the handshake count). */
  async function connectWith(resolved: ResolvedTls, target: TlsTarget): Promise<{ session: string }> {
    const connector = new TlsConnector(resolved);
    const tlsName = connector.tlsNameFor(target);
    return new Promise((resolve, reject) => {
      const socket = tls.connect(connector.connectOptions(target));
      sockets.add(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('handshake timed out'));
      }, 5000);
      let session = '';
      socket.once('secureConnect', () => {
        session = describeTlsSession(socket, target);
      });
      socket.on('data', (data) => {
        if (data.toString() !== 'ok') return;
        clearTimeout(timer);
        socket.destroy();
        resolve({ session });
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(tlsConnectError(error, target, tlsName));
      });
      socket.once('close', () => {
        clearTimeout(timer);
        reject(new Error('closed before the server answered'));
      });
    });
  }

  async function expectTlsFailure(promise: Promise<unknown>, pattern: RegExp): Promise<AerospikeError> {
    try {
      await promise;
    } catch (error) {
      expect(error).to.be.instanceOf(AerospikeError);
      expect((error as AerospikeError).code).to.equal(ClientErrorCode.TLS);
      expect((error as Error).message).to.match(pattern);
      return error as AerospikeError;
    }
    expect.fail(`expected a TLS failure matching ${pattern}`);
  }

  async function resolve(settings: TlsSettings): Promise<ResolvedTls> {
    return (await resolveTlsSettings({ enable: true, ...settings }))!;
  }

  it('good CA (cafile and capath): verifies against the TLS name, not the IP dialled, and sends it as SNI', async () => {
    const { port, seen } = await startServer(pki.node);
    const target = { host: '127.0.0.1', port, tlsName: pki.nodeTlsName };
    const { session } = await connectWith(await resolve({ cafile: pki.ca.certPath }), target);
    expect(session).to.match(new RegExp(`^TLS session with 127\\.0\\.0\\.1:${port}: protocol TLSv1\\.2, cipher [A-Z0-9-]+$`));
    expect(seen.servername).to.equal(pki.nodeTlsName);
    await connectWith(await resolve({ capath: pki.capath }), target);
    // --tls-name applies to hosts without their own name; a per-host name wins over it.
    await connectWith(await resolve({ cafile: pki.ca.certPath, name: pki.nodeTlsName }), { host: '127.0.0.1', port });
    await connectWith(await resolve({ cafile: pki.ca.certPath, name: 'wrong.name' }), target);
  });

  it('matches a CN-only certificate, a wildcard, and names case-insensitively', async () => {
    const ca = await resolve({ cafile: pki.ca.certPath });
    const cnOnly = await startServer(pki.cnOnlyNode);
    await connectWith(ca, { host: '127.0.0.1', port: cnOnly.port, tlsName: 'CN-Only.Cluster.Test' });
    const wildcard = await startServer(pki.wildcardNode);
    await connectWith(ca, { host: '127.0.0.1', port: wildcard.port, tlsName: 'a7.wild.cluster.test' });
    await expectTlsFailure(connectWith(ca, { host: '127.0.0.1', port: wildcard.port, tlsName: 'x.a7.wild.cluster.test' }), /does not carry the TLS name/);
  });

  it('wrong CA: a clear "not signed by a trusted CA" error, both ways round', async () => {
    const { port } = await startServer(pki.node);
    const error = await expectTlsFailure(
      connectWith(await resolve({ cafile: pki.wrongCa.certPath }), { host: '127.0.0.1', port, tlsName: pki.nodeTlsName }),
      /^TLS handshake with 127\.0\.0\.1:\d+ \(TLS name 'node1\.cluster\.test'\) failed: the server certificate is not signed by a trusted CA \(check --tls-cafile \/ --tls-capath\)/,
    );
    expect(error.node).to.equal(`127.0.0.1:${port}`);
    const foreign = await startServer(pki.nodeFromWrongCa);
    await expectTlsFailure(connectWith(await resolve({ cafile: pki.ca.certPath }), { host: '127.0.0.1', port: foreign.port, tlsName: pki.nodeTlsName }), /not signed by a trusted CA/);
  });

  it('wrong TLS name: a clear error naming the certificate names and the expected one', async () => {
    const { port } = await startServer(pki.node);
    await expectTlsFailure(
      connectWith(await resolve({ cafile: pki.ca.certPath }), { host: '127.0.0.1', port, tlsName: 'node2.cluster.test' }),
      /does not carry the TLS name \(check --tls-name \/ HOST:TLSNAME:PORT\): certificate names \(node1\.cluster\.test, node1\.cluster\.test\) do not match TLS name 'node2\.cluster\.test'/,
    );
    // The IP address is never accepted in place of the name.
    await expectTlsFailure(connectWith(await resolve({ cafile: pki.ca.certPath }), { host: '127.0.0.1', port, tlsName: '127.0.0.1' }), /do not match TLS name '127\.0\.0\.1'/);
  });

  it('client certificate: refused when required and missing; accepted from an encrypted key with its password', async () => {
    const { port, seen } = await startServer(pki.node, { requireClientCertificate: true });
    const target = { host: '127.0.0.1', port, tlsName: pki.nodeTlsName };
    await expectTlsFailure(connectWith(await resolve({ cafile: pki.ca.certPath }), target), /the server refused the handshake; it may require a client certificate \(--tls-certfile \/ --tls-keyfile\) it trusts: .*alert handshake failure.*\[ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE\]$/);
    const withCertificate = (await resolveTlsSettings(
      { enable: true, cafile: pki.ca.certPath, certfile: pki.client.certPath, keyfile: pki.encryptedClientKeyPath, keyfilePassword: 'env:ASRESTORE_KEY_PW' },
      { env: { ASRESTORE_KEY_PW: pki.encryptedClientKeyPassword } },
    ))!;
    await connectWith(withCertificate, target);
    expect(seen.clientCertificateCn).to.equal(pki.clientUser);
  });

  it('CRL check: a revoked server certificate is refused, a good one passes', async () => {
    const crl = await resolve({ capath: pki.capath, crlCheck: true });
    const revoked = await startServer(pki.revokedNode);
    await expectTlsFailure(connectWith(crl, { host: '127.0.0.1', port: revoked.port, tlsName: pki.nodeTlsName }), /revoked by a CRL \[CERT_REVOKED\]/);
    const good = await startServer(pki.node);
    await connectWith(crl, { host: '127.0.0.1', port: good.port, tlsName: pki.nodeTlsName });
    await connectWith(await resolve({ capath: pki.capath, crlCheckAll: true }), { host: '127.0.0.1', port: good.port, tlsName: pki.nodeTlsName });
  });

  it('blacklist: a listed serial (any issuer, or the matching issuer) is refused', async () => {
    const { port } = await startServer(pki.node);
    const target = { host: '127.0.0.1', port, tlsName: pki.nodeTlsName };
    const listed = join(scratch, 'listed');
    writeFileSync(listed, `# revoked by hand\n${pki.node.serial}\n`);
    await expectTlsFailure(connectWith(await resolve({ cafile: pki.ca.certPath, certBlacklist: listed }), target), /serial 1001 is listed in --tls-cert-blacklist/);
    const withIssuer = join(scratch, 'with-issuer');
    writeFileSync(withIssuer, `${pki.node.serial} /O=asrestore-ts tests/CN=asrestore test CA\n`);
    await expectTlsFailure(connectWith(await resolve({ cafile: pki.ca.certPath, certBlacklist: withIssuer }), target), /is listed in --tls-cert-blacklist/);
    const otherIssuer = join(scratch, 'other-issuer');
    writeFileSync(otherIssuer, `${pki.node.serial} /CN=someone else\nFFFF\n`);
    await connectWith(await resolve({ cafile: pki.ca.certPath, certBlacklist: otherIssuer }), target);
  });

  it('protocols: TLS 1.3 when asked; no common version is a clear error', async () => {
    const modern = await startServer(pki.node, { minVersion: 'TLSv1.3' });
    const target = { host: '127.0.0.1', port: modern.port, tlsName: pki.nodeTlsName };
    await expectTlsFailure(connectWith(await resolve({ cafile: pki.ca.certPath }), target), /no TLS protocol version in common \(check --tls-protocols\)/);
    const { session } = await connectWith(await resolve({ cafile: pki.ca.certPath, protocols: 'TLSv1.2 TLSv1.3' }), target);
    expect(session).to.match(/protocol TLSv1\.3, cipher TLS_/);
  });
});
