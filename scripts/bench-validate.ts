/**
 * bench:validate — how fast and how lean `asrestore --validate` decodes a large backup.
 *
 * Generates (once; cached in .cache/bench/) backups with the fixture bin mix at two sizes, then runs
 * the real CLI as a child process under /usr/bin/time (CPU seconds and peak RSS of the child, threads
 * included) with --event-loops 1 and with one per core, next to two baselines measured in the same
 * run on the same files: `cat` to /dev/null and a plain Buffer scan for LF in Node. Prints a table
 * and one verdict line per target:
 *   - at least 240 MB of backup decoded per CPU-second (largest size; one event loop, and one per core);
 *   - peak RSS flat in backup size (largest vs smallest size, within 25% + 16 MB).
 *
 *   npm run bench:validate [-- --sizes 256,1024 --files 8 --repeat 2 --seed 1]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../test/support/paths.js';
import { generateBackup, type GenerateOptions, type GenerateSummary } from './lib/backup-generator.js';
import { MIXES } from './lib/mixes.js';

/** Bump when the generator's output for the same options changes, so cached backups are rebuilt. */
const GENERATOR_FORMAT_VERSION = 1;
const MB = 1e6;
const MiB = 1024 * 1024;
const TARGET_MB_PER_CPU_SECOND = 240;
const RSS_FLAT_TOLERANCE = 0.25;
const RSS_FLAT_SLACK_BYTES = 16 * MiB;
/**
 * Void-times are placed around the start of the current UTC month, so a cached backup is reused
 * for a month and its TTLs stay within what a server accepts if it is ever restored.
 */
const BENCH_NOW = ((d) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000)(new Date());

interface Measurement {
  label: string;
  sizeLabel: string;
  plainBytes: number;
  records: number;
  wallSeconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
}

interface Dataset {
  dir: string;
  sizeMiB: number;
  files: string[];
  summary: GenerateSummary;
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sizes: { type: 'string', default: '256,1024' },
      files: { type: 'string', default: '8' },
      repeat: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      cli: { type: 'string', default: join(projectRoot, 'bin', 'asrestore.js') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('Usage: npm run bench:validate -- [--sizes MiB,MiB] [--files N] [--repeat N] [--seed N] [--cli PATH]\n');
    process.exit(0);
  }
  const sizes = values.sizes!.split(',').map(Number);
  if (sizes.some((s) => !(s > 0))) throw new RangeError('--sizes takes MiB values, e.g. 256,1024');
  return {
    sizesMiB: sizes.sort((a, b) => a - b),
    files: Number(values.files),
    repeat: Math.max(1, Number(values.repeat)),
    seed: Number(values.seed),
    cli: values.cli!,
  };
}

/** Generates the backup of `sizeMiB`, or reuses the cached one made with the same parameters. */
async function dataset(sizeMiB: number, files: number, seed: number): Promise<Dataset> {
  const recordSize = MIXES.fixture.defaultRecordSize;
  // A little over the size so the backup is at least sizeMiB whatever the per-file rounding.
  const records = Math.ceil((sizeMiB * MiB * 1.005) / recordSize);
  const dir = join(projectRoot, '.cache', 'bench', `validate-fixture-${sizeMiB}MiB-${files}f-seed${seed}`);
  const options: GenerateOptions = {
    dir, files, records, seed, mix: 'fixture', recordSize, namespace: 'test', sindexes: 11, udfs: 2, now: BENCH_NOW,
  };
  const paramsPath = join(dir, 'params.json');
  const params = JSON.stringify({ version: GENERATOR_FORMAT_VERSION, options });
  if (existsSync(paramsPath)) {
    const cached = JSON.parse(readFileSync(paramsPath, 'utf8')) as { params: string; summary: GenerateSummary };
    const intact = cached.summary.files.every((f) => existsSync(f.path) && statSync(f.path).size === f.fileBytes);
    if (cached.params === params && intact) {
      console.log(`reusing ${dir} (${(cached.summary.plainBytes / MB).toFixed(0)} MB, ${cached.summary.records} records)`);
      return { dir, sizeMiB, files: cached.summary.files.map((f) => f.path), summary: cached.summary };
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(`generating ${sizeMiB} MiB backup in ${files} files into ${dir} ...`);
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const summary = await generateBackup(options, availableParallelism());
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  console.log(
    `  ${(summary.plainBytes / MB).toFixed(0)} MB, ${summary.records} records in ${seconds.toFixed(1)} s wall ` +
      `(${(summary.plainBytes / MB / seconds).toFixed(0)} MB/s; ${((used.user + used.system) / 1e6).toFixed(1)} CPU s, all threads)`,
  );
  writeFileSync(paramsPath, JSON.stringify({ params, summary }, null, 1));
  return { dir, sizeMiB, files: summary.files.map((f) => f.path), summary };
}

interface TimedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
}

/** Runs a command under /usr/bin/time; its report goes to a file so the command's output stays clean. */
async function timed(command: string, args: string[]): Promise<TimedRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-validate-'));
  const report = join(scratch, 'time.txt');
  try {
    const child = spawn('/usr/bin/time', ['-o', report, '-f', '%e %U %S %M', command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    // The last line: a failed command makes time(1) prepend "Command exited with non-zero status".
    const lines = readFileSync(report, 'utf8').trim().split('\n');
    const [wall, user, sys, rssKiB] = lines[lines.length - 1]!.split(' ').map(Number);
    return { code, stdout, stderr, wallSeconds: wall!, cpuSeconds: user! + sys!, maxRssBytes: rssKiB! * 1024 };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A raw read in Node: the files in 1 MiB reads, counting LFs with indexOf. It prints the count. */
const LF_SCAN_SOURCE = `
const { openSync, readSync, closeSync } = require('node:fs');
const buf = Buffer.allocUnsafe(1 << 20);
let lines = 0;
for (const path of process.argv.slice(1)) {
  const fd = openSync(path, 'r');
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
    for (let i = buf.indexOf(10, 0); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
  }
  closeSync(fd);
}
console.log(lines);
`;

async function best(repeat: number, run: () => Promise<TimedRun>, check: (r: TimedRun) => void): Promise<TimedRun> {
  let bestRun: TimedRun | undefined;
  for (let i = 0; i < repeat; i++) {
    const r = await run();
    check(r);
    if (!bestRun || r.cpuSeconds < bestRun.cpuSeconds) bestRun = { ...r, maxRssBytes: Math.max(r.maxRssBytes, bestRun?.maxRssBytes ?? 0) };
    else bestRun.maxRssBytes = Math.max(bestRun.maxRssBytes, r.maxRssBytes);
  }
  return bestRun!;
}

/** The record count of asrestore's last counters line ("... N record(s) (...)"); null when there is none. */
function reportedRecords(output: string): number | null {
  const counts = [...output.matchAll(/ (\d+) record\(s\)/g)];
  return counts.length > 0 ? Number(counts[counts.length - 1]![1]) : null;
}

async function measure(ds: Dataset, repeat: number, cli: string, cores: number): Promise<Measurement[]> {
  const sizeLabel = `${ds.sizeMiB} MiB`;
  const base = { sizeLabel, plainBytes: ds.summary.plainBytes, records: ds.summary.records };
  const out: Measurement[] = [];
  const push = (label: string, r: TimedRun): void => {
    out.push({ ...base, label, wallSeconds: r.wallSeconds, cpuSeconds: r.cpuSeconds, maxRssBytes: r.maxRssBytes });
  };
  const okExit = (what: string) => (r: TimedRun): void => {
    if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stdout}\n${r.stderr}`);
  };

  push('cat > /dev/null', await best(repeat, () => timed('sh', ['-c', 'cat "$@" > /dev/null', 'cat', ...ds.files]), okExit('cat')));
  const expectedLines = await lineCount(ds);
  push('node LF scan', await best(repeat, () => timed(process.execPath, ['-e', LF_SCAN_SOURCE, ...ds.files]), (r) => {
    okExit('LF scan')(r);
    if (Number(r.stdout.trim()) !== expectedLines) throw new Error(`LF scan counted ${r.stdout.trim()}, expected ${expectedLines}`);
  }));
  for (const loops of [1, cores]) {
    const args = [cli, '--validate', '-d', ds.dir, '--event-loops', String(loops)];
    const checked = (r: TimedRun): void => {
      okExit(`asrestore --validate --event-loops ${loops}`)(r);
      const n = reportedRecords(r.stdout + r.stderr);
      if (n !== ds.summary.records) {
        throw new Error(`asrestore --validate reported ${n} records, the backup holds ${ds.summary.records}:\n${r.stdout}\n${r.stderr}`);
      }
    };
    push(`asrestore --validate, ${loops} event loop${loops > 1 ? 's' : ''}`, await best(repeat, () => timed(process.execPath, args), checked));
  }
  return out;
}

/** LF count of the backup, from the cached summary's files (computed once, in-process). */
async function lineCount(ds: Dataset): Promise<number> {
  let lines = 0;
  for (const path of ds.files) {
    const data = readFileSync(path);
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

function table(rows: Measurement[], baselineCpu: Map<string, number>, baselineWall: Map<string, number>): string {
  const header = ['size', 'run', 'wall s', 'MB/s', 'rec/s', 'CPU s', 'MB/CPU-s', 'CPU s/GB', 'CPU s/M rec', 'peak RSS MB', 'x LF-scan CPU', 'x cat wall'];
  const body = rows.map((r) => {
    const mb = r.plainBytes / MB;
    return [
      r.sizeLabel,
      r.label,
      r.wallSeconds.toFixed(2),
      (mb / r.wallSeconds).toFixed(0),
      (r.records / r.wallSeconds).toFixed(0),
      r.cpuSeconds.toFixed(2),
      (mb / r.cpuSeconds).toFixed(0),
      (r.cpuSeconds / (r.plainBytes / 1e9)).toFixed(2),
      (r.cpuSeconds / (r.records / 1e6)).toFixed(2),
      (r.maxRssBytes / MB).toFixed(0),
      (r.cpuSeconds / baselineCpu.get(r.sizeLabel)!).toFixed(1),
      (r.wallSeconds / baselineWall.get(r.sizeLabel)!).toFixed(1),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(options.cli)) throw new Error(`the CLI ${options.cli} does not exist (npm run build first)`);
  const cores = availableParallelism();
  const rows: Measurement[] = [];
  const datasets: Dataset[] = [];
  for (const size of options.sizesMiB) datasets.push(await dataset(size, options.files, options.seed));
  for (const ds of datasets) {
    console.log(`measuring ${ds.sizeMiB} MiB (${options.repeat} run(s) each, best CPU kept) ...`);
    rows.push(...(await measure(ds, options.repeat, options.cli, cores)));
  }
  const baselineCpu = new Map(rows.filter((r) => r.label === 'node LF scan').map((r) => [r.sizeLabel, r.cpuSeconds]));
  const baselineWall = new Map(rows.filter((r) => r.label === 'cat > /dev/null').map((r) => [r.sizeLabel, r.wallSeconds]));
  console.log(`\nasrestore --validate on ${cores} cores (${process.version}); fixture bin mix, ~${MIXES.fixture.defaultRecordSize} B/record, ${options.files} files; page cache warm\n`);
  console.log(table(rows, baselineCpu, baselineWall));

  const largest = datasets[datasets.length - 1]!;
  const smallest = datasets[0]!;
  const oneLoop = (ds: Dataset) => rows.find((r) => r.sizeLabel === `${ds.sizeMiB} MiB` && r.label.includes('1 event loop'))!;
  const allLoops = (ds: Dataset) => rows.find((r) => r.sizeLabel === `${ds.sizeMiB} MiB` && r.label.includes(`${cores} event loops`)) ?? oneLoop(ds);
  console.log('');
  for (const [name, pick] of [['one event loop', oneLoop], [`${cores} event loops`, allLoops]] as const) {
    if (name !== 'one event loop' && cores === 1) continue;
    const rate = largest.summary.plainBytes / MB / pick(largest).cpuSeconds;
    console.log(
      `${rate >= TARGET_MB_PER_CPU_SECOND ? 'PASS' : 'FAIL'}: ${rate.toFixed(0)} MB decoded per CPU-second at ${largest.sizeMiB} MiB, ${name} (target >= ${TARGET_MB_PER_CPU_SECOND})`,
    );
  }
  if (datasets.length > 1) {
    for (const [name, pick] of [['1 event loop', oneLoop], [`${cores} event loops`, allLoops]] as const) {
      const small = pick(smallest).maxRssBytes;
      const large = pick(largest).maxRssBytes;
      const flat = large <= small * (1 + RSS_FLAT_TOLERANCE) + RSS_FLAT_SLACK_BYTES;
      console.log(
        `${flat ? 'PASS' : 'FAIL'}: peak RSS ${(small / MB).toFixed(0)} MB at ${smallest.sizeMiB} MiB vs ${(large / MB).toFixed(0)} MB at ${largest.sizeMiB} MiB ` +
          `(${large >= small ? '+' : ''}${(((large - small) / small) * 100).toFixed(0)}% for ${(largest.sizeMiB / smallest.sizeMiB).toFixed(0)}x the data), ${name} ` +
          `(target: flat in size, within ${RSS_FLAT_TOLERANCE * 100}% + ${RSS_FLAT_SLACK_BYTES / MiB} MiB)`,
      );
    }
  } else {
    console.log('SKIP: peak RSS flatness needs two sizes (--sizes A,B)');
  }
}

main().catch((error: Error) => {
  console.error(`bench:validate: ${error.stack ?? error.message}`);
  process.exitCode = 1;
});
