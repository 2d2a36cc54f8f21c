/**
 * The shipped program is the bundle `npm run build` makes (scripts/bundle.ts): bin/asrestore.js
 * runs it, and so do the CLI tests (test/support/run-cli.ts), whose restores and --validate runs
 * (worker threads, zstd, AES, TLS, stdin) therefore check the bundle end to end. These checks make
 * sure they really do.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../support/paths.js';
import { buildRoot, bundledCliEntry, cliEntry } from '../support/run-cli.js';

const launcher = join(projectRoot, 'bin', 'asrestore.js');
/** bin/asrestore.js is fixed to dist/: its checks apply to that build only. */
const builtIntoDist = buildRoot === join(projectRoot, 'dist');

describe('the bundled program', function () {
  before(function () {
    if (!existsSync(bundledCliEntry)) {
      console.log(`      (skipped: no bundle in ${buildRoot}; \`npm run build\` makes it)`);
      this.skip();
    }
  });

  it('is what the CLI tests run', () => {
    expect(cliEntry).to.equal(bundledCliEntry);
  });

  it('bin/asrestore.js starts it: --version', function () {
    if (!builtIntoDist) this.skip();
    const result = spawnSync(process.execPath, [launcher, '--version'], { encoding: 'utf8' });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^Aerospike Restore\nVersion \d+\.\d+\.\d+/);
  });
});
