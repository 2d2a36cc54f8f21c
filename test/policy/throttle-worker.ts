/**
 * Worker for throttle.test.ts: consumes `chunks` chunks of `chunkBytes` input bytes (one record
 * each), awaiting the throttle gate after each, as a restore worker does. Nothing else keeps its
 * event loop alive unless `heartbeat` is set, so it also shows that a waiting worker does not exit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Counter, Counters } from '../../src/shared/counters.js';
import { ThrottleGate } from '../../src/worker/throttle.js';

interface Data {
  throttleBuffer: SharedArrayBuffer;
  counterBuffer: SharedArrayBuffer;
  chunkBytes: number;
  chunks: number;
  heartbeat: boolean;
}

const data = workerData as Data;
const counters = new Counters(data.counterBuffer);
const gate = new ThrottleGate(data.throttleBuffer, counters);
let heartbeats = 0;
const timer = data.heartbeat ? setInterval(() => heartbeats++, 5) : null;
const start = performance.eventLoopUtilization();
let waits = 0;
for (let i = 0; i < data.chunks; i++) {
  counters.add(Counter.BYTES_READ, data.chunkBytes);
  counters.add(Counter.RECORDS_TOTAL, 1);
  const wait = gate.waitTurn();
  if (wait) {
    waits++;
    await wait;
  }
}
if (timer) clearInterval(timer);
const utilization = performance.eventLoopUtilization(start).utilization;
parentPort!.postMessage({ heartbeats, utilization, waits });
