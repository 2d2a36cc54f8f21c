/**
 * Log lines in the exact format of the C tools (aerospike-tools-backup `log_line`):
 *
 *   `YYYY-MM-DD HH:MM:SS GMT [INF] [ 1234] message`
 *
 * UTC time, a three-letter tag, the thread id modulo 100000 right-aligned in 5 columns, the message.
 * Every line goes to stderr in one synchronous write(2) on fd 2, from the main thread and from
 * worker threads alike: a worker's `process.stderr` is an asynchronous proxy through the main
 * thread, which would reorder worker lines against the coordinator's and lose them on exit.
 */
import { writeSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { getSystemErrorMap } from 'node:util';

export type LogTag = 'INF' | 'ERR' | 'VER';

/** Per-thread switches: `-v` enables VER lines; `silent` suppresses INF and VER (C's g_silent). */
const state = { verbose: false, silent: false };

export function configureLog(settings: { verbose?: boolean; silent?: boolean }): void {
  if (settings.verbose !== undefined) state.verbose = settings.verbose;
  if (settings.silent !== undefined) state.silent = settings.silent;
}

export function isVerbose(): boolean {
  return state.verbose;
}

/**
 * The id printed in the bracket. C prints gettid(); Node has no per-thread OS id, so the main thread
 * prints the pid (which is its tid on Linux) and worker N prints pid + N, which keeps lines from
 * different threads apart the way the C output does.
 */
export function logThreadId(): number {
  return process.pid + threadId;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** `2026-11-23 23:31:24 GMT ` as strftime("%Y-%m-%d %H:%M:%S %Z ") of gmtime prints it on glibc. */
export function formatLogTime(date: Date): string {
  return (
    date.getUTCFullYear() +
    '-' +
    pad2(date.getUTCMonth() + 1) +
    '-' +
    pad2(date.getUTCDate()) +
    ' ' +
    pad2(date.getUTCHours()) +
    ':' +
    pad2(date.getUTCMinutes()) +
    ':' +
    pad2(date.getUTCSeconds()) +
    ' GMT '
  );
}

/** One complete line, newline included. */
export function formatLogLine(tag: LogTag, message: string, date: Date = new Date(), tid: number = logThreadId()): string {
  return `${formatLogTime(date)}[${tag}] [${String(tid % 100000).padStart(5, ' ')}] ${message}\n`;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to fd 2. When the parent left stderr non-blocking, a full pipe answers
 * EAGAIN: wait a moment and retry rather than drop a line.
 */
export function writeStderr(text: string): void {
  writeAll(2, Buffer.from(text, 'utf8'));
}

export function writeStdout(text: string): void {
  writeAll(1, Buffer.from(text, 'utf8'));
}

function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  let waits = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
      waits = 0;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && waits < 10_000) {
        waits++;
        Atomics.wait(sleepCell, 0, 0, 1);
        continue;
      }
      // stderr is gone (EPIPE) or broken: nothing left to report to.
      return;
    }
  }
}

export function inf(message: string): void {
  if (!state.silent) writeStderr(formatLogLine('INF', message));
}

export function err(message: string): void {
  writeStderr(formatLogLine('ERR', message));
}

export function ver(message: string): void {
  if (state.verbose && !state.silent) writeStderr(formatLogLine('VER', message));
}

/** C's `err_code`: the message plus ` (error <errno>: <strerror>)` of a failed system call. */
export function errCode(message: string, error: unknown): void {
  err(message + systemErrorSuffix(error));
}

/** glibc's strerror text for the errors file operations usually meet; libuv's wording differs. */
const GLIBC_STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EPIPE: 'Broken pipe',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  ECONNREFUSED: 'Connection refused',
  ETIMEDOUT: 'Connection timed out',
};

/** ` (error 2: No such file or directory)`, or `` when `error` carries no system error. */
export function systemErrorSuffix(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined;
  if (!e || typeof e.code !== 'string') return '';
  const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : undefined;
  let text = GLIBC_STRERROR[e.code];
  if (text === undefined && typeof e.errno === 'number') {
    const entry = getSystemErrorMap().get(e.errno);
    if (entry) text = entry[1].charAt(0).toUpperCase() + entry[1].slice(1);
  }
  if (text === undefined) text = e.code;
  return errno === undefined ? ` (${text})` : ` (error ${errno}: ${text})`;
}

/**
 * C's `hex_dump`: 16 bytes a line, `%04x` offset, ` %02x` per byte, padded to 16 columns, one space,
 * then the bytes as ASCII with unprintables as `.`.
 */
export function hexDumpLines(data: Uint8Array): string[] {
  const lines: string[] = [];
  for (let i = 0; i < data.length; i += 16) {
    let hex = i.toString(16).padStart(4, '0');
    let ascii = '';
    for (let k = 0; k < 16; k++) {
      if (i + k < data.length) {
        const x = data[i + k];
        hex += ' ' + x.toString(16).padStart(2, '0');
        ascii += x >= 32 && x <= 126 ? String.fromCharCode(x) : '.';
      } else {
        hex += '   ';
      }
    }
    lines.push(hex + ' ' + ascii);
  }
  return lines;
}
