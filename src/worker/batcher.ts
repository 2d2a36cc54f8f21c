/**
 * The write side of a restore unit: batches of decoded records go to the cluster through the
 * thread's {@link WriteClient}, at most `--max-async-batches` of them in flight across the whole
 * process (an {@link InFlightLimit} in a SharedArrayBuffer that every worker thread shares), each
 * batch retried with C asrestore's backoff for its transient failures only.
 *
 * Per batch (batch mode: one batch-index write, split by node in the client layer; single mode:
 * one write per record, all at once, as C's key-put mode):
 * - every answered record goes to exactly one outcome counter (inserted / existed / fresher /
 *   err_ignored) by its result code (record-outcome.ts);
 * - records whose write failed in a transient way (their own code, e.g. KEY_BUSY, or their whole
 *   per-node command, e.g. a timeout or a lost node) are sent again, and only they, after the
 *   reference backoff; +1 on Counter.RETRIES per retried attempt;
 * - anything fatal (a permanent error, a record error without --ignore-record-error, retries used
 *   up) stops the run: the first such error is kept, logged once, and the stop flag is raised.
 * A batch holds its in-flight place through its retries, as C's retry queue shares the slots.
 */
import type { AsbRecord } from '../shared/asb/types.js';
import { AerospikeError, ClientErrorCode } from '../shared/aerospike/client-errors.js';
import { ResultCode } from '../shared/aerospike/protocol.js';
import { ROW_UNANSWERED, type WriteClient } from '../shared/aerospike/write-client.js';
import { Counter, type Counters } from '../shared/counters.js';
import { AsrestoreError } from '../shared/errors.js';
import {
  ClientStatus,
  CommandVerdict,
  RECORD_VERDICT_COUNTER,
  RecordVerdict,
  classifyCommandResult,
  classifyRecordResult,
  commandFailureError,
  describeStatus,
  isFatalRecordVerdict,
  recordFailureError,
} from './record-outcome.js';
import { RetryState, retriesExhaustedError, type RetryPolicy, type Sleep } from './retry-policy.js';
import type { RestoreWriteFlags } from './write-policy.js';

// ---------------------------------------------------------------------------------------------
// The process-wide bound on batches in flight

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
// Atomics.waitAsync exists since Node 16; TypeScript declares it only in the ES2024 lib.
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult;
}).waitAsync;

const SLOT_USED = 0;
const SLOT_LIMIT = 1;
/** A waiter re-checks at least this often, so a lost wake-up can never hang a worker. */
const RECHECK_MS = 250;

function noop(): void {}

/**
 * A counting semaphore in a SharedArrayBuffer (int32 used, int32 limit): every worker thread that
 * attaches to the same buffer shares the bound. Waiting is Atomics.waitAsync, so a waiting thread
 * keeps serving its sockets.
 */
export class InFlightLimit {
  static readonly BYTES = 8;
  private readonly cells: Int32Array;

  /** A new buffer allowing `limit` holders at once. */
  static createBuffer(limit: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(InFlightLimit.BYTES);
    Atomics.store(new Int32Array(buffer), SLOT_LIMIT, Math.max(1, Math.floor(limit)));
    return buffer;
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer, 0, 2);
  }

  get used(): number {
    return Atomics.load(this.cells, SLOT_USED);
  }

  get limit(): number {
    return Atomics.load(this.cells, SLOT_LIMIT);
  }

  /** Takes a place when one is free at once (true), else leaves everything as it was (false). */
  tryAcquire(): boolean {
    const limit = Atomics.load(this.cells, SLOT_LIMIT);
    for (;;) {
      const used = Atomics.load(this.cells, SLOT_USED);
      if (used >= limit) return false;
      if (Atomics.compareExchange(this.cells, SLOT_USED, used, used + 1) === used) return true;
    }
  }

  /** null when a place was taken at once; otherwise a promise that resolves once one is taken. */
  acquire(): Promise<void> | null {
    return this.tryAcquire() ? null : this.waitForPlace();
  }

  /** null when a place is free now; otherwise a promise that resolves once one is (nothing is taken). */
  whenRoom(): Promise<void> | null {
    return this.used < this.limit ? null : this.waitForRoom();
  }

  private async waitForRoom(): Promise<void> {
    for (;;) {
      const used = Atomics.load(this.cells, SLOT_USED);
      if (used < Atomics.load(this.cells, SLOT_LIMIT)) return;
      const result = waitAsync(this.cells, SLOT_USED, used, RECHECK_MS);
      if (!result.async) continue;
      const keepAlive = setTimeout(noop, RECHECK_MS + 1000);
      try {
        await result.value;
      } finally {
        clearTimeout(keepAlive);
      }
    }
  }

  release(): void {
    Atomics.sub(this.cells, SLOT_USED, 1);
    // Every waiter re-checks (some only wait for room, some to take the place; losers wait again).
    Atomics.notify(this.cells, SLOT_USED);
  }

  private async waitForPlace(): Promise<void> {
    for (;;) {
      const used = Atomics.load(this.cells, SLOT_USED);
      if (used < Atomics.load(this.cells, SLOT_LIMIT)) {
        if (this.tryAcquire()) return;
        continue;
      }
      const result = waitAsync(this.cells, SLOT_USED, used, RECHECK_MS);
      if (!result.async) continue;
      // A pending waitAsync does not keep Node's event loop alive; this timer does.
      const keepAlive = setTimeout(noop, RECHECK_MS + 1000);
      try {
        await result.value;
      } finally {
        clearTimeout(keepAlive);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Client failures as C client statuses

/**
 * The status a client-layer failure stands for, in the C client's numbering (record-outcome.ts
 * ClientStatus, server result codes): what decides retry or abort.
 */
export function statusOfClientError(error: AerospikeError): number {
  switch (error.code) {
    case ClientErrorCode.SERVER:
      return error.resultCode ?? ClientStatus.CLIENT_ERROR;
    case ClientErrorCode.SOCKET_TIMEOUT:
    case ClientErrorCode.TOTAL_TIMEOUT:
      return ResultCode.TIMEOUT;
    case ClientErrorCode.CONNECTION:
    case ClientErrorCode.SEED_UNREACHABLE:
      return ClientStatus.CONNECTION;
    case ClientErrorCode.TLS:
      return ClientStatus.TLS_ERROR;
    case ClientErrorCode.PARTITION_UNAVAILABLE:
    case ClientErrorCode.NODE_NOT_FOUND:
      return ClientStatus.INVALID_NODE;
    case ClientErrorCode.ENCODE:
      return ClientStatus.PARAMETER;
    case ClientErrorCode.NAMESPACE_NOT_FOUND:
      return ResultCode.INVALID_NAMESPACE;
    case ClientErrorCode.AUTH:
      // A refused login on a new connection: the server's code (e.g. NOT_AUTHENTICATED) decides.
      return error.resultCode ?? ClientStatus.CLIENT_ERROR;
    default:
      // PROTOCOL, CLOSED, INFO, INVALID_HOST, CLUSTER_NAME_MISMATCH: nothing a retry can fix.
      return ClientStatus.CLIENT_ERROR;
  }
}

function asClientError(error: unknown): AerospikeError {
  if (error instanceof AerospikeError) return error;
  return new AerospikeError(ClientErrorCode.PROTOCOL, (error as Error)?.message ?? String(error), { cause: error });
}

// ---------------------------------------------------------------------------------------------
// The batcher

export type WriteMode = 'batch' | 'single';

export interface BatcherOptions {
  client: WriteClient;
  mode: WriteMode;
  flags: RestoreWriteFlags;
  retry: RetryPolicy;
  /** Injected in tests; default timers. */
  sleep?: Sleep;
  counters: Counters;
  limit: InFlightLimit;
  ignoreRecordError: boolean;
  /** Called once, with the first fatal error, before it is returned by `failure`. */
  onFatal: (error: AsrestoreError) => void;
}

/** One batch: records, their wire TTLs (same index), and where they came from for error messages. */
export interface RecordBatch {
  records: AsbRecord[];
  ttls: Uint32Array;
  file: string;
  /** Called once the batch is resolved, or dropped after a fatal error. */
  onDone?: () => void;
}

export class Batcher {
  private readonly outstanding = new Set<Promise<void>>();
  /** Record verdicts counted but not yet added to the shared counters, by RecordVerdict. */
  private readonly tally = new Int32Array(6);
  private fatal: AsrestoreError | null = null;
  private readonly sleep: Sleep | undefined;

  constructor(private readonly options: BatcherOptions) {
    this.sleep = options.sleep;
  }

  /** The first fatal error, once one happened. */
  get failure(): AsrestoreError | null {
    return this.fatal;
  }

  /** Batches written and not yet resolved. */
  get pending(): number {
    return this.outstanding.size;
  }

  /**
   * Resolves as soon as the batch holds an in-flight place (backpressure); the write goes on in the
   * background. After a fatal error the batch is dropped (its records stay unresolved).
   */
  async submit(batch: RecordBatch): Promise<void> {
    if (batch.records.length === 0 || this.fatal !== null) {
      batch.onDone?.();
      return;
    }
    const waiting = this.options.limit.acquire();
    if (waiting !== null) await waiting;
    if (this.fatal !== null) {
      this.options.limit.release();
      batch.onDone?.();
      return;
    }
    this.options.counters.add(Counter.RECORDS_IN_FLIGHT, batch.records.length);
    const running = this.write(batch).finally(() => {
      this.options.limit.release();
      this.outstanding.delete(running);
      batch.onDone?.();
    });
    this.outstanding.add(running);
  }

  /** Waits until every submitted batch is resolved (or dropped after a fatal error). */
  async drain(): Promise<void> {
    while (this.outstanding.size > 0) await Promise.all([...this.outstanding]);
  }

  private fail(error: AsrestoreError): void {
    if (this.fatal !== null) return;
    this.fatal = error;
    this.options.onFatal(error);
  }

  /** Writes the batch until every record is resolved, or the run must stop. */
  private async write(batch: RecordBatch): Promise<void> {
    const state = new RetryState(this.options.retry, this.sleep);
    let records = batch.records;
    let ttls = batch.ttls;
    for (;;) {
      let again: number[];
      let lastFailure: string;
      try {
        const outcome = this.options.mode === 'batch' ? await this.attemptBatch(records, ttls, batch.file) : await this.attemptSingles(records, ttls, batch.file);
        if (outcome === null) return;
        ({ again, lastFailure } = outcome);
      } catch (error) {
        // Verdicts counted before the failure still count (judging is synchronous, so they are this attempt's).
        this.flushTally();
        this.fail(error instanceof AsrestoreError ? error : commandFailureError(ClientStatus.CLIENT_ERROR, String(error)));
        return;
      }
      if (again.length === 0) return;
      this.options.counters.add(Counter.RETRIES, 1);
      if (this.fatal !== null) return;
      if (!(await state.backoff())) {
        this.fail(retriesExhaustedError(this.options.mode, state.retries, lastFailure));
        return;
      }
      if (this.fatal !== null) return;
      const nextRecords = new Array<AsbRecord>(again.length);
      const nextTtls = new Uint32Array(again.length);
      for (let i = 0; i < again.length; i++) {
        nextRecords[i] = records[again[i]];
        nextTtls[i] = ttls[again[i]];
      }
      records = nextRecords;
      ttls = nextTtls;
    }
  }

  /**
   * Judges one record's result code: counts it, or returns true when it must be sent again.
   * Throws (after counting, as C does for ignorable errors) when it stops the run.
   */
  private judgeRecord(code: number, record: AsbRecord, file: string): boolean {
    const verdict = classifyRecordResult(code);
    if (verdict === RecordVerdict.RETRY) return true;
    this.tally[verdict]++;
    if (isFatalRecordVerdict(verdict, this.options.ignoreRecordError)) {
      throw recordFailureError(code, { file, line: record.line });
    }
    return false;
  }

  /** Adds the verdicts counted since the last flush to the shared counters (once per attempt, not per record). */
  private flushTally(): void {
    const tally = this.tally;
    let resolved = 0;
    for (let verdict = 0; verdict < tally.length; verdict++) {
      const n = tally[verdict];
      if (n === 0) continue;
      tally[verdict] = 0;
      const counter = RECORD_VERDICT_COUNTER[verdict];
      if (counter < 0) continue;
      this.options.counters.add(counter as Counter, n);
      resolved += n;
    }
    this.options.counters.add(Counter.RECORDS_IN_FLIGHT, -resolved);
  }

  private async attemptBatch(
    records: AsbRecord[],
    ttls: Uint32Array,
    file: string,
  ): Promise<{ again: number[]; lastFailure: string } | null> {
    let result;
    try {
      result = await this.options.client.writeBatch(records, ttls, this.options.flags.batchRow);
    } catch (error) {
      const typed = asClientError(error);
      throw commandFailureError(statusOfClientError(typed), typed.message, { file });
    }
    const again: number[] = [];
    let lastFailure = '';
    const codes = result.resultCodes;
    for (const failure of result.failures) {
      const status = statusOfClientError(failure.error);
      const verdict = classifyCommandResult(status);
      if (verdict === CommandVerdict.FATAL) throw commandFailureError(status, failure.error.message, { file });
      if (verdict === CommandVerdict.RETRY) {
        lastFailure = `${describeStatus(status)}: ${failure.error.message}`;
        for (const row of failure.rows) again.push(row);
      } else {
        // A batch-level code that is a record outcome (e.g. a lone GENERATION): it holds for every row.
        for (const row of failure.rows) codes[row] = status;
      }
    }
    const retrying = again.length > 0 ? new Set(again) : null;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i];
      if (code === ROW_UNANSWERED) {
        if (retrying === null || !retrying.has(i)) {
          throw commandFailureError(ClientStatus.CLIENT_ERROR, `record at line ${records[i].line} got no answer`, { file });
        }
        continue;
      }
      if (this.judgeRecord(code, records[i], file)) {
        again.push(i);
        lastFailure = describeStatus(code);
      }
    }
    this.flushTally();
    return { again, lastFailure };
  }

  private async attemptSingles(
    records: AsbRecord[],
    ttls: Uint32Array,
    file: string,
  ): Promise<{ again: number[]; lastFailure: string } | null> {
    const client = this.options.client;
    const flags = this.options.flags.single;
    const statuses = await Promise.all(
      records.map((record, i) =>
        client.writeRecord(record, ttls[i], flags).then(
          (code) => ({ status: code, detail: '' }),
          (error: unknown) => {
            const typed = asClientError(error);
            return { status: statusOfClientError(typed), detail: typed.message };
          },
        ),
      ),
    );
    const again: number[] = [];
    let lastFailure = '';
    for (let i = 0; i < statuses.length; i++) {
      const { status, detail } = statuses[i];
      const verdict = classifyCommandResult(status);
      if (verdict === CommandVerdict.FATAL) {
        throw status === ClientStatus.CLIENT_ERROR || status === ClientStatus.PARAMETER
          ? commandFailureError(status, detail, { file, line: records[i].line })
          : recordFailureError(status, { file, line: records[i].line });
      }
      if (verdict === CommandVerdict.RETRY) {
        again.push(i);
        lastFailure = detail === '' ? describeStatus(status) : `${describeStatus(status)}: ${detail}`;
        continue;
      }
      if (this.judgeRecord(status, records[i], file)) {
        again.push(i);
        lastFailure = describeStatus(status);
      }
    }
    this.flushTally();
    return { again, lastFailure };
  }
}
