import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Counters } from '../../src/shared/counters.js';
import { formatLogLine, formatLogTime, hexDumpLines, systemErrorSuffix } from '../../src/main/log.js';
import {
  ProgressReporter,
  estimateRemainingSeconds,
  formatCounterMessages,
  formatEta,
  formatMachineSummary,
  percentComplete,
} from '../../src/main/progress.js';
import { describeIfExists, fixturesDir } from '../support/paths.js';

function countersWith(values: Partial<Record<keyof typeof Counter, number>>): number[] {
  const c = new Array<number>(32).fill(0);
  for (const [name, value] of Object.entries(values)) c[Counter[name as keyof typeof Counter]] = value!;
  return c;
}

describe('cli: log line format', () => {
  it('prints the C prefix: UTC time, GMT, tag, thread id mod 100000 right-aligned in 5 columns', () => {
    const date = new Date(Date.UTC(2026, 10, 3, 4, 5, 6));
    expect(formatLogTime(date)).to.equal('2026-11-03 04:05:06 GMT ');
    expect(formatLogLine('INF', 'Starting validation of backup', date, 2710)).to.equal(
      '2026-11-03 04:05:06 GMT [INF] [ 2710] Starting validation of backup\n',
    );
    expect(formatLogLine('ERR', 'x', date, 123456)).to.equal('2026-11-03 04:05:06 GMT [ERR] [23456] x\n');
    expect(formatLogLine('VER', 'y', date, 7)).to.equal('2026-11-03 04:05:06 GMT [VER] [    7] y\n');
  });

  it('formats a hex dump as C hex_dump (13 bytes of a zstd frame, from the fixture output)', () => {
    const bytes = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x34, 0x04, 0x05, 0x0e, 0xc3, 0x87, 0x00]);
    expect(hexDumpLines(bytes)).to.deep.equal(['0000 28 b5 2f fd 00 58 34 04 05 0e c3 87 00          (./..X4......']);
    const twenty = Buffer.from('0123456789abcdefXYZ\n');
    expect(hexDumpLines(twenty)).to.deep.equal([
      '0000 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 0123456789abcdef',
      '0010 58 59 5a 0a                                     XYZ.',
    ]);
  });

  it('appends errno and glibc strerror text like err_code', () => {
    const e = Object.assign(new Error('x'), { code: 'ENOENT', errno: -2 });
    expect(systemErrorSuffix(e)).to.equal(' (error 2: No such file or directory)');
    expect(systemErrorSuffix(new Error('plain'))).to.equal('');
  });
});

describe('cli: ETA, percent and counter lines', () => {
  it('formats ETAs as C format_eta', () => {
    expect(formatEta(0)).to.equal('0s');
    expect(formatEta(-5)).to.equal('0s');
    expect(formatEta(59)).to.equal('59s');
    expect(formatEta(303)).to.equal('5m3s');
    expect(formatEta(3600)).to.equal('1h0m0s');
    expect(formatEta(86400 + 4 * 3600 + 6 * 60 + 38)).to.equal('1d4h6m38s');
    expect(formatEta(86400 + 5)).to.equal('1d0h0m5s');
    expect(formatEta(100 * 86400)).to.equal('100d0h0m0s');
    expect(formatEta(100 * 86400 + 1)).to.equal('>100d');
  });

  it('computes percent and ETA with C integer arithmetic', () => {
    expect(percentComplete(0, 10)).to.equal(-1);
    expect(percentComplete(709015, 383301)).to.equal(54);
    expect(percentComplete(100, 100)).to.equal(100);
    expect(estimateRemainingSeconds(1000, 500, 0, 1000)).to.equal(-1);
    expect(estimateRemainingSeconds(0, 500, 10, 1000)).to.equal(-1);
    // 500 bytes left at 100 bytes per 1000 ms = 5 s
    expect(estimateRemainingSeconds(1000, 500, 100, 1000)).to.equal(5);
    // read past the estimate: 0, not a wrapped value
    expect(estimateRemainingSeconds(1000, 1500, 100, 1000)).to.equal(0);
    // exact for large values
    expect(estimateRemainingSeconds(2 ** 52, 0, 1, 10_000)).to.equal(2147483647);
  });

  it('prints the three counter lines with their irregular spaces', () => {
    const c = countersWith({ UDFS: 2, INDEXES: 11, RECORDS_TOTAL: 1894, BYTES_READ: 709015, BYTES_ESTIMATED: 709015, RECORDS_INSERTED: 1894 });
    const lines = formatCounterMessages({ counters: c, intervalRecords: 1894, intervalBytes: 709015, intervalMs: 51 });
    expect(lines).to.deep.equal([
      '2 UDF file(s), 11 secondary index(es), 1894 record(s) (37137 rec/s, 13576 KiB/s, 374 B/rec, retries: 0)',
      'Expired 0 : skipped 0 : err_ignored 0 : inserted 1894: failed 0 (existed 0 , fresher 0)',
      '100% complete, ~0s remaining',
    ]);
  });

  it('sums existed and fresher into failed, shows retries', () => {
    const c = countersWith({ RECORDS_EXPIRED: 1, RECORDS_SKIPPED: 2, RECORDS_IGNORED: 3, RECORDS_INSERTED: 4, RECORDS_EXISTED: 5, RECORDS_FRESHER: 6, RETRIES: 7 });
    const lines = formatCounterMessages({ counters: c, intervalRecords: 0, intervalBytes: 0, intervalMs: 0 });
    expect(lines).to.deep.equal([
      '0 UDF file(s), 0 secondary index(es), 0 record(s) (0 rec/s, 0 KiB/s, 0 B/rec, retries: 7)',
      'Expired 1 : skipped 2 : err_ignored 3 : inserted 4: failed 11 (existed 5 , fresher 6)',
    ]);
  });

  it('leaves the percent line out when nothing was read in the interval (as C does after a failed open)', () => {
    const c = countersWith({ BYTES_ESTIMATED: 709031 });
    expect(formatCounterMessages({ counters: c, intervalRecords: 0, intervalBytes: 0, intervalMs: 3 })).to.have.length(2);
  });

  it('writes the machine summary with the space before the 7th colon', () => {
    const c = countersWith({ UDFS: 2, INDEXES: 11, RECORDS_TOTAL: 1894, RECORDS_EXPIRED: 1, RECORDS_SKIPPED: 2, RECORDS_IGNORED: 3, RECORDS_INSERTED: 1888, RECORDS_EXISTED: 4, RECORDS_FRESHER: 5 });
    expect(formatMachineSummary(c)).to.equal('SUMMARY:2:11:1894:1:2:3 :1888:4:5\n');
  });
});

describeIfExists(fixturesDir, 'cli: counter lines reproduce the real asrestore outputs', () => {
  const linePattern = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT \[INF\] \[[ \d]{5}\] (\d+) UDF file\(s\), (\d+) secondary index\(es\), (\d+) record\(s\) \((\d+) rec\/s, (\d+) KiB\/s, (\d+) B\/rec, retries: (\d+)\)$/;

  it('the Expired line of every fixture output is exactly ours for the same counters', () => {
    let checked = 0;
    for (const entry of readdirSync(fixturesDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      for (const sub of ['', 'validate-corrupt']) {
        const dir = join(fixturesDir, entry.name, sub);
        if (!existsSync(dir)) continue;
        for (const name of readdirSync(dir).filter((n) => /^asrestore.*-output\.txt$/.test(n))) {
          const lines = readFileSync(join(dir, name), 'utf8').split('\n');
          for (let i = 0; i < lines.length; i++) {
            const m = linePattern.exec(lines[i]);
            if (!m) continue;
            const body = (line: string): string => line.replace(/^.*? GMT \[[A-Z]{3}\] \[[ \d]{5}\] /, '');
            const expired = body(lines[i + 1]);
            const inserted = /inserted (\d+):/.exec(expired)![1];
            const c = countersWith({ UDFS: +m[1], INDEXES: +m[2], RECORDS_TOTAL: +m[3], RETRIES: +m[7], RECORDS_INSERTED: +inserted });
            const ours = formatCounterMessages({ counters: c, intervalRecords: 0, intervalBytes: 0, intervalMs: 0 });
            expect(ours[1]).to.equal(expired);
            // The rate fields depend on timing we do not have; the rest of the first line must match.
            const first = ours[0].replace(/\(\d+ rec\/s, \d+ KiB\/s, \d+ B\/rec/, `(${m[4]} rec/s, ${m[5]} KiB/s, ${m[6]} B/rec`);
            expect(first).to.equal(body(lines[i]));
            checked++;
          }
        }
      }
    }
    expect(checked).to.be.greaterThan(20);
  });

  it('the rates of a fixture line follow from C integer arithmetic', () => {
    // a-default restore: 1894 records, 709015 bytes; 51 ms gives the printed 37137 rec/s, 13576 KiB/s.
    const c = countersWith({ UDFS: 2, INDEXES: 11, RECORDS_TOTAL: 1894 });
    const [first] = formatCounterMessages({ counters: c, intervalRecords: 1894, intervalBytes: 709015, intervalMs: 51 });
    const fixture = readFileSync(join(fixturesDir, 'a-default', 'asrestore-output.txt'), 'utf8');
    expect(fixture).to.include(first);
  });
});

describe('cli: ProgressReporter schedule and --machine file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'asrestore-progress-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints on the first tick, every 10th tick and at the end; machine lines every tick; summary last', () => {
    const counters = new Counters();
    counters.set(Counter.BYTES_ESTIMATED, 10_000);
    let now = 0;
    const printed: string[] = [];
    const machinePath = join(dir, 'machine.txt');
    const reporter = new ProgressReporter({ counters, machinePath, tickMs: 0, clock: () => now, print: (m) => printed.push(m) });
    reporter.start();
    for (let tick = 1; tick <= 12; tick++) {
      now = tick * 1000;
      counters.add(Counter.BYTES_READ, 500);
      counters.add(Counter.RECORDS_TOTAL, 5);
      reporter.tick(false);
    }
    now = 12_500;
    counters.add(Counter.BYTES_READ, 4000);
    counters.add(Counter.RECORDS_TOTAL, 40);
    reporter.finish();
    // prints at tick 1 (first), tick 11 (10th after), and the final one: 3 x 3 lines
    expect(printed).to.have.length(9);
    expect(printed[0]).to.equal('0 UDF file(s), 0 secondary index(es), 5 record(s) (5 rec/s, 0 KiB/s, 100 B/rec, retries: 0)');
    expect(printed[2]).to.equal('5% complete, ~19s remaining');
    // tick 11: 50 records and 5000 bytes in 10000 ms
    expect(printed[3]).to.equal('0 UDF file(s), 0 secondary index(es), 55 record(s) (5 rec/s, 0 KiB/s, 100 B/rec, retries: 0)');
    expect(printed[5]).to.equal('55% complete, ~9s remaining');
    // final: 45 records, 4500 bytes in 1500 ms
    expect(printed[6]).to.equal('0 UDF file(s), 0 secondary index(es), 100 record(s) (30 rec/s, 2 KiB/s, 100 B/rec, retries: 0)');
    expect(printed[8]).to.equal('100% complete, ~0s remaining');
    const machine = readFileSync(machinePath, 'utf8').split('\n');
    expect(machine.slice(0, 4)).to.deep.equal(['PROGRESS:5', 'REMAINING:19s', 'PROGRESS:10', 'REMAINING:18s']);
    expect(machine.filter((l) => l.startsWith('PROGRESS:'))).to.have.length(13);
    expect(machine.at(-3)).to.equal('REMAINING:0s');
    expect(machine.at(-2)).to.equal('SUMMARY:0:0:100:0:0:0 :0:0:0');
    expect(machine.at(-1)).to.equal('');
    reporter.finish();
    expect(printed).to.have.length(9);
  });

  it('appends to an existing machine file and reports one that cannot be opened', () => {
    const machinePath = join(dir, 'm.txt');
    for (let run = 0; run < 2; run++) {
      const reporter = new ProgressReporter({ counters: new Counters(), machinePath, tickMs: 0, print: () => {} });
      reporter.start();
      reporter.finish();
    }
    expect(readFileSync(machinePath, 'utf8')).to.equal('SUMMARY:0:0:0:0:0:0 :0:0:0\nSUMMARY:0:0:0:0:0:0 :0:0:0\n');
    const bad = new ProgressReporter({ counters: new Counters(), machinePath: join(dir, 'no', 'such', 'm.txt'), tickMs: 0 });
    expect(() => bad.openMachineFile()).to.throw(/Error while opening machine-readable file .*m\.txt \(error 2: No such file or directory\)/);
  });

  it('runs the 1-second timer by itself', async () => {
    const printed: string[] = [];
    const reporter = new ProgressReporter({ counters: new Counters(), tickMs: 20, print: (m) => printed.push(m) });
    reporter.start();
    await new Promise((r) => setTimeout(r, 90));
    reporter.finish();
    // first tick prints, later ticks before the 10th do not, finish prints
    expect(printed).to.have.length(4);
  });
});
