import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsrestoreError } from '../../src/shared/errors.js';
import {
  OPTION_DEFS,
  availableCpuCount,
  parseCInteger,
  parseCommandLine,
  resolvePassword,
  resolveTlsKeyfilePassword,
  usageText,
  versionText,
  type ParseContext,
  type RestoreOptions,
} from '../../src/main/options.js';

const noConfig = { systemFile: '/nonexistent/asrestore-test/astools.conf', userFile: null };

async function parse(argv: string[], context: ParseContext = {}): Promise<{ options: RestoreOptions; warnings: string[] }> {
  const warnings: string[] = [];
  const result = await parseCommandLine(argv, { configLocations: noConfig, cpuCount: () => 3, warn: (m) => warnings.push(m), ...context });
  if (result.kind !== 'run') throw new Error(`expected a run, got ${result.kind}`);
  return { options: result.options, warnings };
}

async function parseError(argv: string[], context: ParseContext = {}): Promise<AsrestoreError> {
  try {
    await parse(argv, context);
  } catch (error) {
    expect(error).to.be.instanceOf(AsrestoreError);
    return error as AsrestoreError;
  }
  throw new Error(`expected ${argv.join(' ')} to fail`);
}

const D = ['-d', 'backup'];

function get(options: RestoreOptions, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], options);
}

describe('cli: options', () => {
  it('has C defaults', async () => {
    const { options } = await parse(D);
    expect(options).to.deep.include({
      host: '127.0.0.1',
      port: 3000,
      servicesAlternate: false,
      user: null,
      password: { kind: 'prompt' },
      authMode: 'INTERNAL',
      input: { kind: 'directories', directories: ['backup'] },
      compress: null,
      encrypt: null,
      encryptionKey: null,
      namespace: null,
      binList: null,
      setList: null,
      noRecords: false,
      noIndexes: false,
      noUdfs: false,
      indexesLast: false,
      wait: false,
      validate: false,
      unique: false,
      replace: false,
      noGeneration: false,
      ignoreRecordError: false,
      extraTtl: 0,
      parallel: 20,
      eventLoops: 3,
      maxAsyncBatches: 32,
      batchSize: null,
      disableBatchWrites: false,
      timeout: 10000,
      socketTimeout: 10000,
      totalTimeout: 0,
      maxRetries: 5,
      retryScaleFactor: 150000,
      bandwidth: 0,
      tps: 0,
      machine: null,
      verbose: false,
      s3Region: null,
      s3Profile: null,
      s3EndpointOverride: null,
      s3MaxAsyncDownloads: 32,
      s3ConnectTimeout: 1000,
      s3LogLevel: 'Fatal',
      s3AllowSystemProxy: false,
    });
    expect(options.tls).to.deep.equal({
      enable: false, name: null, caFile: null, caPem: null, caPath: null, protocols: null, cipherSuite: null,
      crlCheck: false, crlCheckAll: false, certBlacklist: null, logSessionInfo: false, keyFile: null, keyPem: null,
      keyFilePassword: null, certFile: null, certPem: null,
    });
    expect(options.secretAgent).to.deep.equal({ address: '127.0.0.1', port: '3005', timeoutMs: 1000, caFile: null, caPem: null });
  });

  // [argv, path in RestoreOptions, expected value]
  const forms: [string[], string, unknown][] = [
    [['-h', 'h1:3000,h2'], 'host', 'h1:3000,h2'],
    [['--host=h1'], 'host', 'h1'],
    [['-p', '4000'], 'port', 4000],
    [['--port', '4000'], 'port', 4000],
    [['-U', 'admin'], 'user', 'admin'],
    [['--user=admin'], 'user', 'admin'],
    [['-Pabc'], 'password', { kind: 'value', value: 'abc' }],
    [['-P', 'abc'], 'password', { kind: 'value', value: 'abc' }],
    [['--password=abc'], 'password', { kind: 'value', value: 'abc' }],
    [['--password', 'abc'], 'password', { kind: 'value', value: 'abc' }],
    [['-P'], 'password', { kind: 'prompt' }],
    [['-A', 'external'], 'authMode', 'EXTERNAL'],
    [['--auth', 'PKI'], 'authMode', 'PKI'],
    [['-S'], 'servicesAlternate', true],
    [['--services-alternate'], 'servicesAlternate', true],
    [['--tls-enable'], 'tls.enable', true],
    [['--tlsEnable'], 'tls.enable', true],
    [['--tls-name', 'n'], 'tls.name', 'n'],
    [['--tlsName', 'n'], 'tls.name', 'n'],
    [['--tls-cafile', 'ca.pem'], 'tls.caFile', 'ca.pem'],
    [['--tlsCaFile', 'ca.pem'], 'tls.caFile', 'ca.pem'],
    [['--tls-capath', '/c'], 'tls.caPath', '/c'],
    [['--tlsCaPath', '/c'], 'tls.caPath', '/c'],
    [['--tls-protocols', 'TLSv1.2'], 'tls.protocols', 'TLSv1.2'],
    [['--tlsProtocols', 'TLSv1.2'], 'tls.protocols', 'TLSv1.2'],
    [['--tls-cipher-suite', 'ALL'], 'tls.cipherSuite', 'ALL'],
    [['--tlsCipherSuite', 'ALL'], 'tls.cipherSuite', 'ALL'],
    [['--tls-crl-check'], 'tls.crlCheck', true],
    [['--tlsCrlCheck'], 'tls.crlCheck', true],
    [['--tls-crl-check-all'], 'tls.crlCheckAll', true],
    [['--tlsCrlCheckAll'], 'tls.crlCheckAll', true],
    [['--tls-cert-blackList', 'bl'], 'tls.certBlacklist', 'bl'],
    [['--tlsCertBlackList', 'bl'], 'tls.certBlacklist', 'bl'],
    [['--tls-log-session-info'], 'tls.logSessionInfo', true],
    [['--tlsLogSessionInfo'], 'tls.logSessionInfo', true],
    [['--tls-keyfile', 'k.pem'], 'tls.keyFile', 'k.pem'],
    [['--tlsKeyFile', 'k.pem'], 'tls.keyFile', 'k.pem'],
    [['--tls-keyfile-password=pw'], 'tls.keyFilePassword', { kind: 'value', value: 'pw' }],
    [['--tls-keyfile-password', 'env:X'], 'tls.keyFilePassword', { kind: 'value', value: 'env:X' }],
    [['--tls-keyfile-password'], 'tls.keyFilePassword', { kind: 'prompt' }],
    [['--tls-certfile', 'c.pem'], 'tls.certFile', 'c.pem'],
    [['--tlsCertFile', 'c.pem'], 'tls.certFile', 'c.pem'],
    [['-n', 'test'], 'namespace', { source: 'test', target: null }],
    [['--namespace', 'test,bar'], 'namespace', { source: 'test', target: 'bar' }],
    [['-z', 'zstd'], 'compress', 'zstd'],
    [['--compress', 'zstd'], 'compress', 'zstd'],
    [['-y', 'aes128', '--encryption-key-file', 'k.pem'], 'encryptionKey', { kind: 'file', path: 'k.pem' }],
    [['--encrypt', 'aes256', '--encryption-key-env', 'KEY'], 'encryptionKey', { kind: 'env', variable: 'KEY' }],
    [['--encrypt', 'aes256', '--encryption-key-env', 'KEY'], 'encrypt', 'aes256'],
    [['-t', '7'], 'parallel', 7],
    [['--parallel', '7'], 'parallel', 7],
    [['--threads', '7'], 'parallel', 7],
    [['-m', 'm.txt'], 'machine', 'm.txt'],
    [['--machine', 'm.txt'], 'machine', 'm.txt'],
    [['-B', 'a,b'], 'binList', ['a', 'b']],
    [['--bin-list', 'a, b '], 'binList', ['a', 'b']],
    [['--bin-list', 'a, b '], 'binListText', 'a, b '],
    [['-s', 'users,events'], 'setList', ['users', 'events']],
    [['--set-list', 'users'], 'setListText', 'users'],
    [['-u'], 'unique', true],
    [['--unique'], 'unique', true],
    [['--ignore-record-error'], 'ignoreRecordError', true],
    [['-r'], 'replace', true],
    [['--replace'], 'replace', true],
    [['-g'], 'noGeneration', true],
    [['--no-generation'], 'noGeneration', true],
    [['--extra-ttl', '3600'], 'extraTtl', 3600],
    [['-N', '10,500'], 'bandwidth', 10 * 1024 * 1024],
    [['--nice', '10, 500'], 'tps', 500],
    [['--validate'], 'validate', true],
    [['-R'], 'noRecords', true],
    [['--no-records'], 'noRecords', true],
    [['-I'], 'noIndexes', true],
    [['--no-indexes'], 'noIndexes', true],
    [['-L'], 'indexesLast', true],
    [['--indexes-last'], 'indexesLast', true],
    [['-F'], 'noUdfs', true],
    [['--no-udfs'], 'noUdfs', true],
    [['-w'], 'wait', true],
    [['--wait'], 'wait', true],
    [['-T', '500'], 'timeout', 500],
    [['--timeout', '500'], 'timeout', 500],
    [['--socket-timeout', '0'], 'socketTimeout', 0],
    [['--total-timeout', '9000'], 'totalTimeout', 9000],
    [['--max-retries', '0'], 'maxRetries', 0],
    [['--retry-scale-factor', '1000'], 'retryScaleFactor', 1000],
    [['--disable-batch-writes'], 'disableBatchWrites', true],
    [['--max-async-batches', '8'], 'maxAsyncBatches', 8],
    [['--batch-size', '64'], 'batchSize', 64],
    [['--event-loops', '5'], 'eventLoops', 5],
    [['-v'], 'verbose', true],
    [['--verbose'], 'verbose', true],
    [['--s3-region', 'eu-west-1'], 's3Region', 'eu-west-1'],
    [['--s3-profile', 'p'], 's3Profile', 'p'],
    [['--s3-endpoint-override', 'http://127.0.0.1:9000'], 's3EndpointOverride', 'http://127.0.0.1:9000'],
    [['--s3-max-async-downloads', '4'], 's3MaxAsyncDownloads', 4],
    [['--s3-log-level', 'debug'], 's3LogLevel', 'Debug'],
    [['--s3-connect-timeout', '0'], 's3ConnectTimeout', 0],
    [['--s3-allow-system-proxy'], 's3AllowSystemProxy', true],
    [['--sa-address', '10.0.0.1'], 'secretAgent.address', '10.0.0.1'],
    [['--sa-address', '10.0.0.1:4000'], 'secretAgent.port', '4000'],
    [['--sa-address', '[::1]:4000'], 'secretAgent.address', '::1'],
    [['--sa-address', '10.0.0.1:4000', '--sa-port', '5000'], 'secretAgent.port', '5000'],
    [['--sa-port', '4001'], 'secretAgent.port', '4001'],
    [['--sa-timeout', '250'], 'secretAgent.timeoutMs', 250],
  ];
  for (const [argv, path, expected] of forms) {
    it(`${argv.join(' ')} -> ${path}`, async () => {
      const { options } = await parse([...D, ...argv]);
      expect(get(options, path)).to.deep.equal(expected);
    });
  }

  it('covers every option of the table above (no option left untested)', () => {
    const words = forms.flatMap(([argv]) => argv).filter((a) => a.startsWith('-'));
    const longs = new Set(words.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]));
    const shorts = new Set(words.filter((a) => !a.startsWith('--')).map((a) => a[1]));
    const testedElsewhere = ['help', 'version', 'instance', 'config-file', 'no-config-file', 'only-config-file', 'tls-encrypt-only', 'retry-delay', 'sa-cafile', 'directory', 'directory-list', 'parent-directory', 'input-file', 'encryption-key-file'];
    const untested: string[] = [];
    for (const d of OPTION_DEFS) {
      if (testedElsewhere.includes(d.id)) continue;
      for (const name of d.long) if (!longs.has(name)) untested.push(`--${name}`);
      if (d.short !== undefined && !shorts.has(d.short)) untested.push(`-${d.short}`);
    }
    expect(untested).to.deep.equal([]);
  });

  it('reads the input forms', async () => {
    expect((await parse(['-i', 'backup.asb'])).options.input).to.deep.equal({ kind: 'file', path: 'backup.asb' });
    expect((await parse(['--input-file', '-'])).options.input).to.deep.equal({ kind: 'stdin', sizeHint: null });
    expect((await parse(['-i', '-:709015'])).options.input).to.deep.equal({ kind: 'stdin', sizeHint: 709015 });
    expect((await parse(['--directory-list', 'a,b'])).options.input).to.deep.equal({ kind: 'directories', directories: ['a', 'b'] });
    expect((await parse(['--directory-list', 'a,b', '--parent-directory', '/root'])).options.input).to.deep.equal({
      kind: 'directories',
      directories: ['/root/a', '/root/b'],
    });
    expect((await parse(['--directory-list', 'a', '--parent-directory', '/root/'])).options.input).to.deep.equal({
      kind: 'directories',
      directories: ['/root/a'],
    });
  });

  it('lets the last occurrence win', async () => {
    const { options } = await parse(['-d', 'a', '-d', 'b', '-t', '3', '--parallel=4']);
    expect(options.directory).to.equal('b');
    expect(options.parallel).to.equal(4);
  });

  it('warns for deprecated options and ignores the no-op ones', async () => {
    const { warnings } = await parse([...D, '--threads', '3', '--retry-delay', '10', '--sleep-between-retries', '5', '--tls-cert-blackList', 'x']);
    expect(warnings).to.deep.equal([
      "WARNING: '--threads' option is deprecated, use `--parallel` instead",
      'Warning: `--sleep-between-retries` and `--retry-delay` are deprecated and has no effect, use `--retry-scale-factor` to configure the amount to back off when retrying transactions.',
      'Warning: `--sleep-between-retries` and `--retry-delay` are deprecated and has no effect, use `--retry-scale-factor` to configure the amount to back off when retrying transactions.',
      'Warning: --tls-cert-blackList is deprecated and will be removed in the next release. Use a crl instead',
    ]);
  });

  it('answers --help, --usage, --options, -Z, -V, --version before anything else', async () => {
    for (const argv of [['--help'], ['--usage'], ['--options'], ['-Z'], ['--bogus', '-Z'], ['-vZ'], ['--hel']]) {
      expect((await parseCommandLine(argv, { configLocations: noConfig })).kind, argv.join(' ')).to.equal('help');
    }
    // -Z as the value of -d is a directory name, not a request for help
    const asValue = await parseCommandLine(['-d', '-Z'], { configLocations: noConfig });
    expect(asValue.kind === 'run' && asValue.options.directory).to.equal('-Z');
    expect((await parseCommandLine(['-V'], { configLocations: noConfig })).kind).to.equal('version');
    expect((await parseCommandLine(['--version', '--help'], { configLocations: noConfig })).kind).to.equal('version');
    expect(usageText()).to.match(/^Usage: asrestore \[OPTIONS\]\n/);
    for (const d of OPTION_DEFS) for (const name of d.long) if (!name.startsWith('tls') || name.includes('-')) expect(usageText(), name).to.include(`--${name}`);
    expect(versionText()).to.match(/^Aerospike Restore\nVersion \d+\.\d+\.\d+\n/);
  });

  describe('errors', () => {
    const cases: [string[], string, string][] = [
      [['--bogus'], 'USAGE', "unrecognized option '--bogus'"],
      [['-x', ...D], 'USAGE', "invalid option -- 'x'"],
      [['-O', ...D], 'USAGE', "invalid option -- 'O'"],
      [['-d'], 'USAGE', "option requires an argument -- 'd'"],
      [[...D, 'extra'], 'USAGE', "unexpected argument 'extra'"],
      [[...D, '--tlsEncryptOnly'], 'OPTIONS', '--tlsEncryptOnly is not supported (C asrestore declares it but rejects it too)'],
      [[], 'OPTIONS', 'Invalid options: please specify a directory (-d option), directory list (--directory-list option), or an input file (-i option).'],
      [[...D, '--parent-directory', 'p'], 'OPTIONS', 'Invalid options: --parent-directory should always be used with, and only applies to --directory-list.'],
      [[...D, '-i', 'f'], 'OPTIONS', 'Invalid options: --directory and --input-file are mutually exclusive.'],
      [[...D, '-u', '-r'], 'OPTIONS', 'Invalid options: --unique is mutually exclusive with --replace and --no-generation.'],
      [[...D, '-u', '-g'], 'OPTIONS', 'Invalid options: --unique is mutually exclusive with --replace and --no-generation.'],
      [[...D, '--directory-list', 'a'], 'OPTIONS', 'Invalid options: --directory and --directory-list are mutually exclusive.'],
      [['-i', 'f', '--directory-list', 'a'], 'OPTIONS', 'Invalid options: --input-file and --directory-list are mutually exclusive.'],
      [['--directory-list', 'a,,b'], 'OPTIONS', 'Invalid options: --directory-list a,,b has an empty entry.'],
      [[...D, '--encrypt', 'aes128'], 'OPTIONS', 'Must specify both encryption mode and a private key file/environment variable'],
      [[...D, '--encryption-key-file', 'k.pem'], 'OPTIONS', 'Must specify both encryption mode and a private key file/environment variable'],
      [[...D, '-y', 'aes128', '--encryption-key-file', 'k', '--encryption-key-env', 'E'], 'OPTIONS', 'Cannot specify both encryption-key-file and encryption-key-env'],
      [[...D, '--compress', 'gzip'], 'OPTIONS', 'Invalid compression type "gzip"'],
      [[...D, '--compress', 'ZSTD'], 'OPTIONS', 'Invalid compression type "ZSTD"'],
      [[...D, '--encrypt', 'aes512'], 'OPTIONS', 'Invalid encryption type "aes512"'],
      [[...D, '-A', 'kerberos'], 'OPTIONS', 'Invalid authentication mode kerberos. Allowed values are INTERNAL / EXTERNAL / EXTERNAL_INSECURE / PKI'],
      [[...D, '--s3-log-level', 'loud'], 'OPTIONS', 'Invalid S3 log level "loud"'],
      [[...D, '-p', '0'], 'OPTIONS', 'Invalid port value 0'],
      [[...D, '-p', '65536'], 'OPTIONS', 'Invalid port value 65536'],
      [[...D, '-p', '3000x'], 'OPTIONS', 'Invalid port value 3000x'],
      [[...D, '-p', '0x10'], 'OPTIONS', 'Invalid port value 0x10'],
      [[...D, '-p', ''], 'OPTIONS', 'Invalid port value '],
      [[...D, '-t', '0'], 'OPTIONS', 'Invalid threads value 0'],
      [[...D, '-t', '4097'], 'OPTIONS', 'Invalid threads value 4097'],
      [[...D, '--threads', '0'], 'OPTIONS', 'Invalid threads value 0'],
      [[...D, '--extra-ttl', '-1'], 'OPTIONS', 'Invalid extra-ttl value -1'],
      [[...D, '--extra-ttl', '2147483648'], 'OPTIONS', 'Invalid extra-ttl value 2147483648'],
      [[...D, '--extra-ttl', '1e3'], 'OPTIONS', 'Invalid extra-ttl value 1e3'],
      [[...D, '-T', '-1'], 'OPTIONS', 'Invalid timeout value -1'],
      [[...D, '-T', '4294967296'], 'OPTIONS', 'Invalid timeout value 4294967296'],
      [[...D, '--socket-timeout', 'x'], 'OPTIONS', 'Invalid socket timeout value x'],
      [[...D, '--total-timeout', '-5'], 'OPTIONS', 'Invalid total timeout value -5'],
      [[...D, '--max-retries', '-1'], 'OPTIONS', 'Invalid max retries value -1'],
      [[...D, '--retry-scale-factor', '-1'], 'OPTIONS', 'Invalid retry delay value -1'],
      [[...D, '--max-async-batches', '0'], 'OPTIONS', 'Invalid max-async-batches value 0'],
      [[...D, '--batch-size', '0'], 'OPTIONS', 'Invalid batch-size value 0'],
      [[...D, '--event-loops', '0'], 'OPTIONS', 'Invalid event-loops value 0'],
      [[...D, '--s3-max-async-downloads', '0'], 'OPTIONS', 'Invalid S3 max async downloads value 0'],
      [[...D, '--s3-connect-timeout', '-1'], 'OPTIONS', 'Invalid S3 connect timeout value -1'],
      [[...D, '--sa-timeout', '-1'], 'OPTIONS', 'Invalid secret agent timeout value -1'],
      [[...D, '--sa-cafile', '/nonexistent/ca.pem'], 'OPTIONS', 'Invalid secret agent cafile /nonexistent/ca.pem'],
      [[...D, '-n', ''], 'OPTIONS', 'Empty namespace list\nError while parsing namespace list'],
      [[...D, '-n', 'a,,b'], 'OPTIONS', 'Item with invalid length in namespace list a,,b\nError while parsing namespace list'],
      [[...D, '-n', 'a'.repeat(32)], 'OPTIONS', `Item with invalid length in namespace list ${'a'.repeat(32)}\nError while parsing namespace list`],
      [[...D, '-n', 'a,b,c'], 'OPTIONS', 'Invalid namespace option'],
      [[...D, '-B', 'sixteen_chars_xx'], 'OPTIONS', 'Item with invalid length in bin list sixteen_chars_xx\nError while parsing bin list'],
      [[...D, '-B', 'a,'], 'OPTIONS', 'Item with invalid length in bin list a,\nError while parsing bin list'],
      [[...D, '-s', 's'.repeat(64)], 'OPTIONS', `Item with invalid length in set list ${'s'.repeat(64)}\nError while parsing set list`],
      [[...D, '-s', ''], 'OPTIONS', 'Empty set list\nError while parsing set list'],
      [[...D, '-N', '10'], 'OPTIONS', 'Invalid nice option'],
      [[...D, '-N', '10,20,30'], 'OPTIONS', 'Invalid nice option'],
      [[...D, '-N', '0,20'], 'OPTIONS', 'Invalid bandwidth value 0'],
      [[...D, '-N', '10,0'], 'OPTIONS', 'Invalid TPS value 0'],
      [[...D, '-N', '10,x'], 'OPTIONS', 'Invalid TPS value x'],
      [[...D, '-N', '10,12345678901'], 'OPTIONS', 'Item with invalid length in nice list 10,12345678901\nError while parsing nice list'],
      [['-i', '-:abc'], 'OPTIONS', 'Invalid stdin input size abc'],
      [['-i', '-:-1'], 'OPTIONS', 'Invalid stdin input size -1'],
      [['-i', `-:${1024 ** 5 + 1}`], 'OPTIONS', `Invalid stdin input size ${1024 ** 5 + 1}`],
    ];
    for (const [argv, code, message] of cases) {
      it(`${argv.join(' ') || '(nothing)'} -> ${message.split('\n')[0]}`, async () => {
        const error = await parseError(argv);
        expect(error.code).to.equal(code);
        expect(error.message).to.equal(message);
      });
    }

    it('accepts the edges of the ranges', async () => {
      const { options } = await parse([...D, '-p', '65535', '-t', '4096', '--extra-ttl', '2147483647', '-T', '4294967295', '-N', '1,1', '-n', 'a'.repeat(31), '-B', 'b'.repeat(15), '-s', 's'.repeat(63)]);
      expect(options).to.deep.include({ port: 65535, parallel: 4096, extraTtl: 2147483647, timeout: 4294967295, bandwidth: 1048576, tps: 1 });
      expect((await parse(['-i', `-:${1024 ** 5}`])).options.input).to.deep.equal({ kind: 'stdin', sizeHint: 1024 ** 5 });
    });
  });

  it('parses integers like strtol (better_atoi)', () => {
    expect(parseCInteger('42')).to.equal(42n);
    expect(parseCInteger('  +42')).to.equal(42n);
    expect(parseCInteger('-7')).to.equal(-7n);
    expect(parseCInteger('42 ')).to.equal(null);
    expect(parseCInteger('')).to.equal(null);
    expect(parseCInteger('1e3')).to.equal(null);
    expect(parseCInteger('99999999999999999999')).to.equal(9223372036854775807n);
  });
});

describe('cli: CPUs available (--event-loops default)', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'asrestore-cpus-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function write(path: string, text: string): void {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }

  it('uses availableParallelism without a cgroup limit', () => {
    expect(availableCpuCount(root, 8)).to.equal(8);
    write('proc/self/cgroup', '0::/user.slice\n');
    write('sys/fs/cgroup/user.slice/cpu.max', 'max 100000\n');
    expect(availableCpuCount(root, 8)).to.equal(8);
  });

  it('applies a cgroup v2 quota of the process cgroup or an ancestor, rounded down, at least 1', () => {
    write('proc/self/cgroup', '0::/kubepods/pod1/ctr\n');
    write('sys/fs/cgroup/kubepods/pod1/ctr/cpu.max', 'max 100000\n');
    write('sys/fs/cgroup/kubepods/pod1/cpu.max', '250000 100000\n');
    expect(availableCpuCount(root, 8)).to.equal(2);
    write('sys/fs/cgroup/kubepods/pod1/ctr/cpu.max', '50000 100000\n');
    expect(availableCpuCount(root, 8)).to.equal(1);
    expect(availableCpuCount(root, 1)).to.equal(1);
  });

  it('reads the namespaced mount root when the path is not visible', () => {
    write('proc/self/cgroup', '0::/not/visible/here\n');
    write('sys/fs/cgroup/cpu.max', '300000 100000\n');
    expect(availableCpuCount(root, 8)).to.equal(3);
  });

  it('applies a cgroup v1 CFS quota', () => {
    write('proc/self/cgroup', '4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n');
    write('sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us', '400000\n');
    write('sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us', '100000\n');
    expect(availableCpuCount(root, 16)).to.equal(4);
    write('sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us', '-1\n');
    expect(availableCpuCount(root, 16)).to.equal(16);
  });

  it('on this machine: between 1 and os.availableParallelism()', async () => {
    const { availableParallelism } = await import('node:os');
    const n = availableCpuCount();
    expect(n).to.be.within(1, availableParallelism());
  });
});

describe('cli: passwords', () => {
  const base = async (argv: string[]): Promise<RestoreOptions> => (await parse([...D, ...argv])).options;

  it('needs none without a user, asks when the user gave none, uses a given one', async () => {
    const asked: string[] = [];
    const ask = async (prompt: string): Promise<string> => {
      asked.push(prompt);
      return 'typed';
    };
    expect(await resolvePassword(await base([]), ask)).to.equal(null);
    expect(await resolvePassword(await base(['-U', 'u']), ask)).to.equal('typed');
    expect(await resolvePassword(await base(['-U', 'u', '-P']), ask)).to.equal('typed');
    expect(await resolvePassword(await base(['-U', 'u', '-Pgiven']), ask)).to.equal('given');
    expect(asked).to.deep.equal(['Enter Password: ', 'Enter Password: ']);
  });

  it('asking without a terminal is a clear error', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const module = fileURLToPath(new URL('../../src/main/options.js', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then((m) => m.readPasswordFromTerminal('Enter Password: ')).then(() => console.log('ASKED'), (e) => console.log(e.message))`;
    // detached: a new session, without a controlling terminal
    const child = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.on('close', r));
    expect(out.trim()).to.equal(
      'Enter Password: no terminal to ask on; give the password on the command line (-P<password>, --password=<password>), in a config file, or as secrets:<resource>:<key>',
    );
  });

  it('reads TLS key file passwords from env:, file: or the value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asrestore-pw-'));
    try {
      writeFileSync(join(dir, 'pw'), 'from-file\nsecond line\n');
      writeFileSync(join(dir, 'empty'), '\n');
      const ask = async (): Promise<string> => 'typed';
      const env = { TLS_PW: 'from-env', EMPTY: '' };
      const withKey = ['--tls-keyfile', 'k.pem'];
      expect(await resolveTlsKeyfilePassword(await base(withKey), ask, env)).to.equal(null);
      expect(await resolveTlsKeyfilePassword(await base(['--tls-keyfile-password=x']), ask, env)).to.equal(null);
      expect(await resolveTlsKeyfilePassword(await base([...withKey, '--tls-keyfile-password=lit']), ask, env)).to.equal('lit');
      expect(await resolveTlsKeyfilePassword(await base([...withKey, '--tls-keyfile-password=env:TLS_PW']), ask, env)).to.equal('from-env');
      expect(await resolveTlsKeyfilePassword(await base([...withKey, `--tls-keyfile-password=file:${join(dir, 'pw')}`]), ask, env)).to.equal('from-file');
      expect(await resolveTlsKeyfilePassword(await base([...withKey, '--tls-keyfile-password']), ask, env)).to.equal('typed');
      for (const [value, message] of [
        ['env:NOPE', 'missing TLS key password environment variable NOPE'],
        ['env:EMPTY', 'empty TLS key password environment variable EMPTY'],
        [`file:${join(dir, 'none')}`, `missing TLS key password file ${join(dir, 'none')}`],
        [`file:${join(dir, 'empty')}`, `empty TLS key password file ${join(dir, 'empty')}`],
      ]) {
        const options = await base([...withKey, `--tls-keyfile-password=${value}`]);
        let caught: unknown;
        try {
          await resolveTlsKeyfilePassword(options, ask, env);
        } catch (error) {
          caught = error;
        }
        expect((caught as Error).message).to.equal(message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A fake Aerospike Secret Agent: answers each request from `secrets` (resource:key -> value). */
function startSecretAgent(secrets: Record<string, string>): Promise<{ server: Server; port: number; requests: unknown[] }> {
  const requests: unknown[] = [];
  const server = createServer((socket: Socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8) return;
      const length = buffered.readUInt32BE(4);
      if (buffered.length < 8 + length) return;
      expect(buffered.readUInt32BE(0)).to.equal(0x51dec1cc);
      const request = JSON.parse(buffered.subarray(8, 8 + length).toString()) as { Resource?: string; SecretKey: string };
      requests.push(request);
      const name = `${request.Resource ?? ''}:${request.SecretKey}`;
      const body = Buffer.from(
        JSON.stringify(name in secrets ? { SecretValue: Buffer.from(secrets[name]).toString('base64') + '\n' } : { Error: `no secret ${name}` }),
      );
      const header = Buffer.alloc(8);
      header.writeUInt32BE(0x51dec1cc, 0);
      header.writeUInt32BE(body.length, 4);
      socket.end(Buffer.concat([header, body]));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0, requests });
    });
  });
}

describe('cli: secret agent values', () => {
  let agent: { server: Server; port: number; requests: unknown[] };
  before(async () => {
    agent = await startSecretAgent({ 'res:ns': 'test', ':dir': 'backup-from-secret', 'res:port': '4333', 'res:pw': 'sekret' });
  });
  after(() => new Promise<void>((resolve) => agent.server.close(() => resolve())));

  it('fetches secrets:<resource>:<key> and secrets:<key> values of any option', async () => {
    const { options } = await parse([
      '--sa-address', `127.0.0.1:${agent.port}`,
      '-d', 'secrets:dir',
      '-n', 'secrets:res:ns',
      '-p', 'secrets:res:port',
      '-P', 'secrets:res:pw',
    ]);
    expect(options.directory).to.equal('backup-from-secret');
    expect(options.namespace).to.deep.equal({ source: 'test', target: null });
    expect(options.port).to.equal(4333);
    expect(options.password).to.deep.equal({ kind: 'value', value: 'sekret' });
    expect(agent.requests).to.deep.include({ Resource: 'res', SecretKey: 'ns' });
    expect(agent.requests).to.deep.include({ SecretKey: 'dir' });
  });

  it('reports the agent error, and an unreachable agent, clearly', async () => {
    const missing = await parseError(['--sa-address', '127.0.0.1', '--sa-port', String(agent.port), '-d', 'secrets:res:nope']);
    expect(missing.code).to.equal('SECRET_AGENT');
    expect(missing.message).to.equal('Unable to fetch secret secrets:res:nope: the secret agent answered: no secret res:nope');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = await parseError(['--sa-address', `127.0.0.1:${port}`, '--sa-timeout', '500', '-d', 'secrets:x']);
    expect(down.message).to.match(new RegExp(`^Unable to fetch secret secrets:x: cannot reach the secret agent at 127\\.0\\.0\\.1:${port}`));
  });
});
