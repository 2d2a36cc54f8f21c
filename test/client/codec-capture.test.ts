/**
 * The encoders against what the real C asrestore 4.5.8 sent: the fixture backup a-default is decoded
 * with the project's .asb decoder, its records re-encoded, and every captured request compared byte
 * for byte. TTLs in the captures count down from the capture time, so each row's TTL is checked
 * against the record's void time and the capture timestamp (±2 s), then the captured value is used.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfExists, fixturesDir, wireReferenceDir } from '../support/paths.js';
import { protoMessages, readPcap, type CapturedMessage } from '../support/pcap.js';
import { AsbDecoder } from '../../src/shared/asb/decoder.js';
import type { AsbRecord } from '../../src/shared/asb/types.js';
import { CITRUSLEAF_EPOCH, FieldType, Info1, Info2, Info3, ProtoType, TTL_NEVER_EXPIRE } from '../../src/shared/aerospike/protocol.js';
import type { WriteFlags } from '../../src/shared/aerospike/write-flags.js';
import { encodeBatchWrite, encodeRecordWriteFromRow } from '../../src/shared/aerospike/batch-codec.js';
import { BatchCommandBuilder } from '../../src/shared/aerospike/batch-command.js';
import { encodeRecordWrite } from '../../src/shared/aerospike/message-codec.js';
import { BatchAnswerParser, ROW_UNANSWERED, parseRecordAnswer } from '../../src/shared/aerospike/response-parser.js';
import { ProtoFrameReader } from '../../src/shared/aerospike/framing.js';

const pcapDir = join(wireReferenceDir, 'pcap');
const backupFile = join(fixturesDir, 'a-default', 'backup', 'test_00000.asb');
const TARGET_NAMESPACE = Buffer.from('bar');

function decodeFixture(): Map<string, AsbRecord> {
  const records = new Map<string, AsbRecord>();
  const decoder = new AsbDecoder(
    {
      record: (record) => records.set(record.digest.toString('hex'), { ...record, namespace: TARGET_NAMESPACE }),
      secondaryIndex: () => undefined,
      udf: () => undefined,
    },
    { file: backupFile },
  );
  decoder.write(readFileSync(backupFile));
  decoder.end();
  return records;
}

interface CapturedRow {
  index: number;
  digest: string;
  generation: number;
  ttl: number;
}

/** Walks the rows of a captured batch request (field 41) to learn each row's digest and TTL. */
function batchRows(body: Buffer): CapturedRow[] {
  let offset = 22 + 5; // message header, field header
  expect(body[offset - 1]).to.equal(FieldType.BATCH_INDEX);
  const count = body.readUInt32BE(offset);
  offset += 5;
  const rows: CapturedRow[] = [];
  for (let r = 0; r < count; r++) {
    const index = body.readUInt32BE(offset);
    const digest = body.subarray(offset + 4, offset + 24).toString('hex');
    expect(body[offset + 24], 'row meta').to.equal(0x0e);
    const generation = body.readUInt16BE(offset + 28);
    const ttl = body.readUInt32BE(offset + 30);
    const fields = body.readUInt16BE(offset + 34);
    const ops = body.readUInt16BE(offset + 36);
    offset += 38;
    for (let i = 0; i < fields + ops; i++) offset += 4 + body.readUInt32BE(offset);
    rows.push({ index, digest, generation, ttl });
  }
  expect(offset).to.equal(body.length);
  return rows;
}

function expectTtl(record: AsbRecord, ttl: number, message: CapturedMessage, what: string): void {
  if (record.voidTime === 0) {
    expect(ttl, what).to.equal(TTL_NEVER_EXPIRE);
    return;
  }
  const nowCitrusleaf = message.timeUs / 1e6 - CITRUSLEAF_EPOCH;
  expect(Math.abs(ttl - (record.voidTime - nowCitrusleaf)), `${what}: ttl ${ttl} vs void time ${record.voidTime}`).to.be.at.most(2);
}

function clientMessages(file: string): CapturedMessage[] {
  const out: CapturedMessage[] = [];
  for (const connection of readPcap(join(pcapDir, file))) out.push(...protoMessages(connection.clientToServer));
  return out.filter((message) => message.type === ProtoType.AS_MSG);
}

/** Every batch answer (frames up to LAST) of a capture, parsed into result codes. */
function batchAnswerCodes(file: string): number[] {
  const codes: number[] = [];
  for (const connection of readPcap(join(pcapDir, file))) {
    const results = new Int32Array(100_000).fill(ROW_UNANSWERED);
    let parser = new BatchAnswerParser(results, null, 0);
    let touched = 0;
    for (const frame of new ProtoFrameReader().push(connection.serverToClient.bytes)) {
      if (frame.type !== ProtoType.AS_MSG) continue;
      if (parser.consume(frame.body)) {
        for (let i = 0; i < results.length && touched < parser.answered; i++) {
          if (results[i] !== ROW_UNANSWERED) {
            codes.push(results[i]);
            results[i] = ROW_UNANSWERED;
            touched++;
          }
        }
        touched = 0;
        parser = new BatchAnswerParser(results, null, 0);
      }
    }
  }
  return codes;
}

const GEN_GT: WriteFlags = { info2: Info2.WRITE | Info2.GENERATION_GT, info3: 0 };

const batchCases: { file: string; title: string; flags: WriteFlags; answers: Record<number, number> }[] = [
  { file: 'e1-restore-batch.pcap', title: 'default options (e1)', flags: GEN_GT, answers: { 0: 1894 } },
  {
    file: 'e3-restore-replace-nogen.pcap',
    title: '--replace --no-generation (e3)',
    flags: { info2: Info2.WRITE, info3: Info3.CREATE_OR_REPLACE },
    answers: { 0: 1894 },
  },
  {
    file: 'e4-restore-unique.pcap',
    title: '--unique (e4)',
    flags: { info2: Info2.WRITE | Info2.GENERATION_GT | Info2.CREATE_ONLY, info3: 0 },
    answers: { 5: 1894 },
  },
  { file: 'e5-restore-default-existing.pcap', title: 'default options over existing data (e5)', flags: GEN_GT, answers: { 3: 1743, 0: 151 } },
];

describeIfExists(pcapDir, 'client: encoders byte-exact against C asrestore captures', () => {
  let records: Map<string, AsbRecord>;

  before(function () {
    this.timeout(60_000);
    records = decodeFixture();
    expect(records.size).to.equal(1894);
  });

  for (const testCase of batchCases) {
    it(`batch writes, ${testCase.title}: every request byte for byte, every answer by row`, () => {
      const requests = clientMessages(testCase.file).filter((message) => (message.body[1] & Info1.BATCH) !== 0);
      expect(requests.length).to.equal(15);
      const seen = new Set<string>();
      for (const message of requests) {
        const rows = batchRows(message.body);
        const batch: AsbRecord[] = [];
        const ttls: number[] = [];
        rows.forEach((row, position) => {
          expect(row.index).to.equal(position);
          const record = records.get(row.digest);
          expect(record, `record ${row.digest} of the capture`).to.not.equal(undefined);
          expectTtl(record!, row.ttl, message, `row ${position}`);
          seen.add(row.digest);
          batch.push(record!);
          ttls.push(row.ttl);
        });
        const encoded = encodeBatchWrite(batch, ttls, testCase.flags, 10_000);
        expect(encoded.length, 'request size').to.equal(message.bytes.length);
        expect(encoded.equals(message.bytes), 'request bytes').to.equal(true);
        // The same command built row by row as records arrive (the restore's path).
        const builder = new BatchCommandBuilder(0, batch.length, testCase.flags);
        batch.forEach((record, i) => builder.appendRecord(record, BatchCommandBuilder.rowSize(record), ttls[i]));
        const built = builder.take('capture', 10_000)!;
        expect(built.bytes.equals(message.bytes), 'request bytes, built row by row').to.equal(true);
      }
      expect(seen.size).to.equal(1894);

      const tally: Record<number, number> = {};
      for (const code of batchAnswerCodes(testCase.file)) tally[code] = (tally[code] ?? 0) + 1;
      expect(tally).to.deep.equal(testCase.answers);
    });
  }

  it('single-record writes, --disable-batch-writes (e2): every request byte for byte', () => {
    const requests = clientMessages('e2-restore-single.pcap');
    expect(requests.length).to.equal(1894);
    const seen = new Set<string>();
    for (const message of requests) {
      const body = message.body;
      let offset = 22;
      let digest = '';
      for (let i = 0; i < body.readUInt16BE(18); i++) {
        const size = body.readUInt32BE(offset);
        if (body[offset + 4] === FieldType.DIGEST_RIPE) digest = body.subarray(offset + 5, offset + 4 + size).toString('hex');
        offset += 4 + size;
      }
      const record = records.get(digest);
      expect(record, `record ${digest}`).to.not.equal(undefined);
      const ttl = body.readUInt32BE(10);
      expectTtl(record!, ttl, message, digest);
      seen.add(digest);
      expect(encodeRecordWrite(record!, ttl, GEN_GT, 10_000).equals(message.bytes), `request for ${digest}`).to.equal(true);
      // The same request shuffled out of the record's batch row (single mode sends rows this way).
      const builder = new BatchCommandBuilder(0, 1, GEN_GT);
      builder.appendRecord(record!, BatchCommandBuilder.rowSize(record!), ttl);
      const row = builder.take('capture')!;
      expect(encodeRecordWriteFromRow(row.bytes, row.rowOffsets[0], row.rowOffsets[1], GEN_GT, 10_000).equals(message.bytes), `row request for ${digest}`).to.equal(true);
    }
    expect(seen.size).to.equal(1894);

    let answered = 0;
    for (const connection of readPcap(join(pcapDir, 'e2-restore-single.pcap'))) {
      for (const message of protoMessages(connection.serverToClient)) {
        if (message.type !== ProtoType.AS_MSG) continue;
        expect(parseRecordAnswer(message.body).resultCode).to.equal(0);
        answered++;
      }
    }
    expect(answered).to.equal(1894);
  });
});
