/**
 * Reads classic libpcap captures (as `tcpdump -w` writes them) of TCP traffic and reassembles each
 * connection's two byte streams, so tests can compare what real clients sent with what ours
 * encodes. Handles both byte orders, µs and ns timestamps, Ethernet / Linux cooked (SLL) link
 * layers, IPv4 and IPv6; segments are ordered by sequence number and retransmissions dropped.
 */
import { readFileSync } from 'node:fs';
import { ProtoFrameReader } from '../../src/shared/aerospike/framing.js';
import { PROTO_HEADER_SIZE } from '../../src/shared/aerospike/protocol.js';

export interface TcpSegment {
  /** Capture time, microseconds since the Unix epoch. */
  timeUs: number;
  seq: number;
  data: Buffer;
}

export interface TcpStream {
  /** Bytes in order, gaps (lost segments) not allowed. */
  bytes: Buffer;
  /** Where each segment's bytes start in `bytes`, with its capture time. */
  marks: { offset: number; timeUs: number }[];
}

export interface TcpConnection {
  clientHost: string;
  clientPort: number;
  serverHost: string;
  serverPort: number;
  /** Time of the first packet, µs since the Unix epoch. */
  openedUs: number;
  clientToServer: TcpStream;
  serverToClient: TcpStream;
}

export interface CapturedMessage {
  type: number;
  /** Whole message: 8-byte proto header and body. */
  bytes: Buffer;
  body: Buffer;
  /** Capture time of the segment that carried the message's first byte. */
  timeUs: number;
}

interface Direction {
  segments: TcpSegment[];
  isn: number | null;
}

interface Flow {
  openedUs: number;
  /** The side that sent the SYN (or the first packet): the client. */
  a: { host: string; port: number };
  b: { host: string; port: number };
  aToB: Direction;
  bToA: Direction;
}

function ipv4(bytes: Buffer, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

function ipv6(bytes: Buffer, offset: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(bytes.readUInt16BE(offset + i).toString(16));
  return parts.join(':');
}

/** Parses a pcap file into TCP connections, in order of their first packet. */
export function readPcap(path: string): TcpConnection[] {
  const file = readFileSync(path);
  const magic = file.readUInt32LE(0);
  let little: boolean;
  let nanos: boolean;
  if (magic === 0xa1b2c3d4) [little, nanos] = [true, false];
  else if (magic === 0xa1b23c4d) [little, nanos] = [true, true];
  else if (magic === 0xd4c3b2a1) [little, nanos] = [false, false];
  else if (magic === 0x4d3cb2a1) [little, nanos] = [false, true];
  else throw new Error(`${path}: not a classic pcap file (magic ${magic.toString(16)})`);
  const u32 = (offset: number): number => (little ? file.readUInt32LE(offset) : file.readUInt32BE(offset));
  const linkType = u32(20);
  const flows = new Map<string, Flow>();
  const order: Flow[] = [];
  let offset = 24;
  while (offset + 16 <= file.length) {
    const seconds = u32(offset);
    const fraction = u32(offset + 4);
    const captured = u32(offset + 8);
    const timeUs = seconds * 1e6 + (nanos ? Math.floor(fraction / 1000) : fraction);
    const packet = file.subarray(offset + 16, offset + 16 + captured);
    offset += 16 + captured;
    let ip: number;
    let etherType: number;
    if (linkType === 1) {
      etherType = packet.readUInt16BE(12);
      ip = 14;
    } else if (linkType === 113) {
      etherType = packet.readUInt16BE(14);
      ip = 16;
    } else {
      throw new Error(`${path}: unsupported link type ${linkType}`);
    }
    let src: string;
    let dst: string;
    let tcp: number;
    let end: number;
    if (etherType === 0x0800) {
      if (packet[ip + 9] !== 6) continue;
      tcp = ip + (packet[ip] & 0x0f) * 4;
      end = ip + packet.readUInt16BE(ip + 2);
      src = ipv4(packet, ip + 12);
      dst = ipv4(packet, ip + 16);
    } else if (etherType === 0x86dd) {
      if (packet[ip + 6] !== 6) continue;
      tcp = ip + 40;
      end = tcp + packet.readUInt16BE(ip + 4);
      src = ipv6(packet, ip + 8);
      dst = ipv6(packet, ip + 24);
    } else {
      continue;
    }
    const srcPort = packet.readUInt16BE(tcp);
    const dstPort = packet.readUInt16BE(tcp + 2);
    const seq = packet.readUInt32BE(tcp + 4);
    const flags = packet[tcp + 13];
    const data = packet.subarray(tcp + (packet[tcp + 12] >> 4) * 4, Math.min(end, packet.length));
    const keyAB = `${src}:${srcPort}>${dst}:${dstPort}`;
    const keyBA = `${dst}:${dstPort}>${src}:${srcPort}`;
    let flow = flows.get(keyAB) ?? flows.get(keyBA);
    const syn = (flags & 0x02) !== 0;
    const ack = (flags & 0x10) !== 0;
    if (flow === undefined || (syn && !ack && flows.get(keyAB) === flow && flow.aToB.isn !== null && flow.aToB.isn !== seq)) {
      // A new connection (or a reused 4-tuple after the old one closed).
      flow = {
        openedUs: timeUs,
        a: { host: src, port: srcPort },
        b: { host: dst, port: dstPort },
        aToB: { segments: [], isn: null },
        bToA: { segments: [], isn: null },
      };
      flows.set(keyAB, flow);
      flows.delete(keyBA);
      order.push(flow);
    }
    const forward = flow.a.host === src && flow.a.port === srcPort;
    const direction = forward ? flow.aToB : flow.bToA;
    if (syn) direction.isn = (seq + 1) >>> 0;
    if (data.length > 0) direction.segments.push({ timeUs, seq, data: Buffer.from(data) });
  }
  return order.map((flow) => ({
    clientHost: flow.a.host,
    clientPort: flow.a.port,
    serverHost: flow.b.host,
    serverPort: flow.b.port,
    openedUs: flow.openedUs,
    clientToServer: reassemble(flow.aToB, path),
    serverToClient: reassemble(flow.bToA, path),
  }));
}

function reassemble(direction: Direction, path: string): TcpStream {
  const segments = direction.segments;
  if (segments.length === 0) return { bytes: Buffer.alloc(0), marks: [] };
  const base = direction.isn ?? segments[0].seq;
  const relative = (seq: number): number => (seq - base) >>> 0;
  const sorted = [...segments].sort((x, y) => relative(x.seq) - relative(y.seq) || x.timeUs - y.timeUs);
  const parts: Buffer[] = [];
  const marks: { offset: number; timeUs: number }[] = [];
  let next = 0;
  for (const segment of sorted) {
    const start = relative(segment.seq);
    const end = start + segment.data.length;
    if (end <= next) continue; // retransmission
    if (start > next) throw new Error(`${path}: ${start - next} bytes missing from a TCP stream`);
    marks.push({ offset: next, timeUs: segment.timeUs });
    parts.push(segment.data.subarray(next - start));
    next = end;
  }
  return { bytes: Buffer.concat(parts), marks };
}

/** Splits a stream into Aerospike proto messages, each with the capture time of its first byte. */
export function protoMessages(stream: TcpStream): CapturedMessage[] {
  const reader = new ProtoFrameReader();
  const frames = reader.push(stream.bytes);
  if (reader.bufferedBytes !== 0) throw new Error(`a captured stream ends inside a proto message (${reader.bufferedBytes} bytes)`);
  const messages: CapturedMessage[] = [];
  let offset = 0;
  let mark = 0;
  for (const frame of frames) {
    while (mark + 1 < stream.marks.length && stream.marks[mark + 1].offset <= offset) mark++;
    const length = PROTO_HEADER_SIZE + frame.body.length;
    messages.push({ type: frame.type, bytes: stream.bytes.subarray(offset, offset + length), body: frame.body, timeUs: stream.marks[mark].timeUs });
    offset += length;
  }
  return messages;
}
