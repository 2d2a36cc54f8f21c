import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { Counter, Counters } from '../../src/shared/counters.js';
import { AsrestoreError } from '../../src/shared/errors.js';
import { ThrottleController, ThrottleGate, parseNiceOption } from '../../src/worker/throttle.js';

const MiB = 1048576;

class ManualClock {
  ms = 0;
  readonly now = (): number => this.ms;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('policy: --nice throttle', () => {
  it('parses --nice <MiB/s>,<TPS> with C\'s checks and messages', () => {
    expect(parseNiceOption('10,2000')).to.deep.equal({ bytesPerSecond: 10 * MiB, recordsPerSecond: 2000 });
    expect(parseNiceOption('1,1')).to.deep.equal({ bytesPerSecond: MiB, recordsPerSecond: 1 });
    const bad: [string, string][] = [
      ['10', 'Invalid nice option'],
      ['1,2,3', 'Invalid nice option'],
      ['0,5', 'Invalid bandwidth value 0'],
      ['x,5', 'Invalid bandwidth value x'],
      ['5,0', 'Invalid TPS value 0'],
      ['5,-1', 'Invalid TPS value -1'],
      ['5,4294967296', 'Invalid TPS value 4294967296'],
      ['1.5,5', 'Invalid bandwidth value 1.5'],
    ];
    for (const [text, message] of bad) {
      expect(() => parseNiceOption(text), text).to.throw(AsrestoreError, message);
    }
  });

  it('starts at one second\'s worth and lets a worker go while under both limits', () => {
    const counters = new Counters();
    const controller = new ThrottleController({ bytesPerSecond: 1000, recordsPerSecond: 10 }, counters, new ManualClock().now);
    const gate = new ThrottleGate(controller.buffer, counters);
    expect(gate.waitTurn()).to.equal(null);
    counters.add(Counter.BYTES_READ, 999);
    counters.add(Counter.RECORDS_TOTAL, 9);
    expect(gate.mustWait()).to.equal(false);
    counters.add(Counter.BYTES_READ, 1);
    expect(gate.mustWait()).to.equal(true);
    counters.set(Counter.BYTES_READ, 0);
    counters.add(Counter.RECORDS_TOTAL, 1);
    expect(gate.mustWait()).to.equal(true);
  });

  it('raises the allowances by rate × elapsed time, banking at most one second ahead', () => {
    const counters = new Counters();
    const clock = new ManualClock();
    const controller = new ThrottleController({ bytesPerSecond: 1000, recordsPerSecond: 100 }, counters, clock.now);
    const gate = new ThrottleGate(controller.buffer, counters);
    counters.set(Counter.BYTES_READ, 1500);
    clock.ms = 1000;
    controller.tick(); // limit 2000
    expect(gate.mustWait()).to.equal(false);
    counters.set(Counter.BYTES_READ, 2000);
    expect(gate.mustWait()).to.equal(true);
    clock.ms = 1500;
    controller.tick(); // +500 → 2500
    counters.set(Counter.BYTES_READ, 2499);
    expect(gate.mustWait()).to.equal(false);
    counters.set(Counter.BYTES_READ, 2500);
    expect(gate.mustWait()).to.equal(true);
    // Idle workers: ten seconds pass, but only one second is banked beyond what was consumed.
    clock.ms = 11_500;
    controller.tick(); // min(2500 + 10000, 2500 + 1000) = 3500
    counters.set(Counter.BYTES_READ, 3499);
    counters.set(Counter.RECORDS_TOTAL, 0);
    expect(gate.mustWait()).to.equal(false);
    counters.set(Counter.BYTES_READ, 3500);
    expect(gate.mustWait()).to.equal(true);
  });

  it('wakes a waiting worker on the tick, and stop() releases it for good', async () => {
    const counters = new Counters();
    const clock = new ManualClock();
    const controller = new ThrottleController({ bytesPerSecond: 100, recordsPerSecond: 100 }, counters, clock.now);
    const gate = new ThrottleGate(controller.buffer, counters);
    counters.set(Counter.BYTES_READ, 100);
    let released = false;
    const waiting = gate.waitTurn()!.then(() => (released = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(released).to.equal(false);
    clock.ms = 1000;
    controller.tick();
    await waiting;
    counters.set(Counter.BYTES_READ, 10_000);
    const second = gate.waitTurn();
    expect(second).to.not.equal(null);
    controller.stop();
    await second;
    expect(gate.waitTurn()).to.equal(null);
  });

  it('holds many worker threads to the allowance without busy waiting or exiting early', async function () {
    this.timeout(30_000);
    const counters = new Counters();
    const clock = new ManualClock();
    const controller = new ThrottleController({ bytesPerSecond: 1000, recordsPerSecond: 1_000_000 }, counters, clock.now);
    const workerUrl = new URL('./throttle-worker.js', import.meta.url);
    const workers = [0, 1, 2].map(
      (i) =>
        new Worker(workerUrl, {
          workerData: {
            throttleBuffer: controller.buffer,
            counterBuffer: counters.buffer,
            chunkBytes: 100,
            chunks: 20,
            heartbeat: i !== 2, // worker 2 has nothing but the throttle wait to keep it alive
          },
        }),
    );
    const results = workers.map(
      (worker) =>
        new Promise<{ heartbeats: number; utilization: number; waits: number }>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before finishing`)));
        }),
    );
    try {
      for (let second = 1; second <= 3; second++) {
        const limit = second * 1000;
        await until(() => counters.get(Counter.BYTES_READ) >= limit, `consumption to reach ${limit}`);
        await new Promise((resolve) => setTimeout(resolve, 150));
        // Each worker checks after each chunk, so it overshoots by at most one chunk.
        expect(counters.get(Counter.BYTES_READ)).to.be.at.most(limit + 3 * 100);
        clock.ms = second * 1000;
        controller.tick();
      }
      // Worker 2 has spent ~450 ms blocked with no other handle: it must still be there.
      controller.stop();
      const done = await Promise.all(results);
      expect(counters.get(Counter.BYTES_READ)).to.equal(3 * 20 * 100);
      for (const result of done) {
        expect(result.waits).to.be.at.least(1);
        // Mostly idle while blocked: a busy loop would be near 1.
        expect(result.utilization).to.be.below(0.5);
      }
      expect(done[0]!.heartbeats).to.be.at.least(10); // its event loop kept running while it waited
    } finally {
      controller.stop();
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  });
});
