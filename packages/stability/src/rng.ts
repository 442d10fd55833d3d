/**
 * A small seeded PRNG: xoshiro128** (Blackman & Vigna) seeded through splitmix32.
 * The state is four unsigned 32-bit integers, so it serialises to JSON exactly.
 */
import { StabilityError } from "./errors.js";

/** JSON-serialisable PRNG state. */
export interface RngState {
  readonly s: readonly [number, number, number, number];
}

/** One round of the splitmix32 / murmur3 finaliser: a good 32-bit mixing function. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Split a (possibly > 2^32) non-negative integer seed into two 32-bit words. */
function seedWords(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw StabilityError.mismatch("INVALID_ARGUMENT", "seed", "a non-negative safe integer", seed);
  }
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

/**
 * Derive a 32-bit seed from a base seed and integer parts (e.g. `(seed, refresh, pairIndex, side)`),
 * so independent streams need no shared state.
 */
export function deriveSeed(seed: number, ...parts: readonly number[]): number {
  const [lo, hi] = seedWords(seed);
  let h = mix32(lo ^ mix32(hi));
  for (const p of parts) {
    const [plo, phi] = seedWords(p);
    h = mix32(h ^ mix32(plo ^ mix32(phi + 0x632be5ab)));
  }
  return h;
}

/** FNV-1a hash of a string to an unsigned 32-bit integer (for string pair ids). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Seeded xoshiro128** generator. State lives in an Int32Array so updates never allocate. */
export class Rng {
  private readonly s = new Int32Array(4);

  private constructor(a: number, b: number, c: number, d: number) {
    this.s[0] = a;
    this.s[1] = b;
    this.s[2] = c;
    this.s[3] = d;
    if ((a | b | c | d) === 0) this.s[3] = 1; // the all-zero state is a fixed point
  }

  /** A generator from a non-negative integer seed. */
  static fromSeed(seed: number): Rng {
    const [lo, hi] = seedWords(seed);
    let x = mix32(lo) ^ hi;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = mix32(x + i * 0x6d2b79f5);
      words.push(x);
    }
    return new Rng(words[0]!, words[1]!, words[2]!, words[3]!);
  }

  /** Restore a generator from `state()`. */
  static fromState(state: RngState): Rng {
    const s = state?.s;
    if (
      !Array.isArray(s) ||
      s.length !== 4 ||
      !s.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)
    ) {
      throw StabilityError.mismatch("INVALID_STATE", "Rng state", "{ s: four uint32 integers }", state);
    }
    return new Rng(s[0], s[1], s[2], s[3]);
  }

  state(): RngState {
    const s = this.s;
    return { s: [s[0]! >>> 0, s[1]! >>> 0, s[2]! >>> 0, s[3]! >>> 0] };
  }

  clone(): Rng {
    return new Rng(this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!);
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.s;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const s2 = s[2]! ^ s0;
    const s3 = s[3]! ^ s1;
    s[1] = s1 ^ s2;
    s[0] = s0 ^ s3;
    s[2] = s2 ^ t;
    s[3] = rotl(s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform double in the open interval (0, 1). */
  nextOpenFloat(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0)
      throw StabilityError.mismatch("INVALID_ARGUMENT", "nextInt(n)", "a positive integer", n);
    return Math.floor(this.nextFloat() * n);
  }

  /** Standard Gumbel variate `−log(−log U)`, U = (u32 + ½)/2³² ∈ (0, 1) (one draw; |G| ≤ 22.2). */
  nextGumbel(): number {
    return -Math.log(-Math.log((this.nextUint32() + 0.5) * 2.3283064365386963e-10));
  }

  /** Standard normal variate (Box–Muller, one of the pair). */
  nextNormal(): number {
    const u = this.nextOpenFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
