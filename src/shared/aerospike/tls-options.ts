/**
 * asrestore's TLS options (`--tls-*`) turned into Node `tls.connect` options that verify a node the
 * way the C client does (as_tls.c as_tls_context_setup / verify_callback, aerospike-common
 * ssl_util.c as_tls_match_name):
 * - the peer certificate must chain to a CA from --tls-cafile / --tls-capath;
 * - its name is checked against the node's TLS name (HOST:TLSNAME:PORT, else --tls-name), never
 *   against the IP address dialled: a SAN DNS entry or a subject CN matches, case-insensitively,
 *   with `*.` wildcards covering exactly the left-most label;
 * - protocols follow the C grammar (`TLSv1.2`, `+TLSv1.1 -TLSv1`, `all -TLSv1`), default TLSv1.2;
 * - --tls-cert-blacklist (deprecated) rejects a chain holding a listed serial number, as C does.
 *
 * Resolution (`resolveTlsSettings`) reads every file once, in the coordinator, and yields plain data
 * that can be sent to worker threads; each worker builds one `TlsConnector` from it.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type * as tls from 'node:tls';
import { AsrestoreError } from '../errors.js';
import { lazyModule } from '../lazy-module.js';
import { AerospikeError, ClientErrorCode } from './client-errors.js';
import { parsePasswordSource, resolvePassword, type SecretResolverDeps } from './credentials.js';

/**
 * node:tls (with the node:crypto it loads) is loaded on first use: without --tls-enable no thread
 * needs it, and loading it costs every thread (coordinator and workers) a few milliseconds.
 */
export const nodeTls = lazyModule<typeof tls>('node:tls');
const nodeCrypto = lazyModule<typeof import('node:crypto')>('node:crypto');

/** The options as asrestore names them (CLI or config file), before any file is read. */
export interface TlsSettings {
  enable?: boolean;
  /** --tls-name: the TLS name for hosts given without one. */
  name?: string;
  cafile?: string;
  capath?: string;
  protocols?: string;
  cipherSuite?: string;
  keyfile?: string;
  /** `env:VAR`, `file:PATH`, the password itself, or true (given without a value: prompt). */
  keyfilePassword?: string | true;
  certfile?: string;
  crlCheck?: boolean;
  crlCheckAll?: boolean;
  /** Deprecated: a file of certificate serial numbers (hex), optionally followed by an issuer name. */
  certBlacklist?: string;
  logSessionInfo?: boolean;
}

export interface BlacklistEntry {
  /** Upper-case hex without leading zeros. */
  serial: string;
  /** X509_NAME_oneline form, e.g. `/C=US/O=Acme/CN=Root`; absent: any issuer. */
  issuer?: string;
}

/**
 * Everything needed to open TLS connections; plain data (structured-clone safe). `key` and
 * `passphrase` are secrets: never log this object (use `describeTls`).
 */
export interface ResolvedTls {
  defaultTlsName?: string;
  /** PEM CA certificates; undefined: Node's bundled root CAs. */
  ca?: string[];
  cert?: string;
  key?: string;
  passphrase?: string;
  crl?: string[];
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion;
  ciphers?: string;
  blacklist?: BlacklistEntry[];
  logSessionInfo: boolean;
}

export interface TlsResolverDeps extends SecretResolverDeps {
  readDir?: (path: string) => string[];
  isFile?: (path: string) => boolean;
  /** Warnings asrestore prints (deprecations). */
  warn?: (message: string) => void;
}

const PROTOCOL_ORDER: readonly tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function tlsConfigError(message: string, file?: string): AsrestoreError {
  return new AsrestoreError('TLS_CONFIG', message, file === undefined ? {} : { file });
}

/**
 * Parses --tls-protocols as the C client's protocols_parse: tokens separated by spaces or tabs,
 * each `TLSv1`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3` or `all`, case-insensitive, optionally prefixed
 * with `+` (add) or `-` (remove), applied left to right. SSLv2/SSLv3 are refused. Absent: TLSv1.2
 * only, the C default. Where C refuses and this accepts: TLSv1.3 (C knows no TLSv1.3 and always
 * disables it; `all` includes it here) and a bare token after others (`TLSv1.2 TLSv1.3`: C stops
 * with "overrides already set parameters"; here it adds). Node forces one limit: the set must be a
 * contiguous range (it has only minVersion/maxVersion).
 */
export function parseTlsProtocols(spec: string | undefined): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion } {
  if (spec === undefined) return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
  const enabled = new Set<tls.SecureVersion>();
  for (const rawToken of spec.split(/[ \t]+/).filter((token) => token !== '')) {
    let token = rawToken;
    let action = '';
    if (token[0] === '+' || token[0] === '-') {
      action = token[0];
      token = token.slice(1);
    }
    const lower = token.toLowerCase();
    let versions: readonly tls.SecureVersion[];
    if (lower === 'sslv2') throw tlsConfigError('--tls-protocols: SSLv2 not supported (RFC 6176)');
    else if (lower === 'sslv3') throw tlsConfigError('--tls-protocols: SSLv3 not supported');
    else if (lower === 'all') versions = PROTOCOL_ORDER;
    else {
      const version = PROTOCOL_ORDER.find((candidate) => candidate.toLowerCase() === lower);
      if (version === undefined) throw tlsConfigError(`--tls-protocols: unknown TLS protocol ${token}`);
      versions = [version];
    }
    if (action === '-') for (const version of versions) enabled.delete(version);
    else for (const version of versions) enabled.add(version);
  }
  const indexes = PROTOCOL_ORDER.map((version, index) => (enabled.has(version) ? index : -1)).filter((index) => index >= 0);
  if (indexes.length === 0) throw tlsConfigError(`--tls-protocols "${spec}" enables no protocol`);
  const low = indexes[0];
  const high = indexes[indexes.length - 1];
  if (high - low + 1 !== indexes.length) {
    throw tlsConfigError(
      `--tls-protocols "${spec}" enables ${indexes.map((index) => PROTOCOL_ORDER[index]).join(', ')}: ` +
        'only a contiguous range of versions can be enabled',
    );
  }
  return { minVersion: PROTOCOL_ORDER[low], maxVersion: PROTOCOL_ORDER[high] };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function pemBlocks(text: string, label: string): string[] {
  const blocks: string[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) if (match[1] === label) blocks.push(match[0] + '\n');
  return blocks;
}

function readText(path: string, what: string, deps: TlsResolverDeps): string {
  try {
    return (deps.readFile ?? readFileSync)(path).toString('utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw tlsConfigError(`${what}: cannot read ${path} (${reason})`, path);
  }
}

/** Reads a blacklist file as the C client's cert_blacklist_read does. */
export function parseCertBlacklist(text: string): BlacklistEntry[] {
  const entries: BlacklistEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^[ \t\r]*([^ \t\r]+)[ \t]*([^\r]*)/.exec(line);
    if (!match) continue;
    const issuer = match[2].trim();
    entries.push({ serial: normaliseSerial(match[1]), ...(issuer === '' ? {} : { issuer: match[2] }) });
  }
  return entries;
}

function normaliseSerial(serial: string): string {
  const upper = serial.toUpperCase().replace(/^0+(?=.)/, '');
  return upper;
}

/**
 * Reads every file the TLS options name, validates them (a wrong key password, a key that does not
 * match the certificate, no CA, no CRL for a CRL check, an unknown cipher list fail here, with
 * the option named) and returns plain data. Returns undefined when TLS is not enabled.
 */
export async function resolveTlsSettings(settings: TlsSettings, deps: TlsResolverDeps = {}): Promise<ResolvedTls | undefined> {
  if (!settings.enable) return undefined;
  const { minVersion, maxVersion } = parseTlsProtocols(settings.protocols);
  const resolved: ResolvedTls = { minVersion, maxVersion, logSessionInfo: settings.logSessionInfo ?? false };
  if (settings.name !== undefined && settings.name !== '') resolved.defaultTlsName = settings.name;

  const caBlocks = new Set<string>();
  const crlBlocks = new Set<string>();
  if (settings.cafile !== undefined) {
    const text = readText(settings.cafile, '--tls-cafile', deps);
    const certs = pemBlocks(text, 'CERTIFICATE');
    if (certs.length === 0) throw tlsConfigError(`--tls-cafile: no PEM certificate in ${settings.cafile}`, settings.cafile);
    for (const block of certs) caBlocks.add(block);
    for (const block of pemBlocks(text, 'X509 CRL')) crlBlocks.add(block);
  }
  if (settings.capath !== undefined) {
    let names: string[];
    try {
      names = (deps.readDir ?? readdirSync)(settings.capath).sort();
    } catch (error) {
      throw tlsConfigError(`--tls-capath: cannot read directory ${settings.capath} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, settings.capath);
    }
    const isFile = deps.isFile ?? ((path: string) => statSync(path).isFile());
    // Every file is read, hashed names (c_rehash's HASH.0 / HASH.r0) and plain *.pem alike;
    // links to one file add its blocks once.
    for (const name of names) {
      const path = join(settings.capath, name);
      if (!isFile(path)) continue;
      const text = readText(path, '--tls-capath', deps);
      for (const block of pemBlocks(text, 'CERTIFICATE')) caBlocks.add(block);
      for (const block of pemBlocks(text, 'X509 CRL')) crlBlocks.add(block);
    }
    if (caBlocks.size === 0) throw tlsConfigError(`--tls-capath: no PEM CA certificate in ${settings.capath}`, settings.capath);
  }
  if (caBlocks.size > 0) resolved.ca = [...caBlocks];

  if (settings.crlCheck || settings.crlCheckAll) {
    const option = settings.crlCheckAll ? '--tls-crl-check-all' : '--tls-crl-check';
    if (crlBlocks.size === 0) {
      const where = settings.capath !== undefined ? `--tls-capath ${settings.capath}` : 'no --tls-capath was given';
      throw tlsConfigError(`${option}: no CRL could be loaded (${where}); put the CA's PEM CRL files there`);
    }
    resolved.crl = [...crlBlocks];
  }

  if (settings.certfile !== undefined) {
    const text = readText(settings.certfile, '--tls-certfile', deps);
    if (pemBlocks(text, 'CERTIFICATE').length === 0) {
      throw tlsConfigError(`--tls-certfile: no PEM certificate in ${settings.certfile}`, settings.certfile);
    }
    resolved.cert = text;
  }
  if (settings.keyfile !== undefined) {
    const key = readText(settings.keyfile, '--tls-keyfile', deps);
    let passphrase: string | undefined;
    if (settings.keyfilePassword !== undefined) {
      passphrase = await resolvePassword(parsePasswordSource(settings.keyfilePassword), '--tls-keyfile-password', 'Enter TLS-Keyfile Password: ', deps);
    }
    checkPrivateKey(key, passphrase, settings.keyfile);
    resolved.key = key;
    if (passphrase !== undefined) resolved.passphrase = passphrase;
  }
  if (settings.cipherSuite !== undefined) resolved.ciphers = settings.cipherSuite;

  if (settings.certBlacklist !== undefined) {
    (deps.warn ?? (() => undefined))('Warning: --tls-cert-blackList is deprecated and will be removed in the next release. Use a crl instead');
    const text = readText(settings.certBlacklist, 'Failed to read certificate blacklist', deps);
    resolved.blacklist = parseCertBlacklist(text);
  }

  try {
    createTlsSecureContext(resolved);
  } catch (error) {
    throw secureContextError(error, settings);
  }
  return resolved;
}

function checkPrivateKey(key: string, passphrase: string | undefined, path: string): void {
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(key);
  if (encrypted && passphrase === undefined) {
    throw tlsConfigError(`--tls-keyfile ${path}: Private key password is required (--tls-keyfile-password)`, path);
  }
  const { createPrivateKey } = nodeCrypto();
  try {
    createPrivateKey({ key, format: 'pem', ...(passphrase === undefined ? {} : { passphrase }) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED') {
      throw tlsConfigError(`--tls-keyfile ${path}: Private key password is required (--tls-keyfile-password)`, path);
    }
    if (/BAD_DECRYPT|bad decrypt/i.test(code + ' ' + (error as Error).message)) {
      throw tlsConfigError(`--tls-keyfile ${path}: Private key password is invalid`, path);
    }
    throw tlsConfigError(`--tls-keyfile ${path}: not a readable PEM private key (${code || 'parse error'})`, path);
  }
}

function secureContextError(error: unknown, settings: TlsSettings): AsrestoreError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const text = (error as Error).message ?? String(error);
  if (code === 'ERR_SSL_NO_CIPHER_MATCH') return tlsConfigError(`--tls-cipher-suite "${settings.cipherSuite}": no compatible cipher found`);
  if (/KEY_VALUES_MISMATCH|key values mismatch/i.test(code + ' ' + text)) {
    return tlsConfigError(`--tls-keyfile ${settings.keyfile} does not match the certificate in --tls-certfile ${settings.certfile}`);
  }
  return tlsConfigError(`cannot set up TLS: ${text}`);
}

/** The secure context every connection shares (CA, client certificate, CRLs, versions, ciphers). */
export function createTlsSecureContext(resolved: ResolvedTls): tls.SecureContext {
  return nodeTls().createSecureContext({
    ...(resolved.ca ? { ca: resolved.ca } : {}),
    ...(resolved.cert ? { cert: resolved.cert } : {}),
    ...(resolved.key ? { key: resolved.key } : {}),
    ...(resolved.passphrase !== undefined ? { passphrase: resolved.passphrase } : {}),
    // Node sets OpenSSL's CRL_CHECK | CRL_CHECK_ALL for any CRL given: see the README.
    ...(resolved.crl ? { crl: resolved.crl } : {}),
    ...(resolved.ciphers !== undefined ? { ciphers: resolved.ciphers } : {}),
    minVersion: resolved.minVersion,
    maxVersion: resolved.maxVersion,
  });
}

/** For logs: what TLS will use, without secrets. */
export function describeTls(resolved: ResolvedTls): string {
  return [
    `protocols ${resolved.minVersion}..${resolved.maxVersion}`,
    resolved.ca ? `${resolved.ca.length} CA certificate(s)` : 'default CAs',
    resolved.cert ? 'client certificate' : 'no client certificate',
    resolved.crl ? `${resolved.crl.length} CRL(s)` : 'no CRL check',
    resolved.ciphers !== undefined ? `ciphers ${resolved.ciphers}` : 'default ciphers',
    resolved.defaultTlsName !== undefined ? `tls-name ${resolved.defaultTlsName}` : 'no default tls-name',
  ].join(', ');
}

/** Splits Node's `subjectaltname` ("DNS:a, DNS:b, IP Address:1.2.3.4", values JSON-quoted when odd). */
function sanDnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const names: string[] = [];
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (const match of subjectAltName.matchAll(entry)) {
    if (match[1] !== 'DNS') continue;
    const value = match[2];
    names.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return names;
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** as_tls_match_name: any SAN DNS name or subject CN equals `name` (case-insensitive), `*.` covering one label. */
export function certificateMatchesTlsName(cert: tls.PeerCertificate, name: string): boolean {
  const ids = [...sanDnsNames(cert.subjectaltname), ...asList(cert.subject?.CN as string | string[] | undefined)];
  const lowerName = name.toLowerCase();
  const dot = lowerName.indexOf('.');
  for (const id of ids) {
    const lowerId = id.toLowerCase();
    if (lowerId === lowerName) return true;
    if (lowerId.startsWith('*.') && dot >= 0 && lowerId.slice(1) === lowerName.slice(dot)) return true;
  }
  return false;
}

function issuerOneline(cert: tls.PeerCertificate): string {
  let text = '';
  for (const [key, value] of Object.entries(cert.issuer ?? {})) {
    for (const item of asList(value as string | string[])) text += `/${key}=${item}`;
  }
  return text;
}

function findBlacklisted(chainTop: tls.DetailedPeerCertificate, blacklist: readonly BlacklistEntry[]): tls.PeerCertificate | undefined {
  const seen = new Set<tls.PeerCertificate>();
  let cert: tls.DetailedPeerCertificate | undefined = chainTop;
  while (cert && !seen.has(cert) && cert.raw) {
    seen.add(cert);
    const serial = normaliseSerial(cert.serialNumber ?? '');
    const issuer = issuerOneline(cert);
    if (blacklist.some((entry) => entry.serial === serial && (entry.issuer === undefined || entry.issuer === issuer))) return cert;
    cert = cert.issuerCertificate;
  }
  return undefined;
}

export interface TlsTarget {
  host: string;
  port: number;
  /** The node's TLS name (from HOST:TLSNAME:PORT or the peers list); null/undefined: --tls-name. */
  tlsName?: string | null;
}

/** A handshake refusal with its reason, made by our own certificate checks. */
class TlsVerificationError extends Error {
  constructor(
    readonly code: 'TLS_NAME_MISMATCH' | 'TLS_CERT_BLACKLISTED',
    message: string,
  ) {
    super(message);
  }
}

/** Builds `tls.connect` options for each node from resolved settings; one per process or worker. */
export class TlsConnector {
  private secureContext: tls.SecureContext | undefined;

  constructor(readonly resolved: ResolvedTls) {}

  /** The name the node's certificate must carry. Throws a TLS error when there is none. */
  tlsNameFor(target: TlsTarget): string {
    const name = target.tlsName ?? this.resolved.defaultTlsName;
    if (name === undefined || name === '') {
      throw new AerospikeError(
        ClientErrorCode.TLS,
        `TLS is enabled but ${target.host}:${target.port} has no TLS name: give --tls-name NAME or --host HOST:TLSNAME:PORT`,
      );
    }
    return name;
  }

  connectOptions(target: TlsTarget): tls.ConnectionOptions {
    const tlsName = this.tlsNameFor(target);
    this.secureContext ??= createTlsSecureContext(this.resolved);
    const blacklist = this.resolved.blacklist;
    return {
      host: target.host,
      port: target.port,
      secureContext: this.secureContext,
      // SNI must be a name; an IP-shaped TLS name is still checked below but not sent.
      ...(isIP(tlsName) === 0 ? { servername: tlsName } : {}),
      rejectUnauthorized: true,
      checkServerIdentity: (_hostname, cert) => {
        if (blacklist && blacklist.length > 0) {
          const listed = findBlacklisted(cert as tls.DetailedPeerCertificate, blacklist);
          if (listed) {
            return new TlsVerificationError('TLS_CERT_BLACKLISTED', `certificate with serial ${listed.serialNumber} is listed in --tls-cert-blacklist`);
          }
        }
        if (!certificateMatchesTlsName(cert, tlsName)) {
          const names = [...sanDnsNames(cert.subjectaltname), ...asList(cert.subject?.CN as string | string[] | undefined)];
          return new TlsVerificationError('TLS_NAME_MISMATCH', `certificate names (${names.join(', ') || 'none'}) do not match TLS name '${tlsName}'`);
        }
        return undefined;
      },
    };
  }
}

/** `--tls-log-session-info`: one line per connection once the handshake is done. */
export function describeTlsSession(socket: tls.TLSSocket, target: TlsTarget): string {
  const cipher = socket.getCipher();
  return `TLS session with ${target.host}:${target.port}: protocol ${socket.getProtocol() ?? 'unknown'}, cipher ${cipher?.name ?? 'none'}`;
}

const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** Turns a failed TLS connect into a typed error that says what to fix. */
export function tlsConnectError(error: unknown, target: TlsTarget, tlsName: string | undefined): AerospikeError {
  if (error instanceof AerospikeError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const text = ((error as Error).message ?? String(error)).trim();
  const peer = `${target.host}:${target.port}${tlsName !== undefined ? ` (TLS name '${tlsName}')` : ''}`;
  let reason: string;
  if (UNTRUSTED_CODES.has(code)) reason = 'the server certificate is not signed by a trusted CA (check --tls-cafile / --tls-capath)';
  else if (code === 'TLS_NAME_MISMATCH') reason = `the server certificate does not carry the TLS name (check --tls-name / HOST:TLSNAME:PORT): ${text}`;
  else if (code === 'TLS_CERT_BLACKLISTED') reason = text;
  else if (code === 'CERT_REVOKED') reason = 'the server certificate is revoked by a CRL';
  else if (code === 'UNABLE_TO_GET_CRL') {
    reason = 'a certificate in the chain has no CRL from its issuer in --tls-capath (every CA of the chain needs one, as with --tls-crl-check-all)';
  }
  else if (code === 'CERT_HAS_EXPIRED') reason = 'the server certificate has expired';
  else if (code === 'CERT_NOT_YET_VALID') reason = 'the server certificate is not yet valid';
  else if (/certificate required|handshake failure|unknown ca|bad certificate/i.test(text)) {
    reason = `the server refused the handshake; it may require a client certificate (--tls-certfile / --tls-keyfile) it trusts: ${text}`;
  } else if (/version|protocol/i.test(code + ' ' + text)) reason = `no TLS protocol version in common (check --tls-protocols): ${text}`;
  else reason = text;
  return new AerospikeError(ClientErrorCode.TLS, `TLS handshake with ${peer} failed: ${reason}${code ? ` [${code}]` : ''}`, { cause: error, node: `${target.host}:${target.port}` });
}
