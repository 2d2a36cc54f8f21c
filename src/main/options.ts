/**
 * asrestore's options: the complete C option set (aerospike-tools-backup restore_config.c), read
 * from astools.conf files and the command line (which overrides them), checked with C's ranges,
 * list rules and combination rules, and returned as one typed RestoreOptions object that every
 * later stage (validate, restore engine, client layer, metadata restore) reads.
 *
 * Error messages are C's where C has one. Deliberate differences: --event-loops defaults to the
 * CPUs available to the process (C: 1); --event-loops, --batch-size and --max-async-batches must be
 * >= 1 (C accepts 0 and then misbehaves); a command-line encryption key replaces one from a config
 * file (C refuses the pair); --auth is checked while parsing (C checks it when connecting).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TomlValue } from 'smol-toml';
import { AsrestoreError } from '../shared/errors.js';
import { parseCompressionType, parseEncryptionType, type CompressionType, type EncryptionAlgorithm } from '../shared/io/codec-options.js';
import { defaultConfigLocations, readConfigEntries, type ConfigEntry, type ConfigFileLocations, type ConfigSection } from './config-file.js';
import { getopt, type ArgumentKind, type GetoptItem, type GetoptSpec } from './getopt.js';
import { err } from './log.js';
import { fetchSecret, isSecretReference, type SecretAgentConfig } from './secret-agent.js';

// ---------------------------------------------------------------------------------------------
// The typed result

export type AuthMode = 'INTERNAL' | 'EXTERNAL' | 'EXTERNAL_INSECURE' | 'PKI';
export type S3LogLevel = 'Off' | 'Fatal' | 'Error' | 'Warn' | 'Info' | 'Debug' | 'Trace';

/**
 * A password: a value, or `prompt` = ask on the terminal when it is needed. `--password` is `prompt`
 * by default, as in C: a `--user` without a password makes asrestore ask for one.
 */
export type PasswordSetting = { kind: 'prompt' } | { kind: 'value'; value: string };

/** Where the encryption key comes from. `pem` = PEM text a secret agent returned for --encryption-key-file. */
export type EncryptionKeySource =
  | { kind: 'file'; path: string }
  | { kind: 'env'; variable: string }
  | { kind: 'pem'; pem: string; reference: string };

export type InputSource =
  /** -d DIR, or each --directory-list entry with --parent-directory prefixed. Local paths or s3:// URLs. */
  | { kind: 'directories'; directories: string[] }
  | { kind: 'file'; path: string }
  /** `-i -`, or `-i -:<bytes>` with a size hint for the progress estimate. */
  | { kind: 'stdin'; sizeHint: number | null };

export interface NamespaceMapping {
  /** Records and indexes must be in this namespace (checked by the decoder). */
  source: string;
  /** Restore into this namespace instead; null = same as source. */
  target: string | null;
}

export interface TlsOptions {
  enable: boolean;
  name: string | null;
  caFile: string | null;
  /** CA PEM text, when --tls-cafile was a secret-agent reference. */
  caPem: string | null;
  caPath: string | null;
  protocols: string | null;
  cipherSuite: string | null;
  crlCheck: boolean;
  crlCheckAll: boolean;
  certBlacklist: string | null;
  logSessionInfo: boolean;
  keyFile: string | null;
  keyPem: string | null;
  /** null = not given; `env:VAR`, `file:PATH` or a literal in `value` (see resolveTlsKeyfilePassword). */
  keyFilePassword: PasswordSetting | null;
  certFile: string | null;
  certPem: string | null;
}

export interface SecretAgentOptions {
  address: string;
  port: string;
  timeoutMs: number;
  caFile: string | null;
  caPem: string | null;
}

export interface RestoreOptions {
  // cluster
  /** `host[:tlsname][:port],...` as given. */
  host: string;
  port: number;
  servicesAlternate: boolean;
  user: string | null;
  password: PasswordSetting;
  authMode: AuthMode;
  tls: TlsOptions;

  // input
  input: InputSource;
  /** As given, for log lines. */
  directory: string | null;
  directoryList: string | null;
  parentDirectory: string | null;
  inputFile: string | null;
  compress: CompressionType | null;
  encrypt: EncryptionAlgorithm | null;
  encryptionKey: EncryptionKeySource | null;

  // selection
  namespace: NamespaceMapping | null;
  /** null = all bins / all sets. */
  binList: string[] | null;
  setList: string[] | null;
  /** The lists as given, for the "Starting restore" line. */
  binListText: string | null;
  setListText: string | null;
  noRecords: boolean;
  noIndexes: boolean;
  noUdfs: boolean;
  indexesLast: boolean;
  wait: boolean;
  validate: boolean;

  // write behaviour
  unique: boolean;
  replace: boolean;
  noGeneration: boolean;
  ignoreRecordError: boolean;
  /** Seconds added to expirable void-times. */
  extraTtl: number;
  parallel: number;
  eventLoops: number;
  maxAsyncBatches: number;
  /** null = 128 with batch writes, 16 without (decided once the server is known). */
  batchSize: number | null;
  disableBatchWrites: boolean;
  /** Milliseconds: info/connect timeout, and the write total timeout when totalTimeout is 0. */
  timeout: number;
  socketTimeout: number;
  totalTimeout: number;
  maxRetries: number;
  /** Microseconds. */
  retryScaleFactor: number;
  /** --nice / `bandwidth`: bytes per second read from the backup; 0 = unlimited. */
  bandwidth: number;
  /** --nice / `tps`: records per second; 0 = unlimited. C throttles only when both are set. */
  tps: number;

  // output
  machine: string | null;
  verbose: boolean;

  // object storage
  s3Region: string | null;
  s3Profile: string | null;
  s3EndpointOverride: string | null;
  s3MaxAsyncDownloads: number;
  s3ConnectTimeout: number;
  s3LogLevel: S3LogLevel;
  s3AllowSystemProxy: boolean;

  secretAgent: SecretAgentOptions;
}

// ---------------------------------------------------------------------------------------------
// The option table

type ValueType = 'flag' | 'string' | 'int' | 'password';

interface OptionDef extends GetoptSpec<OptionId> {
  type: ValueType;
  /** Inclusive int range and C's message for a value outside it (`Invalid port value`). */
  range?: readonly [bigint, bigint];
  invalid?: string;
  /** Config-file section and key names (lower case); none = command line only. */
  section?: ConfigSection;
  keys?: readonly string[];
  /** Not a setting: the config-file options, --help, --version. */
  meta?: boolean;
}

const INT32_MAX = 2147483647n;
const UINT32_MAX = 4294967295n;
const INT64_MAX = 9223372036854775807n;
/** Limits for settings whose C type is 64-bit: values above this would lose precision as numbers. */
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

export type OptionId =
  | 'help' | 'version' | 'verbose' | 'instance' | 'config-file' | 'no-config-file' | 'only-config-file'
  | 'host' | 'port' | 'user' | 'password' | 'auth' | 'services-alternate'
  | 'tls-enable' | 'tls-encrypt-only' | 'tls-name' | 'tls-cafile' | 'tls-capath' | 'tls-protocols'
  | 'tls-cipher-suite' | 'tls-crl-check' | 'tls-crl-check-all' | 'tls-cert-blacklist' | 'tls-log-session-info'
  | 'tls-keyfile' | 'tls-keyfile-password' | 'tls-certfile'
  | 'namespace' | 'directory' | 'directory-list' | 'parent-directory' | 'input-file' | 'compress' | 'encrypt'
  | 'encryption-key-file' | 'encryption-key-env' | 'parallel' | 'threads' | 'machine' | 'bin-list' | 'set-list'
  | 'unique' | 'ignore-record-error' | 'replace' | 'no-generation' | 'extra-ttl' | 'nice' | 'bandwidth' | 'tps'
  | 'validate' | 'no-records' | 'no-indexes' | 'indexes-last' | 'no-udfs' | 'wait' | 'timeout' | 'socket-timeout'
  | 'total-timeout' | 'max-retries' | 'retry-scale-factor' | 'retry-delay' | 'disable-batch-writes'
  | 'max-async-batches' | 'batch-size' | 'event-loops'
  | 's3-region' | 's3-profile' | 's3-endpoint-override' | 's3-max-async-downloads' | 's3-log-level'
  | 's3-connect-timeout' | 's3-allow-system-proxy'
  | 'sa-address' | 'sa-port' | 'sa-timeout' | 'sa-cafile';

function def(
  id: OptionId,
  long: string[],
  short: string | undefined,
  argument: ArgumentKind,
  type: ValueType,
  extra: Partial<Pick<OptionDef, 'range' | 'invalid' | 'section' | 'keys' | 'meta'>> = {},
): OptionDef {
  return { id, long, short, argument, type, ...extra };
}

const C = 'cluster' as const;
const R = 'asrestore' as const;
const SA = 'secret-agent' as const;

/** Every option C asrestore 4.5.8 accepts, with its short flag, aliases, value type and range. */
export const OPTION_DEFS: readonly OptionDef[] = [
  def('verbose', ['verbose'], 'v', 'none', 'flag', { section: R }),
  def('help', ['usage', 'help', 'options'], 'Z', 'none', 'flag', { meta: true }),
  def('version', ['version'], 'V', 'none', 'flag', { meta: true }),
  def('instance', ['instance'], undefined, 'required', 'string', { meta: true }),
  def('config-file', ['config-file'], undefined, 'required', 'string', { meta: true }),
  def('no-config-file', ['no-config-file'], undefined, 'none', 'flag', { meta: true }),
  def('only-config-file', ['only-config-file'], undefined, 'required', 'string', { meta: true }),

  def('host', ['host'], 'h', 'required', 'string', { section: C }),
  def('port', ['port'], 'p', 'required', 'int', { range: [1n, 65535n], invalid: 'Invalid port value', section: C }),
  def('user', ['user'], 'U', 'required', 'string', { section: C }),
  def('password', ['password'], 'P', 'optional', 'password', { section: C }),
  def('auth', ['auth'], 'A', 'required', 'string', { section: C }),
  def('services-alternate', ['services-alternate'], 'S', 'none', 'flag', { section: C, keys: ['use-services-alternate'] }),

  def('tls-enable', ['tls-enable', 'tlsEnable'], undefined, 'none', 'flag', { section: C }),
  def('tls-encrypt-only', ['tlsEncryptOnly'], undefined, 'none', 'flag'),
  def('tls-name', ['tls-name', 'tlsName'], undefined, 'required', 'string', { section: C }),
  def('tls-cafile', ['tls-cafile', 'tlsCaFile'], undefined, 'required', 'string', { section: C }),
  def('tls-capath', ['tls-capath', 'tlsCaPath'], undefined, 'required', 'string', { section: C }),
  def('tls-protocols', ['tls-protocols', 'tlsProtocols'], undefined, 'required', 'string', { section: C }),
  def('tls-cipher-suite', ['tls-cipher-suite', 'tlsCipherSuite'], undefined, 'required', 'string', { section: C }),
  def('tls-crl-check', ['tls-crl-check', 'tlsCrlCheck'], undefined, 'none', 'flag', { section: C }),
  def('tls-crl-check-all', ['tls-crl-check-all', 'tlsCrlCheckAll'], undefined, 'none', 'flag', { section: C }),
  def('tls-cert-blacklist', ['tls-cert-blackList', 'tlsCertBlackList'], undefined, 'required', 'string', { section: C }),
  def('tls-log-session-info', ['tls-log-session-info', 'tlsLogSessionInfo'], undefined, 'none', 'flag'),
  def('tls-keyfile', ['tls-keyfile', 'tlsKeyFile'], undefined, 'required', 'string', { section: C }),
  def('tls-keyfile-password', ['tls-keyfile-password'], undefined, 'optional', 'password', { section: C }),
  def('tls-certfile', ['tls-certfile', 'tlsCertFile'], undefined, 'required', 'string', { section: C }),

  def('namespace', ['namespace'], 'n', 'required', 'string', { section: R }),
  def('directory', ['directory'], 'd', 'required', 'string', { section: R }),
  def('directory-list', ['directory-list'], undefined, 'required', 'string', { section: R }),
  def('parent-directory', ['parent-directory'], undefined, 'required', 'string', { section: R }),
  def('input-file', ['input-file'], 'i', 'required', 'string', { section: R }),
  def('compress', ['compress'], 'z', 'required', 'string', { section: R }),
  def('encrypt', ['encrypt'], 'y', 'required', 'string', { section: R }),
  def('encryption-key-file', ['encryption-key-file'], undefined, 'required', 'string', { section: R }),
  def('encryption-key-env', ['encryption-key-env'], undefined, 'required', 'string', { section: R }),
  def('parallel', ['parallel'], 't', 'required', 'int', { range: [1n, 4096n], invalid: 'Invalid threads value', section: R }),
  def('threads', ['threads'], undefined, 'required', 'int', { range: [1n, 4096n], invalid: 'Invalid threads value', section: R }),
  def('machine', ['machine'], 'm', 'required', 'string', { section: R }),
  def('bin-list', ['bin-list'], 'B', 'required', 'string', { section: R }),
  def('set-list', ['set-list'], 's', 'required', 'string', { section: R }),
  def('unique', ['unique'], 'u', 'none', 'flag', { section: R }),
  def('ignore-record-error', ['ignore-record-error'], undefined, 'none', 'flag', { section: R }),
  def('replace', ['replace'], 'r', 'none', 'flag', { section: R }),
  def('no-generation', ['no-generation'], 'g', 'none', 'flag', { section: R }),
  def('extra-ttl', ['extra-ttl'], undefined, 'required', 'int', { range: [0n, INT32_MAX], invalid: 'Invalid extra-ttl value', section: R }),
  def('nice', ['nice'], 'N', 'required', 'string', { section: R }),
  def('bandwidth', [], undefined, 'required', 'int', { range: [1n, SAFE_MAX / (1024n * 1024n)], section: R }),
  def('tps', [], undefined, 'required', 'int', { range: [0n, UINT32_MAX], section: R }),
  def('validate', ['validate'], undefined, 'none', 'flag', { section: R }),
  def('no-records', ['no-records'], 'R', 'none', 'flag', { section: R }),
  def('no-indexes', ['no-indexes'], 'I', 'none', 'flag', { section: R }),
  def('indexes-last', ['indexes-last'], 'L', 'none', 'flag', { section: R }),
  def('no-udfs', ['no-udfs'], 'F', 'none', 'flag', { section: R }),
  def('wait', ['wait'], 'w', 'none', 'flag', { section: R }),
  def('timeout', ['timeout'], 'T', 'required', 'int', { range: [0n, UINT32_MAX], invalid: 'Invalid timeout value', section: R }),
  def('socket-timeout', ['socket-timeout'], undefined, 'required', 'int', { range: [0n, UINT32_MAX], invalid: 'Invalid socket timeout value', section: R }),
  def('total-timeout', ['total-timeout'], undefined, 'required', 'int', { range: [0n, UINT32_MAX], invalid: 'Invalid total timeout value', section: R }),
  def('max-retries', ['max-retries'], undefined, 'required', 'int', { range: [0n, SAFE_MAX], invalid: 'Invalid max retries value', section: R }),
  def('retry-scale-factor', ['retry-scale-factor'], undefined, 'required', 'int', { range: [0n, SAFE_MAX], invalid: 'Invalid retry delay value', section: R }),
  def('retry-delay', ['retry-delay', 'sleep-between-retries'], undefined, 'required', 'string', { section: R, keys: ['retry-delay', 'sleep-between-retries'] }),
  def('disable-batch-writes', ['disable-batch-writes'], undefined, 'none', 'flag', { section: R }),
  def('max-async-batches', ['max-async-batches'], undefined, 'required', 'int', { range: [1n, UINT32_MAX], invalid: 'Invalid max-async-batches value', section: R }),
  def('batch-size', ['batch-size'], undefined, 'required', 'int', { range: [1n, UINT32_MAX], invalid: 'Invalid batch-size value', section: R }),
  def('event-loops', ['event-loops'], undefined, 'required', 'int', { range: [1n, 4096n], invalid: 'Invalid event-loops value', section: R }),

  def('s3-region', ['s3-region'], undefined, 'required', 'string', { section: R }),
  def('s3-profile', ['s3-profile'], undefined, 'required', 'string', { section: R }),
  def('s3-endpoint-override', ['s3-endpoint-override'], undefined, 'required', 'string', { section: R }),
  def('s3-max-async-downloads', ['s3-max-async-downloads'], undefined, 'required', 'int', { range: [1n, UINT32_MAX], invalid: 'Invalid S3 max async downloads value', section: R }),
  def('s3-log-level', ['s3-log-level'], undefined, 'required', 'string', { section: R }),
  def('s3-connect-timeout', ['s3-connect-timeout'], undefined, 'required', 'int', { range: [0n, UINT32_MAX], invalid: 'Invalid S3 connect timeout value', section: R }),
  def('s3-allow-system-proxy', ['s3-allow-system-proxy'], undefined, 'none', 'flag', { section: R }),

  def('sa-address', ['sa-address'], undefined, 'required', 'string', { section: SA }),
  def('sa-port', ['sa-port'], undefined, 'required', 'string', { section: SA }),
  def('sa-timeout', ['sa-timeout'], undefined, 'required', 'int', { range: [0n, INT32_MAX], invalid: 'Invalid secret agent timeout value', section: SA }),
  def('sa-cafile', ['sa-cafile'], undefined, 'required', 'string', { section: SA }),
];

const DEFS_BY_ID = new Map<OptionId, OptionDef>(OPTION_DEFS.map((d) => [d.id, d]));
const GETOPT_SPECS: readonly OptionDef[] = OPTION_DEFS.filter((d) => d.long.length > 0 || d.short !== undefined);

/** Config-file key (lower case) -> option, per section. */
const CONFIG_KEYS: Record<ConfigSection, Map<string, OptionDef>> = (() => {
  const out: Record<ConfigSection, Map<string, OptionDef>> = { cluster: new Map(), asrestore: new Map(), 'secret-agent': new Map() };
  for (const d of OPTION_DEFS) {
    if (!d.section) continue;
    for (const key of d.keys ?? [d.id]) out[d.section].set(key, d);
  }
  return out;
})();

// ---------------------------------------------------------------------------------------------
// Parsing

export type ParsedCommandLine = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; options: RestoreOptions };

export interface ParseContext {
  env?: NodeJS.ProcessEnv;
  /** Where astools.conf files are looked for (tests point these at temporary files). */
  configLocations?: ConfigFileLocations;
  /** Receives deprecation warnings and notes (default: ERR log lines, as C prints them). */
  warn?: (message: string) => void;
  /** CPUs available to the process (the --event-loops default). */
  cpuCount?: () => number;
}

export const OPTIONS_ERROR = 'OPTIONS';

function optionsError(message: string, cause?: unknown): AsrestoreError {
  return new AsrestoreError(OPTIONS_ERROR, message, {}, cause === undefined ? undefined : { cause });
}

type Value = string | boolean | bigint | PasswordSetting;

/** C `better_atoi`: strtol base 10 over the whole string (leading whitespace and a sign allowed). */
export function parseCInteger(text: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(text);
  if (m === null) return null;
  let v = BigInt(m[2]);
  if (m[1] === '-') v = -v;
  // strtol saturates at LONG_MIN/LONG_MAX on overflow.
  if (v > INT64_MAX) v = INT64_MAX;
  if (v < -INT64_MAX - 1n) v = -INT64_MAX - 1n;
  return v;
}

const AUTH_MODES: readonly AuthMode[] = ['INTERNAL', 'EXTERNAL', 'EXTERNAL_INSECURE', 'PKI'];
const S3_LOG_LEVELS: readonly S3LogLevel[] = ['Off', 'Fatal', 'Error', 'Warn', 'Info', 'Debug', 'Trace'];

const RETRY_DELAY_WARNING =
  'Warning: `--sleep-between-retries` and `--retry-delay` are deprecated and has no effect, use ' +
  '`--retry-scale-factor` to configure the amount to back off when retrying transactions.';
const THREADS_WARNING = "WARNING: '--threads' option is deprecated, use `--parallel` instead";
const BLACKLIST_WARNING = 'Warning: --tls-cert-blackList is deprecated and will be removed in the next release. Use a crl instead';

/**
 * Parses the command line (argv without `node` and the script) and the config files.
 * Throws AsrestoreError: code 'USAGE' for getopt's complaints (unknown option, missing value),
 * 'OPTIONS' for invalid values and combinations, 'CONFIG_FILE' for config files, 'SECRET_AGENT'.
 */
export async function parseCommandLine(argv: readonly string[], context: ParseContext = {}): Promise<ParsedCommandLine> {
  const env = context.env ?? process.env;
  const warn = context.warn ?? err;

  // Pass 1 (C: opterr = 0): only --help / --version, the first one wins, errors ignored.
  for (const item of getopt(argv, GETOPT_SPECS, { lenient: true, optionalTakesNextWord: takesNextWord }).items) {
    if (item.spec.id === 'help') return { kind: 'help' };
    if (item.spec.id === 'version') return { kind: 'version' };
  }

  const parsed = getopt(argv, GETOPT_SPECS, { optionalTakesNextWord: takesNextWord });
  if (parsed.operands.length > 0) {
    throw new AsrestoreError('USAGE', `unexpected argument '${parsed.operands[0]}'`);
  }
  const items = parsed.items;

  // Pass 2: which config files.
  let configFile: string | null = null;
  let onlyConfigFile: string | null = null;
  let noConfigFile = false;
  let instance: string | null = null;
  for (const item of items) {
    switch (item.spec.id) {
      case 'config-file':
        configFile = item.value!;
        break;
      case 'only-config-file':
        onlyConfigFile = item.value!;
        break;
      case 'no-config-file':
        noConfigFile = true;
        break;
      case 'instance':
        instance = item.value!;
        break;
      default:
        break;
    }
  }
  const entries = readConfigEntries({
    instance,
    configFile,
    onlyConfigFile,
    noConfigFile,
    locations: context.configLocations ?? defaultConfigLocations(env),
    warn,
  });

  const settings = new Settings(warn);

  // The secret agent settings come first: every other value may be a `secrets:` reference.
  // A file of an `[include] directory` that has a bad entry is skipped from there on, as C does.
  const skippedFiles = new Set<string>();
  const applyEntry = async (entry: ConfigEntry, agent: SecretAgentConfig | null): Promise<void> => {
    if (skippedFiles.has(entry.file)) return;
    try {
      await settings.applyConfigEntry(entry, agent);
    } catch (error) {
      if (!entry.fromIncludeDirectory || !(error instanceof AsrestoreError)) throw error;
      skippedFiles.add(entry.file);
      warn(`Skipped config file ${entry.file}: ${error.message}`);
    }
  };
  for (const entry of entries) if (entry.section === 'secret-agent') await applyEntry(entry, null);
  for (const item of items) if (DEFS_BY_ID.get(item.spec.id as OptionId)?.section === 'secret-agent') await settings.applyCommandLine(item, null);
  const secretAgent = secretAgentOptions(settings);
  const agent: SecretAgentConfig = { address: secretAgent.address, port: secretAgent.port, timeoutMs: secretAgent.timeoutMs, caPem: secretAgent.caPem };

  for (const entry of entries) if (entry.section !== 'secret-agent') await applyEntry(entry, agent);
  settings.startCommandLineLayer();
  for (const item of items) {
    const d = DEFS_BY_ID.get(item.spec.id as OptionId)!;
    if (d.meta || d.section === 'secret-agent') continue;
    await settings.applyCommandLine(item, agent);
  }

  return { kind: 'run', options: buildRestoreOptions(settings, secretAgent, context) };
}

function takesNextWord(spec: GetoptSpec): boolean {
  return spec.id === 'password' || spec.id === 'tls-keyfile-password';
}

/** The values collected from config files and then the command line. */
class Settings {
  readonly values = new Map<OptionId, Value>();
  /** PEM text for file options whose value was a secret-agent reference. */
  readonly pemFromSecret = new Map<OptionId, { pem: string; reference: string }>();
  /** Where the encryption key was set in the current layer (file vs env may not both be). */
  private keyOptionInLayer: OptionId | null = null;

  constructor(private readonly warn: (message: string) => void) {}

  startCommandLineLayer(): void {
    this.keyOptionInLayer = null;
  }

  get<T extends Value>(id: OptionId): T | undefined {
    return this.values.get(id) as T | undefined;
  }

  async applyCommandLine(item: GetoptItem, agent: SecretAgentConfig | null): Promise<void> {
    const d = DEFS_BY_ID.get(item.spec.id as OptionId)!;
    let value = item.value;
    let fromSecret: string | null = null;
    if (agent !== null && isSecretReference(value)) {
      fromSecret = value;
      value = (await fetchSecret(value, agent)).toString('utf8');
    }
    switch (d.type) {
      case 'flag':
        if (d.id === 'tls-encrypt-only') {
          throw optionsError('--tlsEncryptOnly is not supported (C asrestore declares it but rejects it too)');
        }
        this.set(d, true);
        return;
      case 'password':
        this.set(d, value === undefined ? { kind: 'prompt' } : { kind: 'value', value });
        return;
      case 'int': {
        const n = parseCInteger(value!);
        if (n === null || n < d.range![0] || n > d.range![1]) throw optionsError(`${d.invalid} ${value}`);
        if (d.id === 'threads') this.warn(THREADS_WARNING);
        this.set(d, n);
        return;
      }
      case 'string':
        this.setString(d, value!, fromSecret);
        return;
    }
  }

  async applyConfigEntry(entry: ConfigEntry, agent: SecretAgentConfig | null): Promise<void> {
    const d = CONFIG_KEYS[entry.section].get(entry.name);
    const where = `in \`${entry.sectionName}\` section (file ${entry.file})`;
    if (d === undefined) throw optionsError(`Unknown parameter \`${entry.key}\` ${where}`);
    const invalid = (): AsrestoreError => optionsError(`Invalid parameter value for \`${entry.key}\` ${where}`);
    let value: TomlValue = entry.value;
    let fromSecret: string | null = null;
    if (agent !== null && typeof value === 'string' && isSecretReference(value)) {
      fromSecret = value;
      value = (await fetchSecret(value, agent)).toString('utf8');
      // A secret stands for the value's text, whatever the key's type.
      if (d.type === 'int') {
        const n = parseCInteger(value);
        if (n === null) throw invalid();
        value = n;
      } else if (d.type === 'flag') {
        if (value !== 'true' && value !== 'false') throw invalid();
        value = value === 'true';
      }
    }
    if (d.id === 'retry-delay') {
      this.warn(RETRY_DELAY_WARNING);
      return;
    }
    switch (d.type) {
      case 'flag':
        if (typeof value !== 'boolean') throw invalid();
        this.set(d, value);
        return;
      case 'password':
        if (typeof value !== 'string') throw invalid();
        this.set(d, { kind: 'value', value });
        return;
      case 'int':
        if (typeof value !== 'bigint' || value < d.range![0] || value > d.range![1]) throw invalid();
        this.set(d, value);
        return;
      case 'string':
        if (typeof value !== 'string') throw invalid();
        try {
          this.setString(d, value, fromSecret);
        } catch (error) {
          if (error instanceof AsrestoreError && error.code === OPTIONS_ERROR && (d.id === 'compress' || d.id === 'encrypt' || d.id === 's3-log-level' || d.id === 'auth')) {
            throw optionsError(`Invalid parameter value for \`${entry.key}\` ${where}: ${error.message}`);
          }
          throw error;
        }
        return;
    }
  }

  private set(d: OptionDef, value: Value): void {
    // --threads and the `threads` key are --parallel.
    this.values.set(d.id === 'threads' ? 'parallel' : d.id, value);
  }

  private setString(d: OptionDef, value: string, fromSecret: string | null): void {
    switch (d.id) {
      case 'compress':
        try {
          this.set(d, parseCompressionType(value));
        } catch (error) {
          throw optionsError((error as Error).message, error);
        }
        return;
      case 'encrypt':
        try {
          this.set(d, parseEncryptionType(value));
        } catch (error) {
          throw optionsError((error as Error).message, error);
        }
        return;
      case 'auth': {
        const mode = AUTH_MODES.find((m) => m === value.toUpperCase());
        if (mode === undefined) {
          throw optionsError(`Invalid authentication mode ${value}. Allowed values are INTERNAL / EXTERNAL / EXTERNAL_INSECURE / PKI`);
        }
        this.set(d, mode);
        return;
      }
      case 's3-log-level': {
        const level = S3_LOG_LEVELS.find((l) => l.toLowerCase() === value.toLowerCase());
        if (level === undefined) throw optionsError(`Invalid S3 log level "${value}"`);
        this.set(d, level);
        return;
      }
      case 'retry-delay':
        this.warn(RETRY_DELAY_WARNING);
        return;
      case 'tls-cert-blacklist':
        this.warn(BLACKLIST_WARNING);
        this.set(d, value);
        return;
      case 'encryption-key-file':
      case 'encryption-key-env': {
        const other: OptionId = d.id === 'encryption-key-file' ? 'encryption-key-env' : 'encryption-key-file';
        if (this.keyOptionInLayer === other) {
          throw optionsError('Cannot specify both encryption-key-file and encryption-key-env');
        }
        this.keyOptionInLayer = d.id;
        this.values.delete(other);
        this.pemFromSecret.delete('encryption-key-file');
        if (d.id === 'encryption-key-file' && fromSecret !== null) this.pemFromSecret.set(d.id, { pem: value, reference: fromSecret });
        this.set(d, value);
        return;
      }
      case 'sa-cafile': {
        let pem: string;
        try {
          pem = readFileSync(value, 'utf8');
        } catch (error) {
          throw optionsError(`Invalid secret agent cafile ${value}`, error);
        }
        this.pemFromSecret.set(d.id, { pem, reference: value });
        this.set(d, value);
        return;
      }
      case 'tls-cafile':
      case 'tls-keyfile':
      case 'tls-certfile':
        if (fromSecret !== null) this.pemFromSecret.set(d.id, { pem: value, reference: fromSecret });
        else this.pemFromSecret.delete(d.id);
        this.set(d, value);
        return;
      default:
        this.set(d, value);
        return;
    }
  }
}

function secretAgentOptions(settings: Settings): SecretAgentOptions {
  let address = settings.get<string>('sa-address') ?? '127.0.0.1';
  let port = settings.get<string>('sa-port') ?? '3005';
  // `--sa-address host:port` gives the port too, unless --sa-port was given (C parse_host).
  if (!settings.values.has('sa-port')) {
    const m = address.startsWith('[') ? /^\[([^\]]*)\]:(.*)$/.exec(address) : /^([^:]*):(.*)$/.exec(address);
    if (m !== null) {
      address = m[1];
      port = m[2];
    }
  }
  const timeout = settings.get<bigint>('sa-timeout');
  const ca = settings.pemFromSecret.get('sa-cafile');
  return {
    address,
    port,
    timeoutMs: timeout === undefined ? 1000 : Number(timeout),
    caFile: settings.get<string>('sa-cafile') ?? null,
    caPem: ca?.pem ?? null,
  };
}

/**
 * C `restore_config_parse_list`: a non-empty comma-separated list, items trimmed, each 1..size-1
 * bytes long.
 */
export function parseOptionList(which: string, maxBytesExclusive: number, list: string): string[] {
  if (list.length === 0) throw optionsError(`Empty ${which} list`);
  const items = list.split(',').map((item) => item.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, ''));
  for (const item of items) {
    const bytes = Buffer.byteLength(item, 'utf8');
    if (bytes === 0 || bytes >= maxBytesExclusive) throw optionsError(`Item with invalid length in ${which} list ${list}`);
  }
  return items;
}

function withContext(fn: () => string[], context: string): string[] {
  try {
    return fn();
  } catch (error) {
    if (error instanceof AsrestoreError) throw optionsError(`${error.message}\n${context}`, error);
    throw error;
  }
}

/** The largest stdin size hint C accepts: 1 PiB. */
const MAX_STDIN_SIZE = 1024n ** 5n;

export function parseInputSource(inputFile: string | null, directory: string | null, directoryList: string | null, parentDirectory: string | null): InputSource {
  if (inputFile !== null) {
    if (inputFile === '-') return { kind: 'stdin', sizeHint: null };
    if (inputFile.startsWith('-:')) {
      const size = parseCInteger(inputFile.slice(2));
      if (size === null || size < 0n || size > MAX_STDIN_SIZE) throw optionsError(`Invalid stdin input size ${inputFile.slice(2)}`);
      return { kind: 'stdin', sizeHint: Number(size) };
    }
    return { kind: 'file', path: inputFile };
  }
  if (directory !== null) return { kind: 'directories', directories: [directory] };
  const entries = directoryList!.split(',');
  if (entries.some((e) => e.length === 0)) {
    throw optionsError(`Invalid options: --directory-list ${directoryList} has an empty entry.`);
  }
  if (parentDirectory === null) return { kind: 'directories', directories: entries };
  const prefix = parentDirectory.endsWith('/') ? parentDirectory : parentDirectory + '/';
  return { kind: 'directories', directories: entries.map((e) => prefix + e) };
}

function num(settings: Settings, id: OptionId, fallback: number): number {
  const v = settings.get<bigint>(id);
  return v === undefined ? fallback : Number(v);
}

function str(settings: Settings, id: OptionId): string | null {
  return settings.get<string>(id) ?? null;
}

function flag(settings: Settings, id: OptionId): boolean {
  return settings.get<boolean>(id) === true;
}

function buildRestoreOptions(settings: Settings, secretAgent: SecretAgentOptions, context: ParseContext): RestoreOptions {
  const directory = str(settings, 'directory');
  const directoryList = str(settings, 'directory-list');
  const parentDirectory = str(settings, 'parent-directory');
  const inputFile = str(settings, 'input-file');
  const unique = flag(settings, 'unique');
  const replace = flag(settings, 'replace');
  const noGeneration = flag(settings, 'no-generation');
  const encrypt = (settings.get<string>('encrypt') as EncryptionAlgorithm | undefined) ?? null;

  // C restore_config_validate, in its order.
  if (directory === null && inputFile === null && directoryList === null) {
    throw optionsError(
      'Invalid options: please specify a directory (-d option), directory list (--directory-list option), or an input file (-i option).',
    );
  }
  if (parentDirectory !== null && directoryList === null) {
    throw optionsError('Invalid options: --parent-directory should always be used with, and only applies to --directory-list.');
  }
  if (directory !== null && inputFile !== null) {
    throw optionsError('Invalid options: --directory and --input-file are mutually exclusive.');
  }
  if (unique && (replace || noGeneration)) {
    throw optionsError('Invalid options: --unique is mutually exclusive with --replace and --no-generation.');
  }
  if (directory !== null && directoryList !== null) {
    throw optionsError('Invalid options: --directory and --directory-list are mutually exclusive.');
  }
  if (inputFile !== null && directoryList !== null) {
    throw optionsError('Invalid options: --input-file and --directory-list are mutually exclusive.');
  }
  let encryptionKey: EncryptionKeySource | null = null;
  const keyFile = str(settings, 'encryption-key-file');
  const keyEnv = str(settings, 'encryption-key-env');
  const keyPem = settings.pemFromSecret.get('encryption-key-file');
  if (keyPem !== undefined) encryptionKey = { kind: 'pem', pem: keyPem.pem, reference: keyPem.reference };
  else if (keyFile !== null) encryptionKey = { kind: 'file', path: keyFile };
  else if (keyEnv !== null) encryptionKey = { kind: 'env', variable: keyEnv };
  if ((encryptionKey !== null) !== (encrypt !== null)) {
    throw optionsError('Must specify both encryption mode and a private key file/environment variable');
  }

  let bandwidth = num(settings, 'bandwidth', 0) * 1024 * 1024;
  let tps = num(settings, 'tps', 0);
  const nice = str(settings, 'nice');
  if (nice !== null) {
    const items = withContext(() => parseOptionList('nice', 10, nice), 'Error while parsing nice list');
    if (items.length !== 2) throw optionsError('Invalid nice option');
    const mib = parseCInteger(items[0]);
    if (mib === null || mib < 1n || mib > SAFE_MAX / (1024n * 1024n)) throw optionsError(`Invalid bandwidth value ${items[0]}`);
    const recordsPerSecond = parseCInteger(items[1]);
    if (recordsPerSecond === null || recordsPerSecond < 1n || recordsPerSecond > UINT32_MAX) throw optionsError(`Invalid TPS value ${items[1]}`);
    bandwidth = Number(mib) * 1024 * 1024;
    tps = Number(recordsPerSecond);
  }

  const input = parseInputSource(inputFile, directory, directoryList, parentDirectory);

  // C restore_status_init: the lists.
  const namespaceText = str(settings, 'namespace');
  let namespace: NamespaceMapping | null = null;
  if (namespaceText !== null) {
    const names = withContext(() => parseOptionList('namespace', 32, namespaceText), 'Error while parsing namespace list');
    if (names.length > 2) throw optionsError('Invalid namespace option');
    namespace = { source: names[0], target: names.length > 1 ? names[1] : null };
  }
  const binListText = str(settings, 'bin-list');
  const binList = binListText === null ? null : withContext(() => parseOptionList('bin', 16, binListText), 'Error while parsing bin list');
  const setListText = str(settings, 'set-list');
  const setList = setListText === null ? null : withContext(() => parseOptionList('set', 64, setListText), 'Error while parsing set list');

  const pem = (id: OptionId): string | null => settings.pemFromSecret.get(id)?.pem ?? null;
  const fileUnlessSecret = (id: OptionId): string | null => (settings.pemFromSecret.has(id) ? null : str(settings, id));

  return {
    host: str(settings, 'host') ?? '127.0.0.1',
    port: num(settings, 'port', 3000),
    servicesAlternate: flag(settings, 'services-alternate'),
    user: str(settings, 'user'),
    password: settings.get<PasswordSetting>('password') ?? { kind: 'prompt' },
    authMode: (settings.get<string>('auth') as AuthMode | undefined) ?? 'INTERNAL',
    tls: {
      enable: flag(settings, 'tls-enable'),
      name: str(settings, 'tls-name'),
      caFile: fileUnlessSecret('tls-cafile'),
      caPem: pem('tls-cafile'),
      caPath: str(settings, 'tls-capath'),
      protocols: str(settings, 'tls-protocols'),
      cipherSuite: str(settings, 'tls-cipher-suite'),
      crlCheck: flag(settings, 'tls-crl-check'),
      crlCheckAll: flag(settings, 'tls-crl-check-all'),
      certBlacklist: str(settings, 'tls-cert-blacklist'),
      logSessionInfo: flag(settings, 'tls-log-session-info'),
      keyFile: fileUnlessSecret('tls-keyfile'),
      keyPem: pem('tls-keyfile'),
      keyFilePassword: settings.get<PasswordSetting>('tls-keyfile-password') ?? null,
      certFile: fileUnlessSecret('tls-certfile'),
      certPem: pem('tls-certfile'),
    },
    input,
    directory,
    directoryList,
    parentDirectory,
    inputFile,
    compress: (settings.get<string>('compress') as CompressionType | undefined) ?? null,
    encrypt,
    encryptionKey,
    namespace,
    binList,
    setList,
    binListText,
    setListText,
    noRecords: flag(settings, 'no-records'),
    noIndexes: flag(settings, 'no-indexes'),
    noUdfs: flag(settings, 'no-udfs'),
    indexesLast: flag(settings, 'indexes-last'),
    wait: flag(settings, 'wait'),
    validate: flag(settings, 'validate'),
    unique,
    replace,
    noGeneration,
    ignoreRecordError: flag(settings, 'ignore-record-error'),
    extraTtl: num(settings, 'extra-ttl', 0),
    parallel: num(settings, 'parallel', 20),
    eventLoops: num(settings, 'event-loops', 0) || (context.cpuCount ?? availableCpuCount)(),
    maxAsyncBatches: num(settings, 'max-async-batches', 32),
    batchSize: settings.values.has('batch-size') ? num(settings, 'batch-size', 0) : null,
    disableBatchWrites: flag(settings, 'disable-batch-writes'),
    timeout: num(settings, 'timeout', 10000),
    socketTimeout: num(settings, 'socket-timeout', 10000),
    totalTimeout: num(settings, 'total-timeout', 0),
    maxRetries: num(settings, 'max-retries', 5),
    retryScaleFactor: num(settings, 'retry-scale-factor', 150000),
    bandwidth,
    tps,
    machine: str(settings, 'machine'),
    verbose: flag(settings, 'verbose'),
    s3Region: str(settings, 's3-region'),
    s3Profile: str(settings, 's3-profile'),
    s3EndpointOverride: str(settings, 's3-endpoint-override'),
    s3MaxAsyncDownloads: num(settings, 's3-max-async-downloads', 32),
    s3ConnectTimeout: num(settings, 's3-connect-timeout', 1000),
    s3LogLevel: (settings.get<string>('s3-log-level') as S3LogLevel | undefined) ?? 'Fatal',
    s3AllowSystemProxy: flag(settings, 's3-allow-system-proxy'),
    secretAgent,
  };
}

// ---------------------------------------------------------------------------------------------
// CPUs

/**
 * CPUs this process may use: os.availableParallelism() (affinity), lowered by a cgroup CPU quota
 * (v2 `cpu.max`, v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`) of the process's cgroup or any of its
 * ancestors, rounded down, at least 1. `root` lets tests supply a fake /proc and /sys.
 */
export function availableCpuCount(root = '/', parallelism: number = availableParallelism()): number {
  const quota = cgroupCpuQuota(root);
  return Math.max(1, quota === null ? parallelism : Math.min(parallelism, quota));
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Directories from `dir` up to and including `top`. */
function selfAndAncestors(dir: string, top: string): string[] {
  const out: string[] = [];
  let current = dir;
  for (;;) {
    out.push(current);
    if (current === top || current.length <= top.length) break;
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return out;
}

function cgroupDirs(root: string, mount: string, cgroupPath: string): string[] {
  const mountDir = join(root, mount);
  const own = join(mountDir, cgroupPath);
  // Inside a container the process's path may not exist under the (namespaced) mount.
  return existsSync(own) ? selfAndAncestors(own, mountDir) : [mountDir];
}

function cgroupCpuQuota(root: string): number | null {
  const self = readText(join(root, 'proc/self/cgroup'));
  if (self === null) return null;
  let best: number | null = null;
  const consider = (cpus: number): void => {
    if (cpus > 0) best = best === null ? cpus : Math.min(best, cpus);
  };
  for (const line of self.split('\n')) {
    if (line.split(':').length < 3) continue;
    const [, controllers, path] = splitCgroupLine(line);
    if (controllers === '') {
      for (const dir of cgroupDirs(root, 'sys/fs/cgroup', path)) {
        const max = readText(join(dir, 'cpu.max'));
        if (max === null) continue;
        const [quota, period] = max.trim().split(/\s+/);
        if (quota === 'max' || quota === undefined) continue;
        const q = Number(quota);
        const p = Number(period ?? '100000');
        if (q > 0 && p > 0) consider(Math.floor(q / p) || 1);
      }
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of [`sys/fs/cgroup/${controllers}`, 'sys/fs/cgroup/cpu,cpuacct', 'sys/fs/cgroup/cpu']) {
        if (!existsSync(join(root, mount))) continue;
        for (const dir of cgroupDirs(root, mount, path)) {
          const quota = Number(readText(join(dir, 'cpu.cfs_quota_us'))?.trim() ?? '-1');
          const period = Number(readText(join(dir, 'cpu.cfs_period_us'))?.trim() ?? '100000');
          if (quota > 0 && period > 0) consider(Math.floor(quota / period) || 1);
        }
        break;
      }
    }
  }
  return best;
}

function splitCgroupLine(line: string): [string, string, string] {
  const first = line.indexOf(':');
  const second = line.indexOf(':', first + 1);
  return [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1)];
}

// ---------------------------------------------------------------------------------------------
// Help and version

/** The version of this package (package.json above the compiled file). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { version?: string; name?: string };
        if (pkg.name === 'asrestore-ts' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/** `-V`: C prints "Aerospike Restore" and "Version x"; the third line names this implementation. */
export function versionText(): string {
  return `Aerospike Restore\nVersion ${packageVersion()}\nasrestore-ts on Node.js ${process.version}\n`;
}

export function usageText(programName = 'asrestore'): string {
  return `Usage: ${programName} [OPTIONS]
------------------------------------------------------------------------------
 -V, --version        Print ASRESTORE version information.
 -Z, --usage, --help, --options
                      Display this message.
 -v, --verbose        Enable verbose output. Default: disabled

Configuration File Allowed Options
----------------------------------

[cluster]
 -h HOST, --host=HOST
                      HOST is "<host1>[:<tlsname1>][:<port1>],..."
                      Server seed hostnames or IP addresses. The tlsname is
                      only used when connecting with a secure TLS enabled
                      server. Default: 127.0.0.1:3000
 -S, --services-alternate
                      Use the alternate access addresses the nodes publish
                      (alternate-access-address). Default: false.
 -p PORT, --port=PORT Server default port. Default: 3000
 -U USER, --user=USER User name used to authenticate with cluster. Default: none
 -P, --password[=PASSWORD]
                      Password used to authenticate with cluster. Default: none
                      User will be prompted on the terminal if -P is given
                      without a password (or a user without any password).
 -A, --auth=MODE      Authentication mode: INTERNAL (default), EXTERNAL,
                      EXTERNAL_INSECURE, PKI. Use EXTERNAL with LDAP.
 --tls-enable         Enable TLS on connections. By default TLS is disabled.
 --tls-name=NAME      The default tls-name used to authenticate each TLS socket.
 --tls-cafile=TLS_CAFILE
                      Path to a trusted CA certificate file.
 --tls-capath=TLS_CAPATH
                      Path to a directory of trusted CA certificates.
 --tls-protocols=TLS_PROTOCOLS
                      TLS protocol selection, in Apache SSLProtocol format.
 --tls-cipher-suite=TLS_CIPHER_SUITE
                      TLS cipher selection, in OpenSSL cipher list format.
 --tls-keyfile=TLS_KEYFILE
                      Path to the key for mutual authentication.
 --tls-keyfile-password[=TLS_KEYFILE_PASSWORD]
                      Password of the tls-keyfile: 'env:<VAR>', 'file:<PATH>'
                      or the password itself. Prompted for when given without
                      a value.
 --tls-certfile=TLS_CERTFILE
                      Path to the chain file for mutual authentication.
 --tls-cert-blackList=PATH (DEPRECATED)
                      Path to a certificate blacklist file. Use a CRL instead.
 --tls-crl-check      Enable CRL checking for the leaf certificate.
 --tls-crl-check-all  Enable CRL checking for the entire certificate chain.
 --tls-log-session-info
                      Log session information for each TLS connection.
                      (camelCase forms are accepted too: --tlsEnable, --tlsName,
                      --tlsCaFile, --tlsCaPath, --tlsProtocols, --tlsCipherSuite,
                      --tlsCrlCheck, --tlsCrlCheckAll, --tlsCertBlackList,
                      --tlsLogSessionInfo, --tlsKeyFile, --tlsCertFile)

[asrestore]
  -n, --namespace <namespace>[,<new namespace>]
                      The namespace the backup holds; with a second name,
                      restore into that namespace instead.
  -d, --directory <directory>
                      The directory that holds the backup files (or an
                      s3://bucket/prefix). Required, unless -i or
                      --directory-list is used.
  -i, --input-file <file>
                      Restore from a single backup file. Use - for stdin, or
                      -:<bytes> for stdin of a known size (for progress).
      --directory-list <path 1>[,<path 2>[,...]]
                      Restore the backup files of several directories.
      --parent-directory <directory>
                      Prefixed to every --directory-list entry.
  -z, --compress <algorithm>
                      Decompress the backup files: zstd. Must match the backup.
  -y, --encrypt <algorithm>
                      Decrypt the backup files: aes128 or aes256. Must match the
                      backup. Needs --encryption-key-file or --encryption-key-env.
      --encryption-key-file <path>
                      The private key (PEM) the backup was encrypted with.
      --encryption-key-env <env_var_name>
                      An environment variable holding the key, base64 encoded.
  -t, --parallel <n>  Backup files restored at once (1..4096). Default: 20.
      --threads <n>   DEPRECATED: use --parallel.
      --event-loops <n>
                      Worker threads (decoding and writing). Default: the CPUs
                      available to the process (cgroup quota included). A
                      thread takes files once the others are busy.
  -m, --machine <path>
                      Append machine-readable status updates to the given path.
  -B, --bin-list <bin 1>[,<bin 2>[,...]]
                      Only restore the given bins. Default: all bins.
  -s, --set-list <set 1>[,<set 2>[,...]]
                      Only restore the given sets. Default: all sets.
      --ignore-record-error
                      Count and pass over permanent record-specific errors
                      (e.g. AEROSPIKE_RECORD_TOO_BIG) instead of stopping.
  -u, --unique        Skip records that already exist in the namespace.
  -r, --replace       Fully replace records that already exist.
  -g, --no-generation Don't check the generation of records that already exist.
      --extra-ttl <seconds>
                      Add this many seconds to the void-time of expirable records.
  -N, --nice <bandwidth>,<TPS>
                      Limit the read bandwidth (MiB/s) and the records per second.
      --validate      Validate the backup files; restore nothing.
  -R, --no-records    Don't restore any records.
  -I, --no-indexes    Don't restore any secondary indexes.
  -L, --indexes-last  Restore secondary indexes after the records.
  -F, --no-udfs       Don't restore any UDFs.
  -w, --wait          Wait for restored secondary indexes to be built and UDFs
                      to be distributed across the cluster.
  -T, --timeout <ms>  Timeout for info commands and connections. Default: 10000.
      --socket-timeout <ms>
                      Socket idle timeout of write transactions. Default: 10000.
      --total-timeout <ms>
                      Total timeout of write transactions; 0 = use --timeout.
                      Default: 0.
      --max-retries <n>
                      Retries of a write transaction before giving up. Default: 5.
      --retry-scale-factor <us>
                      Scale factor of the exponential retry backoff, in
                      microseconds. Default: 150000.
      --retry-delay, --sleep-between-retries <ms>
                      DEPRECATED, no effect: use --retry-scale-factor.
      --disable-batch-writes
                      Write records one by one even if the server supports batch
                      writes.
      --max-async-batches <n>
                      Batches in flight at a time. Default: 32.
      --batch-size <n>
                      Records per batch. Default: 128 with batch writes, 16
                      without.
      --s3-region <region>
                      The S3 region of the bucket(s).
      --s3-profile <profile_name>
                      The AWS profile for credentials (default: "default").
      --s3-endpoint-override <url>
                      Another endpoint for S3 API calls (e.g. MinIO).
      --s3-max-async-downloads <n>
                      Simultaneous S3 download requests. Default: 32.
      --s3-log-level <level>
                      Off, Fatal (default), Error, Warn, Info, Debug, Trace.
      --s3-connect-timeout <ms>
                      S3 connection timeout. Default: 1000.
      --s3-allow-system-proxy
                      Honour HTTPS_PROXY / HTTP_PROXY / NO_PROXY for S3.

Default configuration files are read from the following files in the given order:
/etc/aerospike/astools.conf ~/.aerospike/astools.conf
The following sections are read: (cluster asrestore include secret-agent)
The following options effect configuration file behavior
 --no-config-file
                      Do not read any config file. Default: disabled
 --instance <name>
                      Read sections cluster_<name> and asrestore_<name>.
 --config-file <path>
                      Read this file after the default configuration files.
 --only-config-file <path>
                      Read only this configuration file.

[secret-agent]
 Any option value may be "secrets:<resource_name>:<secret_name>": it is fetched
 from the Aerospike Secret Agent.
 --sa-address=<host>[:<port>]
                      Secret agent address. Default: 127.0.0.1:3005
 --sa-port=<port>     Secret agent port. Default: 3005
 --sa-timeout=<ms>    Secret agent connect and request timeout. Default: 1000
 --sa-cafile=<path>   CA certificate to verify the secret agent over TLS.
`;
}

// ---------------------------------------------------------------------------------------------
// Passwords (used when connecting; a validate run never asks)

export interface TerminalPrompt {
  /** Reads one line from the terminal without echo; throws when there is no terminal. */
  (prompt: string): Promise<string>;
}

/** The cluster password: null without --user; asks on the terminal when it is `prompt`. */
export async function resolvePassword(options: RestoreOptions, ask: TerminalPrompt = readPasswordFromTerminal): Promise<string | null> {
  if (options.user === null) return null;
  if (options.password.kind === 'value') return options.password.value;
  return ask('Enter Password: ');
}

/**
 * The TLS key file password: null when not given or without --tls-keyfile; `env:VAR` and
 * `file:PATH` are read (C tls_read_password), a bare value is the password; `prompt` asks.
 */
export async function resolveTlsKeyfilePassword(
  options: RestoreOptions,
  ask: TerminalPrompt = readPasswordFromTerminal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | null> {
  const setting = options.tls.keyFilePassword;
  if (setting === null || (options.tls.keyFile === null && options.tls.keyPem === null)) return null;
  const value = setting.kind === 'prompt' ? await ask('Enter TLS-Keyfile Password: ') : setting.value;
  if (value.startsWith('env:')) {
    const name = value.slice(4);
    const v = env[name];
    if (v === undefined) throw optionsError(`missing TLS key password environment variable ${name}`);
    if (v === '') throw optionsError(`empty TLS key password environment variable ${name}`);
    return v;
  }
  if (value.startsWith('file:')) {
    const path = value.slice(5);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw optionsError(`missing TLS key password file ${path}`, error);
    }
    const line = text.split(/[\r\n]/, 1)[0];
    if (line.length === 0) throw optionsError(`empty TLS key password file ${path}`);
    return line;
  }
  return value;
}

/** getpass(3): the prompt and the reply on the controlling terminal, without echo. */
export async function readPasswordFromTerminal(prompt: string): Promise<string> {
  const { openSync, closeSync } = await import('node:fs');
  const tty = await import('node:tty');
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch (error) {
    throw optionsError(
      `${prompt.replace(/: $/, '')}: no terminal to ask on; give the password on the command line (-P<password>, --password=<password>), ` +
        'in a config file, or as secrets:<resource>:<key>',
      error,
    );
  }
  const input = new tty.ReadStream(fd);
  const output = new tty.WriteStream(fd);
  output.write(prompt);
  input.setRawMode(true);
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const done = (error: Error | null): void => {
      input.setRawMode(false);
      input.removeAllListeners('data');
      output.write('\n');
      input.destroy();
      output.destroy();
      try {
        closeSync(fd);
      } catch {
        // already closed by the streams
      }
      if (error) reject(error);
      else resolve(answer);
    };
    input.on('data', (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(optionsError('interrupted while reading the password'));
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else answer += ch;
      }
    });
  });
}
