import { describeValue, SageError } from "./errors.js";

/** Serialisable state of an {@link Rng}: the four 32-bit words of xoshiro128**. */
export interface RngState {
  readonly algorithm: "xoshiro128**";
  readonly s: readonly [number, number, number, number];
}

/** splitmix32: expands one 32-bit seed into a stream of well-mixed words (used for seeding only). */
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

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function isState(state: unknown): state is RngState {
  if (state === null || typeof state !== "object") return false;
  const { algorithm, s } = state as { algorithm?: unknown; s?: unknown };
  return (
    algorithm === "xoshiro128**" &&
    Array.isArray(s) &&
    s.length === 4 &&
    s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
    !s.every((w) => w === 0)
  );
}

/**
 * The one seeded pseudo-random generator of the SAGE packages: xoshiro128** (Blackman & Vigna),
 * its four state words filled by splitmix32 from the seed. The whole state can be saved and
 * restored, so a resumed run draws exactly the numbers an uninterrupted run would have drawn.
 * The stream for a seed is fixed: shipped recipes, resume and benchmarks depend on it.
 */
export class Rng {
  #s: [number, number, number, number];

  /** A generator from a safe-integer seed (words above 2³² are folded into the low word). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new SageError(
        "ARGUMENT_INVALID",
        `Rng seed: expected a safe integer, received ${describeValue(seed)}`,
      );
    }
    const next = splitmix32((seed ^ Math.floor(seed / 2 ** 32)) >>> 0);
    this.#s = [next(), next(), next(), next()];
    if (this.#s.every((w) => w === 0)) this.#s[0] = 1;
  }

  /** A generator continuing from `state` (from {@link Rng.getState}). */
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

  /** Uniform float in [0, 1) with 53 random bits (two `nextU32` draws). */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform float in the open interval (0, 1) (two `nextU32` draws). */
  nextOpen(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new SageError(
        "ARGUMENT_INVALID",
        `Rng.int(n): expected a positive integer, received ${describeValue(n)}`,
      );
    }
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (both included). */
  intIn(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) {
      throw new SageError(
        "ARGUMENT_INVALID",
        `Rng.intIn(lo, hi): expected safe integers with lo ≤ hi, received ${describeValue([lo, hi])}`,
      );
    }
    return lo + this.int(hi - lo + 1);
  }

  /** Standard normal draw (Box–Muller, one value per call). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Standard Gumbel draw `−log(−log U)`, U = (u32 + ½)/2³² ∈ (0, 1) (one `nextU32`; |G| ≤ 22.2). */
  gumbel(): number {
    return -Math.log(-Math.log((this.nextU32() + 0.5) * 2.3283064365386963e-10));
  }

  /** Fisher–Yates shuffle in place (arrays and typed arrays); returns `items`. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** An independent copy at the same point of the stream. */
  clone(): Rng {
    return Rng.fromState(this.getState());
  }

  /** The state, as plain JSON-serialisable data. */
  getState(): RngState {
    return { algorithm: "xoshiro128**", s: [this.#s[0], this.#s[1], this.#s[2], this.#s[3]] };
  }

  /** Continue from `state`; throws `RNG_STATE_INVALID` for anything but a valid state. */
  setState(state: RngState): void {
    if (!isState(state)) {
      throw new SageError(
        "RNG_STATE_INVALID",
        `Rng state: expected {algorithm: "xoshiro128**", s: four uint32 words, not all 0}, received ${describeValue(state)}`,
      );
    }
    this.#s = [state.s[0], state.s[1], state.s[2], state.s[3]];
  }
}
