import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsrestoreError } from '../../src/shared/errors.js';
import { defaultConfigLocations, readConfigEntries } from '../../src/main/config-file.js';
import { parseCommandLine, type RestoreOptions } from '../../src/main/options.js';

describe('cli: config files (astools.conf)', () => {
  let dir: string;
  let system: string;
  let user: string;
  let warnings: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'asrestore-conf-'));
    system = join(dir, 'etc-astools.conf');
    user = join(dir, 'home-astools.conf');
    warnings = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, text: string): string {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  }

  async function parse(argv: string[]): Promise<RestoreOptions> {
    const r = await parseCommandLine(argv, {
      configLocations: { systemFile: system, userFile: user },
      cpuCount: () => 2,
      warn: (m) => warnings.push(m),
    });
    if (r.kind !== 'run') throw new Error(r.kind);
    return r.options;
  }

  async function parseError(argv: string[]): Promise<AsrestoreError> {
    try {
      await parse(argv);
    } catch (error) {
      return error as AsrestoreError;
    }
    throw new Error('expected an error');
  }

  it('finds the default files in /etc/aerospike and $HOME/.aerospike', () => {
    expect(defaultConfigLocations({ HOME: '/home/u' })).to.deep.equal({
      systemFile: '/etc/aerospike/astools.conf',
      userFile: '/home/u/.aerospike/astools.conf',
    });
    expect(defaultConfigLocations({}).userFile).to.equal(null);
  });

  it('reads /etc, then $HOME, then --config-file; the command line overrides all', async () => {
    writeFileSync(system, '[cluster]\nhost = "etc-host"\nport = 3100\nuser = "etc-user"\n[asrestore]\ndirectory = "etc-dir"\nparallel = 3\n');
    writeFileSync(user, '[cluster]\nport = 3200\n[asrestore]\nparallel = 4\nset-list = "home-set"\n');
    const extra = file('extra.conf', '[asrestore]\nparallel = 5\nbin-list = "a,b"\n');
    let o = await parse([]);
    expect(o).to.deep.include({ host: 'etc-host', port: 3200, user: 'etc-user', directory: 'etc-dir', parallel: 4, setList: ['home-set'] });
    o = await parse(['--config-file', extra]);
    expect(o).to.deep.include({ parallel: 5, binList: ['a', 'b'], port: 3200 });
    o = await parse(['--config-file', extra, '-t', '6', '-p', '3300', '-d', 'cli-dir']);
    expect(o).to.deep.include({ parallel: 6, port: 3300, directory: 'cli-dir' });
  });

  it('--only-config-file reads just that file; --no-config-file none; both together is an error', async () => {
    writeFileSync(system, '[asrestore]\ndirectory = "etc-dir"\nparallel = 3\n');
    const only = file('only.conf', '[asrestore]\ninput-file = "only.asb"\n');
    expect((await parse(['--only-config-file', only])).input).to.deep.equal({ kind: 'file', path: 'only.asb' });
    expect((await parse(['--only-config-file', only])).parallel).to.equal(20);
    expect((await parse(['--no-config-file', '-d', 'x'])).parallel).to.equal(20);
    expect((await parse(['--no-config-file', '--config-file', only, '-d', 'x'])).inputFile).to.equal(null);
    const e = await parseError(['--no-config-file', '--only-config-file', only]);
    expect(e.message).to.equal('--no-config-file and --only-config-file are mutually exclusive option. Please enable only one.');
  });

  it('a missing default file is fine, a missing --config-file is an error', async () => {
    expect((await parse(['-d', 'x'])).directory).to.equal('x');
    const e = await parseError(['-d', 'x', '--config-file', join(dir, 'nope.conf')]);
    expect(e.code).to.equal('CONFIG_FILE');
    expect(e.message).to.match(/^Cannot read config file .*nope\.conf/);
  });

  it('--instance: [cluster_X] only, [asrestore_X] else [asrestore], [secret-agent_X] else [secret-agent]', async () => {
    writeFileSync(
      system,
      [
        '[cluster]', 'host = "default-host"',
        '[cluster_prod]', 'port = 4000',
        '[asrestore]', 'directory = "default-dir"', 'parallel = 2',
        '[asrestore_prod]', 'directory = "prod-dir"',
        '[secret-agent]', 'sa-port = "3999"',
        '[secret-agent_other]', 'sa-port = "1"',
        '[asbackup]', 'output-file = "ignored: another tool"',
        '',
      ].join('\n'),
    );
    let o = await parse(['--instance', 'prod']);
    // no fallback to [cluster]: host stays the default
    expect(o).to.deep.include({ host: '127.0.0.1', port: 4000, directory: 'prod-dir', parallel: 20 });
    expect(o.secretAgent.port).to.equal('3999');
    o = await parse(['--instance', 'other']);
    expect(o).to.deep.include({ host: '127.0.0.1', port: 3000, directory: 'default-dir', parallel: 2 });
    expect(o.secretAgent.port).to.equal('1');
    o = await parse([]);
    expect(o).to.deep.include({ host: 'default-host', directory: 'default-dir' });
  });

  it('keys are case-insensitive; every key type maps to its option', async () => {
    writeFileSync(
      system,
      [
        '[cluster]',
        'HOST = "h"', 'Port = 3333', 'use-services-alternate = true', 'user = "u"', 'password = "pw"', 'auth = "external"',
        'tls-enable = true', 'tls-name = "tn"', 'tls-protocols = "TLSv1.2"', 'tls-cipher-suite = "ALL"', 'tls-crl-check = true',
        'tls-crl-check-all = true', 'tls-keyfile = "k.pem"', 'tls-keyfile-password = "env:X"', 'tls-cafile = "ca.pem"',
        'tls-capath = "/ca"', 'tls-certfile = "c.pem"', 'tls-cert-blacklist = "bl"',
        '[asrestore]',
        'namespace = "test,bar"', 'directory-list = "a,b"', 'parent-directory = "/p"', 'compress = "zstd"', 'encrypt = "aes128"',
        'encryption-key-env = "KEY"', 'threads = 9', 'machine = "m.txt"', 'verbose = true', 'bin-list = "x"', 'set-list = "s"',
        'ignore-record-error = true', 'no-generation = true', 'replace = true', 'extra-ttl = 60', 'bandwidth = 5', 'tps = 100',
        'validate = true', 'no-records = true', 'no-indexes = true', 'indexes-last = true', 'no-udfs = true', 'wait = true',
        'timeout = 100', 'socket-timeout = 200', 'total-timeout = 300', 'max-retries = 7', 'retry-scale-factor = 11',
        'batch-size = 12', 'event-loops = 4', 'max-async-batches = 13', 'disable-batch-writes = true', 's3-region = "r"',
        's3-profile = "pr"', 's3-endpoint-override = "http://e"', 's3-connect-timeout = 14', 's3-max-async-downloads = 15',
        's3-log-level = "Info"', 's3-allow-system-proxy = true',
        '[secret-agent]', 'sa-address = "10.1.1.1:4005"', 'sa-timeout = 77',
        '',
      ].join('\n'),
    );
    const o = await parse([]);
    expect(o).to.deep.include({
      host: 'h', port: 3333, servicesAlternate: true, user: 'u', password: { kind: 'value', value: 'pw' }, authMode: 'EXTERNAL',
      namespace: { source: 'test', target: 'bar' }, input: { kind: 'directories', directories: ['/p/a', '/p/b'] },
      compress: 'zstd', encrypt: 'aes128', encryptionKey: { kind: 'env', variable: 'KEY' }, parallel: 9, machine: 'm.txt',
      verbose: true, binList: ['x'], setList: ['s'], ignoreRecordError: true, noGeneration: true, replace: true, extraTtl: 60,
      bandwidth: 5 * 1024 * 1024, tps: 100, validate: true, noRecords: true, noIndexes: true, indexesLast: true, noUdfs: true,
      wait: true, timeout: 100, socketTimeout: 200, totalTimeout: 300, maxRetries: 7, retryScaleFactor: 11, batchSize: 12,
      eventLoops: 4, maxAsyncBatches: 13, disableBatchWrites: true, s3Region: 'r', s3Profile: 'pr', s3EndpointOverride: 'http://e',
      s3ConnectTimeout: 14, s3MaxAsyncDownloads: 15, s3LogLevel: 'Info', s3AllowSystemProxy: true,
    });
    expect(o.tls).to.deep.include({
      enable: true, name: 'tn', protocols: 'TLSv1.2', cipherSuite: 'ALL', crlCheck: true, crlCheckAll: true, keyFile: 'k.pem',
      keyFilePassword: { kind: 'value', value: 'env:X' }, caFile: 'ca.pem', caPath: '/ca', certFile: 'c.pem', certBlacklist: 'bl',
    });
    expect(o.secretAgent).to.deep.include({ address: '10.1.1.1', port: '4005', timeoutMs: 77 });
    // the blacklist key warns as in C; `threads` in a file does not
    expect(warnings).to.deep.equal(['Warning: --tls-cert-blackList is deprecated and will be removed in the next release. Use a crl instead']);
  });

  it('--nice overrides bandwidth/tps from a file', async () => {
    writeFileSync(system, '[asrestore]\nbandwidth = 5\ntps = 100\nnice = "7,70"\n');
    expect(await parse(['-d', 'x'])).to.deep.include({ bandwidth: 7 * 1024 * 1024, tps: 70 });
    expect(await parse(['-d', 'x', '-N', '8,80'])).to.deep.include({ bandwidth: 8 * 1024 * 1024, tps: 80 });
  });

  it('the deprecated retry keys warn and are ignored whatever their value', async () => {
    writeFileSync(system, '[asrestore]\nretry-delay = 5\nsleep-between-retries = "x"\ndirectory = "d"\n');
    await parse([]);
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.match(/deprecated and has no effect/);
  });

  it('a command-line key replaces a config-file key of the other kind', async () => {
    writeFileSync(system, '[asrestore]\nencrypt = "aes128"\nencryption-key-file = "file.pem"\ndirectory = "d"\n');
    expect((await parse([])).encryptionKey).to.deep.equal({ kind: 'file', path: 'file.pem' });
    expect((await parse(['--encryption-key-env', 'K'])).encryptionKey).to.deep.equal({ kind: 'env', variable: 'K' });
    writeFileSync(system, '[asrestore]\nencryption-key-file = "file.pem"\nencryption-key-env = "K"\n');
    expect((await parseError(['-d', 'x'])).message).to.equal('Cannot specify both encryption-key-file and encryption-key-env');
  });

  const invalid: [string, string][] = [
    ['[asrestore]\nbogus = 1\n', 'Unknown parameter `bogus` in `asrestore` section'],
    ['[cluster]\nnamespace = "x"\n', 'Unknown parameter `namespace` in `cluster` section'],
    ['[cluster]\ntls-log-session-info = true\n', 'Unknown parameter `tls-log-session-info` in `cluster` section'],
    ['[secret-agent]\nhost = "x"\n', 'Unknown parameter `host` in `secret-agent` section'],
    ['[cluster]\nport = "3000"\n', 'Invalid parameter value for `port` in `cluster` section'],
    ['[cluster]\nport = 3000.0\n', 'Invalid parameter value for `port` in `cluster` section'],
    ['[cluster]\nport = 70000\n', 'Invalid parameter value for `port` in `cluster` section'],
    ['[asrestore]\nparallel = 0\n', 'Invalid parameter value for `parallel` in `asrestore` section'],
    ['[asrestore]\nunique = "yes"\n', 'Invalid parameter value for `unique` in `asrestore` section'],
    ['[asrestore]\ndirectory = 5\n', 'Invalid parameter value for `directory` in `asrestore` section'],
    ['[asrestore]\ndirectory = ["a"]\n', 'Invalid parameter value for `directory` in `asrestore` section'],
    ['[asrestore]\ncompress = "lz4"\n', 'Invalid parameter value for `compress` in `asrestore` section'],
    ['[asrestore]\nbandwidth = 0\n', 'Invalid parameter value for `bandwidth` in `asrestore` section'],
  ];
  for (const [text, message] of invalid) {
    it(`rejects ${JSON.stringify(text)}`, async () => {
      writeFileSync(system, text);
      const e = await parseError(['-d', 'x']);
      expect(e.message.startsWith(message), e.message).to.equal(true);
      expect(e.message).to.include(system);
    });
  }

  it('reports TOML syntax errors with line and column', async () => {
    writeFileSync(system, '[asrestore]\nparallel = = 3\n');
    const e = await parseError(['-d', 'x']);
    expect(e.code).to.equal('CONFIG_FILE');
    expect(e.message).to.match(new RegExp(`^Parse error \`.+\` in file \\[0:${system.replace(/[.]/g, '\\.')}\\] \\(line 2, col \\d+\\)$`));
    expect(e.line).to.equal(2);
  });

  it('[include] file and directory, to a depth of 3', async () => {
    const level3 = file('inc/l3.conf', '[asrestore]\nparallel = 33\n');
    const level2 = file('inc/l2.conf', `[include]\nfile = "${level3}"\n[asrestore]\nset-list = "l2"\n`);
    file('incdir/a.conf', '[asrestore]\nbin-list = "from-dir"\n');
    file('incdir/sub/b.conf', '[cluster]\nport = 3456\n');
    file('incdir/broken.conf', '[asrestore]\nbogus = 1\n');
    const level1 = file('inc/l1.conf', `[include]\nFILE = "${level2}"\ndirectory = "${join(dir, 'incdir')}"\n`);
    writeFileSync(system, `[include]\nfile = "${level1}"\n[asrestore]\ndirectory = "d"\n`);
    const o = await parse([]);
    expect(o).to.deep.include({ parallel: 33, setList: ['l2'], binList: ['from-dir'], port: 3456, directory: 'd' });
    expect(warnings.some((w) => w.startsWith(`Skipped config file ${join(dir, 'incdir', 'broken.conf')}`))).to.equal(true);

    file('inc/l4.conf', '[asrestore]\nparallel = 44\n');
    writeFileSync(level3, `[include]\nfile = "${join(dir, 'inc/l4.conf')}"\n`);
    const e = await parseError([]);
    expect(e.message).to.match(/^include max recursion level 3 exceeded/);
    writeFileSync(level3, '[include]\nother = "x"\n');
    expect((await parseError([])).message).to.match(/^Unknown parameter `other` in `include` section/);
  });

  it('collects entries in application order', () => {
    writeFileSync(system, '[asrestore]\nparallel = 1\n[secret-agent]\nsa-port = "1"\n[cluster]\nport = 1\n');
    const entries = readConfigEntries({ instance: null, configFile: null, onlyConfigFile: null, noConfigFile: false, locations: { systemFile: system, userFile: null } });
    expect(entries.map((e) => `${e.section}.${e.name}`)).to.deep.equal(['secret-agent.sa-port', 'cluster.port', 'asrestore.parallel']);
  });
});
