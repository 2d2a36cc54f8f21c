/**
 * The decoder and encoder against real asbackup 4.5.8 output (../shared/fixtures/asbackup-4.5.8):
 * every plain-text case decodes to exactly the records of its manifest, the sindex lines and UDFs
 * of its meta.json, and re-encodes byte for byte; the corrupted copies of case a-default fail with
 * the messages, lines and columns the real asrestore logged; compressed and encrypted files fed as
 * plain text fail on the version line with a hint.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { encodeHeader, encodeRecord, encodeSecondaryIndex, encodeUdf } from '../../src/shared/asb/encoder.js';
import { AsbErrorCode } from '../../src/shared/asb/errors.js';
import type { AsbRecord, SecondaryIndexDef, UdfModule } from '../../src/shared/asb/types.js';
import { loadManifest, manifestByDigest, recordMismatches, type ManifestRecord } from '../support/manifest.js';
import { describeIfExists, fixturesDir } from '../support/paths.js';
import { decodeChunks, decodeFailureChunks, snapshotAll, type Decoded } from './conformance-helpers.js';

const PLAIN_CASES = [
  'a-default',
  'b-split-parallel',
  'e-single-file',
  'f1-set',
  'f2-bin-list',
  'g1-no-records',
  'g2-no-indexes-no-udfs',
  'h-bar-after-restore',
  'i-compact',
];

interface CaseMeta {
  namespace: string;
  records_file: string;
  records: number;
  backup_contents: {
    files: Array<{ file: string; version: string; meta_lines: string[]; records: number; plain_bytes: number }>;
    sindex_lines: Array<{ file: string; line: string }>;
    udfs: Array<{ file: string; type: string; name: string; bytes: number; sha256: string }>;
  };
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function chunksOf(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  return chunks;
}

/** The backup file of a case: `<case>/backup/<file>` or, for single-file backups, `<case>/<file>`. */
function backupPath(caseDir: string, file: string): string {
  const inFolder = join(caseDir, 'backup', file);
  return existsSync(inFolder) ? inFolder : join(caseDir, file);
}

/** Splits an sindex line at unescaped spaces and unescapes the tokens (an independent reading of the line). */
function sindexTokens(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      current += line[++i];
    } else if (c === ' ') {
      tokens.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  tokens.push(current);
  return tokens;
}

function expectedIndex(line: string): Omit<SecondaryIndexDef, 'line'> {
  const [star, kind, namespace, set, name, indexType, pathCount, path, pathType, context, ...rest] = sindexTokens(line);
  expect([star, kind, pathCount, rest.length], line).to.deep.equal(['*', 'i', '1', 0]);
  return {
    namespace,
    set: set === '' ? null : set,
    name,
    indexType: indexType as SecondaryIndexDef['indexType'],
    paths: [{ path, type: pathType as SecondaryIndexDef['paths'][number]['type'] }],
    context: context === undefined || context === '' ? null : context,
    expression: null,
  };
}

function reencode(decoded: Decoded, compact: boolean): Buffer {
  const header = decoded.header!;
  return Buffer.concat([
    encodeHeader({ version: header.version, namespace: header.namespace, firstFile: header.firstFile }),
    ...decoded.items.map((item) =>
      item.kind === 'record'
        ? encodeRecord(item.record, { compact, version: header.version })
        : item.kind === 'index'
          ? encodeSecondaryIndex(item.index)
          : encodeUdf(item.udf),
    ),
  ]);
}

const manifests = new Map<string, ManifestRecord[]>();
function manifestAt(path: string): ManifestRecord[] {
  let records = manifests.get(path);
  if (records === undefined) {
    records = loadManifest(path);
    manifests.set(path, records);
  }
  return records;
}

describeIfExists(fixturesDir, 'asb conformance: asbackup 4.5.8 fixtures', () => {
  for (const caseName of PLAIN_CASES) {
    describe(caseName, () => {
      const caseDir = join(fixturesDir, caseName);
      const meta = readJson<CaseMeta>(join(caseDir, 'meta.json'));
      const command = readJson<{ command: string[] }>(join(caseDir, 'CASE.json')).command;
      const compact = command.includes('--compact');
      const files = meta.backup_contents.files.map((f) => ({ ...f, data: readFileSync(backupPath(caseDir, f.file)) }));
      let decodedFiles: Decoded[] = [];

      before(() => {
        decodedFiles = files.map((f) => decodeChunks(chunksOf(f.data, 64 * 1024), { file: f.file }));
      });

      it('every file decodes: version, meta lines and record counts as meta.json says', () => {
        expect(files.map((f) => f.data.length)).to.deep.equal(meta.backup_contents.files.map((f) => f.plain_bytes));
        const seen = decodedFiles.map((d) => ({
          version: d.header?.version,
          metaLines: [...(d.header?.namespace !== null ? [`namespace ${d.header?.namespace}`] : []), ...(d.header?.firstFile ? ['first-file'] : [])],
          records: d.records.length,
        }));
        expect(seen).to.deep.equal(meta.backup_contents.files.map((f) => ({ version: f.version, metaLines: f.meta_lines, records: f.records })));
      });

      it('its records equal the manifest by digest: set, key, generation, void time ±3 s, every bin typed and byte-exact', () => {
        const manifest = manifestAt(resolve(caseDir, meta.records_file));
        const byDigest = manifestByDigest(manifest);
        const records: AsbRecord[] = decodedFiles.flatMap((d) => d.records);
        expect(records.length).to.equal(meta.records);
        expect(manifest.length).to.equal(meta.records);
        const problems: string[] = [];
        const seen = new Set<string>();
        for (const r of records) {
          const digest = r.digest.toString('base64');
          if (seen.has(digest)) problems.push(`${digest}: twice in the backup`);
          seen.add(digest);
          const wanted = byDigest.get(digest);
          if (wanted === undefined) {
            problems.push(`${digest}: not in the manifest`);
            continue;
          }
          problems.push(...recordMismatches(r, wanted, { voidTimeToleranceSeconds: 3 }));
          if (problems.length > 20) break;
        }
        expect(problems).to.deep.equal([]);
        expect(seen.size).to.equal(byDigest.size);
      });

      it('its secondary indexes and UDFs equal meta.json (lines, names, sizes, sha256)', () => {
        const indexes = decodedFiles.flatMap((d, i) => d.indexes.map((ix) => ({ file: files[i].file, ix })));
        expect(indexes.map(({ file, ix }) => ({ file, ix: { ...ix, line: undefined } }))).to.deep.equal(
          meta.backup_contents.sindex_lines.map(({ file, line }) => ({ file, ix: { ...expectedIndex(line), line: undefined } })),
        );
        expect(indexes.map(({ ix }) => encodeSecondaryIndex(ix).toString('utf8'))).to.deep.equal(
          meta.backup_contents.sindex_lines.map(({ line }) => `${line}\n`),
        );
        const udfs = decodedFiles.flatMap((d, i) => d.udfs.map((u: UdfModule) => ({ file: files[i].file, u })));
        expect(
          udfs.map(({ file, u }) => ({ file, type: u.language, name: u.name, bytes: u.content.length, sha256: createHash('sha256').update(u.content).digest('hex') })),
        ).to.deep.equal(meta.backup_contents.udfs);
        for (const { u } of udfs) {
          const source = join(fixturesDir, 'udfs', u.name);
          if (existsSync(source)) expect(u.content.equals(readFileSync(source)), u.name).to.equal(true);
        }
      });

      it('re-encoding every decoded item gives the files back byte for byte', () => {
        decodedFiles.forEach((d, i) => {
          const again = reencode(d, compact);
          if (!again.equals(files[i].data)) {
            let at = 0;
            while (at < again.length && again[at] === files[i].data[at]) at++;
            expect.fail(`${files[i].file}: first difference at byte ${at}: ${JSON.stringify(files[i].data.subarray(at, at + 60).toString('latin1'))} vs ${JSON.stringify(again.subarray(at, at + 60).toString('latin1'))}`);
          }
        });
      });

      if (caseName === 'a-default' || caseName === 'i-compact') {
        it('small odd chunks (1009 bytes) decode to the same items as 64 KiB chunks', () => {
          const oddChunks = decodeChunks(chunksOf(files[0].data, 1009), { file: files[0].file });
          expect(JSON.stringify(snapshotAll(oddChunks)) === JSON.stringify(snapshotAll(decodedFiles[0]))).to.equal(true);
        });
      }
    });
  }

  describe('a-default corrupted (validate-corrupt/corruptions.json) fails as the real asrestore did', () => {
    const corruptDir = join(fixturesDir, 'a-default', 'validate-corrupt');
    const spec = readJson<{
      source: string;
      source_sha256: string;
      runs: Array<{
        name: string;
        output_file: string;
        corrupted_sha256: string;
        patches: Array<{ offset: number; line: number; column: number; original_hex: string; replacement_hex: string }>;
      }>;
    }>(join(corruptDir, 'corruptions.json'));
    const source = readFileSync(join(fixturesDir, spec.source));

    it('the source file is the one the patches were made for', () => {
      expect(createHash('sha256').update(source).digest('hex')).to.equal(spec.source_sha256);
    });

    for (const run of spec.runs) {
      it(`${run.name}: the same error lines, line and column, and the same items decoded before it`, () => {
        const corrupted = Buffer.from(source);
        for (const patch of run.patches) {
          expect(corrupted.toString('hex', patch.offset, patch.offset + patch.original_hex.length / 2)).to.equal(patch.original_hex);
          Buffer.from(patch.replacement_hex, 'hex').copy(corrupted, patch.offset);
        }
        expect(createHash('sha256').update(corrupted).digest('hex')).to.equal(run.corrupted_sha256);

        const log = readFileSync(join(corruptDir, run.output_file), 'utf8').split('\n');
        const errorLines = log.filter((l) => l.includes(' [ERR] ')).map((l) => l.replace(/^.*? \[ERR\] \[ *\d+\] /, ''));
        const summary = log.map((l) => /(\d+) UDF file\(s\), (\d+) secondary index\(es\), (\d+) record\(s\)/.exec(l)).find((m) => m !== null);
        expect(summary, 'the log has a summary line').to.not.equal(undefined);
        const where = /line (\d+), col (\d+)\)/.exec(errorLines[0])!;

        const { error, decoded } = decodeFailureChunks(chunksOf(corrupted, 64 * 1024), { file: 'test_00000.asb' });
        expect(error.logLines('backup-corrupted/test_00000.asb')).to.deep.equal(errorLines);
        expect([error.line, error.column]).to.deep.equal([Number(where[1]), Number(where[2])]);
        expect(error.line).to.equal(run.patches[0].line);
        expect([decoded.decoder.udfCount, decoded.decoder.indexCount, decoded.decoder.recordCount]).to.deep.equal(summary!.slice(1, 4).map(Number));
      });
    }
  });

  describe('compressed and encrypted backups read as plain text', () => {
    const cases: Array<[string, string, string]> = [
      ['c-zstd', 'asrestore-validate-without-compress-output.txt', '--compress zstd'],
      ['d1-aes128', 'asrestore-validate-without-encrypt-output.txt', '--encrypt'],
    ];
    for (const [caseName, logFile, hint] of cases) {
      it(`${caseName}: C's version-line error and hex dump, plus a hint naming ${hint}`, () => {
        const data = readFileSync(join(fixturesDir, caseName, 'backup', 'test_00000.asb'));
        const { error } = decodeFailureChunks(chunksOf(data, 64 * 1024), { file: 'backup/test_00000.asb' });
        const errorLines = readFileSync(join(fixturesDir, caseName, logFile), 'utf8')
          .split('\n')
          .filter((l) => l.includes(' [ERR] '))
          .map((l) => l.replace(/^.*? \[ERR\] \[ *\d+\] /, ''));
        expect(error.code).to.equal(AsbErrorCode.HEADER);
        const lines = error.logLines();
        expect(lines[0].startsWith(errorLines[0]), lines[0]).to.equal(true);
        expect(lines[0]).to.contain(hint);
        expect(lines.slice(1)).to.deep.equal(errorLines.slice(1));
      });
    }
  });
});
