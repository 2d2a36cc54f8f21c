/**
 * The admin (security) protocol: proto type 2 messages that log in, authenticate a connection with a
 * session token, and answer with result codes. Both sides live here (the client layer encodes
 * requests and decodes answers; the test cluster parses requests and encodes answers), so every
 * command id, field id and layout rule exists once.
 *
 * Layout (C client as_admin.c: as_admin_write_header / as_admin_write_field_header, HEADER_SIZE 24,
 * HEADER_REMAINING 16, RESULT_CODE 9; server security.h as_sec_msg):
 *   8-byte proto header (version 2, type 2, 48-bit body size)
 *   16-byte admin header: scheme (0), result, command, field count, 12 zero bytes
 *   fields: 4-byte big-endian size (= value length + 1), 1-byte field id, value bytes
 * Strings are written without a terminating NUL. A session TTL value is a 4-byte big-endian uint.
 */
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import { writeProtoHeader } from './framing.js';
import { PROTO_HEADER_SIZE, ProtoType, ResultCode } from './protocol.js';

export const ADMIN_HEADER_SIZE = 16;
export const ADMIN_FIELD_HEADER_SIZE = 5;
/** The only security message scheme servers speak (AS_SEC_MSG_SCHEME). */
export const ADMIN_SCHEME = 0;
/** Offset of the result code in a whole admin frame (C client: RESULT_CODE 9). */
export const ADMIN_RESULT_OFFSET = PROTO_HEADER_SIZE + 1;
/** A bcrypt credential is always 60 characters; the server rejects any other size (PASSWORD_LEN). */
export const CREDENTIAL_LENGTH = 60;
/** User names are limited to 63 bytes on both sides (AS_USER_SIZE / MAX_USER_SIZE 64 with the NUL). */
export const MAX_USER_NAME_BYTES = 63;
/** The server refuses a clear (external) password longer than this (MAX_CLEAR_PASSWORD_LEN). */
export const MAX_CLEAR_PASSWORD_BYTES = 256;

export const AdminCommand = {
  AUTHENTICATE: 0,
  CREATE_USER: 1,
  DROP_USER: 2,
  SET_PASSWORD: 3,
  CHANGE_PASSWORD: 4,
  GRANT_ROLES: 5,
  REVOKE_ROLES: 6,
  QUERY_USERS: 9,
  CREATE_ROLE: 10,
  DROP_ROLE: 11,
  GRANT_PRIVILEGES: 12,
  REVOKE_PRIVILEGES: 13,
  SET_WHITELIST: 14,
  SET_QUOTAS: 15,
  QUERY_ROLES: 16,
  LOGIN: 20,
} as const;

export const AdminField = {
  USER: 0,
  PASSWORD: 1,
  OLD_PASSWORD: 2,
  CREDENTIAL: 3,
  CLEAR_PASSWORD: 4,
  SESSION_TOKEN: 5,
  SESSION_TTL: 6,
  ROLES: 10,
  ROLE: 11,
  PRIVILEGES: 12,
  WHITELIST: 13,
  READ_QUOTA: 14,
  WRITE_QUOTA: 15,
  READ_INFO: 16,
  WRITE_INFO: 17,
  CONNECTIONS: 18,
} as const;

/** A malformed admin answer: the peer is not speaking the admin protocol as servers do. */
function adminProtocolError(message: string): AerospikeError {
  return new AerospikeError(ClientErrorCode.PROTOCOL, message);
}

export interface AdminFieldValue {
  id: number;
  value: Buffer;
}

export interface AdminMessage {
  scheme: number;
  result: number;
  command: number;
  fields: AdminFieldValue[];
}

/** Encodes one whole admin frame (proto header included). */
export function encodeAdminMessage(message: {
  command?: number;
  result?: number;
  fields?: readonly AdminFieldValue[];
}): Buffer {
  const fields = message.fields ?? [];
  if (fields.length > 255) throw new RangeError(`an admin message holds at most 255 fields, not ${fields.length}`);
  let bodySize = ADMIN_HEADER_SIZE;
  for (const field of fields) bodySize += ADMIN_FIELD_HEADER_SIZE + field.value.length;
  const frame = Buffer.alloc(PROTO_HEADER_SIZE + bodySize);
  writeProtoHeader(frame, 0, ProtoType.ADMIN, bodySize);
  let offset = PROTO_HEADER_SIZE;
  frame[offset] = ADMIN_SCHEME;
  frame[offset + 1] = message.result ?? 0;
  frame[offset + 2] = message.command ?? 0;
  frame[offset + 3] = fields.length;
  offset += ADMIN_HEADER_SIZE;
  for (const field of fields) {
    frame.writeUInt32BE(field.value.length + 1, offset);
    frame[offset + 4] = field.id;
    field.value.copy(frame, offset + ADMIN_FIELD_HEADER_SIZE);
    offset += ADMIN_FIELD_HEADER_SIZE + field.value.length;
  }
  return frame;
}

/**
 * Decodes an admin frame body (the bytes after the proto header) as a client reads an answer: the
 * header's field count says how many fields follow. Throws ADMIN_PROTOCOL on a short or
 * truncated message.
 */
export function decodeAdminMessage(body: Buffer): AdminMessage {
  if (body.length < ADMIN_HEADER_SIZE) {
    throw adminProtocolError(`admin message of ${body.length} bytes is shorter than its ${ADMIN_HEADER_SIZE}-byte header`);
  }
  const fieldCount = body[3];
  const fields: AdminFieldValue[] = [];
  let offset = ADMIN_HEADER_SIZE;
  for (let i = 0; i < fieldCount; i++) {
    if (offset + ADMIN_FIELD_HEADER_SIZE > body.length) {
      throw adminProtocolError(`admin message ends inside the header of field ${i + 1} of ${fieldCount}`);
    }
    const size = body.readUInt32BE(offset);
    const end = offset + 4 + size;
    if (size < 1 || end > body.length) {
      throw adminProtocolError(`admin message field ${i + 1} of ${fieldCount} claims ${size} bytes but ${body.length - offset - 4} remain`);
    }
    fields.push({ id: body[offset + 4], value: body.subarray(offset + ADMIN_FIELD_HEADER_SIZE, end) });
    offset = end;
  }
  return { scheme: body[0], result: body[1], command: body[2], fields };
}

// ---------------------------------------------------------------------------------------------
// Client side: requests and their answers.

export type LoginRequest =
  /** INTERNAL: user + bcrypt credential (C: LOGIN with 2 fields). */
  | { mode: 'INTERNAL'; user: string; credential: string }
  /** EXTERNAL / EXTERNAL_INSECURE: user + credential + clear password (C: LOGIN with 3 fields). */
  | { mode: 'EXTERNAL' | 'EXTERNAL_INSECURE'; user: string; credential: string; clearPassword: string }
  /** PKI: no fields; the server takes the user from the client certificate (C: LOGIN with 0 fields). */
  | { mode: 'PKI' };

export function encodeLoginRequest(request: LoginRequest): Buffer {
  if (request.mode === 'PKI') return encodeAdminMessage({ command: AdminCommand.LOGIN });
  const fields: AdminFieldValue[] = [
    { id: AdminField.USER, value: Buffer.from(request.user, 'utf8') },
    { id: AdminField.CREDENTIAL, value: Buffer.from(request.credential, 'utf8') },
  ];
  if (request.mode !== 'INTERNAL') {
    fields.push({ id: AdminField.CLEAR_PASSWORD, value: Buffer.from(request.clearPassword, 'utf8') });
  }
  return encodeAdminMessage({ command: AdminCommand.LOGIN, fields });
}

/** AUTHENTICATE with a session token; `user` is omitted in PKI mode (C: as_authenticate). */
export function encodeAuthenticateRequest(request: { user?: string; token: Buffer }): Buffer {
  const fields: AdminFieldValue[] = [];
  if (request.user !== undefined) fields.push({ id: AdminField.USER, value: Buffer.from(request.user, 'utf8') });
  fields.push({ id: AdminField.SESSION_TOKEN, value: request.token });
  return encodeAdminMessage({ command: AdminCommand.AUTHENTICATE, fields });
}

export interface LoginResponse {
  result: number;
  /** Present when result is OK: the opaque token to AUTHENTICATE new connections with. */
  token?: Buffer;
  /** The server's session TTL in seconds, when it sent one (it omits the field when its TTL is 0). */
  ttlSeconds?: number;
}

/** Decodes a LOGIN answer body. The token is copied, so it outlives the receive buffer. */
export function decodeLoginResponse(body: Buffer): LoginResponse {
  const message = decodeAdminMessage(body);
  const response: LoginResponse = { result: message.result };
  if (message.result !== ResultCode.OK) return response;
  for (const field of message.fields) {
    // The first token wins, as in the C client (`id == SESSION_TOKEN && !session`).
    if (field.id === AdminField.SESSION_TOKEN && response.token === undefined) {
      response.token = Buffer.from(field.value);
    } else if (field.id === AdminField.SESSION_TTL) {
      if (field.value.length !== 4) {
        throw adminProtocolError(`session TTL field has ${field.value.length} bytes, expected 4`);
      }
      response.ttlSeconds = field.value.readUInt32BE(0);
    }
  }
  return response;
}

/** The result code of any admin answer body. */
export function decodeAdminResult(body: Buffer): number {
  if (body.length < ADMIN_HEADER_SIZE) {
    throw adminProtocolError(`admin answer of ${body.length} bytes is shorter than its ${ADMIN_HEADER_SIZE}-byte header`);
  }
  return body[1];
}

// ---------------------------------------------------------------------------------------------
// Server side: parsing requests as the server does, and its answers.

export type ParsedAdminRequest =
  | { ok: true; command: number; fields: Map<number, Buffer> }
  /** The request cannot be handled; answer with this result code. */
  | { ok: false; result: number };

/**
 * Parses a request body as the server's handle_req_msg / req_msg_get_fields do: a body shorter than
 * the header answers SERVER_ERROR (AS_ERR_UNKNOWN), a scheme other than 0 answers
 * SECURITY_SCHEME_NOT_SUPPORTED, and a field running past the end answers INVALID_FIELD. Fields
 * are read to the end of the body (the header's count is not trusted); a repeated id keeps the
 * last value.
 */
export function parseAdminRequest(body: Buffer): ParsedAdminRequest {
  if (body.length < ADMIN_HEADER_SIZE) return { ok: false, result: ResultCode.SERVER_ERROR };
  if (body[0] !== ADMIN_SCHEME) return { ok: false, result: ResultCode.SECURITY_SCHEME_NOT_SUPPORTED };
  const fields = new Map<number, Buffer>();
  let offset = ADMIN_HEADER_SIZE;
  while (offset < body.length) {
    if (offset + ADMIN_FIELD_HEADER_SIZE > body.length) return { ok: false, result: ResultCode.INVALID_FIELD };
    const size = body.readUInt32BE(offset);
    const end = offset + 4 + size;
    if (size < 1 || end > body.length) return { ok: false, result: ResultCode.INVALID_FIELD };
    fields.set(body[offset + 4], body.subarray(offset + ADMIN_FIELD_HEADER_SIZE, end));
    offset = end;
  }
  return { ok: true, command: body[2], fields };
}

/** An answer with only a result code (the server's send_result_msg). */
export function encodeAdminResult(result: number): Buffer {
  return encodeAdminMessage({ result });
}

/** A successful LOGIN answer: the token, then the TTL unless it is 0 (the server's send_resp_token). */
export function encodeLoginSuccess(token: Buffer, ttlSeconds: number): Buffer {
  const fields: AdminFieldValue[] = [{ id: AdminField.SESSION_TOKEN, value: token }];
  if (ttlSeconds !== 0) {
    const ttl = Buffer.alloc(4);
    ttl.writeUInt32BE(ttlSeconds, 0);
    fields.push({ id: AdminField.SESSION_TTL, value: ttl });
  }
  return encodeAdminMessage({ result: ResultCode.OK, fields });
}
