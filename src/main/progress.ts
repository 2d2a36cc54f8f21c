/**
 * The run's progress report, in the exact formats of C asrestore's counter thread
 * (restore.c `counter_thread_func`): every second a tick; on the first tick, every 10th tick and
 * the last one, three INF lines (counts and rates since the previous print, outcome counters,
 * percent and ETA); with `--machine PATH`, `PROGRESS:`/`REMAINING:` lines every tick and one
 * `SUMMARY:` line at the end, each written straight to the file (opened in append mode).
 *
 * Everything reads the shared counters (src/shared/counters.ts), so validate and restore share it.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Counter, Counters } from '../shared/counters.js';
import { AsrestoreError } from '../shared/errors.js';
import { errCode, inf, systemErrorSuffix } from './log.js';

/**
 * C `format_eta`: `>100d` above 100 days; otherwise d/h/m/s with leading zero units left out and
 * every unit after the first printed one kept (`1d0h0m5s`), seconds always printed (`0s`).
 * Negative values print as `0s`.
 */
export function formatEta(seconds: number): string {
  if (seconds > 100 * 86400) return '>100d';
  let rest = seconds < 0 ? 0 : Math.trunc(seconds);
  const divisors = [86400, 3600, 60, 1];
  const labels = ['d', 'h', 'm', 's'];
  let out = '';
  for (let i = 0; i < 4; i++) {
    const value = Math.trunc(rest / divisors[i]);
    if (value === 0 && out === '' && i < 3) continue;
    rest -= value * divisors[i];
    out += value + labels[i];
  }
  return out;
}

/**
 * Seconds left at the rate of the last interval, C's
 * `(estimated - read) * ms / bytes_in_interval / 1000` in 64-bit integer arithmetic; -1 when there
 * is no estimate or nothing was read in the interval. Reading past the estimate (a `-:<size>` hint
 * too small) gives 0 where C's unsigned subtraction would wrap.
 */
export function estimateRemainingSeconds(estimatedBytes: number, bytesRead: number, intervalBytes: number, intervalMs: number): number {
  if (intervalBytes <= 0 || estimatedBytes <= 0) return -1;
  const left = estimatedBytes > bytesRead ? BigInt(estimatedBytes - bytesRead) : 0n;
  const seconds = (left * BigInt(Math.max(0, Math.trunc(intervalMs)))) / BigInt(intervalBytes) / 1000n;
  return seconds > 2147483647n ? 2147483647 : Number(seconds);
}

/** Percent of the estimate read, C's integer `read * 100 / estimated`; -1 without an estimate. */
export function percentComplete(estimatedBytes: number, bytesRead: number): number {
  if (estimatedBytes <= 0) return -1;
  return Number((BigInt(bytesRead) * 100n) / BigInt(estimatedBytes));
}

/** What one print of the three INF lines needs: current counters and what changed since the last print. */
export interface ProgressSample {
  /** A Counters.snapshot(). */
  counters: readonly number[];
  /** Records decoded since the previous print. */
  intervalRecords: number;
  /** Bytes read since the previous print. */
  intervalBytes: number;
  /** Milliseconds since the previous print. */
  intervalMs: number;
}

function div(a: bigint, b: bigint): bigint {
  return b === 0n ? 0n : a / b;
}

/** The two or three INF messages (without the log prefix) of one counter print. */
export function formatCounterMessages(sample: ProgressSample): string[] {
  const c = sample.counters;
  const ms = BigInt(Math.max(0, Math.trunc(sample.intervalMs)));
  const records = BigInt(Math.max(0, sample.intervalRecords));
  const bytes = BigInt(Math.max(0, sample.intervalBytes));
  const recPerSec = ms === 0n ? 0n : (records * 1000n) / ms;
  const kibPerSec = ms === 0n ? 0n : (bytes * 1000n) / 1024n / ms;
  const bytesPerRecord = div(bytes, records);
  const lines = [
    `${c[Counter.UDFS]} UDF file(s), ${c[Counter.INDEXES]} secondary index(es), ${c[Counter.RECORDS_TOTAL]} record(s) ` +
      `(${recPerSec} rec/s, ${kibPerSec} KiB/s, ${bytesPerRecord} B/rec, retries: ${c[Counter.RETRIES]})`,
    `Expired ${c[Counter.RECORDS_EXPIRED]} : skipped ${c[Counter.RECORDS_SKIPPED]} : err_ignored ${c[Counter.RECORDS_IGNORED]} ` +
      `: inserted ${c[Counter.RECORDS_INSERTED]}: failed ${c[Counter.RECORDS_EXISTED] + c[Counter.RECORDS_FRESHER]} ` +
      `(existed ${c[Counter.RECORDS_EXISTED]} , fresher ${c[Counter.RECORDS_FRESHER]})`,
  ];
  const percent = percentComplete(c[Counter.BYTES_ESTIMATED], c[Counter.BYTES_READ]);
  const eta = estimateRemainingSeconds(c[Counter.BYTES_ESTIMATED], c[Counter.BYTES_READ], sample.intervalBytes, sample.intervalMs);
  if (percent >= 0 && eta >= 0) lines.push(`${percent}% complete, ~${formatEta(eta)} remaining`);
  return lines;
}

/** The `--machine` summary; the space before the 7th colon is C's. */
export function formatMachineSummary(c: readonly number[]): string {
  return (
    `SUMMARY:${c[Counter.UDFS]}:${c[Counter.INDEXES]}:${c[Counter.RECORDS_TOTAL]}:${c[Counter.RECORDS_EXPIRED]}:` +
    `${c[Counter.RECORDS_SKIPPED]}:${c[Counter.RECORDS_IGNORED]} :${c[Counter.RECORDS_INSERTED]}:` +
    `${c[Counter.RECORDS_EXISTED]}:${c[Counter.RECORDS_FRESHER]}\n`
  );
}

function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}

export interface ProgressReporterOptions {
  counters: Counters;
  /** `--machine` path, opened in append mode by start(). */
  machinePath?: string | null;
  /** Milliseconds between ticks (1000 in a run; tests pass their own clock and call tick()). */
  tickMs?: number;
  /** Monotonic milliseconds. */
  clock?: () => number;
  /** Receives each INF message (default: the INF log line on stderr). */
  print?: (message: string) => void;
  /** Called once per tick after the lines are out, e.g. by throttling. */
  onTick?: (elapsedMs: number) => void;
}

/**
 * Owns the 1-second timer. start() opens the machine file (throws AsrestoreError 'MACHINE_FILE'
 * if it cannot) and arms the timer; finish() runs the last tick and writes the summary.
 */
export class ProgressReporter {
  private readonly counters: Counters;
  private readonly clock: () => number;
  private readonly print: (message: string) => void;
  private readonly tickMs: number;
  private readonly machinePath: string | null;
  private readonly onTick?: (elapsedMs: number) => void;
  private machineFd: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private iteration = 0;
  private finished = false;
  private prevMs = 0;
  private printPrevMs = 0;
  private prevBytes = 0;
  private prevRecords = 0;
  private machinePrevBytes = 0;

  constructor(options: ProgressReporterOptions) {
    this.counters = options.counters;
    // process.hrtime, not performance.now(): the first use of `performance` loads perf_hooks (about
    // 1.5 ms of CPU), for a clock this reporter only takes differences of.
    this.clock = options.clock ?? monotonicMs;
    this.print = options.print ?? inf;
    this.tickMs = options.tickMs ?? 1000;
    this.machinePath = options.machinePath ?? null;
    this.onTick = options.onTick;
  }

  /** Opens the machine file; call before any work so its failure stops the run (as in C). */
  openMachineFile(): void {
    if (this.machinePath === null || this.machineFd !== null) return;
    try {
      this.machineFd = openSync(this.machinePath, 'a');
    } catch (error) {
      throw new AsrestoreError(
        'MACHINE_FILE',
        `Error while opening machine-readable file ${this.machinePath}${systemErrorSuffix(error)}`,
        { file: this.machinePath },
        { cause: error },
      );
    }
  }

  start(): void {
    this.openMachineFile();
    const now = this.clock();
    this.prevMs = now;
    this.printPrevMs = now;
    this.prevBytes = this.counters.get(Counter.BYTES_READ);
    this.machinePrevBytes = this.prevBytes;
    this.prevRecords = this.counters.get(Counter.RECORDS_TOTAL);
    if (this.tickMs > 0) {
      this.timer = setInterval(() => this.tick(false), this.tickMs);
      this.timer.unref();
    }
  }

  /** One wake of the counter thread. `last` = the run has finished. */
  tick(last: boolean): void {
    if (this.finished) return;
    const nowMs = this.clock();
    const sinceTickMs = nowMs - this.prevMs;
    this.prevMs = nowMs;
    const snapshot = this.counters.snapshot();
    const nowBytes = snapshot[Counter.BYTES_READ];
    const nowRecords = snapshot[Counter.RECORDS_TOTAL];
    const estimated = snapshot[Counter.BYTES_ESTIMATED];
    const percent = percentComplete(estimated, nowBytes);

    if (last || this.iteration++ % 10 === 0) {
      const intervalMs = Math.trunc(nowMs - this.printPrevMs);
      this.printPrevMs = nowMs;
      for (const message of formatCounterMessages({
        counters: snapshot,
        intervalRecords: nowRecords - this.prevRecords,
        intervalBytes: nowBytes - this.prevBytes,
        intervalMs,
      })) {
        this.print(message);
      }
      this.prevBytes = nowBytes;
      this.prevRecords = nowRecords;
    }

    if (this.machineFd !== null) {
      if (percent >= 0) this.writeMachine(`PROGRESS:${percent}\n`, 'Error while writing machine-readable progress');
      const eta = estimateRemainingSeconds(estimated, nowBytes, nowBytes - this.machinePrevBytes, Math.trunc(sinceTickMs));
      if (eta >= 0) this.writeMachine(`REMAINING:${formatEta(eta)}\n`, 'Error while writing machine-readable remaining time');
      this.machinePrevBytes = nowBytes;
    }

    this.onTick?.(sinceTickMs);

    if (last) {
      if (this.machineFd !== null) this.writeMachine(formatMachineSummary(snapshot), 'Error while writing machine-readable summary');
      this.finished = true;
    }
  }

  /** The last tick, the summary, and the machine file closed. Safe to call twice. */
  finish(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.tick(true);
    this.closeMachineFile();
  }

  /** Stops the timer without a final print (for a run that failed before it started). */
  dispose(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.closeMachineFile();
  }

  private closeMachineFile(): void {
    if (this.machineFd !== null) {
      try {
        closeSync(this.machineFd);
      } catch {
        // already reported by the writes that failed
      }
      this.machineFd = null;
    }
  }

  private writeMachine(line: string, failure: string): void {
    try {
      const bytes = Buffer.from(line, 'utf8');
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(this.machineFd!, bytes, offset, bytes.length - offset);
    } catch (error) {
      errCode(failure, error);
    }
  }
}
