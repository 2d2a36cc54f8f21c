import { expect } from 'chai';
import type { SecondaryIndexDef } from '../../src/shared/asb/types.js';
import { Counter, Counters } from '../../src/shared/counters.js';
import { AsrestoreError } from '../../src/shared/errors.js';
import { ServerVersion } from '../../src/main/metadata/info.js';
import {
  SecondaryIndexRestorer,
  backupIndexSpec,
  sindexCreateCommand,
  sindexDeleteCommand,
  sindexStatCommand,
  type SindexRestoreOptions,
} from '../../src/main/metadata/sindex-restore.js';
import { FakeInfoCluster, FakeTime, RecordingLogger } from './fake-info-cluster.js';

function def(overrides: Partial<SecondaryIndexDef> = {}): SecondaryIndexDef {
  return {
    namespace: 'bar',
    set: 'users',
    name: 'users_age_idx',
    indexType: 'N',
    paths: [{ path: 'age', type: 'N' }],
    context: null,
    expression: null,
    line: 4,
    ...overrides,
  };
}

function setup(options: Partial<SindexRestoreOptions> = {}) {
  const cluster = new FakeInfoCluster();
  const time = new FakeTime();
  const logger = new RecordingLogger();
  const counters = new Counters();
  const restorer = new SecondaryIndexRestorer(cluster, {
    counters,
    logger,
    serverVersion: '8.1.2.0',
    ...options,
    timing: { ...time.timing, ...options.timing },
  });
  return { cluster, time, logger, counters, restorer };
}

async function rejection(promise: Promise<unknown>): Promise<AsrestoreError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(AsrestoreError);
    return error as AsrestoreError;
  }
  expect.fail('expected a rejection');
}

const v812 = ServerVersion.parse('8.1.2.0');

describe('metadata: secondary index restore', () => {
  describe('command texts', () => {
    it('builds the exact sindex-create text asrestore 4.5.8 sent to 8.1.2 (e1)', () => {
      expect(sindexCreateCommand(backupIndexSpec(def()), v812)).to.equal(
        'sindex-create:namespace=bar;set=users;indexname=users_age_idx;indextype=DEFAULT;bin=age;type=NUMERIC',
      );
      expect(
        sindexCreateCommand(
          backupIndexSpec(def({ name: 'users_langs_ctx', indexType: 'L', paths: [{ path: 'prefs', type: 'S' }], context: 'kiKmA2xhbmdz' })),
          v812,
        ),
      ).to.equal(
        'sindex-create:namespace=bar;set=users;indexname=users_langs_ctx;context=kiKmA2xhbmdz;indextype=LIST;bin=prefs;type=STRING',
      );
      expect(
        sindexCreateCommand(backupIndexSpec(def({ set: 'with space', name: 'space_set_idx', paths: [{ path: 'a b', type: 'N' }] })), v812),
      ).to.equal('sindex-create:namespace=bar;set=with space;indexname=space_set_idx;indextype=DEFAULT;bin=a b;type=NUMERIC');
    });

    it('maps every index type and path type', () => {
      const cases: [SecondaryIndexDef['indexType'], string][] = [
        ['N', 'DEFAULT'],
        ['L', 'LIST'],
        ['K', 'MAPKEYS'],
        ['V', 'MAPVALUES'],
      ];
      for (const [indexType, word] of cases) {
        expect(sindexCreateCommand(backupIndexSpec(def({ indexType })), v812)).to.contain(`;indextype=${word};`);
      }
      const types: [SecondaryIndexDef['paths'][0]['type'], string][] = [
        ['S', 'STRING'],
        ['N', 'NUMERIC'],
        ['G', 'GEO2DSPHERE'],
        ['B', 'BLOB'],
      ];
      for (const [type, word] of types) {
        expect(sindexCreateCommand(backupIndexSpec(def({ paths: [{ path: 'x', type }] })), v812)).to.match(
          new RegExp(`;bin=x;type=${word}$`),
        );
      }
    });

    it('words commands for the server version as the C client does', () => {
      const spec = backupIndexSpec(def());
      const v7 = ServerVersion.parse('7.2.0.1');
      expect(sindexCreateCommand(spec, v7)).to.equal(
        'sindex-create:ns=bar;set=users;indexname=users_age_idx;indextype=DEFAULT;indexdata=age,NUMERIC',
      );
      expect(sindexCreateCommand(spec, ServerVersion.parse('8.1.3.0'))).to.match(/;type=INTEGER$/);
      expect(sindexDeleteCommand('bar', 'i', v812)).to.equal('sindex-delete:namespace=bar;indexname=i');
      expect(sindexDeleteCommand('bar', 'i', v7)).to.equal('sindex-delete:ns=bar;indexname=i');
      expect(sindexStatCommand('bar', 'i', v812)).to.equal('sindex-stat:namespace=bar;indexname=i');
      expect(sindexStatCommand('bar', 'i', v7)).to.equal('sindex/bar/i');
    });

    it('sends no set= for a set-less index, whether the backup says "", null or NULL', () => {
      for (const set of [null, 'null', 'NULL', '']) {
        expect(sindexCreateCommand(backupIndexSpec(def({ set, name: 'noset_n_idx', paths: [{ path: 'n', type: 'N' }] })), v812)).to.equal(
          'sindex-create:namespace=bar;indexname=noset_n_idx;indextype=DEFAULT;bin=n;type=NUMERIC',
        );
      }
    });

    it('sends an expression index with exp=, and matches it against the server\'s listing', async () => {
      const expressionDef = def({ paths: [{ path: '', type: 'N' }], expression: 'kwOVfwIA' });
      const spec = backupIndexSpec(expressionDef);
      expect(sindexCreateCommand(spec, v812)).to.equal('sindex-create:namespace=bar;set=users;indexname=users_age_idx;exp=kwOVfwIA;type=NUMERIC');
      spec.indexType = 'L';
      expect(sindexCreateCommand(spec, v812)).to.equal(
        'sindex-create:namespace=bar;set=users;indexname=users_age_idx;exp=kwOVfwIA;indextype=LIST;type=NUMERIC',
      );
      const { restorer, cluster } = setup();
      cluster.overrides.set(
        'sindex-list:ns=bar;b64=true',
        'ns=bar:indexname=users_age_idx:set=users:bin=null:type=numeric:indextype=default:context=null:exp=kwOVfwIA:state=RW',
      );
      expect(await restorer.submit(expressionDef)).to.equal('matched');
    });
  });

  describe('namespace remap', () => {
    it('checks the source namespace and rewrites it to the target', () => {
      expect(backupIndexSpec(def({ namespace: 'test' }), ['test', 'bar']).namespace).to.equal('bar');
      expect(backupIndexSpec(def({ namespace: 'test' }), ['test']).namespace).to.equal('test');
      expect(backupIndexSpec(def({ namespace: 'other' }), ['test']).namespace).to.equal('other');
    });

    it('rejects an index of another namespace, naming file and line', async () => {
      const { restorer, cluster } = setup({ namespaces: ['test', 'bar'] });
      const error = await rejection(restorer.submit(def({ namespace: 'prod', line: 7 }), 'backup/x.asb'));
      expect(error.code).to.equal('NAMESPACE_MISMATCH');
      expect(error.message).to.equal('Invalid namespace prod in index users_age_idx, expected: test (line 7)');
      expect(error.file).to.equal('backup/x.asb');
      expect(error.line).to.equal(7);
      expect(cluster.commands).to.deep.equal([]);
    });

    it('restores into the target namespace', async () => {
      const { restorer, cluster } = setup({ namespaces: ['test', 'bar'] });
      expect(await restorer.submit(def({ namespace: 'test' }))).to.equal('created');
      expect(cluster.commands).to.deep.equal([
        'sindex-list:ns=bar;b64=true',
        'sindex-create:namespace=bar;set=users;indexname=users_age_idx;indextype=DEFAULT;bin=age;type=NUMERIC',
      ]);
    });
  });

  describe('check, create, match, replace', () => {
    it('creates an absent index', async () => {
      const { restorer, cluster, counters, logger } = setup();
      expect(await restorer.submit(def())).to.equal('created');
      expect(cluster.commands).to.deep.equal([
        'sindex-list:ns=bar;b64=true',
        'sindex-create:namespace=bar;set=users;indexname=users_age_idx;indextype=DEFAULT;bin=age;type=NUMERIC',
      ]);
      expect(cluster.indexes).to.have.length(1);
      expect(counters.get(Counter.INDEXES)).to.equal(1);
      expect(counters.get(Counter.INDEXES_MATCHED)).to.equal(0);
      expect(logger.lines).to.include('VER Creating index bar:users:users_age_idx (age):[]');
    });

    it('matches an identical index, with every type and a context, and sends only the checks', async () => {
      const first = setup();
      const defs = [
        def(),
        def({ name: 'n', paths: [{ path: 'name', type: 'S' }] }),
        def({ name: 'g', set: 'events', paths: [{ path: 'where', type: 'G' }] }),
        def({ name: 'l', indexType: 'L', paths: [{ path: 'tags', type: 'S' }] }),
        def({ name: 'k', indexType: 'K', paths: [{ path: 'payload', type: 'S' }] }),
        def({ name: 'v', indexType: 'V', paths: [{ path: 'prefs', type: 'N' }] }),
        def({ name: 'c', indexType: 'L', paths: [{ path: 'prefs', type: 'S' }], context: 'kiKmA2xhbmdz' }),
        def({ name: 'b', paths: [{ path: 'avatar', type: 'B' }] }),
        def({ name: 'noset', set: 'null', paths: [{ path: 'n', type: 'N' }] }),
      ];
      for (const d of defs) expect(await first.restorer.submit(d)).to.equal('created');

      const second = setup();
      second.cluster.indexes.push(...first.cluster.indexes);
      for (const d of defs) expect(await second.restorer.submit(d)).to.equal('matched');
      expect(second.cluster.commands).to.deep.equal(defs.map(() => 'sindex-list:ns=bar;b64=true'));
      expect(second.counters.get(Counter.INDEXES_MATCHED)).to.equal(defs.length);
      expect(second.counters.get(Counter.INDEXES)).to.equal(defs.length);
    });

    it('matches a set-less index that the server lists as set=null, and one C created on a set named "null"', async () => {
      const { restorer, cluster } = setup();
      cluster.indexes.push({ namespace: 'bar', name: 'noset', set: undefined, bin: 'n', type: 'numeric', indextype: 'default', context: null });
      cluster.indexes.push({ namespace: 'bar', name: 'cnull', set: 'null', bin: 'n', type: 'numeric', indextype: 'default', context: null });
      expect(await restorer.submit(def({ name: 'noset', set: null, paths: [{ path: 'n', type: 'N' }] }))).to.equal('matched');
      expect(await restorer.submit(def({ name: 'cnull', set: 'null', paths: [{ path: 'n', type: 'N' }] }))).to.equal('matched');
    });

    for (const [what, existing] of [
      ['bin', { bin: 'other' }],
      ['set', { set: 'others' }],
      ['index type', { indextype: 'list' }],
      ['path type', { type: 'string' }],
      ['context', { context: 'kiKmA2xhbmdz' }],
    ] as const) {
      it(`deletes and re-creates an index whose ${what} differs`, async () => {
        const { restorer, cluster, time, counters } = setup();
        cluster.indexes.push({
          namespace: 'bar',
          name: 'users_age_idx',
          set: 'users',
          bin: 'age',
          type: 'numeric',
          indextype: 'default',
          context: null,
          ...existing,
        });
        expect(await restorer.submit(def())).to.equal('created');
        expect(cluster.commands).to.deep.equal([
          'sindex-list:ns=bar;b64=true',
          'sindex-delete:namespace=bar;indexname=users_age_idx',
          'sindex-list:ns=bar;b64=true',
          'sindex-create:namespace=bar;set=users;indexname=users_age_idx;indextype=DEFAULT;bin=age;type=NUMERIC',
        ]);
        expect(time.sleeps).to.deep.equal([1000]);
        expect(cluster.indexes[0]).to.include({ bin: 'age', set: 'users', indextype: 'default', type: 'numeric', context: null });
        expect(counters.get(Counter.INDEXES_MISMATCHED)).to.equal(0);
      });
    }

    it('re-checks once a second while the delete is still in progress', async () => {
      const { restorer, cluster, time } = setup();
      cluster.deleteLag = 3;
      cluster.indexes.push({ namespace: 'bar', name: 'users_age_idx', set: 'users', bin: 'x', type: 'numeric', indextype: 'default', context: null });
      expect(await restorer.submit(def())).to.equal('created');
      // The first three re-checks still list it; the fourth finds it gone.
      expect(time.sleeps).to.deep.equal([1000, 1000, 1000, 1000]);
      expect(cluster.commands.filter((c) => c.startsWith('sindex-list'))).to.have.length(5);
    });

    it('fails when the index is still different after 10 re-checks', async () => {
      const { restorer, cluster, time, counters } = setup();
      cluster.deleteWorks = false;
      cluster.indexes.push({ namespace: 'bar', name: 'users_age_idx', set: 'users', bin: 'x', type: 'numeric', indextype: 'default', context: null });
      const error = await rejection(restorer.submit(def()));
      expect(error.code).to.equal('INDEX_RESTORE_FAILED');
      expect(error.message).to.match(/^Error while removing mismatched index bar:users_age_idx \(still different after 10 checks: Path mismatch, age vs\. x\)$/);
      expect(time.sleeps).to.deep.equal(new Array(10).fill(1000));
      expect(cluster.commands.filter((c) => c.startsWith('sindex-list'))).to.have.length(11);
      expect(cluster.commands.some((c) => c.startsWith('sindex-create'))).to.equal(false);
      expect(counters.get(Counter.INDEXES)).to.equal(0);
    });

    it('counts a mismatched index when someone else re-creates it identically after the delete', async () => {
      const { restorer, cluster, counters, logger } = setup();
      cluster.indexes.push({ namespace: 'bar', name: 'users_age_idx', set: 'users', bin: 'x', type: 'numeric', indextype: 'default', context: null });
      cluster.afterDelete = (c) =>
        c.indexes.push({ namespace: 'bar', name: 'users_age_idx', set: 'users', bin: 'age', type: 'numeric', indextype: 'default', context: null });
      expect(await restorer.submit(def())).to.equal('mismatched');
      expect(counters.get(Counter.INDEXES_MISMATCHED)).to.equal(1);
      expect(cluster.commands.some((c) => c.startsWith('sindex-create'))).to.equal(false);
      restorer.logSummary();
      expect(logger.printed).to.deep.equal(['ERR Skipped 1 mismatched index(es)']);
    });

    it('turns error answers into clear errors', async () => {
      const create = setup();
      create.cluster.overrides.set(
        'sindex-create:namespace=bar;set=users;indexname=users_age_idx;indextype=DEFAULT;bin=age;type=NUMERIC',
        "ERROR:200:'indexname' already exists with different definition",
      );
      const createError = await rejection(create.restorer.submit(def()));
      expect(createError.message).to.equal(
        "Error while creating index bar:users:users_age_idx (age) - code 200: 'indexname' already exists with different definition",
      );

      const list = setup();
      list.cluster.overrides.set('sindex-list:ns=bar;b64=true', 'FAIL:20:namespace not found');
      const listError = await rejection(list.restorer.submit(def()));
      expect(listError.message).to.equal(
        'Error while checking index bar:users:users_age_idx (age): error while retrieving secondary index info - code 20: namespace not found',
      );

      const parse = setup();
      parse.cluster.overrides.set('sindex-list:ns=bar;b64=true', 'ns=bar:indexname=users_age_idx:set=users:bin=age:type=weird:indextype=default');
      const parseError = await rejection(parse.restorer.submit(def()));
      expect(parseError.message).to.match(/^Error while checking index bar:users:users_age_idx \(age\): .*Invalid path type weird$/);

      const remove = setup();
      remove.cluster.indexes.push({ namespace: 'bar', name: 'users_age_idx', set: 'users', bin: 'x', type: 'numeric', indextype: 'default', context: null });
      remove.cluster.overrides.set('sindex-delete:namespace=bar;indexname=users_age_idx', 'ERROR:80:not authenticated');
      const removeError = await rejection(remove.restorer.submit(def()));
      expect(removeError.message).to.equal('Error while removing index bar:users_age_idx - code 80: not authenticated');
    });

    it('reports a transport failure of the client with the index it was for', async () => {
      const { restorer, cluster } = setup();
      cluster.info = async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:3000');
      };
      const error = await rejection(restorer.submit(def()));
      expect(error.message).to.equal('Error while checking index bar:users:users_age_idx (age): connect ECONNREFUSED 127.0.0.1:3000');
    });

    it('rejects a context that is not a base64 msgpack context, as C does', async () => {
      const { restorer } = setup();
      const error = await rejection(restorer.submit(def({ context: 'not base64!' })));
      expect(error.message).to.equal(
        'Error while converting b64 encoded ctx not base64! into as_cdt_ctx; index info bar:users:users_age_idx (age)',
      );
    });

    it('asks the server build when none was given', async () => {
      const { restorer, cluster } = setup({ serverVersion: undefined });
      cluster.build = '7.1.0.0';
      await restorer.submit(def());
      await restorer.submit(def({ name: 'second' }));
      expect(cluster.commands).to.deep.equal([
        'build',
        'sindex-list:ns=bar;b64=true',
        'sindex-create:ns=bar;set=users;indexname=users_age_idx;indextype=DEFAULT;indexdata=age,NUMERIC',
        'sindex-list:ns=bar;b64=true',
        'sindex-create:ns=bar;set=users;indexname=second;indextype=DEFAULT;indexdata=age,NUMERIC',
      ]);
    });

    it('serialises concurrent submissions', async () => {
      const { restorer, cluster } = setup();
      await Promise.all([restorer.submit(def()), restorer.submit(def({ name: 'b' })), restorer.submit(def({ name: 'c' }))]);
      expect(cluster.commands.map((c) => c.split(':')[0])).to.deep.equal([
        'sindex-list',
        'sindex-create',
        'sindex-list',
        'sindex-create',
        'sindex-list',
        'sindex-create',
      ]);
    });
  });

  describe('set filter and summary', () => {
    it('skips indexes whose set is not in --set-list, and set-less ones', async () => {
      const { restorer, cluster, counters, logger } = setup({ setList: ['users'] });
      expect(await restorer.submit(def())).to.equal('created');
      expect(await restorer.submit(def({ name: 'e', set: 'events' }))).to.equal('skipped');
      expect(await restorer.submit(def({ name: 'n', set: 'null' }))).to.equal('skipped');
      expect(cluster.commands).to.have.length(2);
      expect(counters.get(Counter.INDEXES_SKIPPED)).to.equal(2);
      expect(counters.get(Counter.INDEXES)).to.equal(3);
      expect(logger.lines).to.include('VER Skipping index with unwanted set bar:events:e (age)');
    });

    it('prints the C summary lines only for non-zero counts', async () => {
      const { restorer, cluster, logger } = setup({ setList: ['users'] });
      restorer.logSummary();
      expect(logger.printed).to.deep.equal([]);
      cluster.indexes.push({ namespace: 'bar', name: 'users_age_idx', set: 'users', bin: 'age', type: 'numeric', indextype: 'default', context: null });
      await restorer.submit(def());
      await restorer.submit(def({ name: 'e', set: 'events' }));
      restorer.logSummary();
      expect(logger.printed).to.deep.equal(['INF Skipped 1 index(es) with unwanted set(s)', 'INF Skipped 1 matched index(es)']);
    });
  });

  describe('--indexes-last', () => {
    it('collects indexes and creates them in restoreDeferred(), continuing past failures', async () => {
      const { restorer, cluster, counters, logger } = setup({ indexesLast: true });
      expect(await restorer.submit(def())).to.equal('deferred');
      expect(await restorer.submit(def({ name: 'bad', paths: [{ path: 'x', type: 'S' }] }))).to.equal('deferred');
      expect(await restorer.submit(def({ name: 'third' }))).to.equal('deferred');
      expect(cluster.commands).to.deep.equal([]);
      expect(counters.get(Counter.INDEXES)).to.equal(3);
      cluster.overrides.set(
        'sindex-create:namespace=bar;set=users;indexname=bad;indextype=DEFAULT;bin=x;type=STRING',
        'ERROR:206:too many indexes',
      );
      const error = await rejection(restorer.restoreDeferred());
      expect(error.code).to.equal('INDEX_RESTORE_FAILED');
      expect(error.message).to.equal('Error while restoring secondary indexes to cluster: 1 of 3 failed');
      expect(cluster.indexes.map((i) => i.name)).to.deep.equal(['users_age_idx', 'third']);
      expect(logger.printed).to.deep.equal(['ERR Error while creating index bar:users:bad (x) - code 206: too many indexes']);
    });
  });

  describe('--wait', () => {
    it('polls sindex-stat on every node every 500 ms until all report load_pct=100', async () => {
      const { restorer, cluster, time } = setup();
      cluster.nodeCount = 2;
      cluster.loadPercent = (node, _index, poll) => (poll === 0 ? 'no index' : Math.min(100, poll * 40 + node * 10));
      await restorer.submit(def());
      await restorer.waitForBuilds();
      expect(cluster.allNodeCommands).to.deep.equal(new Array(4).fill('sindex-stat:namespace=bar;indexname=users_age_idx'));
      expect(time.sleeps).to.deep.equal([500, 500, 500]);
    });

    it('uses sindex/<ns>/<name> before 8.1 and waits only for created indexes', async () => {
      const { restorer, cluster } = setup({ serverVersion: '7.0.0.5' });
      cluster.indexes.push({ namespace: 'bar', name: 'matched', set: 'users', bin: 'age', type: 'numeric', indextype: 'default', context: null });
      await restorer.submit(def({ name: 'matched' }));
      await restorer.submit(def());
      await restorer.waitForBuilds();
      expect(cluster.allNodeCommands).to.deep.equal(['sindex/bar/users_age_idx']);
    });

    it('fails when the build stops making progress for the wait timeout', async () => {
      const { restorer, cluster, time, logger } = setup({ timing: { waitTimeoutMs: 5000 } });
      cluster.loadPercent = (_node, _index, poll) => Math.min(30, poll * 10);
      await restorer.submit(def());
      const error = await rejection(restorer.waitForBuilds());
      expect(error.code).to.equal('INDEX_WAIT_FAILED');
      expect(error.message).to.equal('Error while waiting for secondary indexes: 1 of 1 failed');
      expect(logger.printed).to.deep.equal([
        'ERR Error while waiting for index bar:users:users_age_idx (age): the build made no progress for 5000 ms (timeout)',
      ]);
      // load_pct 0, 10, 20, 30 (progress), then 10 polls 500 ms apart without progress.
      expect(time.sleeps).to.have.length(13);
    });

    it('fails on an answer without load_pct, like the C client', async () => {
      const { restorer, cluster, logger } = setup();
      await restorer.submit(def());
      cluster.overrides.set('sindex-stat:namespace=bar;indexname=users_age_idx', 'entries=0');
      await rejection(restorer.waitForBuilds());
      expect(logger.printed).to.deep.equal(['ERR Error while waiting for index bar:users:users_age_idx (age): Create index error: entries=0']);
    });
  });
});
