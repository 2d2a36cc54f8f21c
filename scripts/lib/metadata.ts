/**
 * The global section of a generated backup: secondary-index definitions that fit the mix's bins,
 * and Lua UDF modules (one of them full of text that trips naive .asb readers).
 */
import type { SecondaryIndexDef, UdfModule } from '../../src/shared/asb/types.js';
import type { Mix } from './mixes.js';
import { Prng } from './prng.js';

/** `count` index definitions; beyond the mix's own list they repeat its paths under new names. */
export function generateSindexes(mix: Mix, namespace: string, count: number): SecondaryIndexDef[] {
  const out: SecondaryIndexDef[] = [];
  for (let i = 0; i < count; i++) {
    const base = mix.sindexes[i % mix.sindexes.length]!;
    const round = Math.floor(i / mix.sindexes.length);
    out.push({
      ...base,
      paths: base.paths.map((p) => ({ ...p })),
      namespace,
      name: round === 0 ? base.name : `${base.name}_${round}`,
      line: 0,
    });
  }
  return out;
}

const TRICKY_UDF = [
  '-- tricky.lua: text that exercises backup writers and readers',
  '-- "double quotes", \'single quotes\', back\\slashes \\\\ and a literal \\n in a comment',
  '-- unicode: héllo wörld — 日本語 — 😀 — Ω≈ç√',
  '',
  '',
  '--+ k S 3 abc',
  '--* u L fake.lua 10 xxxxxxxxxx',
  '--# namespace test',
  '--- I bin 1',
  'local QUOTES = "She said \\"hi\\" and left \\\\ then \'came back\'"',
  'local LONG = [[',
  '+ n test',
  '- S x 1 y',
  'tab\there and trailing spaces   ',
  ']]',
  'local CRLF = "windows line"\r',
  '',
  'function describe(rec)',
  '\treturn QUOTES .. "|" .. tostring(#LONG)',
  'end',
  '',
].join('\n');

function plainUdf(rng: Prng, moduleName: string): string {
  const lines = [`-- ${moduleName}: generated helpers`, ''];
  const functions = rng.int(1, 12);
  for (let f = 0; f < functions; f++) {
    const bin = `bin${rng.int(0, 9)}`;
    lines.push(
      `function fn_${f}(rec, n)`,
      `  if rec['${bin}'] == nil then rec['${bin}'] = 0 end`,
      `  rec['${bin}'] = rec['${bin}'] + (n or ${rng.int(1, 100)})`,
      '  aerospike:update(rec)',
      `  return rec['${bin}']`,
      'end',
      '',
    );
  }
  return lines.join('\n');
}

/** `count` UDF modules; the second is the tricky one, as in the fixtures. */
export function generateUdfs(rng: Prng, count: number): UdfModule[] {
  const out: UdfModule[] = [];
  for (let i = 0; i < count; i++) {
    const moduleName = i === 1 ? 'tricky_module.lua' : `module_${String(i).padStart(3, '0')}.lua`;
    const text = i === 1 ? TRICKY_UDF : plainUdf(rng, moduleName);
    out.push({ language: 'L', name: moduleName, content: Buffer.from(text, 'utf8'), line: 0 });
  }
  return out;
}
