/**
 * Benchmark of the test cluster itself (not a test): batch-write throughput of ONE node process,
 * driven by a load client in this process, so that restore benchmarks can tell the restorer's cost
 * from the cluster's.
 *
 *   npm run bench:cluster [-- --records 1000000 --connections 8 --batch-size 128 --record-bytes 476]
 *
 * Each batch row is a BATCH_WRITE the way asrestore sends it (meta 0x0e, info2 WRITE|GEN_GT|
 * RESPOND_ALL_OPS, NAMESPACE + SET fields, one integer and one string bin) sized to exactly
 * `--record-bytes` bytes on the wire; every row has a new digest, so every row creates a record.
 * Reports records/s and the node's CPU-seconds per million records (process.cpuUsage of the node
 * process, user + system), and the load client's for reference.
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ProtoFrameReader, writeProtoHeader } from '../src/shared/aerospike/framing.js';
import { MSG_HEADER_SIZE, PROTO_HEADER_SIZE, ProtoType } from '../src/shared/aerospike/protocol.js';
import { NODE_PROCESS_FLAGS } from '../test/cluster/node-process.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    connections: { type: 'string' },
    'batch-size': { type: 'string' },
    'record-bytes': { type: 'string' },
  },
});

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const totalRecords = positive(values.records, 'records', 500_000);
const connections = positive(values.connections, 'connections', 8);
const batchSize = positive(values['batch-size'], 'batch-size', 128);
const recordBytes = positive(values['record-bytes'], 'record-bytes', 476);

const NAMESPACE = Buffer.from('test');
const SET = Buffer.from('bench');
/** Row bytes besides the string value: header 25, info 3, gen 2, ttl 4, counts 4, fields, int op, string op header. */
const ROW_OVERHEAD = 25 + 3 + 2 + 4 + 4 + (5 + NAMESPACE.length) + (5 + SET.length) + (8 + 1 + 8) + (8 + 1);
if (recordBytes < ROW_OVERHEAD) throw new Error(`--record-bytes must be at least ${ROW_OVERHEAD}`);
const stringLength = recordBytes - ROW_OVERHEAD;

/** One batch request whose row digests are rewritten before each send; returns the digest offsets. */
function batchTemplate(rows: number): { request: Buffer; digestOffsets: number[] } {
  const fieldData = Buffer.alloc(5 + rows * recordBytes);
  fieldData.writeUInt32BE(rows, 0);
  fieldData[4] = 0x0d;
  const digestOffsets: number[] = [];
  let at = 5;
  const fieldOffset = PROTO_HEADER_SIZE + MSG_HEADER_SIZE + 5;
  for (let i = 0; i < rows; i++) {
    fieldData.writeUInt32BE(i, at);
    digestOffsets.push(fieldOffset + at + 4);
    at += 24;
    fieldData[at++] = 0x0e; // meta: info2/3, gen, ttl
    fieldData[at++] = 0; // info1
    fieldData[at++] = 0x89; // info2 WRITE | GENERATION_GT | RESPOND_ALL_OPS
    fieldData[at++] = 0; // info3
    fieldData.writeUInt16BE(1, at);
    at += 2;
    fieldData.writeUInt32BE(0xffffffff, at);
    at += 4;
    fieldData.writeUInt16BE(2, at);
    fieldData.writeUInt16BE(2, at + 2);
    at += 4;
    for (const [type, data] of [[0, NAMESPACE], [1, SET]] as const) {
      fieldData.writeUInt32BE(1 + data.length, at);
      fieldData[at + 4] = type;
      data.copy(fieldData, at + 5);
      at += 5 + data.length;
    }
    fieldData.writeUInt32BE(4 + 1 + 8, at);
    fieldData[at + 4] = 2;
    fieldData[at + 5] = 1;
    fieldData[at + 7] = 1;
    fieldData[at + 8] = 0x6e; // "n"
    fieldData.writeBigInt64BE(BigInt(i), at + 9);
    at += 17;
    fieldData.writeUInt32BE(4 + 1 + stringLength, at);
    fieldData[at + 4] = 2;
    fieldData[at + 5] = 3;
    fieldData[at + 7] = 1;
    fieldData[at + 8] = 0x73; // "s"
    fieldData.fill(0x78, at + 9, at + 9 + stringLength);
    at += 9 + stringLength;
  }
  const bodySize = MSG_HEADER_SIZE + 5 + fieldData.length;
  const request = Buffer.alloc(PROTO_HEADER_SIZE + bodySize);
  writeProtoHeader(request, 0, ProtoType.AS_MSG, bodySize);
  const h = PROTO_HEADER_SIZE;
  request[h] = MSG_HEADER_SIZE;
  request[h + 1] = 0x08; // BATCH
  request.writeUInt32BE(10000, h + 14);
  request.writeUInt16BE(1, h + 18);
  request.writeUInt32BE(1 + fieldData.length, h + MSG_HEADER_SIZE);
  request[h + MSG_HEADER_SIZE + 4] = 41;
  fieldData.copy(request, h + MSG_HEADER_SIZE + 5);
  return { request, digestOffsets };
}

function waitFor<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; message?: string }) => {
      if (message.type === 'error') reject(new Error(message.message));
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
  });
}

async function nodeCpu(child: ChildProcess): Promise<{ cpuUs: number; rss: number }> {
  const answer = waitFor<{ cpu: NodeJS.CpuUsage; memory: number }>(child, 'stats');
  child.send({ type: 'stats' });
  const { cpu, memory } = await answer;
  return { cpuUs: cpu.user + cpu.system, rss: memory };
}

let digestCounter = 0;

async function drive(port: number, quota: { left: number }, counts: { ok: number; failed: number }): Promise<void> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  const template = batchTemplate(batchSize);
  const reader = new ProtoFrameReader();
  await new Promise<void>((resolve, reject) => {
    const sendNext = () => {
      if (quota.left <= 0) {
        socket.end();
        resolve();
        return;
      }
      quota.left -= batchSize;
      for (const offset of template.digestOffsets) {
        template.request.writeUInt32LE(digestCounter++, offset);
        template.request.writeUInt32LE(0x5eed, offset + 4);
      }
      socket.write(template.request);
    };
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        let offset = 0;
        while (offset < frame.body.length) {
          const info3 = frame.body[offset + 3];
          const rc = frame.body[offset + 5];
          const nOps = frame.body.readUInt16BE(offset + 20);
          offset += MSG_HEADER_SIZE;
          for (let i = 0; i < nOps; i++) offset += 4 + frame.body.readUInt32BE(offset);
          if (info3 & 0x01) {
            if (rc !== 0) reject(new Error(`batch failed with rc ${rc}`));
            else sendNext();
          } else if (rc === 0) counts.ok++;
          else counts.failed++;
        }
      }
    });
    socket.on('error', reject);
    sendNext();
  });
}

async function main(): Promise<void> {
  const entry = fileURLToPath(new URL('../test/cluster/node-process.js', import.meta.url));
  const child = fork(entry, [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // BENCH_CLUSTER_PROFILE=<dir> writes a V8 CPU profile of the node process there.
    execArgv: [
      ...NODE_PROCESS_FLAGS,
      ...(process.env.BENCH_CLUSTER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CLUSTER_PROFILE}`] : []),
    ],
  });
  try {
    const listening = waitFor<{ port: number }>(child, 'listening');
    child.send({
      type: 'init',
      index: 0,
      nodeId: 'BB9010000000FC02',
      options: { namespaces: [{ name: 'test', maxRecordSize: 1024 * 1024 }], clusterName: 'bench', host: '127.0.0.1', port: 0 },
    });
    const { port } = await listening;
    const ready = waitFor(child, 'ready');
    child.send({ type: 'members', members: [{ index: 0, nodeId: 'BB9010000000FC02', host: '127.0.0.1', port, alive: true }] });
    await ready;

    // Warm-up (JIT, buffers), not measured.
    await drive(port, { left: Math.min(50_000, totalRecords) }, { ok: 0, failed: 0 });

    const counts = { ok: 0, failed: 0 };
    const quota = { left: totalRecords };
    const nodeBefore = await nodeCpu(child);
    const loadBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: connections }, () => drive(port, quota, counts)));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const load = process.cpuUsage(loadBefore);
    const nodeAfter = await nodeCpu(child);
    const records = counts.ok + counts.failed;
    const nodeCpuSeconds = (nodeAfter.cpuUs - nodeBefore.cpuUs) / 1e6;
    const loadCpuSeconds = (load.user + load.system) / 1e6;
    const result = {
      records,
      failed: counts.failed,
      recordBytes,
      batchSize,
      connections,
      wallSeconds: Number(seconds.toFixed(3)),
      recordsPerSecond: Math.round(records / seconds),
      nodeCpuSecondsPerMillion: Number(((nodeCpuSeconds / records) * 1e6).toFixed(2)),
      loadClientCpuSecondsPerMillion: Number(((loadCpuSeconds / records) * 1e6).toFixed(2)),
      nodeRssMiB: Math.round(nodeAfter.rss / 1048576),
    };
    process.stdout.write(
      `cluster batch-write benchmark: ${result.recordsPerSecond} records/s; node ${result.nodeCpuSecondsPerMillion} CPU-s per million ` +
        `records of ${recordBytes} bytes (load client ${result.loadClientCpuSecondsPerMillion} CPU-s per million)\n` +
        JSON.stringify(result) + '\n',
    );
  } finally {
    child.send({ type: 'stop' });
  }
}

main().catch((error) => {
  process.stderr.write(`bench-cluster: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
