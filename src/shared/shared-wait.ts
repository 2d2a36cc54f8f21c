/**
 * Waiting on a cell of a SharedArrayBuffer from an event loop: Atomics.waitAsync, so the thread
 * keeps serving its sockets and timers while it waits.
 */
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
// Atomics.waitAsync exists since Node 16; TypeScript declares it only in the ES2024 lib.
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult;
}).waitAsync;

function noop(): void {}

/**
 * Waits while `cells[index]` holds `expected`: until another thread notifies a change, or for at
 * most `timeoutMs`. Null when the cell already holds another value (nothing to wait for). Callers
 * re-check their condition afterwards in either case.
 */
export function waitWhileEqual(cells: Int32Array, index: number, expected: number, timeoutMs: number): Promise<void> | null {
  const result = waitAsync(cells, index, expected, timeoutMs);
  if (!result.async) return null;
  // A pending waitAsync does not keep Node's event loop alive; this timer does, so a thread with
  // nothing else to do waits instead of exiting.
  const keepAlive = setTimeout(noop, timeoutMs + 1000);
  return result.value.then(
    () => clearTimeout(keepAlive),
    (error: unknown) => {
      clearTimeout(keepAlive);
      throw error;
    },
  );
}
