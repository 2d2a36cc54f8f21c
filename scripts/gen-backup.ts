/**
 * gen-backup: writes a realistic, seed-deterministic .asb backup of a requested shape.
 *
 *   npm run gen-backup -- --out DIR --files 7 --records 1000000 --record-size 476 --seed 1
 *
 * See `--help` and the README section "Generating test backups".
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseCompressionType, parseEncryptionType } from '../src/shared/io/codec-options.js';
import { generateBackup, type GenerateOptions, type GenerateSummary } from './lib/backup-generator.js';
import { ensureKeyFile, type KeyPemFormat } from './lib/key-pem.js';
import { MIX_NAMES, type MixName } from './lib/mixes.js';

const HELP = `Usage: npm run gen-backup -- (--out DIR | --single-file PATH) [options]

Writes a realistic .asb backup; the same options (and seed) give the same bytes.

  --out DIR               directory backup: DIR/<namespace>_00000.asb, ... (like asbackup -d)
  --single-file PATH      one backup file (like asbackup -o)
  --files N               number of files in the directory (default 1)
  --records N             number of records (default 1000)
  --record-size BYTES     target average bytes per record in the plain .asb text
                          (default: 374 for --mix fixture, 476 for restore-bench)
  --seed N                PRNG seed (default 1)
  --mix NAME              fixture (bin mix of the asbackup 4.5.8 fixtures) | restore-bench
                          (int, 3 strings, double, list, map, blob) (default fixture)
  --namespace NS          (default test)
  --sets a,b,             spread records over these sets; an empty name = no set
                          (default: each record kind's own set)
  --stored-keys F         share of records with a stored user key, 0..1 (default: the mix's)
  --expired F             share of records already expired, 0..1 (default 0)
  --sindexes N            secondary-index lines in the first file (default: the mix's list)
  --udfs N                UDF modules in the first file (default 2)
  --compact               write blob-like values as raw bytes (asbackup --compact)
  --compress zstd         zstd-compress every file
  --compression-level N   zstd level (default 0 = zstd's default)
  --encrypt aes128|aes256 AES-CTR-encrypt every file (after compression)
  --key-file PATH         PEM private key for --encrypt; a new RSA-2048 key is written there
                          when the file does not exist
  --key-format pkcs8|pkcs1  format of a newly written key (default pkcs8)
  --now UNIX_SECONDS      time void-times are placed around (default: start of today, UTC)
  --jobs N                files generated at once in worker threads (default: cores)
  --json                  print the summary as JSON
  -h, --help
`;

function number(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new RangeError(`--${option} needs a number (got "${text}")`);
  return value;
}

async function main(argv: string[]): Promise<GenerateSummary | undefined> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      out: { type: 'string' },
      'single-file': { type: 'string' },
      files: { type: 'string' },
      records: { type: 'string' },
      'record-size': { type: 'string' },
      seed: { type: 'string' },
      mix: { type: 'string' },
      namespace: { type: 'string' },
      sets: { type: 'string' },
      'stored-keys': { type: 'string' },
      expired: { type: 'string' },
      sindexes: { type: 'string' },
      udfs: { type: 'string' },
      compact: { type: 'boolean' },
      compress: { type: 'string' },
      'compression-level': { type: 'string' },
      encrypt: { type: 'string' },
      'key-file': { type: 'string' },
      'key-format': { type: 'string' },
      now: { type: 'string' },
      jobs: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  if (values.out === undefined && values['single-file'] === undefined) throw new RangeError('give --out DIR or --single-file PATH');
  const mix = (values.mix ?? 'fixture') as MixName;
  if (!MIX_NAMES.includes(mix)) throw new RangeError(`--mix must be one of ${MIX_NAMES.join(', ')}`);

  const options: GenerateOptions = {
    dir: values.out,
    singleFile: values['single-file'],
    files: number(values.files, 'files') ?? 1,
    records: number(values.records, 'records') ?? 1000,
    recordSize: number(values['record-size'], 'record-size'),
    seed: number(values.seed, 'seed') ?? 1,
    mix,
    namespace: values.namespace,
    sets: values.sets?.split(',').map((s) => (s === '' ? null : s)),
    storedKeys: number(values['stored-keys'], 'stored-keys'),
    expired: number(values.expired, 'expired'),
    sindexes: number(values.sindexes, 'sindexes'),
    udfs: number(values.udfs, 'udfs'),
    compact: values.compact ?? false,
    compress: values.compress !== undefined ? parseCompressionType(values.compress) : undefined,
    compressionLevel: number(values['compression-level'], 'compression-level'),
    now: number(values.now, 'now'),
  };
  if (values.encrypt !== undefined) {
    const algorithm = parseEncryptionType(values.encrypt);
    const keyFile = values['key-file'];
    if (keyFile === undefined) throw new RangeError('--encrypt needs --key-file PATH');
    const format = (values['key-format'] ?? 'pkcs8') as KeyPemFormat;
    if (format !== 'pkcs8' && format !== 'pkcs1') throw new RangeError('--key-format must be pkcs8 or pkcs1');
    if (ensureKeyFile(keyFile, format)) process.stderr.write(`wrote a new RSA-2048 private key (${format}) to ${keyFile}\n`);
    options.encryption = { algorithm, keyPem: readFileSync(keyFile, 'utf8') };
  }
  const jobs = number(values.jobs, 'jobs') ?? availableParallelism();

  const startWall = process.hrtime.bigint();
  const startCpu = process.cpuUsage();
  const summary = await generateBackup(options, jobs);
  const wallSeconds = Number(process.hrtime.bigint() - startWall) / 1e9;
  const cpu = process.cpuUsage(startCpu);

  if (values.json) {
    process.stdout.write(JSON.stringify({ ...summary, wallSeconds }, null, 2) + '\n');
  } else {
    const mb = summary.plainBytes / 1e6;
    const lines = [
      `wrote ${summary.files.length} file(s), ${summary.records} record(s), ${summary.sindexes} sindex(es), ${summary.udfs} UDF(s)`,
      `  plain .asb: ${mb.toFixed(1)} MB (${summary.records > 0 ? (summary.plainBytes / summary.records).toFixed(1) : '-'} B/record); on disk: ${(summary.fileBytes / 1e6).toFixed(1)} MB`,
      `  expired at generation time: ${summary.expired}; keys: ${JSON.stringify(summary.storedKeys)}`,
      `  sets: ${JSON.stringify(summary.sets)}`,
      `  bins: ${JSON.stringify(summary.binTypes)}`,
      `  ${wallSeconds.toFixed(1)} s wall (${(mb / wallSeconds).toFixed(0)} MB/s), process CPU (all threads) ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
  return summary;
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`gen-backup: ${error.message}\n`);
  process.exitCode = 1;
});
