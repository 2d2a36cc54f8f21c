/**
 * The one error type every layer throws for conditions a user must read: a code to branch on,
 * and where it happened (file, line, column) when that applies. Messages never contain secrets.
 */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
}

export class AsrestoreError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;

  constructor(code: string, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AsrestoreError';
    this.code = code;
    this.file = location.file;
    this.line = location.line;
    this.column = location.column;
  }
}
