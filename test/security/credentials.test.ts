import { expect } from 'chai';
import {
  CREDENTIAL_SALT,
  applyPasswordKeystrokes,
  parsePasswordSource,
  passwordCredential,
  resolvePassword,
} from '../../src/shared/aerospike/credentials.js';
import { AsrestoreError } from '../../src/shared/errors.js';

describe('credentials', () => {
  it('hashes with bcrypt and the fixed Aerospike salt (known vector: the server\'s initial "admin" password)', () => {
    // The Enterprise server seeds its "admin" user with exactly this hash of "admin".
    expect(passwordCredential('admin')).to.equal('$2a$10$7EqJtq98hPqEX7fNZaFWoO1mVO/4MLpGzsqojz6E9Gef6iXDjXdDa');
    expect(CREDENTIAL_SALT).to.equal('$2a$10$7EqJtq98hPqEX7fNZaFWoO');
    const other = passwordCredential('s3cret pässword');
    expect(other).to.have.length(60);
    expect(other.startsWith(CREDENTIAL_SALT)).to.equal(true);
    expect(other).to.not.equal(passwordCredential('admin'));
    expect(passwordCredential('')).to.have.length(60);
  });

  it('reads password option values as asrestore does', () => {
    expect(parsePasswordSource(undefined)).to.deep.equal({ kind: 'prompt' });
    expect(parsePasswordSource(true)).to.deep.equal({ kind: 'prompt' });
    expect(parsePasswordSource('env:PW_VAR')).to.deep.equal({ kind: 'env', variable: 'PW_VAR' });
    expect(parsePasswordSource('file:/run/pw')).to.deep.equal({ kind: 'file', path: '/run/pw' });
    expect(parsePasswordSource('plain')).to.deep.equal({ kind: 'literal', value: 'plain' });
  });

  it('resolves env:, file: (first line, CR or LF ends it), literal and prompt sources', async () => {
    const env = { PW_VAR: 'from-env' };
    expect(await resolvePassword({ kind: 'env', variable: 'PW_VAR' }, 'password', 'Enter Password: ', { env })).to.equal('from-env');
    const readFile = (path: string): Buffer => {
      if (path === '/pw') return Buffer.from('from-file\r\nsecond line');
      if (path === '/pw-lf') return Buffer.from('lf-only\n');
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    };
    expect(await resolvePassword({ kind: 'file', path: '/pw' }, 'password', '', { readFile })).to.equal('from-file');
    expect(await resolvePassword({ kind: 'file', path: '/pw-lf' }, 'password', '', { readFile })).to.equal('lf-only');
    expect(await resolvePassword({ kind: 'literal', value: 'lit' }, 'password', '')).to.equal('lit');
    let asked = '';
    const prompt = async (message: string): Promise<string> => {
      asked = message;
      return 'typed';
    };
    expect(await resolvePassword({ kind: 'prompt' }, 'password', 'Enter Password: ', { prompt })).to.equal('typed');
    expect(asked).to.equal('Enter Password: ');
  });

  it('fails clearly on a missing or empty variable or file, never quoting a secret', async () => {
    const secret = 'do-not-print-me';
    const cases: Array<[Parameters<typeof resolvePassword>[0], RegExp]> = [
      [{ kind: 'env', variable: 'MISSING' }, /environment variable MISSING is not set/],
      [{ kind: 'env', variable: 'EMPTY' }, /environment variable EMPTY is empty/],
      [{ kind: 'file', path: '/missing' }, /cannot read password file \/missing \(ENOENT\)/],
      [{ kind: 'file', path: '/empty-first-line' }, /password file \/empty-first-line has an empty first line/],
    ];
    const readFile = (path: string): Buffer => {
      if (path === '/empty-first-line') return Buffer.from(`\n${secret}\n`);
      throw Object.assign(new Error(secret), { code: 'ENOENT' });
    };
    for (const [source, pattern] of cases) {
      try {
        await resolvePassword(source, 'TLS key password', '', { env: { EMPTY: '', OTHER: secret }, readFile });
        expect.fail(`resolved ${JSON.stringify(source)}`);
      } catch (error) {
        expect(error).to.be.instanceOf(AsrestoreError);
        expect((error as AsrestoreError).code).to.equal('SECRET_SOURCE');
        expect((error as Error).message).to.match(pattern);
        expect((error as Error).message).to.match(/^TLS key password: /);
        expect((error as Error).message).to.not.include(secret);
      }
    }
  });

  it('edits a password typed without echo (backspace, kill line, Enter, Ctrl-C)', () => {
    let state = applyPasswordKeystrokes('', 'abc\u007fd');
    expect(state).to.deep.equal({ line: 'abd', done: false, aborted: false });
    state = applyPasswordKeystrokes(state.line, 'x\u0015yz\r');
    expect(state).to.deep.equal({ line: 'yz', done: true, aborted: false });
    expect(applyPasswordKeystrokes('partial', '\u0003')).to.deep.equal({ line: '', done: true, aborted: true });
    expect(applyPasswordKeystrokes('é', '\u007f')).to.deep.equal({ line: '', done: false, aborted: false });
  });
});
