/**
 * What metadata restore needs from the cluster (the client layer implements InfoClient; nothing
 * here imports it), how an info answer is read (the one parser of error answers lives in the client
 * layer's info-codec and is re-exported here), and the server version that decides the wording of
 * some commands.
 */
import { AsrestoreError } from '../../shared/errors.js';

export interface InfoClient {
  /** Sends the commands to one node (any) and returns each command's answer, keyed by the command text. */
  info(commands: string[]): Promise<Map<string, string>>;
  /** Sends the commands to every node; one map per node. */
  infoAllNodes(commands: string[]): Promise<Map<string, string>[]>;
}

/** Where metadata restore writes its log lines (INF / ERR / VER in C's log). */
export interface MetadataLogger {
  info(message: string): void;
  error(message: string): void;
  verbose(message: string): void;
}

export { UDF_ERROR_CODE, parseInfoError, type InfoError } from '../../shared/aerospike/info-codec.js';

/**
 * Sends one command to any node and returns its answer. Throws on a transport failure (as the
 * client layer reports it); an error answer is returned as is (see {@link parseInfoError}).
 */
export async function askAnyNode(client: InfoClient, command: string): Promise<string> {
  return answerFor(await client.info([command]), command);
}

/** The answer to `command` in one node's answer map. */
export function answerFor(answers: Map<string, string>, command: string): string {
  const answer = answers.get(command) ?? (answers.size === 1 ? answers.values().next().value : undefined);
  if (answer === undefined) {
    throw new AsrestoreError('INFO_NO_ANSWER', `The server sent no answer to info command "${command}"`);
  }
  return answer;
}

/** A server build such as "8.1.2.0", compared part by part. */
export class ServerVersion {
  private constructor(readonly parts: readonly number[]) {}

  static parse(build: string): ServerVersion {
    const match = /^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(build);
    if (!match) throw new AsrestoreError('SERVER_VERSION', `Cannot read the server version from build "${build}"`);
    return new ServerVersion(match.slice(1).map((part) => (part === undefined ? 0 : Number(part))));
  }

  atLeast(major: number, minor = 0, patch = 0, build = 0): boolean {
    const wanted = [major, minor, patch, build];
    for (let i = 0; i < 4; i++) {
      const have = this.parts[i] ?? 0;
      if (have !== wanted[i]) return have > wanted[i]!;
    }
    return true;
  }

  toString(): string {
    return this.parts.join('.');
  }
}

/**
 * Info command values are delimited by `;`, `:`, `,`, `=`, tab and newline; a name holding `;`,
 * tab or newline cannot be sent faithfully (C would send it and let the server misread it).
 */
export function assertSendableInInfo(what: string, value: string): void {
  if (/[;\t\n]/.test(value)) {
    throw new AsrestoreError(
      'METADATA_UNSENDABLE',
      `Cannot send ${what} ${JSON.stringify(value)} in an info command: it contains ';', a tab or a newline`,
    );
  }
}

/** Timing of metadata restore; injectable so tests run without real waits. */
export interface MetadataTiming {
  sleep(ms: number): Promise<void>;
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
  /** After deleting a mismatched index: time between re-checks (C: 1 s). */
  recheckIntervalMs: number;
  /** After deleting a mismatched index: how many re-checks (C: MAX_TRIES = 10). */
  recheckTries: number;
  /** --wait: time between polls of the index build / udf-list (C: 500 ms). */
  waitPollIntervalMs: number;
  /**
   * --wait: an index build fails when its load_pct (summed over the nodes) has not risen for this
   * long, so a big build that keeps progressing is never cut off; a UDF fails when it is not on
   * every node within this long. C: 30 s in total per index (fixed in the C client), no limit
   * for UDFs.
   */
  waitTimeoutMs: number;
}

export const DEFAULT_METADATA_TIMING: Readonly<MetadataTiming> = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => performance.now(),
  recheckIntervalMs: 1000,
  recheckTries: 10,
  waitPollIntervalMs: 500,
  waitTimeoutMs: 30_000,
};
