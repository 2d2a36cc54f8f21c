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
 *   npm run bench:client [-- --records 1000000 --batch 128 --batches-in-flight 8 --pool 4096 --input rows|records --threads 1|2 --repeat N --warm-up 100000]
 *   BENCH_SEEDS=host:port,... npm run bench:client   (against a cluster started elsewhere)
 *
 * Baseline, measured in the same run for each thread count before the client: the same rows, built
 * into complete batch commands before the clock starts, sent over plain sockets (one per in-flight
 * command and node) by a loop that does nothing but write a command and read its answer's frames
 * (no routing, no copying, no connection pool, no timers, no promises). It is what this machine's
 * sockets, kernel and event loop cost for this traffic, whatever the client does; the client's
 * figures are printed as ratios against it.
 *
 * A first pass of 200,000 records, not reported, warms the test cluster's nodes up; each worker
 * then writes --warm-up records (default 100,000) before the clock starts, so that its code is
 * compiled and its connections are open: the figures are the steady state. --repeat N runs the
 * measurements round after round and prints their medians (this machine moves 10-30% run to run).
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
import { ProtoFrameReader } from '../src/shared/aerospike/framing.js';
import { BatchAnswerParser } from '../src/shared/aerospike/response-parser.js';
import { RoutingTable } from '../src/shared/aerospike/routing-table.js';
import net from 'node:net';
import { median } from './lib/stats.js';
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

/** What a worker runs: the client on one of the inputs, or the plain-socket baseline. */
type Mode = Input | 'baseline';

interface WorkerParams {
  mode: Mode;
  routing: SharedArrayBuffer;
  poolRecords: number;
  first: number;
  count: number;
  batchSize: number;
  batchesInFlight: number;
  /** Records each worker writes before the clock starts (its code compiled, its connections open). */
  warmUp: number;
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
  // The pool's rows, encoded once: one command holding every pool record's row.
  let encodedPool: EncodedCommand | null = null;
  const encoder = new NodeCommandSet(poolSize, flags, (command) => (encodedPool = command));
  for (const record of pool) encoder.addRecord(0, record, TTL_NEVER_EXPIRE, 'bench');
  encoder.flush('bench');
  const rows = encodedPool!;
  const go = async (): Promise<void> => {
    parentPort!.postMessage({ ready: true });
    await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));
  };
  if (params.mode === 'baseline') {
    // One pass over the pool, routed and built into full commands before the clock starts.
    const built: EncodedCommand[] = [];
    const builder = new NodeCommandSet(params.batchSize, flags, (command) => built.push(command));
    for (let at = 0; at < poolSize; at++) builder.addRowOf(client.routeOfRow(rows.bytes, rows.rowOffsets[at]), rows, at);
    builder.flush('bench');
    const sockets = await openBaselineSockets(params.routing, built, params.batchesInFlight);
    await client.close();
    if (params.warmUp > 0) await sendBaseline(built, sockets, params.warmUp, params.batchesInFlight);
    await go();
    const { failed, sent } = await sendBaseline(built, sockets, params.count, params.batchesInFlight);
    for (const idle of sockets.values()) for (const socket of idle) socket.socket.destroy();
    parentPort!.postMessage({ done: true, failed, sent });
    return;
  }
  const preEncoded = params.mode === 'rows';
  const ready: EncodedCommand[] = [];
  const commands = new NodeCommandSet(params.batchSize, flags, (command) => ready.push(command));
  // Writes `count` records of the pool, round after round; resolves with those not written. Records
  // are encoded as they are needed, each routed to its node and its row appended to that node's
  // pending command (as a restore does when the decoder hands a record over); a command is sent once
  // it holds a full batch.
  const writeRecords = async (count: number): Promise<number> => {
    let next = 0;
    let failed = 0;
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
    return failed;
  };
  if (params.warmUp > 0) await writeRecords(params.warmUp);
  await go();
  // Plain local: workerData's clone is a dictionary-mode object, slow to read per record.
  const count = params.count;
  const failed = await writeRecords(count);
  await client.close();
  parentPort!.postMessage({ done: true, failed, sent: count });
}

/** A plain socket of the baseline and what its answer bytes go to. */
interface BaselineSocket {
  socket: net.Socket;
  onAnswerBytes: (bytes: Buffer) => void;
}

/** `perNode` plain sockets to each node the commands go to, by routing slot, reading into reused buffers. */
async function openBaselineSockets(routing: SharedArrayBuffer, commands: EncodedCommand[], perNode: number): Promise<Map<number, BaselineSocket[]>> {
  const nodes = RoutingTable.attach(routing).snapshot().nodes;
  const sockets = new Map<number, BaselineSocket[]>();
  for (const command of commands) {
    if (sockets.has(command.slot)) continue;
    const node = nodes[command.slot];
    if (node === undefined) throw new Error(`baseline: no node in routing slot ${command.slot}`);
    const idle: BaselineSocket[] = [];
    sockets.set(command.slot, idle);
    for (let i = 0; i < perNode; i++) {
      const readBuffer = Buffer.allocUnsafeSlow(64 * 1024);
      const entry: BaselineSocket = { socket: null as unknown as net.Socket, onAnswerBytes: () => {} };
      entry.socket = net.connect({
        host: node.host,
        port: node.port,
        onread: { buffer: readBuffer, callback: (bytes: number): boolean => (entry.onAnswerBytes(readBuffer.subarray(0, bytes)), true) },
      });
      entry.socket.setNoDelay(true);
      await new Promise<void>((resolve, reject) => {
        entry.socket.once('connect', resolve);
        entry.socket.once('error', reject);
      });
      idle.push(entry);
    }
  }
  return sockets;
}

/**
 * The baseline: sends the prebuilt commands round after round until `count` records went out,
 * `lanes` commands at once, each on an idle socket of its node (whole commands: the last may pass
 * `count` by less than a batch); resolves with the records sent and those not written.
 */
function sendBaseline(
  commands: EncodedCommand[],
  sockets: Map<number, BaselineSocket[]>,
  count: number,
  lanes: number,
): Promise<{ failed: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let next = 0;
    let running = 0;
    let failed = 0;
    let finished = false;
    // A broken connection ends the run loudly instead of leaving its command unanswered forever.
    for (const idle of sockets.values()) {
      for (const entry of idle) {
        entry.socket.on('error', reject);
        entry.socket.on('close', () => finished || reject(new Error('baseline: a node closed a connection')));
      }
    }
    const start = (): void => {
      if (sent >= count) {
        if (running === 0 && !finished) {
          finished = true;
          resolve({ failed, sent });
        }
        return;
      }
      const command = commands[next];
      next = next + 1 === commands.length ? 0 : next + 1;
      sent += command.rowCount;
      const idle = sockets.get(command.slot)!;
      const entry = idle.pop()!;
      const codes = new Int32Array(command.rowCount).fill(-1);
      const parser = new BatchAnswerParser(codes, null, 0, 'baseline');
      const reader = new ProtoFrameReader(undefined, true);
      entry.onAnswerBytes = (bytes) => {
        try {
          const frames = reader.push(bytes);
          for (let i = 0; i < frames.length; i++) {
            if (!parser.consume(frames[i].body)) continue;
            for (let row = 0; row < codes.length; row++) if (codes[row] !== 0) failed++;
            idle.push(entry);
            running--;
            start();
          }
        } catch (error) {
          reject(error);
        }
      };
      running++;
      entry.socket.write(command.bytes);
    };
    for (let lane = 0; lane < lanes; lane++) start();
  });
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

interface Measurement {
  records: number;
  seconds: number;
  /** This process's CPU-seconds per million records. */
  cpuPerMillion: number;
  user: number;
  system: number;
  failed: number;
}

const MODE_NAMES: Record<Mode, string> = {
  baseline: 'baseline (prebuilt commands, plain sockets)',
  rows: 'pre-encoded rows',
  records: 'decoded records',
};

async function runBenchmark(
  mode: Mode,
  threads: number,
  routing: SharedArrayBuffer,
  total: number,
  batchSize: number,
  batchesInFlight: number,
  poolRecords: number,
  warmUp: number,
): Promise<Measurement> {
  const workers: Worker[] = [];
  const ready: Promise<unknown>[] = [];
  const done: Promise<{ failed: number; sent: number }>[] = [];
  const per = Math.ceil(total / threads);
  for (let t = 0; t < threads; t++) {
    const params: WorkerParams = { mode, routing, poolRecords, first: t * 10_000_000, count: Math.min(per, total - t * per), batchSize, batchesInFlight, warmUp };
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
  await Promise.all(workers.map((worker) => worker.terminate()));
  const records = results.reduce((sum, result) => sum + result.sent, 0);
  return {
    records,
    seconds,
    cpuPerMillion: (cpu.user + cpu.system) / records,
    user: cpu.user / 1e6,
    system: cpu.system / 1e6,
    failed: results.reduce((sum, result) => sum + result.failed, 0),
  };
}

function describe(mode: Mode, threads: number, measured: Measurement, baseline: Measurement | null): string {
  const cpuSeconds = measured.user + measured.system;
  return (
    `${MODE_NAMES[mode]}, ${threads} worker thread(s): ${measured.records.toLocaleString('en-US')} records of ${ROW_BYTES} bytes in ${measured.seconds.toFixed(2)} s = ` +
    `${Math.round(measured.records / measured.seconds).toLocaleString('en-US')} records/s; this process: ${cpuSeconds.toFixed(2)} CPU-s ` +
    `(user ${measured.user.toFixed(2)}, system ${measured.system.toFixed(2)}) = ${measured.cpuPerMillion.toFixed(3)} CPU-s per million records` +
    (baseline === null ? '' : ` = ${(measured.cpuPerMillion / baseline.cpuPerMillion).toFixed(2)} x the baseline`) +
    (measured.failed > 0 ? `; ${measured.failed} records not written` : '')
  );
}

async function main(): Promise<void> {
  const total = option('records', 1_000_000);
  const batchSize = option('batch', 128);
  const batchesInFlight = option('batches-in-flight', 8);
  const poolRecords = option('pool', 4096);
  const repeat = option('repeat', 1);
  const warmUp = option('warm-up', 100_000);
  const only = process.argv.indexOf('--input');
  const inputs: Input[] = only >= 0 ? [process.argv[only + 1] as Input] : ['rows', 'records'];
  const threadCounts = process.argv.includes('--threads') ? [option('threads', 1)] : [1, 2];
  // BENCH_SEEDS: measure against a cluster started elsewhere (e.g. a real server).
  const external = process.env.BENCH_SEEDS;
  const { child, seeds } = external ? { child: null, seeds: external } : await startClusterProcesses();
  const cluster = await Cluster.connect({ hosts: seeds });
  const routing = cluster.routingTable.buffer;
  try {
    console.log(`${external ? 'cluster at BENCH_SEEDS' : 'test cluster'} of ${cluster.nodes.length} nodes${external ? '' : ', one process each'}; batches of ${batchSize}, ${batchesInFlight} batches in flight per thread, ${poolRecords} distinct records per thread`);
    // The nodes start cold (their code not yet optimised): a first pass, not reported, keeps that
    // from weighing on whichever measurement comes first.
    if (!external) await runBenchmark('rows', 1, routing, Math.min(total, 200_000), batchSize, batchesInFlight, poolRecords, 0);
    // Per mode and thread count: CPU-s per million, and its ratio to the same round's baseline.
    const perMillion = new Map<string, number[]>();
    const ratios = new Map<string, number[]>();
    const keep = (map: Map<string, number[]>, key: string, value: number): void => {
      map.set(key, [...(map.get(key) ?? []), value]);
    };
    for (let round = 1; round <= repeat; round++) {
      if (repeat > 1) console.log(`round ${round} of ${repeat}`);
      for (const threads of threadCounts) {
        const baseline = await runBenchmark('baseline', threads, routing, total, batchSize, batchesInFlight, poolRecords, warmUp);
        console.log(describe('baseline', threads, baseline, null));
        keep(perMillion, `baseline/${threads}`, baseline.cpuPerMillion);
        for (const input of inputs) {
          const measured = await runBenchmark(input, threads, routing, total, batchSize, batchesInFlight, poolRecords, warmUp);
          console.log(describe(input, threads, measured, baseline));
          keep(perMillion, `${input}/${threads}`, measured.cpuPerMillion);
          keep(ratios, `${input}/${threads}`, measured.cpuPerMillion / baseline.cpuPerMillion);
        }
      }
    }
    if (repeat > 1) {
      console.log(`medians of ${repeat} rounds (CPU-s per million records):`);
      for (const threads of threadCounts) {
        const parts = [`baseline ${median(perMillion.get(`baseline/${threads}`)!).toFixed(3)}`];
        for (const input of inputs) {
          const key = `${input}/${threads}`;
          parts.push(`${MODE_NAMES[input]} ${median(perMillion.get(key)!).toFixed(3)} (${median(ratios.get(key)!).toFixed(2)} x the baseline)`);
        }
        console.log(`  ${threads} worker thread(s): ${parts.join('; ')}`);
      }
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
