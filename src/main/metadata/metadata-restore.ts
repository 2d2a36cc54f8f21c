/**
 * Secondary-index and UDF restore for the engine, in C asrestore's order:
 * - during the record phase, `secondaryIndex()` for each `* i`/`* e` item (created at once, or
 *   kept for the end with --indexes-last) and `udf()` for each `* u` item (always put at once);
 * - after the records are written, `finish()`: the deferred indexes, the "Skipped N ..." lines,
 *   then with --wait the index builds and the UDFs on every node.
 * Any method that throws means exit 1. The engine handles --no-indexes / --no-udfs / --validate
 * (it does not call these then).
 */
import type { SecondaryIndexDef, UdfModule } from '../../shared/asb/types.js';
import type { InfoClient } from './info.js';
import { SecondaryIndexRestorer, type IndexOutcome, type SindexRestoreOptions } from './sindex-restore.js';
import { UdfRestorer } from './udf-restore.js';

export interface MetadataRestoreOptions extends SindexRestoreOptions {
  /** --wait */
  wait?: boolean;
}

export class MetadataRestorer {
  readonly indexes: SecondaryIndexRestorer;
  readonly udfs: UdfRestorer;

  constructor(
    client: InfoClient,
    private readonly options: MetadataRestoreOptions,
  ) {
    this.indexes = new SecondaryIndexRestorer(client, options);
    this.udfs = new UdfRestorer(client, options);
  }

  secondaryIndex(def: SecondaryIndexDef, file?: string): Promise<IndexOutcome> {
    return this.indexes.submit(def, file);
  }

  udf(module: UdfModule, file?: string): Promise<void> {
    return this.udfs.put(module, file);
  }

  /**
   * Deferred indexes, summary lines, then (--wait) index builds and UDFs. As in C, a failure in
   * the index part still lets the other indexes be created and waited for, and skips the UDF wait.
   */
  async finish(): Promise<void> {
    let failure: unknown = null;
    try {
      await this.indexes.restoreDeferred();
    } catch (error) {
      failure = error;
    }
    this.indexes.logSummary();
    if (this.options.wait) {
      try {
        await this.indexes.waitForBuilds();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) throw failure;
    if (this.options.wait) await this.udfs.waitForAll();
  }
}
