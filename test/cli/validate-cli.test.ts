/**
 * `asrestore --validate` end to end, as a child process of the compiled CLI: generated backups
 * (always), and the real asbackup 4.5.8 fixtures with the real asrestore outputs (when ../shared
 * is present).
 */
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBackupBytes } from '../../src/shared/io/backup-writer.js';
import { encryptionKeyFromPem } from '../../src/shared/io/encryption-key.js';
import { describeIfExists, fixturesDir } from '../support/paths.js';
import { logBody, runCli, type CliRun } from '../support/run-cli.js';

/** A valid .asb text: `records` records (one set), `indexes` index lines and one UDF in the first file. */
function asbText(records: number, options: { firstFile?: boolean; indexes?: number; udf?: boolean; seed?: number } = {}): string {
  const parts = ['Version 3.1\n# namespace test\n'];
  if (options.firstFile !== false) {
    parts.push('# first-file\n');
    for (let i = 0; i < (options.indexes ?? 0); i++) parts.push(`* i test users idx_${i} N 1 bin_${i} N\n`);
    if (options.udf) parts.push('* u L mod.lua 12 return 1\n--\n\n');
  }
  for (let i = 0; i < records; i++) {
    const digest = randomBytes(20).toString('base64');
    parts.push(`+ n test\n+ d ${digest}\n+ s users\n+ g 1\n+ t 0\n+ b 2\n- I age ${i}\n- S name 5 n${String(i % 10000).padStart(4, '0')}\n`);
  }
  return parts.join('');
}

/** Bodies of the log lines (`[INF] message`), with the rate fields of the counter line masked. */
function bodies(run: CliRun): string[] {
  return run.stderrLines.map((line) => logBody(line).replace(/\(\d+ rec\/s, \d+ KiB\/s, \d+ B\/rec,/, '(R rec/s, K KiB/s, B B/rec,'));
}

function expectLogFormat(run: CliRun): void {
  for (const line of run.stderrLines) {
    expect(line).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT \[(INF|ERR|VER)\] \[[ \d]{5}\] /);
  }
}

function expectSummary(run: CliRun, udfs: number, indexes: number, records: number): void {
  const b = bodies(run);
  expect(b, run.stderr).to.include(`[INF] ${udfs} UDF file(s), ${indexes} secondary index(es), ${records} record(s) (R rec/s, K KiB/s, B B/rec, retries: 0)`);
  expect(b).to.include('[INF] Expired 0 : skipped 0 : err_ignored 0 : inserted 0: failed 0 (existed 0 , fresher 0)');
}

describe('cli: asrestore --validate (generated backups)', function () {
  this.timeout(60_000);
  let dir: string;
  const key = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'asrestore-validate-'));
    mkdirSync(join(dir, 'plain'));
    writeFileSync(join(dir, 'plain', 'test_00000.asb'), asbText(3000, { indexes: 2, udf: true }));
    writeFileSync(join(dir, 'plain', 'test_00001.asb'), asbText(2000, { firstFile: false }));
    writeFileSync(join(dir, 'plain', 'test_00002.asb'), asbText(1000, { firstFile: false }));
    writeFileSync(join(dir, 'plain', 'ignored.txt'), 'not a backup');
    mkdirSync(join(dir, 'plain2'));
    writeFileSync(join(dir, 'plain2', 'x_00000.asb'), asbText(10, { firstFile: false }));
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'zstd'));
    writeFileSync(join(dir, 'zstd', 'test_00000.asb'), encodeBackupBytes(Buffer.from(asbText(1500, { indexes: 1 })), { compress: 'zstd' }));
    writeFileSync(join(dir, 'key.pem'), key);
    mkdirSync(join(dir, 'aes'));
    const aesKey = encryptionKeyFromPem(key, 'aes256', 'key.pem');
    writeFileSync(
      join(dir, 'aes', 'test_00000.asb'),
      encodeBackupBytes(Buffer.from(asbText(700, { udf: true })), { compress: 'zstd', encryption: { algorithm: 'aes256', key: aesKey } }),
    );
    writeFileSync(join(dir, 'single.asb'), asbText(1234));
    const broken = asbText(50).split('\n');
    broken[3 + 8 * 20 + 6] = '- Q age 7';
    writeFileSync(join(dir, 'broken.asb'), broken.join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a directory: C log lines, counts, exit 0', async () => {
    const run = await runCli(['--validate', '-d', 'plain', '--parallel', '2', '--event-loops', '2'], { cwd: dir });
    expect(run.code, run.stderr).to.equal(0);
    expectLogFormat(run);
    const b = bodies(run);
    expect(b.slice(0, 3)).to.deep.equal(['[INF] Starting validation of plain', '[INF] Found 3 backup file(s) in plain', '[INF] Validating backup files']);
    for (const name of ['test_00000.asb', 'test_00001.asb', 'test_00002.asb']) {
      expect(b).to.include(`[INF] validating plain/${name}`);
      expect(b).to.include(`[INF] Opened backup file plain/${name}`);
      expect(b.indexOf(`[INF] validating plain/${name}`)).to.be.lessThan(b.indexOf(`[INF] Opened backup file plain/${name}`));
    }
    expect(b).to.include('[INF] Finished validating backup file(s)');
    expectSummary(run, 1, 2, 6000);
    expect(b.at(-1)).to.match(/^\[INF\] (100% complete, ~0s remaining|Expired 0 .*)$/);
    expect(run.stdout).to.equal('');
  });

  it('-i FILE', async () => {
    const run = await runCli(['--validate', '-i', 'single.asb'], { cwd: dir });
    expect(run.code, run.stderr).to.equal(0);
    const b = bodies(run);
    expect(b.slice(0, 2)).to.deep.equal(['[INF] Starting validation of single.asb', '[INF] Validating single.asb']);
    expect(b).to.include('[INF] Opened backup file single.asb');
    expectSummary(run, 0, 0, 1234);
  });

  it('-i - (stdin) and -i -:<size>', async () => {
    const text = Buffer.from(asbText(4321, { indexes: 3 }));
    const run = await runCli(['--validate', '-i', '-'], { stdin: text });
    expect(run.code, run.stderr).to.equal(0);
    const b = bodies(run);
    expect(b.slice(0, 2)).to.deep.equal(['[INF] Starting validation of [stdin]', '[INF] Validating -']);
    expect(b.some((l) => l.startsWith('[INF] Opened backup file'))).to.equal(false);
    expectSummary(run, 0, 3, 4321);
    expect(b.some((l) => l.includes('% complete'))).to.equal(false);

    const sized = await runCli(['--validate', '-i', `-:${text.length}`], { stdin: text });
    expect(sized.code, sized.stderr).to.equal(0);
    expect(bodies(sized)[1]).to.equal(`[INF] Validating -:${text.length}`);
    expectSummary(sized, 0, 3, 4321);
  });

  it('stdin arriving in pieces (backpressure itself: port-stream.test.ts)', async () => {
    const text = Buffer.from(asbText(25_000));
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let i = 0; i < text.length; i += 100_000) yield text.subarray(i, i + 100_000);
    }
    const run = await runCli(['--validate', '-i', '-'], { stdin: pieces() });
    expect(run.code, run.stderr).to.equal(0);
    expectSummary(run, 0, 0, 25_000);
  });

  it('zstd, and zstd + AES-256 with a PKCS#8 key file, from files and from stdin', async () => {
    const zstd = await runCli(['--validate', '-d', 'zstd', '--compress', 'zstd'], { cwd: dir });
    expect(zstd.code, zstd.stderr).to.equal(0);
    expectSummary(zstd, 0, 1, 1500);
    const aes = await runCli(['--validate', '-d', 'aes', '-z', 'zstd', '-y', 'aes256', '--encryption-key-file', 'key.pem'], { cwd: dir });
    expect(aes.code, aes.stderr).to.equal(0);
    expectSummary(aes, 1, 0, 700);
    const piped = await runCli(['--validate', '-i', '-', '-z', 'zstd', '-y', 'aes256', '--encryption-key-file', join(dir, 'key.pem')], {
      stdin: readFileSync(join(dir, 'aes', 'test_00000.asb')),
    });
    expect(piped.code, piped.stderr).to.equal(0);
    expectSummary(piped, 1, 0, 700);
  });

  it('a compressed backup without --compress: exit 1 with the hint', async () => {
    const run = await runCli(['--validate', '-d', 'zstd'], { cwd: dir });
    expect(run.code).to.equal(1);
    expect(bodies(run)).to.include('[ERR] Backup file zstd/test_00000.asb is zstd-compressed (it starts with a zstd frame header): restore it with --compress zstd');
    expectSummary(run, 0, 0, 0);
  });

  it('a wrong key or algorithm: exit 1, a clear error naming the file', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    writeFileSync(join(dir, 'other.pem'), other);
    for (const args of [
      ['-y', 'aes256', '--encryption-key-file', 'other.pem'],
      ['-y', 'aes128', '--encryption-key-file', 'key.pem'],
    ]) {
      const run = await runCli(['--validate', '-d', 'aes', '-z', 'zstd', ...args], { cwd: dir });
      expect(run.code, args.join(' ')).to.equal(1);
      const errors = bodies(run).filter((l) => l.startsWith('[ERR]'));
      expect(errors.join('\n')).to.include('aes/test_00000.asb');
      expect(errors.join('\n')).to.match(/--compress and --encrypt|encryption key/);
    }
    const missing = await runCli(['--validate', '-d', 'aes', '-z', 'zstd', '-y', 'aes256', '--encryption-key-file', 'nope.pem'], { cwd: dir });
    expect(missing.code).to.equal(1);
    expect(bodies(missing).join('\n')).to.include('[ERR] Could not open private key file "nope.pem"');
  });

  it('a parse error: exit 1 with file, line and column', async () => {
    const run = await runCli(['--validate', '-i', 'broken.asb'], { cwd: dir });
    expect(run.code).to.equal(1);
    const errors = bodies(run).filter((l) => l.startsWith('[ERR]'));
    expect(errors[0]).to.equal(`[ERR] Invalid bytes label "Q" (line ${3 + 8 * 20 + 7}, col 3)`);
    expect(errors.at(-1)).to.equal(`[ERR] Error while parsing backup file broken.asb (line ${3 + 8 * 20 + 7})`);
    expectSummary(run, 0, 0, 20);
  });

  it('stops the other files after the first failure', async () => {
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    copyFileSync(join(dir, 'broken.asb'), join(mixed, 'a.asb'));
    for (let i = 0; i < 6; i++) writeFileSync(join(mixed, `b${i}.asb`), asbText(2000, { firstFile: false }));
    const run = await runCli(['--validate', '-d', mixed, '--parallel', '1', '--event-loops', '1']);
    expect(run.code).to.equal(1);
    // with one file at a time, nothing after the failed first file is started
    expect(bodies(run).filter((l) => l.startsWith('[INF] validating'))).to.deep.equal([`[INF] validating ${mixed}/a.asb`]);
  });

  it('--directory-list with --parent-directory', async () => {
    const run = await runCli(['--validate', '--directory-list', 'plain,plain2', '--parent-directory', dir]);
    expect(run.code, run.stderr).to.equal(0);
    expect(bodies(run).slice(0, 4)).to.deep.equal([
      '[INF] Starting validation of plain,plain2',
      `[INF] Found 3 backup file(s) in ${dir}/plain`,
      `[INF] Found 1 backup file(s) in ${dir}/plain2`,
      '[INF] Validating backup files',
    ]);
    expect(bodies(run)).to.include(`[INF] validating ${dir}/plain2/x_00000.asb`);
    expectSummary(run, 1, 2, 6010);
    const relative = await runCli(['--validate', '--directory-list', 'plain2'], { cwd: dir });
    expect(relative.code, relative.stderr).to.equal(0);
    expectSummary(relative, 0, 0, 10);
    const missing = await runCli(['--validate', '--directory-list', 'plain,nowhere', '--parent-directory', dir + '/']);
    expect(missing.code).to.equal(1);
    expect(bodies(missing)).to.include(`[ERR] Directory ${dir}/nowhere does not exist`);
  });

  it('a missing or empty directory', async () => {
    const missing = await runCli(['--validate', '-d', 'nowhere'], { cwd: dir });
    expect(missing.code).to.equal(1);
    expect(bodies(missing)).to.deep.equal(['[INF] Starting validation of nowhere', '[ERR] Directory nowhere does not exist']);
    const empty = await runCli(['--validate', '-d', 'empty'], { cwd: dir });
    expect(empty.code).to.equal(1);
    expect(bodies(empty)).to.deep.equal(['[INF] Starting validation of empty', '[INF] Found 0 backup file(s) in empty', '[ERR] No backup files found']);
  });

  it('--machine appends progress and the summary', async () => {
    writeFileSync(join(dir, 'machine.txt'), 'EARLIER\n');
    const run = await runCli(['--validate', '-d', 'plain', '--machine', 'machine.txt'], { cwd: dir });
    expect(run.code, run.stderr).to.equal(0);
    const lines = readFileSync(join(dir, 'machine.txt'), 'utf8').split('\n');
    expect(lines[0]).to.equal('EARLIER');
    expect(lines.at(-2)).to.equal('SUMMARY:1:2:6000:0:0:0 :0:0:0');
    expect(lines.at(-1)).to.equal('');
    for (const line of lines.slice(1, -2)) expect(line).to.match(/^(PROGRESS:\d+|REMAINING:\S+)$/);
    const bad = await runCli(['--validate', '-d', 'plain', '--machine', 'no/such/dir/m.txt'], { cwd: dir });
    expect(bad.code).to.equal(1);
    expect(bodies(bad)).to.include('[ERR] Error while opening machine-readable file no/such/dir/m.txt (error 2: No such file or directory)');
  });

  it('-v adds VER lines', async () => {
    const run = await runCli(['--validate', '-v', '-i', 'single.asb'], { cwd: dir });
    expect(run.code).to.equal(0);
    expect(bodies(run)).to.include('[VER] Exiting with status code 0');
  });

  it('an interrupt stops a run that waits on stdin: exit 1', async () => {
    const text = Buffer.from(asbText(10));
    let release: () => void = () => {};
    const hold = new Promise<void>((r) => (release = r));
    async function* slow(): AsyncGenerator<Buffer> {
      yield text;
      await hold;
    }
    let pid = 0;
    const running = runCli(['--validate', '-i', '-'], { stdin: slow(), onSpawn: (p) => (pid = p) });
    // give it time to start and read the first chunk, then interrupt it
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pid, 'SIGINT');
    const run = await running;
    release();
    expect(run.code).to.equal(1);
    expect(bodies(run)).to.include('[ERR] ### Restore interrupted ###');
  });
});

describe('cli: command line handling', () => {
  it('--help and --version print to stdout and exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^Usage: asrestore \[OPTIONS\]\n/);
    expect(help.stderr).to.equal('');
    const usage = await runCli(['-Z']);
    expect(usage.stdout).to.equal(help.stdout);
    const version = await runCli(['-V']);
    expect(version.code).to.equal(0);
    expect(version.stdout).to.match(/^Aerospike Restore\nVersion \d+\.\d+\.\d+\n/);
  });

  it('an unknown option exits 1 with getopt wording and the hint', async () => {
    const run = await runCli(['--bogus', '-d', 'x']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal("asrestore: unrecognized option '--bogus'\nRun with --help for usage information and flag options\n");
  });

  it('an invalid combination exits 1 with an ERR line', async () => {
    const run = await runCli(['--validate']);
    expect(run.code).to.equal(1);
    expect(bodies(run)).to.deep.equal([
      '[ERR] Invalid options: please specify a directory (-d option), directory list (--directory-list option), or an input file (-i option).',
    ]);
  });

  it('hands a restore (not --validate) to the restore engine with the parsed options', async () => {
    const { run } = await import('../../src/main/cli.js');
    const seen: string[] = [];
    const restore = async (options: { directory: string | null }): Promise<number> => {
      seen.push(options.directory ?? '');
      return 7;
    };
    const context = { configLocations: { systemFile: '/nonexistent/a', userFile: null }, restore };
    expect(await run(['-d', 'somewhere'], context)).to.equal(7);
    expect(seen).to.deep.equal(['somewhere']);
  });
});

describeIfExists(fixturesDir, 'cli: asrestore --validate on the real asbackup 4.5.8 fixtures', function () {
  this.timeout(60_000);
  const caseDir = (name: string): string => join(fixturesDir, name);

  /** The lines of a real output, rates masked. */
  function fixtureBodies(path: string): string[] {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => logBody(l).replace(/\(\d+ rec\/s, \d+ KiB\/s, \d+ B\/rec,/, '(R rec/s, K KiB/s, B B/rec,'));
  }

  const isCounterLine = (l: string): boolean => /UDF file\(s\)|^\[INF\] Expired |% complete/.test(l);

  /**
   * The same lines as the real output: the per-file lines come from worker threads, so their order
   * against the coordinator's varies (as in C) and they are compared as a multiset; the first three
   * lines in order; of the counter lines, which repeat every 10 s (and once at 1 s when the run takes
   * longer, e.g. on a loaded machine), the final two.
   */
  function expectSameLines(run: CliRun, fixture: string[]): void {
    const ours = bodies(run);
    expect(ours.slice(0, 3)).to.deep.equal(fixture.slice(0, 3));
    expect(ours.filter((l) => !isCounterLine(l)).sort()).to.deep.equal(fixture.filter((l) => !isCounterLine(l)).sort());
    const lastTwo = (lines: string[]): string[] => lines.filter((l) => isCounterLine(l) && !l.includes('% complete')).slice(-2);
    expect(lastTwo(ours)).to.deep.equal(lastTwo(fixture));
  }

  for (const name of ['a-default', 'b-split-parallel', 'f1-set', 'f2-bin-list', 'g1-no-records', 'g2-no-indexes-no-udfs', 'h-bar-after-restore', 'i-compact']) {
    it(`${name}: the same lines as the real asrestore --validate`, async () => {
      const run = await runCli(['--validate', '-d', 'backup'], { cwd: caseDir(name) });
      expect(run.code, run.stderr).to.equal(0);
      expectSameLines(run, fixtureBodies(join(caseDir(name), 'asrestore-validate-output.txt')));
    });
  }

  it('e-single-file: -i backup.asb', async () => {
    const run = await runCli(['--validate', '-i', 'backup.asb'], { cwd: caseDir('e-single-file') });
    expect(run.code, run.stderr).to.equal(0);
    expectSameLines(run, fixtureBodies(join(caseDir('e-single-file'), 'asrestore-validate-output.txt')));
  });

  it('c-zstd with --compress zstd; without it: exit 1 and the hint', async () => {
    const ok = await runCli(['--validate', '-d', 'backup', '--compress', 'zstd'], { cwd: caseDir('c-zstd') });
    expect(ok.code, ok.stderr).to.equal(0);
    expectSummary(ok, 2, 11, 1894);
    const without = await runCli(['--validate', '-d', 'backup'], { cwd: caseDir('c-zstd') });
    expect(without.code).to.equal(1);
    expect(bodies(without).join('\n')).to.include('restore it with --compress zstd');
  });

  it('d1-aes128 with the key file and with --encryption-key-env; wrong key, wrong size', async () => {
    const dir = caseDir('d1-aes128');
    const meta = JSON.parse(readFileSync(join(dir, 'CASE.json'), 'utf8')) as { encryption: { encryption_key_env_value: string } };
    const file = await runCli(['--validate', '-d', 'backup', '--encrypt', 'aes128', '--encryption-key-file', 'key.pem'], { cwd: dir });
    expect(file.code, file.stderr).to.equal(0);
    expectSummary(file, 2, 11, 1894);
    const env = await runCli(['--validate', '-d', 'backup', '--encrypt', 'aes128', '--encryption-key-env', 'ASB_KEY'], {
      cwd: dir,
      env: { ASB_KEY: meta.encryption.encryption_key_env_value },
    });
    expect(env.code, env.stderr).to.equal(0);
    expectSummary(env, 2, 11, 1894);
    for (const args of [
      ['--encrypt', 'aes128', '--encryption-key-file', '../d2-aes256-zstd/key.pem'],
      ['--encrypt', 'aes256', '--encryption-key-file', 'key.pem'],
      [],
    ]) {
      const run = await runCli(['--validate', '-d', 'backup', ...args], { cwd: dir });
      expect(run.code, args.join(' ')).to.equal(1);
      expect(bodies(run).join('\n')).to.include('backup/test_00000.asb');
      expectSummary(run, 0, 0, 0);
    }
    const pemInEnv = await runCli(['--validate', '-d', 'backup', '--encrypt', 'aes128', '--encryption-key-env', 'ASB_KEY'], {
      cwd: dir,
      env: { ASB_KEY: Buffer.from(readFileSync(join(dir, 'key.pem'))).toString('base64') },
    });
    expect(pemInEnv.code).to.equal(1);
  });

  it('d2-aes256-zstd with the key file, and from stdin', async () => {
    const dir = caseDir('d2-aes256-zstd');
    const run = await runCli(['--validate', '-d', 'backup', '-z', 'zstd', '-y', 'aes256', '--encryption-key-file', 'key.pem'], { cwd: dir });
    expect(run.code, run.stderr).to.equal(0);
    expectSummary(run, 2, 11, 1894);
    const piped = await runCli(['--validate', '-i', '-', '-z', 'zstd', '-y', 'aes256', '--encryption-key-file', 'key.pem'], {
      cwd: dir,
      stdin: createReadStream(join(dir, 'backup', 'test_00000.asb')) as AsyncIterable<Buffer>,
    });
    expect(piped.code, piped.stderr).to.equal(0);
    expectSummary(piped, 2, 11, 1894);
  });

  it('-i - and -i -:<size> of a-default', async () => {
    const path = join(caseDir('a-default'), 'backup', 'test_00000.asb');
    const size = readFileSync(path).length;
    const run = await runCli(['--validate', '-i', `-:${size}`], { stdin: readFileSync(path) });
    expect(run.code, run.stderr).to.equal(0);
    expectSummary(run, 2, 11, 1894);
  });

  describe('the corrupted copies of a-default (validate-corrupt/corruptions.json)', () => {
    interface Corruption {
      name: string;
      output_file: string;
      patches: { offset: number; replacement_hex: string }[];
    }
    const corruptDir = join(caseDir('a-default'), 'validate-corrupt');
    const runs = existsSync(join(corruptDir, 'corruptions.json'))
      ? (JSON.parse(readFileSync(join(corruptDir, 'corruptions.json'), 'utf8')) as { runs: Corruption[] }).runs
      : [];
    let work: string;
    before(() => {
      work = mkdtempSync(join(tmpdir(), 'asrestore-corrupt-'));
    });
    after(() => rmSync(work, { recursive: true, force: true }));

    for (const corruption of runs) {
      it(`${corruption.name}: exit 1, the same ERR lines and counts as the real asrestore`, async () => {
        const caseWork = join(work, corruption.name);
        mkdirSync(join(caseWork, 'backup-corrupted'), { recursive: true });
        const bytes = readFileSync(join(caseDir('a-default'), 'backup', 'test_00000.asb'));
        for (const patch of corruption.patches) Buffer.from(patch.replacement_hex, 'hex').copy(bytes, patch.offset);
        writeFileSync(join(caseWork, 'backup-corrupted', 'test_00000.asb'), bytes);
        const run = await runCli(['--validate', '-d', 'backup-corrupted'], { cwd: caseWork });
        expect(run.code).to.equal(1);
        const fixture = fixtureBodies(join(corruptDir, corruption.output_file));
        const ours = bodies(run);
        expect(ours.filter((l) => l.startsWith('[ERR]'))).to.deep.equal(fixture.filter((l) => l.startsWith('[ERR]')));
        const counterLine = fixture.find((l) => l.includes('UDF file(s)'))!;
        expect(ours).to.include(counterLine);
      });
    }
  });
});
