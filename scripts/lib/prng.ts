/**
 * A small, fast, seedable PRNG (sfc32, 32-bit state words) so that a backup is a pure function of
 * its seed: Math.random cannot be seeded, and node:crypto random bytes cannot be replayed.
 */

/** splitmix32 turns one seed word into well-mixed state words; used only to initialise sfc32. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds any number of integer parts (seed, file index, ...) into one 32-bit seed word. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    // Both 32-bit halves, so seeds above 2^32 still matter.
    const low = part >>> 0;
    const high = Math.floor(part / 0x100000000) >>> 0;
    for (const word of [low, high]) {
      h = Math.imul(h ^ word, 0x01000193);
      h ^= h >>> 15;
      h = Math.imul(h, 0x2c1b3c6d);
      h ^= h >>> 12;
    }
  }
  return h >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const state = { s: seed | 0 };
    this.a = splitmix32(state);
    this.b = splitmix32(state);
    this.c = splitmix32(state);
    this.d = 1;
    // The first outputs of sfc32 are weakly mixed; discard them.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive); max - min must stay below 2^32. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** Index into `cumulative` (ascending cumulative weights ending at the total). */
  weighted(cumulative: readonly number[]): number {
    const x = this.float() * cumulative[cumulative.length - 1]!;
    let i = 0;
    while (cumulative[i]! <= x) i++;
    return i;
  }

  /** Fills target[start, end) with random bytes. */
  fill(target: Buffer, start = 0, end = target.length): void {
    let i = start;
    for (; i + 4 <= end; i += 4) target.writeUInt32LE(this.u32(), i);
    if (i < end) {
      let w = this.u32();
      for (; i < end; i++, w >>>= 8) target[i] = w & 0xff;
    }
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    this.fill(out);
    return out;
  }

  /** Roughly log-normal positive values around `median`: realistic for sizes and amounts. */
  logNormal(median: number, spread: number): number {
    // Sum of three uniforms approximates a normal well enough for data shapes.
    const n = (this.float() + this.float() + this.float() - 1.5) * 2;
    return median * Math.exp(n * spread);
  }
}
