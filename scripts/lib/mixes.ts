/**
 * Record mixes: which kinds of records a generated backup holds, their bins, and which secondary
 * indexes fit them. `fixture` imitates the dataset of ../shared/fixtures/asbackup-4.5.8 (its
 * README's statistics: sets users/events/"with space"/none, the same bin names and types, the
 * same shares of optional bins, plus rare records full of edge values); `restore-bench` is the
 * restore benchmark's record (int, 3 strings, double, list, map, blob; ~476 bytes).
 *
 * The fixture's records are small (about 195 bytes of .asb text) and its average of 374 bytes comes
 * from a few very large values; the `fixture` mix reaches a requested size the same way (see
 * SizingMode).
 */
import { ParticleType } from '../../src/shared/aerospike/protocol.js';
import type { AsbBin, SecondaryIndexDef } from '../../src/shared/asb/types.js';
import { cdt, CdtEncoder, CdtValue, ListOrder, MapOrder } from './cdt-msgpack.js';
import { Prng } from './prng.js';
import {
  CITIES, edgeBlob, edgeDouble, edgeInt, edgeString, email, EVENT_KINDS, geoCircle, geoJson, geoPoint, geoPolygon,
  hllParticle, INT64_MAX, INT64_MIN, LANGS, personName, SOURCES, TAGS, TextCorpus, THEMES, WORDS,
} from './values.js';

export type MixName = 'fixture' | 'restore-bench';
export const MIX_NAMES: readonly MixName[] = ['fixture', 'restore-bench'];

export interface KindContext {
  rng: Prng;
  cdtEncoder: CdtEncoder;
  corpus: TextCorpus;
  /** The record's index in the whole backup (unique, stable for a seed). */
  serial: number;
}

export interface RecordKind {
  readonly name: string;
  /** Relative share of records. */
  readonly weight: number;
  /** The set its records land in unless the caller names sets; null = no set. */
  readonly defaultSet: string | null;
  /**
   * Whether the kind takes part in size control: per-record mixes pass it a budget (bytes of .asb
   * text for its elastic bins); big-values mixes let it carry the big values.
   */
  readonly elastic: boolean;
  build(ctx: KindContext, budget: number): AsbBin[];
}

export type KeyType = 'int' | 'string' | 'bytes';

/**
 * How a mix reaches the requested average record size:
 * - `per-record`: every elastic record grows or shrinks its elastic bins (uniform records);
 * - `big-values`: records keep their natural size and, now and then, an elastic record carries one
 *   big string or blob that makes up the difference, as real data sets (and the fixtures) do.
 */
export type SizingMode = 'per-record' | 'big-values';

export interface Mix {
  readonly name: MixName;
  readonly sizing: SizingMode;
  readonly kinds: readonly RecordKind[];
  readonly defaultRecordSize: number;
  /** Share of records that store their user key (the rest are digest-only). */
  readonly defaultStoredKeys: number;
  /** Relative shares of key types among stored (and hashed) keys. */
  readonly keyTypes: Readonly<Record<KeyType, number>>;
  /** Index definitions that match the mix's bins, in a stable order (without namespace). */
  readonly sindexes: readonly Omit<SecondaryIndexDef, 'namespace' | 'line'>[];
}

const name = (s: string): Buffer => Buffer.from(s, 'utf8');

/** One place for bin construction, so every bin carries the value shape AsbBin documents. */
const internedText = new Map<string, Buffer>();
/** UTF-8 bytes of a string from a small fixed vocabulary, encoded once (shared: never modified). */
function interned(text: string): Buffer {
  let bytes = internedText.get(text);
  if (bytes === undefined) {
    bytes = Buffer.from(text, 'utf8');
    if (internedText.size < 8192) internedText.set(text, bytes);
  }
  return bytes;
}

const bin = {
  int: (n: Buffer, v: number | bigint): AsbBin => ({ name: n, type: ParticleType.INTEGER, value: v }),
  double: (n: Buffer, v: number): AsbBin => ({ name: n, type: ParticleType.FLOAT, value: v }),
  bool: (n: Buffer, v: boolean): AsbBin => ({ name: n, type: ParticleType.BOOL, value: v }),
  str: (n: Buffer, v: Buffer | string): AsbBin => ({ name: n, type: ParticleType.STRING, value: typeof v === 'string' ? Buffer.from(v, 'utf8') : v }),
  geo: (n: Buffer, v: string): AsbBin => ({ name: n, type: ParticleType.GEOJSON, value: Buffer.from(v, 'utf8') }),
  blob: (n: Buffer, v: Buffer, type: ParticleType = ParticleType.BLOB): AsbBin => ({ name: n, type, value: v }),
  hll: (n: Buffer, v: Buffer): AsbBin => ({ name: n, type: ParticleType.HLL, value: v }),
  list: (n: Buffer, ctx: KindContext, v: CdtValue): AsbBin => ({ name: n, type: ParticleType.LIST, value: ctx.cdtEncoder.encode(v) }),
  map: (n: Buffer, ctx: KindContext, v: CdtValue): AsbBin => ({ name: n, type: ParticleType.MAP, value: ctx.cdtEncoder.encode(v) }),
};

/** Base64 lines cost 4 text bytes per 3 raw bytes. */
const rawForBase64Text = (textBytes: number): number => Math.max(0, Math.floor((textBytes * 3) / 4));

const score = (rng: Prng): number => (rng.chance(0.5) ? rng.int(0, 1600) / 16 : rng.int(0, 100000) / 1000);
const amount = (rng: Prng): number => (rng.chance(0.6) ? rng.int(100, 400000) / 8 : rng.int(100, 400000) / 100);

/** A list of short strings whose particle is about `rawBytes` long (at least one element). */
function stringList(ctx: KindContext, pool: readonly string[], rawBytes: number, minItems: number): CdtValue {
  const items: CdtValue[] = [];
  let size = 1;
  while (items.length < minItems || size < rawBytes) {
    const word = ctx.rng.pick(pool);
    items.push(cdt.word(word));
    size += Buffer.byteLength(word) + 2;
    if (items.length >= 60000) break;
  }
  return cdt.list(items);
}

// ---------------------------------------------------------------------------------------------
// fixture mix

const N = {
  name: name('name'), age: name('age'), score: name('score'), active: name('active'), tags: name('tags'),
  prefs: name('prefs'), home: name('home'), visits: name('visits'), avatar: name('avatar'), note: name('note'),
  ts: name('ts'), kind: name('kind'), amount: name('amount'), where: name('where'), ok: name('ok'), codes: name('codes'),
  payload: name('payload'), uniq: name('uniq'), n: name('n'), label: name('label'), blob: name('blob'), ab: name('a b'),
};

const usersKind: RecordKind = {
  name: 'users',
  weight: 918,
  defaultSet: 'users',
  elastic: true,
  build(ctx) {
    const { rng } = ctx;
    const bins: AsbBin[] = [];
    if (rng.chance(0.96)) bins.push(bin.str(N.name, interned(personName(rng))));
    if (rng.chance(0.96)) bins.push(bin.int(N.age, rng.int(13, 95)));
    if (rng.chance(0.96)) bins.push(bin.double(N.score, score(rng)));
    if (rng.chance(0.1)) bins.push(bin.int(N.visits, rng.int(0, 5000)));
    if (rng.chance(0.21)) bins.push(bin.geo(N.home, geoPoint(rng)));
    if (rng.chance(0.21)) {
      const langs = cdt.list(Array.from({ length: rng.int(1, 3) }, () => cdt.word(rng.pick(LANGS))));
      bins.push(bin.map(N.prefs, ctx, cdt.map([
        [cdt.word('langs'), langs],
        [cdt.word('level'), cdt.int(rng.int(0, 5))],
        [cdt.word('notify'), cdt.bool(rng.chance(0.5))],
        [cdt.word('theme'), cdt.word(rng.pick(THEMES))],
      ])));
    }
    if (rng.chance(0.46)) bins.push(bin.bool(N.active, rng.chance(0.6)));
    if (rng.chance(0.28)) bins.push(bin.list(N.tags, ctx, cdt.list(Array.from({ length: rng.int(0, 3) }, () => cdt.word(rng.pick(TAGS))))));
    if (rng.chance(0.12)) bins.push(bin.blob(N.avatar, rng.bytes(rng.int(8, 40))));
    if (rng.chance(0.02)) bins.push(bin.str(N.note, ctx.corpus.text(rng, rng.int(8, 30))));
    return bins;
  },
};

const eventsKind: RecordKind = {
  name: 'events',
  weight: 894,
  defaultSet: 'events',
  elastic: true,
  build(ctx) {
    const { rng } = ctx;
    const bins: AsbBin[] = [];
    if (rng.chance(0.985)) bins.push(bin.int(N.ts, 1_700_000_000_000 + ctx.serial * 37 + rng.int(0, 36)));
    if (rng.chance(0.985)) bins.push(bin.str(N.kind, interned(rng.pick(EVENT_KINDS))));
    if (rng.chance(0.985)) bins.push(bin.double(N.amount, amount(rng)));
    if (rng.chance(0.21)) bins.push(bin.geo(N.where, geoJson(rng)));
    if (rng.chance(0.29)) bins.push(bin.bool(N.ok, rng.chance(0.8)));
    if (rng.chance(0.22)) {
      bins.push(bin.list(N.codes, ctx, cdt.list(Array.from({ length: rng.int(1, 5) }, () => cdt.int(rng.int(0, 999))))));
    }
    if (rng.chance(0.02)) bins.push(bin.hll(N.uniq, hllParticle(rng, 6, 0, rng.int(5, 64))));
    if (rng.chance(0.25)) {
      const items = Array.from({ length: rng.int(1, 3) }, () => cdt.map([
        [cdt.word('qty'), cdt.int(rng.int(1, 20))],
        [cdt.word('sku'), cdt.int(rng.int(1000, 99999))],
      ]));
      const entries: [CdtValue, CdtValue][] = [
        [cdt.word('items'), cdt.list(items)],
        [cdt.word('src'), cdt.word(rng.pick(SOURCES))],
      ];
      if (rng.chance(0.5)) entries.push([cdt.word('note'), cdt.str(ctx.corpus.text(rng, rng.int(5, 30)))]);
      bins.push(bin.map(N.payload, ctx, cdt.map(entries)));
    }
    if (rng.chance(0.015)) bins.push(bin.str(N.note, ctx.corpus.text(rng, rng.int(8, 30))));
    return bins;
  },
};

const LANGUAGE_BLOB_TYPES: readonly ParticleType[] = [
  ParticleType.JAVA_BLOB, ParticleType.CSHARP_BLOB, ParticleType.PYTHON_BLOB, ParticleType.RUBY_BLOB,
  ParticleType.PHP_BLOB, ParticleType.ERLANG_BLOB,
];

const noSetKind: RecordKind = {
  name: 'no-set',
  weight: 70,
  defaultSet: null,
  elastic: true,
  build(ctx) {
    const { rng } = ctx;
    const bins: AsbBin[] = [];
    if (rng.chance(0.86)) bins.push(bin.int(N.n, rng.int(-1000, 1000)));
    if (rng.chance(0.43)) bins.push(bin.str(N.label, Array.from({ length: rng.int(1, 3) }, () => rng.pick(WORDS)).join(' ')));
    if (rng.chance(0.41)) {
      // A few percent are language-typed blobs (serialised objects of one client language).
      const type = rng.chance(0.05) ? rng.pick(LANGUAGE_BLOB_TYPES) : ParticleType.BLOB;
      bins.push(bin.blob(N.blob, rng.bytes(rng.int(1, 23)), type));
    }
    if (rng.chance(0.11)) bins.push(bin.str(N.note, ctx.corpus.text(rng, rng.int(8, 30))));
    if (bins.length === 0) bins.push(bin.int(N.n, rng.int(-1000, 1000)));
    return bins;
  },
};

/** Bin names that need escaping or look like syntax (all within the 15-byte limit). */
const ODD_BIN_NAMES: readonly Buffer[] = [
  ' lead', '-', 'col:on', 'fifteen_chars_x', "apo'", 'hash#', 'new\nline', 'ünï', '*', 'back\\slash', 'q"uote', 'x,y',
  'tab\tx', 'eq=ual', 'trail ', '+ k', 'semi;colon',
].map(name);

const withSpaceKind: RecordKind = {
  name: 'with space',
  weight: 12,
  defaultSet: 'with space',
  elastic: false,
  build(ctx) {
    const { rng } = ctx;
    const bins: AsbBin[] = [bin.int(N.ab, rng.int(0, 100))];
    const start = rng.int(0, ODD_BIN_NAMES.length - 1);
    const count = rng.int(1, 4);
    for (let i = 0; i < count; i++) {
      const n = ODD_BIN_NAMES[(start + i) % ODD_BIN_NAMES.length]!;
      bins.push(rng.chance(0.5) ? bin.int(n, rng.int(-50, 50)) : bin.str(n, edgeString(rng)));
    }
    return bins;
  },
};

function edgeScalar(rng: Prng): CdtValue {
  switch (rng.int(0, 7)) {
    case 0: return cdt.int(edgeInt(rng));
    case 1: return cdt.double(edgeDouble(rng));
    case 2: return cdt.str(edgeString(rng));
    case 3: return cdt.blob(edgeBlob(rng));
    case 4: return cdt.bool(rng.chance(0.5));
    case 5: return cdt.nil();
    case 6: return cdt.geojson(geoPoint(rng));
    default: return cdt.int(rng.int(-100000, 100000));
  }
}

/** Records full of edge values, like the fixture's "zoo" records; each bin present with a fair chance. */
const zooKind: RecordKind = {
  name: 'zoo',
  weight: 6,
  defaultSet: 'users',
  elastic: false,
  build(ctx) {
    const { rng } = ctx;
    const bins: AsbBin[] = [];
    const maybe = (p: number, make: () => AsbBin): void => {
      if (rng.chance(p)) bins.push(make());
    };
    maybe(0.7, () => bin.int(name('i_edge'), edgeInt(rng)));
    maybe(0.7, () => bin.double(name('d_edge'), edgeDouble(rng)));
    maybe(0.7, () => bin.str(name('s_edge'), edgeString(rng)));
    maybe(0.5, () => bin.blob(name('b_edge'), edgeBlob(rng)));
    maybe(0.4, () => bin.blob(name('lang_blob'), rng.bytes(rng.int(0, 80)), rng.pick(LANGUAGE_BLOB_TYPES)));
    maybe(0.3, () => bin.hll(name('hll'), rng.chance(0.5) ? hllParticle(rng, 6, 4, 40) : hllParticle(rng, 8, 0, 200)));
    maybe(0.4, () => bin.geo(name('geo'), rng.chance(0.5) ? geoPolygon(rng) : geoCircle(rng)));
    maybe(0.3, () => bin.bool(name('flag'), rng.chance(0.5)));
    maybe(0.5, () => bin.list(name('l_nested'), ctx, cdt.list([
      ...Array.from({ length: rng.int(1, 8) }, () => edgeScalar(rng)),
      cdt.list(Array.from({ length: rng.int(0, 3) }, () => edgeScalar(rng))),
      cdt.map([[cdt.str('k'), cdt.str('v')], [cdt.str('n'), cdt.list([cdt.double(1.5), cdt.double(2)])]]),
    ])));
    maybe(0.4, () => bin.list(name('l_ordered'), ctx, cdt.list(
      Array.from({ length: rng.int(1, 10) }, () => cdt.int(rng.int(-1000, 1000))), ListOrder.ORDERED)));
    maybe(0.2, () => bin.list(name('l_empty'), ctx, cdt.list([])));
    maybe(0.2, () => bin.map(name('m_empty'), ctx, cdt.map([])));
    maybe(0.3, () => bin.map(name('m_kvordered'), ctx, cdt.map(
      [['e', 2], ['q', 3], ['w', 1]].map(([k, v]) => [cdt.str(k as string), cdt.int(v as number)]), MapOrder.KEY_VALUE_ORDERED)));
    maybe(0.3, () => bin.map(name('m_unordered'), ctx, cdt.map([
      [cdt.int(1), cdt.str('a')], [cdt.str('c'), cdt.str('a')],
      [cdt.str('b'), cdt.int(2)], [cdt.blob(Buffer.from([0x6b])), cdt.list([cdt.int(1), cdt.int(2)])],
    ], MapOrder.UNORDERED)));
    maybe(0.3, () => bin.map(name('m_keytypes'), ctx, cdt.map([
      [cdt.int(INT64_MIN), cdt.str('min')], [cdt.int(-1), cdt.str('neg')], [cdt.int(0), cdt.str('zero')],
      [cdt.int(INT64_MAX), cdt.str('max')], [cdt.str(''), cdt.str('empty string key')],
      [cdt.str('héllo'), cdt.str('unicode key')], [cdt.blob(Buffer.from([0x00, 0xff, 0x0a])), cdt.str('blob key')],
    ])));
    if (rng.chance(0.1)) {
      for (let i = 0; i < 60; i++) bins.push(bin.int(name(`many_${String(i).padStart(2, '0')}`), i * 7 + rng.int(0, 6)));
    }
    if (bins.length === 0) bins.push(bin.int(name('i_edge'), edgeInt(rng)));
    return bins;
  },
};

const fixtureMix: Mix = {
  name: 'fixture',
  sizing: 'big-values',
  kinds: [usersKind, eventsKind, withSpaceKind, noSetKind, zooKind],
  defaultRecordSize: 374,
  defaultStoredKeys: 0.85,
  keyTypes: { string: 808, int: 755, bytes: 43 },
  sindexes: [
    { set: 'users', name: 'users_age_idx', indexType: 'N', paths: [{ path: 'age', type: 'N' }], context: null, expression: null },
    { set: 'users', name: 'users_name_idx', indexType: 'N', paths: [{ path: 'name', type: 'S' }], context: null, expression: null },
    { set: 'events', name: 'events_where_geo', indexType: 'N', paths: [{ path: 'where', type: 'G' }], context: null, expression: null },
    { set: 'users', name: 'users_tags_list', indexType: 'L', paths: [{ path: 'tags', type: 'S' }], context: null, expression: null },
    { set: 'events', name: 'events_payload_mk', indexType: 'K', paths: [{ path: 'payload', type: 'S' }], context: null, expression: null },
    { set: 'users', name: 'users_prefs_mv', indexType: 'V', paths: [{ path: 'prefs', type: 'N' }], context: null, expression: null },
    // Context: map key "langs" (msgpack [0x22, "\x03langs"]), as in the fixtures.
    { set: 'users', name: 'users_langs_ctx', indexType: 'L', paths: [{ path: 'prefs', type: 'S' }], context: 'kiKmA2xhbmdz', expression: null },
    { set: 'events', name: 'events_codes_list', indexType: 'L', paths: [{ path: 'codes', type: 'N' }], context: null, expression: null },
    { set: 'users', name: 'users_avatar_blob', indexType: 'N', paths: [{ path: 'avatar', type: 'B' }], context: null, expression: null },
    { set: 'with space', name: 'space_set_idx', indexType: 'N', paths: [{ path: 'a b', type: 'N' }], context: null, expression: null },
    { set: null, name: 'noset_n_idx', indexType: 'N', paths: [{ path: 'n', type: 'N' }], context: null, expression: null },
  ],
};

// ---------------------------------------------------------------------------------------------
// restore-bench mix

const B = {
  id: name('id'), name: name('name'), email: name('email'), city: name('city'), score: name('score'),
  tags: name('tags'), attrs: name('attrs'), data: name('data'),
};

const ATTR_KEYS = ['plan', 'tier', 'region', 'device', 'locale', 'referrer', 'segment', 'cohort', 'channel', 'status'];

const benchKind: RecordKind = {
  name: 'bench',
  weight: 1,
  defaultSet: 'bench',
  elastic: true,
  build(ctx, budget) {
    const { rng } = ctx;
    // The elastic budget splits over the list, the map and the blob.
    const listText = Math.max(16, budget * 0.25);
    const mapText = Math.max(20, budget * 0.3);
    const blobText = Math.max(8, budget - listText - mapText);
    const attrs: [CdtValue, CdtValue][] = [];
    let mapRaw = 6;
    for (let i = 0; i < ATTR_KEYS.length && (attrs.length < 2 || mapRaw < rawForBase64Text(mapText - 15)); i++) {
      const value = rng.chance(0.5) ? cdt.int(rng.int(0, 100000)) : cdt.word(rng.pick(WORDS));
      attrs.push([cdt.word(ATTR_KEYS[i]!), value]);
      mapRaw += ATTR_KEYS[i]!.length + 2 + (value.kind === 'int' ? 3 : 8);
    }
    let n = 0;
    while (mapRaw < rawForBase64Text(mapText - 15)) {
      attrs.push([cdt.str(`x${n++}`), cdt.int(rng.int(0, 1 << 30))]);
      mapRaw += 10;
    }
    return [
      bin.int(B.id, ctx.serial),
      bin.str(B.name, interned(personName(rng))),
      bin.str(B.email, email(rng, ctx.serial)),
      bin.str(B.city, interned(rng.pick(CITIES))),
      bin.double(B.score, score(rng)),
      bin.list(B.tags, ctx, stringList(ctx, TAGS, rawForBase64Text(listText - 14), 1)),
      bin.map(B.attrs, ctx, cdt.map(attrs)),
      bin.blob(B.data, rng.bytes(rawForBase64Text(blobText - 14))),
    ];
  },
};

const restoreBenchMix: Mix = {
  name: 'restore-bench',
  sizing: 'per-record',
  kinds: [benchKind],
  defaultRecordSize: 476,
  defaultStoredKeys: 1,
  keyTypes: { string: 1, int: 0, bytes: 0 },
  sindexes: [
    { set: 'bench', name: 'bench_id_idx', indexType: 'N', paths: [{ path: 'id', type: 'N' }], context: null, expression: null },
    { set: 'bench', name: 'bench_city_idx', indexType: 'N', paths: [{ path: 'city', type: 'S' }], context: null, expression: null },
    { set: 'bench', name: 'bench_tags_idx', indexType: 'L', paths: [{ path: 'tags', type: 'S' }], context: null, expression: null },
    { set: 'bench', name: 'bench_attrs_mk', indexType: 'K', paths: [{ path: 'attrs', type: 'S' }], context: null, expression: null },
  ],
};

export const MIXES: Readonly<Record<MixName, Mix>> = { fixture: fixtureMix, 'restore-bench': restoreBenchMix };
