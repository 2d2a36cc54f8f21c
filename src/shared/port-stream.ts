/**
 * A byte stream from the main thread to one worker over a MessagePort, with backpressure: how
 * stdin (readable only on the main thread in practice: a worker's process.stdin is a proxy through
 * the main thread anyway) reaches the worker that decodes it.
 *
 * The producer copies the source's small chunks into fresh buffers of `chunkBytes` and transfers
 * them (no copy across the thread boundary); it keeps at most `maxInFlightBytes` sent but not yet
 * consumed, so a slow decoder stalls the reading instead of filling memory. The consumer acknowledges
 * each chunk once the next one is requested, i.e. after the previous one was processed.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

type ToWorker = { type: 'data'; bytes: ArrayBuffer; length: number } | { type: 'end' } | { type: 'error'; message: string };
type ToMain = { type: 'ack'; bytes: number } | { type: 'cancel' };

export const PORT_STREAM_CHUNK_BYTES = 1024 * 1024;
export const PORT_STREAM_MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024;

export interface PortStreamProducerOptions {
  chunkBytes?: number;
  maxInFlightBytes?: number;
  /** Aborting stops the pump (e.g. when the consuming task ended without reading everything). */
  signal?: AbortSignal;
  /**
   * Called once when the pump stops early (consumer cancelled or signal aborted), to release a
   * source that may otherwise never yield again (e.g. destroy stdin).
   */
  onCancel?: () => void;
}

/**
 * Sends everything `source` yields to the port, then `end` (or `error` when reading fails).
 * Resolves with the bytes sent; stops early, without error, when the consumer cancels.
 * Closes the port when done.
 */
export async function pumpToPort(
  source: AsyncIterable<Uint8Array | string>,
  port: MessagePort,
  options: PortStreamProducerOptions = {},
): Promise<number> {
  const chunkBytes = options.chunkBytes ?? PORT_STREAM_CHUNK_BYTES;
  const maxInFlight = options.maxInFlightBytes ?? PORT_STREAM_MAX_IN_FLIGHT_BYTES;
  let inFlight = 0;
  let cancelled = false;
  let wake: (() => void) | null = null;
  let signalCancelled: () => void = () => {};
  // Resolves on cancel, so that a source that never yields again cannot hold the pump.
  const cancelledPromise = new Promise<'cancelled'>((resolve) => {
    signalCancelled = () => resolve('cancelled');
  });
  const cancel = (): void => {
    if (cancelled) return;
    cancelled = true;
    signalCancelled();
    options.onCancel?.();
    const w = wake;
    wake = null;
    w?.();
  };
  const onMessage = (message: ToMain): void => {
    if (message.type === 'ack') inFlight -= message.bytes;
    else cancel();
    const w = wake;
    wake = null;
    w?.();
  };
  if (options.signal?.aborted) cancel();
  options.signal?.addEventListener('abort', cancel, { once: true });
  port.on('message', onMessage);
  let sent = 0;
  let current = new ArrayBuffer(chunkBytes);
  let filled = 0;
  const flush = async (): Promise<void> => {
    if (filled === 0) return;
    const message: ToWorker = { type: 'data', bytes: current, length: filled };
    port.postMessage(message, [current]);
    inFlight += filled;
    sent += filled;
    current = new ArrayBuffer(chunkBytes);
    filled = 0;
    while (inFlight > maxInFlight && !cancelled) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  const iterator = source[Symbol.asyncIterator]();
  try {
    while (!cancelled) {
      const next = await Promise.race([iterator.next(), cancelledPromise]);
      if (next === 'cancelled' || next.done) break;
      const raw = next.value;
      if (typeof raw === 'string') throw new TypeError('the input stream must not have an encoding set');
      let rest = raw;
      while (rest.length > 0 && !cancelled) {
        const take = Math.min(rest.length, chunkBytes - filled);
        new Uint8Array(current, filled, take).set(rest.subarray(0, take));
        filled += take;
        rest = rest.subarray(take);
        if (filled === chunkBytes) await flush();
      }
    }
    if (!cancelled) {
      await flush();
      port.postMessage({ type: 'end' } satisfies ToWorker);
    } else {
      // Do not wait: the source may never settle (it is released by onCancel).
      void iterator.return?.()?.catch(() => undefined);
    }
  } catch (error) {
    if (!cancelled) port.postMessage({ type: 'error', message: (error as Error).message } satisfies ToWorker);
  } finally {
    options.signal?.removeEventListener('abort', cancel);
    port.off('message', onMessage);
    // Let the last messages leave before the port goes.
    setImmediate(() => port.close());
  }
  return sent;
}

/**
 * The consumer side: the chunks the producer sends, as Buffers that nothing else references.
 * Breaking out of the iteration cancels the producer.
 */
export async function* chunksFromPort(port: MessagePort): AsyncGenerator<Buffer, void, undefined> {
  const queue: ToWorker[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  const onMessage = (message: ToWorker): void => {
    queue.push(message);
    const w = wake;
    wake = null;
    w?.();
  };
  const onClose = (): void => {
    closed = true;
    const w = wake;
    wake = null;
    w?.();
  };
  port.on('message', onMessage);
  port.on('close', onClose);
  let pendingAck = 0;
  let finished = false;
  try {
    for (;;) {
      if (pendingAck > 0) {
        port.postMessage({ type: 'ack', bytes: pendingAck } satisfies ToMain);
        pendingAck = 0;
      }
      while (queue.length === 0) {
        if (closed) throw new Error('the input stream was closed before its end');
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      const message = queue.shift()!;
      if (message.type === 'end') {
        finished = true;
        return;
      }
      if (message.type === 'error') {
        finished = true;
        throw new Error(`reading the input failed: ${message.message}`);
      }
      pendingAck = message.length;
      yield Buffer.from(message.bytes, 0, message.length);
    }
  } finally {
    if (!finished && !closed) port.postMessage({ type: 'cancel' } satisfies ToMain);
    port.off('message', onMessage);
    port.off('close', onClose);
    port.close();
  }
}

export interface StreamToUnitOptions {
  /** Aborting stops reading the source (e.g. on interrupt, for a source that stays silent). */
  signal?: AbortSignal;
  /** Called once the unit runs and the pump has started (C logs its "Finished ..." line then). */
  started?: () => void;
}

/**
 * Runs one unit of work that reads `source` through a new port (`run` gets the consumer's end to
 * hand to a worker) and pumps the source into it; when the unit ends, however it ends, the pump
 * stops (the source is destroyed if it can be, as a pipe that stays open without data would never
 * end the read loop). Resolves with the unit's result.
 */
export async function runWithStreamedSource<R>(
  source: AsyncIterable<Uint8Array | string>,
  run: (consumerPort: MessagePort) => Promise<R>,
  options: StreamToUnitOptions = {},
): Promise<R> {
  const channel = new MessageChannel();
  const stopPumping = new AbortController();
  const stop = (): void => stopPumping.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  const running = run(channel.port2);
  const pumping = pumpToPort(source, channel.port1, {
    signal: stopPumping.signal,
    onCancel: () => (source as { destroy?: () => void }).destroy?.(),
  });
  options.started?.();
  try {
    return await running;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    stopPumping.abort();
    await pumping;
  }
}
