/**
 * Secrets: where a password comes from (a literal, `env:VAR`, `file:PATH`, or a prompt), and the
 * bcrypt credential an INTERNAL login sends instead of the password.
 *
 * No function here logs, and no error message contains a secret: messages name the source (the
 * variable, the file, the option) and never the value.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { AsrestoreError } from '../errors.js';
import { lazyModule } from '../lazy-module.js';

/**
 * bcryptjs (and the node:crypto it pulls in) and node:tty are loaded on first use: most runs log in
 * with no user and prompt for nothing, and every thread that imports this module (the coordinator
 * and each worker) would otherwise pay for loading them. bcryptjs's CommonJS build is the same
 * code as its ES module build.
 */
const bcrypt = lazyModule<typeof import('bcryptjs')>('bcryptjs');
const nodeTty = lazyModule<typeof import('node:tty')>('node:tty');

/**
 * The fixed salt every Aerospike client hashes passwords with (aerospike-common as_password.c,
 * BCRYPT_SALT): the credential is the same for a password everywhere, which is what the server
 * stores and compares.
 */
export const CREDENTIAL_SALT = '$2a$10$7EqJtq98hPqEX7fNZaFWoO';

const credentialCache = new Map<string, string>();

/**
 * The INTERNAL-mode credential: bcrypt(password, CREDENTIAL_SALT), a 60-character string. It costs
 * about 0.1 s of CPU (2^10 rounds), so compute it once in the coordinator and pass it to workers.
 * Results are memoised per process because the test cluster and the client hash the same passwords.
 */
export function passwordCredential(password: string): string {
  let credential = credentialCache.get(password);
  if (credential === undefined) {
    credential = bcrypt().hashSync(password, CREDENTIAL_SALT);
    credentialCache.set(password, credential);
  }
  return credential;
}

export type PasswordSource =
  | { kind: 'literal'; value: string }
  | { kind: 'env'; variable: string }
  | { kind: 'file'; path: string }
  | { kind: 'prompt' };

/**
 * Reads a password option's value. `undefined` or `true` (the option given without a value, as
 * `-P` or `--tls-keyfile-password` alone) means prompt, as asrestore does. `env:VAR` and `file:PATH`
 * are read from the environment or the first line of a file (aerospike-tools-backup conf.c
 * tls_read_password); anything else is the password itself.
 */
export function parsePasswordSource(spec: string | true | undefined): PasswordSource {
  if (spec === undefined || spec === true) return { kind: 'prompt' };
  if (spec.startsWith('env:')) return { kind: 'env', variable: spec.slice(4) };
  if (spec.startsWith('file:')) return { kind: 'file', path: spec.slice(5) };
  return { kind: 'literal', value: spec };
}

/** Reads a line without echo, showing `message` first. Throws when there is no one to ask. */
export type PasswordPrompt = (message: string) => Promise<string>;

export interface SecretResolverDeps {
  env?: NodeJS.ProcessEnv;
  readFile?: (path: string) => Buffer;
  prompt?: PasswordPrompt;
}

/** asrestore's longest first line of a password file (a 5,000-byte fgets buffer). */
const MAX_PASSWORD_FILE_LINE = 4998;

/**
 * Resolves a password source. `what` names the secret in messages ("password", "TLS key password");
 * `promptMessage` is what the prompt shows ("Enter Password: " in asrestore).
 */
export async function resolvePassword(
  source: PasswordSource,
  what: string,
  promptMessage: string,
  deps: SecretResolverDeps = {},
): Promise<string> {
  switch (source.kind) {
    case 'literal':
      return source.value;
    case 'env': {
      const env = deps.env ?? process.env;
      if (source.variable === '') throw new AsrestoreError('SECRET_SOURCE', `${what}: "env:" needs a variable name`);
      const value = env[source.variable];
      if (value === undefined) {
        throw new AsrestoreError('SECRET_SOURCE', `${what}: environment variable ${source.variable} is not set`);
      }
      if (value === '') throw new AsrestoreError('SECRET_SOURCE', `${what}: environment variable ${source.variable} is empty`);
      return value;
    }
    case 'file': {
      let bytes: Buffer;
      try {
        bytes = (deps.readFile ?? readFileSync)(source.path);
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? 'read error';
        throw new AsrestoreError('SECRET_SOURCE', `${what}: cannot read password file ${source.path} (${reason})`, { file: source.path });
      }
      // The first line, cut at the first CR or LF, is the password.
      let end = 0;
      while (end < bytes.length && bytes[end] !== 0x0a && bytes[end] !== 0x0d) end++;
      if (end > MAX_PASSWORD_FILE_LINE) {
        throw new AsrestoreError('SECRET_SOURCE', `${what}: the first line of password file ${source.path} is longer than ${MAX_PASSWORD_FILE_LINE} bytes`, { file: source.path, line: 1 });
      }
      if (end === 0) throw new AsrestoreError('SECRET_SOURCE', `${what}: password file ${source.path} has an empty first line`, { file: source.path, line: 1 });
      return bytes.toString('utf8', 0, end);
    }
    case 'prompt': {
      const prompt = deps.prompt ?? terminalPasswordPrompt;
      return prompt(promptMessage);
    }
  }
}

/** Applies one chunk of typed input to a line being read without echo. Pure, for testing. */
export function applyPasswordKeystrokes(
  line: string,
  chunk: string,
): { line: string; done: boolean; aborted: boolean } {
  for (const char of chunk) {
    if (char === '\r' || char === '\n') return { line, done: true, aborted: false };
    if (char === '\u0003' || char === '\u0004') return { line: '', done: true, aborted: true };
    if (char === '\u007f' || char === '\b') {
      line = Array.from(line).slice(0, -1).join('');
      continue;
    }
    if (char === '\u0015') {
      line = '';
      continue;
    }
    if (char < ' ') continue;
    line += char;
  }
  return { line, done: false, aborted: false };
}

/**
 * Prompts on the controlling terminal (/dev/tty), like getpass(3) in asrestore, so standard input
 * stays free for a backup read from `-i -`. Throws a clear error when there is no terminal.
 */
export const terminalPasswordPrompt: PasswordPrompt = (message) =>
  new Promise<string>((resolve, reject) => {
    let inputFd: number;
    let outputFd: number;
    try {
      inputFd = openSync('/dev/tty', 'r');
    } catch {
      reject(new AsrestoreError('SECRET_PROMPT', `${message.replace(/:\s*$/, '')}: no terminal to prompt on; give the password as a value, env:VAR or file:PATH`));
      return;
    }
    try {
      outputFd = openSync('/dev/tty', 'w');
    } catch {
      closeSync(inputFd);
      reject(new AsrestoreError('SECRET_PROMPT', `${message.replace(/:\s*$/, '')}: cannot write to the terminal`));
      return;
    }
    const { ReadStream, WriteStream } = nodeTty();
    // Each stream owns (and closes) its own descriptor.
    const input = new ReadStream(inputFd);
    const output = new WriteStream(outputFd);
    let line = '';
    let finished = false;
    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      input.setRawMode(false);
      input.removeAllListeners('data');
      output.end('\n');
      input.destroy();
      if (error) reject(error);
      else resolve(line);
    };
    input.setRawMode(true);
    input.setEncoding('utf8');
    output.write(message);
    input.on('data', (chunk: string) => {
      const state = applyPasswordKeystrokes(line, chunk);
      line = state.line;
      if (state.aborted) finish(new AsrestoreError('SECRET_PROMPT', 'password entry cancelled'));
      else if (state.done) finish();
    });
    input.on('error', (error) => finish(new AsrestoreError('SECRET_PROMPT', `cannot read the password from the terminal: ${error.message}`)));
  });
