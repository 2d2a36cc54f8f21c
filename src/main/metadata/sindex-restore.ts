/**
 * Secondary-index restore, as C asrestore 4.5.8 does it (restore.c `restore_index`,
 * `check_index`, `restore_indexes`, `wait_index`; the C client 7.3.0's aerospike_index.c for the
 * command texts), against the minimal {@link InfoClient}.
 *
 * Per index:
 * 1. `-n src,dst`: the index's namespace must be src (else an error naming the line) and becomes dst.
 * 2. Not in --set-list → skipped (Counter.INDEXES_SKIPPED).
 * 3. `sindex-list:ns=<ns>;b64=true` on any node: absent → create; same definition → matched
 *    (Counter.INDEXES_MATCHED); different → `sindex-delete`, then re-check once a second up to
 *    10 times until it is no longer different: absent → create; same (someone re-created it) →
 *    Counter.INDEXES_MISMATCHED, not created; still different → error.
 * 4. Create: `sindex-create:namespace=<ns>[;set=<set>];indexname=<name>[;context=<b64>];
 *    indextype=<DEFAULT|LIST|MAPKEYS|MAPVALUES>;bin=<bin>;type=<NUMERIC|STRING|GEO2DSPHERE|BLOB>`
 *    (before 8.1: `ns=` and `indexdata=<bin>,<TYPE>`; from 8.1.3 NUMERIC is sent as INTEGER, as
 *    newer C clients do).
 * Every index counts in Counter.INDEXES once handled (skipped and matched included), as in C.
 *
 * --indexes-last: indexes are collected and created by {@link SecondaryIndexRestorer.restoreDeferred}.
 * --wait: {@link SecondaryIndexRestorer.waitForBuilds} polls `sindex-stat:namespace=..;indexname=..`
 * (before 8.1: `sindex/<ns>/<name>`) on every node every 500 ms until each says `load_pct=100`.
 *
 * Index operations are serialised, so concurrent callers never interleave a check and a create.
 */
import { AsrestoreError } from '../../shared/errors.js';
import type { SecondaryIndexDef, SindexIndexType, SindexPathType } from '../../shared/asb/types.js';
import { Counter, type Counters } from '../../shared/counters.js';
import {
  DEFAULT_METADATA_TIMING,
  ServerVersion,
  answerFor,
  askAnyNode,
  assertSendableInInfo,
  parseInfoError,
  type InfoClient,
  type MetadataLogger,
  type MetadataTiming,
} from './info.js';
import { findServerIndex, indexDifference, normaliseSet, type IndexSpec } from './sindex-list.js';

export type IndexOutcome = 'created' | 'matched' | 'mismatched' | 'skipped' | 'deferred';

export interface SindexRestoreOptions {
  /** --set-list; empty or absent = every set. */
  setList?: readonly string[];
  /** -n as given: [] or [src] (no change), or [src, dst]. */
  namespaces?: readonly string[];
  /** --indexes-last: collect, create in restoreDeferred(). */
  indexesLast?: boolean;
  /** The server's `build` (e.g. "8.1.2.0"); asked with `build` when absent. */
  serverVersion?: string;
  counters: Counters;
  logger: MetadataLogger;
  timing?: Partial<MetadataTiming>;
}

const INDEX_TYPE_WORDS: Record<SindexIndexType, string> = { N: 'DEFAULT', L: 'LIST', K: 'MAPKEYS', V: 'MAPVALUES' };
const PATH_TYPE_WORDS: Record<SindexPathType, string> = { S: 'STRING', N: 'NUMERIC', G: 'GEO2DSPHERE', B: 'BLOB' };

/** The info command that lists a namespace's indexes (C asrestore always sends `ns=` and b64). */
export function sindexListCommand(namespace: string): string {
  return `sindex-list:ns=${namespace};b64=true`;
}

function namespaceKey(version: ServerVersion): string {
  return version.atLeast(8, 1) ? 'namespace' : 'ns';
}

/** The exact `sindex-create` text the C client sends for this index to a server of `version`. */
export function sindexCreateCommand(spec: IndexSpec, version: ServerVersion): string {
  let command = `sindex-create:${namespaceKey(version)}=${spec.namespace}`;
  if (spec.set !== null) command += `;set=${spec.set}`;
  command += `;indexname=${spec.name}`;
  const path = spec.paths[0];
  let dataType = path ? PATH_TYPE_WORDS[path.type] : undefined;
  if (dataType === 'NUMERIC' && version.atLeast(8, 1, 3)) dataType = 'INTEGER';
  if (spec.expression !== null) {
    command += `;exp=${spec.expression}`;
    if (spec.indexType !== 'N') command += `;indextype=${INDEX_TYPE_WORDS[spec.indexType]}`;
    if (dataType) command += `;type=${dataType}`;
    return command;
  }
  if (!path || !dataType) throw new AsrestoreError('INDEX_RESTORE_FAILED', `Index ${spec.name} has neither a bin nor an expression`);
  if (spec.context !== null) command += `;context=${spec.context}`;
  command += `;indextype=${INDEX_TYPE_WORDS[spec.indexType]}`;
  command += version.atLeast(8, 1) ? `;bin=${path.path};type=${dataType}` : `;indexdata=${path.path},${dataType}`;
  return command;
}

export function sindexDeleteCommand(namespace: string, name: string, version: ServerVersion): string {
  return `sindex-delete:${namespaceKey(version)}=${namespace};indexname=${name}`;
}

/** The command whose answer carries `load_pct` (the C client's index-wait). */
export function sindexStatCommand(namespace: string, name: string, version: ServerVersion): string {
  return version.atLeast(8, 1) ? `sindex-stat:namespace=${namespace};indexname=${name}` : `sindex/${namespace}/${name}`;
}

/**
 * A backup's index as it will be restored: namespace remapped, a `null`/`NULL`/empty set made
 * set-less. Throws NAMESPACE_MISMATCH when `-n src,dst` does not match the index's namespace.
 */
export function backupIndexSpec(def: SecondaryIndexDef, namespaces: readonly string[] = [], file?: string): IndexSpec {
  let namespace = def.namespace;
  if (namespaces.length > 1) {
    if (def.namespace !== namespaces[0]) {
      throw new AsrestoreError(
        'NAMESPACE_MISMATCH',
        `Invalid namespace ${def.namespace} in index ${def.name}, expected: ${namespaces[0]} (line ${def.line})`,
        { file, line: def.line },
      );
    }
    namespace = namespaces[1]!;
  }
  return {
    namespace,
    name: def.name,
    set: normaliseSet(def.set),
    indexType: def.indexType,
    // Restore uses the first path only (C).
    paths: def.paths.length > 0 ? [{ path: def.paths[0]!.path, type: def.paths[0]!.type }] : [],
    context: def.context === '' ? null : def.context,
    expression: def.expression === '' ? null : def.expression,
  };
}

/** `ns:set:name (bin)` as C's messages print an index. */
export function describeIndex(spec: IndexSpec): string {
  const target = spec.expression !== null && !spec.paths[0]?.path ? 'expression' : (spec.paths[0]?.path ?? '');
  return `${spec.namespace}:${spec.set ?? ''}:${spec.name} (${target})`;
}

type CheckResult = { status: 'absent' } | { status: 'same' } | { status: 'different'; why: string };

export class SecondaryIndexRestorer {
  private readonly timing: MetadataTiming;
  private readonly setList: readonly string[];
  private readonly namespaces: readonly string[];
  private readonly deferred: IndexSpec[] = [];
  private readonly created: IndexSpec[] = [];
  private version: Promise<ServerVersion> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: InfoClient,
    private readonly options: SindexRestoreOptions,
  ) {
    this.timing = { ...DEFAULT_METADATA_TIMING, ...options.timing };
    this.setList = options.setList ?? [];
    this.namespaces = options.namespaces ?? [];
    if (options.serverVersion !== undefined) this.version = Promise.resolve(ServerVersion.parse(options.serverVersion));
  }

  /**
   * Takes one index from a backup: restores it now, or keeps it for restoreDeferred() with
   * --indexes-last. Throws on failure (the restore must stop, exit 1). `file` names the backup file
   * for error messages.
   */
  async submit(def: SecondaryIndexDef, file?: string): Promise<IndexOutcome> {
    const spec = backupIndexSpec(def, this.namespaces, file);
    if (this.options.indexesLast) {
      this.deferred.push(spec);
      this.options.counters.add(Counter.INDEXES, 1);
      return 'deferred';
    }
    const outcome = await this.serialised(() => this.restore(spec));
    this.options.counters.add(Counter.INDEXES, 1);
    return outcome;
  }

  /**
   * With --indexes-last, restores the collected indexes in backup order. Like C it tries every
   * one; each failure is logged, and then one error is thrown.
   */
  async restoreDeferred(): Promise<void> {
    const pending = this.deferred.splice(0);
    let failed = 0;
    let first: unknown = null;
    for (const spec of pending) {
      try {
        await this.serialised(() => this.restore(spec));
      } catch (error) {
        failed++;
        first ??= error;
        this.options.logger.error((error as Error).message);
      }
    }
    if (failed > 0) {
      throw new AsrestoreError(
        'INDEX_RESTORE_FAILED',
        `Error while restoring secondary indexes to cluster: ${failed} of ${pending.length} failed`,
        {},
        { cause: first },
      );
    }
  }

  /** C's closing lines: skipped (unwanted set), matched, and mismatched (ERR) index counts. */
  logSummary(): void {
    const { counters, logger } = this.options;
    const skipped = counters.get(Counter.INDEXES_SKIPPED);
    const matched = counters.get(Counter.INDEXES_MATCHED);
    const mismatched = counters.get(Counter.INDEXES_MISMATCHED);
    if (skipped > 0) logger.info(`Skipped ${skipped} index(es) with unwanted set(s)`);
    if (matched > 0) logger.info(`Skipped ${matched} matched index(es)`);
    if (mismatched > 0) logger.error(`Skipped ${mismatched} mismatched index(es)`);
  }

  /**
   * --wait: waits until every index this restorer created is built on every node. Every index is
   * waited for; each failure is logged, and then one error is thrown.
   */
  async waitForBuilds(): Promise<void> {
    let failed = 0;
    let first: unknown = null;
    for (const spec of this.created) {
      this.options.logger.verbose(`Waiting for index ${describeIndex(spec)}`);
      try {
        await this.waitForBuild(spec);
      } catch (error) {
        failed++;
        first ??= error;
        this.options.logger.error((error as Error).message);
      }
    }
    if (failed > 0) {
      throw new AsrestoreError(
        'INDEX_WAIT_FAILED',
        `Error while waiting for secondary indexes: ${failed} of ${this.created.length} failed`,
        {},
        { cause: first },
      );
    }
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private serverVersion(): Promise<ServerVersion> {
    this.version ??= askAnyNode(this.client, 'build').then((build) => {
      const error = parseInfoError(build);
      if (error) throw new AsrestoreError('SERVER_VERSION', `Error while reading the server build: ${error.message}`);
      return ServerVersion.parse(build);
    });
    return this.version;
  }

  private async restore(spec: IndexSpec): Promise<IndexOutcome> {
    const { counters, logger } = this.options;
    const description = describeIndex(spec);
    if (this.setList.length > 0 && !this.setList.includes(spec.set ?? '')) {
      logger.verbose(`Skipping index with unwanted set ${description}`);
      counters.add(Counter.INDEXES_SKIPPED, 1);
      return 'skipped';
    }
    logger.verbose(`Restoring index ${description}`);
    assertSpecSendable(spec);
    const version = await this.serverVersion();

    const original = await this.check(spec, description);
    let current = original;
    if (original.status === 'different') {
      logger.verbose(`Removing mismatched index ${spec.namespace}:${spec.name}`);
      const command = sindexDeleteCommand(spec.namespace, spec.name, version);
      const error = parseInfoError(await this.ask(command, `Error while removing index ${spec.namespace}:${spec.name}`));
      if (error) {
        throw new AsrestoreError(
          'INDEX_RESTORE_FAILED',
          `Error while removing index ${spec.namespace}:${spec.name} - code ${error.code}: ${error.message}`,
        );
      }
      // The delete is asynchronous on the server: "ok" does not mean the index is gone yet.
      for (let tries = 0; tries < this.timing.recheckTries; tries++) {
        await this.timing.sleep(this.timing.recheckIntervalMs);
        current = await this.check(spec, description);
        if (current.status !== 'different') break;
      }
    }

    if (current.status === 'different') {
      throw new AsrestoreError(
        'INDEX_RESTORE_FAILED',
        `Error while removing mismatched index ${spec.namespace}:${spec.name} (still different after ` +
          `${this.timing.recheckTries} checks: ${current.why})`,
      );
    }
    if (current.status === 'same') {
      logger.verbose(`Skipping matched index ${description}`);
      if (original.status === 'different') {
        counters.add(Counter.INDEXES_MISMATCHED, 1);
        return 'mismatched';
      }
      counters.add(Counter.INDEXES_MATCHED, 1);
      return 'matched';
    }

    logger.verbose(`Creating index ${description}:[${spec.context ?? ''}]`);
    if (spec.context !== null && !isCdtContextBase64(spec.context)) {
      throw new AsrestoreError(
        'INDEX_RESTORE_FAILED',
        `Error while converting b64 encoded ctx ${spec.context} into as_cdt_ctx; index info ${description}`,
      );
    }
    const command = sindexCreateCommand(spec, version);
    const error = parseInfoError(await this.ask(command, `Error while creating index ${description}`));
    if (error) {
      throw new AsrestoreError(
        'INDEX_RESTORE_FAILED',
        `Error while creating index ${description} - code ${error.code}: ${error.message}`,
      );
    }
    this.created.push(spec);
    return 'created';
  }

  private async check(spec: IndexSpec, description: string): Promise<CheckResult> {
    this.options.logger.verbose(`Checking index ${spec.namespace}:${spec.set ?? ''}:${spec.name}`);
    const failure = `Error while checking index ${description}`;
    const answer = await this.ask(sindexListCommand(spec.namespace), failure);
    const error = parseInfoError(answer);
    if (error) {
      throw new AsrestoreError(
        'INDEX_RESTORE_FAILED',
        `${failure}: error while retrieving secondary index info - code ${error.code}: ${error.message}`,
      );
    }
    let found: IndexSpec | null;
    try {
      found = findServerIndex(spec.namespace, answer, spec.name);
    } catch (parseError) {
      throw new AsrestoreError('INDEX_RESTORE_FAILED', `${failure}: ${(parseError as Error).message}`);
    }
    if (found === null) {
      this.options.logger.verbose('Index not found');
      return { status: 'absent' };
    }
    const why = indexDifference(spec, found);
    if (why === null) return { status: 'same' };
    this.options.logger.verbose(why);
    return { status: 'different', why };
  }

  /** One command to any node; a transport failure becomes an error starting with `failure`. */
  private async ask(command: string, failure: string): Promise<string> {
    try {
      return await askAnyNode(this.client, command);
    } catch (error) {
      throw new AsrestoreError('INDEX_RESTORE_FAILED', `${failure}: ${(error as Error).message}`, {}, { cause: error });
    }
  }

  private async waitForBuild(spec: IndexSpec): Promise<void> {
    const description = describeIndex(spec);
    const failure = `Error while waiting for index ${description}`;
    const command = sindexStatCommand(spec.namespace, spec.name, await this.serverVersion());
    let bestProgress = -1;
    let lastProgressAt = this.timing.now();
    for (;;) {
      let answers: Map<string, string>[];
      try {
        answers = await this.client.infoAllNodes([command]);
      } catch (error) {
        throw new AsrestoreError('INDEX_WAIT_FAILED', `${failure}: ${(error as Error).message}`, {}, { cause: error });
      }
      let done = answers.length > 0;
      let progress = 0;
      for (const nodeAnswers of answers) {
        const answer = answerFor(nodeAnswers, command);
        const error = parseInfoError(answer);
        if (error) {
          // 201 "no index": the node has not taken the new index in yet; keep polling.
          if (error.code === 201) {
            done = false;
            continue;
          }
          throw new AsrestoreError('INDEX_WAIT_FAILED', `${failure} - code ${error.code}: ${error.message}`);
        }
        const percent = loadPercent(answer);
        if (percent === null) throw new AsrestoreError('INDEX_WAIT_FAILED', `${failure}: Create index error: ${answer}`);
        if (percent < 100) done = false;
        progress += percent;
      }
      if (done) return;
      const now = this.timing.now();
      if (progress > bestProgress) {
        bestProgress = progress;
        lastProgressAt = now;
      } else if (now - lastProgressAt >= this.timing.waitTimeoutMs) {
        throw new AsrestoreError(
          'INDEX_WAIT_FAILED',
          `${failure}: the build made no progress for ${this.timing.waitTimeoutMs} ms (timeout)`,
        );
      }
      await this.timing.sleep(this.timing.waitPollIntervalMs);
    }
  }
}

/** `load_pct=<n>` in a sindex-stat (or sindex/<ns>/<name>) answer. */
export function loadPercent(answer: string): number | null {
  const match = /(?:^|;)load_pct=(\d+)/.exec(answer);
  return match ? Number(match[1]) : null;
}

function assertSpecSendable(spec: IndexSpec): void {
  assertSendableInInfo('namespace', spec.namespace);
  assertSendableInInfo('index name', spec.name);
  if (spec.set !== null) assertSendableInInfo('set', spec.set);
  for (const path of spec.paths) assertSendableInInfo('bin', path.path);
}

/** A base64 msgpack array of (type, value) pairs: what the C client can turn into a CDT context. */
function isCdtContextBase64(text: string): boolean {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return false;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0) return false;
  const first = bytes[0]!;
  let count: number;
  if (first >= 0x90 && first <= 0x9f) count = first & 0x0f;
  else if (first === 0xdc && bytes.length >= 3) count = bytes.readUInt16BE(1);
  else if (first === 0xdd && bytes.length >= 5) count = bytes.readUInt32BE(1);
  else return false;
  return count > 0 && count % 2 === 0;
}
