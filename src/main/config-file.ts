/**
 * Reads astools.conf TOML files the way C asrestore does (aerospike-tools-backup conf.c):
 * `/etc/aerospike/astools.conf`, then `$HOME/.aerospike/astools.conf`, then `--config-file`
 * (or only `--only-config-file`, or none with `--no-config-file`); later values override earlier
 * ones and the command line overrides them all (options.ts applies the entries in order).
 *
 * Sections read: `[secret-agent]`, `[cluster]`, `[asrestore]` and `[include]`. With `--instance X`:
 * `[cluster_X]` only (no fallback to `[cluster]`), `[asrestore_X]` if present else `[asrestore]`,
 * `[secret-agent_X]` if present else `[secret-agent]`. Keys are case-insensitive; other sections
 * (other tools' ones) are ignored. `[include]` takes `file` and `directory` (every file in it,
 * recursively), to a depth of 3.
 *
 * Deviation from C, on purpose: a `--config-file`, `--only-config-file` or include `file` that does
 * not exist is an error (C silently ignores it, hiding typos); the default locations may be absent.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TomlValue } from 'smol-toml';
import { AsrestoreError } from '../shared/errors.js';
import { lazyModule } from '../shared/lazy-module.js';

/**
 * smol-toml is loaded when a config file is actually read (most runs have none), and as its
 * single-file CommonJS build: the same parser as its nine-module ES build, several milliseconds
 * cheaper to load.
 */
const smolToml = lazyModule<typeof import('smol-toml')>('smol-toml');

export type ConfigSection = 'secret-agent' | 'cluster' | 'asrestore';

export interface ConfigEntry {
  section: ConfigSection;
  /** The section's name in the file (`cluster`, `cluster_prod`, ...). */
  sectionName: string;
  /** Key as written. */
  key: string;
  /** Key lower-cased (keys are case-insensitive). */
  name: string;
  value: TomlValue;
  file: string;
  /** Comes from a file of an `[include] directory`: C skips such files on errors instead of failing. */
  fromIncludeDirectory: boolean;
}

export interface ConfigFileLocations {
  systemFile: string;
  /** null when $HOME is unset. */
  userFile: string | null;
}

export function defaultConfigLocations(env: NodeJS.ProcessEnv = process.env): ConfigFileLocations {
  return {
    systemFile: '/etc/aerospike/astools.conf',
    userFile: env.HOME ? join(env.HOME, '.aerospike', 'astools.conf') : null,
  };
}

export interface ConfigReadRequest {
  instance: string | null;
  configFile: string | null;
  onlyConfigFile: string | null;
  noConfigFile: boolean;
  locations: ConfigFileLocations;
  /** Receives notes about skipped include-directory files. */
  warn?: (message: string) => void;
}

export const MAX_INCLUDE_DEPTH = 3;

function configError(message: string, file?: string, line?: number, column?: number): AsrestoreError {
  return new AsrestoreError('CONFIG_FILE', message, { file, line, column });
}

/** All entries of the files to read, in the order they must be applied. */
export function readConfigEntries(request: ConfigReadRequest): ConfigEntry[] {
  if (request.noConfigFile && request.onlyConfigFile !== null) {
    throw configError('--no-config-file and --only-config-file are mutually exclusive option. Please enable only one.');
  }
  const entries: ConfigEntry[] = [];
  if (request.noConfigFile) return entries;
  const ctx: ReadContext = { instance: request.instance, entries, warn: request.warn ?? (() => {}) };
  if (request.onlyConfigFile !== null) {
    readFile(ctx, request.onlyConfigFile, 0, true, false);
    return entries;
  }
  readFile(ctx, request.locations.systemFile, 0, false, false);
  if (request.locations.userFile !== null) readFile(ctx, request.locations.userFile, 0, false, false);
  if (request.configFile !== null) readFile(ctx, request.configFile, 0, true, false);
  return entries;
}

interface ReadContext {
  instance: string | null;
  entries: ConfigEntry[];
  warn: (message: string) => void;
}

function isTable(value: TomlValue | undefined): value is { [key: string]: TomlValue } {
  // smol-toml makes tables without a prototype; dates are TomlDate (a Date).
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function readFile(ctx: ReadContext, path: string, level: number, mustExist: boolean, fromIncludeDirectory: boolean): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!mustExist && (code === 'ENOENT' || code === 'ENOTDIR')) return;
    throw configError(`Cannot read config file ${path}: ${(error as Error).message}`, path);
  }
  let table: { [key: string]: TomlValue };
  const { parse, TomlError } = smolToml();
  try {
    table = parse(text, { integersAsBigInt: true }) as { [key: string]: TomlValue };
  } catch (error) {
    if (error instanceof TomlError) {
      const firstLine = error.message.split('\n')[0];
      throw configError(`Parse error \`${firstLine}\` in file [${level}:${path}] (line ${error.line}, col ${error.column})`, path, error.line, error.column);
    }
    throw error;
  }

  const pick = (base: ConfigSection, fallback: boolean): [string, { [key: string]: TomlValue }] | null => {
    if (ctx.instance !== null) {
      const name = `${base}_${ctx.instance}`;
      const t = table[name];
      if (isTable(t)) return [name, t];
      if (!fallback) return null;
    }
    const t = table[base];
    return isTable(t) ? [base, t] : null;
  };

  for (const [section, fallback] of [
    ['secret-agent', true],
    ['cluster', false],
    ['asrestore', true],
  ] as const) {
    const found = pick(section, fallback);
    if (found === null) continue;
    const [sectionName, values] = found;
    for (const [key, value] of Object.entries(values)) {
      ctx.entries.push({ section, sectionName, key, name: key.toLowerCase(), value, file: path, fromIncludeDirectory });
    }
  }

  const include = table.include;
  if (include === undefined) return;
  if (!isTable(include)) throw configError(`Invalid \`include\` section in file [${level}:${path}]`, path);
  for (const [key, value] of Object.entries(include)) {
    const name = key.toLowerCase();
    if (name !== 'file' && name !== 'directory') {
      throw configError(`Unknown parameter \`${key}\` in \`include\` section of file [${level}:${path}]`, path);
    }
    if (typeof value !== 'string') {
      throw configError(`Invalid parameter value for \`${key}\` in \`include\` section of file [${level}:${path}]`, path);
    }
    if (level + 1 > MAX_INCLUDE_DEPTH) {
      throw configError(`include max recursion level ${MAX_INCLUDE_DEPTH} exceeded: ${path} includes ${value}`, path);
    }
    if (name === 'file') readFile(ctx, value, level + 1, true, fromIncludeDirectory);
    else readDirectory(ctx, value, level + 1);
  }
}

function readDirectory(ctx: ReadContext, dir: string, level: number): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw configError(`Failed to open directory ${dir}: ${(error as Error).message}`, dir);
  }
  for (const name of names) {
    const path = join(dir, name);
    let isDir = false;
    let isFile = false;
    try {
      const st = statSync(path);
      isDir = st.isDirectory();
      isFile = st.isFile();
    } catch {
      continue;
    }
    // C ignores files of an include directory that fail to load; say so instead of staying silent.
    const before = ctx.entries.length;
    try {
      if (isDir) readDirectory(ctx, path, level);
      else if (isFile) readFile(ctx, path, level, false, true);
    } catch (error) {
      ctx.entries.length = before;
      ctx.warn(`Skipped config file ${path}: ${(error as Error).message}`);
    }
  }
}
