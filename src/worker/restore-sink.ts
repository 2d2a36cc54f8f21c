/**
 * The per-record decisions of a restore (C dec_text.c + restore.c), as the decoder's sink:
 * expired (void time + --extra-ttl not in the future) → counted, not sent; set not in --set-list,
 * or no bins left after --bin-list → skipped; otherwise the namespace is remapped (-n src,dst), the
 * record is routed (namespace partition table, digest → partition → master node) and its batch
 * write row goes into that node's pending command (batch-command.ts).
 *
 * Records arrive as rows (AsbRowSink): the decoder hands over the header lines, then writes each
 * bin's value straight into the node's command, so no record, bin or value object is built. A
 * record whose bin names repeat arrives as an AsbRecord instead and is encoded from it; both paths
 * make the same row and the same counts. Outcomes that need no write are counted here and flushed
 * by the task per decoded slice; full commands and metadata items queue in file order.
 */
import type { AsbKey, AsbRecord, AsbRowSink, SecondaryIndexDef, UdfModule } from '../shared/asb/types.js';
import type { ParticleType } from '../shared/aerospike/protocol.js';
import { NodeCommandSet, type EncodedCommand } from '../shared/aerospike/batch-command.js';
import { AerospikeError, ClientErrorCode } from '../shared/aerospike/client-errors.js';
import type { WriteFlags } from '../shared/aerospike/write-flags.js';
import type { AsrestoreError } from '../shared/errors.js';
import { ver } from '../main/log.js';
import { statusOfClientError } from './batcher.js';
import { commandFailureError, formatLocation } from './record-outcome.js';
import { TTL_EXPIRED, citrusleafNow, ttlFor } from './write-policy.js';
import type { RestoreRunSettings } from './restore-task.js';

export type PendingItem = { kind: 'batch'; command: EncodedCommand } | { kind: 'sindex'; def: SecondaryIndexDef } | { kind: 'udf'; module: UdfModule };

/** Routes a record to the routing slot of the node mastering its partition (-1: none): WriteClient. */
export interface RecordRouter {
  routeOfDigest(namespace: Buffer, digest: Uint8Array): number;
}

/** What becomes of the record being decoded as a row. */
const ROW_WRITE = 0;
const ROW_EXPIRED = 1;
const ROW_SKIPPED = 2;
/** Not written and not counted past `total` (after a failure), or not counted at all (--no-records). */
const ROW_IGNORED = 3;

export class RestoreSink implements AsbRowSink {
  readonly pending: PendingItem[] = [];
  /** Set by --no-records at the first record. */
  sawRecord = false;
  now = citrusleafNow();
  total = 0;
  expired = 0;
  skipped = 0;
  /** Set when a record could not be routed or encoded: the unit stops with it. */
  failure: AsrestoreError | null = null;
  private readonly commands: NodeCommandSet;
  private readonly targetNamespace: Buffer | null;
  private readonly setFilter: Set<string> | null;
  private readonly binFilter: Set<string> | null;
  /** Verdicts per interned set / bin-name Buffer (the decoder reuses one Buffer per distinct name). */
  private readonly setVerdicts = new Map<Buffer, boolean>();
  private readonly binVerdicts = new Map<Buffer, boolean>();
  /** The record being decoded as a row: its fate, and its line for messages. */
  private rowFate = ROW_IGNORED;
  private rowLine = 0;
  /** The bin added last is left out by --bin-list: dropped once the decoder wrote its value. */
  private dropLastBin = false;

  constructor(
    private readonly run: RestoreRunSettings,
    private readonly file: string,
    private readonly router: RecordRouter,
    flags: WriteFlags,
  ) {
    this.commands = new NodeCommandSet(run.batchSize, flags, (command) => this.pending.push({ kind: 'batch', command }), run.totalTimeoutMs);
    this.targetNamespace = run.namespace?.target ? Buffer.from(run.namespace.target, 'utf8') : null;
    this.setFilter = run.setList === null || run.setList.length === 0 ? null : new Set(run.setList);
    this.binFilter = run.binList === null || run.binList.length === 0 ? null : new Set(run.binList);
  }

  // --- records as rows -------------------------------------------------------------------------

  beginRecord(namespace: Buffer, digest: Buffer, set: Buffer | null, key: AsbKey | null, generation: number, voidTime: number, line: number): boolean {
    // A record begun before and not ended is being read again from its start.
    this.commands.cancelRow();
    this.dropLastBin = false;
    this.rowLine = line;
    if (this.run.noRecords || this.sawRecord || this.failure !== null) {
      this.rowFate = ROW_IGNORED;
      return false;
    }
    const ttl = ttlFor(voidTime, this.run.extraTtl, this.now);
    if (ttl === TTL_EXPIRED) {
      this.rowFate = ROW_EXPIRED;
      return false;
    }
    if (this.setFilter !== null && !this.keepsSet(set)) {
      this.rowFate = ROW_SKIPPED;
      return false;
    }
    try {
      const target = this.targetNamespace ?? namespace;
      this.commands.openRow(this.router.routeOfDigest(target, digest), target, digest, set, key, generation, ttl, line);
    } catch (error) {
      this.failed(error, line);
      this.rowFate = ROW_IGNORED;
      return false;
    }
    this.rowFate = ROW_WRITE;
    return true;
  }

  get rowBytes(): Buffer {
    return this.commands.rowBytes;
  }

  get rowView(): DataView {
    return this.commands.rowView;
  }

  binSpace(name: Buffer, type: ParticleType, length: number): number {
    // The decoder writes the value in any case: a bin left out is dropped at the next call.
    this.dropLastBin = !this.keepsNextBin(name);
    return this.commands.opSpace(name, type, length);
  }

  retractBin(): void {
    this.commands.dropLastOp();
    this.dropLastBin = false;
  }

  binInteger(name: Buffer, value: number | bigint): void {
    if (this.keepsNextBin(name)) this.commands.opInteger(name, value);
  }

  binFloat(name: Buffer, value: number): void {
    if (this.keepsNextBin(name)) this.commands.opFloat(name, value);
  }

  binBool(name: Buffer, value: boolean): void {
    if (this.keepsNextBin(name)) this.commands.opBool(name, value);
  }

  binNil(name: Buffer): void {
    if (this.keepsNextBin(name)) this.commands.opNil(name);
  }

  endRecord(): void {
    if (this.run.noRecords) {
      this.sawRecord = true;
      return;
    }
    if (this.sawRecord) return;
    this.total++;
    switch (this.rowFate) {
      case ROW_EXPIRED:
        this.expired++;
        return;
      case ROW_SKIPPED:
        this.skipped++;
        return;
      case ROW_IGNORED:
        return;
    }
    if (this.dropLastBin) this.retractBin();
    if (this.commands.rowOpCount === 0) {
      this.commands.cancelRow();
      this.skipped++;
      return;
    }
    try {
      this.commands.closeRow(this.file);
    } catch (error) {
      this.failed(error, this.rowLine);
    }
  }

  /** Before the next bin: drops the previous one if --bin-list leaves it out; whether --bin-list keeps this one. */
  private keepsNextBin(name: Buffer): boolean {
    if (this.dropLastBin) this.retractBin();
    return this.binFilter === null || this.keepsBin(name);
  }

  // --- records as objects (bin names repeat) ----------------------------------------------------

  record(record: AsbRecord): void {
    this.commands.cancelRow();
    this.dropLastBin = false;
    if (this.run.noRecords) {
      this.sawRecord = true;
      return;
    }
    if (this.sawRecord) return;
    this.total++;
    if (this.failure !== null) return;
    if (this.binFilter !== null) record.bins = record.bins.filter((bin) => this.keepsBin(bin.name));
    const ttl = ttlFor(record.voidTime, this.run.extraTtl, this.now);
    if (ttl === TTL_EXPIRED) {
      this.expired++;
      return;
    }
    if (record.bins.length === 0 || (this.setFilter !== null && !this.keepsSet(record.set))) {
      this.skipped++;
      return;
    }
    if (this.targetNamespace !== null) record.namespace = this.targetNamespace;
    try {
      this.commands.addRecord(this.router.routeOfDigest(record.namespace, record.digest), record, ttl, this.file);
    } catch (error) {
      this.failed(error, record.line);
    }
  }

  // --- metadata ---------------------------------------------------------------------------------

  secondaryIndex(def: SecondaryIndexDef): void {
    if (this.run.noIndexes) {
      ver('Ignoring index block');
      return;
    }
    this.pending.push({ kind: 'sindex', def });
  }

  udf(module: UdfModule): void {
    if (this.run.noUdfs) {
      ver('Ignoring UDF file block');
      return;
    }
    // The content is a view into a chunk; the message copies it.
    this.pending.push({ kind: 'udf', module });
  }

  /** Queues every partial command (at the end of the input). */
  cut(): void {
    this.commands.flush(this.file);
  }

  /** A record that could not be routed or encoded never reached a command: the unit stops, naming it. */
  private failed(error: unknown, line: number): void {
    const typed =
      error instanceof AerospikeError ? error : new AerospikeError(ClientErrorCode.ENCODE, (error as Error)?.message ?? String(error), { cause: error });
    const location = { file: this.file, line };
    this.failure = commandFailureError(statusOfClientError(typed), typed.message + formatLocation(location), location);
  }

  private keepsSet(set: Buffer | null): boolean {
    if (set === null) return false;
    let verdict = this.setVerdicts.get(set);
    if (verdict === undefined) {
      verdict = this.setFilter!.has(set.toString('utf8'));
      this.setVerdicts.set(set, verdict);
    }
    return verdict;
  }

  private keepsBin(name: Buffer): boolean {
    let verdict = this.binVerdicts.get(name);
    if (verdict === undefined) {
      verdict = this.binFilter!.has(name.toString('utf8'));
      this.binVerdicts.set(name, verdict);
    }
    return verdict;
  }
}
