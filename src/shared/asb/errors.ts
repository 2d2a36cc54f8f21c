/**
 * Errors of the .asb decoder. Messages use C asrestore's wording (dec_text.c, restore.c) so that
 * logs read like the reference tool's, and carry file/line/column with C's counting: lines are
 * 1-based and count every LF before the position (LFs inside raw values included), columns are
 * 1-based byte positions within the line.
 */
import { AsrestoreError } from '../errors.js';

export const AsbErrorCode = {
  /** Missing, short or invalid `Version` line, or a version this decoder does not read. */
  HEADER: 'ASB_HEADER',
  /** A bad `#` meta line. */
  META: 'ASB_META',
  /** Any syntax or value error inside a block (record, secondary index, UDF). */
  PARSE: 'ASB_PARSE',
  /** The input ended inside a block (C: "Unexpected end of file"). */
  TRUNCATED: 'ASB_TRUNCATED',
  /** A namespace that differs from the `-n` source namespace. */
  NAMESPACE: 'ASB_NAMESPACE',
} as const;
export type AsbErrorCode = (typeof AsbErrorCode)[keyof typeof AsbErrorCode];

export interface AsbDecodeErrorDetails {
  file: string;
  line: number;
  column?: number;
  /**
   * The line C names in its closing "Error while parsing backup file F (line N)": the line of the
   * byte after the last one it read. Defaults to `line`.
   */
  nextLine?: number;
  /** The lines C logs between its first error line and its closing line for the same failure. */
  trace?: readonly string[];
  /** True for failures of the version line and meta lines, which C reports while opening the file. */
  whileOpening?: boolean;
}

export class AsbDecodeError extends AsrestoreError {
  declare readonly code: AsbErrorCode;
  declare readonly file: string;
  declare readonly line: number;
  readonly nextLine: number;
  readonly trace: readonly string[];
  readonly whileOpening: boolean;

  constructor(code: AsbErrorCode, message: string, details: AsbDecodeErrorDetails) {
    super(code, message, { file: details.file, line: details.line, column: details.column });
    this.name = 'AsbDecodeError';
    this.nextLine = details.nextLine ?? details.line;
    this.trace = details.trace ?? [];
    this.whileOpening = details.whileOpening ?? false;
  }

  /**
   * Every line C asrestore logs for this failure, in order: the message, the trace, and the
   * closing line naming `path` (the path as the user gave it; defaults to the decoder's file name).
   */
  logLines(path: string = this.file): string[] {
    const closing = this.whileOpening
      ? 'Error while opening backup file'
      : `Error while parsing backup file ${path} (line ${this.nextLine})`;
    return [this.message, ...this.trace, closing];
  }
}
