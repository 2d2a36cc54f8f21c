/**
 * Decoder throughput: decodes an in-memory backup built by repeating the records of the a-default
 * fixture (~200 MB by default) and prints MB and records per CPU-second.
 *
 *   node .build/asb/scripts/bench-decoder.js [--mb 200] [--chunk-kib 1024] [--runs 3] [--small] [--file F]
 *     [--count-only | --rows] [--warm-up]
 *
 * --small leaves out records above 4 KiB (the fixture's 200 KB string and 100 KB blob), which
 * shows the per-record cost without the cheap bulk bytes of giant values.
 * --count-only decodes as --validate does (records checked and counted, not built).
 * --rows decodes as the restore does: into the restore's sink (RestoreSink, no filters), which
 * writes every record's batch row into the pending command of one of three nodes (routed by
 * digest); commands are dropped and their memory recycled as the batcher does, nothing is sent.
 * Records of the common shape go through the WebAssembly tier (asb/wasm/record-rows.ts), as in
 * the restore; --no-wasm leaves them all to the TypeScript decoder (the baseline to compare with).
 * --warm-up runs warmUpDecoder first, as the worker tasks do.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsbDecoder, warmUpDecoder } from '../src/shared/asb/decoder.js';
import type { AsbRecord, AsbSink } from '../src/shared/asb/types.js';
import { recycleCommand } from '../src/shared/aerospike/batch-command.js';
import { RestoreSink } from '../src/worker/restore-sink.js';
import type { RestoreRunSettings } from '../src/worker/restore-task.js';
import { restoreWriteFlags } from '../src/worker/write-policy.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) throw new Error('package.json not found');
      dir = parent;
    }
  }
}

const fixture = resolve(
  option('file', join(projectRoot(), '..', 'shared', 'fixtures', 'asbackup-4.5.8', 'a-default', 'backup', 'test_00000.asb')),
);
const targetBytes = Number(option('mb', '200')) * 1e6;
const chunkBytes = Number(option('chunk-kib', '1024')) * 1024;
const runs = Number(option('runs', '3'));
const smallOnly = process.argv.includes('--small');
const countOnly = process.argv.includes('--count-only');
const warmUp = process.argv.includes('--warm-up');
const rows = process.argv.includes('--rows') && !countOnly;
const wasm = !process.argv.includes('--no-wasm');

/** The restore's sink as a run without filters sets it up; rows go to one of three nodes by digest. */
function restoreSink(): RestoreSink {
  const run = { batchSize: 128, namespace: null, setList: null, binList: null, extraTtl: 0, noRecords: false, noIndexes: true, noUdfs: true, totalTimeoutMs: 10_000 };
  const router = {
    routeOfDigest: (_namespace: Buffer, digest: Uint8Array) => digest[0] % 3,
    routingGeneration: 1,
    fillOwnerSlots(_namespace: Buffer, out: Uint16Array) {
      for (let partition = 0; partition < out.length; partition++) out[partition] = ((partition & 0xff) % 3) + 1;
    },
  };
  return new RestoreSink(run as unknown as RestoreRunSettings, 'bench.asb', router, restoreWriteFlags({ unique: false, replace: false, noGeneration: false }).batchRow);
}

/** Byte ranges of the fixture's records, found with the decoder itself (record lines -> offsets). */
function recordRanges(source: Buffer): { header: Buffer; records: Array<[number, number]> } {
  const lineStarts: number[] = [0];
  for (let i = source.indexOf(10); i >= 0; i = source.indexOf(10, i + 1)) lineStarts.push(i + 1);
  const starts: number[] = [];
  const decoder = new AsbDecoder(
    { record: (r) => starts.push(lineStarts[r.line - 1]), secondaryIndex() {}, udf() {} },
    { file: fixture },
  );
  decoder.write(source);
  decoder.end();
  const ranges: Array<[number, number]> = starts.map((s, i) => [s, i + 1 < starts.length ? starts[i + 1] : source.length]);
  // Header and meta lines: everything before the first block.
  const firstBlock = source.indexOf('\n* ') >= 0 ? source.indexOf('\n* ') + 1 : starts[0];
  return { header: source.subarray(0, Math.min(firstBlock, starts[0])), records: ranges };
}

function build(): { data: Buffer; records: number } {
  const source = readFileSync(fixture);
  const { header, records } = recordRanges(source);
  const chosen = smallOnly ? records.filter(([s, e]) => e - s <= 4096) : records;
  const pieces = chosen.map(([s, e]) => source.subarray(s, e));
  const roundBytes = pieces.reduce((n, p) => n + p.length, 0);
  const rounds = Math.max(1, Math.round((targetBytes - header.length) / roundBytes));
  const data = Buffer.allocUnsafe(header.length + rounds * roundBytes);
  let o = header.copy(data, 0);
  for (let r = 0; r < rounds; r++) for (const p of pieces) o += p.copy(data, o);
  return { data, records: rounds * pieces.length };
}

/** One sink for every run, as a worker thread has one sink class: the decoder's call site stays monomorphic. */
const counts = { records: 0, bins: 0 };
const sink: AsbSink = {
  record(r: AsbRecord) {
    counts.records++;
    counts.bins += r.bins.length;
  },
  secondaryIndex() {},
  udf() {},
};

function decodeOnce(data: Buffer): { cpuSeconds: number; wallSeconds: number; records: number; bins: number } {
  counts.records = 0;
  counts.bins = 0;
  const restore = rows ? restoreSink() : null;
  const decoder = new AsbDecoder(restore ?? sink, { file: 'bench.asb', countOnly, transientInput: rows, fastRecords: restore !== null && wasm ? restore.fastRecords() : null });
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  for (let i = 0; i < data.length; i += chunkBytes) {
    decoder.write(data.subarray(i, i + chunkBytes));
    if (restore !== null) for (const item of restore.pending.splice(0)) if (item.kind === 'batch') recycleCommand(item.command);
  }
  decoder.end();
  if (restore !== null) {
    restore.cut();
    for (const item of restore.pending.splice(0)) if (item.kind === 'batch') recycleCommand(item.command);
    restore.close();
  }
  const records = countOnly || rows ? decoder.recordCount : counts.records;
  const bins = counts.bins;
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds: wall, records, bins };
}

if (warmUp) warmUpDecoder(rows ? { countOnly: false, rows: restoreSink() } : { countOnly });
const { data, records } = build();
console.log(
  `input: ${(data.length / 1e6).toFixed(1)} MB, ${records} records (${(data.length / records).toFixed(0)} B/record)` +
    `${smallOnly ? ', records <= 4 KiB only' : ''}, chunks of ${chunkBytes / 1024} KiB${countOnly ? ', count only' : rows ? `, rows into per-node commands${wasm ? ' (WebAssembly tier)' : ' (TypeScript only)'}` : ''}`,
);
const results: number[] = [];
for (let run = 1; run <= runs; run++) {
  const r = decodeOnce(data);
  if (r.records !== records) throw new Error(`decoded ${r.records} records, expected ${records}`);
  const mbPerCpuSecond = data.length / 1e6 / r.cpuSeconds;
  results.push(mbPerCpuSecond);
  console.log(
    `run ${run}: ${r.cpuSeconds.toFixed(3)} CPU-s (${r.wallSeconds.toFixed(3)} s wall): ` +
      `${mbPerCpuSecond.toFixed(0)} MB/CPU-s, ${(r.records / r.cpuSeconds / 1e6).toFixed(2)} M records/CPU-s, ` +
      (countOnly || rows ? '' : `${(r.bins / r.cpuSeconds / 1e6).toFixed(2)} M bins/CPU-s`),
  );
}
results.sort((a, b) => a - b);
console.log(`median: ${results[Math.floor(results.length / 2)].toFixed(0)} MB/CPU-s, best: ${results[results.length - 1].toFixed(0)} MB/CPU-s`);
