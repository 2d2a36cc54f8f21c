/**
 * --wait with secondary indexes: the restore polls each index's build state (8.1+: `sindex-stat`,
 * before: `sindex/<ns>/<name>`) on every node and exits 0 once every index reports load_pct=100.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import type { SecondaryIndexDef } from '../../src/shared/asb/types.js';
import { startHarness, summaryOf, tempDir, type Harness } from './harness.js';
import { index, manyRecords, writeBackupDirectory } from './backup-builder.js';

const LIST_INDEX: SecondaryIndexDef = {
  namespace: 'test', set: 'idx', name: 'idx_tags', indexType: 'L', paths: [{ path: 'tags', type: 'S' }], context: null, expression: null, line: 0,
};
const INDEXES = [index('idx_n', 'idx', 'n'), index('idx_s', 'idx', 's', 'S'), LIST_INDEX];

for (const build of ['8.1.2.0', '7.2.0.0']) {
  describe(`restore: --wait with secondary indexes (server ${build}, 3 nodes)`, function () {
    this.timeout(60_000);
    let harness: Harness;
    let dir: { path: string; remove: () => void };

    before(async () => {
      harness = await startHarness({ build });
      dir = tempDir('wait-indexes');
    });
    after(async () => {
      await harness?.stop();
      dir?.remove();
    });

    it('waits for every index, exits 0, and the indexes are on the cluster', async () => {
      const path = join(dir.path, 'backup');
      writeBackupDirectory(path, { records: manyRecords(20, 'idx'), indexes: INDEXES, files: 2 });
      const run = await harness.restore(['-d', path, '--wait', '-v']);
      expect(run.code, run.stderr).to.equal(0);
      expect(summaryOf(run)).to.include({ records: 20, inserted: 20, indexes: 3, failed: 0 });
      for (const { name } of INDEXES) expect(run.stderr).to.match(new RegExp(`Waiting for index .*${name}`));
      expect(run.stderr).to.not.match(/\[ERR\]/);
      const metadata = await harness.cluster.metadata();
      expect(metadata.sindexes.map((s) => s.name).sort()).to.deep.equal(['idx_n', 'idx_s', 'idx_tags']);
    });
  });
}
