/**
 * Modules only some runs need (node:crypto, node:tls, bcryptjs, the zstd addon, smol-toml...),
 * loaded on first use instead of at start-up: every thread (the coordinator and each worker) pays
 * for what it imports, a few milliseconds each, and most runs never need them.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** A function that loads `specifier` (a built-in module or a CommonJS package) on its first call. */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(specifier) as T);
}
