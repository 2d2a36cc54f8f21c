import { expect } from 'chai';
import { MessageChannel } from 'node:worker_threads';
import { chunksFromPort, pumpToPort } from '../../src/shared/port-stream.js';

async function* source(total: number, piece: number, onYield?: (sent: number) => void): AsyncGenerator<Buffer> {
  let sent = 0;
  while (sent < total) {
    const n = Math.min(piece, total - sent);
    const chunk = Buffer.alloc(n);
    for (let i = 0; i < n; i++) chunk[i] = (sent + i) & 0xff;
    sent += n;
    onYield?.(sent);
    yield chunk;
  }
}

describe('cli: stdin to a worker over a MessagePort', () => {
  it('delivers every byte in order, in full chunks, and ends', async () => {
    const { port1, port2 } = new MessageChannel();
    const pumping = pumpToPort(source(1_000_003, 7000), port1, { chunkBytes: 65536 });
    const received: Buffer[] = [];
    for await (const chunk of chunksFromPort(port2)) received.push(chunk);
    expect(await pumping).to.equal(1_000_003);
    const all = Buffer.concat(received);
    expect(all.length).to.equal(1_000_003);
    for (let i = 0; i < all.length; i += 9973) expect(all[i]).to.equal(i & 0xff);
    expect(received.slice(0, -1).every((c) => c.length === 65536)).to.equal(true);
  });

  it('keeps at most the in-flight window unconsumed (backpressure)', async () => {
    const { port1, port2 } = new MessageChannel();
    let produced = 0;
    const pumping = pumpToPort(source(2_000_000, 10_000, (n) => (produced = n)), port1, { chunkBytes: 50_000, maxInFlightBytes: 200_000 });
    let consumed = 0;
    let maxAhead = 0;
    for await (const chunk of chunksFromPort(port2)) {
      // a slow consumer
      await new Promise((r) => setTimeout(r, 2));
      consumed += chunk.length;
      maxAhead = Math.max(maxAhead, produced - consumed);
    }
    await pumping;
    expect(consumed).to.equal(2_000_000);
    // window + the chunk being filled + one source piece
    expect(maxAhead).to.be.at.most(200_000 + 50_000 + 50_000 + 10_000);
  });

  it('stops the producer when the consumer stops reading', async () => {
    const { port1, port2 } = new MessageChannel();
    let cancelled = false;
    let produced = 0;
    const pumping = pumpToPort(source(50_000_000, 65536, (n) => (produced = n)), port1, {
      chunkBytes: 65536,
      maxInFlightBytes: 262144,
      onCancel: () => (cancelled = true),
    });
    let n = 0;
    for await (const chunk of chunksFromPort(port2)) {
      n += chunk.length;
      if (n >= 1_000_000) break;
    }
    const sent = await pumping;
    expect(cancelled).to.equal(true);
    expect(sent).to.be.below(3_000_000);
    expect(produced).to.be.below(3_000_000);
  });

  it('ends the consumer with an error when the source fails or the producer goes away', async () => {
    const { port1, port2 } = new MessageChannel();
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('abc');
      throw new Error('EIO');
    }
    void pumpToPort(failing(), port1);
    let caught: Error | undefined;
    try {
      for await (const chunk of chunksFromPort(port2)) void chunk;
    } catch (error) {
      caught = error as Error;
    }
    expect(caught?.message).to.equal('reading the input failed: EIO');

    const other = new MessageChannel();
    const abort = new AbortController();
    async function* silent(): AsyncGenerator<Buffer> {
      yield Buffer.from('x');
      await new Promise(() => {});
    }
    let released = false;
    const pumping = pumpToPort(silent(), other.port1, { signal: abort.signal, onCancel: () => (released = true) });
    setTimeout(() => abort.abort(), 50);
    let closedError: Error | undefined;
    try {
      for await (const chunk of chunksFromPort(other.port2)) void chunk;
    } catch (error) {
      closedError = error as Error;
    }
    expect(released).to.equal(true);
    expect(closedError?.message).to.equal('the input stream was closed before its end');
    void pumping;
  });
});
