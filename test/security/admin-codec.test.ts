/**
 * Admin protocol layouts, checked byte for byte against the C client (aerospike-client-c
 * src/main/aerospike/as_admin.c at 099ebc1a: the command/field #defines at lines 39-71,
 * as_admin_write_header lines 86-93 (16 bytes zeroed, [2] = command, [3] = field count),
 * as_admin_write_field_header lines 95-102 (BE32 size = value length + 1, then the id byte),
 * as_admin_send lines 204-211 (proto version 2 << 56 | type 2 << 48 | size), as_cluster_login
 * lines 437-549 (LOGIN field sets per mode, result at byte 9, field count at byte 11, TTL as BE32),
 * as_authenticate lines 576-620) and the server's answers (security.c send_result_msg /
 * send_resp_token: token field then TTL field, TTL omitted when 0).
 */
import { expect } from 'chai';
import {
  ADMIN_HEADER_SIZE,
  ADMIN_RESULT_OFFSET,
  AdminCommand,
  AdminField,
  decodeAdminMessage,
  decodeAdminResult,
  decodeLoginResponse,
  encodeAdminMessage,
  encodeAdminResult,
  encodeAuthenticateRequest,
  encodeLoginRequest,
  encodeLoginSuccess,
  parseAdminRequest,
} from '../../src/shared/aerospike/admin-codec.js';
import { AerospikeError, ClientErrorCode } from '../../src/shared/aerospike/client-errors.js';
import { ResultCode } from '../../src/shared/aerospike/protocol.js';

const CREDENTIAL = '$2a$10$7EqJtq98hPqEX7fNZaFWoO1mVO/4MLpGzsqojz6E9Gef6iXDjXdDa';

function hex(buf: Buffer): string {
  return buf.toString('hex');
}

describe('admin codec', () => {
  it('has the C client command and field ids', () => {
    expect(AdminCommand).to.include({ AUTHENTICATE: 0, LOGIN: 20, CREATE_USER: 1, QUERY_USERS: 9, QUERY_ROLES: 16 });
    expect(AdminField).to.include({ USER: 0, PASSWORD: 1, CREDENTIAL: 3, CLEAR_PASSWORD: 4, SESSION_TOKEN: 5, SESSION_TTL: 6, ROLES: 10 });
    expect(ADMIN_HEADER_SIZE).to.equal(16);
    expect(ADMIN_RESULT_OFFSET).to.equal(9);
  });

  it('encodes an INTERNAL login exactly as as_cluster_login does', () => {
    const frame = encodeLoginRequest({ mode: 'INTERNAL', user: 'admin', credential: CREDENTIAL });
    const bodySize = 16 + (5 + 5) + (5 + 60);
    const expected =
      '0202' + bodySize.toString(16).padStart(12, '0') + // proto header: version 2, type 2, 48-bit size
      '00' + '00' + '14' + '02' + '00'.repeat(12) + // scheme 0, result 0, command LOGIN (20), 2 fields
      '00000006' + '00' + Buffer.from('admin').toString('hex') + // USER: size 5+1
      '0000003d' + '03' + Buffer.from(CREDENTIAL).toString('hex'); // CREDENTIAL: size 60+1
    expect(hex(frame)).to.equal(expected);
  });

  it('encodes EXTERNAL logins with the clear password as a third field, and PKI with none', () => {
    const external = encodeLoginRequest({ mode: 'EXTERNAL', user: 'ldapuser', credential: CREDENTIAL, clearPassword: 'pw' });
    const body = external.subarray(8);
    expect(body[2]).to.equal(AdminCommand.LOGIN);
    expect(body[3]).to.equal(3);
    const message = decodeAdminMessage(body);
    expect(message.fields.map((field) => field.id)).to.deep.equal([AdminField.USER, AdminField.CREDENTIAL, AdminField.CLEAR_PASSWORD]);
    expect(message.fields[2].value.toString()).to.equal('pw');

    const pki = encodeLoginRequest({ mode: 'PKI' });
    expect(hex(pki)).to.equal('0202' + '000000000010' + '0000' + '14' + '00' + '00'.repeat(12));
  });

  it('encodes AUTHENTICATE with user + token, or the token alone for PKI', () => {
    const token = Buffer.from('0102030405', 'hex');
    const frame = encodeAuthenticateRequest({ user: 'bob', token });
    expect(hex(frame)).to.equal(
      '0202' + (16 + 8 + 10).toString(16).padStart(12, '0') + '0000' + '00' + '02' + '00'.repeat(12) +
        '00000004' + '00' + Buffer.from('bob').toString('hex') + '00000006' + '05' + '0102030405',
    );
    const pki = encodeAuthenticateRequest({ token });
    const message = decodeAdminMessage(pki.subarray(8));
    expect(message.command).to.equal(AdminCommand.AUTHENTICATE);
    expect(message.fields).to.have.length(1);
    expect(message.fields[0].id).to.equal(AdminField.SESSION_TOKEN);
  });

  it('round-trips a login answer with token and TTL, and drops the TTL when it is 0', () => {
    const token = Buffer.from('a1b2c3d4e5f6', 'hex');
    const answer = encodeLoginSuccess(token, 86400);
    expect(answer.readUIntBE(2, 6)).to.equal(answer.length - 8);
    expect(answer[ADMIN_RESULT_OFFSET]).to.equal(0);
    expect(answer[11]).to.equal(2); // field count where the C client reads it
    const decoded = decodeLoginResponse(answer.subarray(8));
    expect(decoded).to.deep.equal({ result: 0, token, ttlSeconds: 86400 });
    // The TTL field: BE32 size 5, id 6, BE32 value.
    expect(hex(answer.subarray(answer.length - 9))).to.equal('0000000506' + (86400).toString(16).padStart(8, '0'));

    const noTtl = decodeLoginResponse(encodeLoginSuccess(token, 0).subarray(8));
    expect(noTtl.ttlSeconds).to.equal(undefined);
    expect(noTtl.token!.equals(token)).to.equal(true);
  });

  it('keeps the first token and copies it out of the receive buffer', () => {
    const body = encodeAdminMessage({
      result: 0,
      fields: [
        { id: AdminField.SESSION_TOKEN, value: Buffer.from('first') },
        { id: AdminField.SESSION_TOKEN, value: Buffer.from('second') },
      ],
    }).subarray(8);
    const decoded = decodeLoginResponse(body);
    expect(decoded.token!.toString()).to.equal('first');
    body.fill(0);
    expect(decoded.token!.toString()).to.equal('first');
  });

  it('decodes result-only answers, and refuses short or truncated ones with a protocol error', () => {
    expect(decodeAdminResult(encodeAdminResult(ResultCode.INVALID_CREDENTIAL).subarray(8))).to.equal(65);
    expect(decodeLoginResponse(encodeAdminResult(ResultCode.INVALID_USER).subarray(8))).to.deep.equal({ result: 60 });
    expect(() => decodeAdminResult(Buffer.alloc(10))).to.throw(AerospikeError, /shorter than its 16-byte header/);
    const truncated = encodeLoginSuccess(Buffer.from('token'), 10).subarray(8, -3);
    try {
      decodeLoginResponse(truncated);
      expect.fail('decoded a truncated answer');
    } catch (error) {
      expect((error as AerospikeError).code).to.equal(ClientErrorCode.PROTOCOL);
      expect((error as Error).message).to.match(/field 2 of 2/);
    }
  });

  describe('server-side request parsing', () => {
    it('reads every field to the end of the body; a repeated id keeps the last value; unknown ids pass', () => {
      const frame = encodeAdminMessage({
        command: AdminCommand.LOGIN,
        fields: [
          { id: AdminField.USER, value: Buffer.from('a') },
          { id: 99, value: Buffer.from('ignored') },
          { id: AdminField.USER, value: Buffer.from('b') },
        ],
      });
      const parsed = parseAdminRequest(frame.subarray(8));
      expect(parsed.ok).to.equal(true);
      if (!parsed.ok) return;
      expect(parsed.command).to.equal(AdminCommand.LOGIN);
      expect(parsed.fields.get(AdminField.USER)!.toString()).to.equal('b');
      expect(parsed.fields.get(99)!.toString()).to.equal('ignored');
    });

    it('answers the server codes for a short body, a foreign scheme and a truncated field', () => {
      expect(parseAdminRequest(Buffer.alloc(15))).to.deep.equal({ ok: false, result: ResultCode.SERVER_ERROR });
      const body = Buffer.from(encodeLoginRequest({ mode: 'PKI' }).subarray(8));
      body[0] = 1;
      expect(parseAdminRequest(body)).to.deep.equal({ ok: false, result: ResultCode.SECURITY_SCHEME_NOT_SUPPORTED });
      const login = encodeLoginRequest({ mode: 'INTERNAL', user: 'admin', credential: CREDENTIAL }).subarray(8);
      expect(parseAdminRequest(login.subarray(0, login.length - 1))).to.deep.equal({ ok: false, result: ResultCode.INVALID_FIELD });
      const zeroSize = Buffer.concat([Buffer.alloc(16), Buffer.from('0000000000', 'hex')]);
      expect(parseAdminRequest(zeroSize)).to.deep.equal({ ok: false, result: ResultCode.INVALID_FIELD });
    });
  });
});
