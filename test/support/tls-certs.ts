/**
 * A throw-away PKI for TLS tests, made once per test run with the `openssl` command in a temp dir
 * (removed at exit): a CA, an unrelated "wrong" CA, node certificates for given TLS names (CN and
 * SAN DNS), a CN-only and a wildcard certificate, a client certificate (CN = a user name, for PKI
 * logins), the client key encrypted with a password, a revoked node certificate with the CA's CRL,
 * and CA directories (`capath`) in OpenSSL's hashed-name layout, with and without the CRL.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
  /** Serial number as upper-case hex (as Node's PeerCertificate.serialNumber shows it). */
  serial: string;
}

export interface TestPki {
  dir: string;
  ca: TestCertificate;
  wrongCa: TestCertificate;
  /** CN and SAN DNS = `node1.cluster.test`, signed by `ca`. */
  node: TestCertificate;
  nodeTlsName: string;
  /** Subject CN `cn-only.cluster.test` and no SAN. */
  cnOnlyNode: TestCertificate;
  /** SAN `*.wild.cluster.test`. */
  wildcardNode: TestCertificate;
  /** Same name as `node`, but signed by `wrongCa`. */
  nodeFromWrongCa: TestCertificate;
  /** Same name as `node`, revoked in `crlPath`. */
  revokedNode: TestCertificate;
  /** Client certificate, CN = `clientUser`, signed by `ca`. */
  client: TestCertificate;
  clientUser: string;
  /** `client.key` encrypted (PKCS#8, AES-256) with `encryptedClientKeyPassword`. */
  encryptedClientKeyPath: string;
  encryptedClientKeyPassword: string;
  /** The CA's CRL (PEM) revoking `revokedNode`. */
  crlPath: string;
  /** Hashed CA directory: `HASH.0` (the CA) and `HASH.r0` (its CRL). */
  capath: string;
  /** Hashed CA directory with the CA only. */
  capathWithoutCrl: string;
}

let cached: TestPki | undefined;

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function newKey(dir: string, name: string): string {
  const keyPath = join(dir, `${name}.key`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath], dir);
  return keyPath;
}

function readCertificate(dir: string, name: string, certPath: string, keyPath: string): TestCertificate {
  const serialLine = openssl(['x509', '-in', certPath, '-noout', '-serial'], dir).trim();
  const serial = serialLine.replace(/^serial=/, '').toUpperCase().replace(/^0+(?=.)/, '');
  return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), serial };
}

function makeCa(dir: string, name: string, commonName: string): TestCertificate {
  const keyPath = newKey(dir, name);
  const certPath = join(dir, `${name}.pem`);
  openssl(
    [
      'req', '-x509', '-new', '-key', keyPath, '-subj', `/O=asrestore-ts tests/CN=${commonName}`, '-days', '3', '-out', certPath,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return readCertificate(dir, name, certPath, keyPath);
}

let nextSerial = 0x1001;

function issue(
  dir: string,
  ca: TestCertificate,
  name: string,
  options: { commonName: string; dnsNames: string[]; usage: 'serverAuth' | 'clientAuth' },
): TestCertificate {
  const keyPath = newKey(dir, name);
  const csrPath = join(dir, `${name}.csr`);
  const certPath = join(dir, `${name}.pem`);
  const extPath = join(dir, `${name}.ext`);
  const lines = ['[v3]', 'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyAgreement', `extendedKeyUsage=${options.usage}`];
  if (options.dnsNames.length > 0) lines.push(`subjectAltName=${options.dnsNames.map((dns) => `DNS:${dns}`).join(',')}`);
  writeFileSync(extPath, lines.join('\n') + '\n');
  openssl(['req', '-new', '-key', keyPath, '-subj', `/O=asrestore-ts tests/CN=${options.commonName}`, '-out', csrPath], dir);
  openssl(
    [
      'x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', String(nextSerial++), '-days', '2',
      '-extfile', extPath, '-extensions', 'v3', '-out', certPath,
    ],
    dir,
  );
  return readCertificate(dir, name, certPath, keyPath);
}

function hashedCopy(dir: string, targetDir: string, pemPath: string, kind: 'x509' | 'crl', suffix: string): void {
  const hash = openssl([kind, '-in', pemPath, '-noout', '-hash'], dir).trim();
  writeFileSync(join(targetDir, `${hash}.${suffix}`), readFileSync(pemPath));
}

/** The test PKI, generated on first use and shared by every test of the run. */
export function testPki(): TestPki {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'asrestore-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

  const ca = makeCa(dir, 'ca', 'asrestore test CA');
  const wrongCa = makeCa(dir, 'wrong-ca', 'unrelated CA');
  const nodeTlsName = 'node1.cluster.test';
  const node = issue(dir, ca, 'node1', { commonName: nodeTlsName, dnsNames: [nodeTlsName], usage: 'serverAuth' });
  const cnOnlyNode = issue(dir, ca, 'cn-only', { commonName: 'cn-only.cluster.test', dnsNames: [], usage: 'serverAuth' });
  const wildcardNode = issue(dir, ca, 'wildcard', { commonName: 'wildcard node', dnsNames: ['*.wild.cluster.test'], usage: 'serverAuth' });
  const nodeFromWrongCa = issue(dir, wrongCa, 'node1-wrong-ca', { commonName: nodeTlsName, dnsNames: [nodeTlsName], usage: 'serverAuth' });
  const revokedNode = issue(dir, ca, 'node1-revoked', { commonName: nodeTlsName, dnsNames: [nodeTlsName], usage: 'serverAuth' });
  const clientUser = 'restore-pki-user';
  const client = issue(dir, ca, 'client', { commonName: clientUser, dnsNames: [], usage: 'clientAuth' });

  const encryptedClientKeyPassword = 'key-secret-Pw!7';
  const encryptedClientKeyPath = join(dir, 'client-encrypted.key');
  openssl(
    ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', client.keyPath, '-out', encryptedClientKeyPath, '-passout', `pass:${encryptedClientKeyPassword}`],
    dir,
  );

  // A CRL needs OpenSSL's little CA database.
  const caDb = join(dir, 'ca-db');
  mkdirSync(caDb);
  writeFileSync(join(caDb, 'index.txt'), '');
  writeFileSync(join(caDb, 'crlnumber'), '01\n');
  const caConfig = join(caDb, 'ca.cnf');
  writeFileSync(
    caConfig,
    ['[ca]', 'default_ca = test_ca', '[test_ca]', `database = ${join(caDb, 'index.txt')}`, `crlnumber = ${join(caDb, 'crlnumber')}`,
      'default_md = sha256', 'default_crl_days = 2'].join('\n') + '\n',
  );
  openssl(['ca', '-config', caConfig, '-revoke', revokedNode.certPath, '-keyfile', ca.keyPath, '-cert', ca.certPath], dir);
  const crlPath = join(dir, 'ca.crl.pem');
  openssl(['ca', '-config', caConfig, '-gencrl', '-keyfile', ca.keyPath, '-cert', ca.certPath, '-out', crlPath], dir);

  const capath = join(dir, 'capath');
  mkdirSync(capath);
  hashedCopy(dir, capath, ca.certPath, 'x509', '0');
  hashedCopy(dir, capath, crlPath, 'crl', 'r0');
  const capathWithoutCrl = join(dir, 'capath-no-crl');
  mkdirSync(capathWithoutCrl);
  hashedCopy(dir, capathWithoutCrl, ca.certPath, 'x509', '0');

  cached = {
    dir, ca, wrongCa, node, nodeTlsName, cnOnlyNode, wildcardNode, nodeFromWrongCa, revokedNode, client, clientUser,
    encryptedClientKeyPath, encryptedClientKeyPassword, crlPath, capath, capathWithoutCrl,
  };
  return cached;
}
