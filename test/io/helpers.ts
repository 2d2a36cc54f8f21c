/** Shared helpers of the io tests. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { AsrestoreError } from '../../src/shared/errors.js';

/**
 * Deterministic .asb-like text of exactly `bytes` bytes: record blocks with random base64 digests and
 * values, so it compresses about as well as a real backup (4-6x), starting with a valid header.
 */
export function sampleAsbText(bytes: number, seed = 1): Buffer {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const words = ['alpha', 'beta', 'gamma', 'delta', 'user', 'event', 'click', 'view', 'name', 'age'];
  const parts: string[] = ['Version 3.1\n# namespace test\n# first-file\n'];
  let length = parts[0]!.length;
  while (length < bytes) {
    const digest = Buffer.alloc(20);
    for (let i = 0; i < 20; i += 4) digest.writeUInt32LE(next(), i);
    const value = `${words[next() % 10]} ${words[next() % 10]} ${next() % 100000}`;
    const block =
      `+ n test\n+ d ${digest.toString('base64')}\n+ s users\n+ g ${1 + (next() % 5)}\n+ t 0\n+ b 2\n` +
      `- I age ${next() % 120}\n- S name ${Buffer.byteLength(value)} ${value}\n`;
    parts.push(block);
    length += block.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

export async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

/** Every chunk occupies its own memory: no two chunks share bytes (nothing was reused). */
export function expectDisjointChunks(chunks: readonly Buffer[]): void {
  const byBuffer = new Map<ArrayBufferLike, Array<[number, number]>>();
  for (const chunk of chunks) {
    const ranges = byBuffer.get(chunk.buffer) ?? [];
    for (const [start, end] of ranges) {
      const overlaps = chunk.byteOffset < end && start < chunk.byteOffset + chunk.length;
      expect(overlaps, 'two chunks share memory').to.equal(false);
    }
    ranges.push([chunk.byteOffset, chunk.byteOffset + chunk.length]);
    byBuffer.set(chunk.buffer, ranges);
  }
}

function checkAsrestoreError(caught: unknown, code: string, messageIncludes?: string | RegExp): AsrestoreError {
  expect(caught, `expected an AsrestoreError ${code}`).to.be.instanceOf(AsrestoreError);
  const error = caught as AsrestoreError;
  expect(error.code).to.equal(code);
  if (typeof messageIncludes === 'string') expect(error.message).to.include(messageIncludes);
  else if (messageIncludes !== undefined) expect(error.message).to.match(messageIncludes);
  return error;
}

export async function expectAsrestoreError(
  promise: Promise<unknown>,
  code: string,
  messageIncludes?: string | RegExp,
): Promise<AsrestoreError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  return checkAsrestoreError(caught, code, messageIncludes);
}

export function expectThrowsAsrestoreError(fn: () => unknown, code: string, messageIncludes?: string | RegExp): AsrestoreError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return checkAsrestoreError(caught, code, messageIncludes);
}

/** A temporary directory removed by the returned cleanup. */
export function makeTempDir(prefix = 'asrestore-io-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Open file descriptors of this process (Linux), to check that readers close their files. */
export function openFdCount(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

export function randomKey(bytes: 16 | 32): Buffer {
  return randomBytes(bytes);
}
