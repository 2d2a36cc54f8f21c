/**
 * UDF restore, as C asrestore 4.5.8 does it (restore.c `restore_udf`, `wait_udf`; the C client's
 * aerospike_udf.c): every module is put unconditionally, even when the cluster already has it,
 * with `udf-put:filename=<name>;content=<base64>;content-len=<length of the base64>;udf-type=LUA;`
 * on any node. --wait then polls `udf-list` on every node every 500 ms until each lists the file.
 * Differences: the wait is bounded (C polls forever) and matches the file name exactly (C looks
 * for the substring `filename=<name>`, so `a.lua` also matches `a.lua2`).
 */
import { AsrestoreError } from '../../shared/errors.js';
import type { UdfModule } from '../../shared/asb/types.js';
import { Counter, type Counters } from '../../shared/counters.js';
import {
  DEFAULT_METADATA_TIMING,
  answerFor,
  askAnyNode,
  assertSendableInInfo,
  parseInfoError,
  type InfoClient,
  type MetadataLogger,
  type MetadataTiming,
} from './info.js';

export interface UdfRestoreOptions {
  counters: Counters;
  logger: MetadataLogger;
  timing?: Partial<MetadataTiming>;
}

/** The module's file name as the server keys it: the part after the last `/` (C: as_basename). */
export function udfFileName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

export function udfPutCommand(fileName: string, content: Buffer): string {
  const base64 = content.toString('base64');
  return `udf-put:filename=${fileName};content=${base64};content-len=${base64.length};udf-type=LUA;`;
}

/** The file names a `udf-list` answer holds (`filename=<n>,hash=<h>,type=LUA;...`). */
export function udfListFileNames(answer: string): Set<string> {
  const names = new Set<string>();
  for (const entry of answer.split(';')) {
    for (const field of entry.split(',')) {
      if (field.startsWith('filename=')) names.add(field.slice(9));
    }
  }
  return names;
}

export class UdfRestorer {
  private readonly timing: MetadataTiming;
  private readonly restored: string[] = [];

  constructor(
    private readonly client: InfoClient,
    private readonly options: UdfRestoreOptions,
  ) {
    this.timing = { ...DEFAULT_METADATA_TIMING, ...options.timing };
  }

  /**
   * Puts one module; throws UDF_RESTORE_FAILED (the restore must stop) on any failure. `file`
   * names the backup file for error messages.
   */
  async put(module: UdfModule, file?: string): Promise<void> {
    this.options.logger.info(`Restoring UDF file ${module.name} (size ${module.content.length})`);
    if (module.language !== 'L') {
      throw new AsrestoreError('UDF_RESTORE_FAILED', `Error while putting UDF file ${module.name}: only Lua UDFs exist`);
    }
    const fileName = udfFileName(module.name);
    assertSendableInInfo('UDF file name', fileName);
    const failure = `Error while putting UDF file ${module.name}`;
    let answer: string;
    try {
      answer = await askAnyNode(this.client, udfPutCommand(fileName, module.content));
    } catch (error) {
      throw new AsrestoreError('UDF_RESTORE_FAILED', `${failure}: ${(error as Error).message}`, {}, { cause: error });
    }
    const error = parseInfoError(answer);
    if (error) {
      throw new AsrestoreError('UDF_RESTORE_FAILED', `${failure} - code ${error.code}: ${error.message}`, {
        file,
        line: module.line,
      });
    }
    this.restored.push(fileName);
    this.options.counters.add(Counter.UDFS, 1);
  }

  /**
   * --wait: waits until every module put by this restorer is listed by every node. Every module
   * is waited for; each failure is logged, and then one error is thrown.
   */
  async waitForAll(): Promise<void> {
    let failed = 0;
    let first: unknown = null;
    for (const fileName of this.restored) {
      this.options.logger.verbose(`Waiting for UDF file ${fileName}`);
      try {
        await this.waitFor(fileName);
      } catch (error) {
        failed++;
        first ??= error;
        this.options.logger.error((error as Error).message);
        this.options.logger.error('Error while waiting for UDF upload');
      }
    }
    if (failed > 0) {
      throw new AsrestoreError(
        'UDF_WAIT_FAILED',
        `Error while waiting for UDF files: ${failed} of ${this.restored.length} failed`,
        {},
        { cause: first },
      );
    }
  }

  private async waitFor(fileName: string): Promise<void> {
    const failure = `Error while waiting for UDF file ${fileName}`;
    const deadline = this.timing.now() + this.timing.waitTimeoutMs;
    for (;;) {
      let answers: Map<string, string>[];
      try {
        answers = await this.client.infoAllNodes(['udf-list']);
      } catch (error) {
        throw new AsrestoreError('UDF_WAIT_FAILED', `${failure}: ${(error as Error).message}`, {}, { cause: error });
      }
      const missingOn = answers.filter((nodeAnswers) => !udfListFileNames(answerFor(nodeAnswers, 'udf-list')).has(fileName));
      if (answers.length > 0 && missingOn.length === 0) return;
      if (this.timing.now() >= deadline) {
        const where = answers.length === 0 ? 'no node answered' : `missing on ${missingOn.length} of ${answers.length} node(s)`;
        throw new AsrestoreError('UDF_WAIT_FAILED', `${failure}: still ${where} after ${this.timing.waitTimeoutMs} ms (timeout)`);
      }
      await this.timing.sleep(this.timing.waitPollIntervalMs);
    }
  }
}
