/**
 * Secondary-index definitions as the server lists them (`sindex-list:ns=<ns>;b64=true`) and their
 * comparison with a backup's index, as C asrestore 4.5.8 does it (utils.c `parse_index_info`,
 * restore.c `check_index`).
 *
 * Answer shape (8.1): entries separated by `;` (maybe a trailing one), each `key=value` pairs
 * separated by `:`, e.g.
 *   ns=bar:indexname=users_age_idx:set=users:bin=age:type=numeric:indextype=default:context=null:exp=null:state=RW
 *
 * Value mapping: indextype NONE/DEFAULT→N, LIST→L, MAPKEYS→K, MAPVALUES→V; type STRING/TEXT→S,
 * NUMERIC/INT SIGNED/INTEGER→N, GEO2DSPHERE/GEOJSON→G, BLOB→B (any case); context/exp NULL → none.
 *
 * Set-less indexes: server 8.1 lists a set-less index as `set=null`, and asbackup 4.5.8 then writes
 * the set as the literal `null`; C asrestore recreates such an index on a set named "null". Here a
 * set of `null`/`NULL` (either side) or empty means "no set", so the index comes back set-less.
 * (A set really named "null" cannot be told apart from that in a backup or in sindex-list.)
 */
import type { SindexIndexType, SindexPathType } from '../../shared/asb/types.js';

/** An index definition reduced to what is compared and what is sent to create it. */
export interface IndexSpec {
  namespace: string;
  name: string;
  /** null = no set. */
  set: string | null;
  indexType: SindexIndexType;
  /** Bin name and type (restore uses one); an expression index has bin '' (or no path at all). */
  paths: { path: string; type: SindexPathType }[];
  /** Base64 msgpack CDT context, or null. */
  context: string | null;
  /** Base64 expression (expression indexes), or null. */
  expression: string | null;
}

export class SindexListError extends Error {
  override readonly name = 'SindexListError';
}

/** `null`, `NULL` and the empty string mean "no set". */
export function normaliseSet(set: string | null | undefined): string | null {
  if (set === null || set === undefined || set === '' || set === 'null' || set === 'NULL') return null;
  return set;
}

const INDEX_TYPES: Record<string, SindexIndexType> = {
  NONE: 'N',
  DEFAULT: 'N',
  LIST: 'L',
  MAPKEYS: 'K',
  MAPVALUES: 'V',
};

const PATH_TYPES: Record<string, SindexPathType> = {
  STRING: 'S',
  TEXT: 'S',
  NUMERIC: 'N',
  'INT SIGNED': 'N',
  // Servers from 8.1.3 name the numeric type INTEGER (the C client switched in CLIENT-4389).
  INTEGER: 'N',
  GEO2DSPHERE: 'G',
  GEOJSON: 'G',
  BLOB: 'B',
};

/** The entries of a sindex-list answer, each as its raw `k=v:k=v` text. */
export function splitSindexList(answer: string): string[] {
  return answer.split(';').filter((entry) => entry.length > 0);
}

/**
 * One entry's fields. A part without `=` is taken as the continuation of the previous value (a
 * name holding `:`), where C would reject the whole answer.
 */
export function sindexEntryFields(entry: string): Map<string, string> {
  const fields = new Map<string, string>();
  let lastKey: string | null = null;
  for (const part of entry.split(':')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (lastKey === null) throw new SindexListError(`Invalid secondary index parameter string ${part} (missing "=")`);
      fields.set(lastKey, `${fields.get(lastKey)}:${part}`);
      continue;
    }
    lastKey = part.slice(0, eq);
    fields.set(lastKey, part.slice(eq + 1));
  }
  return fields;
}

function isNullToken(value: string | undefined): boolean {
  return value === undefined || value === '' || value.toUpperCase() === 'NULL';
}

function pathType(text: string): SindexPathType {
  const type = PATH_TYPES[text.toUpperCase()];
  if (type === undefined) throw new SindexListError(`Invalid path type ${text}`);
  return type;
}

/** Converts one entry's fields into a spec; throws {@link SindexListError} when it cannot be understood. */
export function serverIndexSpec(namespace: string, fields: Map<string, string>): IndexSpec {
  const name = fields.get('indexname');
  if (name === undefined) throw new SindexListError('Missing index name');
  const numBins = fields.get('num_bins');
  if (numBins !== undefined && numBins !== '1') {
    throw new SindexListError(`Multi-bin secondary indexes currently not supported, number of bins: ${numBins}`);
  }
  const indexTypeText = fields.get('indextype');
  if (indexTypeText === undefined) throw new SindexListError(`Missing index type in index ${name}`);
  const indexType = INDEX_TYPES[indexTypeText.toUpperCase()];
  if (indexType === undefined) throw new SindexListError(`Invalid index type ${indexTypeText}`);

  const expression = isNullToken(fields.get('exp')) ? null : fields.get('exp')!;
  const bin = fields.get('bin');
  const typeText = fields.get('type');
  const paths: IndexSpec['paths'] = [];
  if (expression !== null && isNullToken(bin)) {
    // An expression index has no bin; its path is kept as '' with the value type.
    if (typeText !== undefined) paths.push({ path: '', type: pathType(typeText) });
  } else {
    if (bin === undefined || typeText === undefined) {
      throw new SindexListError(`Invalid number of paths in index ${name} (0)`);
    }
    paths.push({ path: bin, type: pathType(typeText) });
  }
  const context = fields.get('context');
  return {
    namespace,
    name,
    set: normaliseSet(fields.get('set')),
    indexType,
    paths,
    context: isNullToken(context) ? null : context!,
    expression,
  };
}

/**
 * The server's definition of index `name` in a sindex-list answer, or null when it is not there.
 * Only that entry must be understood: an entry of another index that we cannot read (say, a
 * kind of index newer than this tool) does not stop the restore. C rejects the whole answer.
 */
export function findServerIndex(namespace: string, answer: string, name: string): IndexSpec | null {
  for (const entry of splitSindexList(answer)) {
    let fields: Map<string, string>;
    try {
      fields = sindexEntryFields(entry);
    } catch (error) {
      // Unreadable: fine unless it may be the entry of our index.
      if (entry.includes(`indexname=${name}`)) {
        throw new SindexListError(`Error while parsing secondary index info string ${entry}: ${(error as Error).message}`);
      }
      continue;
    }
    if (fields.get('indexname') === name) {
      try {
        return serverIndexSpec(namespace, fields);
      } catch (error) {
        throw new SindexListError(`Error while parsing secondary index info string ${entry}: ${(error as Error).message}`);
      }
    }
  }
  return null;
}

/**
 * Why two definitions differ (C's verbose wording), or null when they are the same. Compared as
 * C does: set, index type, number of paths, each path's type and bin, context; plus the
 * expression (expression indexes, which C does not restore).
 */
export function indexDifference(wanted: IndexSpec, found: IndexSpec): string | null {
  if (normaliseSet(wanted.set) !== normaliseSet(found.set)) {
    return `Set mismatch, ${wanted.set ?? '[none]'} vs. ${found.set ?? '[none]'}`;
  }
  if (wanted.indexType !== found.indexType) return `Type mismatch, ${wanted.indexType} vs. ${found.indexType}`;
  if (wanted.paths.length !== found.paths.length) {
    return `Path count mismatch, ${wanted.paths.length} vs. ${found.paths.length}`;
  }
  for (let i = 0; i < wanted.paths.length; i++) {
    const a = wanted.paths[i]!;
    const b = found.paths[i]!;
    if (a.type !== b.type) return `Path type mismatch, ${a.type} vs. ${b.type}`;
    if (a.path !== b.path) return `Path mismatch, ${a.path} vs. ${b.path}`;
  }
  if ((wanted.context ?? null) !== (found.context ?? null)) {
    return `Context mismatch, ${wanted.context ?? '[none]'} vs. ${found.context ?? '[none]'}`;
  }
  if ((wanted.expression ?? null) !== (found.expression ?? null)) {
    return `Expression mismatch, ${wanted.expression ?? '[none]'} vs. ${found.expression ?? '[none]'}`;
  }
  return null;
}
