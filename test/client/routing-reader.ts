/**
 * Worker for the routing-table test: snapshots the shared table as fast as it can while the main
 * thread rewrites it, and reports any snapshot that mixes two versions (a torn read).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RoutingTable } from '../../src/shared/aerospike/routing-table.js';

const table = RoutingTable.attach(workerData.routing as SharedArrayBuffer);
// The writer starts once the reader does: a thread that starts late on a loaded machine would
// otherwise see only the writer's last moments.
parentPort!.postMessage({ ready: true });
let snapshots = 0;
let torn = 0;
const generations = new Set<number>();
const end = Date.now() + (workerData.durationMs as number);
while (Date.now() < end) {
  const snapshot = table.snapshot();
  snapshots++;
  generations.add(snapshot.generation);
  for (const namespace of snapshot.namespaces) {
    // The writer always fills a whole map with one owner and names node 0 after that owner.
    const first = namespace.owners[0];
    for (let p = 1; p < namespace.owners.length; p++) if (namespace.owners[p] !== first) torn++;
    if (snapshot.nodes[0] !== undefined && snapshot.nodes[0].name !== `owner-${first}`) torn++;
  }
}
parentPort!.postMessage({ snapshots, torn, generations: generations.size });
