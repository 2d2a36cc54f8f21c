/**
 * The restore's WebAssembly tier for records of the common shape (record-rows.as.ts, compiled to
 * record-rows.wasm by `npm run build`): it decodes runs of consecutive records and writes their
 * batch-write rows straight into per-node regions of its memory, about three times faster than the
 * TypeScript decoder's row path; each full region becomes one EncodedCommand.
 *
 * The TypeScript decoder stays the one authority on the format: it calls {@link RecordRowsTier.take}
 * at each record start, and takes itself every record the tier leaves (anything outside the common
 * shape, a record cut by the end of the input), with all of its checks and C's error messages. The
 * tier takes a record only when the decoder would have accepted it and written the same row bytes;
 * test/restore/restore-sink.test.ts compares the two on every cut of its inputs.
 *
 * One module instance per thread: the input window and the row being encoded are used only during
 * a synchronous call; each tier's routing table and row regions are blocks of that memory.
 */
import { readFileSync } from 'node:fs';
import { BatchCommandBuilder, type EncodedCommand } from '../../aerospike/batch-command.js';
import { batchRowInfo } from '../../aerospike/batch-codec.js';
import { PARTITION_COUNT } from '../../aerospike/replicas.js';
import { sendsGeneration, type WriteFlags } from '../../aerospike/write-flags.js';

interface RecordRowsExports {
  memory: WebAssembly.Memory;
  init(): void;
  decode(from: number, end: number, line: number): number;
  expectedNamespace(): number;
  targetNamespace(): number;
  MAX_REGIONS: WebAssembly.Global;
  INPUT: WebAssembly.Global;
  INPUT_CAPACITY: WebAssembly.Global;
  MAX_ROW: WebAssembly.Global;
  DYNAMIC: WebAssembly.Global;
  ownersAt: WebAssembly.Global;
  regionsAt: WebAssembly.Global;
  expectedLength: WebAssembly.Global;
  targetLength: WebAssembly.Global;
  now: WebAssembly.Global;
  extraTtl: WebAssembly.Global;
  rowInfo: WebAssembly.Global;
  withGeneration: WebAssembly.Global;
  maxRows: WebAssembly.Global;
  regionBytes: WebAssembly.Global;
  stopAt: WebAssembly.Global;
  nextLine: WebAssembly.Global;
  records: WebAssembly.Global;
  expired: WebAssembly.Global;
  skipped: WebAssembly.Global;
  setListAt: WebAssembly.Global;
  binListAt: WebAssembly.Global;
  region: WebAssembly.Global;
  short: WebAssembly.Global;
}

const STOPPED = 0;
const REGION_FULL = 1;
const REGION_MISSING = 2;
/** Namespace names are at most 31 bytes (C's 32-byte buffer). */
const NAMESPACE_MAX = 31;
/** Bytes of rows a region holds: a command of up to 128 KiB (128 rows of up to 1 KiB each), and at least any one row the module writes (MAX_ROW). */
const REGION_ROW_BYTES = 128 * 1024;
/** Larger batches than this are left to the TypeScript path (their per-row arrays would dominate). */
const MAX_BATCH_ROWS = 4096;
const PAGE = 65536;
/** Bytes per name in the module's --set-list and --bin-list tables (record-rows.as.ts setListAt, binListAt). */
const SET_LIST_SLOT = 64;
const BIN_LIST_SLOT = 16;

/** The thread's module instance, made on first use. */
let instance: RecordRowsModule | null = null;

class RecordRowsModule {
  readonly x: RecordRowsExports;
  readonly input: number;
  readonly inputCapacity: number;
  readonly maxRegions: number;
  /** The last call's tier and window: a tier's next call in the same buffer needs no new copy. */
  windowOwner: RecordRowsTier | null = null;
  windowSerial = -1;
  windowStart = 0;
  windowEnd = 0;
  /** The tier, namespace and clock the module's settings are for. */
  configuredFor: RecordRowsTier | null = null;
  configuredNamespace: Buffer | null = null;
  configuredNow = -1;
  private top: number;
  private readonly free = new Map<number, number[]>();

  constructor(module: WebAssembly.Module) {
    this.x = new WebAssembly.Instance(module, { env: { abort: abortFromWasm } }).exports as unknown as RecordRowsExports;
    this.input = this.x.INPUT.value as number;
    this.inputCapacity = this.x.INPUT_CAPACITY.value as number;
    this.maxRegions = this.x.MAX_REGIONS.value as number;
    this.top = this.x.DYNAMIC.value as number;
    this.ensure(this.top);
    this.x.init();
  }

  /** A block of `size` bytes of module memory (zeroed), reused from freed blocks of that size. */
  allocate(size: number): number {
    const reuse = this.free.get(size);
    const at = reuse !== undefined && reuse.length > 0 ? reuse.pop()! : this.bump(size);
    new Uint8Array(this.x.memory.buffer, at, size).fill(0);
    return at;
  }

  release(at: number, size: number): void {
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(at);
  }

  private bump(size: number): number {
    const at = this.top;
    this.top += (size + 7) & ~7;
    this.ensure(this.top);
    return at;
  }

  private ensure(bytes: number): void {
    const memory = this.x.memory;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
  }
}

/**
 * The compiled module, or null when this engine cannot run it (it uses 128-bit SIMD, which V8 runs
 * on x86-64 with SSE4.1 and on arm64): the TypeScript decoder then takes every record.
 */
export function compileRecordRows(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module | null {
  try {
    return new WebAssembly.Module(bytes);
  } catch (error) {
    if (error instanceof WebAssembly.CompileError) return null;
    throw error;
  }
}

/** The thread's compiled module: undefined until first needed, null when the engine cannot run it. */
let compiled: WebAssembly.Module | null | undefined;

function recordRowsModule(): RecordRowsModule | null {
  if (instance !== null) return instance;
  if (compiled === undefined) {
    const path = new URL('./record-rows.wasm', import.meta.url);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new Error(`internal: ${path.pathname} cannot be read (${(error as Error).message}); \`npm run build\` compiles it`, { cause: error });
    }
    compiled = compileRecordRows(bytes);
  }
  if (compiled === null) return null;
  instance = new RecordRowsModule(compiled);
  return instance;
}

/**
 * `names` (null: no list) as a table in module memory: u32 count, then from byte 16 one `slot`-byte
 * entry per name (its bytes, zero-padded, and its length in the entry's last byte). Returns where
 * and how large (0, 0 for no list). Only the names the module can meet are listed: it leaves longer
 * ones, and any not of ASCII bytes, to the TypeScript path, which compares names as UTF-8 text.
 */
function nameTable(module: RecordRowsModule, names: readonly string[] | null, slot: number): [number, number] {
  if (names === null) return [0, 0];
  const listed = names.map((name) => Buffer.from(name, 'utf8')).filter((name) => name.length < slot && name.every((byte) => byte < 0x80));
  const bytes = 16 + slot * listed.length;
  const at = module.allocate(bytes);
  const table = new Uint8Array(module.x.memory.buffer, at, bytes);
  new DataView(table.buffer, at, 4).setUint32(0, listed.length, true);
  listed.forEach((name, i) => {
    table.set(name, 16 + slot * i);
    table[16 + slot * i + slot - 1] = name.length;
  });
  return [at, bytes];
}

function abortFromWasm(): never {
  throw new Error('internal: record-rows.wasm aborted');
}

/** Where the tier learns which node masters each partition of a namespace. */
export interface OwnerSource {
  /** Changes whenever the routing table does. */
  readonly routingGeneration: number;
  /** `out[partition]` = routing slot + 1 of the partition's live master, 0 when none. Throws NAMESPACE_NOT_FOUND. */
  fillOwnerSlots(namespace: Buffer, out: Uint16Array): void;
}

export interface RecordRowsSettings {
  flags: WriteFlags;
  batchSize: number;
  extraTtl: number;
  /** --set-list: the sets whose records are written (the others are skipped), or null for all. */
  setList: readonly string[] | null;
  /** --bin-list: the bins written (a record left with none is skipped), or null for all. */
  binList: readonly string[] | null;
  /** The namespace rows carry (-n src,dst), or null for each record's own. */
  targetNamespace: Buffer | null;
  owners: OwnerSource;
  /** Each finished command, in the order rows filled them. */
  onCommand: (command: EncodedCommand) => void;
  file: string;
  timeoutMs: number;
}

/** One decoder's tier: its routing table, row regions and counts. */
export class RecordRowsTier {
  /** Records taken by the last {@link take} (expired ones included). */
  records = 0;
  /** Expired records among them (counted, no row). */
  expired = 0;
  /** Records among them of a set --set-list leaves out (counted, no row). */
  skipped = 0;
  /** The line after the last record taken. */
  nextLine = 0;
  /** The last take() stopped only because `b` ended inside the record there (it needs more input, nothing else is known against it). */
  inputEnded = false;
  /** The clock TTLs are counted from (seconds since 2010), set by the sink per slice. */
  now = 0;
  private readonly module: RecordRowsModule;
  private readonly rowInfo: number;
  private readonly withGeneration: boolean;
  private readonly ownersAt: number;
  private readonly regionTableAt: number;
  /** The --set-list table in module memory (0: none) and its size. */
  private readonly setListAt: number;
  private readonly setListBytes: number;
  /** The --bin-list table in module memory (0: none) and its size. */
  private readonly binListAt: number;
  private readonly binListBytes: number;
  private readonly regionSize: number;
  private readonly regions: number[] = [];
  private readonly builders: (BatchCommandBuilder | undefined)[] = [];
  private ownersGeneration = -1;
  private ownersNamespace: Buffer | null = null;
  private closed = false;

  /** A tier for these settings, or null when the TypeScript path must do it all (a batch size the regions do not suit, an engine without SIMD). */
  static create(settings: RecordRowsSettings): RecordRowsTier | null {
    if (settings.batchSize < 1 || settings.batchSize > MAX_BATCH_ROWS) return null;
    if (settings.targetNamespace !== null && settings.targetNamespace.length > NAMESPACE_MAX) return null;
    const module = recordRowsModule();
    return module === null ? null : new RecordRowsTier(module, settings);
  }

  private constructor(
    module: RecordRowsModule,
    private readonly settings: RecordRowsSettings,
  ) {
    this.module = module;
    this.rowInfo = batchRowInfo(settings.flags);
    this.withGeneration = sendsGeneration(settings.flags);
    this.ownersAt = module.allocate(2 * PARTITION_COUNT);
    this.regionTableAt = module.allocate(12 * module.maxRegions);
    if ((module.x.MAX_ROW.value as number) > REGION_ROW_BYTES) throw new Error('internal: record-rows.wasm writes rows larger than its regions');
    this.regionSize = 4 * (2 * settings.batchSize + 1) + REGION_ROW_BYTES;
    [this.setListAt, this.setListBytes] = nameTable(module, settings.setList, SET_LIST_SLOT);
    [this.binListAt, this.binListBytes] = nameTable(module, settings.binList, BIN_LIST_SLOT);
  }

  /**
   * Takes consecutive records of the common shape from `b[p..end)` (`line` is the line of `p`,
   * `namespace` the one every record must name, as the decoder interned it; `serial` changes
   * whenever the bytes of `b` may have). Returns the position after the last record taken (`p`
   * when none), with {@link records}, {@link expired} and {@link nextLine} set.
   */
  take(b: Buffer, p: number, end: number, line: number, namespace: Buffer, serial: number): number {
    this.records = 0;
    this.expired = 0;
    this.skipped = 0;
    this.nextLine = line;
    this.inputEnded = false;
    if (this.closed || namespace.length === 0 || namespace.length > NAMESPACE_MAX) return p;
    const module = this.module;
    const x = module.x;
    if (!this.prepare(namespace)) return p;
    if (module.windowOwner !== this || module.windowSerial !== serial || p < module.windowStart || p >= module.windowEnd) {
      const windowEnd = Math.min(end, p + module.inputCapacity);
      new Uint8Array(x.memory.buffer, module.input, windowEnd - p).set(b.subarray(p, windowEnd));
      module.windowOwner = this;
      module.windowSerial = serial;
      module.windowStart = p;
      module.windowEnd = windowEnd;
    }
    const shift = module.windowStart - module.input;
    const windowEnd = module.windowEnd - shift;
    let from = p - shift;
    let at = line;
    let records = 0;
    let expired = 0;
    let skipped = 0;
    for (;;) {
      const status = x.decode(from, windowEnd, at);
      records += x.records.value as number;
      expired += x.expired.value as number;
      skipped += x.skipped.value as number;
      at = x.nextLine.value as number;
      from = x.stopAt.value as number;
      if (status === STOPPED) break;
      const region = x.region.value as number;
      if (status === REGION_FULL) {
        if (!this.cut(region)) throw new Error('internal: record-rows.wasm found an empty region full');
      }
      else if (status === REGION_MISSING) this.addRegion(region);
      else throw new Error(`internal: record-rows.wasm returned status ${status}`);
    }
    this.records = records;
    this.expired = expired;
    this.skipped = skipped;
    this.nextLine = at;
    this.inputEnded = x.short.value === 1 && module.windowEnd === end;
    return from + shift;
  }

  /** Hands on every region's rows as commands (the end of the input). */
  flush(): void {
    for (let region = 0; region < this.regions.length; region++) if (this.regions[region] !== undefined) this.cut(region);
  }

  /** Gives the tier's memory back (its regions must have been flushed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const module = this.module;
    for (const at of this.regions) if (at !== undefined) module.release(at, this.regionSize);
    module.release(this.ownersAt, 2 * PARTITION_COUNT);
    module.release(this.regionTableAt, 12 * module.maxRegions);
    if (this.setListAt !== 0) module.release(this.setListAt, this.setListBytes);
    if (this.binListAt !== 0) module.release(this.binListAt, this.binListBytes);
    if (module.windowOwner === this) module.windowOwner = null;
    if (module.configuredFor === this) module.configuredFor = null;
  }

  /** Sets the module up for this tier's records; false when they must go the TypeScript way. */
  private prepare(namespace: Buffer): boolean {
    const x = this.module.x;
    const target = this.settings.targetNamespace ?? namespace;
    const owners = this.settings.owners;
    if (this.ownersNamespace !== target || this.ownersGeneration !== owners.routingGeneration) {
      const generation = owners.routingGeneration;
      try {
        owners.fillOwnerSlots(target, new Uint16Array(x.memory.buffer, this.ownersAt, PARTITION_COUNT));
      } catch {
        // An unknown namespace: the TypeScript path reports it for the record.
        this.ownersNamespace = null;
        return false;
      }
      const table = new Uint16Array(x.memory.buffer, this.ownersAt, PARTITION_COUNT);
      for (let partition = 0; partition < PARTITION_COUNT; partition++) {
        if (table[partition] >= this.module.maxRegions) return false;
      }
      this.ownersNamespace = target;
      this.ownersGeneration = generation;
    }
    // The module's settings stay until another tier (another file of this thread) or another
    // namespace needs other ones: setting them costs more than a short take().
    const module = this.module;
    if (module.configuredFor !== this || module.configuredNamespace !== namespace) {
      const memory = new Uint8Array(x.memory.buffer);
      memory.set(namespace, x.expectedNamespace());
      memory.set(target, x.targetNamespace());
      x.expectedLength.value = namespace.length;
      x.targetLength.value = target.length;
      x.extraTtl.value = BigInt(this.settings.extraTtl);
      x.rowInfo.value = this.rowInfo;
      x.withGeneration.value = this.withGeneration ? 1 : 0;
      x.maxRows.value = this.settings.batchSize;
      x.regionBytes.value = REGION_ROW_BYTES;
      // The module's routing table and region table are this tier's.
      x.ownersAt.value = this.ownersAt;
      x.regionsAt.value = this.regionTableAt;
      x.setListAt.value = this.setListAt;
      x.binListAt.value = this.binListAt;
      module.configuredFor = this;
      module.configuredNamespace = namespace;
      module.configuredNow = -1;
    }
    if (module.configuredNow !== this.now) {
      x.now.value = BigInt(this.now);
      module.configuredNow = this.now;
    }
    return true;
  }

  private addRegion(region: number): void {
    const at = this.module.allocate(this.regionSize);
    this.regions[region] = at;
    new DataView(this.module.x.memory.buffer).setUint32(this.regionTableAt + 12 * region, at, true);
  }

  /** Makes region `region`'s rows a command and empties the region; false when it held none. */
  private cut(region: number): boolean {
    const module = this.module;
    const memory = module.x.memory.buffer;
    const entry = new DataView(memory, this.regionTableAt + 12 * region, 12);
    const used = entry.getUint32(4, true);
    const rows = entry.getUint32(8, true);
    if (rows === 0) return false;
    const base = this.regions[region];
    const maxRows = this.settings.batchSize;
    const slot = region - 1;
    const builder = (this.builders[region] ??= new BatchCommandBuilder(slot, maxRows, this.settings.flags));
    builder.appendRegion(
      new Uint8Array(memory, base + 4 * (2 * maxRows + 1), used),
      new Uint32Array(memory, base, rows),
      new Uint32Array(memory, base + 4 * (maxRows + 1), rows),
    );
    const command = builder.take(this.settings.file, this.settings.timeoutMs);
    entry.setUint32(4, 0, true);
    entry.setUint32(8, 0, true);
    if (command !== null) this.settings.onCommand(command);
    return true;
  }
}
