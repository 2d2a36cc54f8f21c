/**
 * The info protocol (proto type 1): a request is ASCII commands each ending in `\n`; the answer
 * echoes each command, then `\t`, its value and `\n` (NOTES §2; C client as_info.c).
 */
import { writeProtoHeader } from './framing.js';
import { PROTO_HEADER_SIZE, ProtoType } from './protocol.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';

/** One framed info request. Commands must not contain `\n` (the server would split them). */
export function encodeInfoRequest(commands: readonly string[]): Buffer {
  let text = '';
  for (const command of commands) {
    if (command.includes('\n')) {
      throw new AerospikeError(ClientErrorCode.ENCODE, `info command contains a newline: ${JSON.stringify(command)}`);
    }
    text += command + '\n';
  }
  const bodySize = Buffer.byteLength(text, 'utf8');
  const buf = Buffer.allocUnsafe(PROTO_HEADER_SIZE + bodySize);
  writeProtoHeader(buf, 0, ProtoType.INFO, bodySize);
  buf.write(text, PROTO_HEADER_SIZE, 'utf8');
  return buf;
}

/**
 * Splits an info answer body into command → value. A line without a tab is a name with an empty
 * value (as the C client reads it). Later duplicates of a name overwrite earlier ones.
 */
export function parseInfoResponse(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const text = body.toString('utf8');
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const line = text.slice(start, end);
      const tab = line.indexOf('\t');
      if (tab < 0) out.set(line, '');
      else out.set(line.slice(0, tab), line.slice(tab + 1));
    }
    start = end + 1;
  }
  return out;
}

export interface InfoErrorAnswer {
  /** The numeric code of `ERROR:<code>:<text>` / `FAIL:<code>:<text>` answers, when given. */
  code?: number;
  message: string;
}

/**
 * Recognises the error shapes the server puts into an info value (`ERROR:`, `FAIL:`, `error=`);
 * returns null for an ordinary value.
 */
export function infoErrorOf(value: string): InfoErrorAnswer | null {
  let rest: string;
  if (value.startsWith('ERROR:')) rest = value.slice(6);
  else if (value.startsWith('FAIL:')) rest = value.slice(5);
  else if (value.startsWith('error=')) return { message: value };
  else return null;
  const match = /^(-?\d+)(?::(.*))?$/s.exec(rest);
  if (match) return { code: Number(match[1]), message: match[2] ?? '' };
  return { message: rest };
}

/** Returns the value, or throws a typed INFO error naming the command when it is an error answer. */
export function requireInfoValue(answers: Map<string, string>, command: string, node: string): string {
  const value = answers.get(command);
  if (value === undefined) {
    throw new AerospikeError(ClientErrorCode.PROTOCOL, `node ${node} did not answer info command "${command}"`, { node });
  }
  const error = infoErrorOf(value);
  if (error) {
    throw new AerospikeError(
      ClientErrorCode.INFO,
      `node ${node} answered info command "${command}" with an error: ${value}`,
      { node, resultCode: error.code },
    );
  }
  return value;
}
