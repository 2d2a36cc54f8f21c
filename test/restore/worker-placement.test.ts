/**
 * Where files go: the placement rules on a scripted clock and scripted measurements, the pool
 * honouring a placement (real worker threads), and a thread's own load gauge.
 */
import { fileURLToPath } from 'node:url';
import { Worker, threadId } from 'node:worker_threads';
import { expect } from 'chai';
import { BUSY_WINDOWS, WorkerPlacement } from '../../src/main/worker-placement.js';
import { createWorkerPool, measureThreadLoad, placedOn, threadsInOrder } from '../../src/main/worker-pool.js';
import {
  BUSY_UTILIZATION,
  LOAD_WINDOW_MS,
  PauseLedger,
  ThreadLoadGauge,
  WARM_UP_MS,
  pausedBetween,
  spreadModeFrom,
  utilizationNetOfPauses,
} from '../../src/shared/thread-load.js';

const ROOM = 0.35;
const BUSY = 0.95;

/** BUSY_WINDOWS windows in a row at `utilization`, the first from `start`; returns the end. */
function busyFor(placement: WorkerPlacement, thread: number, start: number, utilization = BUSY): number {
  for (let i = 0; i < BUSY_WINDOWS; i++, start += LOAD_WINDOW_MS) placement.observe(thread, utilization, start, start + LOAD_WINDOW_MS);
  return start;
}

/** Places files one after another while the placement allows it; the threads chosen. */
function placeAll(placement: WorkerPlacement, now: number, max = 100): number[] {
  const chosen: number[] = [];
  for (let i = 0; i < max; i++) {
    const thread = placement.tryPlace(now);
    if (thread === null) break;
    chosen.push(thread);
  }
  return chosen;
}

describe('worker placement', () => {
  describe('rules', () => {
    it('a cluster that is the bottleneck: every file goes to the first thread, one more per window with room', () => {
      const placement = new WorkerPlacement({ threads: 2 });
      expect(placeAll(placement, 0)).to.deep.equal([0]);
      // Busy-looking windows within the warm-up of the thread's first file are not judged.
      for (let t = 0; t < WARM_UP_MS; t += LOAD_WINDOW_MS) placement.observe(0, BUSY, t, t + LOAD_WINDOW_MS);
      expect(placement.tryPlace(WARM_UP_MS)).to.equal(null);
      let now = WARM_UP_MS;
      for (let files = 1; files < 7; files++) {
        placement.observe(0, ROOM, now, now + LOAD_WINDOW_MS);
        now += LOAD_WINDOW_MS;
        expect(placeAll(placement, now), `after ${files} file(s)`).to.deep.equal([0]);
      }
      expect(placement.files).to.deep.equal([7, 0]);
    });

    it('a busy thread opens the next one; once every thread is busy, files go to the one with the fewest', () => {
      const placement = new WorkerPlacement({ threads: 3 });
      expect(placeAll(placement, 0)).to.deep.equal([0]);
      placement.observe(0, BUSY, 600, 700);
      expect(placement.tryPlace(700), 'one busy window').to.equal(null);
      placement.observe(0, BUSY, 700, 800);
      expect(placeAll(placement, 800)).to.deep.equal([1]);
      // Thread 1 is in the warm-up of its first file until 1300: the next choice waits for it.
      placement.observe(1, BUSY, 1200, 1300);
      expect(placement.tryPlace(1300)).to.equal(null);
      const end = busyFor(placement, 1, 1300);
      expect(placeAll(placement, end)).to.deep.equal([2]);
      busyFor(placement, 2, end + WARM_UP_MS);
      expect(placeAll(placement, end + WARM_UP_MS + 2 * LOAD_WINDOW_MS, 5)).to.deep.equal([0, 1, 2, 0, 1]);
      expect(placement.files).to.deep.equal([3, 3, 2]);
    });

    it('one busy window alone (a collection, a compile) opens nothing; a window with room in between starts the count again', () => {
      const placement = new WorkerPlacement({ threads: 2 });
      placement.tryPlace(0);
      placement.observe(0, BUSY, 600, 700);
      placement.observe(0, ROOM, 700, 800);
      expect(placement.tryPlace(800)).to.equal(0); // room at 1 file: a second one
      placement.observe(0, BUSY, 900, 1000);
      placement.observe(0, ROOM, 1000, 1100);
      placement.observe(0, BUSY, 1100, 1200);
      expect(placement.utilizations[0]).to.equal(BUSY);
      expect(placement.tryPlace(1200)).to.equal(0); // room at 2 files: a third one
      placement.observe(0, BUSY, 1300, 1400);
      placement.finished(0, 1450); // a change between two busy windows starts the count again
      placement.observe(0, BUSY, 1500, 1600);
      expect(placement.tryPlace(1600)).to.equal(null);
      placement.observe(0, BUSY, 1600, 1700);
      expect(placement.tryPlace(1700)).to.equal(1);
    });

    it('judges only windows in which the number of files did not change', () => {
      const placement = new WorkerPlacement({ threads: 2 });
      placement.tryPlace(0);
      placement.observe(0, ROOM, 600, 700);
      expect(placement.tryPlace(750)).to.equal(0);
      placement.observe(0, BUSY, 700, 800); // the file placed at 750 ran for part of it only
      placement.observe(0, BUSY, 800, 900);
      expect(placement.tryPlace(900)).to.equal(null);
      placement.observe(0, BUSY, 900, 1000);
      expect(placement.tryPlace(1000)).to.equal(1);
      placement.finished(0, 1050);
      placement.observe(0, ROOM, 1000, 1100); // a file finished during it
      placement.observe(1, ROOM, 1500, 1600);
      expect(placement.files).to.deep.equal([1, 1]);
      // Thread 0 was last judged busy at 2 files: it carries 1 for sure, 2 is a probe again.
      expect(placement.tryPlace(1600)).to.equal(0);
    });

    it('a thread seen with room at 3 files takes files back to 3 at once, the 4th after a window', () => {
      const placement = new WorkerPlacement({ threads: 2 });
      let now = 0;
      placement.tryPlace(now);
      now = WARM_UP_MS;
      for (let files = 1; files <= 3; files++) {
        placement.observe(0, ROOM, now, now + LOAD_WINDOW_MS);
        now += LOAD_WINDOW_MS;
        if (files < 3) expect(placement.tryPlace(now)).to.equal(0);
      }
      placement.finished(0, now);
      placement.finished(0, now);
      expect(placement.files).to.deep.equal([1, 0]);
      expect(placeAll(placement, now)).to.deep.equal([0, 0, 0]);
      expect(placement.files).to.deep.equal([4, 0]);
    });

    it('seen busy at the number it once had room for: the most it carries drops below it', () => {
      const placement = new WorkerPlacement({ threads: 2 });
      placement.tryPlace(0);
      placement.observe(0, ROOM, 600, 700);
      placement.tryPlace(700);
      placement.observe(0, ROOM, 700, 800); // room at 2
      const end = busyFor(placement, 0, 800, BUSY_UTILIZATION); // busy at 2 (the threshold counts as busy)
      expect(placeAll(placement, end)).to.deep.equal([1]);
    });

    it('an opened thread left without files takes the next one even while another is being judged', () => {
      const placement = new WorkerPlacement({ threads: 2 });
      placement.tryPlace(0);
      const end = busyFor(placement, 0, 600);
      expect(placement.tryPlace(end)).to.equal(1);
      placement.finished(0, end + 50);
      expect(placement.tryPlace(end + 60)).to.equal(0);
      expect(placement.tryPlace(end + 60)).to.equal(null);
    });

    it('waiting callers are placed in order as measurements allow, and released with null on cancel', async () => {
      const placement = new WorkerPlacement({ threads: 2 });
      const first = await placement.waitForPlace(0);
      const order: (number | null)[] = [];
      const second = placement.waitForPlace(10).then((thread) => order.push(thread));
      const third = placement.waitForPlace(20).then((thread) => order.push(thread));
      const fourth = placement.waitForPlace(30).then((thread) => order.push(thread));
      await Promise.resolve();
      expect(order).to.deep.equal([]);
      busyFor(placement, 0, 600); // opens thread 1 for the second caller
      await second;
      expect(order).to.deep.equal([1]);
      placement.finished(first!, 750); // thread 0 was opened and has no file: the third caller
      await third;
      expect(order).to.deep.equal([1, 0]);
      placement.cancelWaiting();
      await fourth;
      expect(order).to.deep.equal([1, 0, null]);
      expect(placement.files).to.deep.equal([1, 1]);
    });
  });

  describe('the pool', () => {
    it('runs each task on the thread it was placed on, and reports each thread’s load', async function () {
      this.timeout(20_000);
      const filename = fileURLToPath(new URL('../support/thread-id-worker.js', import.meta.url));
      const pool = createWorkerPool({ threads: 3, concurrentTasks: 6, placed: true, filename });
      const placement = new WorkerPlacement({ threads: 3, warmUpMs: 0 });
      const observed: number[][] = [];
      const stop = measureThreadLoad(pool, placement, 20, null, () => observed.push(placement.files));
      try {
        const ids = threadsInOrder(pool).map((worker) => worker.threadId);
        const run = (thread: number, spinMs: number) => pool.run(placedOn({ spinMs }, thread) as never) as unknown as Promise<number>;
        expect(await Promise.all([run(2, 0), run(0, 0), run(2, 0), run(1, 0)])).to.deep.equal([ids[2], ids[0], ids[2], ids[1]]);
        // A thread kept busy is judged busy through the measurements: the next file opens another.
        const spinning = run(0, 600);
        await new Promise((resolve) => setTimeout(resolve, 60));
        expect(placement.tryPlace(performance.now())).to.equal(0);
        const deadline = performance.now() + 500;
        while (placement.files[1] === 0 && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          const thread = placement.tryPlace(performance.now());
          if (thread !== null) expect(thread).to.equal(1);
        }
        expect(placement.files).to.deep.equal([1, 1, 0]);
        expect(await spinning).to.equal(ids[0]);
        expect(observed.length).to.be.greaterThan(3);
      } finally {
        stop();
        await pool.destroy();
      }
    });

    it('a thread whose busy time was a pause is measured as having room', async function () {
      this.timeout(20_000);
      const filename = fileURLToPath(new URL('../support/thread-id-worker.js', import.meta.url));
      const pool = createWorkerPool({ threads: 2, concurrentTasks: 2, placed: true, filename });
      const pauses = PauseLedger.createBuffer(2);
      const placement = new WorkerPlacement({ threads: 2, warmUpMs: 0 });
      const stop = measureThreadLoad(pool, placement, 20, new PauseLedger(pauses));
      try {
        await pool.run(placedOn({ spinMs: 0 }, 0) as never); // started
        // One spin of 300 ms, recorded as a pause when it ends: windows that end before it see a
        // busy thread, so the spin is cut in pieces recorded one by one.
        const spinning = (async () => {
          for (let i = 0; i < 15; i++) await pool.run(placedOn({ spinMs: 20, pauses }, 0) as never);
        })();
        await new Promise((resolve) => setTimeout(resolve, 60));
        expect(placement.tryPlace(performance.now())).to.equal(0);
        let next: number | null = null;
        const deadline = performance.now() + 250;
        while (next === null && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          next = placement.tryPlace(performance.now());
        }
        expect(next).to.equal(0);
        await spinning;
      } finally {
        stop();
        await pool.destroy();
      }
    });
  });

  describe('a thread’s own load gauge', () => {
    it('is not busy during the warm-up, busy while the thread runs code, idle again once it waits', async function () {
      this.timeout(10_000);
      const gauge = new ThreadLoadGauge();
      const spin = (ms: number, check: boolean): boolean[] => {
        const seen: boolean[] = [];
        const end = performance.now() + ms;
        while (performance.now() < end) if (check) seen.push(gauge.isBusy());
        return seen;
      };
      const inWarmUp = spin(WARM_UP_MS - 50, true);
      expect(inWarmUp.every((busy) => !busy)).to.equal(true);
      spin(60, false);
      const after = spin(2.5 * LOAD_WINDOW_MS, true);
      expect(after[after.length - 1]).to.equal(true);
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, LOAD_WINDOW_MS + 10));
        gauge.isBusy();
      }
      expect(gauge.isBusy()).to.equal(false);
    });
  });

  describe('pauses taken out of a thread’s load', () => {
    it('a thread’s pauses are summed in its own slot of the ledger, which another thread reads by thread id', async () => {
      const buffer = PauseLedger.createBuffer(2);
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         import(workerData.module).then(({ PauseLedger }) => {
           const ledger = new PauseLedger(workerData.buffer);
           ledger.add(1.5);
           ledger.add(1.5);
           parentPort.postMessage('done');
         });`,
        { eval: true, workerData: { buffer, module: new URL('../../src/shared/thread-load.js', import.meta.url).href } },
      );
      await new Promise((resolve) => worker.once('message', resolve));
      const ledger = new PauseLedger(buffer);
      expect(ledger.pausedMicros(worker.threadId)).to.equal(3000);
      ledger.add(0.25);
      expect(ledger.pausedMicros(threadId)).to.equal(250);
      expect(ledger.pausedMicros(worker.threadId + 1000)).to.equal(0);
      await worker.terminate();
      // Totals wrap at 2^32 microseconds; differences over a window do not.
      expect(pausedBetween(2 ** 32 - 300, 200)).to.equal(0.5);
    });

    it('utilisation net of pauses', () => {
      expect(utilizationNetOfPauses({ idle: 50, active: 50, utilization: 0.5 }, 30)).to.be.closeTo(0.2, 1e-9);
      expect(utilizationNetOfPauses({ idle: 10, active: 20, utilization: 2 / 3 }, 25)).to.equal(0);
      expect(utilizationNetOfPauses({ idle: 0, active: 0, utilization: 0 }, 0)).to.equal(0);
    });

    it('a thread that spent its time paused has room, though its event loop was never idle', () => {
      const gauge = new ThreadLoadGauge();
      const spin = (ms: number, pausing: boolean): void => {
        const end = performance.now() + ms;
        let last = performance.now();
        while (performance.now() < end) {
          const now = performance.now();
          if (pausing) gauge.recordPause(now - last);
          last = now;
          void gauge.state;
        }
      };
      spin(WARM_UP_MS + 50, false);
      expect(gauge.state).to.equal('warming-up');
      spin(2.5 * LOAD_WINDOW_MS, true);
      expect(gauge.state).to.equal('room');
      spin(2.5 * LOAD_WINDOW_MS, false);
      expect(gauge.state).to.equal('busy');
    });
  });

  it('ASRESTORE_TS_SPREAD: as-needed by default, always on request, anything else an error', () => {
    expect(spreadModeFrom({})).to.equal('as-needed');
    expect(spreadModeFrom({ ASRESTORE_TS_SPREAD: '' })).to.equal('as-needed');
    expect(spreadModeFrom({ ASRESTORE_TS_SPREAD: 'as-needed' })).to.equal('as-needed');
    expect(spreadModeFrom({ ASRESTORE_TS_SPREAD: 'always' })).to.equal('always');
    expect(() => spreadModeFrom({ ASRESTORE_TS_SPREAD: 'Always' })).to.throw("Invalid ASRESTORE_TS_SPREAD value 'Always'");
  });
});
