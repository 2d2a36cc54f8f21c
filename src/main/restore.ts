/**
 * The restore run (the coordinator, on the main thread), in C asrestore 4.5.8's order
 * (restore.c `restore_main`): connect and tend the cluster, decide batch or single-record writes,
 * find the backup units, then let the worker pool restore them — --parallel units at once over
 * --event-loops threads, every thread with its own connections, all of them routed by the
 * partition map this thread keeps current in a SharedArrayBuffer — while this thread restores the
 * secondary indexes and UDFs the workers meet, prints the progress lines and, at the end, the
 * deferred indexes (--indexes-last), the waits (--wait), the summary and the exit code.
 *
 * Every record decoded ends in exactly one of expired / skipped / err_ignored / inserted /
 * existed / fresher; a run that cannot say so for some records fails and says how many were left
 * unresolved.
 */
import { stat } from 'node:fs/promises';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { prepareAuth, type PreparedAuth } from '../shared/aerospike/auth.js';
import { Cluster } from '../shared/aerospike/cluster.js';
import { resolveTlsSettings, type ResolvedTls } from '../shared/aerospike/tls-options.js';
import type { SecondaryIndexDef, UdfModule } from '../shared/asb/types.js';
import { Counter, Counters } from '../shared/counters.js';
import { AsrestoreError } from '../shared/errors.js';
import { listBackupFiles, type BackupFileEntry } from '../shared/io/local-files.js';
import { createRunControl, isStopRequested, requestStop } from '../shared/run-control.js';
import { LOAD_WINDOW_MS, PauseLedger, spreadModeFrom, type SpreadMode } from '../shared/thread-load.js';
import type { WriteMode } from '../worker/batcher.js';
import { InFlightLimit } from '../shared/aerospike/in-flight-limit.js';
import type { MetadataReply, MetadataRequest, RestoreFileResult, RestoreFileTask, RestoreRunSettings } from '../worker/restore-task.js';
import type { WriteBatchesResult, WriteBatchesTask } from '../worker/batch-channel.js';
import { restoreWriteFlags } from '../worker/write-policy.js';
import { err, inf, ver } from './log.js';
import { MetadataRestorer } from './metadata/metadata-restore.js';
import { ServerVersion } from './metadata/info.js';
import { resolvePassword, resolveTlsKeyfilePassword, type RestoreOptions, type TerminalPrompt } from './options.js';
import { ProgressReporter } from './progress.js';
import type { RunHandle } from './validate.js';
import { createWorkerPool, measureThreadLoad, placedOn, runBounded, type WorkerPool } from './worker-pool.js';
import { WorkerPlacement } from './worker-placement.js';

export interface RestoreDependencies {
  /** stdin for `-i -` (default process.stdin). */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** Receives the handle as soon as the run can be interrupted (SIGINT/SIGTERM). */
  onStart?: (handle: RunHandle) => void;
  /** Asks for passwords that were not given (default: the terminal). */
  prompt?: TerminalPrompt;
  /** The cluster tend interval (tests shorten it). Default 1000 ms. */
  tendIntervalMs?: number;
  /** Where ASRESTORE_TS_SPREAD is read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Numbers this process's runs: a worker thread keeps one write client per run id (writer-context.ts),
 * so ids only need to differ between the runs of one process.
 */
let runsStarted = 0;

type RestoreWorkerTask = RestoreFileTask | WriteBatchesTask;
type RestoreWorkerResult = RestoreFileResult | WriteBatchesResult;
type RestorePool = Piscina<RestoreWorkerTask, RestoreWorkerResult>;

/** What decides batch writes: C `batch_writes_supported` (server ≥ 6.0 and batch-index-threads > 0). */
export function batchWritesSupported(build: string, serviceConfig: string | undefined): boolean {
  if (!ServerVersion.parse(build).atLeast(6, 0)) return false;
  if (serviceConfig === undefined) return false;
  for (const item of serviceConfig.split(';')) {
    if (item.startsWith('batch-index-threads=')) {
      const threads = Number.parseInt(item.slice('batch-index-threads='.length), 10);
      return Number.isFinite(threads) && threads > 0;
    }
  }
  return false;
}

function logError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  for (const line of message.split('\n')) err(line);
}

/** The TLS settings the options name, with PEM text a secret agent returned used as given. */
async function tlsFor(options: RestoreOptions, prompt: TerminalPrompt | undefined): Promise<ResolvedTls | undefined> {
  const tls = options.tls;
  if (!tls.enable) return undefined;
  const keyfilePassword = await resolveTlsKeyfilePassword(options, prompt);
  const resolved = await resolveTlsSettings({
    enable: true,
    name: tls.name ?? undefined,
    cafile: tls.caFile ?? undefined,
    capath: tls.caPath ?? undefined,
    protocols: tls.protocols ?? undefined,
    cipherSuite: tls.cipherSuite ?? undefined,
    keyfile: tls.keyFile ?? undefined,
    keyfilePassword: keyfilePassword ?? undefined,
    certfile: tls.certFile ?? undefined,
    crlCheck: tls.crlCheck,
    crlCheckAll: tls.crlCheckAll,
    certBlacklist: tls.certBlacklist ?? undefined,
    logSessionInfo: tls.logSessionInfo,
  });
  if (resolved === undefined) return undefined;
  if (tls.caPem !== null) resolved.ca = [...(resolved.ca ?? []), tls.caPem];
  if (tls.certPem !== null) resolved.cert = tls.certPem;
  if (tls.keyPem !== null) resolved.key = tls.keyPem;
  return resolved;
}

async function authFor(options: RestoreOptions, prompt: TerminalPrompt | undefined): Promise<PreparedAuth | undefined> {
  const password = await resolvePassword(options, prompt);
  return prepareAuth(
    { mode: options.authMode, user: options.user ?? undefined, password: password ?? undefined },
    { tlsEnabled: options.tls.enable },
  );
}

/** The sum of the six record outcomes: every decoded record must reach one of them. */
function resolvedRecords(counters: Counters): number {
  return (
    counters.get(Counter.RECORDS_EXPIRED) +
    counters.get(Counter.RECORDS_SKIPPED) +
    counters.get(Counter.RECORDS_IGNORED) +
    counters.get(Counter.RECORDS_INSERTED) +
    counters.get(Counter.RECORDS_EXISTED) +
    counters.get(Counter.RECORDS_FRESHER)
  );
}

/** Runs the restore; resolves with the exit code (0 or 1). */
export async function runRestore(options: RestoreOptions, deps: RestoreDependencies = {}): Promise<number> {
  const input = options.input;
  inf(
    `Starting restore to ${options.host} (bins: ${options.binListText ?? '[all]'}, sets: ${options.setListText ?? '[all]'}) from ${
      input.kind === 'stdin' ? '[stdin]' : input.kind === 'file' ? input.path : (options.directory ?? options.directoryList ?? '')
    }`,
  );

  const counters = new Counters();
  const control = createRunControl();
  let interrupted = false;
  deps.onStart?.({
    interrupt() {
      interrupted = true;
      requestStop(control);
    },
  });

  let aesKey: Buffer | null;
  let spread: SpreadMode;
  let auth: PreparedAuth | undefined;
  let tls: ResolvedTls | undefined;
  const progress = new ProgressReporter({ counters, machinePath: options.machine });
  try {
    restoreWriteFlags(options);
    spread = spreadModeFrom(deps.env ?? process.env);
    // validate.js (and node:crypto) are loaded only for a run that names a key.
    aesKey = options.encryptionKey === null ? null : (await import('./validate.js')).resolveEncryptionKey(options);
    auth = await authFor(options, deps.prompt);
    tls = await tlsFor(options, deps.prompt);
    progress.openMachineFile();
  } catch (error) {
    logError(error);
    return 1;
  }
  if (interrupted) return 1;

  let cluster: Cluster;
  try {
    cluster = await Cluster.connect({
      hosts: options.host,
      port: options.port,
      auth,
      tls,
      servicesAlternate: options.servicesAlternate,
      timeoutMs: options.timeout,
      tendIntervalMs: deps.tendIntervalMs,
      log: (_level, message) => ver(message),
    });
  } catch (error) {
    err(`Error while connecting to ${options.host}: ${(error as Error).message}`);
    progress.dispose();
    return 1;
  }

  try {
    return await restoreWithCluster(options, deps, cluster, counters, control, progress, aesKey, spread, () => interrupted);
  } finally {
    await cluster.close();
  }
}

async function restoreWithCluster(
  options: RestoreOptions,
  deps: RestoreDependencies,
  cluster: Cluster,
  counters: Counters,
  control: SharedArrayBuffer,
  progress: ProgressReporter,
  aesKey: Buffer | null,
  spread: SpreadMode,
  isInterrupted: () => boolean,
): Promise<number> {
  const input = options.input;
  inf(`Processing ${cluster.nodes.length} node(s)`);

  let mode: WriteMode = 'single';
  try {
    const build = cluster.serverVersion;
    if (!ServerVersion.parse(build).atLeast(4, 9)) {
      throw new AsrestoreError('SERVER_TOO_OLD', `Aerospike Server version 4.9 or greater is required, the cluster runs ${build}`);
    }
    if (!options.disableBatchWrites) {
      const answers = await cluster.info(['get-config:context=service']);
      if (batchWritesSupported(build, answers.get('get-config:context=service'))) mode = 'batch';
    }
  } catch (error) {
    logError(error);
    progress.dispose();
    return 1;
  }
  const batchSize = options.batchSize ?? (mode === 'batch' ? 128 : 16);
  ver(`Using ${mode === 'batch' ? 'batch writes' : 'single-record writes'} with a batch size of ${batchSize}`);

  // The backup units.
  let files: BackupFileEntry[] = [];
  let inputFileSize: number | undefined;
  try {
    if (input.kind === 'directories') {
      const found = await listBackupFiles(input.directories, {
        listed: (listing) => inf(`Found ${listing.files.length} backup file(s) in ${listing.directory}`),
      });
      files = found.files;
      if (!options.noRecords) counters.set(Counter.BYTES_ESTIMATED, found.totalBytes);
    } else {
      inf(`Restoring ${options.inputFile}`);
      if (!options.noRecords) {
        if (input.kind === 'stdin') counters.set(Counter.BYTES_ESTIMATED, input.sizeHint ?? 0);
        else {
          try {
            const st = await stat(input.path);
            if (st.isFile()) inputFileSize = st.size;
            counters.set(Counter.BYTES_ESTIMATED, st.isFile() ? st.size : 0);
          } catch {
            // The worker reports the open failure with its own message.
          }
        }
      }
    }
  } catch (error) {
    logError(error);
    progress.dispose();
    return 1;
  }
  if (!options.noRecords) inf('Restoring records');

  // throttle.js is loaded only for a run that throttles.
  const throttle =
    options.bandwidth > 0 && options.tps > 0
      ? new (await import('../worker/throttle.js')).ThrottleController({ bytesPerSecond: options.bandwidth, recordsPerSecond: options.tps }, counters)
      : null;
  const namespaces = options.namespace === null ? [] : options.namespace.target === null ? [options.namespace.source] : [options.namespace.source, options.namespace.target];
  const metadata = new MetadataRestorer(cluster, {
    setList: options.setList ?? [],
    namespaces,
    indexesLast: options.indexesLast,
    serverVersion: cluster.serverVersion,
    counters,
    logger: { info: inf, error: err, verbose: ver },
    wait: options.wait,
  });

  const totalTimeoutMs = options.totalTimeout > 0 ? options.totalTimeout : options.timeout;
  const run: RestoreRunSettings = {
    runId: `${process.pid}-${++runsStarted}`,
    cluster: cluster.sharedSettings,
    mode,
    batchSize,
    maxAsyncBatches: options.maxAsyncBatches,
    totalTimeoutMs,
    socketTimeoutMs: options.socketTimeout,
    policy: { unique: options.unique, replace: options.replace, noGeneration: options.noGeneration },
    retry: { maxRetries: options.maxRetries, scaleFactorMicros: options.retryScaleFactor },
    ignoreRecordError: options.ignoreRecordError,
    compress: options.compress,
    encryption: aesKey === null || options.encrypt === null ? null : { algorithm: options.encrypt, key: new Uint8Array(aesKey) },
    namespace: options.namespace,
    setList: options.setList,
    binList: options.binList,
    noRecords: options.noRecords,
    noIndexes: options.noIndexes,
    noUdfs: options.noUdfs,
    extraTtl: options.extraTtl,
    countersBuffer: counters.buffer,
    controlBuffer: control,
    inFlightBuffer: InFlightLimit.createBuffer(options.maxAsyncBatches),
    throttleBuffer: throttle?.buffer ?? null,
    handOverWhenIdle: spread === 'always',
    pauseLedgerBuffer: PauseLedger.createBuffer(options.eventLoops),
    verbose: options.verbose,
  };

  let metadataFailed = false;
  /** Serves one unit's metadata channel: restores what the worker met, answers ok or failed. */
  const serveMetadata = (port: MessagePort): void => {
    port.on('message', (request: MetadataRequest) => {
      const work =
        request.type === 'sindex'
          ? metadata.secondaryIndex(request.def as SecondaryIndexDef, request.file).then(() => undefined)
          : metadata.udf(
              {
                ...(request.module as UdfModule),
                content: Buffer.from(request.module.content.buffer, request.module.content.byteOffset, request.module.content.byteLength),
              },
              request.file,
            );
      work.then(
        () => port.postMessage({ id: request.id, ok: true } satisfies MetadataReply),
        (error: unknown) => {
          if (!metadataFailed) {
            metadataFailed = true;
            logError(error);
            err(request.type === 'sindex' ? 'Error while restoring secondary index' : 'Error while restoring UDF');
          }
          requestStop(control);
          port.postMessage({ id: request.id, ok: false } satisfies MetadataReply);
        },
      );
    });
  };
  const metadataChannel = (): { local: MessagePort; remote: MessagePort } => {
    const channel = new MessageChannel();
    serveMetadata(channel.port1);
    return { local: channel.port1, remote: channel.port2 };
  };

  // A single input is decoded by one worker and its batches written by all of them (one task each).
  const singleInput = input.kind !== 'directories';
  const threads = singleInput ? (options.noRecords ? 1 : Math.max(1, options.eventLoops)) : Math.min(options.eventLoops, files.length);
  // Files go to the threads where the CPU is (worker-placement.ts), unless told to spread them.
  const placement = !singleInput && threads > 1 && spread === 'as-needed' ? new WorkerPlacement({ threads }) : null;
  const workerPool: WorkerPool = createWorkerPool({
    threads,
    concurrentTasks: singleInput ? threads : Math.min(options.parallel, files.length),
    placed: placement !== null,
  });
  const pool = workerPool as unknown as RestorePool;
  const stopMeasuring =
    placement === null
      ? null
      : measureThreadLoad(workerPool, placement, LOAD_WINDOW_MS, new PauseLedger(run.pauseLedgerBuffer), () => {
          if (isStopRequested(control)) placement.cancelWaiting();
        });
  throttle?.start();
  progress.start();

  let failed = false;
  const results: (RestoreWorkerResult | null)[] = [];
  const openPorts: MessagePort[] = [];
  const runTask = (task: RestoreWorkerTask, transferList: MessagePort[]): Promise<RestoreWorkerResult> =>
    pool.run(task, { transferList } as unknown as Parameters<RestorePool['run']>[1]).then((result) => {
      if (!result.ok && !result.stopped) requestStop(control);
      return result;
    });
  /**
   * One input (on the pool's thread number `thread` when given); for a single input, its batches
   * also go to the other threads' writers.
   */
  const runUnit = (path: string, announce: boolean, dataPort?: MessagePort, sizeHint?: number, thread?: number): Promise<RestoreWorkerResult> => {
    const { local, remote } = metadataChannel();
    openPorts.push(local);
    const task: RestoreFileTask = { kind: 'restore-file', run, path, sizeHint, announce, metadataPort: remote };
    if (thread !== undefined) placedOn(task, thread);
    const transferList: MessagePort[] = [remote];
    if (dataPort !== undefined) {
      task.port = dataPort;
      transferList.push(dataPort);
    }
    const writers: Promise<RestoreWorkerResult>[] = [];
    if (singleInput && threads > 1) {
      task.writerPorts = [];
      for (let i = 1; i < threads; i++) {
        const channel = new MessageChannel();
        task.writerPorts.push(channel.port1);
        transferList.push(channel.port1);
        writers.push(runTask({ kind: 'write-batches', run, port: channel.port2 }, [channel.port2]));
      }
    }
    const decoding = runTask(task, transferList).finally(() => local.close());
    if (writers.length === 0) return decoding;
    return Promise.allSettled([decoding, ...writers]).then((settled) => {
      for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
      const [decoded, ...written] = settled.map((outcome) => (outcome as PromiseFulfilledResult<RestoreWorkerResult>).value);
      results.push(...written);
      return decoded;
    });
  };
  try {
    if (input.kind === 'directories') {
      const restoreFile = async (index: number): Promise<RestoreWorkerResult | null> => {
        const file = files[index];
        if (placement === null) return runUnit(file.path, true, undefined, file.size);
        const thread = await placement.waitForPlace(performance.now());
        if (thread === null) return null;
        const judged = placement.utilizations.map((u) => (Number.isNaN(u) ? '-' : u.toFixed(2)));
        ver(`${file.path}: on worker thread ${thread + 1} (files per thread: ${placement.files.join(', ')}; last utilisation judged: ${judged.join(', ')})`);
        try {
          return isStopRequested(control) ? null : await runUnit(file.path, true, undefined, file.size, thread);
        } finally {
          placement.finished(thread, performance.now());
        }
      };
      const started = runBounded(files.length, options.parallel, (index) => (isStopRequested(control) ? null : restoreFile(index)));
      // C prints this right after starting its threads, not when they are done.
      inf('Finished restoring backup file(s)');
      results.push(...(await started));
    } else if (input.kind === 'file') {
      const running = runUnit(input.path, false, undefined, inputFileSize);
      inf('Finished restoring backup file(s)');
      results.push(await running);
    } else {
      // Loaded here: only a restore from stdin needs them.
      const [{ runWithStreamedSource }, { STDIN_NAME }] = await Promise.all([
        import('../shared/port-stream.js'),
        import('../shared/io/stdin.js'),
      ]);
      const restored = runWithStreamedSource(deps.stdin ?? process.stdin, (port) => runUnit(STDIN_NAME, false, port), {
        started: () => inf('Finished restoring backup file(s)'),
      });
      results.push(await restored);
    }
  } catch (error) {
    // A worker that died (restore errors come back as results).
    logError(error);
    failed = true;
    requestStop(control);
  } finally {
    stopMeasuring?.();
    for (const port of openPorts) port.close();
  }

  for (const result of results) if (result !== null && !result.ok && !result.stopped) failed = true;
  if (metadataFailed || isInterrupted()) failed = true;

  if (!failed) {
    try {
      await metadata.finish();
    } catch (error) {
      logError(error);
      err('Error while restoring secondary indexes to cluster');
      failed = true;
    }
  }

  throttle?.stop();
  await pool.destroy();
  progress.finish();

  const unresolved = counters.get(Counter.RECORDS_TOTAL) - resolvedRecords(counters);
  if (unresolved !== 0) {
    err(`${unresolved} record(s) were read from the backup but not restored (neither written nor counted as expired, skipped or ignored)`);
    failed = true;
  }
  ver(`Exiting with status code ${failed ? 1 : 0}`);
  return failed ? 1 : 0;
}
