/**
 * The official `aerospike` client, loaded only by tests that use it as the oracle: it is not
 * context-aware, so importing it from a worker thread fails ("Module did not self-register").
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const Aerospike = require('aerospike') as any;
