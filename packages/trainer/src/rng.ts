import { describeValue, TrainerError } from "./errors.js";

/** Serialisable state of an {@link Rng}: the four 32-bit words of xoshiro128**. */
export interface RngState {
  readonly algorithm: "xoshiro128**";
  readonly s: readonly [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Seeded pseudo-random generator (xoshiro128**) whose whole state can be saved and restored,
 * so a resumed run draws exactly the numbers an uninterrupted run would have drawn.
 */
export class Rng {
  #s: [number, number, number, number];

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new TrainerError(
        "RNG_STATE_INVALID",
        `Rng seed must be a safe integer; received ${describeValue(seed)}`,
      );
    }
    const next = splitmix32((seed ^ Math.floor(seed / 2 ** 32)) >>> 0);
    this.#s = [next(), next(), next(), next()];
    if (this.#s.every((w) => w === 0)) this.#s[0] = 1;
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new TrainerError(
        "RNG_STATE_INVALID",
        `Rng.int needs a positive integer bound; received ${describeValue(n)}`,
      );
    }
    return Math.floor(this.next() * n);
  }

  /** Standard normal draw (Box–Muller, one value per call). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  getState(): RngState {
    return { algorithm: "xoshiro128**", s: [this.#s[0], this.#s[1], this.#s[2], this.#s[3]] };
  }

  setState(state: RngState): void {
    const ok =
      state !== null &&
      typeof state === "object" &&
      state.algorithm === "xoshiro128**" &&
      Array.isArray(state.s) &&
      state.s.length === 4 &&
      state.s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      !state.s.every((w) => w === 0);
    if (!ok) {
      throw new TrainerError(
        "RNG_STATE_INVALID",
        `expected {algorithm: "xoshiro128**", s: four uint32 words, not all 0}; received ${describeValue(state)}`,
      );
    }
    this.#s = [state.s[0], state.s[1], state.s[2], state.s[3]];
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
