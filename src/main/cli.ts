/**
 * The asrestore command: parse options and config files, then run. Exit codes as C asrestore:
 * 0 on success (and for --help/--usage/--version), 1 for everything else.
 */
import { AsrestoreError } from '../shared/errors.js';
import { USAGE_ERROR } from './getopt.js';
import { configureLog, err, writeStderr, writeStdout } from './log.js';
import { parseCommandLine, usageText, versionText, type ParseContext, type RestoreOptions } from './options.js';
import type { RestoreDependencies } from './restore.js';
import type { RunHandle } from './validate.js';

export interface CliDependencies extends ParseContext {
  /**
   * Runs a restore (not --validate) with the parsed options; resolves with the exit code. The
   * restore engine plugs in here.
   */
  restore?: (options: RestoreOptions, deps?: RestoreDependencies) => Promise<number>;
}

function reportError(error: unknown): void {
  if (error instanceof AsrestoreError && error.code === USAGE_ERROR) {
    // getopt's own complaint, as glibc prints it, then C asrestore's hint.
    writeStderr(`asrestore: ${error.message}\nRun with --help for usage information and flag options\n`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  for (const line of message.split('\n')) err(line);
}

/** Runs asrestore with `argv` (without node and the script); resolves with the exit code. */
export async function run(argv: readonly string[], deps: CliDependencies = {}): Promise<number> {
  let parsed;
  try {
    parsed = await parseCommandLine(argv, deps);
  } catch (error) {
    reportError(error);
    return 1;
  }
  if (parsed.kind === 'help') {
    writeStdout(usageText('asrestore'));
    return 0;
  }
  if (parsed.kind === 'version') {
    writeStdout(versionText());
    return 0;
  }
  const options = parsed.options;
  configureLog({ verbose: options.verbose });

  let handle: RunHandle | null = null;
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    err('### Restore interrupted ###');
    if (signals > 1) process.exit(1);
    handle?.interrupt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (options.validate) {
      const { runValidate } = await import('./validate.js');
      return await runValidate(options, { onStart: (h) => (handle = h) });
    }
    // Loaded on demand, so a --validate run never loads the client layer.
    const restore = deps.restore ?? (await import('./restore.js')).runRestore;
    return await restore(options, { onStart: (h) => (handle = h) });
  } catch (error) {
    reportError(error);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * The entry bin/asrestore.js calls. Sets process.exitCode; if something still holds the event loop
 * open after the run (it should not), the process exits anyway rather than hang.
 */
export async function main(argv: string[], deps: CliDependencies = {}): Promise<void> {
  let code = 1;
  try {
    code = await run(argv, deps);
  } catch (error) {
    reportError(error);
  }
  process.exitCode = code;
  setTimeout(() => process.exit(code), 5000).unref();
}
