/**
 * Seed derivation for the selection's random streams. The generator itself is `@sage/core`'s
 * `Rng` (xoshiro128** seeded through splitmix32), re-exported here.
 */
import { StabilityError } from "./errors.js";

export { Rng, type RngState } from "@sage/core";

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
    throw StabilityError.mismatch("ARGUMENT_INVALID", "seed", "a non-negative safe integer", seed);
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
