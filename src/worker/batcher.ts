/**
 * The write side of a restore unit: encoded per-node batch commands (batch-command.ts) go to the cluster through the
 * thread's {@link WriteClient}, at most `--max-async-batches` of them in flight across the whole
 * process (an {@link InFlightLimit} in a SharedArrayBuffer that every worker thread shares), each
 * batch retried with C asrestore's backoff for its transient failures only.
 *
 * Per command (batch mode: one batch-index write to the node it was built for; single mode: one
 * write per row, all at once, as C's key-put mode, each made from the row's bytes):
 * - every answered record goes to exactly one outcome counter (inserted / existed / fresher /
 *   err_ignored) by its result code (record-outcome.ts);
 * - records whose write failed in a transient way (their own code, e.g. KEY_BUSY, or their whole
 *   command, e.g. a timeout or a lost node) are sent again, and only they, after the reference
 *   backoff; +1 on Counter.RETRIES per retried attempt. Their rows are copied out of the old
 *   command, routed afresh by the digest they carry (a partition may have moved, a node may be
 *   gone), re-indexed and sent as new per-node commands: never encoded again;
 * - anything fatal (a permanent error, a record error without --ignore-record-error, retries used
 *   up) stops the run: the first such error is kept, logged once, and the stop flag is raised.
 * A batch holds its in-flight place through its retries, as C's retry queue shares the slots.
 */
import { AerospikeError, ClientErrorCode } from '../shared/aerospike/client-errors.js';
import { ResultCode } from '../shared/aerospike/protocol.js';
import { ROW_UNANSWERED, type CommandResult, type WriteClient } from '../shared/aerospike/write-client.js';
import { NodeCommandSet, recycleCommand, type EncodedCommand } from '../shared/aerospike/batch-command.js';
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
import type { InFlightLimit } from '../shared/aerospike/in-flight-limit.js';

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

/** Rows of earlier commands to send again: row `rows[i]` of `commands[i]`. */
interface RowsToRetry {
  commands: EncodedCommand[];
  rows: number[];
  lastFailure: string;
  /** Commands whose bytes nothing will send again once the rows to retry are copied out (answered ones). */
  finished: EncodedCommand[];
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

  /** Commands submitted and not yet resolved. */
  get pending(): number {
    return this.outstanding.size;
  }

  /**
   * Resolves as soon as the command holds an in-flight place (backpressure); the write goes on in
   * the background. `onDone` runs once it is resolved, or dropped after a fatal error (its rows
   * then stay unresolved).
   */
  async submit(command: EncodedCommand, onDone?: () => void): Promise<void> {
    if (command.rowCount === 0 || this.fatal !== null) {
      onDone?.();
      return;
    }
    const waiting = this.options.limit.acquire();
    if (waiting !== null) await waiting;
    if (this.fatal !== null) {
      this.options.limit.release();
      onDone?.();
      return;
    }
    this.options.counters.add(Counter.RECORDS_IN_FLIGHT, command.rowCount);
    const running = this.write(command).finally(() => {
      this.options.limit.release();
      this.outstanding.delete(running);
      onDone?.();
    });
    this.outstanding.add(running);
  }

  /** Waits until every submitted command is resolved (or dropped after a fatal error). */
  async drain(): Promise<void> {
    while (this.outstanding.size > 0) await Promise.all([...this.outstanding]);
  }

  /** Stops the run with `error` (the first one wins). */
  fail(error: AsrestoreError): void {
    if (this.fatal !== null) return;
    this.fatal = error;
    this.options.onFatal(error);
  }

  /** Writes the command until every row is resolved, or the run must stop. */
  private async write(command: EncodedCommand): Promise<void> {
    const state = new RetryState(this.options.retry, this.sleep);
    let commands = [command];
    for (;;) {
      let retry: RowsToRetry;
      try {
        retry = this.options.mode === 'batch' ? await this.attemptBatch(commands) : await this.attemptSingles(commands);
      } catch (error) {
        // Verdicts counted before the failure still count (judging is synchronous, so they are this attempt's).
        this.flushTally();
        this.fail(error instanceof AsrestoreError ? error : commandFailureError(ClientStatus.CLIENT_ERROR, String(error)));
        return;
      }
      if (retry.rows.length === 0) {
        for (const finished of retry.finished) recycleCommand(finished);
        return;
      }
      this.options.counters.add(Counter.RETRIES, 1);
      if (this.fatal !== null) return;
      if (!(await state.backoff())) {
        this.fail(retriesExhaustedError(this.options.mode, state.retries, retry.lastFailure));
        return;
      }
      if (this.fatal !== null) return;
      try {
        commands = this.regroup(retry);
        for (const finished of retry.finished) recycleCommand(finished);
      } catch (error) {
        const typed = asClientError(error);
        this.fail(commandFailureError(statusOfClientError(typed), typed.message, { file: command.file }));
        return;
      }
    }
  }

  /** The rows to retry as new per-node commands, each row routed by the digest it carries. */
  private regroup(retry: RowsToRetry): EncodedCommand[] {
    const client = this.options.client;
    const next: EncodedCommand[] = [];
    const set = new NodeCommandSet(retry.rows.length, this.options.flags.batchRow, (built) => next.push(built));
    for (let i = 0; i < retry.rows.length; i++) {
      const source = retry.commands[i];
      const row = retry.rows[i];
      set.addRowOf(client.routeOfRow(source.bytes, source.rowOffsets[row]), source, row);
    }
    set.flush(retry.commands[0].file);
    return next;
  }

  /**
   * Judges one row's result code: counts it, or returns true when it must be sent again.
   * Throws (after counting, as C does for ignorable errors) when it stops the run.
   */
  private judgeRow(code: number, line: number, file: string): boolean {
    const verdict = classifyRecordResult(code);
    if (verdict === RecordVerdict.RETRY) return true;
    this.tally[verdict]++;
    if (isFatalRecordVerdict(verdict, this.options.ignoreRecordError)) {
      throw recordFailureError(code, { file, line });
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

  private async attemptBatch(commands: EncodedCommand[]): Promise<RowsToRetry> {
    const client = this.options.client;
    const results: CommandResult[] = commands.length === 1 ? [await client.sendCommand(commands[0])] : await Promise.all(commands.map((c) => client.sendCommand(c)));
    const retry: RowsToRetry = { commands: [], rows: [], lastFailure: '', finished: [] };
    // Whole-command failures first: one that is fatal stops the run before any row is judged.
    const retrying = new Array<boolean>(commands.length).fill(false);
    for (let c = 0; c < commands.length; c++) {
      const failure = results[c].failure;
      if (failure === null) {
        retry.finished.push(commands[c]);
        continue;
      }
      const status = statusOfClientError(failure);
      const verdict = classifyCommandResult(status);
      if (verdict === CommandVerdict.FATAL) throw commandFailureError(status, failure.message, { file: commands[c].file });
      if (verdict === CommandVerdict.RETRY) {
        retry.lastFailure = `${describeStatus(status)}: ${failure.message}`;
        retrying[c] = true;
      } else {
        // A batch-level code that is a record outcome (e.g. a lone GENERATION): it holds for every unanswered row.
        const codes = results[c].resultCodes;
        for (let row = 0; row < codes.length; row++) if (codes[row] === ROW_UNANSWERED) codes[row] = status;
      }
    }
    for (let c = 0; c < commands.length; c++) {
      const command = commands[c];
      const codes = results[c].resultCodes;
      const lines = command.lines;
      for (let row = 0; row < codes.length; row++) {
        const code = codes[row];
        if (code === ROW_UNANSWERED) {
          if (!retrying[c]) {
            throw commandFailureError(ClientStatus.CLIENT_ERROR, `record at line ${lines[row]} got no answer`, { file: command.file });
          }
          retry.commands.push(command);
          retry.rows.push(row);
          continue;
        }
        if (this.judgeRow(code, lines[row], command.file)) {
          retry.commands.push(command);
          retry.rows.push(row);
          retry.lastFailure = describeStatus(code);
        }
      }
    }
    this.flushTally();
    return retry;
  }

  private async attemptSingles(commands: EncodedCommand[]): Promise<RowsToRetry> {
    const client = this.options.client;
    const flags = this.options.flags.single;
    const writes: Promise<{ status: number; detail: string }>[] = [];
    for (const command of commands) {
      for (let row = 0; row < command.rowCount; row++) {
        writes.push(
          client.writeRow(command, row, flags).then(
            (code) => ({ status: code, detail: '' }),
            (error: unknown) => {
              const typed = asClientError(error);
              return { status: statusOfClientError(typed), detail: typed.message };
            },
          ),
        );
      }
    }
    const statuses = await Promise.all(writes);
    // Single writes send copies of the rows: the commands' own bytes never reach a socket.
    const retry: RowsToRetry = { commands: [], rows: [], lastFailure: '', finished: commands };
    let at = 0;
    for (const command of commands) {
      const file = command.file;
      for (let row = 0; row < command.rowCount; row++) {
        const { status, detail } = statuses[at++];
        const line = command.lines[row];
        const verdict = classifyCommandResult(status);
        if (verdict === CommandVerdict.FATAL) {
          throw status === ClientStatus.CLIENT_ERROR || status === ClientStatus.PARAMETER
            ? commandFailureError(status, detail, { file, line })
            : recordFailureError(status, { file, line });
        }
        if (verdict === CommandVerdict.RETRY) {
          retry.commands.push(command);
          retry.rows.push(row);
          retry.lastFailure = detail === '' ? describeStatus(status) : `${describeStatus(status)}: ${detail}`;
          continue;
        }
        if (this.judgeRow(status, line, file)) {
          retry.commands.push(command);
          retry.rows.push(row);
          retry.lastFailure = describeStatus(status);
        }
      }
    }
    this.flushTally();
    return retry;
  }
}
