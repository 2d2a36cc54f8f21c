/**
 * Bundles the shipped program (`npm run build` runs it after tsc): the CLI and the worker-thread
 * entry, each with the project modules it imports, into dist/bundle/ (npm packages stay outside).
 * Node 20 spends about a millisecond per ES module per thread on loading and linking, and a restore
 * loads some sixty of them in the coordinator and again in every worker; the bundle loads a handful.
 *
 * Layout: dist/bundle/main/{cli,cli-entry}.js, dist/bundle/worker/worker.js and shared code in
 * dist/bundle/chunks/, all three folders at the same depth, so that a path the code builds relative
 * to its own file (the worker entry `../worker/worker.js`) holds wherever that code lands.
 * bin/asrestore.js, the demo, the benchmarks and the CLI tests run the bundle.
 *
 *   node dist/scripts/bundle.js
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outdir = join(projectRoot, 'dist', 'bundle');

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: projectRoot,
  entryPoints: ['src/main/cli.ts', 'src/main/cli-entry.ts', 'src/worker/worker.ts'],
  outbase: 'src',
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: true,
  logLevel: 'warning',
});
