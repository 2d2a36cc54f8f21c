/**
 * Run control shared by the coordinator and the worker threads: a SharedArrayBuffer whose first
 * int32 is the stop flag (set on the first fatal error or on SIGINT/SIGTERM; workers check it
 * between chunks and wind down), so no worker thread has to be terminated mid-task.
 */
const STOP_SLOT = 0;
const CONTROL_SLOTS = 4;

export function createRunControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_SLOTS * 4);
}

export function requestStop(control: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(control), STOP_SLOT, 1);
}

export function isStopRequested(control: SharedArrayBuffer): boolean {
  return Atomics.load(new Int32Array(control), STOP_SLOT) !== 0;
}
