/**
 * Cross-check against the official `aerospike` npm client (C client inside): it logs in to a tiny
 * loopback server that records the LOGIN frame and refuses it. Our encoder must produce the very
 * same bytes, credential included. The recording server runs in a worker thread because the
 * official client's connect blocks the main event loop while it waits for the seed.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { decodeAdminMessage, encodeLoginRequest, AdminField } from '../../src/shared/aerospike/admin-codec.js';
import { passwordCredential } from '../../src/shared/aerospike/credentials.js';

const require = createRequire(import.meta.url);
const Aerospike = require('aerospike') as {
  connect(config: object): Promise<{ close(): void }>;
  setDefaultLogging(config: object): void;
  auth: { INTERNAL: number; EXTERNAL_INSECURE: number };
  log: { OFF: number };
};

const RECORDER = `
const net = require('node:net');
const { parentPort } = require('node:worker_threads');
const sockets = new Set();
const server = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUIntBE(2, 6);
      if (pending.length < 8 + size) break;
      parentPort.postMessage({ frame: Uint8Array.from(pending.subarray(0, 8 + size)) });
      pending = pending.subarray(8 + size);
      // Refuse the login: INVALID_CREDENTIAL (65) in a 16-byte admin header.
      const answer = Buffer.alloc(24);
      answer[0] = 2; answer[1] = 2; answer.writeUIntBE(16, 2, 6); answer[9] = 65;
      socket.write(answer);
    }
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', () => { for (const s of sockets) s.destroy(); server.close(() => parentPort.close()); });
`;

async function captureLogin(config: { user: string; password: string; authMode: number }): Promise<Buffer> {
  const worker = new Worker(RECORDER, { eval: true });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (message: { port?: number }) => {
        if (message.port) resolve(message.port);
      });
    });
    const frame = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the official client sent no frame within 10 s')), 10_000);
      worker.on('message', (message: { frame?: Uint8Array }) => {
        if (message.frame) {
          clearTimeout(timer);
          resolve(Buffer.from(message.frame));
        }
      });
    });
    try {
      const client = await Aerospike.connect({
        hosts: [{ addr: '127.0.0.1', port }],
        ...config,
        connTimeoutMs: 3000,
        loginTimeoutMs: 3000,
        log: { level: Aerospike.log.OFF },
      });
      client.close();
      expect.fail('the official client connected although its login was refused');
    } catch (error) {
      expect((error as { code?: number }).code).to.equal(65);
    }
    return await frame;
  } finally {
    worker.postMessage('close');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
}

describe('admin login bytes compared with the official aerospike client', function () {
  this.timeout(30_000);
  before(() => Aerospike.setDefaultLogging({ level: Aerospike.log.OFF }));

  it('INTERNAL: same frame, same bcrypt credential', async () => {
    const password = 'Restore-pw 42!';
    const official = await captureLogin({ user: 'restorer', password, authMode: Aerospike.auth.INTERNAL });
    const fields = decodeAdminMessage(official.subarray(8)).fields;
    const credential = fields.find((field) => field.id === AdminField.CREDENTIAL)!.value.toString('latin1');
    expect(credential).to.equal(passwordCredential(password));
    const ours = encodeLoginRequest({ mode: 'INTERNAL', user: 'restorer', credential: passwordCredential(password) });
    expect(ours.toString('hex')).to.equal(official.toString('hex'));
  });

  it('EXTERNAL_INSECURE: same frame with the clear password', async () => {
    const password = 'ldap-secret';
    const official = await captureLogin({ user: 'ldap-user', password, authMode: Aerospike.auth.EXTERNAL_INSECURE });
    const ours = encodeLoginRequest({
      mode: 'EXTERNAL_INSECURE',
      user: 'ldap-user',
      credential: passwordCredential(password),
      clearPassword: password,
    });
    expect(ours.toString('hex')).to.equal(official.toString('hex'));
  });
});
