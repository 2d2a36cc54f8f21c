import { expect } from 'chai';
import type { UdfModule } from '../../src/shared/asb/types.js';
import { Counter, Counters } from '../../src/shared/counters.js';
import { AsrestoreError } from '../../src/shared/errors.js';
import { UdfRestorer, udfFileName, udfListFileNames, udfPutCommand } from '../../src/main/metadata/udf-restore.js';
import type { MetadataTiming } from '../../src/main/metadata/info.js';
import { FakeInfoCluster, FakeTime, RecordingLogger } from './fake-info-cluster.js';

function udf(name: string, text: string, line = 15): UdfModule {
  return { language: 'L', name, content: Buffer.from(text), line };
}

function setup(timing: Partial<MetadataTiming> = {}) {
  const cluster = new FakeInfoCluster();
  const time = new FakeTime();
  const logger = new RecordingLogger();
  const counters = new Counters();
  const restorer = new UdfRestorer(cluster, { counters, logger, timing: { ...time.timing, ...timing } });
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

describe('metadata: UDF restore', () => {
  it('builds the udf-put text of the C client', () => {
    expect(udfPutCommand('probe_bad.lua', Buffer.from('function f(rec\n'))).to.equal(
      'udf-put:filename=probe_bad.lua;content=ZnVuY3Rpb24gZihyZWMK;content-len=20;udf-type=LUA;',
    );
    expect(udfFileName('dir/sub/x.lua')).to.equal('x.lua');
    expect(udfFileName('x.lua')).to.equal('x.lua');
  });

  it('puts every module, always, logs C\'s line and counts it', async () => {
    const { restorer, cluster, counters, logger } = setup();
    cluster.udfs.set('a.lua', Buffer.from('old'));
    await restorer.put(udf('a.lua', 'return 1\n'));
    await restorer.put(udf('b.lua', ''));
    expect(cluster.commands).to.deep.equal([
      'udf-put:filename=a.lua;content=cmV0dXJuIDEK;content-len=12;udf-type=LUA;',
      'udf-put:filename=b.lua;content=;content-len=0;udf-type=LUA;',
    ]);
    expect(cluster.udfs.get('a.lua')!.toString()).to.equal('return 1\n');
    expect(counters.get(Counter.UDFS)).to.equal(2);
    expect(logger.printed).to.deep.equal(['INF Restoring UDF file a.lua (size 9)', 'INF Restoring UDF file b.lua (size 0)']);
  });

  it('turns a compile error into a clear error naming the module', async () => {
    const { restorer, counters } = setup();
    const error = await rejection(restorer.put(udf('bad.lua', 'function f(rec\n@@compile_error@@', 27), 'backup/t.asb'));
    expect(error.code).to.equal('UDF_RESTORE_FAILED');
    expect(error.message).to.equal(
      "Error while putting UDF file bad.lua - code 100: compile_error in bad.lua line 2: ')' expected near <eof>",
    );
    expect(error.file).to.equal('backup/t.asb');
    expect(error.line).to.equal(27);
    expect(counters.get(Counter.UDFS)).to.equal(0);
  });

  it('reports ERROR: answers and transport failures', async () => {
    const { restorer, cluster } = setup();
    cluster.overrides.set('udf-put:filename=x.lua;content=eA==;content-len=4;udf-type=LUA;', 'ERROR:4:invalid udf');
    expect((await rejection(restorer.put(udf('x.lua', 'x')))).message).to.equal('Error while putting UDF file x.lua - code 4: invalid udf');
    cluster.info = async () => {
      throw new Error('timeout');
    };
    expect((await rejection(restorer.put(udf('y.lua', 'y')))).message).to.equal('Error while putting UDF file y.lua: timeout');
    expect((await rejection(restorer.put(udf('a;b.lua', 'y')))).code).to.equal('METADATA_UNSENDABLE');
  });

  it('reads udf-list exactly', () => {
    const names = udfListFileNames(
      'filename=user_utils.lua,hash=4de26e7ab189e5a9dabfb02c6d5f37c61eeb4e16,type=LUA;filename=a.lua2,hash=1,type=LUA;',
    );
    expect([...names]).to.deep.equal(['user_utils.lua', 'a.lua2']);
    expect(names.has('a.lua')).to.equal(false);
    expect(udfListFileNames('').size).to.equal(0);
  });

  it('--wait: polls udf-list on every node every 500 ms until each lists every module', async () => {
    const { restorer, cluster, time } = setup();
    cluster.nodeCount = 3;
    cluster.udfVisible = (node, name, poll) => name !== 'b.lua' || node < 2 || poll >= 2;
    await restorer.put(udf('a.lua', 'a'));
    await restorer.put(udf('b.lua', 'b'));
    await restorer.waitForAll();
    // a.lua: listed everywhere at the first poll; b.lua: missing on node 2 at poll 1, there at poll 2.
    expect(cluster.allNodeCommands).to.deep.equal(['udf-list', 'udf-list', 'udf-list']);
    expect(time.sleeps).to.deep.equal([500]);
  });

  it('--wait: fails when a module is still missing after the timeout', async () => {
    const { restorer, cluster, time, logger } = setup({ waitTimeoutMs: 2000 });
    cluster.nodeCount = 2;
    cluster.udfVisible = (node) => node === 0;
    await restorer.put(udf('a.lua', 'a'));
    const error = await rejection(restorer.waitForAll());
    expect(error.code).to.equal('UDF_WAIT_FAILED');
    expect(logger.printed.slice(-2)).to.deep.equal([
      'ERR Error while waiting for UDF file a.lua: still missing on 1 of 2 node(s) after 2000 ms (timeout)',
      'ERR Error while waiting for UDF upload',
    ]);
    expect(time.sleeps).to.deep.equal([500, 500, 500, 500]);
  });
});
