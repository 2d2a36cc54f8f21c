/**
 * Command-line tokenizing with glibc getopt_long semantics, which C asrestore users' scripts rely on:
 * clustered short flags (`-urg`), attached values (`-dbackup`, `-t4`, `--directory=backup`),
 * values that start with a dash (`-i -`, `-i -:1024`, `--extra-ttl -5`), optional arguments that
 * only attach (`-Pfoo`, `--password=foo`), unique-prefix abbreviations of long names (`--valid`),
 * and the last occurrence of an option winning.
 *
 * (cac/mri, the parser first planned for this, turns `-i -` into `true`, `007` into 7 and `1e3`
 * into 1000, and splits `-dbackup` into flags, so it cannot read asrestore command lines.)
 */
import { AsrestoreError } from '../shared/errors.js';

export type ArgumentKind = 'none' | 'required' | 'optional';

export interface GetoptSpec<Id extends string = string> {
  id: Id;
  /** Long names without the leading `--`, matched case-sensitively. */
  long: readonly string[];
  /** One-character short name. */
  short?: string;
  argument: ArgumentKind;
}

export interface GetoptItem<Id extends string = string> {
  spec: GetoptSpec<Id>;
  /** How the user wrote the option (`-d`, `--directory`, `--dir`). */
  written: string;
  /** The value; undefined for flags and for an optional argument not attached. */
  value: string | undefined;
  /** Index of the argv word holding the option. */
  index: number;
}

export interface GetoptResult<Id extends string = string> {
  items: GetoptItem<Id>[];
  /** Words that are not options (C asrestore rejects them). */
  operands: string[];
}

/** Thrown for getopt's own complaints; the CLI prints them as glibc does, then exits 1. */
export const USAGE_ERROR = 'USAGE';

function usageError(message: string): AsrestoreError {
  return new AsrestoreError(USAGE_ERROR, message);
}

export interface GetoptOptions {
  /**
   * Ignore unknown options and missing values (C's first pass, with opterr = 0, that only looks for
   * --help and --version).
   */
  lenient?: boolean;
  /**
   * Optional-argument options whose value may also be the next word when that word does not start
   * with `-` (C asrestore does this by hand for --password and --tls-keyfile-password).
   */
  optionalTakesNextWord?: (spec: GetoptSpec) => boolean;
}

export function getopt<Id extends string>(
  argv: readonly string[],
  specs: readonly GetoptSpec<Id>[],
  options: GetoptOptions = {},
): GetoptResult<Id> {
  const items: GetoptItem<Id>[] = [];
  const operands: string[] = [];
  const byShort = new Map<string, GetoptSpec<Id>>();
  for (const spec of specs) if (spec.short) byShort.set(spec.short, spec);
  const lenient = options.lenient === true;
  const takesNext = options.optionalTakesNextWord ?? (() => false);

  const nextWordFor = (spec: GetoptSpec<Id>, i: number): string | undefined => {
    const next = argv[i + 1];
    return next !== undefined && !next.startsWith('-') && takesNext(spec) ? next : undefined;
  };

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (word.length < 2 || word[0] !== '-') {
      operands.push(word);
      continue;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const attached = eq < 0 ? undefined : word.slice(eq + 1);
      let spec: GetoptSpec<Id> | undefined;
      try {
        spec = matchLong(name, specs);
      } catch (error) {
        if (lenient) continue;
        throw error;
      }
      if (spec === undefined) {
        if (lenient) continue;
        throw usageError(`unrecognized option '--${name}'`);
      }
      const longName = spec.long.find((n) => n === name) ?? spec.long.find((n) => n.startsWith(name))!;
      if (spec.argument === 'none') {
        if (attached !== undefined) {
          if (lenient) continue;
          throw usageError(`option '--${longName}' doesn't allow an argument`);
        }
        items.push({ spec, written: `--${name}`, value: undefined, index: i });
      } else if (spec.argument === 'required') {
        let value = attached;
        if (value === undefined) {
          if (i + 1 >= argv.length) {
            if (lenient) continue;
            throw usageError(`option '--${longName}' requires an argument`);
          }
          value = argv[++i];
        }
        items.push({ spec, written: `--${name}`, value, index: i });
      } else {
        let value = attached;
        if (value === undefined) {
          value = nextWordFor(spec, i);
          if (value !== undefined) i++;
        }
        items.push({ spec, written: `--${name}`, value, index: i });
      }
      continue;
    }
    // A cluster of short options.
    for (let k = 1; k < word.length; k++) {
      const ch = word[k];
      const spec = byShort.get(ch);
      if (spec === undefined) {
        if (lenient) continue;
        throw usageError(`invalid option -- '${ch}'`);
      }
      if (spec.argument === 'none') {
        items.push({ spec, written: `-${ch}`, value: undefined, index: i });
        continue;
      }
      const rest = word.slice(k + 1);
      if (spec.argument === 'required') {
        let value: string | undefined = rest;
        if (value === '') {
          if (i + 1 >= argv.length) {
            if (lenient) break;
            throw usageError(`option requires an argument -- '${ch}'`);
          }
          value = argv[++i];
        }
        items.push({ spec, written: `-${ch}`, value, index: i });
      } else {
        let value: string | undefined = rest === '' ? undefined : rest;
        if (value === undefined) {
          value = nextWordFor(spec, i);
          if (value !== undefined) i++;
        }
        items.push({ spec, written: `-${ch}`, value, index: i });
      }
      break;
    }
  }
  return { items, operands };
}

/** Exact long name first; otherwise a unique prefix (several names of one option are one match). */
function matchLong<Id extends string>(name: string, specs: readonly GetoptSpec<Id>[]): GetoptSpec<Id> | undefined {
  if (name === '') return undefined;
  for (const spec of specs) if (spec.long.includes(name)) return spec;
  const candidates: GetoptSpec<Id>[] = [];
  const names: string[] = [];
  for (const spec of specs) {
    for (const longName of spec.long) {
      if (longName.startsWith(name)) {
        names.push(longName);
        if (!candidates.includes(spec)) candidates.push(spec);
      }
    }
  }
  if (candidates.length === 0) return undefined;
  const first = candidates[0];
  // glibc treats matches with the same argument kind and the same option as one.
  if (candidates.every((c) => c.id === first.id && c.argument === first.argument)) return first;
  throw usageError(`option '--${name}' is ambiguous; possibilities: ${names.map((n) => `'--${n}'`).join(' ')}`);
}
