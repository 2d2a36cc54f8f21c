/**
 * Throughput of the backup input layer, in MB of plain .asb text per CPU-second (user+system of this
 * process, incl. libuv read threads), so that other load on the machine does not skew it.
 *
 *   node .build/<you>/test/io/bench-io.js [MiB of text, default 256]
 *
 * Not a mocha suite (no .test suffix): it writes ~2x the text size to a temp dir and takes seconds.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { openBackupFile, type BackupInputOptions } from '../../src/shared/io/backup-input.js';
import { createBackupWriter, type BackupOutputOptions } from '../../src/shared/io/backup-writer.js';
import { makeTempDir, sampleAsbText } from './helpers.js';

const zstdNapi = createRequire(import.meta.url)('zstd-napi') as typeof import('zstd-napi');

interface Sample {
  plainBytes: number;
  cpuSeconds: number;
  wallSeconds: number;
}

async function measure(run: () => Promise<number>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  const plainBytes = await run();
  const used = process.cpuUsage(cpu);
  return {
    plainBytes,
    cpuSeconds: (used.user + used.system) / 1e6,
    wallSeconds: Number(process.hrtime.bigint() - wall) / 1e9,
  };
}

function report(label: string, fileBytes: number, samples: Sample[]): void {
  const best = samples.reduce((a, b) => (a.plainBytes / a.cpuSeconds > b.plainBytes / b.cpuSeconds ? a : b));
  console.log(
    `${label.padEnd(34)} file ${(fileBytes / 1e6).toFixed(0).padStart(5)} MB  ` +
      `${(best.plainBytes / 1e6 / best.cpuSeconds).toFixed(0).padStart(6)} MB/cpu-s  ` +
      `${(best.plainBytes / 1e6 / best.wallSeconds).toFixed(0).padStart(6)} MB/s wall  (best of ${samples.length})`,
  );
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256);
  const temp = makeTempDir('asrestore-io-bench-');
  try {
    const block = sampleAsbText(16 * 1024 * 1024, 42);
    const totalBytes = mib * 1024 * 1024;
    const key = { algorithm: 'aes256' as const, key: randomBytes(32) };
    const cases: Array<[string, BackupOutputOptions]> = [
      ['plain', {}],
      ['aes256', { encryption: key }],
      ['zstd (8 MiB frames)', { compress: 'zstd', frameInputBytes: 8 * 1024 * 1024 }],
      ['aes256 + zstd (8 MiB frames)', { compress: 'zstd', frameInputBytes: 8 * 1024 * 1024, encryption: key }],
    ];
    for (const [label, options] of cases) {
      const path = join(temp.dir, `${label.replace(/\W+/g, '-')}.asb`);
      const writer = await createBackupWriter(path, options);
      // Vary the text between blocks so zstd cannot match whole blocks against each other.
      for (let written = 0, round = 0; written < totalBytes; written += block.length, round++) {
        await writer.write(round === 0 ? block : sampleAsbText(block.length, 42 + round));
      }
      const fileBytes = await writer.close();
      const inputOptions: BackupInputOptions = { compress: options.compress, encryption: options.encryption };
      const samples: Sample[] = [];
      for (let i = 0; i < 3; i++) {
        samples.push(
          await measure(async () => {
            let bytes = 0;
            for await (const chunk of openBackupFile(path, inputOptions).chunks) bytes += chunk.length;
            return bytes;
          }),
        );
      }
      report(label, fileBytes, samples);
      if (label.startsWith('zstd')) {
        // Reference point: zstd-napi's DecompressStream behind fs.createReadStream (1 MiB reads).
        const streamSamples: Sample[] = [];
        for (let i = 0; i < 3; i++) {
          streamSamples.push(
            await measure(async () => {
              let bytes = 0;
              const stream = createReadStream(path, { highWaterMark: 1024 * 1024 }).pipe(new zstdNapi.DecompressStream());
              for await (const chunk of stream) bytes += (chunk as Buffer).length;
              return bytes;
            }),
          );
        }
        report('  (zstd-napi DecompressStream pipe)', fileBytes, streamSamples);
      }
    }
  } finally {
    temp.cleanup();
  }
}

await main();
