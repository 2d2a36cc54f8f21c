import { expect } from 'chai';
import { createHash, createPrivateKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { AsbDecoder } from '../../src/shared/asb/decoder.js';
import type { AsbHeader, AsbRecord, SecondaryIndexDef, UdfModule } from '../../src/shared/asb/types.js';
import { openBackupFile, type BackupInputOptions } from '../../src/shared/io/backup-input.js';
import { encryptionKeyFromPem } from '../../src/shared/io/encryption-key.js';
import { generateBackup, type GenerateOptions } from '../../scripts/lib/backup-generator.js';
import { generateRsaKeyPem } from '../../scripts/lib/key-pem.js';
import { describeIfExists, fixturesDir } from '../support/paths.js';
import { parseParticle } from './cdt-parse.js';
import { CITRUSLEAF_EPOCH } from '../../src/shared/aerospike/protocol.js';

const NOW = 1_790_000_000;

interface DecodedFile {
  header: AsbHeader | undefined;
  records: number;
  sindexes: SecondaryIndexDef[];
  udfs: UdfModule[];
  /** Plain .asb text, as the decoder saw it. */
  text: Buffer;
}

interface Checks {
  keyed: number;
  digests: Set<string>;
  cdtBins: number;
  expired: number;
  binTypes: Set<number>;
}

/** The digest recomputed independently of the generator: RIPEMD-160(set, key type, key bytes). */
function expectedDigest(record: AsbRecord): Buffer {
  const key = record.key!;
  let bytes: Buffer;
  if (key.type === ParticleType.INTEGER) {
    bytes = Buffer.alloc(8);
    bytes.writeBigInt64BE(BigInt(key.value as number | bigint));
  } else {
    bytes = key.value as Buffer;
  }
  return createHash('ripemd160').update(record.set ?? Buffer.alloc(0)).update(Buffer.from([key.type])).update(bytes).digest();
}

async function decodeFile(path: string, checks: Checks, io: BackupInputOptions = {}): Promise<DecodedFile> {
  const result: DecodedFile = { header: undefined, records: 0, sindexes: [], udfs: [], text: Buffer.alloc(0) };
  const texts: Buffer[] = [];
  const nowCl = NOW - CITRUSLEAF_EPOCH;
  const decoder = new AsbDecoder(
    {
      header: (h) => (result.header = h),
      record: (r) => {
        result.records++;
        if (r.key !== null) {
          checks.keyed++;
          expect(r.digest.equals(expectedDigest(r)), `digest of record at line ${r.line}`).to.equal(true);
        }
        checks.digests.add(r.digest.toString('hex'));
        if (r.voidTime !== 0 && r.voidTime <= nowCl) checks.expired++;
        for (const bin of r.bins) {
          checks.binTypes.add(bin.type);
          if (bin.type === ParticleType.LIST || bin.type === ParticleType.MAP) {
            parseParticle(bin.value as Buffer, bin.type === ParticleType.LIST ? 'list' : 'map');
            checks.cdtBins++;
          }
        }
      },
      secondaryIndex: (s) => result.sindexes.push(s),
      udf: (u) => result.udfs.push({ ...u, content: Buffer.from(u.content) }),
    },
    { file: path },
  );
  const input = openBackupFile(path, io);
  for await (const chunk of input.chunks) {
    texts.push(Buffer.from(chunk));
    decoder.write(chunk);
  }
  decoder.end();
  result.text = Buffer.concat(texts);
  return result;
}

function newChecks(): Checks {
  return { keyed: 0, digests: new Set(), cdtBins: 0, expired: 0, binTypes: new Set() };
}

describe('gen: backup generator', function () {
  this.timeout(60000);
  let root: string;
  const base = (dir: string, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
    dir, files: 3, records: 900, seed: 7, mix: 'fixture', now: NOW, ...extra,
  });
  const dirOf = (name: string): string => join(root, name);
  const filesOf = (dir: string): string[] => readdirSync(dir).sort().map((f) => join(dir, f));

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'gen-test-'));
    await generateBackup(base(dirOf('plain')));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('writes the same bytes for the same seed (also from worker threads), other bytes for another seed', async () => {
    await generateBackup(base(dirOf('again')), 2);
    await generateBackup(base(dirOf('seed8'), { seed: 8 }));
    const plain = filesOf(dirOf('plain'));
    const again = filesOf(dirOf('again'));
    expect(plain.map((p) => p.split('/').pop())).to.deep.equal(['test_00000.asb', 'test_00001.asb', 'test_00002.asb']);
    plain.forEach((p, i) => expect(readFileSync(p).equals(readFileSync(again[i]!)), p).to.equal(true));
    expect(readFileSync(plain[1]!).equals(readFileSync(filesOf(dirOf('seed8'))[1]!))).to.equal(false);
  });

  it('honours the counts; every file decodes; stored-key digests are RIPEMD-160 of set, type and key; CDTs are server msgpack', async () => {
    const checks = newChecks();
    const decoded = [];
    for (const path of filesOf(dirOf('plain'))) decoded.push(await decodeFile(path, checks));
    expect(decoded.map((d) => d.records)).to.deep.equal([300, 300, 300]);
    expect(decoded.map((d) => d.header?.firstFile)).to.deep.equal([true, false, false]);
    expect(decoded.map((d) => d.header?.namespace)).to.deep.equal(['test', 'test', 'test']);
    expect(decoded.map((d) => d.sindexes.length)).to.deep.equal([11, 0, 0]);
    expect(decoded.map((d) => d.udfs.length)).to.deep.equal([2, 0, 0]);
    expect(decoded[0]!.udfs[1]!.content.toString()).to.include('\r\n');
    expect(checks.digests.size, 'digests are unique').to.equal(900);
    expect(checks.keyed).to.be.within(700, 830); // 85% stored keys
    expect(checks.cdtBins).to.be.greaterThan(200);
    for (const type of [ParticleType.INTEGER, ParticleType.FLOAT, ParticleType.STRING, ParticleType.BLOB, ParticleType.BOOL,
      ParticleType.GEOJSON, ParticleType.LIST, ParticleType.MAP]) {
      expect(checks.binTypes.has(type), `bin type ${type}`).to.equal(true);
    }
    const averageRecord = decoded.reduce((n, d) => n + d.text.length, 0) / 900;
    expect(averageRecord).to.be.within(374 * 0.97, 374 * 1.15); // includes the header/sindex/UDF lines
  });

  it('reaches the requested average record size, and the restore-bench mix has its 8 bins', async () => {
    for (const [mix, size] of [['fixture', 900], ['restore-bench', 476], ['restore-bench', 2000]] as const) {
      const dir = dirOf(`size-${mix}-${size}`);
      const summary = await generateBackup({ dir, files: 1, records: 2000, seed: 3, mix, recordSize: size, sindexes: 0, udfs: 0, now: NOW });
      const headerBytes = 'Version 3.1\n# namespace test\n# first-file\n'.length;
      expect((summary.plainBytes - headerBytes) / 2000, `${mix} ${size}`).to.be.within(size * 0.98, size * 1.02);
      if (mix === 'restore-bench') {
        expect(summary.binTypes).to.deep.equal({ integer: 2000, float: 2000, string: 6000, blob: 2000, list: 2000, map: 2000 });
      }
    }
  });

  it('places void-times around "now": never, future (2+ days ahead) and the requested expired share', async () => {
    const dir = dirOf('expired');
    const summary = await generateBackup({ dir, files: 1, records: 2000, seed: 5, mix: 'fixture', expired: 0.1, now: NOW });
    const checks = newChecks();
    let never = 0;
    let soonest = Infinity;
    const decoder = new AsbDecoder(
      {
        record: (r) => {
          if (r.voidTime === 0) never++;
          else if (r.voidTime > NOW - CITRUSLEAF_EPOCH) soonest = Math.min(soonest, r.voidTime);
          else checks.expired++;
        },
        secondaryIndex: () => undefined,
        udf: () => undefined,
      },
      { file: dir },
    );
    decoder.write(readFileSync(filesOf(dir)[0]!));
    decoder.end();
    expect(checks.expired).to.equal(summary.expired);
    expect(summary.expired).to.be.within(150, 250);
    expect(never).to.be.within(1000, 1400);
    expect(soonest - (NOW - CITRUSLEAF_EPOCH)).to.be.at.least(2 * 86400);
  });

  it('honours --sets (empty = no set) and --stored-keys', async () => {
    const dir = dirOf('sets');
    const summary = await generateBackup({ dir, files: 2, records: 600, seed: 9, mix: 'fixture', sets: ['a', null], storedKeys: 0, now: NOW });
    expect(Object.keys(summary.sets).sort()).to.deep.equal(['(no set)', 'a']);
    expect(summary.storedKeys.none).to.equal(600);
    const checks = newChecks();
    for (const path of filesOf(dir)) await decodeFile(path, checks);
    expect(checks.keyed).to.equal(0);
  });

  it('writes zstd and AES (PKCS#8 and PKCS#1 keys) variants whose plain text equals the plain backup', async () => {
    const plainTexts = filesOf(dirOf('plain')).map((p) => readFileSync(p));
    const pkcs8 = generateRsaKeyPem('pkcs8');
    const pkcs1 = createPrivateKey(pkcs8).export({ type: 'pkcs1', format: 'pem' }) as string;
    const variants: { name: string; options: Partial<GenerateOptions>; io: (pem: string) => BackupInputOptions }[] = [
      { name: 'zstd', options: { compress: 'zstd' }, io: () => ({ compress: 'zstd' }) },
      {
        name: 'aes128',
        options: { encryption: { algorithm: 'aes128', keyPem: pkcs8 } },
        io: (pem) => ({ encryption: { algorithm: 'aes128', key: encryptionKeyFromPem(pem, 'aes128', 'test key') } }),
      },
      {
        name: 'aes256-zstd',
        options: { compress: 'zstd', encryption: { algorithm: 'aes256', keyPem: pkcs1 } },
        io: (pem) => ({ compress: 'zstd', encryption: { algorithm: 'aes256', key: encryptionKeyFromPem(pem, 'aes256', 'test key') } }),
      },
    ];
    for (const variant of variants) {
      const dir = dirOf(variant.name);
      const summary = await generateBackup(base(dir, variant.options));
      const pem = String(variant.options.encryption?.keyPem ?? '');
      const files = filesOf(dir);
      for (let i = 0; i < files.length; i++) {
        const raw = readFileSync(files[i]!);
        expect(raw.subarray(0, 12).toString('latin1'), variant.name).not.to.equal('Version 3.1\n');
        const decoded = await decodeFile(files[i]!, newChecks(), variant.io(pem));
        expect(decoded.records, `${variant.name} file ${i}`).to.equal(300);
        expect(decoded.text.equals(plainTexts[i]!), `${variant.name} file ${i} plain text`).to.equal(true);
      }
      if (variant.name === 'zstd') expect(summary.fileBytes).to.be.lessThan(summary.plainBytes / 2);
    }
  });

  it('makes RSA key PEMs in both wrappers that derive the same AES key material', () => {
    const pkcs8 = generateRsaKeyPem('pkcs8');
    expect(pkcs8).to.match(/^-----BEGIN PRIVATE KEY-----/);
    const pkcs1 = createPrivateKey(pkcs8).export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(encryptionKeyFromPem(pkcs1, 'aes256', 'k').equals(encryptionKeyFromPem(pkcs8, 'aes256', 'k'))).to.equal(true);
    expect(generateRsaKeyPem('pkcs1')).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
  });

  it('writes a single-file backup (asbackup -o) with the first-file lines', async () => {
    const path = join(root, 'single', 'backup.asb');
    await generateBackup({ singleFile: path, files: 5, records: 100, seed: 1, mix: 'restore-bench', now: NOW });
    const decoded = await decodeFile(path, newChecks());
    expect(decoded.records).to.equal(100);
    expect(decoded.header?.firstFile).to.equal(true);
    expect(decoded.sindexes.length).to.equal(4);
  });

  it('runs as a command line (gen-backup) and refuses bad options', async () => {
    // The compiled script beside this compiled test (dist/ or a build folder).
    const built = fileURLToPath(new URL('../../scripts/gen-backup.js', import.meta.url));
    const out = join(root, 'cli');
    const ok = spawnSync(process.execPath, [built, '--out', out, '--records', '50', '--files', '2', '--json', '--now', String(NOW)], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).to.equal(0);
    const summary = JSON.parse(ok.stdout) as { records: number; files: { records: number }[] };
    expect(summary.records).to.equal(50);
    expect(summary.files.map((f) => f.records)).to.deep.equal([25, 25]);
    const bad = spawnSync(process.execPath, [built, '--out', out, '--stored-keys', '2'], { encoding: 'utf8' });
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.include('stored keys must be between 0 and 1');
  });

  it('writes compact (raw bytes) records that decode to the same items', async () => {
    const dir = dirOf('compact');
    await generateBackup(base(dir, { compact: true }));
    const checks = newChecks();
    let total = 0;
    for (const path of filesOf(dir)) total += (await decodeFile(path, checks)).records;
    expect(total).to.equal(900);
    expect(readFileSync(filesOf(dir)[0]!).includes('- B! ')).to.equal(true);
  });
});

describeIfExists(fixturesDir, 'gen: the fixture mix imitates the asbackup 4.5.8 fixtures', () => {
  it('has the bin types per record and the share of digest-only records of the fixtures', async () => {
    const stats = JSON.parse(readFileSync(join(fixturesDir, 'FIXTURES.json'), 'utf8')).dataset_stats as {
      records: number;
      bin_types: Record<string, number>;
      key_types: Record<string, number>;
    };
    const dir = mkdtempSync(join(tmpdir(), 'gen-mix-'));
    let summary;
    try {
      summary = await generateBackup({ dir, files: 1, records: 6000, seed: 11, mix: 'fixture', now: NOW });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const names: Record<string, string[]> = {
      int: ['integer'], double: ['float'], string: ['string'], bool: ['bool'], list: ['list'], map: ['map'], geojson: ['geojson'],
      bytes: ['blob', 'java_blob', 'csharp_blob', 'python_blob', 'ruby_blob', 'php_blob', 'erlang_blob'], hll: ['hll'],
    };
    for (const [type, count] of Object.entries(stats.bin_types)) {
      const expected = count / stats.records;
      const actual = names[type]!.reduce((n, t) => n + (summary.binTypes[t] ?? 0), 0) / summary.records;
      const tolerance = expected > 0.05 ? 0.2 : 0.6;
      expect(actual, `${type} bins per record`).to.be.within(expected * (1 - tolerance), expected * (1 + tolerance));
    }
    const keyless = stats.key_types['none (digest only)']! / stats.records;
    expect(summary.storedKeys.none / summary.records).to.be.within(keyless * 0.8, keyless * 1.2);
  });
});
