/**
 * The engine's parts on their own: the packed batch format, the process-wide in-flight bound, the
 * mapping of client failures to C statuses, the batch-write decision, and the Batcher's
 * per-record judgement and retries against a scripted client (no network).
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import { ROW_UNANSWERED, type BatchResult, type WriteClient } from '../../src/shared/aerospike/write-client.js';
import type { AsbRecord } from '../../src/shared/asb/types.js';
import { Counter, Counters } from '../../src/shared/counters.js';
import { batchWritesSupported } from '../../src/main/restore.js';
import { Batcher, InFlightLimit, statusOfClientError } from '../../src/worker/batcher.js';
import { packRecords, unpackRecords } from '../../src/worker/record-pack.js';
import { restoreWriteFlags } from '../../src/worker/write-policy.js';

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
  describe('packed batches (record-pack)', () => {
    it('round-trips every bin type, keys, sets and TTLs byte for byte', () => {
      const records: AsbRecord[] = [
        record(1, {
          key: { type: ParticleType.INTEGER, value: -(2n ** 63n) },
          bins: [
            { name: Buffer.from('i'), type: ParticleType.INTEGER, value: 2n ** 63n - 1n },
            { name: Buffer.from('small'), type: ParticleType.INTEGER, value: -5 },
            { name: Buffer.from('d'), type: ParticleType.FLOAT, value: -0 },
            { name: Buffer.from('nan'), type: ParticleType.FLOAT, value: Number.NaN },
            { name: Buffer.from('s'), type: ParticleType.STRING, value: Buffer.from('héllo\n') },
            { name: Buffer.from('b'), type: ParticleType.BLOB, value: Buffer.from([0, 10, 32, 255]) },
            { name: Buffer.from('j'), type: ParticleType.JAVA_BLOB, value: Buffer.from([1]) },
            { name: Buffer.from('t'), type: ParticleType.BOOL, value: true },
            { name: Buffer.from('nil'), type: ParticleType.NULL, value: null },
            { name: Buffer.from('g'), type: ParticleType.GEOJSON, value: Buffer.from('{"type":"Point","coordinates":[1,2]}') },
            { name: Buffer.from('h'), type: ParticleType.HLL, value: Buffer.from([9, 9, 9]) },
            { name: Buffer.from('l'), type: ParticleType.LIST, value: Buffer.from('9301a40374776f03', 'hex') },
            { name: Buffer.from('m'), type: ParticleType.MAP, value: Buffer.from('81a203610c', 'hex') },
          ],
        }),
        record(2, { set: null, key: null, generation: 65535 }),
        record(3, { key: { type: ParticleType.BLOB, value: Buffer.from([0, 10]) } }),
        record(4, { key: { type: ParticleType.FLOAT, value: 1.5 } }),
      ];
      const ttls = new Uint32Array([0xffffffff, 1, 315360000, 7]);
      const { records: back, ttls: backTtls } = unpackRecords(packRecords(records, ttls));
      expect([...backTtls]).to.deep.equal([...ttls]);
      expect(back.length).to.equal(records.length);
      for (let r = 0; r < records.length; r++) {
        const a = records[r];
        const b = back[r];
        expect(b.namespace.equals(a.namespace)).to.equal(true);
        expect(b.digest.equals(a.digest)).to.equal(true);
        expect(b.set === null ? null : b.set.toString()).to.equal(a.set === null ? null : a.set.toString());
        expect(b.generation).to.equal(a.generation);
        expect(b.line).to.equal(a.line);
        expect(b.key?.type).to.equal(a.key?.type);
        if (a.key !== null) {
          const value = a.key.value;
          if (Buffer.isBuffer(value)) expect((b.key!.value as Buffer).equals(value)).to.equal(true);
          else expect(b.key!.value).to.equal(value);
        }
        expect(b.bins.length).to.equal(a.bins.length);
        for (let i = 0; i < a.bins.length; i++) {
          const x = a.bins[i];
          const y = b.bins[i];
          expect(y.name.toString()).to.equal(x.name.toString());
          expect(y.type).to.equal(x.type);
          if (Buffer.isBuffer(x.value)) expect((y.value as Buffer).equals(x.value)).to.equal(true);
          else if (typeof x.value === 'number') expect(Object.is(y.value, x.value), `${x.name}`).to.equal(true);
          else expect(y.value).to.equal(x.value);
        }
      }
      // Records of one namespace share one Buffer, as the decoder's do.
      expect(back[2].namespace).to.equal(back[3].namespace);
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
    /** A client whose answers for each call are scripted: result codes per row, or a failure of all rows. */
    function scripted(script: Array<(records: readonly AsbRecord[]) => BatchResult>): { client: WriteClient; calls: number[][] } {
      const calls: number[][] = [];
      const client = {
        async writeBatch(records: readonly AsbRecord[]): Promise<BatchResult> {
          calls.push(records.map((r) => r.line));
          const step = script.shift();
          if (step === undefined) throw new Error('unexpected call');
          return step(records);
        },
      } as unknown as WriteClient;
      return { client, calls };
    }
    const codes = (...values: number[]) => (): BatchResult => ({ resultCodes: Int32Array.from(values), unanswered: 0, failures: [] });

    function batcher(client: WriteClient, counters: Counters, fatal: Error[] = [], ignoreRecordError = false): Batcher {
      return new Batcher({
        client,
        mode: 'batch',
        flags: restoreWriteFlags({ unique: false, replace: false, noGeneration: false }),
        retry: { maxRetries: 3, scaleFactorMicros: 1000 },
        sleep: async () => undefined,
        counters,
        limit: new InFlightLimit(InFlightLimit.createBuffer(4)),
        ignoreRecordError,
        onFatal: (error) => fatal.push(error),
      });
    }

    it('counts each outcome once and sends again only the rows that failed in a transient way', async () => {
      const { client, calls } = scripted([codes(0, 14, 3, 5, 18), codes(0, 0)]);
      const counters = new Counters();
      const b = batcher(client, counters);
      await b.submit({ records: [0, 1, 2, 3, 4].map((i) => record(i)), ttls: new Uint32Array(5), file: 'f' });
      await b.drain();
      expect(calls).to.deep.equal([[10, 11, 12, 13, 14], [11, 14]]);
      expect(counters.get(Counter.RECORDS_INSERTED)).to.equal(3);
      expect(counters.get(Counter.RECORDS_FRESHER)).to.equal(1);
      expect(counters.get(Counter.RECORDS_EXISTED)).to.equal(1);
      expect(counters.get(Counter.RETRIES)).to.equal(1);
      expect(counters.get(Counter.RECORDS_IN_FLIGHT)).to.equal(0);
      expect(b.failure).to.equal(null);
    });

    it('retries the rows of a failed per-node command; gives up after --max-retries with C message', async () => {
      const timeout = (records: readonly AsbRecord[]): BatchResult => ({
        resultCodes: new Int32Array(records.length).fill(ROW_UNANSWERED),
        unanswered: records.length,
        failures: [{ error: new AerospikeError(ClientErrorCode.SOCKET_TIMEOUT, 'no answer'), rows: records.map((_, i) => i) }],
      });
      const { client, calls } = scripted([timeout, timeout, timeout, timeout]);
      const counters = new Counters();
      const fatal: Error[] = [];
      const b = batcher(client, counters, fatal);
      await b.submit({ records: [record(1), record(2)], ttls: new Uint32Array(2), file: 'f' });
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
        await b.submit({ records: [record(1), record(2)], ttls: new Uint32Array(2), file: 'f.asb' });
        await b.drain();
        expect(counters.get(Counter.RECORDS_IGNORED)).to.equal(1);
        expect(counters.get(Counter.RECORDS_INSERTED)).to.equal(1);
        if (ignore) expect(fatal).to.deep.equal([]);
        else expect(fatal[0]?.message).to.match(/code 13 \(RECORD_TOO_BIG\) \(f\.asb, line 12\)/);
      }
    });

    it('a permanent command failure stops at once, without retries', async () => {
      const { client, calls } = scripted([
        (records) => ({
          resultCodes: new Int32Array(records.length).fill(ROW_UNANSWERED),
          unanswered: records.length,
          failures: [{ error: new AerospikeError(ClientErrorCode.SERVER, 'bad', { resultCode: 4 }), rows: records.map((_, i) => i) }],
        }),
      ]);
      const counters = new Counters();
      const fatal: Error[] = [];
      const b = batcher(client, counters, fatal);
      await b.submit({ records: [record(1)], ttls: new Uint32Array(1), file: 'f' });
      await b.drain();
      expect(calls.length).to.equal(1);
      expect(counters.get(Counter.RETRIES)).to.equal(0);
      expect(fatal[0]?.message).to.match(/^Error while storing record - code 4/);
    });
  });
});
