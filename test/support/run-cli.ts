/**
 * Runs the compiled asrestore CLI as a child process and captures what it prints. The entry is
 * found relative to this compiled file (`<build root>/test/support/run-cli.js` →
 * `<build root>/src/main/cli-entry.js`), so it works from dist/ and from a developer's build folder.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const buildRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliEntry = join(buildRoot, 'src', 'main', 'cli-entry.js');

export interface CliRun {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stderr split into lines (no trailing empty line). */
  stderrLines: string[];
}

export interface RunCliOptions {
  cwd?: string;
  /** Added to (or, with `replaceEnv`, instead of) the parent's environment. */
  env?: NodeJS.ProcessEnv;
  replaceEnv?: boolean;
  /** Written to the child's stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: Buffer | string | AsyncIterable<Buffer>;
  /** Kill the child after this long (default 30 s). */
  timeoutMs?: number;
  /** Start the child in its own session, without a controlling terminal. */
  detached?: boolean;
  /** Called with the child's pid once it is started (e.g. to signal it). */
  onSpawn?: (pid: number) => void;
}

export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  const env = options.replaceEnv ? { ...options.env } : { ...process.env, ...options.env };
  const child = spawn(process.execPath, [cliEntry, ...args], {
    cwd: options.cwd,
    env,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: options.detached === true,
  });
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  if (options.stdin !== undefined) {
    const input = options.stdin;
    const sink = child.stdin!;
    // The child may stop reading early (it failed): that is what some tests check.
    sink.on('error', () => undefined);
    if (typeof input === 'string' || Buffer.isBuffer(input)) {
      sink.end(input);
    } else {
      void (async () => {
        try {
          for await (const chunk of input) {
            if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', r));
          }
        } catch {
          // the child closed its stdin
        } finally {
          sink.end();
        }
      })();
    }
  }
  return new Promise<CliRun>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`asrestore ${args.join(' ')} did not finish within ${options.timeoutMs ?? 30000} ms`));
    }, options.timeoutMs ?? 30000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const err = Buffer.concat(stderr).toString('utf8');
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: err,
        stderrLines: err.split('\n').filter((line, i, all) => !(line === '' && i === all.length - 1)),
      });
    });
  });
}

/** A log line without its time and thread id: `[INF] message`. */
export function logBody(line: string): string {
  const m = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT (\[(?:INF|ERR|VER)\]) \[[ \d]{5}\] (.*)$/.exec(line);
  return m === null ? line : `${m[1]} ${m[2]}`;
}
