import { expect } from 'chai';
import { ServerVersion, parseInfoError } from '../../src/main/metadata/info.js';
import {
  SindexListError,
  findServerIndex,
  indexDifference,
  normaliseSet,
  splitSindexList,
  type IndexSpec,
} from '../../src/main/metadata/sindex-list.js';

// The answer CE 8.1.2 gave asrestore in e3 (../shared/reference/wire/transcripts/e3-restore-replace-nogen.txt).
const E3_ANSWER =
  'ns=bar:indexname=users_age_idx:set=users:bin=age:type=numeric:indextype=default:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=users_name_idx:set=users:bin=name:type=string:indextype=default:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=events_where_geo:set=events:bin=where:type=geo2dsphere:indextype=default:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=users_tags_list:set=users:bin=tags:type=string:indextype=list:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=events_payload_mk:set=events:bin=payload:type=string:indextype=mapkeys:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=users_prefs_mv:set=users:bin=prefs:type=numeric:indextype=mapvalues:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=users_langs_ctx:set=users:bin=prefs:type=string:indextype=list:context=kiKmA2xhbmdz:exp=null:state=RW;' +
  'ns=bar:indexname=events_codes_list:set=events:bin=codes:type=numeric:indextype=list:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=users_avatar_blob:set=users:bin=avatar:type=blob:indextype=default:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=space_set_idx:set=with space:bin=a b:type=numeric:indextype=default:context=null:exp=null:state=RW;' +
  'ns=bar:indexname=noset_n_idx:set=null:bin=n:type=numeric:indextype=default:context=null:exp=null:state=RW';

function spec(overrides: Partial<IndexSpec>): IndexSpec {
  return {
    namespace: 'bar',
    name: 'i',
    set: 'users',
    indexType: 'N',
    paths: [{ path: 'age', type: 'N' }],
    context: null,
    expression: null,
    ...overrides,
  };
}

describe('metadata: sindex-list answers', () => {
  it('reads every entry of a real 8.1.2 answer with the A.5 mapping', () => {
    expect(splitSindexList(E3_ANSWER)).to.have.length(11);
    const read = (name: string) => findServerIndex('bar', E3_ANSWER, name);
    expect(read('users_age_idx')).to.deep.equal(spec({ name: 'users_age_idx' }));
    expect(read('users_name_idx')!.paths).to.deep.equal([{ path: 'name', type: 'S' }]);
    expect(read('events_where_geo')).to.include({ set: 'events' });
    expect(read('events_where_geo')!.paths[0]!.type).to.equal('G');
    expect(read('users_tags_list')!.indexType).to.equal('L');
    expect(read('events_payload_mk')!.indexType).to.equal('K');
    expect(read('users_prefs_mv')!.indexType).to.equal('V');
    expect(read('users_langs_ctx')!.context).to.equal('kiKmA2xhbmdz');
    expect(read('users_avatar_blob')!.paths[0]!.type).to.equal('B');
    expect(read('space_set_idx')).to.deep.equal(spec({ name: 'space_set_idx', set: 'with space', paths: [{ path: 'a b', type: 'N' }] }));
    expect(read('noset_n_idx')!.set).to.equal(null);
    expect(read('missing')).to.equal(null);
    expect(findServerIndex('bar', '', 'x')).to.equal(null);
  });

  it('accepts the older and newer spellings, in any case, and a trailing ;', () => {
    const answer =
      'ns=t:indexname=a:set=NULL:bin=x:type=INT SIGNED:indextype=NONE:context=NULL;' +
      'ns=t:indexname=b:set=s:bin=x:type=TEXT:indextype=List;' +
      'ns=t:indexname=c:set=s:bin=x:type=GEOJSON:indextype=MAPKEYS;' +
      'ns=t:indexname=d:set=s:bin=x:type=integer:indextype=default:num_bins=1;';
    expect(findServerIndex('t', answer, 'a')).to.deep.equal(spec({ namespace: 't', name: 'a', set: null, paths: [{ path: 'x', type: 'N' }] }));
    expect(findServerIndex('t', answer, 'b')!.paths[0]!.type).to.equal('S');
    expect(findServerIndex('t', answer, 'b')!.indexType).to.equal('L');
    expect(findServerIndex('t', answer, 'c')!.paths[0]!.type).to.equal('G');
    expect(findServerIndex('t', answer, 'd')!.paths[0]!.type).to.equal('N');
  });

  it('reads an expression index and keeps a name holding ":" whole', () => {
    const answer = 'ns=t:indexname=e:set=s:bin=null:type=numeric:indextype=default:context=null:exp=kwOVfwIA:state=RW;ns=t:indexname=f:set=a:b:bin=x:type=string:indextype=default';
    expect(findServerIndex('t', answer, 'e')).to.deep.equal(
      spec({ namespace: 't', name: 'e', set: 's', paths: [{ path: '', type: 'N' }], expression: 'kwOVfwIA' }),
    );
    expect(findServerIndex('t', answer, 'f')!.set).to.equal('a:b');
  });

  it('rejects our own entry when it cannot be understood, and ignores other unreadable entries', () => {
    expect(() => findServerIndex('t', 'ns=t:indexname=a:set=s:bin=x:type=string:indextype=SET', 'a')).to.throw(
      SindexListError,
      /Invalid index type SET/,
    );
    expect(() => findServerIndex('t', 'ns=t:indexname=a:set=s:bin=x:indextype=list', 'a')).to.throw(/Invalid number of paths/);
    expect(() => findServerIndex('t', 'ns=t:indexname=a:set=s:bin=x:type=string:indextype=default:num_bins=2', 'a')).to.throw(
      /Multi-bin/,
    );
    expect(() => findServerIndex('t', 'ns=t:indexname=a:set=s:bin=x:type=string', 'a')).to.throw(/Missing index type/);
    expect(() => findServerIndex('t', 'garbage:indexname=a', 'a')).to.throw(/missing "="/);
    expect(findServerIndex('t', 'garbage;ns=t:indexname=b:set=s:bin=x:type=string:indextype=SET;ns=t:indexname=a:set=s:bin=x:type=string:indextype=list', 'a'))
      .to.deep.equal(spec({ namespace: 't', name: 'a', set: 's', indexType: 'L', paths: [{ path: 'x', type: 'S' }] }));
  });

  it('compares as C does, treating null/NULL/empty sets as no set', () => {
    expect(indexDifference(spec({}), spec({}))).to.equal(null);
    expect(indexDifference(spec({ set: null }), spec({ set: 'null' }))).to.equal(null);
    expect(indexDifference(spec({ set: 'users' }), spec({ set: null }))).to.equal('Set mismatch, users vs. [none]');
    expect(indexDifference(spec({}), spec({ indexType: 'L' }))).to.equal('Type mismatch, N vs. L');
    expect(indexDifference(spec({}), spec({ paths: [] }))).to.equal('Path count mismatch, 1 vs. 0');
    expect(indexDifference(spec({}), spec({ paths: [{ path: 'age', type: 'S' }] }))).to.equal('Path type mismatch, N vs. S');
    expect(indexDifference(spec({}), spec({ paths: [{ path: 'x', type: 'N' }] }))).to.equal('Path mismatch, age vs. x');
    expect(indexDifference(spec({ context: 'kiKmA2xhbmdz' }), spec({}))).to.equal('Context mismatch, kiKmA2xhbmdz vs. [none]');
    expect(indexDifference(spec({ expression: 'a' }), spec({}))).to.equal('Expression mismatch, a vs. [none]');
    expect(normaliseSet('NULL')).to.equal(null);
    expect(normaliseSet('Null')).to.equal('Null');
  });
});

describe('metadata: info answers', () => {
  it('reads the error forms a real server sends', () => {
    expect(parseInfoError('ok')).to.equal(null);
    expect(parseInfoError('')).to.equal(null);
    expect(parseInfoError('ERROR:4:unrecognized command')).to.deep.equal({ code: 4, message: 'unrecognized command' });
    expect(parseInfoError("ERROR:200:'indexname' already exists with different definition")).to.deep.equal({
      code: 200,
      message: "'indexname' already exists with different definition",
    });
    expect(parseInfoError('ERROR::bad')).to.deep.equal({ code: 1, message: 'bad' });
    expect(parseInfoError('FAIL:20:namespace not found')).to.deep.equal({ code: 20, message: 'namespace not found' });
    expect(parseInfoError('ERROR')).to.equal(null);
    expect(parseInfoError('error=compile_error;file=probe_bad.lua;line=2;message=JyknIGV4cGVjdGVkIG5lYXIgPGVvZj4=')).to.deep.equal({
      code: 100,
      message: "compile_error in probe_bad.lua line 2: ')' expected near <eof>",
    });
    expect(parseInfoError('error=not_found')).to.deep.equal({ code: 100, message: 'not_found' });
  });

  it('compares server versions', () => {
    const v = ServerVersion.parse('8.1.2.0');
    expect(v.atLeast(8, 1)).to.equal(true);
    expect(v.atLeast(8, 1, 2)).to.equal(true);
    expect(v.atLeast(8, 1, 3)).to.equal(false);
    expect(v.atLeast(6)).to.equal(true);
    expect(ServerVersion.parse('7.2').atLeast(8, 1)).to.equal(false);
    expect(ServerVersion.parse('10.0.0.1-ee').atLeast(8, 1, 3)).to.equal(true);
    expect(() => ServerVersion.parse('garbage')).to.throw(/Cannot read the server version/);
  });
});
