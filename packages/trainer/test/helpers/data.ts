import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PreferencePair, Rng } from "../../src/index.js";

/** `n` boxed-sum pairs for the tiny char model (`BOXED_CHARS`): chosen the sum, rejected the sum + 1. */
export function boxedSumPairs(n = 16): PreferencePair[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `q${i}`,
    prompt: `${i % 10}+${(i * 3) % 10}=`,
    chosen: `\\boxed{${(i % 10) + ((i * 3) % 10)}}`,
    rejected: `\\boxed{${(i % 10) + ((i * 3) % 10) + 1}}`,
    difficulty: (i % 4) / 4,
  }));
}

/** A temp folder for one test. */
export function tempDir(prefix = "sage-trainer-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Seeded synthetic pairs for the toy policy: chosen answers use words from a "good" vocabulary,
 * rejected ones from a "bad" one, with some overlap, so a linear policy can learn to prefer the
 * chosen ones but starts at ~50% reward accuracy.
 */
export function synthPairs(n: number, seed = 7): PreferencePair[] {
  const rng = new Rng(seed);
  const good = Array.from({ length: 30 }, (_, i) => `g${i}`);
  const bad = Array.from({ length: 30 }, (_, i) => `b${i}`);
  const shared = Array.from({ length: 20 }, (_, i) => `s${i}`);
  const words = (vocab: string[], len: number) =>
    Array.from({ length: len }, () =>
      rng.next() < 0.5 ? shared[rng.int(shared.length)]! : vocab[rng.int(vocab.length)]!,
    ).join(" ");
  return Array.from({ length: n }, (_, i) => ({
    id: `p${i}`,
    prompt: `question ${i}`,
    chosen: words(good, 3 + rng.int(6)),
    rejected: words(bad, 3 + rng.int(6)),
    difficulty: rng.next(),
  }));
}
