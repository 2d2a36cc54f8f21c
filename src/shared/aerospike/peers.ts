/**
 * The `peers-clear-std` / `peers-clear-alt` / `peers-tls-std` / `peers-tls-alt` answer
 * (C client as_peers.c):
 *   <generation>,<default port>,[<peer>,...]
 *   peer := [<node name>,<tls name>,[<host>[:<port>],...]]
 * The default port may be empty (3000); IPv6 hosts are bracketed; an empty TLS name means none.
 */
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import { DEFAULT_PORT, type HostAddress } from './host-list.js';

export interface Peer {
  nodeName: string;
  tlsName: string | null;
  hosts: HostAddress[];
}

export interface PeersAnswer {
  generation: number;
  defaultPort: number;
  peers: Peer[];
}

class Cursor {
  position = 0;
  constructor(readonly text: string) {}

  fail(expected: string): never {
    throw new AerospikeError(
      ClientErrorCode.PROTOCOL,
      `invalid peers answer: expected ${expected} at offset ${this.position} of "${this.text}"`,
    );
  }

  expect(c: string): void {
    if (this.text[this.position] !== c) this.fail(`"${c}"`);
    this.position++;
  }

  peek(): string | undefined {
    return this.text[this.position];
  }

  /** Reads up to (not including) the first of `stops`. */
  until(stops: string): string {
    const start = this.position;
    while (this.position < this.text.length && !stops.includes(this.text[this.position])) this.position++;
    return this.text.slice(start, this.position);
  }
}

function parseNumber(cursor: Cursor, token: string, what: string): number {
  if (!/^\d+$/.test(token)) cursor.fail(what);
  return Number(token);
}

export function parsePeers(value: string): PeersAnswer {
  const cursor = new Cursor(value);
  const generation = parseNumber(cursor, cursor.until(','), 'a peers generation');
  cursor.expect(',');
  const portToken = cursor.until(',');
  const defaultPort = portToken === '' ? DEFAULT_PORT : parseNumber(cursor, portToken, 'a default port');
  cursor.expect(',');
  cursor.expect('[');
  const peers: Peer[] = [];
  if (cursor.peek() === ']') {
    cursor.expect(']');
  } else {
    for (;;) {
      cursor.expect('[');
      const nodeName = cursor.until(',');
      if (nodeName === '') cursor.fail('a node name');
      cursor.expect(',');
      const tlsName = cursor.until(',');
      cursor.expect(',');
      cursor.expect('[');
      const hosts: HostAddress[] = [];
      while (cursor.peek() !== ']') {
        let host: string;
        if (cursor.peek() === '[') {
          cursor.expect('[');
          host = cursor.until(']');
          cursor.expect(']');
        } else {
          host = cursor.until(':,]');
        }
        if (host === '') cursor.fail('a host');
        let port = defaultPort;
        if (cursor.peek() === ':') {
          cursor.expect(':');
          port = parseNumber(cursor, cursor.until(',]'), 'a port');
          if (port < 1 || port > 65535) cursor.fail('a port in 1-65535');
        }
        hosts.push({ host, port, tlsName: tlsName === '' ? null : tlsName });
        if (cursor.peek() === ',') cursor.expect(',');
        else if (cursor.peek() !== ']') cursor.fail('"," or "]"');
      }
      cursor.expect(']');
      cursor.expect(']');
      peers.push({ nodeName, tlsName: tlsName === '' ? null : tlsName, hosts });
      if (cursor.peek() === ',') {
        cursor.expect(',');
        continue;
      }
      cursor.expect(']');
      break;
    }
  }
  if (cursor.position !== value.length) cursor.fail('the end of the answer');
  return { generation, defaultPort, peers };
}
