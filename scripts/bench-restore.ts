/**
 * `npm run bench:restore` (a benchmark, not a test): restores a generated backup into the test
 * cluster, whose nodes run in processes of their own, and prints for each configuration the
 * records/s, the restorer's CPU-seconds per million records (user + system of the asrestore
 * process, all its threads) and its peak RSS.
 *
 *   npm run bench:restore [-- --records 1000000 --files 7 --record-size 476 --nodes 3 --backup DIR --runs default,el1,... --repeat N]
 *
 * The backup (restore-bench mix: int, 3 strings, double, list, map, blob) is generated once and
 * kept under the OS temp folder for later runs. Configurations: the defaults, the defaults with
 * ASRESTORE_TS_SPREAD=always (every thread used from the start: the baseline the other runs' CPU
 * is also printed against), --event-loops 1 and 2, --parallel 1, 2, 8 and 20, and the defaults on
 * a single file of the backup (peak RSS must not grow with the backup's size), also spread.
 *
 * A first restore of the whole backup, not reported, warms the cluster's nodes up, so that the
 * first configuration does not meet colder nodes than the others (after one file only, the first
 * configuration still ran up to a third above the same settings measured later). With --repeat N
 * the configurations run round after round, N times, and a last table gives each one's median (this
 * shared machine moves the same run by 10-20%).
 *
 * Internally the script runs itself with `--child ARGS...` to host one asrestore run in a fresh
 * process and report that process's CPU time and peak RSS on fd 3.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './lib/stats.js';

const selfPath = fileURLToPath(import.meta.url);
const buildRoot = resolve(dirname(selfPath), '..');

interface ChildReport {
  exitCode: number;
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMb: number;
}

/** Child mode: one asrestore run in this process; the report goes to fd 3. */
async function child(argv: string[]): Promise<void> {
  const { run } = await import('../src/main/cli.js');
  const startCpu = process.cpuUsage();
  const start = performance.now();
  const exitCode = await run(argv);
  const wallSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(startCpu);
  const report: ChildReport = {
    exitCode,
    wallSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  writeSync(3, JSON.stringify(report) + '\n');
  process.exit(exitCode);
}

function startCluster(nodes: number): Promise<{ child: ChildProcess; hosts: string }> {
  const clusterEntry = join(buildRoot, 'scripts', 'test-cluster.js');
  const proc = spawn(process.execPath, [clusterEntry, '--nodes', String(nodes), '--port', '0', '--processes', '--namespace', 'test'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error('the test cluster did not start within 30 s')), 30_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      const seeds = (JSON.parse(line.slice(6)) as { seeds: { host: string; port: number }[] }).seeds;
      resolvePromise({ child: proc, hosts: seeds.map((seed) => `${seed.host}:${seed.port}`).join(',') });
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the test cluster exited with code ${code}`));
    });
  });
}

/** Empties namespace test on every node (each node process holds its own partitions). */
async function truncate(hosts: string): Promise<void> {
  const { Cluster } = await import('../src/shared/aerospike/cluster.js');
  const cluster = await Cluster.connect({ hosts });
  try {
    await cluster.infoAllNodes(['truncate-namespace:namespace=test']);
  } finally {
    await cluster.close();
  }
}

function runChild(args: string[], logPath: string, env: NodeJS.ProcessEnv = {}): Promise<ChildReport> {
  const log = createWriteStream(logPath, { flags: 'a' });
  const proc = spawn(process.execPath, [selfPath, '--child', ...args], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  proc.stderr!.pipe(log);
  let report = '';
  proc.stdio[3]!.on('data', (chunk: Buffer) => (report += chunk.toString('utf8')));
  return new Promise((resolvePromise, reject) => {
    proc.once('close', (code) => {
      log.end();
      if (report === '') reject(new Error(`asrestore ${args.join(' ')} ended with code ${code} without a report (log: ${logPath})`));
      else resolvePromise(JSON.parse(report) as ChildReport);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string' },
      files: { type: 'string' },
      'record-size': { type: 'string' },
      nodes: { type: 'string' },
      backup: { type: 'string' },
      runs: { type: 'string' },
      repeat: { type: 'string' },
    },
  });
  const records = Number(values.records ?? 1_000_000);
  const files = Number(values.files ?? 7);
  const recordSize = Number(values['record-size'] ?? 476);
  const nodes = Number(values.nodes ?? 3);
  const backupDir = values.backup ?? join(tmpdir(), `asrestore-bench-${records}-${files}-${recordSize}`);
  const repeat = Math.max(1, Number(values.repeat ?? 1));

  if (!existsSync(backupDir) || readdirSync(backupDir).filter((name) => name.endsWith('.asb')).length !== files) {
    process.stdout.write(`generating ${records} records (${recordSize} B each, ${files} files) into ${backupDir} ...\n`);
    const { generateBackup } = await import('./lib/backup-generator.js');
    await generateBackup({ dir: backupDir, files, records, recordSize, mix: 'restore-bench', seed: 1 }, availableParallelism());
  }
  const fileNames = readdirSync(backupDir).filter((name) => name.endsWith('.asb')).sort();
  const backupBytes = fileNames.reduce((sum, name) => sum + statSync(join(backupDir, name)).size, 0);
  const firstFile = join(backupDir, fileNames[0]);

  const spread = { ASRESTORE_TS_SPREAD: 'always' };
  const all: { name: string; args: string[]; records: number; env?: NodeJS.ProcessEnv }[] = [
    { name: 'default', args: ['-d', backupDir], records },
    { name: 'spread', args: ['-d', backupDir], records, env: spread },
    { name: 'el1', args: ['-d', backupDir, '--event-loops', '1'], records },
    { name: 'el2', args: ['-d', backupDir, '--event-loops', '2'], records },
    { name: 'p1', args: ['-d', backupDir, '--parallel', '1'], records },
    { name: 'p2', args: ['-d', backupDir, '--parallel', '2'], records },
    { name: 'p8', args: ['-d', backupDir, '--parallel', '8'], records },
    { name: 'p20', args: ['-d', backupDir, '--parallel', '20'], records },
    { name: 'one-file', args: ['-i', firstFile], records: Math.ceil(records / files) },
    { name: 'one-spread', args: ['-i', firstFile], records: Math.ceil(records / files), env: spread },
  ];
  const wanted = values.runs?.split(',');
  const runs = wanted === undefined ? all : all.filter((r) => wanted.includes(r.name));

  const logPath = join(tmpdir(), `asrestore-bench-${process.pid}.log`);
  process.stdout.write(
    `machine: ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), ${availableParallelism()} available; node ${process.version}\n` +
      `backup: ${backupDir}: ${fileNames.length} files, ${(backupBytes / 1e6).toFixed(1)} MB, ${records} records\n` +
      `cluster: ${nodes} test-cluster nodes, each in its own process; asrestore logs: ${logPath}\n\n`,
  );
  const cluster = await startCluster(nodes);
  try {
    // The cluster's nodes start cold (their own code not yet optimised, their stores empty): a
    // first restore, not reported, keeps that from weighing on whichever run comes first.
    process.stdout.write(`warming the cluster up (the whole backup, not reported) ...\n`);
    await truncate(cluster.hosts);
    await runChild(['-h', cluster.hosts, '-d', backupDir], logPath);
    const header = `${'run'.padEnd(10)} ${'arguments'.padEnd(28)} ${'records/s'.padStart(10)} ${'CPU s/M rec'.padStart(12)} ${'peak RSS MB'.padStart(12)} ${'wall s'.padStart(8)}  exit`;
    const line = (name: string, args: string, recordsPerSecond: number, cpu: number, rss: number, wall: number, exit: string): string =>
      `${name.padEnd(10)} ${args.padEnd(28)} ${Math.round(recordsPerSecond).toString().padStart(10)} ${cpu.toFixed(2).padStart(12)} ` +
      `${rss.toFixed(0).padStart(12)} ${wall.toFixed(1).padStart(8)}  ${exit}\n`;
    const shownArgs = (run: (typeof runs)[number]): string =>
      [...(run.env === undefined ? [] : ['SPREAD=always']), ...run.args.filter((arg) => arg !== backupDir && arg !== firstFile)].join(' ');
    process.stdout.write(header + '\n' + '-'.repeat(header.length) + '\n');
    const reports = new Map<string, ChildReport[]>();
    for (let round = 0; round < repeat; round++) {
      for (const run of runs) {
        await truncate(cluster.hosts);
        const report = await runChild(['-h', cluster.hosts, ...run.args], logPath, run.env);
        reports.set(run.name, [...(reports.get(run.name) ?? []), report]);
        process.stdout.write(
          line(run.name, shownArgs(run), run.records / report.wallSeconds, (report.cpuSeconds / run.records) * 1e6, report.maxRssMb, report.wallSeconds, String(report.exitCode)),
        );
      }
    }
    const cpuPerMillion = new Map<string, number>();
    for (const run of runs) {
      const own = reports.get(run.name)!;
      cpuPerMillion.set(run.name, median(own.map((report) => (report.cpuSeconds / run.records) * 1e6)));
    }
    if (repeat > 1) {
      process.stdout.write(`\nmedians of ${repeat} rounds (peak RSS: the largest)\n${header}\n${'-'.repeat(header.length)}\n`);
      for (const run of runs) {
        const own = reports.get(run.name)!;
        const wall = median(own.map((report) => report.wallSeconds));
        const exits = [...new Set(own.map((report) => report.exitCode))].join('/');
        process.stdout.write(line(run.name, shownArgs(run), run.records / wall, cpuPerMillion.get(run.name)!, Math.max(...own.map((r) => r.maxRssMb)), wall, exits));
      }
    }
    const baseline = cpuPerMillion.get('spread');
    if (baseline !== undefined) {
      const ratios = [...cpuPerMillion].filter(([name]) => name !== 'spread' && !name.startsWith('one-'));
      process.stdout.write(`\nCPU per record against 'spread' (every thread from the start) in this run: ${ratios.map(([name, cpu]) => `${name} ${(cpu / baseline).toFixed(2)}`).join(', ')}\n`);
    }
    const oneFile = cpuPerMillion.get('one-file');
    const oneSpread = cpuPerMillion.get('one-spread');
    if (oneFile !== undefined && oneSpread !== undefined) process.stdout.write(`one-file against one-spread: ${(oneFile / oneSpread).toFixed(2)}\n`);
  } finally {
    cluster.child.kill('SIGTERM');
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv.slice(3));
} else {
  main().catch((error: Error) => {
    process.stderr.write(`bench-restore: ${error.message}\n`);
    process.exitCode = 1;
  });
}
