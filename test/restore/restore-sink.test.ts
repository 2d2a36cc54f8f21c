/**
 * The restore's two ways of turning decoded records into batch rows must agree byte for byte:
 * rows written op by op while the decoder reads each record (AsbRowSink, what the restore runs)
 * and rows encoded from AsbRecord objects (the path of records whose bin names repeat). Both run
 * through RestoreSink on the same inputs, split into chunks at many places (a record that
 * straddles two chunks is begun again from its start), with every filter and policy that shapes a
 * row: --bin-list, --set-list, -n src,dst, --extra-ttl, expired records, generation policies.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsbDecoder } from '../../src/shared/asb/decoder.js';
import type { AsbSink } from '../../src/shared/asb/types.js';
import type { EncodedCommand } from '../../src/shared/aerospike/batch-command.js';
import { RestoreSink, type PendingItem } from '../../src/worker/restore-sink.js';
import type { RestoreRunSettings } from '../../src/worker/restore-task.js';
import { citrusleafNow, restoreWriteFlags, type WritePolicyOptions } from '../../src/worker/write-policy.js';
import { generateOneFile } from '../../scripts/lib/backup-generator.js';

interface Outcome {
  commands: { slot: number; rows: number; bytes: string; offsets: number[]; lines: number[] }[];
  total: number;
  expired: number;
  skipped: number;
  failure: string | null;
}

type SinkSettings = Pick<RestoreRunSettings, 'batchSize' | 'namespace' | 'setList' | 'binList' | 'extraTtl' | 'noRecords'> & {
  policy: WritePolicyOptions;
};

const DEFAULTS: SinkSettings = {
  batchSize: 7,
  namespace: null,
  setList: null,
  binList: null,
  extraTtl: 0,
  noRecords: false,
  policy: { unique: false, replace: false, noGeneration: false },
};

/** Routes by the digest's first byte over three nodes, and -1 (no node) for a few. */
/** One clock for both paths: TTLs are counted from it. */
const NOW = citrusleafNow();

const router = { routeOfDigest: (_namespace: Buffer, digest: Uint8Array) => (digest[0] % 5 === 4 ? -1 : digest[0] % 3) };

function commandOf(item: PendingItem): Outcome['commands'][number] {
  const command = (item as { command: EncodedCommand }).command;
  return {
    slot: command.slot,
    rows: command.rowCount,
    bytes: command.bytes.toString('hex'),
    offsets: [...command.rowOffsets],
    lines: [...command.lines],
  };
}

/** Decodes `input` cut into `chunks` through RestoreSink, as rows or (objects) as AsbRecords. */
function restoreInto(input: Buffer, cuts: number[], settings: SinkSettings, asObjects: boolean): Outcome {
  const run = { ...settings, totalTimeoutMs: 10_000, noIndexes: false, noUdfs: false } as unknown as RestoreRunSettings;
  const sink = new RestoreSink(run, 'sink-test.asb', router, restoreWriteFlags(settings.policy).batchRow);
  sink.now = NOW;
  // Without beginRecord the decoder builds AsbRecord objects and calls record().
  const objectSink: AsbSink = { record: (record) => sink.record(record), secondaryIndex: () => {}, udf: () => {} };
  const decoder = new AsbDecoder(asObjects ? objectSink : sink, {
    file: 'sink-test.asb',
    sourceNamespace: settings.namespace?.source,
    namespaceRemapped: settings.namespace?.target != null,
    transientInput: true,
  });
  const commands: Outcome['commands'] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    // A private copy, overwritten once written: nothing may be read from it later.
    const chunk = Buffer.from(input.subarray(from, cut));
    decoder.write(chunk);
    chunk.fill(0x3f);
    from = cut;
    // Rows are copied out as each slice's commands are handed on, as the task does.
    for (const item of sink.pending.splice(0)) if (item.kind === 'batch') commands.push(commandOf(item));
  }
  decoder.end();
  sink.cut();
  for (const item of sink.pending.splice(0)) if (item.kind === 'batch') commands.push(commandOf(item));
  return { commands, total: sink.total, expired: sink.expired, skipped: sink.skipped, failure: sink.failure?.message ?? null };
}

function expectSameRows(input: Buffer, cuts: number[], settings: SinkSettings): Outcome {
  const rows = restoreInto(input, cuts, settings, false);
  const objects = restoreInto(input, cuts, settings, true);
  // The first differing command first: a readable failure.
  const differs = rows.commands.findIndex((command, i) => JSON.stringify(command) !== JSON.stringify(objects.commands[i]));
  if (differs >= 0) expect(rows.commands[differs], `command ${differs}`).to.deep.equal(objects.commands[differs]);
  expect(rows).to.deep.equal(objects);
  return rows;
}

/** Hand-written records of every value kind, key kind and shape a row can take. */
const EDGE_CASES = Buffer.from(
  [
    'Version 3.1',
    '# namespace test',
    '+ k S 5 user1',
    '+ n test',
    '+ d RLS8rXzvIMWIg660pzJRuRaZiBU=',
    '+ s with\\ space',
    '+ g 65535',
    '+ t 0',
    '+ b 12',
    '- I big -9223372036854775808',
    '- I max 9223372036854775807',
    '- I n 42',
    '- D d -0.25',
    '- D e 1e+300',
    '- S s 11 Ivan\nMensah',
    '- G where 9 {"a":[1]}',
    '- Z t T',
    '- Z f F',
    '- N gone',
    '- X text 8 aGVsbG8=',
    '- S empty 0 ',
    '+ k I -1000',
    '+ n test',
    '+ d G6fzMnBINZcHSwxVxTMT7I3X+Bw=',
    '+ g 7',
    '+ t 600000000',
    '+ b 6',
    '- M prefs 12 k80CTmDMqA==',
    '- L list 12 k6EBoQKhAw==',
    '- B! raw 3 a\nb',
    '- B blob 4 AAE=',
    '- Y hll 4 AAE=',
    '- B inner 8 QQ==QUJD',
    '+ k D 2.5',
    '+ n test',
    '+ d pkxBzf+InuZmqgyzmbBgIIEMP4k=',
    '+ s set',
    '+ g 1',
    '+ t 400000000',
    '+ b 1',
    '- I expired 1',
    '+ k X 8 aGVsbG8=',
    '+ n test',
    '+ d 5yFpcoCVNECxTCuuB9uXjdxlnaA=',
    '+ s set',
    '+ g 1',
    '+ t 0',
    '+ b 0',
    '+ k B 4 AAE=',
    '+ n test',
    '+ d cYrN7r0I0NWA3zztC8XM8i+vg4M=',
    '+ g 3',
    '+ t 0',
    '+ b 4',
    '- I a 1',
    '- S b 1 x',
    '- I a 2',
    '- S x\\ b 1 y',
    '+ k B! 3 a\nb',
    '+ n test',
    '+ d cYrN7r0I0NWA3zztC8XM8i+vg4M=',
    '+ s other',
    '+ g 1',
    '+ t 0',
    '+ b 3',
    '- S b 2 xy',
    '- I keep 5',
    '- B blob 4 AAE=',
    '+ n test',
    '+ d RLS8rXzvIMWIg660pzJRuRaZiBU=',
    '+ g 2',
    '+ t 0',
    '+ b 2',
    '- S s 3 abc',
    '- S s 3 def',
    '',
  ].join('\n'),
);

function everyCut(input: Buffer): number[][] {
  const splits: number[][] = [[]];
  for (let at = 1; at < input.length; at++) splits.push([at]);
  return splits;
}

describe('restore sink: rows written while decoding equal rows encoded from records', () => {
  const settingsCases: [string, Partial<SinkSettings>][] = [
    ['defaults', {}],
    ['--bin-list', { binList: ['s', 'keep', 'blob', 'a', 'gone', 'inner'] }],
    ['--set-list', { setList: ['set', 'with space'] }],
    ['-n test,other', { namespace: { source: 'test', target: 'other' } }],
    ['--extra-ttl', { extraTtl: 100_000_000 }],
    ['-g (no generation) and -r', { policy: { unique: false, replace: true, noGeneration: true } }],
    ['--no-records', { noRecords: true }],
  ];

  for (const [title, overrides] of settingsCases) {
    it(`edge cases, cut at every byte: ${title}`, () => {
      const settings = { ...DEFAULTS, ...overrides };
      for (const cuts of everyCut(EDGE_CASES)) expectSameRows(EDGE_CASES, cuts, settings);
      const whole = expectSameRows(EDGE_CASES, [], settings);
      if (!settings.noRecords) expect(whole.total).to.equal(7);
    });
  }

  it('counts each outcome as the object path does: expired, skipped by set and by bins, written', () => {
    const outcome = expectSameRows(EDGE_CASES, [], { ...DEFAULTS, setList: ['set', 'other'], binList: ['keep'] });
    expect({ total: outcome.total, expired: outcome.expired, skipped: outcome.skipped }).to.deep.equal({ total: 7, expired: 1, skipped: 5 });
    expect(outcome.commands.reduce((rows, command) => rows + command.rows, 0)).to.equal(1);
  });

  it('a generated backup of every bin type, in 4 KiB and odd-sized chunks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'restore-sink-'));
    try {
      const file = join(dir, 'sink.asb');
      await generateOneFile({ singleFile: file, files: 1, records: 3000, seed: 11, mix: 'fixture', sindexes: 0, udfs: 0, expired: 0.05 }, 0);
      const input = readFileSync(file);
      const fourK = Array.from({ length: Math.floor(input.length / 4096) }, (_, i) => (i + 1) * 4096);
      const odd = Array.from({ length: Math.floor(input.length / 997) }, (_, i) => (i + 1) * 997);
      for (const batchSize of [1, 128]) {
        const outcome = expectSameRows(input, fourK, { ...DEFAULTS, batchSize });
        expect(outcome.total).to.equal(3000);
        expect(outcome.commands.length).to.be.greaterThan(0);
        expectSameRows(input, odd, { ...DEFAULTS, batchSize, binList: ['id', 'name', 'score', 'tags'] });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
