/**
 * The engine's parts on their own: the hand-over of encoded commands, the process-wide in-flight bound, the
 * mapping of client failures to C statuses, the batch-write decision, and the Batcher's
 * per-record judgement and retries against a scripted client (no network).
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { ROW_UNANSWERED, type CommandResult, type WriteClient } from '../../src/shared/aerospike/write-client.js';
import { BatchCommandBuilder, NodeCommandSet, type EncodedCommand } from '../../src/shared/aerospike/batch-command.js';
import type { AsbRecord } from '../../src/shared/asb/types.js';
import { Counter, Counters } from '../../src/shared/counters.js';
import { batchWritesSupported } from '../../src/main/restore.js';
import { Batcher, statusOfClientError } from '../../src/worker/batcher.js';
import { InFlightLimit, PAUSE } from '../../src/shared/aerospike/in-flight-limit.js';
import type { ThreadLoad } from '../../src/shared/thread-load.js';
import { handOverInto, handedOverSize, takeOver } from '../../src/worker/batch-channel.js';
import { restoreWriteFlags } from '../../src/worker/write-policy.js';

const FLAGS = restoreWriteFlags({ unique: false, replace: false, noGeneration: false });

function record(i: number, extra: Partial<AsbRecord> = {}): AsbRecord {
  return {
    namespace: Buffer.from('test'),
    digest: Buffer.alloc(20, i),
    set: Buffer.from('s'),
    key: { type: ParticleType.STRING, value: Buffer.from(`k${i}`) },
    generation: 3,
    voidTime: 0,
    bins: [{ name: Buffer.from('n'), type: ParticleType.INTEGER, value: i }],
    line: 10 + i,
    ...extra,
  };
}

describe('restore engine parts', () => {
  describe('encoded commands handed to another thread (batch-channel)', () => {
    function commandsOf(records: AsbRecord[], maxRows: number): EncodedCommand[] {
      const out: EncodedCommand[] = [];
      const set = new NodeCommandSet(maxRows, FLAGS.batchRow, (command) => out.push(command), 10_000);
      records.forEach((r, i) => set.addRecord(i % 2, r, 100 + i, 'in.asb'));
      set.flush('in.asb');
      return out;
    }

    it('arrive with the same bytes, row offsets, lines, file and node slot, in a slot or a buffer of their own', () => {
      const commands = commandsOf([1, 2, 3, 4, 5].map((i) => record(i)), 3);
      expect(commands.map((c) => [c.slot, c.rowCount])).to.deep.equal([[0, 3], [1, 2]]);
      for (const command of commands) {
        for (const memory of [new SharedArrayBuffer(64 * 1024), new ArrayBuffer(handedOverSize(command))]) {
          const length = handOverInto(memory, command);
          expect(length).to.equal(handedOverSize(command));
          const back = takeOver(memory, command.file);
          expect(back.bytes.equals(command.bytes)).to.equal(true);
          expect([...back.rowOffsets]).to.deep.equal([...command.rowOffsets]);
          expect([...back.lines]).to.deep.equal([...command.lines]);
          expect([back.rowCount, back.slot, back.file]).to.deep.equal([command.rowCount, command.slot, 'in.asb']);
        }
      }
    });

    it('keeps slot -1 (no live node) through the hand-over', () => {
      const out: EncodedCommand[] = [];
      const set = new NodeCommandSet(4, FLAGS.batchRow, (command) => out.push(command));
      set.addRecord(-1, record(1), 0, 'f');
      set.flush('f');
      const memory = new SharedArrayBuffer(handedOverSize(out[0]));
      handOverInto(memory, out[0]);
      expect(takeOver(memory, 'f').slot).to.equal(-1);
    });
  });

  describe('InFlightLimit', () => {
    it('bounds holders across threads and wakes a waiter on release', async () => {
      const buffer = InFlightLimit.createBuffer(2);
      const limit = new InFlightLimit(buffer);
      expect(limit.acquire()).to.equal(null);
      expect(limit.acquire()).to.equal(null);
      expect(limit.tryAcquire()).to.equal(false);
      // Another thread takes the place we release.
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         const cells = new Int32Array(workerData, 0, 2);
         (async () => {
           for (;;) {
             const used = Atomics.load(cells, 0);
             if (used < Atomics.load(cells, 1) && Atomics.compareExchange(cells, 0, used, used + 1) === used) break;
             // A pending waitAsync alone does not keep a thread alive.
             const keepAlive = setTimeout(() => {}, 2000);
             await Atomics.waitAsync(cells, 0, used, 1000).value;
             clearTimeout(keepAlive);
           }
           parentPort.postMessage('got');
         })();`,
        { eval: true, workerData: buffer },
      );
      const got = new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      limit.release();
      expect(await got).to.equal('got');
      expect(limit.used).to.equal(2);
      await worker.terminate();
      const waiting = limit.acquire();
      expect(waiting).to.not.equal(null);
      limit.release();
      await waiting;
      expect(limit.used).to.equal(2);
    });
  });

  describe('InFlightLimit: a thread that finds every place taken', () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    /** A limit of `places` whose thread held them all while its answers came 20 ms apart. */
    async function fullAfterSlowAnswers(state: ThreadLoad['state'], places: number = PAUSE.minHeld): Promise<{ limit: InFlightLimit; pauses: number[] }> {
      const pauses: number[] = [];
      const limit = new InFlightLimit(InFlightLimit.createBuffer(places), { state, recordPause: (ms) => pauses.push(ms) });
      for (let i = 0; i < places; i++) expect(limit.acquire()).to.equal(null);
      limit.release();
      await sleep(20);
      limit.release();
      for (let i = 0; i < 2; i++) expect(limit.acquire()).to.equal(null);
      return { limit, pauses };
    }

    it('pauses a share of its commands’ round trip (held x gap between answers), at most PAUSE.maxMs, when it has room', async () => {
      const { limit, pauses } = await fullAfterSlowAnswers('room');
      expect(limit.pauseMs).to.equal(PAUSE.maxMs); // 0.25 x 8 places x >= 20 ms, capped
      const start = performance.now();
      const waiting = limit.acquire();
      expect(waiting).to.not.equal(null);
      expect(performance.now() - start).to.be.at.least(PAUSE.maxMs - 1); // blocked: no other thread released
      expect(pauses.length).to.equal(1);
      expect(pauses[0]).to.be.within(PAUSE.maxMs - 1, PAUSE.maxMs + 40);
      limit.release();
      await waiting;
      expect(limit.used).to.equal(PAUSE.minHeld);
    });

    it('does not pause while it holds fewer than PAUSE.minHeld places: the cluster would run dry', async () => {
      const { limit, pauses } = await fullAfterSlowAnswers('room', PAUSE.minHeld - 1);
      expect(limit.pauseMs).to.equal(0);
      const waiting = limit.acquire();
      expect(pauses).to.deep.equal([]);
      limit.release();
      await waiting;
    });

    it('does not pause while busy or warming up, nor when its answers come fast', async () => {
      for (const state of ['busy', 'warming-up'] as const) {
        const { limit, pauses } = await fullAfterSlowAnswers(state);
        const waiting = limit.acquire();
        expect(pauses, state).to.deep.equal([]);
        limit.release();
        await waiting;
      }
      const pauses: number[] = [];
      const places = PAUSE.minHeld;
      const fast = new InFlightLimit(InFlightLimit.createBuffer(places), { state: 'room', recordPause: (ms) => pauses.push(ms) });
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < places; i++) expect(fast.acquire()).to.equal(null);
        for (let i = 0; i < places; i++) fast.release();
      }
      expect(fast.pauseMs).to.equal(0);
      for (let i = 0; i < places; i++) fast.acquire();
      const waiting = fast.acquire();
      expect(pauses).to.deep.equal([]);
      fast.release();
      await waiting;
    });

    it('a pause ends early when another thread releases a place', async () => {
      const { limit, pauses } = await fullAfterSlowAnswers('room');
      const go = new Int32Array(new SharedArrayBuffer(4));
      const other = new Worker(
        `const { workerData } = require('node:worker_threads');
         const cells = new Int32Array(workerData.limit, 0, 2);
         const go = new Int32Array(workerData.go);
         Atomics.wait(go, 0, 0);
         const end = Date.now() + 2;
         while (Date.now() < end);
         Atomics.sub(cells, 0, 1);
         Atomics.notify(cells, 0);`,
        { eval: true, workerData: { limit: limit.buffer, go: go.buffer } },
      );
      await new Promise((resolve) => other.once('online', resolve));
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      const waiting = limit.acquire(); // blocks in its pause until the other thread releases
      if (waiting !== null) await waiting;
      await other.terminate();
      expect(pauses.length).to.equal(1);
      expect(pauses[0]).to.be.below(PAUSE.maxMs);
      expect(limit.used).to.equal(PAUSE.minHeld);
    });
  });

  it('maps client failures onto the C statuses the retry policy judges', () => {
    const e = (code: ClientErrorCode, resultCode?: number) => new AerospikeError(code, 'x', { resultCode });
    expect(statusOfClientError(e(ClientErrorCode.SOCKET_TIMEOUT))).to.equal(9);
    expect(statusOfClientError(e(ClientErrorCode.TOTAL_TIMEOUT))).to.equal(9);
    expect(statusOfClientError(e(ClientErrorCode.CONNECTION))).to.equal(-10);
    expect(statusOfClientError(e(ClientErrorCode.SEED_UNREACHABLE))).to.equal(-10);
    expect(statusOfClientError(e(ClientErrorCode.TLS))).to.equal(-9);
    expect(statusOfClientError(e(ClientErrorCode.PARTITION_UNAVAILABLE))).to.equal(-8);
    expect(statusOfClientError(e(ClientErrorCode.NODE_NOT_FOUND))).to.equal(-8);
    expect(statusOfClientError(e(ClientErrorCode.SERVER, 18))).to.equal(18);
    expect(statusOfClientError(e(ClientErrorCode.PROTOCOL))).to.equal(-1);
    expect(statusOfClientError(e(ClientErrorCode.ENCODE))).to.equal(-2);
    expect(statusOfClientError(e(ClientErrorCode.NAMESPACE_NOT_FOUND))).to.equal(20);
  });

  it('uses batch writes from server 6.0 with batch-index-threads > 0 only', () => {
    expect(batchWritesSupported('8.1.2.0', 'a=1;batch-index-threads=2;b=3')).to.equal(true);
    expect(batchWritesSupported('8.1.2.0', 'batch-index-threads=0')).to.equal(false);
    expect(batchWritesSupported('8.1.2.0', 'other=1')).to.equal(false);
    expect(batchWritesSupported('5.7.0.0', 'batch-index-threads=4')).to.equal(false);
    expect(batchWritesSupported('6.0.0.0', 'batch-index-threads=4')).to.equal(true);
  });

  describe('Batcher against a scripted client', () => {
    /** A client whose answers for each command are scripted: result codes per row, or a failure of all rows. */
    function scripted(
      script: Array<(command: EncodedCommand) => CommandResult>,
      route: (line: number) => number = () => 0,
    ): { client: WriteClient; calls: number[][]; sent: EncodedCommand[] } {
      const calls: number[][] = [];
      const sent: EncodedCommand[] = [];
      const client = {
        async sendCommand(command: EncodedCommand): Promise<CommandResult> {
          calls.push([...command.lines]);
          sent.push(command);
          const step = script.shift();
          if (step === undefined) throw new Error('unexpected call');
          return step(command);
        },
        routeOfRow(bytes: Buffer, rowStart: number): number {
          // The scripted route of a row is chosen by its digest's first byte (record(i) fills it with i).
          return route(10 + bytes[rowStart + 4]);
        },
      } as unknown as WriteClient;
      return { client, calls, sent };
    }
    const codes = (...values: number[]) => (): CommandResult => ({ resultCodes: Int32Array.from(values), failure: null });
    const failAll = (error: AerospikeError) => (command: EncodedCommand): CommandResult => ({
      resultCodes: new Int32Array(command.rowCount).fill(ROW_UNANSWERED),
      failure: error,
    });

    function batcher(client: WriteClient, counters: Counters, fatal: Error[] = [], ignoreRecordError = false): Batcher {
      return new Batcher({
        client,
        mode: 'batch',
        flags: FLAGS,
        retry: { maxRetries: 3, scaleFactorMicros: 1000 },
        sleep: async () => undefined,
        counters,
        limit: new InFlightLimit(InFlightLimit.createBuffer(4)),
        ignoreRecordError,
        onFatal: (error) => fatal.push(error),
      });
    }

    function command(ids: number[], file = 'f'): EncodedCommand {
      const builder = new BatchCommandBuilder(0, ids.length, FLAGS.batchRow);
      for (const id of ids) {
        const r = record(id);
        builder.appendRecord(r, BatchCommandBuilder.rowSize(r), 7);
      }
      return builder.take(file, 10_000)!;
    }

    it('counts each outcome once and sends again only the rows that failed in a transient way', async () => {
      const { client, calls } = scripted([codes(0, 14, 3, 5, 18), codes(0, 0)]);
      const counters = new Counters();
      const b = batcher(client, counters);
      await b.submit(command([0, 1, 2, 3, 4]));
      await b.drain();
      expect(calls).to.deep.equal([[10, 11, 12, 13, 14], [11, 14]]);
      expect(counters.get(Counter.RECORDS_INSERTED)).to.equal(3);
      expect(counters.get(Counter.RECORDS_FRESHER)).to.equal(1);
      expect(counters.get(Counter.RECORDS_EXISTED)).to.equal(1);
      expect(counters.get(Counter.RETRIES)).to.equal(1);
      expect(counters.get(Counter.RECORDS_IN_FLIGHT)).to.equal(0);
      expect(b.failure).to.equal(null);
    });

    it('retries rows from their bytes: re-routed by digest into per-node commands, re-indexed, never re-encoded', async () => {
      // Rows of lines 11 and 13 now belong to node 1, the others to node 2.
      const { client, calls, sent } = scripted(
        [codes(14, 14, 14, 14), codes(0, 0), codes(0, 0)],
        (line) => (line % 2 === 1 ? 1 : 2),
      );
      const counters = new Counters();
      const original = command([1, 2, 3, 4]);
      const rowBytes = (c: EncodedCommand, row: number) => c.bytes.subarray(c.rowOffsets[row], c.rowOffsets[row + 1]);
      const before = [0, 1, 2, 3].map((row) => Buffer.from(rowBytes(original, row)));
      const b = batcher(client, counters);
      await b.submit(original);
      await b.drain();
      expect(calls).to.deep.equal([[11, 12, 13, 14], [11, 13], [12, 14]]);
      expect(sent.slice(1).map((c) => c.slot)).to.deep.equal([1, 2]);
      for (const [c, rows] of [[sent[1], [0, 2]], [sent[2], [1, 3]]] as const) {
        rows.forEach((from, to) => {
          const expected = Buffer.from(before[from]);
          expected.writeUInt32BE(to, 0);
          expect(rowBytes(c, to).equals(expected), `row ${to}`).to.equal(true);
        });
        // The batch field announces exactly the rows the command holds.
        expect(c.bytes.readUInt32BE(8 + 22 + 5)).to.equal(rows.length);
        expect(c.bytes.readUIntBE(2, 6)).to.equal(c.bytes.length - 8);
      }
      expect(counters.get(Counter.RECORDS_INSERTED)).to.equal(4);
      expect(counters.get(Counter.RETRIES)).to.equal(1);
      expect(counters.get(Counter.RECORDS_IN_FLIGHT)).to.equal(0);
    });

    it('retries the rows of a failed command; gives up after --max-retries with C message', async () => {
      const timeout = failAll(new AerospikeError(ClientErrorCode.SOCKET_TIMEOUT, 'no answer'));
      const { client, calls } = scripted([timeout, timeout, timeout, timeout]);
      const counters = new Counters();
      const fatal: Error[] = [];
      const b = batcher(client, counters, fatal);
      await b.submit(command([1, 2]));
      await b.drain();
      expect(calls.length).to.equal(4);
      expect(counters.get(Counter.RETRIES)).to.equal(4);
      expect(fatal[0]?.message).to.match(/^Max batch-write retries exceeded \(3\); last error: TIMEOUT \(9\)/);
    });

    it('a record error is counted as err_ignored, and fatal without --ignore-record-error', async () => {
      for (const ignore of [false, true]) {
        const { client } = scripted([codes(0, 13)]);
        const counters = new Counters();
        const fatal: Error[] = [];
        const b = batcher(client, counters, fatal, ignore);
        await b.submit(command([1, 2], 'f.asb'));
        await b.drain();
        expect(counters.get(Counter.RECORDS_IGNORED)).to.equal(1);
        expect(counters.get(Counter.RECORDS_INSERTED)).to.equal(1);
        if (ignore) expect(fatal).to.deep.equal([]);
        else expect(fatal[0]?.message).to.match(/code 13 \(RECORD_TOO_BIG\) \(f\.asb, line 12\)/);
      }
    });

    it('a permanent command failure stops at once, without retries', async () => {
      const { client, calls } = scripted([failAll(new AerospikeError(ClientErrorCode.SERVER, 'bad', { resultCode: 4 }))]);
      const counters = new Counters();
      const fatal: Error[] = [];
      const b = batcher(client, counters, fatal);
      await b.submit(command([1]));
      await b.drain();
      expect(calls.length).to.equal(1);
      expect(counters.get(Counter.RETRIES)).to.equal(0);
      expect(fatal[0]?.message).to.match(/^Error while storing record - code 4/);
    });

    it('an unanswered row of a command that did not fail is fatal, naming its line', async () => {
      const { client } = scripted([() => ({ resultCodes: Int32Array.from([0, ROW_UNANSWERED]), failure: null })]);
      const fatal: Error[] = [];
      const b = batcher(client, new Counters(), fatal);
      await b.submit(command([1, 2], 'g.asb'));
      await b.drain();
      expect(fatal[0]?.message).to.match(/record at line 12 got no answer/);
    });
  });
});
