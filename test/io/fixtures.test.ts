/**
 * The real asbackup 4.5.8 outputs: the compressed and encrypted cases decode to the backup text, the
 * derived keys equal the ones recorded, and every failing `asrestore --validate` run recorded in
 * CASE.json fails here too — either with a clear error from this layer, or (where a wrong key
 * leaves nothing for this layer to notice) with exactly the non-"Version" header bytes C printed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { AsrestoreError } from '../../src/shared/errors.js';
import { openBackupFile, type BackupInputOptions } from '../../src/shared/io/backup-input.js';
import { parseCompressionType, parseEncryptionType, type EncryptionAlgorithm } from '../../src/shared/io/codec-options.js';
import { encryptionKeyFromEnv, readEncryptionKeyFile } from '../../src/shared/io/encryption-key.js';
import { IoErrorCode } from '../../src/shared/io/io-error-codes.js';
import { listBackupDirectory } from '../../src/shared/io/local-files.js';
import { startsWithZstdMagic } from '../../src/shared/io/zstd.js';
import { describeIfExists, fixturesDir } from '../support/paths.js';
import { collect, expectDisjointChunks } from './helpers.js';

interface ValidateRun {
  what: string;
  command_line: string;
  env_from?: string;
  exit_code: number;
  summary_lines: string[];
}

interface CaseJson {
  case: string;
  encryption?: { algorithm: EncryptionAlgorithm; derived_aes_key_hex: string; encryption_key_env_value: string };
  output: { files: Array<{ name: string; bytes: number }> };
  manifest: { records: number };
  asrestore_validate_runs: ValidateRun[];
}

const HEADER = 'Version 3.1\n# namespace test\n';

function countRecords(text: Buffer): number {
  let count = 0;
  for (let at = text.indexOf('\n+ d '); at !== -1; at = text.indexOf('\n+ d ', at + 1)) count++;
  return count;
}

/** The input options a recorded `asrestore --validate ...` command line asks for. */
function optionsOfRun(caseDir: string, caseJson: CaseJson, run: ValidateRun): BackupInputOptions {
  const args = run.command_line.split(' ');
  const valueOf = (flag: string): string | undefined => {
    const at = args.indexOf(flag);
    return at === -1 ? undefined : args[at + 1];
  };
  const options: BackupInputOptions = {};
  const compress = valueOf('--compress');
  if (compress !== undefined) options.compress = parseCompressionType(compress);
  const encrypt = valueOf('--encrypt');
  if (encrypt !== undefined) {
    const algorithm = parseEncryptionType(encrypt);
    const keyFile = valueOf('--encryption-key-file');
    const keyEnv = valueOf('--encryption-key-env');
    let key: Buffer;
    if (keyFile !== undefined) {
      key = readEncryptionKeyFile(join(caseDir, keyFile), algorithm);
    } else if (keyEnv !== undefined) {
      const value =
        run.env_from === 'encryption.encryption_key_env_value'
          ? caseJson.encryption!.encryption_key_env_value
          : run.env_from === 'base64 of key.pem'
            ? readFileSync(join(caseDir, 'key.pem')).toString('base64')
            : undefined;
      expect(value, `unknown env_from ${run.env_from}`).to.be.a('string');
      key = encryptionKeyFromEnv(keyEnv, algorithm, { [keyEnv]: value });
    } else {
      throw new Error(`no key option in ${run.command_line}`);
    }
    options.encryption = { algorithm, key };
  }
  return options;
}

/** The 13 bytes C's hex_dump_err printed after "Invalid version line" (12 read + NUL). */
function dumpedHeaderBytes(run: ValidateRun): Buffer | undefined {
  const dump = run.summary_lines.find((line) => / 0000( [0-9a-f]{2}){13} /.test(line));
  if (dump === undefined) return undefined;
  const hex = / 0000((?: [0-9a-f]{2}){13}) /.exec(dump)![1]!.trim().split(' ');
  return Buffer.from(hex.join(''), 'hex');
}

/** What C's io_proxy_gets(…, 13) leaves in its buffer: up to 12 bytes, stopping after a LF, NUL-padded. */
function getsBuffer(text: Buffer): Buffer {
  const out = Buffer.alloc(13);
  const newline = text.subarray(0, 12).indexOf(0x0a);
  text.copy(out, 0, 0, newline === -1 ? 12 : newline + 1);
  return out;
}

describeIfExists(fixturesDir, 'io/fixtures (asbackup 4.5.8)', () => {
  for (const caseName of ['c-zstd', 'd1-aes128', 'd2-aes256-zstd']) {
    const caseDir = join(fixturesDir, caseName);
    const caseJson = JSON.parse(readFileSync(join(caseDir, 'CASE.json'), 'utf8')) as CaseJson;
    const backupFile = join(caseDir, 'backup', caseJson.output.files[0]!.name);

    describe(caseName, () => {
      if (caseJson.encryption !== undefined) {
        const { algorithm, derived_aes_key_hex, encryption_key_env_value } = caseJson.encryption;
        it('derives the recorded AES key from key.pem and from the env value', () => {
          expect(readEncryptionKeyFile(join(caseDir, 'key.pem'), algorithm).toString('hex')).to.equal(derived_aes_key_hex);
          const fromEnv = encryptionKeyFromEnv('ASB_KEY', algorithm, { ASB_KEY: encryption_key_env_value });
          expect(fromEnv.toString('hex')).to.equal(derived_aes_key_hex);
        });
      }

      it('lists the backup directory', async () => {
        const listing = await listBackupDirectory(join(caseDir, 'backup'));
        expect(listing.files).to.deep.equal(
          caseJson.output.files.map((f) => ({ path: `${join(caseDir, 'backup')}/${f.name}`, size: f.bytes })),
        );
      });

      for (const run of caseJson.asrestore_validate_runs) {
        it(`${run.exit_code === 0 ? 'decodes' : 'fails'}: ${run.what}`, async () => {
          const options = optionsOfRun(caseDir, caseJson, run);
          const input = openBackupFile(backupFile, options);
          let chunks: Buffer[] | undefined;
          let failure: unknown;
          try {
            chunks = await collect(input.chunks);
          } catch (error) {
            failure = error;
          } finally {
            await input.close();
          }
          const cSays = run.summary_lines.join('\n');

          if (run.exit_code === 0) {
            expect(failure).to.equal(undefined);
            expectDisjointChunks(chunks!);
            const text = Buffer.concat(chunks!);
            expect(text.subarray(0, HEADER.length).toString('latin1')).to.equal(HEADER);
            expect(countRecords(text)).to.equal(caseJson.manifest.records);
            expect(input.rawBytesRead()).to.equal(caseJson.output.files[0]!.bytes);
            return;
          }

          if (cSays.includes('Failed to decompress data')) {
            // C: "Failed to decompress data: Unknown frame descriptor" — ours names file, offset and options.
            expect(failure).to.be.instanceOf(AsrestoreError);
            expect((failure as AsrestoreError).code).to.equal(IoErrorCode.ZSTD_DECOMPRESS_FAILED);
            expect((failure as AsrestoreError).message).to.include('Unknown frame descriptor').and.include(backupFile);
            return;
          }

          expect(cSays).to.include('Invalid version line');
          const dumped = dumpedHeaderBytes(run);
          expect(dumped, 'C hex dump of the header').to.not.equal(undefined);
          if (options.compress === undefined && startsWithZstdMagic(dumped!)) {
            // C read the zstd bytes as text; this layer recognises them and says which option is missing.
            expect((failure as AsrestoreError).code).to.equal(IoErrorCode.INPUT_IS_COMPRESSED);
            expect(getsBuffer(readFileSync(backupFile)).equals(dumped!)).to.equal(true);
            return;
          }
          // Nothing here can tell a wrong key from data: the plain text must be exactly the
          // garbage C decrypted, which the .asb decoder then rejects as a bad version line.
          expect(failure).to.equal(undefined);
          const text = Buffer.concat(chunks!);
          expect(text.subarray(0, 8).toString('latin1')).not.to.equal('Version ');
          expect(getsBuffer(text).equals(dumped!)).to.equal(true);
        });
      }
    });
  }

  it('a-default (plain) reads back byte for byte; b-split-parallel lists 4 files in name order', async () => {
    const plainFile = join(fixturesDir, 'a-default', 'backup', 'test_00000.asb');
    const chunks = await collect(openBackupFile(plainFile, {}).chunks);
    expect(Buffer.concat(chunks).equals(readFileSync(plainFile))).to.equal(true);
    const listing = await listBackupDirectory(join(fixturesDir, 'b-split-parallel', 'backup'));
    const names = listing.files.map((f) => f.path.slice(f.path.lastIndexOf('/') + 1));
    expect(names).to.have.length(4);
    expect(names).to.deep.equal([...names].sort());
  });
});
