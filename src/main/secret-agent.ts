/**
 * Client of the Aerospike Secret Agent, for option values written `secrets:[<resource>:]<key>`
 * (command line and config files alike, as C asrestore does).
 *
 * Protocol (aerospike/secret-agent-client-c): one TCP (or TLS) connection per secret; request =
 * 8-byte header (magic 0x51dec1cc, JSON length; both uint32 big-endian) + JSON
 * `{"Resource":"<resource>","SecretKey":"<key>"}` (no Resource when absent); the response has the
 * same header and JSON holding either `Error` or `SecretValue`: base64 of the secret, trailing
 * whitespace ignored. Every step is bounded by the configured timeout.
 */
import type { Socket } from 'node:net';
import { AsrestoreError } from '../shared/errors.js';
import { lazyModule } from '../shared/lazy-module.js';

/** node:net and node:tls are loaded when a secret is fetched, not by every run that parses options. */
const nodeNet = lazyModule<typeof import('node:net')>('node:net');
const nodeTls = lazyModule<typeof import('node:tls')>('node:tls');

export const SECRETS_PREFIX = 'secrets:';
const MAGIC = 0x51dec1cc;
const HEADER_BYTES = 8;
const MAX_RESPONSE_BYTES = 100 * 1024;

export interface SecretAgentConfig {
  address: string;
  port: string;
  timeoutMs: number;
  /** PEM of a CA to verify the agent's TLS certificate; TLS is used exactly when it is set. */
  caPem: string | null;
}

export function isSecretReference(value: string | undefined): value is string {
  return value !== undefined && value.startsWith(SECRETS_PREFIX);
}

function secretError(message: string, cause?: unknown): AsrestoreError {
  return new AsrestoreError('SECRET_AGENT', message, {}, cause === undefined ? undefined : { cause });
}

/** Fetches the secret named by `reference` (`secrets:[resource:]key`) and returns its bytes. */
export async function fetchSecret(reference: string, config: SecretAgentConfig): Promise<Buffer> {
  const request = reference.slice(SECRETS_PREFIX.length);
  if (request.length === 0) throw secretError(`Unable to fetch secret: ${reference}: empty secret key`);
  const split = request.lastIndexOf(':');
  const body: Record<string, string> = split < 0 ? { SecretKey: request } : { Resource: request.slice(0, split), SecretKey: request.slice(split + 1) };
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt32BE(json.length, 4);

  const port = Number(config.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw secretError(`Invalid secret agent port ${config.port}`);
  }
  const response = await exchange(config, port, Buffer.concat([header, json]), reference);
  return parseSecretResponse(response, reference);
}

/** The secret from a response body (the JSON after the header). */
export function parseSecretResponse(jsonBytes: Buffer, reference: string): Buffer {
  let doc: unknown;
  try {
    doc = JSON.parse(jsonBytes.toString('utf8'));
  } catch (error) {
    throw secretError(`Unable to fetch secret ${reference}: the secret agent's response is not JSON`, error);
  }
  const record = (doc ?? {}) as Record<string, unknown>;
  if (typeof record.Error === 'string') {
    throw secretError(`Unable to fetch secret ${reference}: the secret agent answered: ${record.Error}`);
  }
  if (typeof record.SecretValue !== 'string') {
    throw secretError(`Unable to fetch secret ${reference}: no "SecretValue" in the secret agent's response`);
  }
  const value = record.SecretValue.replace(/[ \t\n\r\f\v]+$/, '');
  if (value.length === 0) throw secretError(`Unable to fetch secret ${reference}: the secret is empty`);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(value)) {
    throw secretError(`Unable to fetch secret ${reference}: the secret value is not base64`);
  }
  return Buffer.from(value, 'base64');
}

function exchange(config: SecretAgentConfig, port: number, request: Buffer, reference: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const where = `${config.address}:${config.port}`;
    let socket: Socket;
    let settled = false;
    const received: Buffer[] = [];
    let receivedBytes = 0;
    const finish = (error: AsrestoreError | null, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(secretError(`Unable to fetch secret ${reference}: the secret agent at ${where} did not answer within ${config.timeoutMs} ms`)),
      Math.max(1, config.timeoutMs),
    );
    const onConnect = (): void => {
      socket.write(request);
    };
    if (config.caPem !== null) {
      const { connect: tlsConnect } = nodeTls();
      socket = tlsConnect({ host: config.address, port, ca: config.caPem, servername: isIp(config.address) ? undefined : config.address }, onConnect);
    } else {
      const { connect: netConnect } = nodeNet();
      socket = netConnect({ host: config.address, port }, onConnect);
    }
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      receivedBytes += chunk.length;
      if (receivedBytes < HEADER_BYTES) return;
      const all = Buffer.concat(received);
      const magic = all.readUInt32BE(0);
      if (magic !== MAGIC) {
        finish(secretError(`Unable to fetch secret ${reference}: bad magic ${magic.toString(16)} from the secret agent at ${where}`));
        return;
      }
      const length = all.readUInt32BE(4);
      if (length > MAX_RESPONSE_BYTES) {
        finish(secretError(`Unable to fetch secret ${reference}: the secret agent's response is too big (${length} bytes)`));
        return;
      }
      if (all.length >= HEADER_BYTES + length) finish(null, all.subarray(HEADER_BYTES, HEADER_BYTES + length));
    });
    socket.on('error', (error) =>
      finish(secretError(`Unable to fetch secret ${reference}: cannot reach the secret agent at ${where}: ${error.message}`, error)),
    );
    socket.on('close', () =>
      finish(secretError(`Unable to fetch secret ${reference}: the secret agent at ${where} closed the connection before answering`)),
    );
  });
}

function isIp(address: string): boolean {
  return /^[\d.]+$/.test(address) || address.includes(':');
}
