import { expect } from 'chai';
import { join } from 'node:path';
import { describeIfExists, wireReferenceDir } from '../support/paths.js';
import { protoMessages, readPcap, type TcpConnection } from '../support/pcap.js';
import { ProtoFrameReader } from '../../src/shared/aerospike/framing.js';
import { Info1, Info3, ProtoType, ResultCode } from '../../src/shared/aerospike/protocol.js';
import { encodeInfoRequest, parseInfoError, parseInfoResponse } from '../../src/shared/aerospike/info-codec.js';
import { parsePeers } from '../../src/shared/aerospike/peers.js';
import { PARTITION_COUNT, hasPartition, parseReplicas, partitionOf } from '../../src/shared/aerospike/replicas.js';
import { formatAddress, parseHostList, parseServiceAddresses } from '../../src/shared/aerospike/host-list.js';
import { BatchAnswerParser, ROW_UNANSWERED, parseRecordAnswer } from '../../src/shared/aerospike/response-parser.js';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';

const pcapDir = join(wireReferenceDir, 'pcap');

describe('client: host lists', () => {
  it('parses HOST[:TLSNAME][:PORT] entries as the C client does', () => {
    expect(parseHostList('a,b:3100,c:tls-c,d:tls-d:3200,[::1],[::1]:4000,[fe80::2]:tlsx:4001', 3000)).to.deep.equal([
      { host: 'a', port: 3000, tlsName: null },
      { host: 'b', port: 3100, tlsName: null },
      { host: 'c', port: 3000, tlsName: 'tls-c' },
      { host: 'd', port: 3200, tlsName: 'tls-d' },
      { host: '::1', port: 3000, tlsName: null },
      { host: '::1', port: 4000, tlsName: null },
      { host: 'fe80::2', port: 4001, tlsName: 'tlsx' },
    ]);
    expect(parseHostList('127.0.0.1', 3456)).to.deep.equal([{ host: '127.0.0.1', port: 3456, tlsName: null }]);
  });

  for (const bad of ['', 'a,,b', 'a:', 'a:x:y:z', 'a:99999', 'a:t:notaport', '[::1', ':3000', '::1']) {
    it(`rejects ${JSON.stringify(bad)} with INVALID_HOST`, () => {
      expect(() => parseHostList(bad)).to.throw(AerospikeError).with.property('code', ClientErrorCode.INVALID_HOST);
    });
  }

  it('parses service address lists and formats IPv6 in brackets', () => {
    expect(parseServiceAddresses('127.0.0.1:3000,[::1]:3001')).to.deep.equal([
      { host: '127.0.0.1', port: 3000, tlsName: null },
      { host: '::1', port: 3001, tlsName: null },
    ]);
    expect(parseServiceAddresses('')).to.deep.equal([]);
    expect(() => parseServiceAddresses('nonsense')).to.throw(AerospikeError);
    expect(formatAddress({ host: '::1', port: 3 })).to.equal('[::1]:3');
  });
});

describe('client: peers answers', () => {
  it('parses an empty peers list (as a 1-node 8.1 server sends it)', () => {
    expect(parsePeers('0,3000,[]')).to.deep.equal({ generation: 0, defaultPort: 3000, peers: [] });
  });

  it('parses peers with TLS names, default ports, explicit ports and IPv6 hosts', () => {
    const answer = parsePeers('7,3100,[[BB9,,[10.0.0.1]],[BB8,tls8,[10.0.0.2:3300,[2001:db8::1]:3301]],[BB7,,[[::1]]]]');
    expect(answer.generation).to.equal(7);
    expect(answer.peers).to.deep.equal([
      { nodeName: 'BB9', tlsName: null, hosts: [{ host: '10.0.0.1', port: 3100, tlsName: null }] },
      {
        nodeName: 'BB8',
        tlsName: 'tls8',
        hosts: [
          { host: '10.0.0.2', port: 3300, tlsName: 'tls8' },
          { host: '2001:db8::1', port: 3301, tlsName: 'tls8' },
        ],
      },
      { nodeName: 'BB7', tlsName: null, hosts: [{ host: '::1', port: 3100, tlsName: null }] },
    ]);
    expect(parsePeers('1,,[]').defaultPort).to.equal(3000);
  });

  for (const bad of ['', '0', '0,3000', '0,3000,[', '0,3000,[[A,,[h]]', '0,3000,[[A,,[h]]]x', 'x,3000,[]', '0,3000,[[,,[h]]]']) {
    it(`rejects the malformed peers answer ${JSON.stringify(bad)} with PROTOCOL`, () => {
      expect(() => parsePeers(bad)).to.throw(AerospikeError).with.property('code', ClientErrorCode.PROTOCOL);
    });
  }
});

describe('client: replicas answers', () => {
  const all = Buffer.alloc(512, 0xff).toString('base64');
  const none = Buffer.alloc(512, 0).toString('base64');

  it('reads regime, replica count and the master bitmap of each namespace', () => {
    const first = Buffer.alloc(512);
    first[0] = 0x80; // partition 0
    first[511] = 0x01; // partition 4095
    const parsed = parseReplicas(`test:3,2,${first.toString('base64')},${none};bar:0,1,${all}`);
    expect(parsed.map((entry) => [entry.namespace, entry.regime, entry.replicaCount])).to.deep.equal([
      ['test', 3, 2],
      ['bar', 0, 1],
    ]);
    const owned = [];
    for (let p = 0; p < PARTITION_COUNT; p++) if (hasPartition(parsed[0].master, p)) owned.push(p);
    expect(owned).to.deep.equal([0, 4095]);
  });

  for (const [what, value] of [
    ['a missing regime', `test:1,${all}`],
    ['a short bitmap', `test:0,1,AAAA`],
    ['fewer bitmaps than replicas', `test:0,2,${all}`],
    ['a replica count of 0', `test:0,0,${all}`],
  ]) {
    it(`rejects ${what}`, () => {
      expect(() => parseReplicas(value)).to.throw(AerospikeError).with.property('code', ClientErrorCode.PROTOCOL);
    });
  }

  it('puts a digest in the partition of its first two bytes, little-endian', () => {
    expect(partitionOf(Buffer.from([0x01, 0x00, 9, 9]))).to.equal(1);
    expect(partitionOf(Buffer.from([0x00, 0x01]))).to.equal(256);
    expect(partitionOf(Buffer.from([0xff, 0xff]))).to.equal(4095);
  });
});

describe('client: info codec', () => {
  it('recognises error answers', () => {
    expect(parseInfoError('ERROR:4:unrecognized command')).to.deep.equal({ code: 4, message: 'unrecognized command' });
    expect(parseInfoError('FAIL:201:no index')).to.deep.equal({ code: 201, message: 'no index' });
    expect(parseInfoError('error=not_found')).to.deep.equal({ code: 100, message: 'not_found' });
    expect(parseInfoError('ERROR::no code')).to.deep.equal({ code: 1, message: 'no code' });
    expect(parseInfoError('ok')).to.equal(null);
  });

  it('parses names without a value and empty values', () => {
    const answers = parseInfoResponse(Buffer.from('sindex-list\t\nbuild\t8.1.2.0\nlonely\n'));
    expect([...answers]).to.deep.equal([
      ['sindex-list', ''],
      ['build', '8.1.2.0'],
      ['lonely', ''],
    ]);
  });
});

describeIfExists(pcapDir, 'client: codecs against captured traffic', () => {
  let tend: TcpConnection[];
  let batch: TcpConnection[];

  before(() => {
    tend = readPcap(join(pcapDir, 'a-tend.pcap'));
    batch = readPcap(join(pcapDir, 'c-batch.pcap'));
  });

  it('encodes the tend info requests byte for byte as the C client sent them', () => {
    const requests = protoMessages(tend[0].clientToServer);
    const expected = [
      ['node', 'partition-generation', 'build'],
      ['user-agent-set:value=MSxub2RlanMtNi43LjEsbm90LXNldA=='],
      ['peers-clear-std'],
      ['partition-generation', 'replicas'],
      ['node', 'peers-generation', 'partition-generation'],
    ];
    for (let i = 0; i < expected.length; i++) {
      expect(encodeInfoRequest(expected[i]).equals(requests[i].bytes), `request ${i}`).to.equal(true);
    }
  });

  it('parses the captured tend answers (peers and replicas included)', () => {
    const answers = protoMessages(tend[0].serverToClient).map((message) => parseInfoResponse(message.body));
    expect(answers[0].get('node')).to.equal('BB901000000FC02');
    expect(parsePeers(answers[2].get('peers-clear-std')!)).to.deep.equal({ generation: 0, defaultPort: 3000, peers: [] });
    const replicas = parseReplicas(answers[3].get('replicas')!);
    expect(replicas.map((entry) => entry.namespace)).to.deep.equal(['test', 'bar']);
    for (let p = 0; p < PARTITION_COUNT; p++) expect(hasPartition(replicas[0].master, p)).to.equal(true);
  });

  /** The server's answer frames to the first batch request on the connection that sent one. */
  function firstBatchAnswer(): { bytes: Buffer; frames: number } {
    for (const connection of batch) {
      const requests = protoMessages(connection.clientToServer);
      const answers = protoMessages(connection.serverToClient);
      const at = requests.findIndex((message) => message.type === ProtoType.AS_MSG && (message.body[1] & Info1.BATCH) !== 0);
      if (at < 0) continue;
      // No pipelining: answers to the requests before it are one message each (single writes).
      let frame = at;
      const start = answers[frame].bytes.byteOffset - answers[0].bytes.byteOffset;
      for (;;) {
        const body = answers[frame].body;
        frame++;
        if ((body[body.length - 22 + 3] & Info3.LAST) !== 0) break;
      }
      const end = answers[frame - 1].bytes.byteOffset - answers[0].bytes.byteOffset + answers[frame - 1].bytes.length;
      return { bytes: connection.serverToClient.bytes.subarray(start, end), frames: frame - at };
    }
    throw new Error('no batch request in c-batch.pcap');
  }

  it('maps per-record batch answers to their rows, whatever the read sizes', () => {
    const { bytes } = firstBatchAnswer();
    const expected = [0, 0, 5, 2, 3, 3, 0, 0, 0, 0, 0, 2, 0, 0];
    for (const [chunkSize, transient] of [1, 7, 22, 1000, bytes.length].flatMap((size) => [[size, false], [size, true]] as const)) {
      const results = new Int32Array(14).fill(ROW_UNANSWERED);
      const parser = new BatchAnswerParser(results, null, 0);
      // Transient: each read lands in one reused buffer (a socket's onread buffer), overwritten after push().
      const reader = new ProtoFrameReader(undefined, transient);
      const readBuffer = Buffer.alloc(chunkSize);
      let done = false;
      for (let offset = 0; offset < bytes.length; offset += chunkSize) {
        let chunk = bytes.subarray(offset, offset + chunkSize);
        if (transient) chunk = readBuffer.subarray(0, chunk.copy(readBuffer));
        for (const frame of reader.push(chunk)) {
          expect(done, 'data after LAST').to.equal(false);
          done = parser.consume(frame.body);
        }
        if (transient) readBuffer.fill(0xee);
      }
      expect(done).to.equal(true);
      expect([...results], `chunks of ${chunkSize}${transient ? ', reused buffer' : ''}`).to.deep.equal(expected);
      expect(parser.answered).to.equal(14);
      expect(parser.batchResultCode).to.equal(ResultCode.OK);
    }
  });

  it('refuses an answer for a row the command did not send', () => {
    const { bytes } = firstBatchAnswer();
    const results = new Int32Array(14).fill(ROW_UNANSWERED);
    const rowGroup = new Uint16Array(14);
    rowGroup[5] = 1; // row 5 went to another node's command
    const parser = new BatchAnswerParser(results, rowGroup, 0);
    expect(() => {
      for (const frame of new ProtoFrameReader().push(bytes)) parser.consume(frame.body);
    }).to.throw(AerospikeError, /row 5/);
  });

  it('reads a single-record answer header (rc, generation, void time)', () => {
    const answers = protoMessages(batch[1].serverToClient);
    const answer = parseRecordAnswer(answers[0].body);
    expect(answer).to.deep.equal({ resultCode: 0, generation: 1, voidTime: 0 });
    expect(() => parseRecordAnswer(Buffer.alloc(10))).to.throw(AerospikeError);
  });
});
