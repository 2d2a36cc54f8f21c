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
import { AsbDecodeError } from '../../src/shared/asb/errors.js';
import type { AsbSink } from '../../src/shared/asb/types.js';
import type { EncodedCommand } from '../../src/shared/aerospike/batch-command.js';
import { RestoreSink, type PendingItem } from '../../src/worker/restore-sink.js';
import { compileRecordRows } from '../../src/shared/asb/wasm/record-rows.js';
import type { RestoreRunSettings } from '../../src/worker/restore-task.js';
import { citrusleafNow, restoreWriteFlags, type WritePolicyOptions } from '../../src/worker/write-policy.js';
import { generateOneFile } from '../../scripts/lib/backup-generator.js';

interface Outcome {
  commands: { slot: number; rows: number; bytes: string; offsets: number[]; lines: number[] }[];
  total: number;
  expired: number;
  skipped: number;
  failure: string | null;
  /** The decoder's error, when the input has one. */
  decodeError?: string;
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

/** routeOfDigest for every partition at once (what WriteClient gives the WebAssembly tier). */
const routerWithOwners = {
  ...router,
  routingGeneration: 1,
  fillOwnerSlots(_namespace: Buffer, out: Uint16Array): void {
    for (let partition = 0; partition < out.length; partition++) out[partition] = router.routeOfDigest(_namespace, Uint8Array.of(partition & 0xff, partition >> 8)) + 1;
  },
};

/** How records reach RestoreSink: rows written while decoding, AsbRecord objects, or rows with the WebAssembly tier taking what it can. */
type Path = 'rows' | 'objects' | 'tier';

/** Records the WebAssembly tier took in the last 'tier' run. */
let tierRecords = 0;

interface SinkRun {
  sink: RestoreSink;
  decoder: AsbDecoder;
  commands: Outcome['commands'];
}

/** A RestoreSink and its decoder, set up for `path` (with 'tier', counting into {@link tierRecords}). */
function openRun(settings: SinkSettings, path: Path): SinkRun {
  const run = { ...settings, totalTimeoutMs: 10_000, noIndexes: false, noUdfs: false } as unknown as RestoreRunSettings;
  const sink = new RestoreSink(run, 'sink-test.asb', path === 'tier' ? routerWithOwners : router, restoreWriteFlags(settings.policy).batchRow);
  sink.now = NOW;
  // Without beginRecord the decoder builds AsbRecord objects and calls record().
  const objectSink: AsbSink = { record: (record) => sink.record(record), secondaryIndex: () => {}, udf: () => {} };
  const fast = path === 'tier' ? sink.fastRecords() : null;
  tierRecords = 0;
  const decoder = new AsbDecoder(path === 'objects' ? objectSink : sink, {
    file: 'sink-test.asb',
    sourceNamespace: settings.namespace?.source,
    namespaceRemapped: settings.namespace?.target != null,
    transientInput: true,
    fastRecords:
      fast === null
        ? null
        : {
            get records() {
              return fast.records;
            },
            get nextLine() {
              return fast.nextLine;
            },
            get inputEnded() {
              return fast.inputEnded;
            },
            take(b, p, end, line, namespace, serial) {
              const taken = fast.take(b, p, end, line, namespace, serial);
              tierRecords += fast.records;
              return taken;
            },
          },
  });
  return { sink, decoder, commands: [] };
}

/** Writes a private copy of `bytes` (overwritten afterwards: nothing may be read from it later), then copies out the commands handed on, as the task does per slice. */
function writeSlice(run: SinkRun, bytes: Buffer): void {
  const chunk = Buffer.from(bytes);
  run.decoder.write(chunk);
  chunk.fill(0x3f);
  handOn(run);
}

function handOn(run: SinkRun): void {
  for (const item of run.sink.pending.splice(0)) if (item.kind === 'batch') run.commands.push(commandOf(item));
}

/** The end of the input: partial commands handed on, the tier's memory given back. */
function finishRun(run: SinkRun, decodeError?: string): Outcome {
  const sink = run.sink;
  sink.cut();
  sink.close();
  handOn(run);
  const outcome: Outcome = { commands: run.commands, total: sink.total, expired: sink.expired, skipped: sink.skipped, failure: sink.failure?.message ?? null };
  if (decodeError !== undefined) outcome.decodeError = decodeError;
  return outcome;
}

/** Decodes `input` cut into `chunks` through RestoreSink along `path`. */
function restoreInto(input: Buffer, cuts: number[], settings: SinkSettings, path: Path): Outcome {
  const run = openRun(settings, path);
  let from = 0;
  let decodeError: string | undefined;
  try {
    for (const cut of [...cuts, input.length]) {
      writeSlice(run, input.subarray(from, cut));
      from = cut;
    }
    run.decoder.end();
  } catch (error) {
    if (!(error instanceof AsbDecodeError)) throw error;
    decodeError = `${error.message} [${error.logLines().join(' | ')}]`;
  }
  return finishRun(run, decodeError);
}

/** Offsets every `step` bytes of `input`. */
function cutsEvery(input: Buffer, step: number): number[] {
  return Array.from({ length: Math.floor(input.length / step) }, (_, i) => (i + 1) * step);
}

/** A generated one-file backup's bytes (its temporary folder removed). */
async function generatedBackup(records: number, seed: number, mix: 'fixture' | 'restore-bench'): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'restore-sink-'));
  try {
    const file = join(dir, 'sink.asb');
    await generateOneFile({ singleFile: file, files: 1, records, seed, mix, sindexes: 0, udfs: 0, expired: 0.05 }, 0);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Each node's rows, with the backup line of each, in line order, their index field (the position
 * in a command) zeroed: the WebAssembly tier fills commands of its own beside the TypeScript
 * path's, so rows may sit in other commands at other positions, but each must be the same.
 */
function rowsByNode(outcome: Outcome): Record<number, string[]> {
  const nodes: Record<number, { line: number; row: string }[]> = {};
  for (const command of outcome.commands) {
    for (let i = 0; i < command.rows; i++) {
      const row = command.bytes.slice(2 * command.offsets[i], 2 * command.offsets[i + 1]);
      (nodes[command.slot] ??= []).push({ line: command.lines[i], row: `${command.lines[i]}:00000000${row.slice(8)}` });
    }
  }
  const sorted: Record<number, string[]> = {};
  for (const [slot, rows] of Object.entries(nodes)) sorted[Number(slot)] = rows.sort((a, b) => a.line - b.line).map((r) => r.row);
  return sorted;
}

function expectSameRows(input: Buffer, cuts: number[], settings: SinkSettings): Outcome {
  const rows = restoreInto(input, cuts, settings, 'rows');
  const objects = restoreInto(input, cuts, settings, 'objects');
  // The first differing command first: a readable failure.
  const differs = rows.commands.findIndex((command, i) => JSON.stringify(command) !== JSON.stringify(objects.commands[i]));
  if (differs >= 0) expect(rows.commands[differs], `command ${differs}`).to.deep.equal(objects.commands[differs]);
  expect(rows).to.deep.equal(objects);
  const tier = restoreInto(input, cuts, settings, 'tier');
  expect({ ...tier, commands: rowsByNode(tier) }, 'with the WebAssembly tier').to.deep.equal({ ...rows, commands: rowsByNode(rows) });
  for (const command of tier.commands) expect(command.rows, 'rows per command').to.be.at.most(settings.batchSize);
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

/**
 * Records of the common shape the WebAssembly tier takes, and near misses it must leave to the
 * TypeScript decoder: value and name sizes at its limits, numbers at the edges of its exact
 * conversions, base64 padding, LFs inside values, a namespace change.
 */
const TIER_SHAPES = Buffer.from(
  [
    'Version 3.1',
    '# namespace test',
    '+ k S 5 first',
    '+ n test',
    '+ d RLS8rXzvIMWIg660pzJRuRaZiBU=',
    '+ s set',
    '+ g 1',
    '+ t 0',
    '+ b 1',
    '- I a 1',
    '+ k S 7 li\\ne\nx',
    '+ n test',
    '+ d G6fzMnBINZcHSwxVxTMT7I3X+Bw=',
    '+ s set',
    '+ g 65535',
    '+ t 600000000',
    '+ b 9',
    '- I i18 999999999999999999',
    '- I n18 -999999999999999999',
    '- I zero -0',
    '- D d15 123456789012.345',
    '- D d17 46.405999999999999',
    '- D d19 0.0030000000000000001',
    '- D neg -0.0',
    '- S lf 7 a\nb\n\ncd',
    '- S fourteen_chars 0 ',
    '+ k I -42',
    '+ n test',
    '+ d pkxBzf+InuZmqgyzmbBgIIEMP4k=',
    '+ g 2',
    '+ t 0',
    '+ b 7',
    '- B b3 4 AAEC',
    '- B b2 4 AAE=',
    '- B b1 4 AA==',
    '- L l 12 k6EBoQKhAw==',
    '- M m 12 k80CTmDMqA==',
    '- Y h 8 AAECAwQF',
    '- J j 0 ',
    '+ n test',
    '+ d 5yFpcoCVNECxTCuuB9uXjdxlnaA=',
    '+ s ' + 's'.repeat(63),
    '+ g 3',
    '+ t 400000000',
    '+ b 1',
    '- I expired 1',
    '+ n test',
    '+ d cYrN7r0I0NWA3zztC8XM8i+vg4M=',
    '+ g 3',
    '+ t 0',
    '+ b 5',
    '- I i19 1234567890123456789',
    '- D d20 0.12345678901234567890',
    '- D exp 1e5',
    '- I fifteen_chars_ 1',
    '- B inner 8 QQ==QUJD',
    // Values the module reads 16 bytes at a time: strings with LFs past the first 16 bytes, base64
    // of whole and partial blocks, names of every length up to the largest.
    '+ n test',
    '+ d pkxBzf+InuZmqgyzmbBgIIEMP4k=',
    '+ g 4',
    '+ t 0',
    '+ b 9',
    '- S s17 17 0123456789abcdef\n',
    '- S s40 40 0123456789abcdefghij\nklmnopqrstuvw\nxyz01',
    '- B b16 16 QUJDREVGR0hJSktM',
    '- B b36 36 QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVow',
    '- B b36pad 36 QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=',
    '- I ab 1',
    '- I abc 2',
    '- I abcdefghijklm 3',
    '- I abcdefghijklmn 4',
    // A set that is not ASCII (--set-list compares it as UTF-8 text).
    '+ n test',
    '+ d G6fzMnBINZcHSwxVxTMT7I3X+Bw=',
    '+ s sé',
    '+ g 6',
    '+ t 0',
    '+ b 2',
    '- I accented 1',
    '- I é 2',
    // Bytes keys (base64, one across a block of 16), bools, GeoJSON with an LF in it and empty.
    '+ k B 8 AAECAwQ=',
    '+ n test',
    '+ d 5yFpcoCVNECxTCuuB9uXjdxlnaA=',
    '+ g 7',
    '+ t 0',
    '+ b 6',
    '- Z yes T',
    '- N gone',
    '- Z no F',
    '- G where 39 {"type":"Point",\n"coordinates":[1.5,2]}',
    '- G empty 0 ',
    '- S after 1 x',
    '+ k B 24 AAECAwQFBgcICQoLDA0ODw==',
    '+ n test',
    '+ d cYrN7r0I0NWA3zztC8XM8i+vg4M=',
    '+ g 8',
    '+ t 0',
    '+ b 1',
    '- Z t T',
    // Near misses: a compact bytes key, an empty one, a bool C reads up to a NUL.
    '+ k B! 3 abc',
    '+ n test',
    '+ d RLS8rXzvIMWIg660pzJRuRaZiBU=',
    '+ g 9',
    '+ t 0',
    '+ b 1',
    '- I k 1',
    '+ k B 0 ',
    '+ n test',
    '+ d G6fzMnBINZcHSwxVxTMT7I3X+Bw=',
    '+ g 9',
    '+ t 0',
    '+ b 1',
    '- I k 2',
    '+ n test',
    '+ d pkxBzf+InuZmqgyzmbBgIIEMP4k=',
    '+ g 9',
    '+ t 0',
    '+ b 1',
    '- Z nul T\0',
    // Near misses: '=' inside a block of 16; an escaped name; a name repeated after a longer one
    // that starts like it.
    '+ n test',
    '+ d cYrN7r0I0NWA3zztC8XM8i+vg4M=',
    '+ g 5',
    '+ t 0',
    '+ b 1',
    '- B b20eq 20 QUJDQQ==QUJDQUJDQUJD',
    '+ n test',
    '+ d G6fzMnBINZcHSwxVxTMT7I3X+Bw=',
    '+ g 5',
    '+ t 0',
    '+ b 1',
    // the name is 'x 3' (value 'z'); read up to the space it would be 'x\\' (value '1 z')
    '- S x\\ 3 1 z',
    '+ n test',
    '+ d 5yFpcoCVNECxTCuuB9uXjdxlnaA=',
    '+ g 6',
    '+ t 0',
    '+ b 3',
    '- I ab 1',
    '- I abc 2',
    '- I ab 3',
    '+ n other',
    '+ d RLS8rXzvIMWIg660pzJRuRaZiBU=',
    '+ g 1',
    '+ t 0',
    '+ b 1',
    '- I ns 1',
    '+ n other',
    '+ d G6fzMnBINZcHSwxVxTMT7I3X+Bw=',
    '+ g 1',
    '+ t 0',
    '+ b 2',
    '- I ns 2',
    '- S s 3 abc',
    '',
  ].join('\n'),
);

/** Then an error: the decoder reports it, with C's message, after the records the tier took. */
const TIER_SHAPES_THEN_ERROR = Buffer.concat([
  TIER_SHAPES,
  Buffer.from(['+ n test', '+ d pkxBzf+InuZmqgyzmbBgIIEMP4k=', '+ g 65536', '+ t 0', '+ b 1', '- I gen 1', ''].join('\n')),
]);

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

  for (const [title, overrides] of [
    ['defaults', {}],
    ['-n test,other', { namespace: { source: 'test', target: 'other' } }],
    ['--extra-ttl, batches of 2', { extraTtl: 100_000_000, batchSize: 2 }],
    ['-g (no generation) and -r', { policy: { unique: false, replace: true, noGeneration: true } }],
    ['-u', { policy: { unique: true, replace: false, noGeneration: false } }],
    ['--set-list', { setList: ['set', 'sé', 's'.repeat(70)] }],
    ['--set-list of one long set', { setList: ['s'.repeat(63)] }],
    ['--bin-list', { binList: ['a', 'i18', 'lf', 'fourteen_chars', 'abc', 'yes', 'gone', 'where', 'accented', 'é', 'b'.repeat(20)] }],
    ['--bin-list and --set-list', { binList: ['i', 'b16', 'ab', 'ns'], setList: ['set', 'other'] }],
  ] as [string, Partial<SinkSettings>][]) {
    it(`records of the WebAssembly tier's shape and its near misses, cut at every byte: ${title}`, () => {
      const settings = { ...DEFAULTS, ...overrides };
      for (const cuts of everyCut(TIER_SHAPES)) expectSameRows(TIER_SHAPES, cuts, settings);
      expectSameRows(TIER_SHAPES, [], settings);
      for (const cuts of everyCut(TIER_SHAPES_THEN_ERROR).filter((_, i) => i % 7 === 0)) {
        const expected = settings.namespace === null ? /Invalid generation count 65536/ : /Invalid namespace other in backup record/;
        expect(expectSameRows(TIER_SHAPES_THEN_ERROR, cuts, settings).decodeError).to.match(expected);
      }
      // -n test,other fails at the first record of namespace other; the tier takes records before it either way.
      expect(tierRecords, 'records the tier took').to.be.at.least(2);
    });
  }

  it('the WebAssembly tier takes every record of its shapes in one piece, and leaves the near misses', () => {
    expectSameRows(TIER_SHAPES, [], DEFAULTS);
    // 8 of 17: not the first record (it sets the namespace), the one with a 19-digit integer, the
    // near misses (a compact and an empty bytes key, a bool read up to a NUL, '=' inside a block,
    // an escaped name, a repeated name), nor the first of namespace other (the namespace changes
    // there); the second of namespace other it takes.
    expect(tierRecords, 'records the tier took').to.equal(8);
  });

  it('two files decoded in turns on one thread (one WebAssembly module, a tier each): each gets its own rows', async () => {
    const data = await Promise.all([21, 22].map((seed) => generatedBackup(1500, seed, 'restore-bench')));
    const settings: SinkSettings[] = [
      { ...DEFAULTS, batchSize: 128 },
      { ...DEFAULTS, batchSize: 64, extraTtl: 50_000_000, namespace: { source: 'test', target: 'restored' }, policy: { unique: false, replace: true, noGeneration: true } },
    ];
    const runs = settings.map((one) => openRun(one, 'tier'));
    const slice = 65536;
    for (let at = 0; at < Math.max(data[0].length, data[1].length); at += slice) {
      for (let i = 0; i < 2; i++) if (at < data[i].length) writeSlice(runs[i], data[i].subarray(at, at + slice));
    }
    for (let i = 0; i < 2; i++) {
      runs[i].decoder.end();
      const turns = finishRun(runs[i]);
      const alone = restoreInto(data[i], cutsEvery(data[i], slice), settings[i], 'rows');
      expect({ ...turns, commands: rowsByNode(turns) }, `file ${i + 1}`).to.deep.equal({ ...alone, commands: rowsByNode(alone) });
      expect(turns.total).to.equal(1500);
    }
  });

  it("records near the WebAssembly tier's largest row (128 KiB) and past it: regions cut early, larger rows left to the TypeScript path", () => {
    const bigRecord = (digest: string, bytes: number, bins: number) =>
      [
        '+ n test',
        `+ d ${digest}`,
        '+ s big',
        '+ g 1',
        '+ t 0',
        `+ b ${bins}`,
        `- S s ${bytes} ${'x'.repeat(bytes)}`,
        ...Array.from({ length: bins - 1 }, (_, i) => `- I i${i} ${i * 1_000_000_007}`),
      ].join('\n');
    const input = Buffer.from(
      [
        'Version 3.1',
        '# namespace test',
        bigRecord('RLS8rXzvIMWIg660pzJRuRaZiBU=', 10, 1),
        bigRecord('G6fzMnBINZcHSwxVxTMT7I3X+Bw=', 100_000, 2),
        bigRecord('pkxBzf+InuZmqgyzmbBgIIEMP4k=', 60_000, 64),
        bigRecord('5yFpcoCVNECxTCuuB9uXjdxlnaA=', 131_000, 1),
        bigRecord('cYrN7r0I0NWA3zztC8XM8i+vg4M=', 131_072 - 200, 64),
        bigRecord('RLS8rXzvIMWIg660pzJRuRaZiBU=', 90_000, 3),
        '',
      ].join('\n'),
    );
    for (const cuts of [[], [70_000], [100_000, 200_000, 300_000], [150_000, 400_000]]) {
      const outcome = expectSameRows(input, cuts, { ...DEFAULTS, batchSize: 128 });
      expect(outcome.total).to.equal(6);
    }
    expect(tierRecords, 'records the tier took').to.be.at.least(3);
  });

  it('counts each outcome as the object path does: expired, skipped by set and by bins, written', () => {
    const outcome = expectSameRows(EDGE_CASES, [], { ...DEFAULTS, setList: ['set', 'other'], binList: ['keep'] });
    expect({ total: outcome.total, expired: outcome.expired, skipped: outcome.skipped }).to.deep.equal({ total: 7, expired: 1, skipped: 5 });
    expect(outcome.commands.reduce((rows, command) => rows + command.rows, 0)).to.equal(1);
  });

  it('a generated backup of every bin type, in 4 KiB and odd-sized chunks', async () => {
    const input = await generatedBackup(3000, 11, 'fixture');
    for (const batchSize of [1, 128]) {
      const outcome = expectSameRows(input, cutsEvery(input, 4096), { ...DEFAULTS, batchSize });
      expect(outcome.total).to.equal(3000);
      expect(outcome.commands.length).to.be.greaterThan(0);
      expectSameRows(input, cutsEvery(input, 997), { ...DEFAULTS, batchSize, binList: ['id', 'name', 'score', 'tags'] });
    }
  });

  it('a generated backup of the benchmark mix: the WebAssembly tier takes nearly every record, rows unchanged', async () => {
    const input = await generatedBackup(4000, 12, 'restore-bench');
    const slices = cutsEvery(input, 131072);
    for (const [cuts, settings] of [
      [slices, DEFAULTS],
      [cutsEvery(input, 9973), { ...DEFAULTS, batchSize: 128 }],
      [slices, { ...DEFAULTS, batchSize: 128, extraTtl: 50_000_000, namespace: { source: 'test', target: 'restored' } }],
    ] as [number[], SinkSettings][]) {
      const outcome = expectSameRows(input, cuts, settings);
      expect(outcome.total).to.equal(4000);
      // All but the first record (it sets the namespace), those cut in two by a chunk boundary included.
      expect(tierRecords, 'records the tier took').to.equal(3999);
    }
  });

  it('compiling the WebAssembly module: an engine that cannot (no SIMD) gets no module rather than an error', () => {
    // A module header followed by a byte that is no section: what an engine without SIMD makes of the tier's code.
    expect(compileRecordRows(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xff]))).to.equal(null);
    const built = readFileSync(new URL('../../src/shared/asb/wasm/record-rows.wasm', import.meta.url));
    expect(compileRecordRows(built)).to.be.instanceOf(WebAssembly.Module);
  });
});
