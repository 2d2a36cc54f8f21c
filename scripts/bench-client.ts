/**
 * Benchmark of the client layer (not a test): batch-writes 1,000,000 prepared 476-byte records
 * (each record's batch row is 476 bytes on the wire) to a 3-node test cluster whose nodes run in
 * their own processes (scripts/test-cluster --processes), from 1 and then 2 worker threads, and
 * prints records/s and this process's CPU-seconds per million records (command building, sending,
 * reading the answers, routing, tending: everything this process does).
 *
 * Two inputs, each measured: pre-encoded rows (the pool's write rows are encoded before the clock
 * starts; each record's row is routed by the digest it carries and copied into its node's
 * command) and decoded records (each record's row is encoded from the AsbRecord on the way).
 *
 *   npm run bench:client [-- --records 1000000 --batch 128 --batches-in-flight 8 --pool 4096 --input rows|records]
 *   BENCH_SEEDS=host:port,... npm run bench:client   (against a cluster started elsewhere)
 *
 * A first pass of 200,000 records, not reported, warms the test cluster's nodes up.
 *
 * Each worker builds a pool of distinct records (--pool, default 4096) before the clock starts and
 * writes it round after round (plain writes: records are overwritten, so the cluster's memory stays
 * bounded). Answered commands' memory is recycled, as the restore's batcher does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { Cluster } from '../src/shared/aerospike/cluster.js';
import { WriteClient } from '../src/shared/aerospike/write-client.js';
import { NodeCommandSet, recycleCommand, type EncodedCommand } from '../src/shared/aerospike/batch-command.js';
import { batchWriteRowSize } from '../src/shared/aerospike/batch-codec.js';
import { Info2, ParticleType, TTL_NEVER_EXPIRE } from '../src/shared/aerospike/protocol.js';
import type { AsbRecord } from '../src/shared/asb/types.js';
import type { WriteFlags } from '../src/shared/aerospike/write-flags.js';

const ROW_BYTES = 476;

/**
 * How records reach the client: `rows` = as write rows already encoded (the pool is encoded once,
 * before the clock starts, and each record's row is copied into its node's command, as a retry or
 * a hand-over between threads does); `records` = as decoded records whose row is encoded on the
 * way (what the restore's object path does).
 */
type Input = 'rows' | 'records';

interface WorkerParams {
  input: Input;
  routing: SharedArrayBuffer;
  poolRecords: number;
  first: number;
  count: number;
  batchSize: number;
  batchesInFlight: number;
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

/** A record whose batch row is exactly 476 bytes: int key, 5 bins of the common types. */
function benchRecord(id: number, namespace: Buffer, set: Buffer): AsbRecord {
  const key = Buffer.alloc(8);
  key.writeBigInt64BE(BigInt(id));
  const digest = createHash('ripemd160').update(set).update(Buffer.from([ParticleType.INTEGER])).update(key).digest();
  const text = Buffer.alloc(200, 0x61 + (id % 26));
  const blob = Buffer.alloc(143, id & 0xff);
  return {
    namespace,
    set,
    digest,
    key: { type: ParticleType.INTEGER, value: id },
    generation: 1,
    voidTime: 0,
    line: id,
    bins: [
      { name: Buffer.from('i'), type: ParticleType.INTEGER, value: id },
      { name: Buffer.from('f'), type: ParticleType.FLOAT, value: id / 7 },
      { name: Buffer.from('s'), type: ParticleType.STRING, value: text },
      { name: Buffer.from('b'), type: ParticleType.BLOB, value: blob },
      { name: Buffer.from('z'), type: ParticleType.BOOL, value: (id & 1) === 1 },
    ],
  };
}

async function runWorker(params: WorkerParams): Promise<void> {
  const namespace = Buffer.from('test');
  const set = Buffer.from('bench');
  const poolSize = Math.min(params.poolRecords, params.count);
  const pool: AsbRecord[] = [];
  for (let i = 0; i < poolSize; i++) pool.push(benchRecord(params.first + i, namespace, set));
  if (batchWriteRowSize(pool[0]) !== ROW_BYTES) throw new Error(`bench record row is ${batchWriteRowSize(pool[0])} bytes, not ${ROW_BYTES}`);
  const flags: WriteFlags = { info2: Info2.WRITE, info3: 0 };
  const client = new WriteClient(params.routing, { maxCommandsInFlight: params.batchesInFlight * 4 });
  parentPort!.postMessage({ ready: true });
  await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));

  // Records are encoded as they are needed, each routed to its node and its row appended to that
  // node's pending command (as a restore does when the decoder hands a record over); a command is
  // sent once it holds a full batch.
  let next = 0;
  let failed = 0;
  const ready: EncodedCommand[] = [];
  const commands = new NodeCommandSet(params.batchSize, flags, (command) => ready.push(command));
  // The pool's rows, encoded once: one command holding every pool record's row.
  let encodedPool: EncodedCommand | null = null;
  const encoder = new NodeCommandSet(poolSize, flags, (command) => (encodedPool = command));
  for (const record of pool) encoder.addRecord(0, record, TTL_NEVER_EXPIRE, 'bench');
  encoder.flush('bench');
  const rows = encodedPool!;
  // Plain locals: workerData's clone is a dictionary-mode object, slow to read per record.
  const count = params.count;
  const preEncoded = params.input === 'rows';
  const nextCommand = (): EncodedCommand | undefined => {
    while (ready.length === 0 && next < count) {
      const at = next % poolSize;
      if (preEncoded) {
        commands.addRowOf(client.routeOfRow(rows.bytes, rows.rowOffsets[at]), rows, at);
      } else {
        const record = pool[at];
        commands.addRecord(client.routeOf(record), record, TTL_NEVER_EXPIRE, 'bench');
      }
      next++;
      if (next === count) commands.flush('bench');
    }
    return ready.shift();
  };
  const writeNext = async (): Promise<void> => {
    for (let command = nextCommand(); command !== undefined; command = nextCommand()) {
      const result = await client.sendCommand(command);
      const codes = result.resultCodes;
      for (let i = 0; i < codes.length; i++) if (codes[i] !== 0) failed++;
      recycleCommand(command);
    }
  };
  await Promise.all(Array.from({ length: params.batchesInFlight }, writeNext));
  await client.close();
  parentPort!.postMessage({ done: true, failed });
}

/** Starts scripts/test-cluster with one process per node; resolves with its seeds once it is READY. */
async function startClusterProcesses(): Promise<{ child: ChildProcess; seeds: string }> {
  const script = fileURLToPath(new URL('./test-cluster.js', import.meta.url));
  const child = spawn(process.execPath, [script, '--nodes', '3', '--port', '0', '--processes', '--namespace', 'test'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seeds = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      const ready = JSON.parse(line.slice(6)) as { seeds: { host: string; port: number }[] };
      resolve(ready.seeds.map((seed) => `${seed.host}:${seed.port}`).join(','));
    });
    child.once('exit', (code) => reject(new Error(`test cluster exited with ${code}`)));
  });
  return { child, seeds };
}

async function runBenchmark(
  input: Input,
  threads: number,
  routing: SharedArrayBuffer,
  total: number,
  batchSize: number,
  batchesInFlight: number,
  poolRecords: number,
  report = true,
): Promise<void> {
  const workers: Worker[] = [];
  const ready: Promise<unknown>[] = [];
  const done: Promise<{ failed: number }>[] = [];
  const per = Math.ceil(total / threads);
  for (let t = 0; t < threads; t++) {
    const params: WorkerParams = { input, routing, poolRecords, first: t * 10_000_000, count: Math.min(per, total - t * per), batchSize, batchesInFlight };
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: params });
    workers.push(worker);
    const messages: ((message: { ready?: boolean; done?: boolean; failed?: number }) => void)[] = [];
    worker.on('message', (message) => messages.shift()?.(message));
    ready.push(new Promise((resolve, reject) => {
      messages.push(resolve);
      worker.once('error', reject);
    }));
    done.push(new Promise((resolve, reject) => {
      messages.push(resolve as never);
      worker.once('error', reject);
    }));
  }
  await Promise.all(ready);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (const worker of workers) worker.postMessage('go');
  const results = await Promise.all(done);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const failed = results.reduce((sum, result) => sum + result.failed, 0);
  await Promise.all(workers.map((worker) => worker.terminate()));
  if (!report) return;
  console.log(
    `${input === 'rows' ? 'pre-encoded rows' : 'decoded records'}, ${threads} worker thread(s): ${total.toLocaleString('en-US')} records of ${ROW_BYTES} bytes in ${seconds.toFixed(2)} s = ` +
      `${Math.round(total / seconds).toLocaleString('en-US')} records/s; this process: ${cpuSeconds.toFixed(2)} CPU-s ` +
      `(user ${(cpu.user / 1e6).toFixed(2)}, system ${(cpu.system / 1e6).toFixed(2)}) = ${((cpuSeconds * 1e6) / total).toFixed(3)} CPU-s per million records` +
      (failed > 0 ? `; ${failed} records not written` : ''),
  );
}

async function main(): Promise<void> {
  const total = option('records', 1_000_000);
  const batchSize = option('batch', 128);
  const batchesInFlight = option('batches-in-flight', 8);
  const poolRecords = option('pool', 4096);
  const only = process.argv.indexOf('--input');
  const inputs: Input[] = only >= 0 ? [process.argv[only + 1] as Input] : ['rows', 'records'];
  // BENCH_SEEDS: measure against a cluster started elsewhere (e.g. a real server).
  const external = process.env.BENCH_SEEDS;
  const { child, seeds } = external ? { child: null, seeds: external } : await startClusterProcesses();
  const cluster = await Cluster.connect({ hosts: seeds });
  try {
    console.log(`${external ? 'cluster at BENCH_SEEDS' : 'test cluster'} of ${cluster.nodes.length} nodes${external ? '' : ', one process each'}; batches of ${batchSize}, ${batchesInFlight} batches in flight per thread, ${poolRecords} distinct records per thread`);
    // The nodes start cold (their code not yet optimised): a first pass, not reported, keeps that
    // from weighing on whichever measurement comes first.
    if (!external) await runBenchmark('rows', 1, cluster.routingTable.buffer, Math.min(total, 200_000), batchSize, batchesInFlight, poolRecords, false);
    for (const input of inputs) {
      for (const threads of [1, 2]) await runBenchmark(input, threads, cluster.routingTable.buffer, total, batchSize, batchesInFlight, poolRecords);
    }
  } finally {
    await cluster.close();
    if (child !== null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

if (!isMainThread) {
  await runWorker(workerData as WorkerParams);
} else {
  await main();
}
