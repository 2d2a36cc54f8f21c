import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest folder above this file holding package.json (works from dist/ too). */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

/** ../shared beside the project root (present on developer machines and in CI, absent on a user's clone). */
export const sharedDir = resolve(projectRoot, '..', 'shared');
export const fixturesDir = join(sharedDir, 'fixtures', 'asbackup-4.5.8');
export const wireReferenceDir = join(sharedDir, 'reference', 'wire');

/**
 * Runs `fn` as a describe block when `path` exists; otherwise registers one pending test whose
 * title says why, so the skip is visible in the report and never a silent pass.
 */
export function describeIfExists(path: string, title: string, fn: (this: Mocha.Suite) => void): void {
  if (existsSync(path)) {
    describe(title, fn);
  } else {
    describe(title, () => {
      it(`SKIPPED: ${path} is not present (it ships beside the project in CI only)`);
    });
    console.warn(`[skip] ${title}: ${path} not found`);
  }
}
