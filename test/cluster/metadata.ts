/**
 * Cluster-wide metadata (the server's SMD): secondary index definitions and UDF modules, with the
 * exact info answers of sindex_manager.c and udf_cask.c (CE 8.1). Every node of a cluster shares one
 * ClusterMetadata, as SMD keeps every node in step.
 */
import { createHash } from 'node:crypto';
import { readContainerHeader, readInteger, skipElement } from './msgpack.js';

export interface SindexDefinition {
  namespace: string;
  /** null for a set-less index (listed as set=null). */
  set: string | null;
  bin: string;
  /** lower case: numeric, string, blob, geo2dsphere */
  type: string;
  /** lower case: default, list, mapkeys, mapvalues */
  indexType: string;
  /** base64 CDT context, as sent */
  context: string | null;
}

export interface UdfModule {
  filename: string;
  /** base64 content, as sent */
  content64: string;
  type: string;
}

const KEY_TYPES = ['numeric', 'string', 'blob', 'geo2dsphere'];
/** Buffer sizes of info parameters (sindex_manager.h, datamodel.h): a value must be shorter. */
const INAME_MAX_SZ = 64;
const AS_ID_NAMESPACE_SZ = 32;
const INDEX_TYPES = ['default', 'list', 'mapkeys', 'mapvalues'];

/** as_info_parameter_get: the value of `name` in `a=b;c=d` (exact name, first match). */
export function infoParam(params: string, name: string): string | undefined {
  let start = 0;
  while (start <= params.length) {
    let end = params.indexOf(';', start);
    if (end < 0) end = params.length;
    const eq = params.indexOf('=', start);
    if (eq >= 0 && eq < end && params.slice(start, eq) === name) return params.slice(eq + 1, end);
    start = end + 1;
  }
  return undefined;
}

function err(code: number, message: string): string {
  return `ERROR:${code}:${message}`;
}

/** Optional parameter present with an empty value: the server's "missing 'x' value" error. */
function emptyParam(name: string): string {
  return err(name === 'namespace' ? 20 : 4, `missing '${name}' value`);
}

export class ClusterMetadata {
  /** SMD key (the definition) -> index name, in creation order. */
  private readonly sindexes = new Map<string, { name: string; def: SindexDefinition }>();
  private readonly udfs = new Map<string, UdfModule>();
  /** Called after every change, so that other processes can be told (multi-process mode). */
  onChange: (() => void) | null = null;

  sindexCreate(params: string): string {
    const name = infoParam(params, 'indexname');
    if (name === undefined) return err(4, "missing 'indexname'");
    if (name === '') return emptyParam('indexname');
    const namespace = infoParam(params, 'namespace') ?? infoParam(params, 'ns');
    if (namespace === undefined) return err(20, "missing 'namespace'");
    if (namespace === '') return emptyParam('namespace');
    const set = infoParam(params, 'set');
    if (set === '') return emptyParam('set');
    const context = infoParam(params, 'context');
    if (context === '') return emptyParam('context');
    if (context !== undefined && !isValidContext(context)) return err(4, "'context' invalid cdt context");
    const indexTypeParam = infoParam(params, 'indextype');
    if (indexTypeParam === '') return emptyParam('indextype');
    const indexType = (indexTypeParam ?? 'default').toLowerCase();
    if (!INDEX_TYPES.includes(indexType)) {
      return err(4, "bad 'indextype' - must be one of 'default', 'list', 'mapkeys', 'mapvalues'");
    }
    const indexData = infoParam(params, 'indexdata');
    const typeParam = infoParam(params, 'type');
    if (indexData === '') return emptyParam('indexdata');
    if (typeParam === '') return emptyParam('type');
    if (indexData === undefined && typeParam === undefined) return err(4, "both 'indexdata' and 'type' are missing");
    if (indexData !== undefined && typeParam !== undefined) return err(4, "both 'indexdata' and 'type' are specified");
    let bin: string;
    let type: string;
    if (typeParam !== undefined) {
      type = typeParam.toLowerCase();
      if (!KEY_TYPES.includes(type)) return err(4, "bad 'type' - must be one of 'numeric', 'string', 'blob', 'geo2dsphere'");
      const binParam = infoParam(params, 'bin');
      if (binParam === '') return emptyParam('bin');
      if (infoParam(params, 'exp') !== undefined) return err(4, 'expression indexes are not supported by the test cluster');
      if (binParam === undefined) return err(4, "both 'bin' and 'exp' are missing");
      bin = binParam;
    } else {
      const comma = indexData!.indexOf(',');
      if (comma < 0) return err(4, "'indexdata' missing bin type");
      bin = indexData!.slice(0, comma);
      if (bin === '') return err(4, "'indexdata' missing bin name");
      if (Buffer.byteLength(bin) >= 16) return err(4, "'indexdata' bin name too long");
      type = indexData!.slice(comma + 1).toLowerCase();
      if (!KEY_TYPES.includes(type)) {
        return err(4, "bad 'indexdata' bin type - must be one of 'numeric', 'string', 'blob', 'geo2dsphere'");
      }
    }
    if (indexType === 'mapkeys' && type === 'geo2dsphere') {
      return err(4, "bad 'indexdata' bin type for 'indextype' 'mapkeys' - must be one of 'numeric', 'string', 'blob'");
    }
    const def: SindexDefinition = { namespace, set: set ?? null, bin, type, indexType, context: context ?? null };
    const smdKey = JSON.stringify([def.namespace, def.set, def.bin, def.context, def.indexType, def.type]);
    const matches = [...this.sindexes.entries()].filter(([, v]) => v.def.namespace === namespace && v.name === name);
    if (matches.length === 1) {
      return matches[0][0] === smdKey ? 'ok' : err(200, "'indexname' already exists with different definition");
    }
    if (matches.length > 1) return err(200, "'indexname' already exists with multiple definitions");
    // The SMD key is the definition: the same definition under a new name renames the index.
    this.sindexes.delete(smdKey);
    this.sindexes.set(smdKey, { name, def });
    this.onChange?.();
    return 'ok';
  }

  sindexDelete(params: string): string {
    const name = infoParam(params, 'indexname');
    if (name === undefined) return err(4, "missing 'indexname'");
    if (name === '') return emptyParam('indexname');
    const namespace = infoParam(params, 'namespace') ?? infoParam(params, 'ns');
    if (namespace === undefined) return err(20, "missing 'namespace'");
    if (namespace === '') return emptyParam('namespace');
    const matches = [...this.sindexes.entries()].filter(([, v]) => v.def.namespace === namespace && v.name === name);
    if (matches.length === 0) return 'ok';
    if (matches.length > 1) return err(200, "'indexname' is not unique");
    this.sindexes.delete(matches[0][0]);
    this.onChange?.();
    return 'ok';
  }

  /** sindex-list[:ns=..][;b64=true]; `namespaces` are the node's namespaces, in config order. */
  sindexList(params: string, namespaces: readonly string[]): string {
    const namespace = infoParam(params, 'namespace') ?? infoParam(params, 'ns');
    if (namespace === '') return emptyParam('namespace');
    if (namespace !== undefined && !namespaces.includes(namespace)) return err(20, 'namespace not found on node');
    const b64Param = infoParam(params, 'b64');
    if (b64Param === '') return emptyParam('b64');
    if (b64Param !== undefined && b64Param !== 'true' && b64Param !== 'false') return err(4, 'bad b64');
    const b64 = b64Param === 'true';
    const selected = namespace !== undefined ? [namespace] : namespaces;
    const entries: string[] = [];
    for (const ns of selected) {
      for (const { name, def } of this.sindexes.values()) {
        if (def.namespace !== ns) continue;
        const context = def.context === null ? 'null' : b64 ? def.context : displayContext(def.context);
        entries.push(
          `ns=${ns}:indexname=${name}:set=${def.set ?? 'null'}:bin=${def.bin}:type=${def.type}:indextype=${def.indexType}` +
            `:context=${context}:exp=null:state=RW`,
        );
      }
    }
    return entries.join(';');
  }

  /** sindex/<ns>/<name>: the stats the client's index-wait polls before 8.1 (load_pct=100 means built). */
  sindexStats(namespace: string, name: string, namespaces: readonly string[]): string {
    if (!namespaces.includes(namespace)) return err(20, 'namespace not found on node');
    return this.indexStats(namespace, name);
  }

  /**
   * sindex-stat:namespace=<ns>;indexname=<name> (8.1, thr_info.c cmd_sindex_stat; `ns` is an alias of
   * `namespace`): the same stats as sindex/<ns>/<name>. The server does not stop after a bad
   * `indexname` (it tests the bool result against INFO_PARAM_FAIL_REPLIED), so that error is followed
   * by the namespace's error, or by `no index` when the namespace is fine.
   */
  sindexStat(params: string, namespaces: readonly string[]): string {
    const name = infoParam(params, 'indexname');
    let answer = '';
    if (name === undefined) answer = err(4, "missing 'indexname'");
    else if (name === '') answer = emptyParam('indexname');
    else if (Buffer.byteLength(name) >= INAME_MAX_SZ) answer = err(4, "'indexname' value too long");
    const namespace = infoParam(params, 'namespace') ?? infoParam(params, 'ns');
    if (namespace === undefined) return answer + err(20, "missing 'namespace'");
    if (namespace === '') return answer + emptyParam('namespace');
    if (Buffer.byteLength(namespace) >= AS_ID_NAMESPACE_SZ) return answer + err(20, "'namespace' value too long");
    if (!namespaces.includes(namespace)) return answer + err(20, 'namespace not found on node');
    if (answer !== '') return answer + err(201, 'no index');
    return this.indexStats(namespace, name!);
  }

  /** as_sindex_stats_str: an index is built as soon as it exists here (load_pct=100). */
  private indexStats(namespace: string, name: string): string {
    for (const { name: n, def } of this.sindexes.values()) {
      if (def.namespace === namespace && n === name) {
        return 'entries=0;used_bytes=16777216;entries_per_bval=0;entries_per_rec=0;load_pct=100;load_time=0;stat_gc_recs=0';
      }
    }
    return err(201, 'no index');
  }

  sindexDefinitions(): { name: string; def: SindexDefinition }[] {
    return [...this.sindexes.values()].map((v) => ({ name: v.name, def: { ...v.def } }));
  }

  udfPut(params: string): string {
    const filename = infoParam(params, 'filename');
    if (filename === undefined) return 'error=invalid_filename';
    const dot = filename.indexOf('.');
    if (dot <= 0 || dot === filename.length - 1) return 'error=invalid_filename';
    const contentLen = infoParam(params, 'content-len');
    if (contentLen === undefined) return 'error=invalid_content_len';
    const udfType = infoParam(params, 'udf-type') ?? 'LUA';
    if (udfType !== 'LUA') return 'error=invalid_udf_type';
    const length = Number(contentLen);
    if (!/^\d+$/.test(contentLen) || length % 4 !== 0) return 'error=invalid_content_len';
    const content = infoParam(params, 'content');
    if (content === undefined || content.length !== length) return 'error=invalid_content';
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) return 'error=invalid_base64_content';
    if ((length / 4) * 3 > 1024 * 1024) return 'error=invalid_udf_content_len,>1M';
    this.udfs.delete(filename);
    this.udfs.set(filename, { filename, content64: content, type: udfType });
    this.onChange?.();
    return 'ok';
  }

  udfGet(params: string): string {
    const filename = infoParam(params, 'filename');
    const module = filename === undefined ? undefined : this.udfs.get(filename);
    if (!module) return 'error=not_found';
    return `type=${module.type};content=${module.content64};`;
  }

  udfList(): string {
    let out = '';
    for (const module of this.udfs.values()) out += `filename=${module.filename},hash=${udfHash(module)},type=${module.type};`;
    return out;
  }

  udfRemove(params: string): string {
    const filename = infoParam(params, 'filename');
    if (filename === undefined) return 'error=invalid_filename';
    if (this.udfs.delete(filename)) this.onChange?.();
    return 'ok';
  }

  udfModules(): UdfModule[] {
    return [...this.udfs.values()].map((m) => ({ ...m }));
  }

  /** Whole-state copy for other processes (multi-process mode). */
  snapshot(): { sindexes: [string, { name: string; def: SindexDefinition }][]; udfs: UdfModule[] } {
    return { sindexes: [...this.sindexes.entries()], udfs: [...this.udfs.values()] };
  }

  restore(snapshot: ReturnType<ClusterMetadata['snapshot']>): void {
    this.sindexes.clear();
    for (const [key, value] of snapshot.sindexes) this.sindexes.set(key, value);
    this.udfs.clear();
    for (const module of snapshot.udfs) this.udfs.set(module.filename, module);
  }
}

/** The SMD value's SHA-1, as udf-list shows it (jansson's default json_dumps layout). */
function udfHash(module: UdfModule): string {
  const json = `{"content64": ${JSON.stringify(module.content64)}, "type": ${JSON.stringify(module.type)}, "name": ${JSON.stringify(module.filename)}}`;
  return createHash('sha1').update(json).digest('hex');
}

const CTX_NAMES = ['index', 'rank', 'key', 'value', 'exp', 'index_list', 'rank_list', 'key_list', 'value_list'];

function isValidContext(b64: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return false;
  const buf = Buffer.from(b64, 'base64');
  try {
    const header = readContainerHeader(buf);
    if (!header || header.kind !== 'list' || header.count === 0 || header.count % 2 !== 0) return false;
    return skipElement(buf, 0) === buf.length;
  } catch {
    return false;
  }
}

/** cdt_msgpack_ctx_to_dynbuf: e.g. `[map_key(<string#5>)]`. */
export function displayContext(b64: string): string {
  const buf = Buffer.from(b64, 'base64');
  const header = readContainerHeader(buf);
  if (!header) return '[(ctx-error-list-hdr)]';
  let offset = header.bodyOffset;
  const parts: string[] = [];
  for (let i = 0; i < header.count / 2; i++) {
    const ctxType = readInteger(buf, offset) ?? 0;
    offset = skipElement(buf, offset);
    const prefix = (ctxType & 0x10) !== 0 ? 'list_' : (ctxType & 0x20) !== 0 ? 'map_' : '';
    const end = skipElement(buf, offset);
    parts.push(`${prefix}${CTX_NAMES[ctxType & 0x0f] ?? '?'}(${displayValue(buf.subarray(offset, end))})`);
    offset = end;
  }
  return `[${parts.join(', ')}]`;
}

function displayValue(el: Buffer): string {
  const b = el[0];
  if (b === 0xc0) return 'nil';
  if (b === 0xc2) return 'false';
  if (b === 0xc3) return 'true';
  const int = readInteger(el, 0);
  if (int !== null) return String(int);
  if (b === 0xcb) return el.readDoubleBE(1).toFixed(6);
  const container = readContainerHeader(el);
  if (container) return `<${container.kind}#${container.count}>`;
  let payload: Buffer;
  if ((b & 0xe0) === 0xa0) payload = el.subarray(1);
  else if (b === 0xd9 || b === 0xc4) payload = el.subarray(2);
  else if (b === 0xda || b === 0xc5) payload = el.subarray(3);
  else payload = el.subarray(5);
  if (payload.length === 0) return '<blob#_>';
  if (payload[0] === 3) return `<string#${payload.length - 1}>`;
  if (payload[0] === 23) return `<geojson#${payload.length - 1}>`;
  if (payload[0] === 4) return `<blob#${payload.length - 1}>`;
  return `<blob${payload[0]}#${payload.length - 1}>`;
}
