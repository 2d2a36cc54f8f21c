/**
 * Host lists: the `--host HOST[:TLSNAME][:PORT],...` option (C client as_config_add_hosts) and the
 * `host:port,...` address lists info commands answer with (as_host_parse_addresses).
 * IPv6 addresses are written in brackets: `[::1]:3000`.
 */
import { AerospikeError, ClientErrorCode } from './client-errors.js';

export const DEFAULT_PORT = 3000;

export interface HostAddress {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** Name to verify the node's TLS certificate against; null when none was given. */
  tlsName: string | null;
}

function invalid(text: string, why: string): AerospikeError {
  return new AerospikeError(ClientErrorCode.INVALID_HOST, `invalid host list "${text}": ${why}`);
}

function parsePort(text: string, token: string): number {
  if (!/^\d{1,5}$/.test(token)) throw invalid(text, `"${token}" is not a port number`);
  const port = Number(token);
  if (port < 1 || port > 65535) throw invalid(text, `port ${port} is out of range 1-65535`);
  return port;
}

/**
 * Parses `HOST[:TLSNAME][:PORT],...`. A single token after the host is a port when it starts with
 * a digit, otherwise a TLS name (as the C client reads it). Empty entries are errors.
 */
export function parseHostList(text: string, defaultPort = DEFAULT_PORT): HostAddress[] {
  const hosts: HostAddress[] = [];
  if (text.trim() === '') throw invalid(text, 'no host given');
  for (const rawEntry of splitEntries(text)) {
    const entry = rawEntry.trim();
    if (entry === '') throw invalid(text, 'empty entry');
    let host: string;
    let rest: string;
    if (entry.startsWith('[')) {
      const close = entry.indexOf(']');
      if (close < 0) throw invalid(text, `"${entry}" has no closing "]"`);
      host = entry.slice(1, close);
      rest = entry.slice(close + 1);
      if (rest !== '') {
        if (!rest.startsWith(':')) throw invalid(text, `unexpected "${rest}" after "[${host}]"`);
        rest = rest.slice(1);
        if (rest === '') throw invalid(text, `"${entry}" ends with ":"`);
      }
    } else {
      const colon = entry.indexOf(':');
      host = colon < 0 ? entry : entry.slice(0, colon);
      rest = colon < 0 ? '' : entry.slice(colon + 1);
      if (colon >= 0 && rest === '') throw invalid(text, `"${entry}" ends with ":"`);
    }
    if (host === '') throw invalid(text, `"${entry}" has no host`);
    let tlsName: string | null = null;
    let port = defaultPort;
    if (rest !== '') {
      const parts = rest.split(':');
      if (parts.length > 2) throw invalid(text, `"${entry}" has too many ":" parts (use [..] around IPv6 addresses)`);
      if (parts.length === 2) {
        if (parts[0] === '') throw invalid(text, `"${entry}" has an empty TLS name`);
        tlsName = parts[0];
        port = parsePort(text, parts[1]);
      } else if (/^\d/.test(parts[0])) {
        port = parsePort(text, parts[0]);
      } else {
        tlsName = parts[0];
      }
    }
    hosts.push({ host, port, tlsName });
  }
  return hosts;
}

/** Splits on commas outside brackets. */
function splitEntries(text: string): string[] {
  const entries: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      entries.push(text.slice(start, i));
      start = i + 1;
    }
  }
  entries.push(text.slice(start));
  return entries;
}

/**
 * Parses an info answer such as `service-clear-std`: `host:port,...` with IPv6 in brackets.
 * Returns [] for an empty answer; throws a PROTOCOL error for a malformed one.
 */
export function parseServiceAddresses(value: string, tlsName: string | null = null): HostAddress[] {
  if (value === '') return [];
  const out: HostAddress[] = [];
  for (const entry of splitEntries(value)) {
    let host: string;
    let portText: string;
    if (entry.startsWith('[')) {
      const close = entry.indexOf(']');
      if (close < 0 || entry[close + 1] !== ':') throw badService(value);
      host = entry.slice(1, close);
      portText = entry.slice(close + 2);
    } else {
      const colon = entry.lastIndexOf(':');
      if (colon <= 0) throw badService(value);
      host = entry.slice(0, colon);
      portText = entry.slice(colon + 1);
    }
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) throw badService(value);
    out.push({ host, port, tlsName });
  }
  return out;
}

function badService(value: string): AerospikeError {
  return new AerospikeError(ClientErrorCode.PROTOCOL, `invalid service address list "${value}"`);
}

/** "host:port", with IPv6 addresses in brackets. */
export function formatAddress(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
