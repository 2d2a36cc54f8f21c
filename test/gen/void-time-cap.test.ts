import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsbDecoder } from '../../src/shared/asb/decoder.js';
import { openBackupFile } from '../../src/shared/io/backup-input.js';
import { generateBackup } from '../../scripts/lib/backup-generator.js';
import { CITRUSLEAF_EPOCH } from '../../src/shared/aerospike/protocol.js';

/** The server's MAX_ALLOWED_TTL (datamodel.h): a write with a longer TTL fails with rc 4. */
const SERVER_MAX_TTL = 315_360_000;
/** Room for a restore run against a clock a little behind the generator's `now`. */
const MARGIN = 7 * 86_400;

async function voidTimes(dir: string): Promise<number[]> {
  const times: number[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const decoder = new AsbDecoder({ header: () => {}, record: (r) => times.push(r.voidTime), secondaryIndex: () => {}, udf: () => {} }, { file: path });
    for await (const chunk of openBackupFile(path).chunks) decoder.write(chunk);
    decoder.end();
  }
  return times;
}

describe('gen: void times stay within the server TTL maximum', function () {
  this.timeout(60000);
  let root: string;
  before(() => (root = mkdtempSync(join(tmpdir(), 'gen-void-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  // ~14% of records get a void time in the long (years) class; 20k records put dozens of them in
  // the last weeks of that class, where an uncapped horizon crosses 10 years.
  it('every future void time is at most now + 10 years - margin, for an explicit and a defaulted now', async () => {
    for (const now of [1_790_000_000, undefined]) {
      const dir = join(root, String(now ?? 'default'));
      const summary = await generateBackup({ dir, files: 1, records: 20_000, seed: 21, mix: 'restore-bench', recordSize: 200, sindexes: 0, udfs: 0, now });
      const nowCl = summary.now - CITRUSLEAF_EPOCH;
      const future = (await voidTimes(dir)).filter((v) => v !== 0 && v > nowCl);
      expect(future.length).to.be.greaterThan(1000);
      const latest = Math.max(...future);
      expect(latest - nowCl, `latest void time is ${((latest - nowCl) / 86_400).toFixed(1)} days after now`).to.be.at.most(SERVER_MAX_TTL - MARGIN);
      // The long class still reaches close to the cap, so realistic multi-year TTLs stay in the data.
      expect(latest - nowCl).to.be.greaterThan(SERVER_MAX_TTL - 60 * 86_400);
    }
  });
});
