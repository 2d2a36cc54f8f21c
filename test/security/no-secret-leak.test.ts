/**
 * Secrets (passwords, the key password, credentials, session tokens) never reach an error message,
 * an error's inspected form, or anything written to stdout/stderr/console on the failure paths.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { login, prepareAuth, SessionManager, type AdminTransport } from '../../src/shared/aerospike/auth.js';
import { passwordCredential, resolvePassword } from '../../src/shared/aerospike/credentials.js';
import { describeTls, resolveTlsSettings } from '../../src/shared/aerospike/tls-options.js';
import { SecurityRealm, type SecurityConnection } from '../cluster/security.js';
import { testPki } from '../support/tls-certs.js';

const USER_PASSWORD = 'Sup3r-Secret-User-Pw';
const WRONG_PASSWORD = 'Wr0ng-But-Still-Secret';
const KEY_PASSWORD_WRONG = 'Wr0ng-Key-Pass';

function captureOutput(): { restore(): string } {
  const chunks: string[] = [];
  const originals = {
    out: process.stdout.write.bind(process.stdout),
    err: process.stderr.write.bind(process.stderr),
    log: console.log,
    error: console.error,
    warn: console.warn,
    info: console.info,
    debug: console.debug,
  };
  const record = (...args: unknown[]): void => {
    chunks.push(args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg))).join(' '));
  };
  process.stdout.write = ((chunk: unknown) => (record(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown) => (record(String(chunk)), true)) as typeof process.stderr.write;
  console.log = console.error = console.warn = console.info = console.debug = record;
  return {
    restore(): string {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
      Object.assign(console, { log: originals.log, error: originals.error, warn: originals.warn, info: originals.info, debug: originals.debug });
      return chunks.join('\n');
    },
  };
}

describe('secrets never appear in errors or output', function () {
  this.timeout(30_000);

  it('on every failure path of auth, secret sources and TLS key loading', async () => {
    const pki = testPki();
    const scratch = mkdtempSync(join(tmpdir(), 'asrestore-secret-'));
    const realm = new SecurityRealm([{ name: 'restorer', password: USER_PASSWORD }]);
    const transport = (connection: SecurityConnection): AdminTransport => ({
      exchange: async (frame) => realm.handleAdminMessage(frame.subarray(8), connection).subarray(8),
    });
    const secrets = [USER_PASSWORD, WRONG_PASSWORD, KEY_PASSWORD_WRONG, pki.encryptedClientKeyPassword, passwordCredential(WRONG_PASSWORD), passwordCredential(USER_PASSWORD)];
    const failures: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown> | unknown): Promise<void> => {
      try {
        await fn();
        failures.push(new Error('no failure'));
      } catch (error) {
        failures.push(error);
      }
    };

    const capture = captureOutput();
    let output: string;
    let tokenHex = '';
    try {
      const wrong = prepareAuth({ user: 'restorer', password: WRONG_PASSWORD }, { tlsEnabled: false })!;
      await attempt(() => login(transport({ authenticated: false }), wrong, { node: 'A' }));
      await attempt(() => new SessionManager(wrong).authenticateConnection('A', transport({ authenticated: false })));
      await attempt(() => login(transport({ authenticated: false }), { mode: 'EXTERNAL_INSECURE', user: 'restorer', password: WRONG_PASSWORD }));
      await attempt(() => prepareAuth({ user: 'restorer', password: WRONG_PASSWORD.repeat(4) }, { tlsEnabled: false }));
      await attempt(() => prepareAuth({ mode: 'PKI', password: WRONG_PASSWORD }, { tlsEnabled: true }));
      // A good login, then a forged token: the real token must not show up either.
      const good = prepareAuth({ user: 'restorer', password: USER_PASSWORD }, { tlsEnabled: false })!;
      const session = (await login(transport({ authenticated: false }), good))!;
      tokenHex = session.token.toString('hex');
      realm.expireSessions();
      const manager = new SessionManager(good);
      manager.adopt('A', session);
      realm.failNextLogin(65);
      await attempt(() => manager.authenticateConnection('A', transport({ authenticated: false })));

      await attempt(() => resolvePassword({ kind: 'env', variable: 'NOT_SET' }, 'password', '', { env: { OTHER: USER_PASSWORD } }));
      const passwordFile = join(scratch, 'pw');
      writeFileSync(passwordFile, `\n${USER_PASSWORD}\n`);
      await attempt(() => resolvePassword({ kind: 'file', path: passwordFile }, 'password', ''));

      const keySettings = { enable: true, cafile: pki.ca.certPath, certfile: pki.client.certPath, keyfile: pki.encryptedClientKeyPath };
      await attempt(() => resolveTlsSettings({ ...keySettings, keyfilePassword: KEY_PASSWORD_WRONG }));
      const keyPasswordFile = join(scratch, 'key-pw');
      writeFileSync(keyPasswordFile, `${KEY_PASSWORD_WRONG}\n`);
      await attempt(() => resolveTlsSettings({ ...keySettings, keyfilePassword: `file:${keyPasswordFile}` }));
      await attempt(() => resolveTlsSettings({ ...keySettings, keyfilePassword: true }, { prompt: async () => KEY_PASSWORD_WRONG }));
      const resolved = (await resolveTlsSettings({ ...keySettings, keyfilePassword: pki.encryptedClientKeyPassword }))!;
      failures.push(new Error(describeTls(resolved)));
    } finally {
      output = capture.restore();
      rmSync(scratch, { recursive: true, force: true });
    }

    expect(failures).to.have.length(12);
    for (const failure of failures) {
      expect((failure as Error).message).to.not.equal('no failure');
      const shown = inspect(failure, { depth: 6 }) + String((failure as Error).stack);
      for (const secret of [...secrets, tokenHex]) expect(shown, `an error shows a secret: ${shown}`).to.not.include(secret);
    }
    for (const secret of [...secrets, tokenHex]) expect(output).to.not.include(secret);
  });
});
