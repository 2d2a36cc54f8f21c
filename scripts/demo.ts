/**
 * `npm run demo`: the main job end to end on a fresh clone, with nothing but this repository.
 *
 * 1. generates a sample directory backup (realistic bins: strings, ints, doubles, lists, maps,
 *    blobs, GeoJSON, HLLs, keys stored or not, secondary indexes and UDFs);
 * 2. starts the protocol-accurate test cluster (3 nodes, namespace `test` with 2 copies) in a child
 *    process;
 * 3. restores the backup into it with asrestore (its own log lines are shown as they come);
 * 4. prints a summary: the restore's counters, time, rate and exit code.
 *
 *   npm run demo [-- --records 20000 --files 4 --nodes 3 --keep]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateBackup } from './lib/backup-generator.js';

const buildRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cliEntry = join(buildRoot, 'src', 'main', 'cli-entry.js');
const clusterEntry = join(buildRoot, 'scripts', 'test-cluster.js');

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    files: { type: 'string' },
    nodes: { type: 'string' },
    keep: { type: 'boolean' },
  },
});
const records = Number(values.records ?? 20000);
const files = Number(values.files ?? 4);
const nodes = Number(values.nodes ?? 3);

function say(text: string): void {
  process.stdout.write(`[demo] ${text}\n`);
}

/** Starts the test cluster; resolves with its seeds once it printed READY. */
function startCluster(): Promise<{ child: ChildProcess; seeds: { host: string; port: number }[] }> {
  const child = spawn(process.execPath, [clusterEntry, '--nodes', String(nodes), '--port', '0', '--namespace', `test:${Math.min(2, nodes)}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('the test cluster did not start within 20 s')), 20_000);
    lines.on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolvePromise({ child, seeds: (JSON.parse(line.slice(6)) as { seeds: { host: string; port: number }[] }).seeds });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the test cluster exited with code ${code}`));
    });
  });
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'asrestore-demo-'));
  let cluster: ChildProcess | null = null;
  try {
    const backupDir = join(work, 'backup');
    say(`generating a sample backup: ${records} records in ${files} file(s) under ${backupDir}`);
    const summary = await generateBackup({ dir: backupDir, files, records, seed: 7, mix: 'fixture' }, 1);
    say(`wrote ${summary.plainBytes} bytes, ${summary.sindexes} secondary index(es), ${summary.udfs} UDF(s)`);

    say(`starting the test cluster (${nodes} nodes, namespace test)`);
    const started = await startCluster();
    cluster = started.child;
    const hosts = started.seeds.map((seed) => `${seed.host}:${seed.port}`).join(',');
    say(`cluster ready at ${hosts}`);

    say(`asrestore -h ${hosts} -d ${backupDir}`);
    const begin = performance.now();
    const restore = spawn(process.execPath, [cliEntry, '-h', hosts, '-d', backupDir], { stdio: ['ignore', 'inherit', 'pipe'] });
    const summaryLines: string[] = [];
    createInterface({ input: restore.stderr! }).on('line', (line) => {
      process.stderr.write(line + '\n');
      if (/ \d+ UDF file\(s\), | Expired \d+ : /.test(line)) summaryLines.push(line.replace(/^.*\] /, ''));
    });
    const code = await new Promise<number>((resolvePromise) => restore.once('close', (c) => resolvePromise(c ?? 1)));
    const seconds = (performance.now() - begin) / 1000;

    say('summary');
    for (const line of summaryLines.slice(-2)) say(`  ${line}`);
    say(`  ${records} records in ${seconds.toFixed(1)} s (${Math.round(records / seconds)} records/s, start-up included); exit code ${code}`);
    if (values.keep) say(`kept ${work}`);
    return code;
  } finally {
    if (cluster !== null) {
      cluster.kill('SIGTERM');
      await new Promise((r) => cluster!.once('exit', r));
    }
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`demo: ${error.message}\n`);
    process.exitCode = 1;
  },
);
