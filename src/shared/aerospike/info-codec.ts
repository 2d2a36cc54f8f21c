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

/** Result code the C client gives a UDF error answer (`error=...`): AEROSPIKE_ERR_UDF. */
export const UDF_ERROR_CODE = 100;

export interface InfoError {
  /** The server's code (e.g. 4, 200, 201); 1 when the answer gives none (C: atoi() == 0); 100 for `error=` answers. */
  code: number;
  /** Readable text; a base64 `message=` part decoded, as the C client does in place. */
  message: string;
}

/**
 * The error an info value carries, or null for an ordinary value: the shapes the C client
 * recognises (as_info.c as_info_validate): `ERROR:<code>:<message>`, `FAIL:<code>:<message>`, and
 * the udf-put form `error=<kind>;file=..;line=..;message=<base64>`.
 */
export function parseInfoError(value: string): InfoError | null {
  if (value.startsWith('ERROR:')) return parseCodedError(value.slice(6));
  if (value.startsWith('FAIL:')) return parseCodedError(value.slice(5));
  if (value.startsWith('error=')) return { code: UDF_ERROR_CODE, message: describeUdfError(value) };
  return null;
}

function parseCodedError(rest: string): InfoError {
  const colon = rest.indexOf(':');
  if (colon < 0) return { code: 1, message: rest };
  const code = Number.parseInt(rest.slice(0, colon), 10);
  return { code: Number.isFinite(code) && code !== 0 ? code : 1, message: decodeMessageField(rest.slice(colon + 1)) };
}

/**
 * `error=compile_error;file=x.lua;line=2;message=<base64>` →
 * `compile_error in x.lua line 2: ')' expected near <eof>`.
 */
function describeUdfError(answer: string): string {
  const fields = new Map<string, string>();
  for (const part of answer.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  let text = fields.get('error') ?? 'error';
  const file = fields.get('file');
  const line = fields.get('line');
  if (file !== undefined) text += ` in ${file}`;
  if (line !== undefined) text += ` line ${line}`;
  const message = fields.get('message');
  if (message !== undefined) text += `: ${decodeBase64Text(message)}`;
  return text;
}

function decodeMessageField(message: string): string {
  const at = message.indexOf('message=');
  if (at < 0) return message;
  return message.slice(0, at + 8) + decodeBase64Text(message.slice(at + 8));
}

function decodeBase64Text(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed)) return text;
  return Buffer.from(trimmed, 'base64').toString('utf8');
}

/** Returns the value, or throws a typed INFO error naming the command when it is an error answer. */
export function requireInfoValue(answers: Map<string, string>, command: string, node: string): string {
  const value = answers.get(command);
  if (value === undefined) {
    throw new AerospikeError(ClientErrorCode.PROTOCOL, `node ${node} did not answer info command "${command}"`, { node });
  }
  const error = parseInfoError(value);
  if (error) {
    throw new AerospikeError(
      ClientErrorCode.INFO,
      `node ${node} answered info command "${command}" with an error: ${value}`,
      { node, resultCode: error.code },
    );
  }
  return value;
}
