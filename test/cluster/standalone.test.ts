/**
 * The standalone command (scripts/test-cluster) in both modes: in-process nodes, and one process per
 * node (where a non-owner proxies over the owner's service port and metadata reaches every node).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { OpType } from '../../src/shared/aerospike/protocol.js';
import { computeDigest } from './cluster.js';
import { computeOwners, type MemberInfo } from './partition-map.js';
import { asMsg, int64, keyFields, op, RawClient } from './raw-client.js';

const script = fileURLToPath(new URL('../../scripts/test-cluster.js', import.meta.url));

interface Ready {
  seeds: { host: string; port: number }[];
  nodeIds: string[];
}

function startCommand(args: string[]): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no READY line in time: ${err}`)), 10000);
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line) {
        clearTimeout(timer);
        resolve({ child, ready: JSON.parse(line.slice(6)) as Ready });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`test-cluster exited with ${code}: ${err}`));
    });
  });
}

function stopCommand(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('scripts/test-cluster (standalone command)', function () {
  this.timeout(20000);

  it('refuses bad flags with a usage message and exit code 2', async () => {
    const child = spawn(process.execPath, [script, '--nodes', 'three'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).to.equal(2);
    expect(err).to.contain('--nodes must be a non-negative integer');
  });

  it('serves in-process nodes with fault flags', async () => {
    const { child, ready } = await startCommand(['--nodes', '2', '--port', '0', '--fail-next', '1', '--fail-rc', '14']);
    const clients: RawClient[] = [];
    try {
      expect(ready.seeds).to.have.length(2);
      const digest = computeDigest('s', 1);
      const write = asMsg({ info2: 1, fields: keyFields('test', 's', digest), ops: [op(OpType.WRITE, 1, 'v', int64(1))] });
      const client = await RawClient.connect(ready.seeds[0].port);
      clients.push(client);
      expect((await client.single(write)).header.resultCode).to.equal(14);
      expect((await client.single(write)).header.resultCode).to.equal(0);
    } finally {
      for (const c of clients) c.close();
      expect(await stopCommand(child)).to.equal(0);
    }
  });

  it('runs one process per node: proxies to the owner and shares metadata', async () => {
    const { child, ready } = await startCommand(['--nodes', '2', '--port', '0', '--processes', '--namespace', 'test', '--namespace', 'bar']);
    const clients: RawClient[] = [];
    try {
      const members: MemberInfo[] = ready.seeds.map((s, i) => ({ index: i, nodeId: ready.nodeIds[i], host: s.host, port: s.port, alive: true }));
      const owners = computeOwners(members, 1);
      const digest = computeDigest('p', 'k');
      const master = owners[(digest[0] | (digest[1] << 8)) & 4095][0];
      const other = await RawClient.connect(ready.seeds[1 - master].port);
      const owner = await RawClient.connect(ready.seeds[master].port);
      clients.push(other, owner);
      const put = await other.single(asMsg({ info2: 1, fields: keyFields('bar', 'p', digest), ops: [op(OpType.WRITE, 1, 'v', int64(77))] }));
      expect([put.header.resultCode, put.header.generation]).to.deep.equal([0, 1]);
      const got = await owner.single(asMsg({ info1: 3, fields: keyFields('bar', 'p', digest) }));
      expect(got.ops[0].value.readBigInt64BE(0)).to.equal(77n);
      expect(await other.info('sindex-create:namespace=bar;set=p;indexname=v_idx;bin=v;type=NUMERIC\n')).to.match(/\tok\n$/);
      const deadline = Date.now() + 3000;
      let listed = '';
      while (Date.now() < deadline && !listed.includes('v_idx')) listed = await owner.info('sindex-list:ns=bar\n');
      expect(listed).to.contain('indexname=v_idx');
    } finally {
      for (const c of clients) c.close();
      expect(await stopCommand(child)).to.equal(0);
    }
  });
});
