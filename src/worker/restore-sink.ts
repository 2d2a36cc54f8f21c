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
 * make the same row and the same counts. Records of the common shape are taken before either, by the
 * WebAssembly tier ({@link RestoreSink.fastRecords}), which writes their rows into per-node regions of
 * its own memory and hands full regions over as commands. Outcomes that need no write are counted
 * here and flushed by the task per decoded slice; full commands and metadata items queue in file order.
 */
import type { AsbFastRecords, AsbKey, AsbRecord, AsbRowSink, AsbRowWriter, SecondaryIndexDef, UdfModule } from '../shared/asb/types.js';
import { RecordRowsTier, type OwnerSource } from '../shared/asb/wasm/record-rows.js';
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

/**
 * Routes a record to the routing slot of the node mastering its partition (-1: none): WriteClient.
 * A router that is also an OwnerSource (WriteClient is) lets the WebAssembly tier route rows.
 */
export interface RecordRouter extends Partial<OwnerSource> {
  routeOfDigest(namespace: Buffer, digest: Uint8Array): number;
}

/** What becomes of the record being decoded as a row. */
const ROW_WRITE = 0;
const ROW_EXPIRED = 1;
const ROW_SKIPPED = 2;
/** Not written and not counted past `total` (after a failure), or not counted at all (--no-records). */
const ROW_IGNORED = 3;

/**
 * The bins of a row under --bin-list: a bin the list leaves out is not written or, when the decoder
 * writes the value itself, written and taken back at the next call. Without --bin-list the decoder
 * writes bins straight into the command set.
 */
class BinListWriter implements AsbRowWriter {
  /** Verdicts per interned bin-name Buffer (the decoder reuses one Buffer per distinct name). */
  private readonly verdicts = new Map<Buffer, boolean>();
  /** The bin added last is left out: dropped once the decoder wrote its value. */
  private dropLast = false;

  constructor(
    private readonly commands: NodeCommandSet,
    private readonly binList: Set<string>,
  ) {}

  /** A new row begins. */
  reset(): void {
    this.dropLast = false;
  }

  /** The row's bins are all in: the last one goes if the list leaves it out. */
  finish(): void {
    if (this.dropLast) this.retractBin();
  }

  get rowBytes(): Buffer {
    return this.commands.rowBytes;
  }

  get rowView(): DataView {
    return this.commands.rowView;
  }

  binSpace(name: Buffer, type: ParticleType, length: number): number {
    this.dropLast = !this.keepsNext(name);
    return this.commands.binSpace(name, type, length);
  }

  retractBin(): void {
    this.commands.retractBin();
    this.dropLast = false;
  }

  binInteger(name: Buffer, value: number | bigint): void {
    if (this.keepsNext(name)) this.commands.binInteger(name, value);
  }

  binFloat(name: Buffer, value: number): void {
    if (this.keepsNext(name)) this.commands.binFloat(name, value);
  }

  binBool(name: Buffer, value: boolean): void {
    if (this.keepsNext(name)) this.commands.binBool(name, value);
  }

  binNil(name: Buffer): void {
    if (this.keepsNext(name)) this.commands.binNil(name);
  }

  /** Whether the list keeps a bin of this name. */
  keeps(name: Buffer): boolean {
    let verdict = this.verdicts.get(name);
    if (verdict === undefined) {
      verdict = this.binList.has(name.toString('utf8'));
      this.verdicts.set(name, verdict);
    }
    return verdict;
  }

  /** Before the next bin: drops the previous one if the list leaves it out; whether it keeps this one. */
  private keepsNext(name: Buffer): boolean {
    if (this.dropLast) this.retractBin();
    return this.keeps(name);
  }
}

/** The WebAssembly tier as the decoder's fast path for one sink: its counts go to the sink's. */
class SinkRecordRows implements AsbFastRecords {
  records = 0;
  nextLine = 0;
  inputEnded = false;
  /** Records taken so far (the sink's `total` counts these and the TypeScript path's). */
  taken = 0;

  constructor(
    private readonly sink: RestoreSink,
    private readonly tier: RecordRowsTier,
  ) {}

  take(b: Buffer, p: number, end: number, line: number, namespace: Buffer, serial: number): number {
    const sink = this.sink;
    // After a failure the TypeScript path counts records without writing them.
    if (sink.failure !== null) {
      this.records = 0;
      this.inputEnded = false;
      return p;
    }
    const tier = this.tier;
    tier.now = sink.now;
    const taken = tier.take(b, p, end, line, namespace, serial);
    this.records = tier.records;
    this.nextLine = tier.nextLine;
    this.inputEnded = tier.inputEnded;
    this.taken += tier.records;
    sink.total += tier.records;
    sink.expired += tier.expired;
    sink.skipped += tier.skipped;
    return taken;
  }
}

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
  /** Verdicts per interned set Buffer (the decoder reuses one Buffer per distinct name). */
  private readonly setVerdicts = new Map<Buffer, boolean>();
  /** With --bin-list, where rows' bins go (else straight into the command set). */
  private readonly binListWriter: BinListWriter | null;
  /** The record being decoded as a row: its fate, and its line for messages. */
  private rowFate = ROW_IGNORED;
  private rowLine = 0;
  /** The WebAssembly tier, once {@link fastRecords} made it. */
  private tier: RecordRowsTier | null = null;
  private tierForDecoder: SinkRecordRows | null = null;

  constructor(
    private readonly run: RestoreRunSettings,
    private readonly file: string,
    private readonly router: RecordRouter,
    private readonly flags: WriteFlags,
  ) {
    this.commands = new NodeCommandSet(run.batchSize, flags, (command) => this.pending.push({ kind: 'batch', command }), run.totalTimeoutMs);
    this.targetNamespace = run.namespace?.target ? Buffer.from(run.namespace.target, 'utf8') : null;
    this.setFilter = run.setList === null || run.setList.length === 0 ? null : new Set(run.setList);
    this.binListWriter = run.binList === null || run.binList.length === 0 ? null : new BinListWriter(this.commands, new Set(run.binList));
  }

  // --- records of the common shape, as rows by the WebAssembly tier ----------------------------

  /**
   * The decoder's fast tier for this sink (AsbDecoderOptions.fastRecords), or null where only the
   * TypeScript path applies: --no-records, or a router that cannot hand over whole partition tables.
   */
  fastRecords(): (AsbFastRecords & { readonly taken: number }) | null {
    if (this.tierForDecoder !== null) return this.tierForDecoder;
    const router = this.router;
    if (this.run.noRecords) return null;
    if (router.fillOwnerSlots === undefined || router.routingGeneration === undefined) return null;
    const tier = RecordRowsTier.create({
      flags: this.flags,
      batchSize: this.run.batchSize,
      extraTtl: this.run.extraTtl,
      setList: this.setFilter === null ? null : [...this.setFilter],
      binList: this.binListWriter === null ? null : this.run.binList,
      targetNamespace: this.targetNamespace,
      owners: router as OwnerSource,
      onCommand: (command) => this.pending.push({ kind: 'batch', command }),
      file: this.file,
      timeoutMs: this.run.totalTimeoutMs,
    });
    if (tier === null) return null;
    this.tier = tier;
    this.tierForDecoder = new SinkRecordRows(this, tier);
    return this.tierForDecoder;
  }

  // --- records as rows -------------------------------------------------------------------------

  beginRecord(
    namespace: Buffer,
    digest: Buffer,
    set: Buffer | null,
    key: AsbKey | null,
    generation: number,
    voidTime: number,
    line: number,
  ): AsbRowWriter | null {
    // A record begun before and not ended is being read again from its start.
    this.commands.cancelRow();
    this.rowLine = line;
    if (this.run.noRecords || this.sawRecord || this.failure !== null) {
      this.rowFate = ROW_IGNORED;
      return null;
    }
    const ttl = ttlFor(voidTime, this.run.extraTtl, this.now);
    if (ttl === TTL_EXPIRED) {
      this.rowFate = ROW_EXPIRED;
      return null;
    }
    if (this.setFilter !== null && !this.keepsSet(set)) {
      this.rowFate = ROW_SKIPPED;
      return null;
    }
    try {
      const target = this.targetNamespace ?? namespace;
      this.commands.openRow(this.router.routeOfDigest(target, digest), target, digest, set, key, generation, ttl, line);
    } catch (error) {
      this.failed(error, line);
      this.rowFate = ROW_IGNORED;
      return null;
    }
    this.rowFate = ROW_WRITE;
    if (this.binListWriter === null) return this.commands;
    this.binListWriter.reset();
    return this.binListWriter;
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
    this.binListWriter?.finish();
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

  // --- records as objects (bin names repeat) ----------------------------------------------------

  record(record: AsbRecord): void {
    this.commands.cancelRow();
    if (this.run.noRecords) {
      this.sawRecord = true;
      return;
    }
    if (this.sawRecord) return;
    this.total++;
    if (this.failure !== null) return;
    const binList = this.binListWriter;
    if (binList !== null) record.bins = record.bins.filter((bin) => binList.keeps(bin.name));
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
    this.tier?.flush();
  }

  /** Gives the WebAssembly tier's memory back: the unit is over (its commands were queued or dropped). */
  close(): void {
    this.tier?.close();
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
}
