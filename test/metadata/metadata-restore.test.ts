import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecondaryIndexDef, SindexIndexType, SindexPathType } from '../../src/shared/asb/types.js';
import { Counter, Counters } from '../../src/shared/counters.js';
import { ServerVersion } from '../../src/main/metadata/info.js';
import { MetadataRestorer } from '../../src/main/metadata/metadata-restore.js';
import { backupIndexSpec, sindexCreateCommand } from '../../src/main/metadata/sindex-restore.js';
import { udfPutCommand } from '../../src/main/metadata/udf-restore.js';
import { describeIfExists, fixturesDir, wireReferenceDir } from '../support/paths.js';
import { FakeInfoCluster, FakeTime, RecordingLogger } from './fake-info-cluster.js';

function def(name: string, set: string | null = 'users'): SecondaryIndexDef {
  return { namespace: 'test', set, name, indexType: 'N', paths: [{ path: 'age', type: 'N' }], context: null, expression: null, line: 1 };
}

describe('metadata: restore order (MetadataRestorer)', () => {
  it('--indexes-last --wait: deferred creates, summary, index waits, then UDF waits', async () => {
    const cluster = new FakeInfoCluster();
    const time = new FakeTime();
    const logger = new RecordingLogger();
    const counters = new Counters();
    const restorer = new MetadataRestorer(cluster, {
      counters,
      logger,
      namespaces: ['test', 'bar'],
      setList: ['users'],
      indexesLast: true,
      wait: true,
      serverVersion: '8.1.2.0',
      timing: time.timing,
    });
    await restorer.secondaryIndex(def('a'));
    await restorer.secondaryIndex(def('e', 'events'));
    await restorer.udf({ language: 'L', name: 'm.lua', content: Buffer.from('x'), line: 3 });
    expect(cluster.commands).to.deep.equal(['udf-put:filename=m.lua;content=eA==;content-len=4;udf-type=LUA;']);
    await restorer.finish();
    expect(cluster.commands.slice(1)).to.deep.equal([
      'sindex-list:ns=bar;b64=true',
      'sindex-create:namespace=bar;set=users;indexname=a;indextype=DEFAULT;bin=age;type=NUMERIC',
    ]);
    expect(cluster.allNodeCommands).to.deep.equal(['sindex-stat:namespace=bar;indexname=a', 'udf-list']);
    expect(logger.printed).to.deep.equal(['INF Restoring UDF file m.lua (size 1)', 'INF Skipped 1 index(es) with unwanted set(s)']);
    expect(counters.get(Counter.INDEXES)).to.equal(2);
    expect(counters.get(Counter.UDFS)).to.equal(1);
  });

  it('a failed index wait fails finish() and skips the UDF wait, as in C', async () => {
    const cluster = new FakeInfoCluster();
    const time = new FakeTime();
    const restorer = new MetadataRestorer(cluster, {
      counters: new Counters(),
      logger: new RecordingLogger(),
      wait: true,
      serverVersion: '8.1.2.0',
      timing: { ...time.timing, waitTimeoutMs: 1000 },
    });
    cluster.loadPercent = () => 5;
    await restorer.secondaryIndex(def('a'));
    await restorer.udf({ language: 'L', name: 'm.lua', content: Buffer.from('x'), line: 3 });
    let caught: unknown = null;
    await restorer.finish().catch((error: unknown) => (caught = error));
    expect((caught as Error).message).to.equal('Error while waiting for secondary indexes: 1 of 1 failed');
    expect(cluster.allNodeCommands).to.not.include('udf-list');
  });
});

/** `* i` lines of the a-default fixture, tokenised with backslash escapes. */
function fixtureIndexes(text: string): SecondaryIndexDef[] {
  const defs: SecondaryIndexDef[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.startsWith('* i ')) return;
    const tokens: string[] = [];
    let current = '';
    for (let at = 4; at < line.length; at++) {
      const ch = line[at]!;
      if (ch === '\\') current += line[++at];
      else if (ch === ' ') {
        tokens.push(current);
        current = '';
      } else current += ch;
    }
    tokens.push(current);
    const [namespace, set, name, indexType, , path, pathType, context] = tokens as string[];
    defs.push({
      namespace: namespace!,
      set: set === '' ? null : set!,
      name: name!,
      indexType: indexType as SindexIndexType,
      paths: [{ path: path!, type: pathType as SindexPathType }],
      context: context ?? null,
      expression: null,
      line: i + 1,
    });
  });
  return defs;
}

/** The commands asrestore 4.5.8 sent, in order, from an annotated transcript. */
function sentCommands(transcript: string, prefix: string): string[] {
  const commands: string[] = [];
  for (const match of transcript.matchAll(/^ {4}> "([^"]*)"$/gm)) if (match[1]!.startsWith(prefix)) commands.push(match[1]!);
  return commands;
}

describeIfExists(wireReferenceDir, 'metadata: against what C asrestore 4.5.8 sent (e1 capture)', () => {
  const transcript = () => readFileSync(join(wireReferenceDir, 'transcripts', 'e1-restore-batch.txt'), 'utf8');
  const backup = () => readFileSync(join(fixturesDir, 'a-default', 'backup', 'test_00000.asb'));

  it('sends byte-identical sindex-create commands, except the set-less index (no set=null)', () => {
    const defs = fixtureIndexes(backup().toString('latin1'));
    const sent = sentCommands(transcript(), 'sindex-create:');
    expect(defs).to.have.length(11);
    expect(sent).to.have.length(11);
    const ours = defs.map((d) => sindexCreateCommand(backupIndexSpec(d, ['test', 'bar']), ServerVersion.parse('8.1.2.0')));
    for (let i = 0; i < defs.length; i++) {
      if (defs[i]!.set === 'null') {
        expect(sent[i]).to.equal('sindex-create:namespace=bar;set=null;indexname=noset_n_idx;indextype=DEFAULT;bin=n;type=NUMERIC');
        expect(ours[i]).to.equal('sindex-create:namespace=bar;indexname=noset_n_idx;indextype=DEFAULT;bin=n;type=NUMERIC');
      } else {
        expect(ours[i]).to.equal(sent[i]);
      }
    }
  });

  it('sends byte-identical udf-put commands', () => {
    const bytes = backup();
    const sent = sentCommands(transcript(), 'udf-put:');
    expect(sent).to.have.length(2);
    for (const [name, command] of [
      ['user_utils.lua', sent[0]!],
      ['tricky_module.lua', sent[1]!],
    ] as const) {
      const header = Buffer.from(`* u L ${name} `);
      const at = bytes.indexOf(header);
      const lengthEnd = bytes.indexOf(0x20, at + header.length);
      const length = Number(bytes.subarray(at + header.length, lengthEnd).toString());
      const content = bytes.subarray(lengthEnd + 1, lengthEnd + 1 + length);
      expect(udfPutCommand(name, content)).to.equal(command);
    }
  });

  it('checks each index with the sindex-list command C sent', async () => {
    const cluster = new FakeInfoCluster();
    const restorer = new MetadataRestorer(cluster, {
      counters: new Counters(),
      logger: new RecordingLogger(),
      namespaces: ['test', 'bar'],
      serverVersion: '8.1.2.0',
      timing: new FakeTime().timing,
    });
    for (const d of fixtureIndexes(backup().toString('latin1'))) await restorer.secondaryIndex(d);
    const sent = sentCommands(transcript(), 'sindex-');
    const expected = sent.map((c) => (c.includes(';set=null;') ? c.replace(';set=null', '') : c));
    expect(cluster.commands).to.deep.equal(expected);
  });
});
